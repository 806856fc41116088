package sim_test

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/optionsrisk/backtest/feeds"
	"github.com/optionsrisk/backtest/risk"
	"github.com/optionsrisk/backtest/scenarios"
	"github.com/optionsrisk/backtest/sim"
)

// BenchmarkAttribution runs spy_crash end to end in memory with attribution
// on and off: the difference is attribution's cost (the bound: at
// most 30 % of the run time).
func BenchmarkAttribution(b *testing.B) {
	l, err := scenarios.Load("spy_crash", nil)
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		off  bool
	}{{"off", true}, {"on", false}} {
		b.Run(tc.name, func(b *testing.B) {
			cfg, err := l.SimConfig()
			if err != nil {
				b.Fatal(err)
			}
			cfg.NoAttribution = tc.off
			var decisions, shadows int64
			for b.Loop() {
				src, err := feeds.NewSynthetic(*l.Feed.Synthetic, l.Seed)
				if err != nil {
					b.Fatal(err)
				}
				rm, err := risk.NewManager(l.Risk, &risk.MemorySink{})
				if err != nil {
					b.Fatal(err)
				}
				e, err := sim.New(cfg, src, rm, &sim.MemoryRecorder{}, rand.New(rand.NewPCG(l.Seed, 7)))
				if err != nil {
					b.Fatal(err)
				}
				res, err := e.Run(context.Background())
				if err != nil {
					b.Fatal(err)
				}
				decisions, shadows = int64(len(res.Attribution)), res.ShadowsMax
			}
			b.ReportMetric(float64(decisions), "decisions")
			b.ReportMetric(float64(shadows), "max_shadows")
		})
	}
}
