package risk

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Warning is one limit found at or above warn_pct utilisation by
// CheckHealth.
type Warning struct {
	Rule           string
	Symbol         string // symbol_delta, and correlated_exposure of an ungrouped symbol
	Group          string // correlated_exposure of a named group
	Value          float64
	Limit          float64
	UtilisationPct float64 // Value / Limit × 100
}

// CheckHealth measures the portfolio as it stands against every enabled
// limit and emits a `warning` for each whose utilisation is ≥ warn_pct (a
// NaN utilisation warns too). Order: the rules in DESIGN order; within
// symbol_delta, symbols sorted; within correlated_exposure, named groups
// holding a position (sorted by name), then ungrouped symbols (sorted).
// The values are: |portfolio delta|, |portfolio gamma|, |symbol delta|,
// the largest position as % of equity, a group's value as % of equity, and
// the total value. It returns the warnings in emission order.
func (c *LimitsChecker) CheckHealth(now time.Time, ex Exposure) []Warning {
	var out []Warning
	warn := func(r rule, v float64, symbol, group string) {
		lim := c.limits[r]
		u := v / lim * 100
		if u < c.s.WarnPct {
			return
		}
		w := Warning{Rule: r.String(), Symbol: symbol, Group: group, Value: v, Limit: lim, UtilisationPct: u}
		out = append(out, w)
		subject := w.Rule
		switch {
		case group != "":
			subject += " of " + group
		case symbol != "":
			subject += " of " + symbol
		}
		d := []byte(`{`)
		if group != "" {
			d = appendJSONString(append(d, `"group":`...), group)
			d = append(d, ',')
		}
		d = appendNum(append(d, `"utilisation_pct":`...), u)
		d = appendNum(append(d, `,"warn_pct":`...), c.s.WarnPct)
		d = append(d, '}')
		emit(c.sink, Event{
			Time: now, Component: PortfolioLimitsComponent, Type: EventWarning,
			Symbol: symbol, Rule: w.Rule, Value: v, Threshold: lim,
			Reason:  fmt.Sprintf("%s at %s%% of its limit (%s%s of %s%s)", subject, fmtPct(u), fmtHuman(v), ruleUnit(r), fmtHuman(lim), ruleUnit(r)),
			Details: string(d),
		})
	}
	on := func(r rule) bool { return c.limits[r] != 0 }

	if on(rPortfolioDelta) {
		warn(rPortfolioDelta, math.Abs(ex.PortfolioDelta()), "", "")
	}
	if on(rPortfolioGamma) {
		warn(rPortfolioGamma, math.Abs(ex.PortfolioGamma()), "", "")
	}
	var symbols []string
	if on(rSymbolDelta) || on(rCorrelated) {
		symbols = ex.Symbols()
		if !slices.IsSorted(symbols) {
			symbols = slices.Sorted(slices.Values(symbols))
		}
	}
	if on(rSymbolDelta) {
		for _, s := range symbols {
			warn(rSymbolDelta, math.Abs(ex.SymbolDelta(s)), s, "")
		}
	}
	if on(rConcentration) {
		warn(rConcentration, pctOf(ex.MaxPositionValue(), ex.Equity()), "", "")
	}
	if on(rCorrelated) {
		held := make([]bool, len(c.groups))
		var lone []string
		for _, s := range symbols {
			if i, ok := c.groupOf[s]; ok {
				held[i] = true
			} else {
				lone = append(lone, s)
			}
		}
		for i, g := range c.groups {
			if held[i] {
				warn(rCorrelated, pctOf(c.groupValue(ex, g.members[0]), ex.Equity()), "", g.name)
			}
		}
		for _, s := range lone {
			warn(rCorrelated, pctOf(ex.SymbolValue(s), ex.Equity()), s, "")
		}
	}
	if on(rTotalExposure) {
		warn(rTotalExposure, ex.TotalValue(), "", "")
	}
	return out
}

// fmtPct formats a utilisation for a reason sentence: two decimals.
func fmtPct(u float64) string { return fmt.Sprintf("%.2f", u) }
