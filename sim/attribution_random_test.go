package sim_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/optionsrisk/backtest/feeds"
	"github.com/optionsrisk/backtest/risk"
	"github.com/optionsrisk/backtest/scenarios"
	"github.com/optionsrisk/backtest/sim"
)

// runAttribution runs l in memory with attribution on or off and returns
// the result and a text form of every actual row (fills, equity, events).
func runAttribution(t *testing.T, l *scenarios.Loaded, off bool) (sim.Result, string) {
	t.Helper()
	src, err := feeds.NewSynthetic(*l.Feed.Synthetic, l.Seed)
	if err != nil {
		t.Fatal(err)
	}
	sink := &risk.MemorySink{}
	rm, err := risk.NewManager(l.Risk, sink)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := l.SimConfig()
	if err != nil {
		t.Fatal(err)
	}
	cfg.NoAttribution = off
	rec := &sim.MemoryRecorder{}
	e, err := sim.New(cfg, src, rm, rec, rand.New(rand.NewPCG(l.Seed, 7)))
	if err != nil {
		t.Fatal(err)
	}
	e.EventSeq = func() int64 { return int64(len(sink.Events)) }
	res, err := e.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	attr, shadows := res.Attribution, res.ShadowsMax
	res.Attribution, res.ShadowsMax = nil, 0
	actual := fmt.Sprintf("%+v\n%+v\n%+v\n%+v", res, rec.Fills, rec.Points, sink.Events)
	res.Attribution, res.ShadowsMax = attr, shadows
	return res, actual
}

// TestAttributionInvariantsRandom: over seeded random scenarios, the actual
// run is identical with attribution on and off, reruns give the same
// decisions, every decision's saving is actual − counterfactual, and a
// stop's or blocked exit's actual P&L is its trade's.
func TestAttributionInvariantsRandom(t *testing.T) {
	seeds := 8
	if testing.Short() {
		seeds = 3
	}
	total := 0
	for i := range seeds {
		seed := uint64(2000 + i)
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			l := randomScenario(t, rand.New(rand.NewPCG(seed, 0)))
			on, actualOn := runAttribution(t, l, false)
			off, actualOff := runAttribution(t, l, true)
			if actualOn != actualOff {
				t.Fatal("the actual run differs with attribution on and off")
			}
			if len(off.Attribution) != 0 {
				t.Fatalf("attribution off computed %d decisions", len(off.Attribution))
			}
			again, _ := runAttribution(t, l, false)
			if fmt.Sprintf("%+v", again.Attribution) != fmt.Sprintf("%+v", on.Attribution) {
				t.Fatal("attribution differs between two runs")
			}
			pnl := map[string]float64{}
			for _, tr := range on.Trades {
				pnl[tr.ExecutionID] = tr.PnL
			}
			byKind := map[string]int{}
			for _, d := range on.Attribution {
				byKind[d.Component+"/"+d.Event]++
				if d.Saved != d.Actual-d.Counterfactual || d.Ending == "" || d.Seq <= 0 {
					t.Fatalf("decision %+v: saved, ending or seq wrong", d)
				}
				if d.Event != "rejected" && d.Rule != "entry" && d.Actual != pnl[d.ExecutionID] {
					t.Fatalf("decision %+v: actual %v, trade P&L %v", d, d.Actual, pnl[d.ExecutionID])
				}
				if (d.Event == "rejected" || d.Rule == "entry") && d.Actual != 0 {
					t.Fatalf("refused entry %+v has an actual P&L", d)
				}
			}
			total += len(on.Attribution)
			t.Logf("seed %d: %d decisions %v, at most %d shadows alive", seed, len(on.Attribution), byKind, on.ShadowsMax)
		})
	}
	if total == 0 {
		t.Fatal("no decision attributed in any random scenario")
	}
}
