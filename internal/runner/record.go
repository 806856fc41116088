package runner

import (
	"time"

	"github.com/optionsrisk/backtest/feeds"
	"github.com/optionsrisk/backtest/lake"
	"github.com/optionsrisk/backtest/risk"
	"github.com/optionsrisk/backtest/sim"
)

// countingSink counts events by component and type, then passes them on.
type countingSink struct {
	next   risk.Sink
	counts EventCounts
}

func (c *countingSink) Emit(e risk.Event) {
	comp := e.Component.String()
	m := c.counts[comp]
	if m == nil {
		m = map[string]int64{}
		c.counts[comp] = m
	}
	m[e.Type.String()]++
	c.next.Emit(e)
}

// recorder writes the simulation's fills and equity snapshots to their Delta
// tables. A failure of any writer, the risk event writer included, stops the
// run at the next row.
type recorder struct {
	runID  string
	fills  *lake.Writer[lake.FillRow]
	equity *lake.Writer[lake.EquityRow]
	events *lake.EventWriter
}

func (r *recorder) Fill(f sim.Fill) error {
	if err := r.events.Err(); err != nil {
		return err
	}
	return r.fills.Write(lake.FillRow{
		RunID: r.runID, Seq: f.Seq, OrderTime: feeds.MicrosTime(f.OrderTime), FillTime: optTime(f.FillTime),
		ExecutionID: f.ExecutionID, Symbol: f.Symbol, Contract: f.Contract, Side: f.Side, Intent: f.Intent,
		Qty: f.Qty, RequestedPrice: f.RequestedPrice, FillPrice: f.FillPrice, Slippage: f.Slippage,
		Commission: f.Commission, Status: f.Status, Reason: f.Reason, Multiplier: f.Multiplier,
	})
}

func (r *recorder) Equity(p sim.EquityPoint) error {
	if err := r.events.Err(); err != nil {
		return err
	}
	return r.equity.Write(lake.EquityRow{
		RunID: r.runID, Time: feeds.MicrosTime(p.Time), Equity: p.Equity, Cash: p.Cash,
		RealizedPnL: p.RealizedPnL, UnrealizedPnL: p.UnrealizedPnL, PortfolioDelta: p.Delta,
		PortfolioGamma: p.Gamma, Drawdown: p.Drawdown, OpenPositions: p.OpenPositions,
		UnderlyingPrice: p.UnderlyingPrice,
	})
}

func optTime(us int64) (t time.Time) {
	if us == 0 {
		return t
	}
	return feeds.MicrosTime(us)
}
