package sim

import (
	"math"
	"testing"
	"time"

	"github.com/optionsrisk/backtest/feeds"
	"github.com/optionsrisk/backtest/risk"
)

// A recorded iron condor (four rows sharing an execution id and a time per
// order, listed out of order) replays as one four-leg position: one entry
// and one exit row at the net prices, a trade with its structure, width
// and max loss, cash flows per leg.
func TestReplayRecordedCondor(t *testing.T) {
	cs := []feeds.Contract{put(90, 15), put(85, 15), call(110, 15), call(115, 15)}
	src := chainFeed(cs, []int{4, 5, 6}, func(k int, tm time.Time) (feeds.Quote, bool) {
		mids := []float64{1.0, 0.4, 0.9, 0.3}
		return feeds.Quote{Bid: mids[k] - 0.05, Ask: mids[k] + 0.05, UnderlyingPrice: 100, IV: 0.2, Delta: []float64{-0.2, -0.1, 0.2, 0.1}[k], Gamma: 0.01}, true
	})
	r := func(day, h, m int, c feeds.Contract, side string, px float64) RecordedFill {
		return RecordedFill{Time: at(day, h, m, 0).UTC(), ExecutionID: "IC1", Contract: c.Symbol, Side: side, Qty: 2, Price: px, Status: StatusFilled}
	}
	cfg := baseConfig()
	cfg.Strategy = StrategyConfig{Replay: &ReplayConfig{Fills: []RecordedFill{
		r(5, 11, 0, cs[0], "buy", 0.50), r(5, 11, 0, cs[1], "sell", 0.20), r(5, 11, 0, cs[2], "buy", 0.40), r(5, 11, 0, cs[3], "sell", 0.10),
		r(4, 10, 0, cs[0], "sell", 1.00), r(4, 10, 0, cs[1], "buy", 0.40), r(4, 10, 0, cs[2], "sell", 0.90), r(4, 10, 0, cs[3], "buy", 0.30),
	}}}
	res, rec, _ := runScripted(t, cfg, src, risk.Settings{})
	if len(rec.Fills) != 2 {
		t.Fatalf("fills %+v, want one entry and one exit", rec.Fills)
	}
	entry, exit := rec.Fills[0], rec.Fills[1]
	label := cs[0].Symbol + "/" + cs[1].Symbol + "/" + cs[2].Symbol + "/" + cs[3].Symbol
	if entry.Contract != label || entry.Side != "sell" || entry.Qty != 2 || !almost(entry.FillPrice, 1.2) || entry.Commission != 4 {
		t.Errorf("entry %+v: want the condor sold for 1.20 net, 8 contracts of commission", entry)
	}
	if exit.Intent != "exit" || exit.Side != "buy" || !almost(exit.FillPrice, 0.6) || exit.Reason != "recorded fill" {
		t.Errorf("exit %+v: want the condor bought back for 0.60", exit)
	}
	if len(res.Trades) != 1 {
		t.Fatalf("trades %+v", res.Trades)
	}
	tr := res.Trades[0]
	// (1.20 − 0.60) × 2 × 100 − 2 × 8 × 0.50 commission.
	if tr.Structure != StructIronCondor || len(tr.Legs) != 4 || tr.Width != 5 || !almost(tr.MaxLoss, (5-1.2)*200) ||
		!almost(tr.PnL, 120-8) || tr.ExitReason != "recorded_exit" || tr.Legs[0].Qty != -1 || tr.Legs[1].Qty != 1 {
		t.Errorf("trade %+v", tr)
	}
	if !almost(res.Final.Cash, cfg.Capital+112) || math.Abs(res.Final.Equity-res.Final.Cash) > 1e-9 {
		t.Errorf("final %+v: want cash = capital + 112 and nothing open", res.Final)
	}
	if res.Signals.Total != 1 || res.Signals.Opened != 1 {
		t.Errorf("signals %+v", res.Signals)
	}
}
