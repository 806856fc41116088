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

// modelCache keeps a leg's mark (quote or model) for the instant and the
// quotes it was computed on, and its implied vol for the quote it was
// solved from.
type modelCache struct {
	at     int64
	quotes int64 // Result.Quotes when marked: quotes applied since invalidate it
	m      legMark
	volOf  int64 // quote time the vol was solved for
	vol    float64
}

// lastVol is the implied vol of a leg's last quote as feeds.ModelQuote
// solves it: the vol that reprices its mid at its underlying price and
// time, else the quote's IV, else 0.
func (e *Engine) lastVol(c *feeds.Contract, last *legQuote) float64 {
	sigma := 0.0
	exp := c.Expiry.UnixMicro()
	if tLast := float64(exp-last.Time) / microsPerYear; tLast > 0 && last.UnderlyingPrice > 0 {
		if v, ok := feeds.ImpliedVol(last.Mid(), last.UnderlyingPrice, c.Strike, e.cfg.Broker.Marks.Rate, 0, tLast, c.Right); ok {
			sigma = v
		}
	}
	if !(sigma > 0) && last.IV > 0 && !math.IsInf(last.IV, 0) {
		sigma = last.IV
	}
	return sigma
}

// microsPerYear is ACT/365 in µs, as feeds.ModelQuote counts time.
const microsPerYear = 365 * 24 * 3600 * 1e6

// modelMark is feeds.ModelQuote with the implied vol already solved.
func modelMark(c *feeds.Contract, sigma, spot float64, now int64, rate float64) (mid, delta, gamma float64) {
	T := float64(c.Expiry.UnixMicro()-now) / microsPerYear
	g := feeds.BlackScholes(spot, c.Strike, rate, 0, sigma, T)
	if c.Right == feeds.Call {
		return g.Call.Price, g.Call.Delta, g.Call.Gamma
	}
	return g.Put.Price, g.Put.Delta, g.Put.Gamma
}

// fresh reports whether contract id's latest quote is fresh: stamped on the
// local day of its underlying's latest quote and at most
// broker.marks.stale_after before it.
func (e *Engine) fresh(id feeds.ContractID) bool { return e.freshQuote(id) != nil }

// freshQuote is contract id's latest quote when it is fresh (see fresh),
// else nil: one lookup of the quote (legMarks inlines it).
func (e *Engine) freshQuote(id feeds.ContractID) *legQuote {
	p := e.pf
	q := p.quote(id)
	if q.Time == 0 {
		return nil
	}
	st := p.spotAt[p.underOf[id]-1]
	if st-q.Time <= e.staleAfter && q.Time >= e.midnightOf(st) {
		return q
	}
	return nil
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
	// A fresh quote is its own mark: read it without the cache (the
	// cached value would be this very quote's, as nothing but a new quote
	// changes either).
	if q := e.freshQuote(id); q != nil {
		return legMark{bid: q.Bid, ask: q.Ask, mid: mid(q), delta: q.Delta, gamma: q.Gamma}
	}
	return e.modelLeg(id)
}

// modelLeg is markLeg for a leg without a fresh quote: the model's mark,
// cached for the instant.
func (e *Engine) modelLeg(id feeds.ContractID) legMark {
	mc := e.models.at(id)
	if mc == nil {
		retiredInUse(id) // nothing marks a retired contract (retire.go)
	}
	if mc.at == e.now && mc.quotes == e.res.Quotes && e.now != 0 {
		return mc.m // marked already at this instant, on these quotes
	}
	q := e.pf.quote(id)
	switch {
	case q.Time == 0:
		mc.m = legMark{model: true} // never quoted: nothing to move (positions never hold one)
	default:
		c := e.pf.contract(id)
		spot := e.pf.spots[e.pf.underOf[id]-1]
		if mc.volOf != q.Time { // the leg's implied vol changes only with its quote
			mc.volOf, mc.vol = q.Time, e.lastVol(c, q)
		}
		v, d, g := modelMark(c, mc.vol, spot, e.now, e.cfg.Broker.Marks.Rate)
		iv := intrinsic(c, spot)
		if !(v >= iv) { // NaN too
			v = iv
		}
		if math.IsNaN(d) {
			d, g = 0, 0
		}
		mc.m = legMark{bid: v, ask: v, mid: v, delta: d, gamma: g, model: true}
	}
	mc.at, mc.quotes = e.now, e.res.Quotes
	return mc.m
}

// bounds are a structure's no-arbitrage bounds per share of its net
// premium: the static bounds of its payoff (valueBounds: [0, width] for a
// vertical, [0, strike] for a put) intersected with the bounds of its
// legs at the current spot (a call is worth at most the underlying).
func (e *Engine) bounds(pos *Position) (lo, hi float64) {
	if pos.noCall { // the spot plays no part: computed once
		return pos.blo, pos.bhi
	}
	return spotBounds(pos, e.posSpot(pos))
}

// spotBounds is bounds at spot s (unused without a call leg).
func spotBounds(pos *Position, s float64) (lo, hi float64) {
	lo, hi = pos.lo, pos.hi
	var blo, bhi float64 // box of V
	for k := range pos.nlegs {
		l := &pos.legs[k] // in place: a copied leg costs the hot path
		up := l.strike
		if l.call {
			if !(s > 0) {
				return lo, hi
			}
			up = s
		}
		if l.ratio > 0 {
			bhi += l.ratio * up
		} else {
			blo += l.ratio * up
		}
	}
	blo, bhi = premiumBounds(pos.Long, blo, bhi)
	lo, hi = max(lo, blo), min(hi, bhi)
	if lo > hi {
		lo = hi
	}
	return lo, hi
}

// posSpot is pf.spot(pos.Symbol) without the lookup by name: the
// underlying of pos's first leg is pos.Symbol.
func (e *Engine) posSpot(pos *Position) float64 {
	if id := pos.legs[0].id; int(id) < len(e.pf.underOf) {
		if u := e.pf.underOf[id]; u > 0 {
			return e.pf.spots[u-1]
		}
	}
	return e.pf.spot(pos.Symbol)
}

func clamp(x, lo, hi float64) float64 { return min(max(x, lo), hi) }

// netMarks is pos's net premium per share as bid, ask and mid, each
// inside the structure's bounds, and the number of legs marked by the
// model. A bought leg is valued at its bid when selling the structure.
func (e *Engine) netMarks(pos *Position) (bid, ask, mid float64, models int) {
	var ms [maxLegs]legMark
	e.legMarks(pos, &ms)
	return e.netFrom(pos, &ms)
}

// legMarks puts the mark of each of pos's legs in ms, in leg order.
func (e *Engine) legMarks(pos *Position, ms *[maxLegs]legMark) {
	// markLeg inlined: a fresh quote (see fresh; the day of the
	// underlying's latest quote read off e.day's cache in place) is
	// written straight into ms.
	p, dc := e.pf, &e.dayCache
	for k := range pos.nlegs {
		id := pos.legs[k].id
		if q := p.marks.get(id); q != nil && q.Time != 0 {
			st := p.spotAt[p.underOf[id]-1]
			midnight := dc.midnight
			if dc.next == 0 || st < dc.midnight || st >= dc.next {
				midnight = e.midnightOf(st)
			}
			if st-q.Time <= e.staleAfter && q.Time >= midnight { // fresh
				m := &ms[k] // field by field, as Portfolio.mark
				m.bid, m.ask, m.mid, m.delta, m.gamma, m.model = q.Bid, q.Ask, mid(q), q.Delta, q.Gamma, false
				continue
			}
		}
		ms[k] = e.modelLeg(id)
	}
}

// netFrom is netMarks on the legs' marks ms (legMarks).
func (e *Engine) netFrom(pos *Position, ms *[maxLegs]legMark) (bid, ask, mid float64, models int) {
	for k := range pos.nlegs {
		l, m := &pos.legs[k], &ms[k]
		if m.model {
			models++
		}
		if l.ratio > 0 {
			bid += l.ratio * m.bid
			ask += l.ratio * m.ask
		} else {
			bid += l.ratio * m.ask
			ask += l.ratio * m.bid
		}
		mid += l.ratio * m.mid
	}
	if !pos.Long {
		bid, ask, mid = -ask, -bid, -mid
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
	var ms [maxLegs]legMark
	e.legMarks(pos, &ms)
	return greeksFrom(pos, &ms)
}

// greeksFrom is greeks on the legs' marks ms (legMarks).
func greeksFrom(pos *Position, ms *[maxLegs]legMark) (delta, gamma float64) {
	for k := range pos.nlegs {
		l, m := &pos.legs[k], &ms[k]
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
// documented basis: a structure with a long leg and a finite maximum loss
// (a long structure, a short vertical, condor, butterfly, calendar …) is
// its maximum loss at premium (see maxLoss); a structure without a long
// leg (a short naked option, straddle, strangle) or with an undefined loss
// (a call ratio) is a Cboe/Reg-T margin-like notional: for the short leg
// with the largest requirement (mark + max(20 % of spot − out-of-the-money
// amount, 10 % of the strike for a put or of spot for a call)) × its
// contracts × multiplier, plus the marks of the other short legs. premium
// is the entry premium (or the expected one, for an entry not yet filled).
func (e *Engine) riskValue(pos *Position, premium float64) float64 {
	covered := false
	for _, l := range pos.Legs() {
		covered = covered || l.ratio > 0
	}
	if ml := maxLossAt(pos, premium); covered && !math.IsInf(ml, 1) {
		return ml
	}
	s := e.pf.spot(pos.Symbol)
	var rest, best float64
	for _, l := range pos.Legs() {
		if l.ratio >= 0 {
			continue
		}
		sp := s
		if !(sp > 0) {
			sp = l.strike
		}
		m := e.markLeg(l.id).mid
		var otm, floor float64
		if l.call {
			otm, floor = max(l.strike-sp, 0), marginFloorPct*sp
		} else {
			otm, floor = max(sp-l.strike, 0), marginFloorPct*l.strike
		}
		n := -float64(l.qty) * pos.Mult
		r := (m + max(marginPct*sp-otm, floor)) * n
		rest += m * n
		best = max(best, r-m*n)
	}
	return rest + best
}

// maxLoss is the most pos can lose before costs, dollars (+Inf when
// undefined): from its entry premium P to the worst no-arbitrage value of
// its payoff (valueBounds). Short: (hi − P) — (width − credit) for a
// vertical or condor, (strike − credit) for a short put, +Inf for a short
// call or strangle. Long: (P − lo) — the debit for a structure that cannot
// be worth less than zero, more for a ratio spread whose extra short legs
// can lose.
func (e *Engine) maxLoss(pos *Position) float64 { return maxLossAt(pos, pos.EntryPremium) }

func maxLossAt(pos *Position, p float64) float64 {
	if pos.Long {
		return max(p-pos.lo, 0) * pos.units()
	}
	if math.IsInf(pos.hi, 1) {
		return math.Inf(1)
	}
	return max(pos.hi-p, 0) * pos.units()
}
