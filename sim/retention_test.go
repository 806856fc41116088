package sim_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/optionsrisk/backtest/feeds"
	"github.com/optionsrisk/backtest/risk"
	"github.com/optionsrisk/backtest/scenarios"
	"github.com/optionsrisk/backtest/sim"
)

// longScenario is calm_2019's strategy and risk settings over days weekdays
// of a seeded random walk (half-hourly quotes): a long, cheap run with
// stops, limit refusals and breaker blocks all through it.
func longScenario(t *testing.T, days int, seed uint64) *scenarios.Loaded {
	t.Helper()
	l, err := scenarios.Load("calm_2019", nil)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	syn := *l.Feed.Synthetic
	syn.Days = nil
	syn.Every = 30 * time.Minute
	px, vix := 300.0, 16.0
	d := time.Date(2018, 1, 2, 0, 0, 0, 0, time.UTC)
	for len(syn.Days) < days {
		if wd := d.Weekday(); wd != time.Saturday && wd != time.Sunday {
			vix = math.Min(math.Max(vix+rng.NormFloat64()*1.5, 11), 40)
			r := rng.NormFloat64() * vix / 100 / math.Sqrt(252)
			open, close := px, px*math.Exp(r)
			syn.Days = append(syn.Days, feeds.DayBar{Date: d.Format("2006-01-02"), Open: open, Close: close,
				High: math.Max(open, close) * 1.004, Low: math.Min(open, close) * 0.996, VIX: vix})
			px = close
		}
		d = d.AddDate(0, 0, 1)
	}
	l.Feed.Synthetic = &syn
	return l
}

// TestRetentionBounded: over a long run, what the engine holds in memory
// (attributed decisions, shadows, closed positions, stops, schedule) stays
// bounded by what is still open, not by the number of trades or decisions:
// rows are handed on as soon as they are final. The rows handed on are
// those of the same run collected at its end, in the same order.
func TestRetentionBounded(t *testing.T) {
	days := 400
	if testing.Short() {
		days = 200
	}
	l := longScenario(t, days, 7)
	run := func(stream bool) (sim.Result, []sim.Decision, []sim.Trade, sim.Retained) {
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
		first, _ := time.Parse("2006-01-02", l.Feed.Synthetic.Days[0].Date)
		last, _ := time.Parse("2006-01-02", l.Feed.Synthetic.Days[days-1].Date)
		cfg.Start, cfg.End = first, last.AddDate(0, 0, 1)
		e, err := sim.New(cfg, src, rm, &sim.MemoryRecorder{}, rand.New(rand.NewPCG(l.Seed, 7)))
		if err != nil {
			t.Fatal(err)
		}
		e.EventSeq = func() int64 { return int64(len(sink.Events)) }
		var ds []sim.Decision
		var ts []sim.Trade
		var worst sim.Retained
		if stream {
			e.OnDecision = func(d sim.Decision) error { ds = append(ds, d); return nil }
			e.OnTrade = func(tr sim.Trade) error { ts = append(ts, tr); return nil }
		}
		e.AfterInstant(func() {
			r := e.Retained()
			worst.Decisions = max(worst.Decisions, r.Decisions)
			worst.Shadows = max(worst.Shadows, r.Shadows)
			worst.ShadowStops = max(worst.ShadowStops, r.ShadowStops)
			worst.Closed = max(worst.Closed, r.Closed)
			worst.Open = max(worst.Open, r.Open)
			worst.Schedule = max(worst.Schedule, r.Schedule)
			worst.Pending = max(worst.Pending, r.Pending)
			// A closed position's stop is forgotten: only open ones keep one.
			if r.Stops > r.Open {
				t.Fatalf("%d stops kept for %d open positions", r.Stops, r.Open)
			}
		})
		res, err := e.Run(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return res, ds, ts, worst
	}
	res, ds, ts, worst := run(true)
	if len(res.Attribution) != 0 || len(res.Trades) != 0 || res.TradeCount != int64(len(ts)) {
		t.Fatalf("streamed run kept %d decisions, %d trades (count %d, handed on %d)",
			len(res.Attribution), len(res.Trades), res.TradeCount, len(ts))
	}
	kinds := map[string]int{}
	for _, d := range ds {
		kinds[d.Component+"/"+d.Event]++
	}
	t.Logf("%d days: %d trades, %d decisions %v; worst retained %+v", days, len(ts), len(ds), kinds, worst)
	if len(ts) < 200 || len(ds) < 100 || kinds["trailing_stop/trigger"] == 0 || kinds["portfolio_limits/rejected"] == 0 {
		t.Fatalf("scenario too quiet to test retention: %d trades, %d decisions %v", len(ts), len(ds), kinds)
	}
	// Bounded by what can still change, not by the run's length: a
	// decision or a closed position waits at most for the ones before it,
	// whose counterfactual or position lives at most its options' life
	// (dte up to 45 days here). So at most the decisions (trades) of a
	// 46-day window plus the open book are held.
	window := (46 * 24 * time.Hour).Microseconds()
	inWindow := func(times []int64) (most int) {
		for i := range times {
			j, _ := slices.BinarySearch(times, times[i]+window)
			most = max(most, j-i)
		}
		return most
	}
	var dts, tts []int64
	for _, d := range ds {
		dts = append(dts, d.Time)
	}
	for _, tr := range ts {
		tts = append(tts, tr.OpenedAt)
	}
	slices.Sort(dts)
	dWin, tWin := inWindow(dts), inWindow(tts)
	t.Logf("most decisions in a window %d, trades %d", dWin, tWin)
	if worst.Decisions > dWin+worst.Open || worst.Closed > tWin || worst.Shadows > dWin {
		t.Errorf("retained %+v: more than a window's %d decisions, %d trades", worst, dWin, tWin)
	}
	if worst.Decisions*4 > len(ds) || worst.Closed*4 > len(ts) || worst.Schedule > tWin+8 {
		t.Errorf("retained %+v is not small next to the run's %d trades and %d decisions", worst, len(ts), len(ds))
	}
	if !slices.IsSortedFunc(ts, func(a, b sim.Trade) int { return int(a.OpenedAt - b.OpenedAt) }) {
		t.Error("trades handed on out of OpenedAt order")
	}
	if !slices.IsSortedFunc(ds, func(a, b sim.Decision) int { return int(a.Seq - b.Seq) }) {
		t.Error("decisions handed on out of seq order")
	}
	all, _, _, _ := run(false)
	if got, want := fmt.Sprintf("%+v", ds), fmt.Sprintf("%+v", all.Attribution); got != want {
		t.Error("decisions handed on differ from the run's collected ones")
	}
	if got, want := fmt.Sprintf("%+v", ts), fmt.Sprintf("%+v", all.Trades); got != want {
		t.Error("trades handed on differ from the run's collected ones")
	}
	res.Attribution, res.Trades = all.Attribution, all.Trades
	if got, want := fmt.Sprintf("%+v", res), fmt.Sprintf("%+v", all); got != want {
		t.Error("the streamed run's result differs")
	}
}
