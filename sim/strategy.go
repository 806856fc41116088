package sim

import (
	"fmt"
	"math"
	"time"

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

// nextEntry is the first entry time strictly after t.
func (e *Engine) nextEntry(t int64) (int64, bool) {
	en := &e.cfg.Strategy.Entry
	loc := e.cfg.Session.Loc
	switch {
	case len(en.Times) > 0:
		for _, x := range en.Times {
			if us := x.UnixMicro(); us > t && us < e.end {
				return us, true
			}
		}
		return 0, false
	case en.Every > 0:
		day := utc(max(t, e.start)).In(loc)
		for range 3660 { // bounded: ten years of days
			y, m, d := day.Date()
			open := time.Date(y, m, d, 0, 0, 0, 0, loc).Add(e.cfg.Session.Open)
			cls := time.Date(y, m, d, 0, 0, 0, 0, loc).Add(e.cfg.Session.Close)
			for at := open; at.Before(cls); at = at.Add(en.Every) {
				if us := at.UnixMicro(); us > t {
					return us, us < e.end
				}
			}
			day = time.Date(y, m, d+1, 0, 0, 0, 0, loc)
		}
		return 0, false
	case en.At != "":
		day := utc(max(t, e.start)).In(loc)
		for range 3 {
			y, m, d := day.Date()
			at := time.Date(y, m, d, 0, 0, 0, 0, loc).Add(e.entryAt).UnixMicro()
			if at > t {
				return at, at < e.end
			}
			day = time.Date(y, m, d+1, 0, 0, 0, 0, loc)
		}
	}
	return 0, false
}

// localMidnight is the start of the local day containing t.
func (e *Engine) localMidnight(t int64) int64 {
	y, m, d := utc(t).In(e.cfg.Session.Loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, e.cfg.Session.Loc).UnixMicro()
}

// sessionOpen is the start of the session of the local day containing t.
func (e *Engine) sessionOpen(t int64) int64 {
	loc := e.cfg.Session.Loc
	y, m, d := utc(t).In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc).Add(e.cfg.Session.Open).UnixMicro()
}

// entrySignal is the entry workflow: signal → contract choice → limits
// check → breaker → order.
func (e *Engine) entrySignal() error {
	if at, ok := e.nextEntry(e.now); ok {
		e.sched.add(item{at: at, class: classEntry})
	}
	// No quote yet today: a weekend, a holiday, or before the open.
	if e.lastQuote < e.sessionOpen(e.now) {
		return nil
	}
	en := &e.cfg.Strategy.Entry
	if len(e.pf.open)+e.opening >= en.MaxOpen {
		e.res.SkippedMaxOpen++
		return nil
	}
	main, wing, ok := e.choose()
	if !ok {
		e.res.SkippedNoContract++
		return nil
	}
	e.res.Signals++
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
		pos.legs[1] = leg{id: wing, qty: -sign * qty}
		pos.nlegs = 2
		pos.Contract += "/" + e.pf.contracts.Get(wing).Symbol
	}
	if pos.Mult == 0 {
		pos.Mult = 100
	}
	delta, gamma := e.pf.greeks(pos)
	now := utc(e.now)
	dec := e.rm.CheckEntry(now, e.pf.exposure(), risk.EntryRequest{
		ExecutionID: pos.ExecID, Symbol: pos.Symbol, Contract: pos.Contract,
		Delta: delta, Gamma: gamma, Value: e.pf.positionValue(pos),
	})
	if !dec.Allowed {
		e.res.LimitRejected++
		return nil
	}
	bid, ask := e.pf.netQuote(pos)
	requested := ask // opening a long structure pays the ask
	if !long {
		requested = bid
	}
	ok, why := e.rm.Allow(now)
	e.scheduleWake()
	if !ok {
		return e.record(e.orderRow(pos, false, e.now, StatusBlocked, why, requested))
	}
	pos.state = posOpening
	e.opening++
	e.send(&order{pos: pos, reason: "entry signal", requested: requested})
	return nil
}

// choose picks the main leg (closest |delta| to the target, or strike
// closest to the moneyness target) among contracts quoted today with the
// right and days to expiry, and the wing spread_width further out of the
// money. Ties break by days to expiry, then strike, then contract id.
func (e *Engine) choose() (main, wing feeds.ContractID, ok bool) {
	en := &e.cfg.Strategy.Entry
	right := feeds.Put
	if en.Right == "call" {
		right = feeds.Call
	}
	open := e.sessionOpen(e.now)
	best, bestDTE := math.Inf(1), 0
	var bestC *feeds.Contract
	n := e.pf.contracts.Len()
	for id := range n {
		c := e.pf.contracts.Get(feeds.ContractID(id))
		if c.Right != right || (en.Underlying != "" && c.Underlying != en.Underlying) {
			continue
		}
		q := e.pf.quote(c.ID)
		if q.Time < open || q.Bid <= 0 && q.Ask <= 0 {
			continue
		}
		dte := e.dte(c.Expiry.UnixMicro())
		if dte < en.DTE[0] || dte > en.DTE[1] || c.Expiry.UnixMicro() <= e.now {
			continue
		}
		var score float64
		if en.Moneyness != 0 {
			score = math.Abs(c.Strike - q.UnderlyingPrice*(1+en.Moneyness/100))
		} else {
			score = math.Abs(math.Abs(q.Delta) - en.TargetDelta)
		}
		if score < best || score == best && (dte < bestDTE || dte == bestDTE && c.Strike < bestC.Strike) {
			best, bestDTE, bestC = score, dte, c
		}
	}
	if bestC == nil {
		return 0, 0, false
	}
	if en.SpreadWidth == 0 {
		return bestC.ID, bestC.ID, true
	}
	strike := bestC.Strike - en.SpreadWidth
	if right == feeds.Call {
		strike = bestC.Strike + en.SpreadWidth
	}
	for id := range n {
		c := e.pf.contracts.Get(feeds.ContractID(id))
		if c.Right == right && c.Underlying == bestC.Underlying && c.Expiry.Equal(bestC.Expiry) &&
			math.Abs(c.Strike-strike) < 1e-6 && e.pf.quote(c.ID).Time >= open {
			return bestC.ID, c.ID, true
		}
	}
	return 0, 0, false
}
