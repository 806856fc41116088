package sim

import (
	"fmt"
	"math"
	"slices"

	"github.com/optionsrisk/backtest/feeds"
)

// This file owns option structures: their configuration (named structures
// and per-leg rules), their expansion into leg rules, and the static
// no-arbitrage bounds of a structure's value that marks, fills, max loss
// and the exposure basis read.

// Structure types.
const (
	StructSingle        = "single"
	StructVertical      = "vertical"
	StructStraddle      = "straddle"
	StructStrangle      = "strangle"
	StructIronCondor    = "iron_condor"
	StructIronButterfly = "iron_butterfly"
	StructButterfly     = "butterfly"
	StructCalendar      = "calendar"
	StructDiagonal      = "diagonal"
	StructRatio         = "ratio"
	StructCustom        = "custom"
)

// StructureConfig is what an entry opens (strategy.entry.structure). A
// named type expands to leg rules from its parameters; type custom takes
// the legs as written. Legs are written in the structure's long form (the
// one that pays a debit); side short reverses every leg.
//
//	type            long form (side long)                                   defaults
//	single          +1 right at delta                                       right put, delta 0.30
//	vertical        +1 right at delta, −1 width further out of the money    delta 0.30, width 5
//	straddle        +1 put at delta, +1 call at the put's strike            delta 0.50
//	strangle        +1 put at delta, +1 call at delta                       delta 0.16
//	iron_condor     +1 put at delta, −1 put width below,                    delta 0.16, width 5
//	                +1 call at delta, −1 call width above
//	iron_butterfly  +1 put at delta, −1 put width below,                    delta 0.50, width 5
//	                +1 call at the put's strike, −1 call width above
//	butterfly       −2 right at delta, +1 width below, +1 width above       delta 0.50, width 5
//	calendar        −1 right at delta (dte), +1 same strike (far_dte)       delta 0.50, far_dte [dte+20, dte+60]
//	diagonal        −1 right at delta (dte), +1 width further out (far_dte) delta 0.30, width 5
//	ratio           +1 right at delta, −ratio width further out             delta 0.30, width 5, ratio 2
//
// So a short iron_condor sells the 16-delta put and call and buys the wings
// 5 points further out; a short strangle sells both; a long calendar sells
// the front month and buys the back month; a long ratio buys one and sells
// two further out (short ratio: the back spread).
//
// Net premium, bounds, max loss. A position's net premium per share is
// P = V for a long structure and −V for a short one, V = Σ ratio × leg
// price (bought legs +, sold legs −): the debit paid or the credit received,
// and the one price its fills, marks, trailing stop and exit rules use.
// P is kept inside no-arbitrage bounds [lo, hi] (valueBounds at zero
// rates: the range of the structure's value at its first expiry, later legs
// between intrinsic value and the strike (put) or the underlying (call);
// a call is also never worth more than the underlying). The max loss per
// unit, used by the trades table and as the limits' position value of a
// covered structure, is hi − P short and P − lo long:
//
//	single long, any long structure with lo = 0   the debit
//	single short put                              strike − credit (the limits see a margin-like notional)
//	single short call, short straddle/strangle    undefined (+Inf; margin-like notional for the limits)
//	short vertical, iron condor, iron butterfly   width − credit
//	short butterfly                               width − credit; long: the debit
//	long calendar                                 the debit; short: strike − credit (a bound, not a likely loss)
//	long diagonal                                 debit + the strike distance when the far leg is further out
//	long put ratio 1×r                            debit + (r × far strike − near strike); a call ratio: undefined
//
// Every structure's legs share the first leg's underlying. A leg with a dte
// window of its own (the first leg always: dte, default the entry's dte)
// chooses its expiry in that window; the others take the first leg's
// expiry. Ties between candidates break by days to expiry, strike, then
// contract id.
type StructureConfig struct {
	Type  string  `yaml:"type"`            // see the table; required
	Side  string  `yaml:"side,omitempty"`  // short (default) or long
	Right string  `yaml:"right,omitempty"` // put (default) or call: single, vertical, butterfly, calendar, diagonal, ratio
	Delta float64 `yaml:"delta,omitempty"` // target |delta| of the anchor legs, in (0, 1)
	// Moneyness, instead of Delta, anchors at the strike closest to
	// spot × (1 + moneyness/100).
	Moneyness float64   `yaml:"moneyness,omitempty"`
	Width     float64   `yaml:"width,omitempty"`   // wing distance, points (> 0)
	Ratio     int       `yaml:"ratio,omitempty"`   // ratio: far-leg contracts per near leg (>= 2)
	DTE       [2]int    `yaml:"dte,omitempty"`     // first leg's window; default the entry's dte
	FarDTE    [2]int    `yaml:"far_dte,omitempty"` // calendar, diagonal: the far leg's window
	Legs      []LegSpec `yaml:"legs,omitempty"`    // custom only
}

// LegSpec is one leg's rule. Exactly one of Delta, Offset or OffsetPct
// places the strike:
//
//	delta: 0.16               the contract whose |delta| is closest
//	offset: -5                a strike 5 points below the From leg's (exactly; else "wing")
//	offset: 10, from: spot    the strike closest to spot + 10
//	offset_pct: -3            the strike closest to spot × 0.97 (from spot only)
//
// From is "spot" (default for offset_pct) or "legN", an earlier leg
// numbered from 1 (default for offset: leg1).
type LegSpec struct {
	Right     string  `yaml:"right"`                // put or call
	Qty       int     `yaml:"qty"`                  // signed contracts per unit, long form: +1 buy, −2 sell two
	Delta     float64 `yaml:"delta,omitempty"`      // target |delta|
	Offset    float64 `yaml:"offset,omitempty"`     // strike offset, points
	OffsetPct float64 `yaml:"offset_pct,omitempty"` // strike offset from spot, %
	From      string  `yaml:"from,omitempty"`       // spot or legN
	DTE       [2]int  `yaml:"dte,omitempty"`        // own expiry window; default the first leg's expiry
}

// legRule is a resolved LegSpec.
type legRule struct {
	call      bool
	qty       int64 // signed, long form
	delta     float64
	offset    float64
	offsetPct float64
	from      int // -1 spot, else an earlier leg's index
	byDelta   bool
	ownDTE    bool
	dte       [2]int
}

// structPlan is an entry's resolved structure.
type structPlan struct {
	typ  string
	long bool
	legs []legRule
}

// strikeRules counts the strike rules a leg gives (want exactly one).
func strikeRules(s LegSpec) int {
	n := 0
	if s.Delta != 0 {
		n++
	}
	if s.Offset != 0 || (s.From != "" && s.OffsetPct == 0 && s.Delta == 0) {
		n++
	}
	if s.OffsetPct != 0 {
		n++
	}
	return n
}

// legacyStructure is the structure of the entry's shorthand fields (right,
// side, spread_width, target_delta, moneyness): a single leg or a vertical.
func legacyStructure(en *EntryConfig) StructureConfig {
	s := StructureConfig{Type: StructSingle, Side: en.Side, Right: en.Right, Delta: en.TargetDelta, Moneyness: en.Moneyness, DTE: en.DTE}
	if en.SpreadWidth > 0 {
		s.Type, s.Width = StructVertical, en.SpreadWidth
	}
	return s
}

// plan expands a structure into leg rules; field prefixes error names.
func (s StructureConfig) plan(field string, entryDTE [2]int) (structPlan, error) {
	p := structPlan{typ: s.Type, long: s.Side == "long"}
	switch s.Side {
	case "", "short", "long":
	default:
		return p, fieldErr(field+".side", "want short or long, got %q", s.Side)
	}
	right := s.Right
	if right == "" {
		right = "put"
	}
	if right != "put" && right != "call" {
		return p, fieldErr(field+".right", "want put or call, got %q", s.Right)
	}
	dte := s.DTE
	if dte == [2]int{} {
		dte = entryDTE
	}
	if dte[0] < 0 || dte[1] < dte[0] {
		return p, fieldErr(field+".dte", "want [min, max] with 0 <= min <= max, got %v", dte)
	}
	if s.Delta < 0 || s.Delta >= 1 {
		return p, fieldErr(field+".delta", "want |delta| in (0, 1), got %g", s.Delta)
	}
	if s.Delta != 0 && s.Moneyness != 0 {
		return p, fieldErr(field, "give delta or moneyness, not both")
	}
	if s.Width < 0 {
		return p, fieldErr(field+".width", "must be > 0, got %g", s.Width)
	}
	if s.Type != StructCustom && len(s.Legs) > 0 {
		return p, fieldErr(field+".legs", "only type custom takes legs")
	}
	defDelta := map[string]float64{StructStraddle: 0.5, StructIronButterfly: 0.5, StructButterfly: 0.5, StructCalendar: 0.5, StructStrangle: 0.16, StructIronCondor: 0.16}[s.Type]
	if defDelta == 0 {
		defDelta = 0.30
	}
	delta := s.Delta
	if delta == 0 {
		delta = defDelta
	}
	w := s.Width
	if w == 0 {
		w = 5
	}
	out := -w // further out of the money for the right
	if right == "call" {
		out = w
	}
	anchor := func(call bool) legRule {
		r := legRule{call: call, qty: 1, from: -1, ownDTE: true, dte: dte}
		if s.Moneyness != 0 {
			r.offsetPct = s.Moneyness
		} else {
			r.byDelta, r.delta = true, delta
		}
		return r
	}
	rc := right == "call"
	rel := func(call bool, qty int64, from int, off float64) legRule {
		return legRule{call: call, qty: qty, from: from, offset: off}
	}
	far := s.FarDTE
	if far == [2]int{} {
		far = [2]int{dte[1] + 20, dte[1] + 60}
	}
	switch s.Type {
	case StructSingle:
		p.legs = []legRule{anchor(rc)}
	case StructVertical:
		p.legs = []legRule{anchor(rc), rel(rc, -1, 0, out)}
	case StructStraddle:
		p.legs = []legRule{anchor(false), rel(true, 1, 0, 0)}
	case StructStrangle:
		c := anchor(true)
		c.ownDTE = false
		p.legs = []legRule{anchor(false), c}
	case StructIronCondor:
		c := anchor(true)
		c.ownDTE = false
		p.legs = []legRule{anchor(false), rel(false, -1, 0, -w), c, rel(true, -1, 2, w)}
	case StructIronButterfly:
		p.legs = []legRule{anchor(false), rel(false, -1, 0, -w), rel(true, 1, 0, 0), rel(true, -1, 0, w)}
	case StructButterfly:
		a := anchor(rc)
		a.qty = -2
		p.legs = []legRule{a, rel(rc, 1, 0, -w), rel(rc, 1, 0, w)}
	case StructCalendar, StructDiagonal:
		if far[0] < 0 || far[1] < far[0] || far[0] <= dte[0] {
			return p, fieldErr(field+".far_dte", "want [min, max] after the near leg's dte %v, got %v", dte, far)
		}
		a := anchor(rc)
		a.qty = -1
		off := 0.0
		if s.Type == StructDiagonal {
			off = out
		}
		b := rel(rc, 1, 0, off)
		b.ownDTE, b.dte = true, far
		p.legs = []legRule{a, b}
	case StructRatio:
		r := s.Ratio
		if r == 0 {
			r = 2
		}
		if r < 2 {
			return p, fieldErr(field+".ratio", "want >= 2, got %d", s.Ratio)
		}
		p.legs = []legRule{anchor(rc), rel(rc, -int64(r), 0, out)}
	case StructCustom:
		if len(s.Legs) == 0 || len(s.Legs) > maxLegs {
			return p, fieldErr(field+".legs", "want 1 to %d legs, got %d", maxLegs, len(s.Legs))
		}
		for i, l := range s.Legs {
			r, err := l.rule(fmt.Sprintf("%s.legs[%d]", field, i), i, dte)
			if err != nil {
				return p, err
			}
			p.legs = append(p.legs, r)
		}
	case "":
		return p, fieldErr(field+".type", "required: one of %s", structTypes())
	default:
		return p, fieldErr(field+".type", "want one of %s, got %q", structTypes(), s.Type)
	}
	if s.Ratio != 0 && s.Type != StructRatio {
		return p, fieldErr(field+".ratio", "only type ratio takes a ratio")
	}
	return p, nil
}

func structTypes() string {
	return "single, vertical, straddle, strangle, iron_condor, iron_butterfly, butterfly, calendar, diagonal, ratio, custom"
}

// maxLegs is the most legs a position holds.
const maxLegs = 4

func (l LegSpec) rule(field string, i int, dte [2]int) (legRule, error) {
	r := legRule{qty: int64(l.Qty), delta: l.Delta, offset: l.Offset, offsetPct: l.OffsetPct, from: -1}
	switch l.Right {
	case "put":
	case "call":
		r.call = true
	default:
		return r, fieldErr(field+".right", "want put or call, got %q", l.Right)
	}
	if l.Qty == 0 || l.Qty > 10 || l.Qty < -10 {
		return r, fieldErr(field+".qty", "want a signed ratio in [-10, 10], not 0; got %d", l.Qty)
	}
	if l.Delta < 0 || l.Delta >= 1 {
		return r, fieldErr(field+".delta", "want |delta| in (0, 1), got %g", l.Delta)
	}
	if n := strikeRules(l); n != 1 {
		return r, fieldErr(field, "give exactly one of delta, offset (from a leg or spot), offset_pct")
	}
	r.byDelta = l.Delta != 0
	switch {
	case l.From == "" && l.Offset != 0:
		r.from = 0
	case l.From == "" || l.From == "spot":
	default:
		var k int
		if _, err := fmt.Sscanf(l.From, "leg%d", &k); err != nil || k < 1 || k > i || fmt.Sprintf("leg%d", k) != l.From {
			return r, fieldErr(field+".from", "want spot or an earlier leg leg1..leg%d, got %q", i, l.From)
		}
		r.from = k - 1
	}
	if r.from >= 0 && l.OffsetPct != 0 {
		return r, fieldErr(field+".offset_pct", "offset_pct is from spot; use offset from a leg")
	}
	if r.from < 0 && !r.byDelta && i == 0 && l.Offset == 0 && l.OffsetPct == 0 {
		return r, fieldErr(field, "the first leg needs a delta or an offset from spot")
	}
	if i == 0 && r.from >= 0 {
		return r, fieldErr(field+".from", "the first leg cannot be placed from a leg")
	}
	r.ownDTE = i == 0 || l.DTE != [2]int{}
	r.dte = l.DTE
	if i == 0 && l.DTE == [2]int{} {
		r.dte = dte
	}
	if r.ownDTE && (r.dte[0] < 0 || r.dte[1] < r.dte[0]) {
		return r, fieldErr(field+".dte", "want [min, max] with 0 <= min <= max, got %v", l.DTE)
	}
	return r, nil
}

// valueBounds are the no-arbitrage bounds of a structure's value per unit,
// V = Σ ratio × leg value (ratios signed, long > 0), at zero rates: V today
// lies between the least and the greatest value V can take at the first
// expiry, where a leg of that expiry is worth its payoff and a later leg
// lies between its intrinsic value and its upper bound (the strike for a
// put, the underlying for a call). The extremes of these piecewise-linear
// functions of the underlying S are at S = 0, at a strike, or as S → ∞.
// Single-expiry structures get exactly [min payoff, max payoff].
func valueBounds(legs []leg) (lo, hi float64) {
	front := legs[0].expiry
	for _, l := range legs {
		front = min(front, l.expiry)
	}
	at := func(S float64, upper bool) float64 {
		v := 0.0
		for _, l := range legs {
			pay := l.strike - S
			if l.call {
				pay = -pay
			}
			pay = max(pay, 0)
			if l.expiry != front && (l.ratio > 0) == upper {
				pay = l.strike // upper bound of a later leg: the strike for a put…
				if l.call {
					pay = S // …the underlying for a call
				}
			}
			v += l.ratio * pay
		}
		return v
	}
	lo, hi = math.Inf(1), math.Inf(-1)
	xs := []float64{0}
	maxK := 0.0
	for _, l := range legs {
		xs = append(xs, l.strike)
		maxK = max(maxK, l.strike)
	}
	for _, S := range xs {
		lo = min(lo, at(S, false))
		hi = max(hi, at(S, true))
	}
	// Slopes beyond the highest strike.
	far := 2*maxK + 1
	if at(far, false) < at(maxK, false)-1e-9 {
		lo = math.Inf(-1)
	}
	if at(far, true) > at(maxK, true)+1e-9 {
		hi = math.Inf(1)
	}
	return lo, hi
}

// premiumBounds converts value bounds to bounds of the net premium
// P = sign × V (a credit for a short structure, a debit for a long one).
func premiumBounds(long bool, lo, hi float64) (float64, float64) {
	if long {
		return lo, hi
	}
	return -hi, -lo
}

// structureWidth is the largest strike distance between two legs of the
// same right and expiry (0 when there is none).
func structureWidth(legs []leg) float64 {
	w := 0.0
	for i, a := range legs {
		for _, b := range legs[i+1:] {
			if a.call == b.call && a.expiry == b.expiry {
				w = max(w, math.Abs(a.strike-b.strike))
			}
		}
	}
	return w
}

// nameOf guesses a structure's name from its legs (for replayed logs).
func nameOf(legs []leg) string {
	switch len(legs) {
	case 1:
		return StructSingle
	case 2:
		a, b := legs[0], legs[1]
		switch {
		case a.expiry != b.expiry:
			if a.strike == b.strike {
				return StructCalendar
			}
			return StructDiagonal
		case a.call != b.call && a.ratio == b.ratio:
			if a.strike == b.strike {
				return StructStraddle
			}
			return StructStrangle
		case a.call == b.call && a.ratio == -b.ratio:
			return StructVertical
		case a.call == b.call:
			return StructRatio
		}
	case 3:
		return StructButterfly
	case 4:
		ks := []float64{}
		for _, l := range legs {
			ks = append(ks, l.strike)
		}
		slices.Sort(ks)
		if ks[1] == ks[2] {
			return StructIronButterfly
		}
		return StructIronCondor
	}
	return StructCustom
}

// newPosition builds a position of qty units of a structure whose legs
// (contract and signed ratio per unit, as held) are given, filling in each
// leg's contract terms, the first expiry, the symbol, the contract label
// ("OCC1/OCC2/…"), the width and the static bounds.
func (e *Engine) newPosition(execID, typ string, long bool, qty int64, legs []leg) *Position {
	e.posSeq++
	pos := &Position{ExecID: execID, Long: long, Qty: qty, seq: e.posSeq, Structure: typ, nlegs: len(legs)}
	for k, l := range legs {
		c := e.pf.contract(l.id)
		l.qty = int64(l.ratio) * qty
		l.strike, l.call, l.expiry = c.Strike, c.Right == feeds.Call, c.Expiry.UnixMicro()
		pos.legs[k] = l
		if k == 0 {
			pos.Symbol, pos.Contract, pos.Mult, pos.Expiry = c.Underlying, c.Symbol, c.Multiplier, l.expiry
		} else {
			pos.Contract += "/" + c.Symbol
			pos.multiExp = pos.multiExp || l.expiry != pos.Expiry
			pos.Expiry = min(pos.Expiry, l.expiry)
		}
	}
	if pos.Mult == 0 {
		pos.Mult = 100
	}
	pos.Width = structureWidth(pos.Legs())
	lo, hi := valueBounds(pos.Legs())
	pos.lo, pos.hi = premiumBounds(long, lo, hi)
	pos.noCall = !slices.ContainsFunc(pos.Legs(), func(l leg) bool { return l.call })
	if pos.noCall {
		pos.blo, pos.bhi = spotBounds(pos, math.NaN())
	}
	return pos
}
