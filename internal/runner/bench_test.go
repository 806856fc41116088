package runner

import (
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/optionsrisk/backtest/feeds"
	"github.com/optionsrisk/backtest/scenarios"
)

const sharedData = "../../../shared/data"

// yearScenario is 2019 on real SPY/VIX days: 1-minute quotes of about 100
// contracts (23 strikes × 2 weekly expiries × 2 rights), about 10 million
// quotes in a year, short put spreads every 30 minutes.
func yearScenario(tb testing.TB, months int) string {
	spy := readCSV(tb, filepath.Join(sharedData, "spy-daily.csv"))
	vix := map[string]string{}
	for _, r := range readCSV(tb, filepath.Join(sharedData, "vix-daily.csv")) {
		vix[r[0]] = r[4]
	}
	end := time.Date(2019, time.Month(1+months), 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, -1).Format(time.DateOnly)
	var days strings.Builder
	for _, r := range spy {
		if r[0] >= "2019-01-01" && r[0] <= end {
			fmt.Fprintf(&days, "      - {date: %s, open: %s, high: %s, low: %s, close: %s, vix: %s}\n", r[0], r[1], r[2], r[3], r[4], vix[r[0]])
		}
	}
	return fmt.Sprintf(`name: bench_year
seed: 1
period: {start: 2019-01-01, end: %s}
feed:
  synthetic:
    underlying: SPY
    days:
%s    every: 1m
    strikes: {around_spot_pct: 4, step: 1}
    expiries: {weekly: 2, monthly: -1}
    skew: 1.0
strategy:
  entry: {every: 30m, right: put, side: short, spread_width: 2, target_delta: 0.3, dte: [2, 14], qty: 1, max_open: 20}
broker: {faults: {reject_prob: 0.02}}
risk:
  trailing_stop: {activation_pct: 20, trail_pct: 25}
  limits: {max_portfolio_delta: 500, warn_pct: 80}
`, end, days.String())
}

func readCSV(tb testing.TB, path string) [][]string {
	f, err := os.Open(path)
	if err != nil {
		tb.Skipf("reference data absent: %v", err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		tb.Fatal(err)
	}
	return rows[1:]
}

var (
	pqOnce  sync.Map // months → path
	pqMu    sync.Mutex
	pqTemps []string
)

// yearParquet writes the scenario's feed to Parquet once per process.
func yearParquet(b *testing.B, months int) (*scenarios.Loaded, string) {
	l, err := scenarios.Parse("bench.yaml", []byte(yearScenario(b, months)), nil)
	if err != nil {
		b.Fatal(err)
	}
	if p, ok := pqOnce.Load(months); ok {
		return l, p.(string)
	}
	pqMu.Lock()
	defer pqMu.Unlock()
	dir, err := os.MkdirTemp("", "bench-feed-")
	if err != nil {
		b.Fatal(err)
	}
	pqTemps = append(pqTemps, dir)
	path := filepath.Join(dir, "year.parquet")
	src, err := OpenFeed(context.Background(), l)
	if err != nil {
		b.Fatal(err)
	}
	n, err := feeds.WriteParquet(context.Background(), src, path)
	src.Close()
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("feed: %d quotes, %d months, written to Parquet", n, months)
	pqOnce.Store(months, path)
	return l, path
}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, d := range pqTemps {
		os.RemoveAll(d)
	}
	os.Exit(code)
}

// BenchmarkReplayYear replays the Parquet feed through the full stack (feed
// decode, event loop, risk layers, Delta writers) and reports quotes/s and
// the peak heap. The 6-month and 12-month variants show whether memory stays
// flat as the feed grows.
func BenchmarkReplayYear(b *testing.B) {
	for _, months := range []int{6, 12} {
		b.Run(fmt.Sprintf("months=%d", months), func(b *testing.B) {
			l, path := yearParquet(b, months)
			var quotes int64
			var peak uint64
			b.ResetTimer()
			for i := range b.N {
				l2, _ := scenarios.Parse("bench.yaml", []byte(yearScenario(b, months)), []string{"feed.synthetic=null", "feed.file={path: " + path + ", preset: native}"})
				_ = l
				runtime.GC()
				stop := make(chan struct{})
				done := make(chan uint64)
				go samplePeak(stop, done)
				out, err := Run(context.Background(), Options{Scenario: l2, OutDir: b.TempDir(), RunID: fmt.Sprint("r", i), Now: time.Now})
				close(stop)
				peak = max(peak, <-done)
				if err != nil {
					b.Fatal(err)
				}
				quotes += out.Result.Quotes
			}
			b.ReportMetric(float64(quotes)/b.Elapsed().Seconds(), "quotes/s")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
		})
	}
}

func samplePeak(stop <-chan struct{}, done chan<- uint64) {
	var peak uint64
	var ms runtime.MemStats
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapInuse)
		select {
		case <-stop:
			done <- peak
			return
		case <-t.C:
		}
	}
}
