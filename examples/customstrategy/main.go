// Command customstrategy shows the simulator's Go interface: it builds the
// engine from its packages (scenarios, feeds, risk, sim), replaces the
// scenario's declarative strategy by one written in Go (sim.Strategy), and
// replays the built-in calm_2019 scenario's synthetic feed through the risk
// layers. Its output is deterministic: same scenario and seed, same lines.
//
//	go run -tags=duckdb_arrow ./examples/customstrategy
package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"time"

	"github.com/optionsrisk/backtest/feeds"
	"github.com/optionsrisk/backtest/risk"
	"github.com/optionsrisk/backtest/scenarios"
	"github.com/optionsrisk/backtest/sim"
)

// dipOrCondor sells a put vertical after a down day and an iron condor on
// quiet days, at most six positions, and closes at half the credit kept, at
// a loss of one credit, or on the Friday afternoon before the last week.
type dipOrCondor struct {
	vertical, condor sim.StructureConfig // kept by value: the engine caches plans by pointer
}

func newDipOrCondor() *dipOrCondor {
	return &dipOrCondor{
		vertical: sim.StructureConfig{Type: sim.StructVertical, Side: "short", Delta: 0.30, Width: 5, DTE: [2]int{14, 45}},
		condor:   sim.StructureConfig{Type: sim.StructIronCondor, Side: "short", Delta: 0.16, Width: 5, DTE: [2]int{14, 45}},
	}
}

// Entry decides on each scheduled signal.
func (s *dipOrCondor) Entry(m *sim.Market) (sim.EntryDecision, error) {
	v := m.Vars()
	switch {
	case m.Open() >= 6:
		return sim.EntryDecision{}, nil
	case v.Ret1D < -0.005:
		return sim.EntryDecision{Open: true, Structure: &s.vertical, Qty: 2}, nil
	case v.Minute >= 14*60 && v.VIX < 20:
		return sim.EntryDecision{Open: true, Structure: &s.condor, Qty: 1}, nil
	}
	return sim.EntryDecision{}, nil
}

// Exit runs on every monitoring of an open position, before the stops.
func (s *dipOrCondor) Exit(m *sim.Market, p *sim.PositionView) (string, error) {
	credit := p.EntryPremium
	switch {
	case p.Ask <= credit/2:
		return "half_credit", nil
	case p.Ask >= 2*credit:
		return "one_credit_lost", nil
	case p.DTE() <= 7 && m.Now().Weekday() == time.Friday && m.Vars().Minute >= 15*60:
		return "friday_before_expiry", nil
	}
	return "", nil
}

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "customstrategy:", err)
		os.Exit(1)
	}
}

// run replays calm_2019 with dipOrCondor and prints a summary.
func run(ctx context.Context, w io.Writer) error {
	l, err := scenarios.Load("calm_2019", nil)
	if err != nil {
		return err
	}
	cfg, err := l.SimConfig()
	if err != nil {
		return err
	}
	src, err := feeds.NewSynthetic(*l.Feed.Synthetic, l.Seed)
	if err != nil {
		return err
	}
	defer src.Close()
	events := &risk.MemorySink{}
	rm, err := risk.NewManager(l.Risk, events)
	if err != nil {
		return err
	}
	rec := &sim.MemoryRecorder{}
	e, err := sim.New(cfg, src, rm, rec, rand.New(rand.NewPCG(l.Seed, 7)))
	if err != nil {
		return err
	}
	e.UseStrategy(newDipOrCondor())
	res, err := e.Run(ctx)
	if err != nil {
		return err
	}
	s := res.Signals
	fmt.Fprintf(w, "scenario %s: %d quotes, %d risk events\n", l.Name, res.Quotes, len(events.Events))
	fmt.Fprintf(w, "signals %d: opened %d, declined by the strategy %d, no contract %d, limits %d, breaker %d, broker %d\n",
		s.Total, s.Opened, s.Condition, s.NoContract, s.Limits, s.Breaker, s.Broker)
	by := map[string]int{}
	pnl := map[string]float64{}
	var keys []string
	for _, t := range res.Trades {
		k := t.Structure + " " + t.ExitReason
		if t.ExitReason == "" {
			k = t.Structure + " (open)"
		}
		if by[k] == 0 {
			keys = append(keys, k)
		}
		by[k]++
		pnl[k] += t.PnL
	}
	slices.Sort(keys)
	fmt.Fprintf(w, "trades %d\n", len(res.Trades))
	for _, k := range keys {
		fmt.Fprintf(w, "  %-40s %3d  P&L %+10.2f\n", k, by[k], pnl[k])
	}
	fmt.Fprintf(w, "final equity %.2f, max drawdown %.2f%%\n", res.Final.Equity, 100*res.MaxDrawdown)
	return nil
}
