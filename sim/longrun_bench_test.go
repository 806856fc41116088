package sim_test

import (
	"context"
	"io"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/optionsrisk/backtest/feeds"
	"github.com/optionsrisk/backtest/risk"
	"github.com/optionsrisk/backtest/sim"
)

// nopSink drops the risk events.
type nopSink struct{}

func (nopSink) Emit(risk.Event) {}

// collect reads src to its end into a memSource.
func collect(b *testing.B, src feeds.Source) *memSource {
	m := &memSource{contracts: src.Contracts()}
	for {
		bt, err := src.Next(context.Background())
		if err == io.EOF {
			return m
		}
		if err != nil {
			b.Fatal(err)
		}
		m.batches = append(m.batches, &feeds.Batch{Quotes: slices.Clone(bt.Quotes)})
	}
}

// BenchmarkLongRun is the engine alone (a synthetic feed, rows dropped)
// over 250 days of half-hourly quotes with calm_2019's strategy and risk
// settings: the per-instant cost a sweep pays once per configuration.
func BenchmarkLongRun(b *testing.B) {
	t := &testing.T{}
	l := longScenario(t, 250, 7)
	cfg, err := l.SimConfig()
	if err != nil {
		b.Fatal(err)
	}
	first, _ := time.Parse("2006-01-02", l.Feed.Synthetic.Days[0].Date)
	last, _ := time.Parse("2006-01-02", l.Feed.Synthetic.Days[249].Date)
	cfg.Start, cfg.End = first, last.AddDate(0, 0, 1)
	syn, err := feeds.NewSynthetic(*l.Feed.Synthetic, l.Seed)
	if err != nil {
		b.Fatal(err)
	}
	mem := collect(b, syn)
	var quotes int64
	for b.Loop() {
		mem.next = 0
		src := mem
		rm, err := risk.NewManager(l.Risk, nopSink{})
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
		quotes = res.Quotes
	}
	b.ReportMetric(float64(quotes), "quotes")
}
