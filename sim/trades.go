package sim

import "github.com/optionsrisk/backtest/feeds"

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
		c := e.pf.contracts.Get(l.id)
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
