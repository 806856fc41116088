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

// enter is the entry workflow for one counted signal: contract choice →
// limits check → breaker → order. Every way it ends is counted in
// Result.Signals.
func (e *Engine) enter() error {
	sig := &e.res.Signals
	en := &e.cfg.Strategy.Entry
	if len(e.pf.open)+e.opening >= en.MaxOpen {
		sig.MaxOpen++
		return nil
	}
	main, wing, why := e.choose()
	if why != "" {
		sig.NoContract++
		sig.NoContractBy[why]++
		return nil
	}
	e.nextExec++
	e.posSeq++
	c := e.pf.contracts.Get(main)
	long := en.Side == "long"
	qty := int64(en.Qty)
	pos := &Position{
		ExecID: fmt.Sprintf("E%06d", e.nextExec), Symbol: c.Underlying, Contract: c.Symbol,
		Long: long, Qty: qty, Mult: c.Multiplier, Expiry: c.Expiry.UnixMicro(), seq: e.posSeq,
	}
	sign := int64(-1)
	if long {
		sign = 1
	}
	pos.legs[0] = leg{id: main, qty: sign * qty}
	pos.nlegs = 1
	if wing != main {
		w := e.pf.contracts.Get(wing)
		pos.legs[1] = leg{id: wing, qty: -sign * qty}
		pos.nlegs = 2
		pos.Contract += "/" + w.Symbol
		pos.Width = math.Abs(c.Strike - w.Strike)
	}
	if pos.Mult == 0 {
		pos.Mult = 100
	}
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

// choose picks the main leg (closest |delta| to the target, or strike
// closest to the moneyness target) among the live contracts (chain index)
// with a fresh two-sided quote, the right and the days to expiry, and the
// wing spread_width further out of the money in the same expiry, also
// freshly quoted. Ties break by days to expiry, then strike, then contract
// id. When nothing matches, why names the first filter nothing passed:
// underlying, right, dte, quote or wing.
func (e *Engine) choose() (main, wing feeds.ContractID, why string) {
	en := &e.cfg.Strategy.Entry
	right := feeds.Put
	if en.Right == "call" {
		right = feeds.Call
	}
	var (
		best                              candidate
		bestG                             *expiryGroup
		found, anyUnder, anyRight, anyDTE bool
	)
	for u, name := range e.pf.unders {
		if en.Underlying != "" && name != en.Underlying {
			continue
		}
		chs := e.pf.index.chains[u]
		if len(chs[0].live(e.now))+len(chs[1].live(e.now)) == 0 {
			continue
		}
		anyUnder = true
		groups := chs[rightSlot(right)].live(e.now)
		if len(groups) == 0 {
			continue
		}
		anyRight = true
		for gi := range groups {
			g := &groups[gi]
			dte := e.dte(g.expiry)
			if dte < en.DTE[0] {
				continue
			}
			if dte > en.DTE[1] {
				break // ascending expiry: the rest are further out
			}
			anyDTE = true
			for k, id := range g.ids {
				q := e.pf.quote(id)
				if q.Bid <= 0 && q.Ask <= 0 || !e.fresh(id) {
					continue
				}
				var score float64
				if en.Moneyness != 0 {
					score = math.Abs(g.strikes[k] - q.UnderlyingPrice*(1+en.Moneyness/100))
				} else {
					score = math.Abs(math.Abs(q.Delta) - en.TargetDelta)
				}
				c := candidate{score: score, dte: dte, strike: g.strikes[k], id: id}
				if !found || c.better(best) {
					best, bestG, found = c, g, true
				}
			}
		}
	}
	switch {
	case !anyUnder:
		return 0, 0, "underlying"
	case !anyRight:
		return 0, 0, "right"
	case !anyDTE:
		return 0, 0, "dte"
	case !found:
		return 0, 0, "quote"
	case en.SpreadWidth == 0:
		return best.id, best.id, ""
	}
	strike := best.strike - en.SpreadWidth
	if right == feeds.Call {
		strike = best.strike + en.SpreadWidth
	}
	if id, ok := bestG.wing(strike); ok && e.fresh(id) {
		return best.id, id, ""
	}
	return 0, 0, "wing"
}
