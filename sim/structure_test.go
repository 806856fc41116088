package sim

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/optionsrisk/backtest/feeds"
)

// fixedChain quotes, at 2024-03-04 10:00 with SPY at 100, puts and calls at
// strikes 75–125 (step 5) expiring March 15 and March 29: |put delta| =
// 0.5 + (K − 100)/40 clamped to [0.02, 0.98], call delta = 1 − that; mid =
// intrinsic + time value 3·exp(−((K − 100)/10)²) + 0.2 (× 1.5 for the far
// expiry), bid/ask mid ∓ 0.05; gamma 0.05·exp(…).
type chainQuote struct{ mid, delta, gamma float64 }

func fixedQuote(call bool, strike float64, far bool) chainQuote {
	x := (strike - 100) / 10
	tv := 3*math.Exp(-x*x) + 0.2
	if far {
		tv *= 1.5
	}
	pd := min(max(0.5+(strike-100)/40, 0.02), 0.98)
	q := chainQuote{mid: max(strike-100, 0) + tv, delta: -pd, gamma: 0.05 * math.Exp(-x*x)}
	if call {
		q.mid, q.delta = max(100-strike, 0)+tv, 1-pd
	}
	return q
}

func fixedChainEngine(t *testing.T, s StructureConfig) *Engine {
	t.Helper()
	cfg := Config{Start: at(1, 0, 0, 0), End: at(31, 0, 0, 0)}
	cfg.Strategy.Entry = EntryConfig{Structure: &s, DTE: [2]int{7, 14}}
	e := engineFor(t, cfg)
	e.now = at(4, 10, 0, 0).UnixMicro()
	for _, exp := range []int{15, 29} {
		for k := 75.0; k <= 125; k += 5 {
			for _, c := range []feeds.Contract{put(k, exp), call(k, exp)} {
				id := e.pf.contracts.Intern(c)
				q := fixedQuote(c.Right == feeds.Call, k, exp == 29)
				e.pf.mark(&feeds.Quote{Time: e.now, Contract: id, Bid: q.mid - 0.05, Ask: q.mid + 0.05, Delta: q.delta, Gamma: q.gamma, IV: 0.2, UnderlyingPrice: 100})
			}
		}
	}
	return e
}

// Per structure: the legs chosen on the fixed chain, the net premium (mid,
// per share), the max loss (dollars, one unit), the greeks (share
// equivalents) and the net value settled at expiry with SPY at 93.
func TestStructuresOnAFixedChain(t *testing.T) {
	q := func(r string, k float64, far bool) float64 { return fixedQuote(r == "C", k, far).mid }
	inf := math.Inf(1)
	for _, tc := range []struct {
		s       StructureConfig
		legs    string  // "qty right strike expiry-day" per leg
		prem    float64 // expected net mid per share
		maxLoss func(prem float64) float64
		settle  float64 // net premium per share at expiry, spot 93 (later legs at their mark)
	}{
		{StructureConfig{Type: "single", Side: "short"}, "-1P90@15", q("P", 90, false),
			func(p float64) float64 { return (90 - p) * 100 }, 0},
		{StructureConfig{Type: "single", Side: "long", Right: "call"}, "+1C110@15", q("C", 110, false),
			func(p float64) float64 { return p * 100 }, 0},
		{StructureConfig{Type: "vertical", Side: "short", Width: 5}, "-1P90@15 +1P85@15", q("P", 90, false) - q("P", 85, false),
			func(p float64) float64 { return (5 - p) * 100 }, 0},
		{StructureConfig{Type: "straddle", Side: "long"}, "+1P100@15 +1C100@15", q("P", 100, false) + q("C", 100, false),
			func(p float64) float64 { return p * 100 }, 7},
		{StructureConfig{Type: "strangle", Side: "short"}, "-1P85@15 -1C115@15", q("P", 85, false) + q("C", 115, false),
			func(float64) float64 { return inf }, 0},
		{StructureConfig{Type: "iron_condor", Side: "short", Width: 5}, "-1P85@15 +1P80@15 -1C115@15 +1C120@15",
			q("P", 85, false) - q("P", 80, false) + q("C", 115, false) - q("C", 120, false),
			func(p float64) float64 { return (5 - p) * 100 }, 0},
		{StructureConfig{Type: "iron_butterfly", Side: "short", Width: 10}, "-1P100@15 +1P90@15 -1C100@15 +1C110@15",
			q("P", 100, false) - q("P", 90, false) + q("C", 100, false) - q("C", 110, false),
			func(p float64) float64 { return (10 - p) * 100 }, 7},
		{StructureConfig{Type: "butterfly", Side: "long", Right: "call", Width: 5}, "-2C100@15 +1C95@15 +1C105@15",
			q("C", 95, false) + q("C", 105, false) - 2*q("C", 100, false),
			func(p float64) float64 { return p * 100 }, 0},
		{StructureConfig{Type: "calendar", Side: "long", FarDTE: [2]int{20, 30}}, "-1P100@15 +1P100@29", q("P", 100, true) - q("P", 100, false),
			func(p float64) float64 { return p * 100 }, q("P", 100, true) - 7},
		{StructureConfig{Type: "diagonal", Side: "long", Right: "call", Delta: 0.3, Width: 5, FarDTE: [2]int{20, 30}}, "-1C110@15 +1C115@29",
			q("C", 115, true) - q("C", 110, false),
			// payoff at the front expiry ≥ −5 − (call 115 can be worth its intrinsic only): lo = −5
			func(p float64) float64 { return (p + 5) * 100 }, q("C", 115, true)},
		{StructureConfig{Type: "ratio", Side: "long", Width: 5}, "+1P90@15 -2P85@15", q("P", 90, false) - 2*q("P", 85, false),
			// worst at S = 0: 90 − 2 × 85 = −80
			func(p float64) float64 { return (p + 80) * 100 }, 0},
		{StructureConfig{Type: "custom", Side: "short", Legs: []LegSpec{
			{Right: "put", Qty: 1, OffsetPct: -5}, {Right: "put", Qty: -1, Offset: -10},
			{Right: "call", Qty: 1, Offset: 5, From: "spot"}, {Right: "call", Qty: -1, Offset: 5, From: "leg3"},
		}}, "-1P95@15 +1P85@15 -1C105@15 +1C110@15",
			q("P", 95, false) - q("P", 85, false) + q("C", 105, false) - q("C", 110, false),
			func(p float64) float64 { return (10 - p) * 100 }, 2},
	} {
		name := tc.s.Type + "/" + tc.s.Side
		t.Run(name, func(t *testing.T) {
			e := fixedChainEngine(t, tc.s)
			legs, why := e.choose()
			if why != "" {
				t.Fatalf("no structure: %s", why)
			}
			pos := e.newPosition("E1", e.plan.typ, e.plan.long, 1, legs)
			var got []string
			for _, l := range pos.Legs() {
				c := e.pf.contracts.Get(l.id)
				r := "P"
				if c.Right == feeds.Call {
					r = "C"
				}
				got = append(got, fmt.Sprintf("%+d%s%g@%d", l.qty, r, c.Strike, c.Expiry.In(ny).Day()))
			}
			if g := strings.Join(got, " "); g != tc.legs {
				t.Fatalf("legs %s, want %s", g, tc.legs)
			}
			_, _, mid, _ := e.netMarks(pos)
			if !almost(mid, tc.prem) {
				t.Errorf("net mid %.6f, want %.6f", mid, tc.prem)
			}
			if ml, want := maxLossAt(pos, mid), tc.maxLoss(mid); !(ml == want || almost(ml, want)) {
				t.Errorf("max loss %.4f, want %.4f", ml, want)
			}
			var wd, wg float64
			for _, l := range pos.Legs() {
				c := e.pf.contracts.Get(l.id)
				fq := fixedQuote(c.Right == feeds.Call, c.Strike, c.Expiry.In(ny).Day() == 29)
				wd += float64(l.qty) * 100 * fq.delta
				wg += float64(l.qty) * 100 * fq.gamma
			}
			if d, g := e.greeks(pos); !almost(d, wd) || !almost(g, wg) {
				t.Errorf("greeks %g, %g; want %g, %g", d, g, wd, wg)
			}
			settled := 0.0
			for _, l := range pos.Legs() {
				settled += l.ratio * e.settleLeg(pos, l, 93)
			}
			if settled *= pos.sign(); !almost(settled, tc.settle) {
				t.Errorf("settled at %.4f, want %.4f", settled, tc.settle)
			}
			// The mark and the settlement lie within the static bounds (a
			// later leg's mark here is quoted at spot 100, not 93).
			if lo, hi := pos.lo, pos.hi; mid < lo-1e-9 || mid > hi+1e-9 || !pos.multiExp && (settled < lo-1e-9 || settled > hi+1e-9) {
				t.Errorf("mark %g or settlement %g outside [%g, %g]", mid, settled, lo, hi)
			}
		})
	}
}

// Structure configuration errors name their field.
func TestStructureConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		s     StructureConfig
		field string
	}{
		{StructureConfig{Type: "condor"}, "strategy.entry.structure.type"},
		{StructureConfig{}, "strategy.entry.structure.type"},
		{StructureConfig{Type: "vertical", Side: "flat"}, "strategy.entry.structure.side"},
		{StructureConfig{Type: "ratio", Ratio: 1}, "strategy.entry.structure.ratio"},
		{StructureConfig{Type: "vertical", Ratio: 3}, "strategy.entry.structure.ratio"},
		{StructureConfig{Type: "calendar", DTE: [2]int{20, 30}, FarDTE: [2]int{10, 15}}, "strategy.entry.structure.far_dte"},
		{StructureConfig{Type: "strangle", Legs: []LegSpec{{Right: "put", Qty: 1, Delta: 0.2}}}, "strategy.entry.structure.legs"},
		{StructureConfig{Type: "custom"}, "strategy.entry.structure.legs"},
		{StructureConfig{Type: "custom", Legs: []LegSpec{{Right: "put", Qty: 1, Delta: 0.2, Offset: 3}}}, "strategy.entry.structure.legs[0]"},
		{StructureConfig{Type: "custom", Legs: []LegSpec{{Right: "put", Qty: 1, Delta: 0.2}, {Right: "put", Qty: -1, Offset: 3, From: "leg2"}}}, "strategy.entry.structure.legs[1].from"},
		{StructureConfig{Type: "custom", Legs: []LegSpec{{Right: "put", Qty: 0, Delta: 0.2}}}, "strategy.entry.structure.legs[0].qty"},
	} {
		cfg := Config{Start: at(1, 0, 0, 0), End: at(31, 0, 0, 0)}
		cfg.Strategy.Entry.Structure = &tc.s
		err := cfg.Validate()
		fe, ok := err.(*FieldError)
		if !ok || fe.Field != tc.field {
			t.Errorf("%+v: error %v, want one on %s", tc.s, err, tc.field)
		}
	}
	cfg := Config{Start: at(1, 0, 0, 0), End: at(31, 0, 0, 0)}
	cfg.Strategy.Entry = EntryConfig{Right: "put", Structure: &StructureConfig{Type: "strangle"}}
	if fe, ok := cfg.Validate().(*FieldError); !ok || fe.Field != "strategy.entry.structure" {
		t.Errorf("shorthand and structure together: %v", cfg.Validate())
	}
}
