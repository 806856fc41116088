package sim

import (
	"math"

	"github.com/optionsrisk/backtest/feeds"
)

// This file owns valuation: which leg quotes are fresh, the model mark of a
// leg that has none, a structure's no-arbitrage bounds, and every value the
// portfolio reports from them (marks, greeks in share equivalents, the
// position value the limits read, the maximum loss of a trade).

// legMark is one leg's valuation, per share.
type legMark struct {
	bid, ask, mid, delta, gamma float64
	model                       bool // marked by the model: no fresh quote
}

// modelCache keeps a leg's model mark for the instant it was computed at.
type modelCache struct {
	at int64
	m  legMark
}

// fresh reports whether contract id's latest quote is fresh: stamped on the
// local day of its underlying's latest quote and at most
// broker.marks.stale_after before it.
func (e *Engine) fresh(id feeds.ContractID) bool {
	q := e.pf.quote(id)
	if q.Time == 0 {
		return false
	}
	st := e.pf.spotAt[e.pf.underOf[id]-1]
	return st-q.Time <= e.staleAfter && q.Time >= e.day(st).midnight
}

// allFresh reports whether every leg of pos has a fresh quote.
func (e *Engine) allFresh(pos *Position) bool {
	for _, l := range pos.Legs() {
		if !e.fresh(l.id) {
			return false
		}
	}
	return true
}

// markLeg values one leg: its quote when fresh, else the model (see
// MarkConfig), floored at intrinsic value.
func (e *Engine) markLeg(id feeds.ContractID) legMark {
	q := e.pf.quote(id)
	if e.fresh(id) {
		return legMark{bid: q.Bid, ask: q.Ask, mid: mid(q), delta: q.Delta, gamma: q.Gamma}
	}
	if q.Time == 0 {
		return legMark{model: true} // never quoted: nothing to move (positions never hold one)
	}
	if int(id) >= len(e.models) {
		e.models = append(e.models, make([]modelCache, int(id)+1-len(e.models))...)
	}
	mc := &e.models[id]
	if mc.at == e.now && e.now != 0 {
		return mc.m
	}
	c := e.pf.contracts.Get(id)
	spot := e.pf.spots[e.pf.underOf[id]-1]
	v, d, g := feeds.ModelQuote(c, *q, spot, e.now, e.cfg.Broker.Marks.Rate)
	iv := intrinsic(c, spot)
	if !(v >= iv) { // NaN too
		v = iv
	}
	if math.IsNaN(d) {
		d, g = 0, 0
	}
	mc.at, mc.m = e.now, legMark{bid: v, ask: v, mid: v, delta: d, gamma: g, model: true}
	return mc.m
}

// bounds are a structure's no-arbitrage bounds per share of its net
// premium (main − wing): [0, width] for a vertical, [0, strike] for a put,
// [0, spot] for a call.
func (e *Engine) bounds(pos *Position) (lo, hi float64) {
	if pos.nlegs == 2 {
		return 0, pos.Width
	}
	c := e.pf.contracts.Get(pos.legs[0].id)
	if c.Right == feeds.Put {
		return 0, c.Strike
	}
	if s := e.pf.spot(pos.Symbol); s > 0 {
		return 0, s
	}
	return 0, math.Inf(1)
}

func clamp(x, lo, hi float64) float64 { return min(max(x, lo), hi) }

// netMarks is pos's net premium per share (main − wing) as bid, ask and
// mid, each inside the structure's bounds, and the number of legs marked
// by the model.
func (e *Engine) netMarks(pos *Position) (bid, ask, mid float64, models int) {
	m := e.markLeg(pos.legs[0].id)
	bid, ask, mid = m.bid, m.ask, m.mid
	if m.model {
		models++
	}
	if pos.nlegs == 2 {
		w := e.markLeg(pos.legs[1].id)
		bid, ask, mid = bid-w.ask, ask-w.bid, mid-w.mid
		if w.model {
			models++
		}
	}
	lo, hi := e.bounds(pos)
	return clamp(bid, lo, hi), clamp(ask, lo, hi), clamp(mid, lo, hi), models
}

// netQuote is the position's net premium as the trailing stops see it:
// what closing a long structure would get (bid) and what closing a short
// one would pay (ask), each floored at minPremium.
func (e *Engine) netQuote(pos *Position) (bid, ask float64) {
	bid, ask, _, _ = e.netMarks(pos)
	return max(bid, minPremium), max(ask, minPremium)
}

// sign is +1 for a long structure, −1 for a short one.
func (pos *Position) sign() float64 {
	if pos.Long {
		return 1
	}
	return -1
}

// units is the position's shares: qty × multiplier.
func (pos *Position) units() float64 { return float64(pos.Qty) * pos.Mult }

// marketValue is the signed value of pos at its net mark, dollars.
func (e *Engine) marketValue(pos *Position) float64 {
	_, _, m, _ := e.netMarks(pos)
	return pos.sign() * m * pos.units()
}

// greeks are pos's delta and gamma in share equivalents: Σ over legs of
// signed contracts × multiplier × per-share greek.
func (e *Engine) greeks(pos *Position) (delta, gamma float64) {
	for _, l := range pos.Legs() {
		m := e.markLeg(l.id)
		n := float64(l.qty) * pos.Mult
		delta += n * m.delta
		gamma += n * m.gamma
	}
	return delta, gamma
}

// Cboe / Reg-T margin of a short naked option, as fractions of the
// underlying (and of the strike for the put's floor).
const (
	marginPct      = 0.20
	marginFloorPct = 0.10
)

// riskValue is the position value the limits read, dollars, on a
// documented basis: a long structure is the debit paid (premium × qty ×
// multiplier); a short vertical its maximum loss ((width − credit) × qty ×
// multiplier); a short naked option a Cboe/Reg-T margin-like notional:
// (mark + max(20 % of spot − out-of-the-money amount, 10 % of the strike for
// a put or of spot for a call)) × qty × multiplier. premium is the entry
// premium (or the expected one, for an entry not yet filled).
func (e *Engine) riskValue(pos *Position, premium float64) float64 {
	switch {
	case pos.Long:
		return max(premium, 0) * pos.units()
	case pos.nlegs == 2:
		return clamp(pos.Width-premium, 0, pos.Width) * pos.units()
	}
	c := e.pf.contracts.Get(pos.legs[0].id)
	s := e.pf.spot(pos.Symbol)
	if !(s > 0) {
		s = c.Strike
	}
	_, _, m, _ := e.netMarks(pos)
	var otm, floor float64
	if c.Right == feeds.Put {
		otm, floor = max(s-c.Strike, 0), marginFloorPct*c.Strike
	} else {
		otm, floor = max(c.Strike-s, 0), marginFloorPct*s
	}
	return (m + max(marginPct*s-otm, floor)) * pos.units()
}

// maxLoss is the most pos can lose before costs, dollars: the debit of a
// long structure, (width − credit) of a short vertical, (strike − credit)
// of a short put; +Inf for a short call.
func (e *Engine) maxLoss(pos *Position) float64 {
	p := pos.EntryPremium
	switch {
	case pos.Long:
		return max(p, 0) * pos.units()
	case pos.nlegs == 2:
		return clamp(pos.Width-p, 0, pos.Width) * pos.units()
	}
	c := e.pf.contracts.Get(pos.legs[0].id)
	if c.Right == feeds.Put {
		return max(c.Strike-p, 0) * pos.units()
	}
	return math.Inf(1)
}
