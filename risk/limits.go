package risk

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"time"
)

// Exposure is the portfolio as the limits checker sees it. The simulator
// implements it; a live process can too. Values are in dollars, greeks in
// signed contract units (long > 0).
type Exposure interface {
	PortfolioDelta() float64           // Σ signed qty × delta per contract (long > 0)
	PortfolioGamma() float64           // Σ signed qty × gamma per contract
	SymbolDelta(symbol string) float64 // portfolio delta of one underlying
	SymbolValue(symbol string) float64 // Σ position value (|qty|×premium×multiplier, >= 0) for that underlying
	TotalValue() float64               // Σ position value, dollars
	MaxPositionValue() float64         // largest single position value
	Equity() float64                   // account equity, dollars
	Symbols() []string                 // underlyings with open positions, sorted
}

// EntryRequest is a proposed entry. Delta and Gamma are the entry's total
// signed contribution (qty × per-contract greek); Value is its dollar value.
type EntryRequest struct {
	ExecutionID, Symbol, Contract string
	Delta, Gamma, Value           float64
}

// Decision is the outcome of CheckEntry. Rule, Value and Limit name the
// rule that rejected the entry, or, when allowed, the enabled rule with the
// highest utilisation (Rule "" and NaN value and limit when no rule is
// enabled).
type Decision struct {
	Allowed bool
	Rule    string
	Value   float64 // the rule's value after entry
	Limit   float64
	Reason  string
}

// Rule names, in DESIGN order: the order CheckEntry evaluates them in.
const (
	RulePortfolioDelta     = "portfolio_delta"
	RulePortfolioGamma     = "portfolio_gamma"
	RuleSymbolDelta        = "symbol_delta"
	RuleConcentration      = "concentration"
	RuleCorrelatedExposure = "correlated_exposure"
	RuleTotalExposureCap   = "total_exposure_cap"
)

type rule uint8

const (
	rPortfolioDelta rule = iota
	rPortfolioGamma
	rSymbolDelta
	rConcentration
	rCorrelated
	rTotalExposure
	numRules
)

func (r rule) String() string {
	return [numRules]string{RulePortfolioDelta, RulePortfolioGamma, RuleSymbolDelta,
		RuleConcentration, RuleCorrelatedExposure, RuleTotalExposureCap}[r]
}

// rulesByName lists the rules in alphabetical order of name, the key order
// of the details JSON.
var rulesByName = [numRules]rule{rConcentration, rCorrelated, rPortfolioDelta, rPortfolioGamma, rSymbolDelta, rTotalExposure}

type corrGroup struct {
	name    string
	members []string // sorted
}

// LimitsChecker enforces the portfolio limits (DESIGN.md, "Portfolio
// limits").
//
// Semantics chosen where DESIGN leaves room:
//   - The delta and gamma rules compare |value after entry| with the limit;
//     an entry breaks a rule when that value exceeds the limit (equal is
//     allowed) or is NaN. Entries that would reduce an exposure already over
//     its limit are not exempt: the value after entry is what counts.
//   - concentration is req.Value / equity × 100; correlated_exposure is
//     (Σ SymbolValue over the request's group + req.Value) / equity × 100,
//     where a symbol in no group is a group of its own.
//   - Equity ≤ 0 makes both percentage rules +Inf: CheckEntry rejects and
//     CheckHealth warns whenever one of them is enabled.
type LimitsChecker struct {
	s       LimitsSettings
	limits  [numRules]float64
	sink    Sink
	groups  []corrGroup    // sorted by name
	groupOf map[string]int // symbol → index in groups
}

// NewLimitsChecker validates s and returns a checker reporting to sink
// (nil: no logging).
func NewLimitsChecker(s LimitsSettings, sink Sink) (*LimitsChecker, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	s = s.withDefaults()
	c := &LimitsChecker{s: s, sink: sink, groupOf: map[string]int{}}
	c.limits = [numRules]float64{s.MaxPortfolioDelta, s.MaxPortfolioGamma, s.MaxSymbolDelta,
		s.MaxPositionPct, s.MaxCorrelatedPct, s.MaxTotalExposure}
	for _, name := range slices.Sorted(maps.Keys(s.CorrelationGroups)) {
		members := slices.Sorted(slices.Values(s.CorrelationGroups[name]))
		for _, m := range members {
			c.groupOf[m] = len(c.groups)
		}
		c.groups = append(c.groups, corrGroup{name: name, members: members})
	}
	return c, nil
}

// HealthInterval returns how often CheckHealth should run, in simulated time.
func (c *LimitsChecker) HealthInterval() time.Duration { return c.s.HealthInterval }

// Group returns the correlation group of symbol, or "" when it is in none.
func (c *LimitsChecker) Group(symbol string) string {
	if i, ok := c.groupOf[symbol]; ok {
		return c.groups[i].name
	}
	return ""
}

// CheckEntry evaluates the enabled rules in DESIGN order against the
// portfolio after the proposed entry and rejects on the first one broken.
// It emits exactly one event: `rejected` (rule, value after entry, limit)
// or `allowed` (the rule of highest utilisation, its value and limit).
// Details hold {rule: {value, limit}} for every rule evaluated — all
// enabled rules when allowed, those up to the breaking one when rejected.
func (c *LimitsChecker) CheckEntry(now time.Time, ex Exposure, req EntryRequest) Decision {
	var values [numRules]float64
	var done [numRules]bool
	best := Decision{Allowed: true, Value: NoValue, Limit: NoValue}
	bestUtil := math.Inf(-1)
	var bestRule rule
	var d Decision
	rejected := false
	for r := range numRules {
		lim := c.limits[r]
		if lim == 0 {
			continue
		}
		v := c.entryValue(r, ex, req)
		values[r], done[r] = v, true
		if !(v <= lim) {
			d = Decision{Rule: r.String(), Value: v, Limit: lim, Reason: c.rejectReason(r, v, lim, ex, req)}
			rejected = true
			break
		}
		if u := v / lim; u > bestUtil {
			bestUtil, bestRule = u, r
			best.Rule, best.Value, best.Limit = r.String(), v, lim
		}
	}
	typ := EventRejected
	if !rejected {
		typ = EventAllowed
		d = best
		if d.Rule == "" {
			d.Reason = "no portfolio limit enabled"
		} else {
			u := ruleUnit(bestRule)
			d.Reason = fmt.Sprintf("within limits; highest utilisation %s %s%s of %s%s", d.Rule, fmtHuman(d.Value), u, fmtHuman(d.Limit), u)
		}
	}
	emit(c.sink, Event{
		Time: now, Component: PortfolioLimitsComponent, Type: typ,
		ExecutionID: req.ExecutionID, Symbol: req.Symbol, Contract: req.Contract,
		Rule: d.Rule, Value: d.Value, Threshold: d.Limit, Reason: d.Reason,
		Details: c.details(values, done, req.Symbol),
	})
	return d
}

// entryValue is rule r's value after the entry.
func (c *LimitsChecker) entryValue(r rule, ex Exposure, req EntryRequest) float64 {
	switch r {
	case rPortfolioDelta:
		return math.Abs(ex.PortfolioDelta() + req.Delta)
	case rPortfolioGamma:
		return math.Abs(ex.PortfolioGamma() + req.Gamma)
	case rSymbolDelta:
		return math.Abs(ex.SymbolDelta(req.Symbol) + req.Delta)
	case rConcentration:
		return pctOf(req.Value, ex.Equity())
	case rCorrelated:
		return pctOf(c.groupValue(ex, req.Symbol)+req.Value, ex.Equity())
	default: // rTotalExposure
		return ex.TotalValue() + req.Value
	}
}

// groupValue sums SymbolValue over symbol's group (in sorted member order,
// so the sum never depends on map order), or returns symbol's own value.
func (c *LimitsChecker) groupValue(ex Exposure, symbol string) float64 {
	i, ok := c.groupOf[symbol]
	if !ok {
		return ex.SymbolValue(symbol)
	}
	sum := 0.0
	for _, m := range c.groups[i].members {
		sum += ex.SymbolValue(m)
	}
	return sum
}

// pctOf returns v as % of equity; +Inf when equity is not positive.
func pctOf(v, equity float64) float64 {
	if !(equity > 0) {
		return math.Inf(1)
	}
	return v * 100 / equity // not v/equity*100: 14,000 of 100,000 is 14, not 14.000000000000002
}

func (c *LimitsChecker) rejectReason(r rule, v, lim float64, ex Exposure, req EntryRequest) string {
	if (r == rConcentration || r == rCorrelated) && !(ex.Equity() > 0) {
		return fmt.Sprintf("%s: equity %s is not positive", r, fmtNum(ex.Equity()))
	}
	what := r.String()
	switch r {
	case rSymbolDelta:
		what = req.Symbol + " delta"
	case rCorrelated:
		if g := c.Group(req.Symbol); g != "" {
			what = "correlated exposure of " + g
		}
	}
	u := ruleUnit(r)
	return fmt.Sprintf("%s %s%s after entry would exceed limit %s%s", what, fmtHuman(v), u, fmtHuman(lim), u)
}

// ruleUnit is the unit suffix of a rule's values in reason sentences.
func ruleUnit(r rule) string {
	if r == rConcentration || r == rCorrelated {
		return "%"
	}
	return ""
}

// fmtHuman formats v for a reason sentence: like fmtNum, but spelling out
// NaN and ±Inf.
func fmtHuman(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	return fmtNum(v)
}

// details renders {"rule":{"limit":l,"value":v},...} for the evaluated
// rules, keys sorted; correlated_exposure also names its "group".
func (c *LimitsChecker) details(values [numRules]float64, done [numRules]bool, symbol string) string {
	b := make([]byte, 0, 256)
	b = append(b, '{')
	first := true
	for _, r := range rulesByName {
		if !done[r] {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, '"')
		b = append(b, r.String()...)
		b = append(b, `":{`...)
		if r == rCorrelated {
			g := c.Group(symbol)
			if g == "" {
				g = symbol
			}
			b = appendJSONString(append(b, `"group":`...), g)
			b = append(b, ',')
		}
		b = appendNum(append(b, `"limit":`...), c.limits[r])
		b = appendNum(append(b, `,"value":`...), values[r])
		b = append(b, '}')
	}
	return string(append(b, '}'))
}
