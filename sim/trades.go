package sim

import (
	"fmt"
	"slices"

	"github.com/optionsrisk/backtest/feeds"
)

// This file owns the trades table's rows: one per position that opened,
// sorted by OpenedAt (ties: closed positions in close order, then those
// still open in open order). A closed position's row is handed on as soon
// as no position opened at or before it can still come before it
// (flushTrades), so the closed positions a run keeps are only those opened
// after its oldest open position.

// trade is pos's row of the trades table (PnL is the cash booked so far;
// the caller adds the open value of a position still open).
func (e *Engine) trade(pos *Position) Trade {
	t := Trade{
		ExecutionID: pos.ExecID, Symbol: pos.Symbol, Contract: pos.Contract, Long: pos.Long, Qty: pos.Qty,
		OpenedAt: pos.OpenedAt, ClosedAt: pos.ClosedAt, EntryPremium: pos.EntryPremium,
		ExitPremium: pos.ExitPremium, ExitReason: pos.ExitReason, PnL: pos.cash,
		Structure: pos.Structure, Width: pos.Width, MaxLoss: e.maxLoss(pos), Multiplier: pos.Mult,
	}
	for _, l := range pos.Legs() {
		c := e.pf.contract(l.id)
		right := "put"
		if c.Right == feeds.Call {
			right = "call"
		}
		t.Legs = append(t.Legs, TradeLeg{
			Contract: c.Symbol, Qty: l.qty / pos.Qty, Right: right, Strike: c.Strike, Expiry: c.Expiry.UnixMicro(),
		})
	}
	return t
}

// emitTrade hands a trades row on: to Engine.OnTrade, or to Result.Trades
// without one.
func (e *Engine) emitTrade(t Trade) error {
	e.res.TradeCount++
	if e.OnTrade == nil {
		e.res.Trades = append(e.res.Trades, t)
		return nil
	}
	if err := e.OnTrade(t); err != nil {
		return fmt.Errorf("sim: recording trade: %w", err)
	}
	return nil
}

// flushTrades hands on the rows of the closed positions opened before both
// now and the oldest open position (open order is OpenedAt order: fills
// happen at the current instant, which never goes back). Every position not
// handed on, including those opened later, sorts after them.
func (e *Engine) flushTrades() error {
	p := e.pf
	if !p.closedNew || len(p.closed) == 0 {
		return nil
	}
	bound := e.now
	if len(p.open) > 0 {
		bound = min(bound, p.open[0].OpenedAt)
	}
	var due []*Position
	kept := p.closed[:0]
	for _, pos := range p.closed {
		if pos.OpenedAt < bound {
			due = append(due, pos)
		} else {
			kept = append(kept, pos)
		}
	}
	clear(p.closed[len(kept):])
	p.closed = kept
	// Positions left waiting only for the clock (none open before them)
	// are looked at again on the next flush.
	p.closedNew = len(kept) > 0 && bound == e.now
	slices.SortStableFunc(due, func(a, b *Position) int { return cmpInt(a.OpenedAt, b.OpenedAt) })
	for _, pos := range due {
		if err := e.emitTrade(e.trade(pos)); err != nil {
			return err
		}
	}
	return nil
}

// finishTrades hands on the rows of every position not handed on yet,
// those still open marked at the end.
func (e *Engine) finishTrades() error {
	var ts []Trade
	for _, pos := range slices.Concat(e.pf.closed, e.pf.open) {
		t := e.trade(pos)
		if pos.state != posClosed {
			t.PnL = pos.cash + e.marketValue(pos)
			t.ExitPremium = nan
		}
		ts = append(ts, t)
	}
	e.pf.closed = nil
	slices.SortStableFunc(ts, func(a, b Trade) int { return cmpInt(a.OpenedAt, b.OpenedAt) })
	for _, t := range ts {
		if err := e.emitTrade(t); err != nil {
			return err
		}
	}
	return nil
}
