package sim

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/optionsrisk/backtest/risk"
)

// replayState is the replay strategy's progress through the log.
type replayState struct {
	rows    []RecordedFill // sorted by time, log order kept for ties
	next    int
	open    map[string]*Position // execution id → position opened from the log
	refused map[string]bool      // entries the risk layers refused

	ExitsPreempted int64
	Unquoted       int64
}

// ReplayStats summarises a replay: recorded exits that found the position
// already closed by a stop, rows whose contract the feed had not quoted by
// their time, and entries the risk layers refused.
type ReplayStats struct {
	ExitsPreempted, Unquoted, Refused int64
}

func (e *Engine) initReplay() {
	r := e.cfg.Strategy.Replay
	if r == nil {
		return
	}
	rows := slices.Clone(r.Fills)
	slices.SortStableFunc(rows, func(a, b RecordedFill) int { return a.Time.Compare(b.Time) })
	e.replay = &replayState{rows: rows, open: map[string]*Position{}, refused: map[string]bool{}}
	e.scheduleReplay()
}

// scheduleReplay puts the next log row on the schedule.
func (e *Engine) scheduleReplay() {
	rs := e.replay
	for rs.next < len(rs.rows) {
		at := rs.rows[rs.next].Time.UnixMicro()
		if at < e.start {
			rs.next++
			continue
		}
		if at < e.end {
			e.sched.add(item{at: at, class: classEntry})
		}
		return
	}
}

// replayRow handles the log row due now. Every recorded order passes the
// breaker as it would have live: a refused one is a blocked row (and, for an
// exit, a retry through the simulated broker once the breaker admits one);
// an admitted recorded reject is a failure, an admitted fill a success.
// Rows of an execution whose entry these settings refused, or whose
// position is already closed, did not happen here and are skipped.
func (e *Engine) replayRow() error {
	rs := e.replay
	row := rs.rows[rs.next]
	rs.next++
	defer e.scheduleReplay()
	now := utc(e.now)
	id := row.ExecutionID
	if rs.refused[id] {
		return nil // the entry never happened under these settings
	}
	pos := rs.open[id]
	if pos != nil && pos.state != posOpen {
		if row.Status == StatusFilled && pos.ExitReason != "recorded_exit" {
			rs.ExitsPreempted++ // a stop (or expiry) closed it, or is closing it, first
		}
		return nil
	}
	exit := pos != nil
	sig := &e.res.Signals
	if !exit {
		sig.Total++ // a replayed entry is an entry signal
		if pos = e.replayPosition(row); pos == nil {
			sig.NoQuote++
			return nil
		}
	}
	if !exit && row.Status == StatusFilled {
		delta, gamma := e.greeks(pos)
		dec := e.rm.CheckEntry(now, e.exposure(), risk.EntryRequest{
			ExecutionID: pos.ExecID, Symbol: pos.Symbol, Contract: pos.Contract,
			Delta: delta, Gamma: gamma, Value: e.riskValue(pos, row.Price),
		})
		if !dec.Allowed {
			sig.Limits++
			rs.refused[id] = true
			return nil
		}
	}
	ok, why := e.rm.Allow(now)
	e.scheduleWake()
	if !ok {
		switch {
		case exit && row.Status == StatusFilled:
			pos.exitWanted = "recorded_exit" // sold later through the simulated broker
			e.attrBlockedExit(pos)
		case !exit && row.Status == StatusFilled:
			rs.refused[id] = true
		}
		if !exit {
			sig.Breaker++
		}
		return e.record(e.orderRow(pos, exit, e.now, StatusBlocked, why, row.Price))
	}
	if row.Status == StatusRejected {
		reason := fmt.Sprintf("recorded broker reject of %s", id)
		if !exit {
			sig.Broker++
		}
		e.rm.RecordFailure(now, reason)
		e.scheduleWake()
		return e.record(e.orderRow(pos, exit, e.now, StatusRejected, reason, row.Price))
	}
	if !exit {
		rs.open[id] = pos
	}
	return e.replayFill(pos, row, exit)
}

// replayPosition builds the position a log row is about, or nil (counted)
// when the feed has not quoted its contract.
func (e *Engine) replayPosition(row RecordedFill) *Position {
	id, ok := e.pf.contracts.Lookup(row.Contract)
	if !ok || e.pf.quote(id).Time == 0 {
		e.replay.Unquoted++
		return nil
	}
	c := e.pf.contracts.Get(id)
	long := row.Side == "buy"
	sign := int64(-1)
	if long {
		sign = 1
	}
	e.posSeq++
	pos := &Position{
		ExecID: row.ExecutionID, Symbol: c.Underlying, Contract: c.Symbol, Long: long, Qty: row.Qty,
		Mult: cmp.Or(c.Multiplier, 100), Expiry: c.Expiry.UnixMicro(), seq: e.posSeq, nlegs: 1,
	}
	pos.legs[0] = leg{id: id, qty: sign * row.Qty}
	return pos
}

// replayFill books a recorded fill at its price and time.
func (e *Engine) replayFill(pos *Position, row RecordedFill, exit bool) error {
	e.res.Orders++
	qty := pos.legs[0].qty
	if exit {
		qty = -qty
	}
	c := e.cfg.Broker.CommissionPerContract * float64(pos.Qty)
	e.pf.flow(pos, -float64(qty)*row.Price*pos.Mult-c)
	f := e.orderRow(pos, exit, e.now, StatusFilled, "recorded fill", row.Price)
	f.FillTime, f.FillPrice, f.Slippage, f.Commission = e.now, row.Price, 0, c
	reason := "recorded_exit"
	if !exit {
		reason = "recorded fill"
	}
	return e.filled(pos, exit, row.Price, reason, f)
}
