package sim_test

import (
	"context"
	"io"
	"math/rand/v2"
	"slices"
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

// memSource replays batches already generated, so that a benchmark times
// the simulator alone.
type memSource struct {
	contracts *feeds.Contracts
	batches   []*feeds.Batch
	next      int
}

func (m *memSource) Contracts() *feeds.Contracts  { return m.contracts }
func (m *memSource) Close() error                 { return nil }
func (m *memSource) Quality() feeds.QualityCounts { return nil }
func (m *memSource) Next(context.Context) (*feeds.Batch, error) {
	if m.next >= len(m.batches) {
		return nil, io.EOF
	}
	m.next++
	return m.batches[m.next-1], nil
}

// BenchmarkStructures replays spy_crash's feed (generated once, outside the
// timing) with the scenario's short put vertical and with a short iron
// condor of the same width, reporting quotes per second: the condor's
// replay must stay within 20 % of the vertical's.
func BenchmarkStructures(b *testing.B) {
	l, err := scenarios.Load("spy_crash", nil)
	if err != nil {
		b.Fatal(err)
	}
	src, err := feeds.NewSynthetic(*l.Feed.Synthetic, l.Seed)
	if err != nil {
		b.Fatal(err)
	}
	mem := &memSource{contracts: src.Contracts()}
	for {
		bt, err := src.Next(context.Background())
		if err == io.EOF {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
		cp := *bt
		cp.Quotes = slices.Clone(bt.Quotes)
		mem.batches = append(mem.batches, &cp)
	}
	for _, tc := range []struct {
		name string
		st   *sim.StructureConfig
	}{
		{"vertical", nil},
		{"iron_condor", &sim.StructureConfig{Type: "iron_condor", Side: "short", Delta: 0.30, Width: 5}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			cfg, err := l.SimConfig()
			if err != nil {
				b.Fatal(err)
			}
			if tc.st != nil {
				en := &cfg.Strategy.Entry
				en.Right, en.Side, en.SpreadWidth, en.TargetDelta, en.Structure = "", "", 0, 0, tc.st
			}
			var quotes, trades int64
			for b.Loop() {
				mem.next = 0
				rm, err := risk.NewManager(l.Risk, &risk.MemorySink{})
				if err != nil {
					b.Fatal(err)
				}
				e, err := sim.New(cfg, mem, rm, &sim.MemoryRecorder{}, rand.New(rand.NewPCG(l.Seed, 7)))
				if err != nil {
					b.Fatal(err)
				}
				res, err := e.Run(context.Background())
				if err != nil {
					b.Fatal(err)
				}
				quotes += res.Quotes
				trades = int64(len(res.Trades))
			}
			b.ReportMetric(float64(quotes)/b.Elapsed().Seconds(), "quotes/s")
			b.ReportMetric(float64(trades), "trades")
		})
	}
}
