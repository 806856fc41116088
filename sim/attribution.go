package sim

import (
	"fmt"
	"math"
	"time"

	"github.com/optionsrisk/backtest/risk"
)

// This file owns risk attribution: for every risk decision that changed
// what the portfolio held, the alternative the decision ruled out is
// followed in the same replay, priced from the same quotes with the same
// fill model, and compared with what actually happened.
//
//   - A trailing stop `trigger` that closed a position: the position as if
//     held to its natural end — its dte_floor exit, expiry settlement at
//     intrinsic value, or the end of the run, marked (ending "dte_floor",
//     "expiry", "end_of_run").
//   - An entry refused by the limits checker or blocked by the breaker: the
//     position as if opened at that instant at the fill model's price (with
//     commission), then managed by the same trailing-stop settings (a
//     private risk.Stops without a sink) and dte_floor, to expiry or the end
//     of the run (endings as above plus "trailing_stop", "stop_loss"; an
//     entry whose price missed strategy.entry.limit, or that would have met
//     a closed market with closed_market: reject, never opens: "not_filled",
//     counterfactual P&L 0).
//   - An exit blocked by the breaker (the first `blocked` row of a wanted
//     exit): the exit as if filled at that instant at the fill model's
//     price (ending "filled_when_asked").
//
// saved = actual P&L − counterfactual P&L: positive when the layer helped.
// Actual P&L is the position's P&L in the trades table (realized, or
// marked at the end of the run) and 0 for a refused entry.
//
// This is first-order attribution: one decision is reversed, everything
// else is held as it happened. A refused entry's room went to later
// entries, a stopped position's margin freed room, a breaker trip changed
// what the broker answered later: none of that is reversed, so per-decision
// savings do not add up to the difference between runs with a layer on and
// off (whole-layer ablation, `backtest sweep --ablate`, measures that).
// Counterfactual orders fill at once on the instant's quotes: no latency,
// broker faults, breaker, limits or max_open, and exits wait only for a
// fresh quote of every leg.
//
// Nothing here touches the real portfolio's cash, the risk manager or the
// event sink, and nothing draws from the run's PRNG: the actual run's rows
// are the same with attribution on and off. Shadow positions are monitored
// only when their underlying quotes, like real ones; the number alive is
// bounded by the stopped positions not yet at their natural end plus the
// refused entries not yet ended.

// Decision is one attributed risk decision: a row of the attribution table.
type Decision struct {
	Seq            int64  // seq of the risk event that made the decision (0 without Engine.EventSeq)
	Time           int64  // µs
	Component      string // trailing_stop, portfolio_limits, circuit_breaker
	Event          string // trigger, rejected, blocked
	Rule           string // stop: trailing_stop or stop_loss; limits: the rule broken; breaker: entry or exit
	ExecutionID    string
	Contract       string
	Actual         float64 // dollars
	Counterfactual float64 // dollars
	Saved          float64 // Actual − Counterfactual
	Ending         string  // how the counterfactual ended
}

// Counterfactual endings.
const (
	EndDTEFloor     = "dte_floor"
	EndExpiry       = "expiry"
	EndOfRun        = "end_of_run"
	EndFilledAtAsk  = "filled_when_asked"
	EndNotFilled    = "not_filled"
	EndTrailingStop = "trailing_stop"
	EndStopLoss     = "stop_loss"
)

// attribution is the engine's attribution state (nil when switched off).
// Its memory is bounded by the decisions still open, not by the run's
// length: a decision leaves once it and every earlier one are final
// (flushDecisions).
type attribution struct {
	open    []*decision   // decisions not yet handed on, in decision order
	byUnder [][]shadowRef // alive shadows by underlying index, in creation order
	// wake is, by underlying index, a time before which every one of its
	// shadows is idle (at most their least idleUntil; math.MinInt64 once
	// one is added).
	wake       []int64
	nextExpiry int64       // earliest expiry of an alive shadow
	stops      *risk.Stops // entry shadows' trailing stops; nil when the layer is off
	alive, max int
}

type decision struct {
	Decision
	pos *Position // the real position whose P&L is the actual; nil: actual 0
	sh  *shadow   // the counterfactual still running; nil once fixed
}

// shadowRef is an alive shadow as monitorShadows walks it: stepShadow
// is a no-op while now < idleUntil (a held shadow before its dte_floor),
// so the walk skips it without loading the shadow. math.MinInt64: not
// known idle.
type shadowRef struct {
	sh        *shadow
	idleUntil int64
}

// shadow is a counterfactual position: a copy of a position's terms with
// its own cash, never in the portfolio.
type shadow struct {
	pos     Position
	cash    float64
	under   int32
	floorAt int64              // dte_floor reached from this instant on (MaxInt64: no floor)
	stopped bool               // has a private trailing stop
	stop    *risk.TrailingStop // that stop, looked up once
	wanted  string             // exit reason waiting for a fresh quote of every leg
	done    bool
	ending  string
}

func newAttribution(rm *risk.Manager) *attribution {
	a := &attribution{nextExpiry: math.MaxInt64}
	s := rm.Settings().TrailingStop
	if s.Enabled == nil || *s.Enabled {
		a.stops, _ = risk.NewStops(s, nil) // validated by the manager already
	}
	return a
}

// eventSeq is the seq of the last risk event emitted.
func (e *Engine) eventSeq() int64 {
	if e.EventSeq == nil {
		return 0
	}
	return e.EventSeq()
}

func (e *Engine) decide(pos *Position, component, event, rule string) *decision {
	d := &decision{Decision: Decision{
		Seq: e.eventSeq(), Time: e.now, Component: component, Event: event, Rule: rule,
		ExecutionID: pos.ExecID, Contract: pos.Contract,
	}}
	e.attr.open = append(e.attr.open, d)
	return d
}

// attrStop records a stop trigger of pos (before its exit is sent): the
// counterfactual holds pos to its natural end.
func (e *Engine) attrStop(pos *Position, rule string) {
	if e.attr == nil {
		return
	}
	d := e.decide(pos, "trailing_stop", "trigger", rule)
	d.pos = pos
	d.sh = e.addShadow(*pos, pos.cash, false)
}

// attrEntry records an entry refused by the limits checker or blocked by
// the breaker: the counterfactual opens it now.
func (e *Engine) attrEntry(pos *Position, component, event, rule string) {
	if e.attr == nil {
		return
	}
	d := e.decide(pos, component, event, rule)
	price, _ := e.fillPrice(pos, pos.Long)
	if !e.withinLimit(pos, price) || e.refuseClosed() || !e.allFresh(pos) {
		d.Ending = EndNotFilled
		return
	}
	sh := *pos
	sh.EntryPremium = price
	sh.OpenedAt = e.now
	d.sh = e.addShadow(sh, e.tradeCash(pos, pos.Long, price), e.attr.stops != nil)
	if d.sh.stopped {
		side := risk.Short
		if pos.Long {
			side = risk.Long
		}
		if err := e.attr.stops.Add(utc(e.now), risk.Position{
			ExecutionID: pos.ExecID, Symbol: pos.Symbol, Contract: pos.Contract,
			Side: side, EntryPremium: max(price, minPremium),
		}); err != nil {
			d.sh.stopped = false // an id seen twice (cannot happen: ids are unique)
		} else {
			d.sh.stop, _ = e.attr.stops.Get(pos.ExecID)
		}
	}
}

// attrBlockedExit records the breaker blocking pos's wanted exit, the first
// time only: the counterfactual exit fills now.
func (e *Engine) attrBlockedExit(pos *Position) {
	if e.attr == nil || pos.exitAsked {
		return
	}
	pos.exitAsked = true
	d := e.decide(pos, "circuit_breaker", "blocked", "exit")
	d.pos = pos
	price, _ := e.fillPrice(pos, !pos.Long)
	d.Counterfactual = pos.cash + e.tradeCash(pos, !pos.Long, price)
	d.Ending = EndFilledAtAsk
}

// tradeCash is the cash flow of trading pos's structure at net price per
// share (buying pays), commission included.
func (e *Engine) tradeCash(pos *Position, buy bool, price float64) float64 {
	var contracts int64
	for _, l := range pos.Legs() {
		contracts += abs(l.qty)
	}
	amount := price * pos.units()
	if buy {
		amount = -amount
	}
	return amount - e.cfg.Broker.CommissionPerContract*float64(contracts)
}

func (e *Engine) addShadow(pos Position, cash float64, stopped bool) *shadow {
	a := e.attr
	u := e.pf.underOf[pos.Legs()[0].id] - 1
	for int(u) >= len(a.byUnder) {
		a.byUnder = append(a.byUnder, nil)
		a.wake = append(a.wake, math.MinInt64)
	}
	a.wake[u] = math.MinInt64
	sh := &shadow{pos: pos, cash: cash, under: u, stopped: stopped, floorAt: math.MaxInt64}
	if f := e.cfg.Strategy.Exit.DTEFloor; f > 0 {
		// dte(now) <= f from the local midnight f days before expiry's date.
		loc := e.cfg.Session.Loc
		y, m, d := utc(pos.Expiry).In(loc).Date()
		sh.floorAt = time.Date(y, m, d-f, 0, 0, 0, 0, loc).UnixMicro()
	}
	a.byUnder[u] = append(a.byUnder[u], shadowRef{sh: sh, idleUntil: math.MinInt64})
	a.nextExpiry = min(a.nextExpiry, pos.Expiry)
	a.alive++
	a.max = max(a.max, a.alive)
	return sh
}

func (e *Engine) endShadow(sh *shadow, ending string) {
	sh.done, sh.ending = true, ending
	e.attr.alive--
	if sh.stopped {
		_ = e.attr.stops.Remove(utc(e.now), sh.pos.ExecID, ending)
		sh.stop = nil
	}
}

// monitorShadows is the counterfactual monitoring of underlying u's
// shadows, on an instant it quoted (after the real positions').
func (e *Engine) monitorShadows(u int32) {
	a := e.attr
	if a == nil || int(u) >= len(a.byUnder) || len(a.byUnder[u]) == 0 || e.now < a.wake[u] {
		return // every shadow idle (see shadowRef)
	}
	list := a.byUnder[u]
	wake := int64(math.MaxInt64)
	n := 0 // kept so far; list[:n] is the kept list
	for i := range list {
		r := &list[i]
		if e.now >= r.idleUntil {
			sh := r.sh
			if e.stepShadow(sh) {
				continue // ended: dropped
			}
			// Held (no stop, no exit wanted): nothing changes it before
			// its floor (stopped and wanted change only here, and stopped
			// only from true to false, in attrEntry).
			r.idleUntil = math.MinInt64
			if sh.wanted == "" && !sh.stopped {
				r.idleUntil = sh.floorAt
			}
		}
		wake = min(wake, r.idleUntil)
		if n != i {
			list[n] = *r
		}
		n++
	}
	clear(list[n:])
	a.byUnder[u] = list[:n]
	a.wake[u] = wake
}

// stepShadow monitors one shadow like monitor does a real position: the
// dte_floor, then its trailing stop; an exit fills at once when every leg
// has a fresh quote, else waits for one.
func (e *Engine) stepShadow(sh *shadow) (ended bool) {
	pos := &sh.pos
	if e.now >= pos.Expiry {
		return false // settles at expiry
	}
	if sh.wanted == "" {
		if e.now >= sh.floorAt {
			sh.wanted = EndDTEFloor
		} else if !sh.stopped {
			return false // held: nothing to look at before the floor
		} else {
			bid, ask := e.netQuote(pos)
			if e.attr.stops.UpdateStop(sh.stop, bid, ask, utc(e.now)) == risk.Exit {
				sh.wanted = EndTrailingStop
				if math.IsNaN(sh.stop.Best()) {
					sh.wanted = EndStopLoss
				}
			}
		}
	}
	if sh.wanted == "" || !e.allFresh(pos) {
		return false
	}
	price, _ := e.fillPrice(pos, !pos.Long)
	sh.cash += e.tradeCash(pos, !pos.Long, price)
	e.endShadow(sh, sh.wanted)
	return true
}

// settleShadows settles every shadow whose options expired before t as
// expire settles real positions (whose expiry runs before the next
// instant's quotes): the settlement price of its style, later legs of a
// calendar at their mark.
func (e *Engine) settleShadows(t int64) {
	a := e.attr
	if a == nil || t <= a.nextExpiry {
		return
	}
	a.nextExpiry = math.MaxInt64
	for u, list := range a.byUnder {
		kept := list[:0]
		for _, r := range list {
			sh := r.sh
			if sh.pos.Expiry >= t {
				kept = append(kept, r)
				a.nextExpiry = min(a.nextExpiry, sh.pos.Expiry)
				continue
			}
			spot, _ := e.settlementSpot(&sh.pos) // as expire settles real positions
			for _, l := range sh.pos.Legs() {
				sh.cash += float64(l.qty) * e.settleLeg(&sh.pos, l, spot) * sh.pos.Mult
			}
			e.endShadow(sh, EndExpiry)
		}
		clear(list[len(kept):])
		a.byUnder[u] = kept
	}
}

// final reports whether d's row can no longer change: its counterfactual
// has ended and its actual position (if any) is closed.
func (d *decision) final() bool {
	return (d.sh == nil || d.sh.done) && (d.pos == nil || d.pos.state == posClosed)
}

// fix fills in d's counterfactual, actual P&L and saving from the current
// state (final, or the end of the run: positions still open are marked).
func (e *Engine) fix(d *decision) {
	if sh := d.sh; sh != nil {
		if !sh.done {
			sh.cash += e.marketValue(&sh.pos)
			sh.done, sh.ending = true, EndOfRun
		}
		d.Counterfactual, d.Ending = sh.cash, sh.ending
	}
	if p := d.pos; p != nil {
		d.Actual = p.cash
		if p.state != posClosed {
			d.Actual += e.marketValue(p)
		}
	}
	d.Saved = d.Actual - d.Counterfactual
}

// emitDecision hands a fixed decision's row on: to Engine.OnDecision, or
// to Result.Attribution without one.
func (e *Engine) emitDecision(d *decision) error {
	if e.OnDecision == nil {
		e.res.Attribution = append(e.res.Attribution, d.Decision)
		return nil
	}
	if err := e.OnDecision(d.Decision); err != nil {
		return fmt.Errorf("sim: recording attribution: %w", err)
	}
	return nil
}

// flushDecisions hands on the longest prefix of the open decisions that
// are final, in decision order, and forgets them (and their shadows): the
// rows come out in the same order as at the end of the run, while only
// decisions still open (or behind one) stay in memory. It costs one look
// at the first open decision when there is nothing to hand on.
func (e *Engine) flushDecisions() error {
	a := e.attr
	if a == nil || len(a.open) == 0 || !a.open[0].final() {
		return nil
	}
	n := 0
	for _, d := range a.open {
		if !d.final() {
			break
		}
		e.fix(d)
		if err := e.emitDecision(d); err != nil {
			return err
		}
		n++
	}
	k := copy(a.open, a.open[n:])
	clear(a.open[k:])
	a.open = a.open[:k]
	return nil
}

// finishAttribution settles the shadows due before the period's end, marks
// the rest, and fills in every open decision's actual P&L and saving
// (after the trades are collected, on the same marks).
func (e *Engine) finishAttribution() error {
	a := e.attr
	if a == nil {
		return nil
	}
	e.settleShadows(e.end)
	for _, d := range a.open {
		e.fix(d)
		if err := e.emitDecision(d); err != nil {
			return err
		}
	}
	a.open = nil
	e.res.ShadowsMax = int64(a.max)
	return nil
}
