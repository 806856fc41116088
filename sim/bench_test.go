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

// BenchmarkScenario runs each built-in synthetic scenario end to end in
// memory (feed generation included), reporting quotes per second.
func BenchmarkScenario(b *testing.B) {
	for _, name := range []string{"spy_crash", "calm_2019"} {
		b.Run(name, func(b *testing.B) {
			l, err := scenarios.Load(name, nil)
			if err != nil {
				b.Fatal(err)
			}
			cfg, err := l.SimConfig()
			if err != nil {
				b.Fatal(err)
			}
			var quotes int64
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
				quotes += res.Quotes
			}
			b.ReportMetric(float64(quotes)/b.Elapsed().Seconds(), "quotes/s")
		})
	}
}
