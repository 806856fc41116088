package feeds

// roots.go owns the mapping of OCC roots to underlyings and their settlement style. One
// underlying lists options under several roots: SPX monthlies (root SPX, AM-settled) and
// weeklies/dailies (SPXW, PM-settled) are both SPX options, so `entry.underlying: SPX` must
// trade SPXW rows. Contract.Underlying is the mapped name and Contract.Root the OCC root.
//
// Settlement: PM-settled options settle at the expiry day's close (16:00 New York, the
// contract's Expiry). AM-settled options (the standard third-Friday index monthlies) stop
// trading the day before and settle at the expiry morning's opening price (the Special
// Opening Quotation). Defaults are below; FileConfig.Settlement overrides them per root.

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Settlement is when an option's settlement value is fixed.
type Settlement uint8

// Settlement styles. The zero value is PM (equity and ETF options, weeklies).
const (
	SettlePM Settlement = iota // the expiry day's closing price
	SettleAM                   // the expiry morning's opening price; last trade the day before
)

// String returns "PM" or "AM".
func (s Settlement) String() string {
	if s == SettleAM {
		return "AM"
	}
	return "PM"
}

func parseSettlement(s string) (Settlement, error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "AM":
		return SettleAM, nil
	case "PM":
		return SettlePM, nil
	}
	return SettlePM, fmt.Errorf("want AM or PM, found %q", s)
}

// defaultRoots maps the OCC roots of index options to their index. Roots not listed are
// their own underlying (SPY → SPY).
var defaultRoots = map[string]string{
	"SPXW": "SPX", "SPXPM": "SPX", "SPXQ": "SPX",
	"NDXP": "NDX", "NDXW": "NDX",
	"RUTW": "RUT", "RUTQ": "RUT",
	"XSPW": "XSP",
	"VIXW": "VIX",
	"DJXW": "DJX",
	"MXEA": "MXEA", "MXEF": "MXEF",
}

// amRoots are the roots whose third-Friday (monthly) expiries are AM-settled. Other expiries
// of these roots (quarterlies, the rare non-standard dates) are PM.
var amRoots = map[string]bool{"SPX": true, "NDX": true, "RUT": true, "DJX": true, "XEO": true, "MXEA": true, "MXEF": true}

// vixAM: VIX options settle AM on their (Wednesday) expiry.
var vixAM = map[string]bool{"VIX": true}

var rootPattern = regexp.MustCompile(`^[A-Z0-9.]{1,6}$`)

func validRoot(s string) bool { return rootPattern.MatchString(s) }

// rootMap resolves roots to underlyings and settlement styles for one source.
type rootMap struct {
	under  map[string]string
	settle map[string]Settlement
}

func newRootMap(cfg FileConfig) rootMap {
	m := rootMap{under: map[string]string{}, settle: map[string]Settlement{}}
	for k, v := range defaultRoots {
		m.under[k] = v
	}
	for _, k := range sortedKeys(cfg.Roots) {
		m.under[strings.ToUpper(k)] = strings.ToUpper(cfg.Roots[k])
	}
	for _, k := range sortedKeys(cfg.Settlement) {
		s, _ := parseSettlement(cfg.Settlement[k]) // validated
		m.settle[strings.ToUpper(k)] = s
	}
	return m
}

// underlying returns the underlying of root.
func (m rootMap) underlying(root string) string {
	if u, ok := m.under[root]; ok {
		return u
	}
	return root
}

// settlement returns the style of an option of root expiring on expiry (16:00 New York).
func (m rootMap) settlement(root string, expiry time.Time) Settlement {
	if s, ok := m.settle[root]; ok {
		return s
	}
	if vixAM[root] {
		return SettleAM
	}
	if amRoots[root] && isThirdFriday(expiry.In(newYork)) {
		return SettleAM
	}
	return SettlePM
}

// isThirdFriday reports whether d is the third Friday of its month (days 15 to 21), or the
// Thursday before it when that Friday is an exchange holiday (Good Friday, in practice).
func isThirdFriday(d time.Time) bool {
	switch d.Weekday() {
	case time.Friday:
		return d.Day() >= 15 && d.Day() <= 21
	case time.Thursday:
		return d.Day() >= 14 && d.Day() <= 20 && !IsTradingDay(d.AddDate(0, 0, 1))
	}
	return false
}
