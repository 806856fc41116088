package feeds

import (
	"context"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// yearBars returns n trading days (weekdays from 2019-01-02) of a seeded random walk.
func yearBars(n int) []DayBar {
	rng := rand.New(rand.NewPCG(7, 7))
	out := make([]DayBar, 0, n)
	d := time.Date(2019, 1, 2, 0, 0, 0, 0, time.UTC)
	px := 250.0
	for len(out) < n {
		if wd := d.Weekday(); wd != time.Saturday && wd != time.Sunday {
			o := px
			c := o * math.Exp(0.01*rng.NormFloat64())
			h := max(o, c) * (1 + 0.004*rng.Float64())
			l := min(o, c) * (1 - 0.004*rng.Float64())
			out = append(out, DayBar{Date: d.Format(time.DateOnly), Open: o, High: h, Low: l, Close: c, VIX: 12 + 8*rng.Float64()})
			px = c
		}
		d = d.AddDate(0, 0, 1)
	}
	return out
}

// benchChain: one year of 1-minute quotes on about 100 contracts (about 10M quotes).
func benchChain() SyntheticConfig {
	return SyntheticConfig{
		Underlying: "SPY", Days: yearBars(252), Every: time.Minute,
		Strikes:  StrikeConfig{AroundSpotPct: 5, Step: 1}, // ~25 strikes
		Expiries: ExpiryConfig{Weekly: 2, Monthly: -1},    // × 2 expiries × 2 rights
		Rate:     0.02, Skew: 1, MinPrice: 1e-12,
	}
}

type memPeak struct {
	stop chan struct{}
	done chan uint64
}

// watchHeap samples the Go heap in use until stopped (DuckDB's C++ memory is not included:
// see /usr/bin/time -v for the process peak).
func watchHeap() *memPeak {
	m := &memPeak{stop: make(chan struct{}), done: make(chan uint64)}
	go func() {
		var peak uint64
		var ms runtime.MemStats
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			select {
			case <-m.stop:
				m.done <- peak
				return
			case <-tick.C:
			}
		}
	}()
	return m
}

func (m *memPeak) end() uint64 { close(m.stop); return <-m.done }

func BenchmarkParquetDecode(b *testing.B) {
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "chain.parquet")
	src, err := NewSynthetic(benchChain(), 1)
	if err != nil {
		b.Fatal(err)
	}
	t0 := time.Now()
	n, err := WriteParquet(ctx, src, path)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("generated %d quotes, %d contracts in %v", n, src.Contracts().Len(), time.Since(t0))
	b.ResetTimer()
	var peak uint64
	for i := 0; i < b.N; i++ {
		w := watchHeap()
		fs, err := OpenFile(ctx, FileConfig{Path: path, Preset: PresetNative}, Reject, nil)
		if err != nil {
			b.Fatal(err)
		}
		var got int64
		for {
			bt, err := fs.Next(ctx)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			got += int64(len(bt.Quotes))
		}
		fs.Close()
		peak = max(peak, w.end())
		if got != n {
			b.Fatalf("read %d quotes, wrote %d", got, n)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "quotes/s")
	b.ReportMetric(float64(peak)/(1<<20), "peakheapMB")
}

func BenchmarkSynthetic(b *testing.B) {
	ctx := context.Background()
	var n int64
	var peak uint64
	for i := 0; i < b.N; i++ {
		w := watchHeap()
		src, err := NewSynthetic(benchChain(), 1)
		if err != nil {
			b.Fatal(err)
		}
		n = 0
		for {
			bt, err := src.Next(ctx)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n += int64(len(bt.Quotes))
		}
		peak = max(peak, w.end())
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "quotes/s")
	b.ReportMetric(float64(peak)/(1<<20), "peakheapMB")
}
