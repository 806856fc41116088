package feeds

import (
	"fmt"
	"strings"
	"time"
)

// presetDef is a vendor layout: which column plays each role, the time conventions and the
// units of its greeks. A role's column may list alternatives ("bid_price|bid"): the first
// present in the file is used.
type presetDef struct {
	cols     map[string]string
	optional map[string]bool // roles whose column may be missing from the file
	// timeFormat/expiryFormat: strptime formats of text columns ("" = ISO).
	timeFormat, expiryFormat string
	zone                     string // zone of wall-clock times
	// eod: the rows are end-of-day quotes: a date, or a timestamp at midnight, is stamped
	// 16:00 New York (the close).
	eod bool
	// symbolFromRoot: the symbol column holds an OCC symbol or a bare root (SPXW), which is
	// composed with expiry, right and strike into an OCC symbol.
	symbolFromRoot bool
	// scale converts the vendor's greeks to the package's units (Quote's doc).
	scale map[string]float64
	// underlyingMid: when the underlying_price column is missing, the mid of these two.
	underlyingMid [2]string
	// needsUnderlying: the files carry no underlying price (FileConfig.UnderlyingPrices).
	needsUnderlying bool
}

// presets are the built-in layouts, documented on FileConfig.Preset and in the README.
var presets = map[string]presetDef{
	// DeltaNeutral (historicaloptiondata.com) end-of-day files, CSV or Parquet with the same
	// column names. Dates are MM/DD/YYYY, quotes stamped 16:00 New York. The vendor's vega is
	// per 1.00 of volatility and its theta per year: scaled to per vol point and per day.
	PresetDeltaNeutral: {
		cols: map[string]string{
			ColTime: "quotedate", ColSymbol: "optionroot", ColUnderlying: "underlying", ColExpiry: "expiration",
			ColStrike: "strike", ColRight: "type", ColBid: "bid", ColAsk: "ask", ColUnderlyingPrice: "underlying_last",
			ColIV: "impliedvol", ColDelta: "delta", ColGamma: "gamma", ColVega: "vega", ColTheta: "theta",
		},
		optional:       map[string]bool{ColIV: true, ColDelta: true, ColGamma: true, ColVega: true, ColTheta: true},
		timeFormat:     "%m/%d/%Y",
		expiryFormat:   "%m/%d/%Y",
		zone:           "America/New_York",
		eod:            true,
		symbolFromRoot: true,
		scale:          map[string]float64{ColVega: 0.01, ColTheta: 1.0 / 365},
	},
	// Cboe DataShop option quotes and interval files (with or without the calcs columns).
	// quote_datetime is New York wall clock; expiration an ISO date (16:00 New York);
	// underlying_symbol may carry a caret (^SPX). The underlying price is
	// active_underlying_price, or the mid of underlying_bid and underlying_ask. Greeks, when
	// present, are per vol point and per calendar day already.
	PresetCboe: {
		cols: map[string]string{
			ColTime: "quote_datetime", ColSymbol: "root", ColUnderlying: "underlying_symbol", ColExpiry: "expiration",
			ColStrike: "strike", ColRight: "option_type", ColBid: "bid", ColAsk: "ask",
			ColUnderlyingPrice: "active_underlying_price", ColIV: "implied_volatility", ColDelta: "delta",
			ColGamma: "gamma", ColVega: "vega", ColTheta: "theta",
		},
		optional:       map[string]bool{ColUnderlyingPrice: true, ColIV: true, ColDelta: true, ColGamma: true, ColVega: true, ColTheta: true},
		zone:           "America/New_York",
		symbolFromRoot: true,
		underlyingMid:  [2]string{"underlying_bid", "underlying_ask"},
	},
	// One row per quote with an OCC ticker (SPY200221P00300000, optionally O:-prefixed) and
	// a nanosecond-epoch or ISO time, as sold by consolidated-feed vendors. No underlying
	// price: FileConfig.UnderlyingPrices gives it. No greeks: they are computed.
	PresetOCCQuotes: {
		cols: map[string]string{
			ColTime: "sip_timestamp|participant_timestamp|timestamp|quote_timestamp|time", ColSymbol: "ticker|symbol|option_symbol",
			ColBid: "bid_price|bid", ColAsk: "ask_price|ask", ColUnderlyingPrice: "underlying_price",
		},
		optional:        map[string]bool{ColUnderlyingPrice: true},
		needsUnderlying: true,
	},
}

// layout is a resolved column mapping with its time conventions.
type layout struct {
	preset       string
	cols         map[string]string // role → source column, or alternatives "a|b"
	optional     map[string]bool
	timeFormat   string         // strptime format of a text time column
	expiryFormat string         // strptime format of a text expiry column
	loc          *time.Location // zone of wall-clock times
	eod          bool
	multiplier   float64
	scale        map[string]float64
	// symbolFromRoot: the symbol role names a column holding either an OCC symbol or a bare
	// root (deltaneutral's optionroot); a bare root is composed into an OCC symbol.
	symbolFromRoot  bool
	underlyingMid   [2]string
	needsUnderlying bool
}

// resolveLayout merges the preset with cfg.Columns and the time settings.
func resolveLayout(cfg FileConfig) (*layout, error) {
	l := &layout{preset: cfg.Preset, cols: map[string]string{}, optional: map[string]bool{}, scale: map[string]float64{}}
	zone := cfg.Timezone
	if p, ok := presets[cfg.Preset]; ok {
		for role, col := range p.cols {
			l.cols[role] = col
		}
		for role := range p.optional {
			l.optional[role] = true
		}
		for role, f := range p.scale {
			l.scale[role] = f
		}
		l.timeFormat, l.expiryFormat = p.timeFormat, p.expiryFormat
		l.eod, l.symbolFromRoot, l.underlyingMid, l.needsUnderlying = p.eod, p.symbolFromRoot, p.underlyingMid, p.needsUnderlying
		if zone == "" {
			zone = p.zone
		}
		if cfg.TimeFormat != "" {
			if p.eod && cfg.TimeFormat != p.timeFormat && hasTimeOfDay(cfg.TimeFormat) {
				// The preset's rows are end-of-day quotes stamped 16:00 New York.
				return nil, &FieldError{Field: "time_format", Msg: fmt.Sprintf("the %s preset reads dates and stamps them 16:00 New York; found %q, which has a time of day", cfg.Preset, cfg.TimeFormat)}
			}
			l.timeFormat = cfg.TimeFormat
		}
		if cfg.ExpiryFormat != "" {
			l.expiryFormat = cfg.ExpiryFormat
		}
	} else {
		l.timeFormat, l.expiryFormat = cfg.TimeFormat, cfg.ExpiryFormat
	}
	if cfg.Preset == PresetNative {
		for _, f := range NativeSchema().Fields() {
			l.cols[f.Name] = f.Name
		}
	}
	for _, role := range sortedKeys(cfg.Columns) {
		l.cols[role] = cfg.Columns[role]
		delete(l.optional, role) // named by the user: it must be there
		delete(l.scale, role)    // the user's column is in the package's units
	}
	switch cfg.VegaUnit {
	case "point":
		delete(l.scale, ColVega)
	case "vol":
		l.scale[ColVega] = 0.01
	}
	switch cfg.ThetaUnit {
	case "day":
		delete(l.scale, ColTheta)
	case "year":
		l.scale[ColTheta] = 1.0 / 365
	}
	if cfg.UnderlyingPrices != nil {
		l.needsUnderlying = false
		if _, mapped := cfg.Columns[ColUnderlyingPrice]; !mapped {
			l.optional[ColUnderlyingPrice] = true
		}
	}
	loc, err := loadZone(zone)
	if err != nil {
		return nil, &FieldError{Field: "timezone", Msg: err.Error()}
	}
	l.loc = loc
	l.multiplier = cfg.Multiplier
	if l.multiplier == 0 {
		l.multiplier = DefaultMultiplier
	}
	return l, nil
}

// hasTimeOfDay reports whether a strptime format reads a time of day.
func hasTimeOfDay(format string) bool {
	for _, d := range []string{"%H", "%I", "%M", "%S", "%T", "%R", "%c", "%X", "%p", "%f", "%z", "%Z"} {
		if strings.Contains(format, d) {
			return true
		}
	}
	return false
}

// resolveColumn returns the column of a role present in the file (alternatives tried in
// order), or "" when none is.
func (l *layout) resolveColumn(role string, has func(string) bool) (string, bool) {
	spec, ok := l.cols[role]
	if !ok {
		return "", false
	}
	for _, c := range strings.Split(spec, "|") {
		if has(c) {
			return c, true
		}
	}
	return "", true
}

// requiredMissing lists the columns the layout needs that the file lacks (alternatives
// written a|b), in role order.
func (l *layout) requiredMissing(has func(string) bool) []string {
	var out []string
	for _, role := range columnRoles {
		c, mapped := l.resolveColumn(role, has)
		if !mapped || c != "" || l.optional[role] {
			continue
		}
		out = append(out, strings.ReplaceAll(l.cols[role], "|", " or "))
	}
	if l.underlyingMid[0] != "" {
		if c, _ := l.resolveColumn(ColUnderlyingPrice, has); c == "" {
			for _, m := range l.underlyingMid {
				if !has(m) {
					out = append(out, l.cols[ColUnderlyingPrice]+" or "+m)
				}
			}
		}
	}
	return out
}

// expectFor describes what a role's column must hold (for messages).
func (l *layout) expectFor(role string) string {
	switch role {
	case ColTime:
		if l.timeFormat != "" {
			return fmt.Sprintf("a time in the format %s", l.timeFormat)
		}
		return "an ISO time (2020-03-16 09:31:00, …Z, …-04:00), a date or an epoch number"
	case ColExpiry:
		if l.expiryFormat != "" {
			return fmt.Sprintf("a date in the format %s", l.expiryFormat)
		}
		return "an ISO date (2020-03-20)"
	case ColRight:
		return "C, P, call or put"
	case ColSymbol:
		if l.symbolFromRoot {
			return "an OCC symbol or a root (1-6 letters)"
		}
		return "an OCC symbol (SPY200320P00240000)"
	case ColUnderlying:
		return "an underlying symbol"
	}
	return "a number"
}

// formatOf returns the strptime format of the time or expiry role ("" = ISO).
func (l *layout) formatOf(role string) string {
	if role == ColExpiry {
		return l.expiryFormat
	}
	return l.timeFormat
}
