package sim

import (
	"fmt"
	"math"

	"github.com/optionsrisk/backtest/feeds"
	"github.com/optionsrisk/backtest/risk"
)

var nan = math.NaN()

// scheduleFirst puts the periodic events and the first entry on the schedule.
func (e *Engine) scheduleFirst() {
	first := e.start
	e.sched.add(item{at: first, class: classHealth})
	e.sched.add(item{at: first, class: classEquity})
	if e.cfg.Strategy.Replay != nil {
		e.initReplay()
		return
	}
	if at, ok := e.nextEntry(first - 1); ok {
		e.sched.add(item{at: at, class: classEntry})
	}
}

// nextEntry is the first entry time strictly after t. Schedules (at,
// every) fire on trading days within the session only; an at time outside
// the session fires at its nearest end (the open, or an early close).
func (e *Engine) nextEntry(t int64) (int64, bool) {
	en := &e.cfg.Strategy.Entry
	switch {
	case len(en.Times) > 0:
		for _, x := range en.Times {
			if us := x.UnixMicro(); us > t && us < e.end {
				return us, true
			}
		}
		return 0, false
	case en.Every > 0 || en.At != "":
		every := en.Every.Microseconds()
		d := e.dayFor(max(t, e.start))
		for range maxDays {
			if d.midnight >= e.end {
				return 0, false
			}
			if d.trading {
				if every > 0 {
					at := d.open
					if t >= d.open {
						at += ((t-d.open)/every + 1) * every
					}
					if at < d.close {
						return at, at < e.end
					}
				} else if at := clamp64(d.midnight+e.entryAt.Microseconds(), d.open, d.close); at > t {
					return at, at < e.end
				}
			}
			d = e.nextDay(d)
		}
	}
	return 0, false
}

func clamp64(x, lo, hi int64) int64 { return min(max(x, lo), hi) }

// entrySignal is a scheduled entry signal. Without a quote yet today it
// waits for the day's first quote (signals meanwhile coalesce into it:
// end-of-day feeds trade on their daily quote); otherwise it enters.
func (e *Engine) entrySignal() error {
	if at, ok := e.nextEntry(e.now); ok {
		e.sched.add(item{at: at, class: classEntry})
	}
	sig := &e.res.Signals
	if d := e.day(e.now); e.lastQuote < d.midnight {
		if e.waitSig {
			if e.waitDay == d.midnight {
				return nil // coalesced with the one waiting
			}
			sig.NoQuote++ // the waiting one's day passed without a quote
		}
		sig.Total++
		e.waitSig, e.waitDay = true, d.midnight
		return nil
	}
	sig.Total++
	return e.enter()
}

// enter is the entry workflow for one counted signal: the Strategy's
// decision (Declarative: strategy.entry.when) → max_open → contract choice → limits check →
// breaker → order. Every way it ends is counted in
// Result.Signals.
func (e *Engine) enter() error {
	sig := &e.res.Signals
	en := &e.cfg.Strategy.Entry
	plan, qty := &e.plan, en.Qty
	d, err := e.strat.Entry(&e.mkt)
	if err != nil {
		return fmt.Errorf("sim: strategy entry: %w", err)
	}
	if !d.Open {
		sig.Condition++
		return nil
	}
	if d.Structure != nil {
		if plan, err = e.planFor(d.Structure); err != nil {
			return err
		}
	}
	if d.Qty > 0 {
		qty = d.Qty
	}
	if len(e.pf.open)+e.opening >= en.MaxOpen {
		sig.MaxOpen++
		return nil
	}
	legs, why := e.chooseFor(plan)
	if why != "" {
		sig.NoContract++
		sig.NoContractBy[why]++
		return nil
	}
	e.nextExec++
	long := plan.long
	pos := e.newPosition(fmt.Sprintf("E%06d", e.nextExec), plan.typ, long, int64(qty), legs)
	requested, _ := e.fillPrice(pos, long)
	delta, gamma := e.greeks(pos)
	now := utc(e.now)
	dec := e.rm.CheckEntry(now, e.exposure(), risk.EntryRequest{
		ExecutionID: pos.ExecID, Symbol: pos.Symbol, Contract: pos.Contract,
		Delta: delta, Gamma: gamma, Value: e.riskValue(pos, requested),
	})
	if !dec.Allowed {
		sig.Limits++
		e.attrEntry(pos, "portfolio_limits", "rejected", dec.Rule)
		return nil
	}
	if e.refuseClosed() {
		sig.Broker++
		return e.record(e.orderRow(pos, false, e.now, StatusRejected, "market closed (broker.closed_market: reject)", requested))
	}
	ok, why := e.rm.Allow(now)
	e.scheduleWake()
	if !ok {
		sig.Breaker++
		e.attrEntry(pos, "circuit_breaker", "blocked", "entry")
		return e.record(e.orderRow(pos, false, e.now, StatusBlocked, why, requested))
	}
	pos.state = posOpening
	e.opening++
	e.send(&order{pos: pos, reason: "entry signal", requested: requested})
	return nil
}

// choose picks the legs of the entry's structure (e.plan) in order. The
// first leg is the best candidate among the live contracts (chain index)
// of every underlying with a fresh two-sided quote, its right and days to
// expiry: |delta| closest to its target, or strike closest to its spot
// target. Each later leg is chosen in the first leg's underlying, in the
// first leg's expiry unless it has a dte window of its own: by its delta or
// spot target (fresh two-sided quote), or at exactly an earlier leg's
// strike plus its offset (a fresh quote). Ties break by days to expiry,
// then strike, then contract id; a contract is used once. When nothing
// matches, why names the first filter nothing passed: underlying, right,
// dte, quote (first leg) or wing (a later leg).
func (e *Engine) choose() (legs []leg, why string) { return e.chooseFor(&e.plan) }

// chooseFor is choose for the structure plan p.
func (e *Engine) chooseFor(p *structPlan) (legs []leg, why string) {
	legs = e.legBuf[:0]
	r0 := &p.legs[0]
	var (
		best                              candidate
		bestU                             int
		found, anyUnder, anyRight, anyDTE bool
	)
	for u, name := range e.pf.unders {
		if e.cfg.Strategy.Entry.Underlying != "" && name != e.cfg.Strategy.Entry.Underlying {
			continue
		}
		chs := e.pf.index.chains[u]
		if len(chs[0].live(e.now))+len(chs[1].live(e.now)) == 0 {
			continue
		}
		anyUnder = true
		groups := chs[callSlot(r0.call)].live(e.now)
		if len(groups) == 0 {
			continue
		}
		anyRight = true
		c, dteOK, ok := e.pickLeg(r0, groups, nil, 0)
		anyDTE = anyDTE || dteOK
		if ok && (!found || c.better(best)) {
			best, bestU, found = c, u, true
		}
	}
	switch {
	case !anyUnder:
		return nil, "underlying"
	case !anyRight:
		return nil, "right"
	case !anyDTE:
		return nil, "dte"
	case !found:
		return nil, "quote"
	}
	legs = append(legs, e.legOf(best.id, r0, p.long))
	for k := 1; k < len(p.legs); k++ {
		r := &p.legs[k]
		groups := e.pf.index.chains[bestU][callSlot(r.call)].live(e.now)
		c, _, ok := e.pickLeg(r, groups, legs, legs[0].expiry)
		if !ok {
			return nil, "wing"
		}
		legs = append(legs, e.legOf(c.id, r, p.long))
	}
	e.legBuf = legs
	return legs, ""
}

func callSlot(call bool) int {
	if call {
		return 0
	}
	return 1
}

// legOf is the chosen contract id as a leg of a structure of side long.
func (e *Engine) legOf(id feeds.ContractID, r *legRule, long bool) leg {
	q := float64(r.qty)
	if !long {
		q = -q
	}
	c := e.pf.contract(id)
	return leg{id: id, ratio: q, expiry: c.Expiry.UnixMicro(), strike: c.Strike, call: c.Right == feeds.Call}
}

// pickLeg is the best candidate for rule r among groups (ascending expiry):
// in r's dte window, or in the expiry front when r has none. dteOK reports
// whether any group was in the window.
func (e *Engine) pickLeg(r *legRule, groups []expiryGroup, prev []leg, front int64) (best candidate, dteOK, found bool) {
	for gi := range groups {
		g := &groups[gi]
		if !r.ownDTE && g.expiry != front {
			continue
		}
		dte := e.dte(g.expiry)
		if r.ownDTE {
			if dte < r.dte[0] {
				continue
			}
			if dte > r.dte[1] {
				break // ascending expiry: the rest are further out
			}
		}
		dteOK = true
		if r.from >= 0 { // exactly at an earlier leg's strike plus the offset
			id, ok := g.wing(prev[r.from].strike + r.offset)
			if !ok || !e.fresh(id) || used(prev, id) {
				continue
			}
			c := candidate{dte: dte, strike: prev[r.from].strike + r.offset, id: id}
			if !found || c.better(best) {
				best, found = c, true
			}
			continue
		}
		for k, id := range g.ids {
			q := e.pf.quote(id)
			if q.Bid <= 0 && q.Ask <= 0 || !e.fresh(id) || used(prev, id) {
				continue
			}
			var score float64
			switch {
			case r.byDelta:
				score = math.Abs(math.Abs(q.Delta) - r.delta)
			case r.offsetPct != 0:
				score = math.Abs(g.strikes[k] - q.UnderlyingPrice*(1+r.offsetPct/100))
			default:
				score = math.Abs(g.strikes[k] - (q.UnderlyingPrice + r.offset))
			}
			c := candidate{score: score, dte: dte, strike: g.strikes[k], id: id}
			if !found || c.better(best) {
				best, found = c, true
			}
		}
	}
	return best, dteOK, found
}

func used(prev []leg, id feeds.ContractID) bool {
	for _, l := range prev {
		if l.id == id {
			return true
		}
	}
	return false
}
