package runner

import (
	"encoding/json"
	"fmt"
	"maps"
	"time"

	"github.com/optionsrisk/backtest/feeds"
	"github.com/optionsrisk/backtest/lake"
	"github.com/optionsrisk/backtest/reports"
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
		Commission: f.Commission, Status: f.Status, Reason: f.Reason, Multiplier: f.Multiplier, MidPrice: f.MidPrice,
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
		UnderlyingPrice: p.UnderlyingPrice, ModelMarks: p.ModelMarks,
	})
}

func optTime(us int64) (t time.Time) {
	if us == 0 {
		return t
	}
	return feeds.MicrosTime(us)
}

// tradeWriter hands each trades row to the trades table as the engine
// delivers them (Engine.OnTrade: in table order, as soon as a row's place
// is known): the run keeps no closed position longer than it must.
func tradeWriter(w *lake.Writer[lake.TradeRow], runID string) func(sim.Trade) error {
	return func(t sim.Trade) error {
		side := "short"
		if t.Long {
			side = "long"
		}
		if err := w.Write(lake.TradeRow{
			RunID: runID, ExecutionID: t.ExecutionID, Symbol: t.Symbol, Structure: t.Structure, Side: side,
			Contract: t.Contract, Legs: legsJSON(t.Legs), Width: t.Width, Qty: t.Qty, Multiplier: t.Multiplier,
			EntryPremium: t.EntryPremium, ExitPremium: t.ExitPremium, MaxLoss: t.MaxLoss, PnL: t.PnL,
			ExitReason: t.ExitReason, OpenedAt: optTime(t.OpenedAt), ClosedAt: optTime(t.ClosedAt),
		}); err != nil {
			return fmt.Errorf("runner: trades: %w", err)
		}
		return nil
	}
}

// attributionWriter hands each attributed risk decision to the
// attribution table as soon as the engine knows it is final (in decision
// order, as Engine.OnDecision delivers them): the run keeps only the
// decisions still open in memory.
func attributionWriter(w *lake.Writer[lake.AttributionRow], runID string) func(sim.Decision) error {
	return func(d sim.Decision) error {
		if err := w.Write(lake.AttributionRow{
			RunID: runID, Seq: d.Seq, EventTime: feeds.MicrosTime(d.Time), Component: d.Component, EventType: d.Event,
			Rule: d.Rule, ExecutionID: d.ExecutionID, Contract: d.Contract, ActualPnL: d.Actual,
			CounterfactualPnL: d.Counterfactual, Saved: d.Saved, CounterfactualEnd: d.Ending,
		}); err != nil {
			return fmt.Errorf("runner: attribution: %w", err)
		}
		return nil
	}
}

// legsJSON is a trade's legs as a JSON array, keys in a fixed order.
func legsJSON(legs []sim.TradeLeg) string {
	if len(legs) == 0 {
		return ""
	}
	type legJSON struct {
		Contract string  `json:"contract"`
		Qty      int64   `json:"qty"`
		Right    string  `json:"right"`
		Strike   float64 `json:"strike"`
		Expiry   string  `json:"expiry"`
	}
	out := make([]legJSON, len(legs))
	for i, l := range legs {
		out[i] = legJSON{Contract: l.Contract, Qty: l.Qty, Right: l.Right, Strike: l.Strike, Expiry: feeds.MicrosTime(l.Expiry).Format(time.RFC3339)}
	}
	b, _ := json.Marshal(out)
	return string(b)
}

// signalCounts is the report form of the simulator's signal outcomes.
func signalCounts(s sim.SignalOutcomes) *reports.SignalCounts {
	c := &reports.SignalCounts{
		Total: s.Total, Opened: s.Opened, NoQuote: s.NoQuote, NoContract: s.NoContract, MaxOpen: s.MaxOpen,
		Limits: s.Limits, Breaker: s.Breaker, Broker: s.Broker, Condition: s.Condition,
	}
	if len(s.NoContractBy) > 0 {
		c.NoContractBy = maps.Clone(s.NoContractBy)
	}
	return c
}
