package sim

import (
	"fmt"
	"slices"
	"strings"

	"github.com/optionsrisk/backtest/feeds"

	"github.com/optionsrisk/backtest/risk"
)

// replayState is the replay strategy's progress through the log.
type replayState struct {
	rows    []RecordedFill   // sorted by time, log order kept for ties
	execs   [][]RecordedFill // rows grouped into orders: same time, execution id and status
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
	e.replay.execs = groupExecutions(rows)
	e.scheduleReplay()
}

// groupExecutions groups time-sorted rows into orders: the rows of one
// execution id with the same time and status are the legs of one order
// (a multi-leg structure), in log order; orders keep the order of their
// first row.
func groupExecutions(rows []RecordedFill) [][]RecordedFill {
	var out [][]RecordedFill
	for i := 0; i < len(rows); {
		j := i
		for j < len(rows) && rows[j].Time.Equal(rows[i].Time) {
			j++
		}
		var idx []int // groups of this instant, by first appearance
		for k := i; k < j; k++ {
			r := rows[k]
			found := false
			for _, g := range idx {
				if out[g][0].ExecutionID == r.ExecutionID && out[g][0].Status == r.Status {
					out[g] = append(out[g], r)
					found = true
					break
				}
			}
			if !found {
				idx = append(idx, len(out))
				out = append(out, []RecordedFill{r})
			}
		}
		i = j
	}
	return out
}

// scheduleReplay puts the next log row on the schedule.
func (e *Engine) scheduleReplay() {
	rs := e.replay
	for rs.next < len(rs.execs) {
		at := rs.execs[rs.next][0].Time.UnixMicro()
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
	rows := rs.execs[rs.next]
	row := rows[0]
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
		if pos = e.replayPosition(rows); pos == nil {
			sig.NoQuote++
			return nil
		}
	}
	if !exit && row.Status == StatusFilled {
		delta, gamma := e.greeks(pos)
		dec := e.rm.CheckEntry(now, e.exposure(), risk.EntryRequest{
			ExecutionID: pos.ExecID, Symbol: pos.Symbol, Contract: pos.Contract,
			Delta: delta, Gamma: gamma, Value: e.riskValue(pos, e.replayNet(pos, rows)),
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
		return e.record(e.orderRow(pos, exit, e.now, StatusBlocked, why, e.replayNet(pos, rows)))
	}
	if row.Status == StatusRejected {
		reason := fmt.Sprintf("recorded broker reject of %s", id)
		if !exit {
			sig.Broker++
		}
		e.rm.RecordFailure(now, reason)
		e.scheduleWake()
		return e.record(e.orderRow(pos, exit, e.now, StatusRejected, reason, e.replayNet(pos, rows)))
	}
	if !exit {
		rs.open[id] = pos
	}
	return e.replayFill(pos, rows, exit)
}

// replayPosition builds the position an order's rows are about, or nil
// (counted) when the feed has not quoted one of its contracts. Each row is
// a leg; the first row's side sets the structure's side (bought: long);
// units are the greatest common divisor of the legs' quantities.
func (e *Engine) replayPosition(rows []RecordedFill) *Position {
	if len(rows) > maxLegs {
		e.replay.Unquoted++ // not a structure this simulator holds
		return nil
	}
	var legs [maxLegs]leg
	var units int64
	for k, r := range rows {
		id, ok := e.pf.contracts.Lookup(r.Contract)
		if !ok || e.pf.quote(id).Time == 0 || used(legs[:k], id) {
			e.replay.Unquoted++
			return nil
		}
		legs[k].id = id
		units = gcd(units, r.Qty)
	}
	long := rows[0].Side == "buy"
	for k, r := range rows {
		n := float64(r.Qty / units)
		if r.Side == "sell" {
			n = -n
		}
		legs[k].ratio = n
	}
	ls := legs[:len(rows)]
	for k := range ls {
		c := e.pf.contract(ls[k].id)
		ls[k].strike, ls[k].call, ls[k].expiry = c.Strike, c.Right == feeds.Call, c.Expiry.UnixMicro()
	}
	return e.newPosition(rows[0].ExecutionID, nameOf(ls), long, units, ls)
}

func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// replayNet is the net premium per share of pos at an order's recorded
// leg prices; a leg the rows do not price counts at its mark.
func (e *Engine) replayNet(pos *Position, rows []RecordedFill) float64 {
	v := 0.0
	for _, l := range pos.Legs() {
		v += l.ratio * e.replayPrice(pos, l, rows)
	}
	return pos.sign() * v
}

// replayPrice is leg l's recorded price in rows, else its mark.
func (e *Engine) replayPrice(pos *Position, l leg, rows []RecordedFill) float64 {
	sym := legSymbol(pos, l)
	for _, r := range rows {
		if r.Contract == sym {
			return r.Price
		}
	}
	return e.markLeg(l.id).mid
}

// legSymbol is the OCC symbol of leg l of pos (from its contract label).
func legSymbol(pos *Position, l leg) string {
	for k, x := range pos.Legs() {
		if x.id == l.id {
			return splitLabel(pos.Contract, k)
		}
	}
	return ""
}

func splitLabel(s string, k int) string {
	for range k {
		i := strings.IndexByte(s, '/')
		if i < 0 {
			return ""
		}
		s = s[i+1:]
	}
	if i := strings.IndexByte(s, '/'); i >= 0 {
		return s[:i]
	}
	return s
}

// replayFill books a recorded order at its legs' prices and time.
func (e *Engine) replayFill(pos *Position, rows []RecordedFill, exit bool) error {
	e.res.Orders++
	var contracts int64
	amount := 0.0
	for _, l := range pos.Legs() {
		contracts += abs(l.qty)
		qty := l.qty
		if exit {
			qty = -qty
		}
		amount += -float64(qty) * e.replayPrice(pos, l, rows) * pos.Mult
	}
	c := e.cfg.Broker.CommissionPerContract * float64(contracts)
	e.pf.flow(pos, amount-c)
	net := e.replayNet(pos, rows)
	f := e.orderRow(pos, exit, e.now, StatusFilled, "recorded fill", net)
	f.FillTime, f.FillPrice, f.Slippage, f.Commission = e.now, net, 0, c
	reason := "recorded_exit"
	if !exit {
		reason = "recorded fill"
	}
	return e.filled(pos, exit, net, reason, f)
}
