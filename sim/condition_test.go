package sim

import (
	"context"
	"errors"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/optionsrisk/backtest/feeds"
	"github.com/optionsrisk/backtest/risk"
)

// Compile errors carry the position of the problem in the expression.
func TestConditionCompileErrors(t *testing.T) {
	for _, tc := range []struct {
		src       string
		line, col int // col 0-based
	}{
		{"vix >= 25 and foo", 1, 14},
		{"vix >=", 1, 5},
		{"price + 1", 1, 0}, // not a bool
		{"iv_rank(x) > 0.5", 1, 0},
		{"vix > 20 and\n  iv_rank(1) > 0.5", 2, 2},
		{"  ", 1, 0},
	} {
		_, err := CompileCondition(tc.src)
		var ee *ExprError
		if !errors.As(err, &ee) {
			t.Fatalf("%q: want an ExprError, got %v", tc.src, err)
		}
		if ee.Line != tc.line || ee.Col != tc.col {
			t.Errorf("%q: error %v at %d:%d, want %d:%d", tc.src, ee, ee.Line, ee.Col, tc.line, tc.col)
		}
	}
}

// Every variable reads its Env field; iv_rank and iv_percentile read
// their precomputed windows.
func TestConditionVariables(t *testing.T) {
	env := Env{Price: 300, Ret1D: -0.02, Ret5D: 0.05, VIX: 30, Minute: 600, Weekday: 3, DTENext: 2,
		Delta: -150, Gamma: -12, Exposure: 40000, OpenPositions: 4, DayPnL: -250,
		PosPnL: 120, PosPnLPct: 55, PosPremium: 0.8, PosDTE: 9, PosDays: 3.5}
	daily := []float64{20, 25, 40, 10, 15} // oldest first
	for _, tc := range []struct {
		src  string
		want bool
	}{
		{"price == 300", true}, {"ret_1d < -0.01", true}, {"ret_5d > 0.04", true}, {"vix >= 30", true},
		{"minute == 600", true}, {"weekday == 3", true}, {"dte_next <= 2", true}, {"delta == -150", true},
		{"gamma > -12", false}, {"exposure == 40000", true}, {"open_positions < 4", false}, {"day_pnl == -250", true},
		{"pos_pnl == 120", true}, {"pos_pnl_pct >= 50", true}, {"pos_premium == 0.8", true}, {"pos_dte == 9", true},
		{"pos_days > 3", true},
		// rank over 30, 15, 10, 40 (today and 3 previous): (30 − 10) / 30
		{"iv_rank(4) > 0.66 and iv_rank(4) < 0.67", true},
		// percentile over 20, 25, 40, 10, 15: 4 of 5 below 30
		{"iv_percentile(5) == 0.8", true},
		{"iv_percentile(3) == 2.0 / 3", true},
	} {
		c, err := CompileCondition(tc.src)
		if err != nil {
			t.Fatalf("%q: %v", tc.src, err)
		}
		*c.Env() = env
		c.setWindows(env.VIX, daily)
		got, err := c.Eval()
		if err != nil || got != tc.want {
			t.Errorf("%q = %v (%v), want %v", tc.src, got, err, tc.want)
		}
	}
	nan, _ := CompileCondition("ret_5d > 0 or ret_5d <= 0")
	*nan.Env() = Env{Ret5D: math.NaN()}
	if got, _ := nan.Eval(); got {
		t.Error("a NaN variable must make every comparison false")
	}
}

// BenchmarkCondition evaluates the README's entry condition: no allocation.
func BenchmarkCondition(b *testing.B) {
	c, err := CompileCondition("vix >= 25 and iv_rank(30) > 0.5 and open_positions < 10")
	if err != nil {
		b.Fatal(err)
	}
	daily := make([]float64, 60)
	for i := range daily {
		daily[i] = 15 + float64(i%20)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		env := c.Env()
		env.VIX, env.OpenPositions = 20+float64(i%20), i%12
		c.setWindows(env.VIX, daily)
		if _, err := c.Eval(); err != nil {
			b.Fatal(err)
		}
	}
}

// The engine's market variables on a fixed timeline: SPY closes 100, 102,
// 99, 101, 104 on March 4–8 and trades at 98 on March 11, with the ATM
// put's IV 10 %, 12 %, … 20 % by day.
func TestConditionMarketTimeline(t *testing.T) {
	days := []int{4, 5, 6, 7, 8, 11}
	spots := []float64{100, 102, 99, 101, 104, 98}
	ivs := []float64{0.10, 0.12, 0.14, 0.16, 0.18, 0.20}
	cs := []feeds.Contract{put(100, 15), put(90, 15)}
	src := chainFeed(cs, days, func(k int, tm time.Time) (feeds.Quote, bool) {
		d := slices.Index(days, tm.Day())
		return feeds.Quote{Bid: 1, Ask: 1.1, UnderlyingPrice: spots[d], IV: ivs[d] + float64(k), Delta: []float64{-0.5, -0.2}[k]}, true
	})
	cfg := baseConfig()
	cfg.End = at(12, 0, 0, 0)
	cfg.Strategy.Entry.When = "false"
	rm, _ := risk.NewManager(risk.Settings{}, &risk.MemorySink{})
	e, err := New(cfg, src, rm, &MemoryRecorder{}, newTestRand())
	if err != nil {
		t.Fatal(err)
	}
	var got Env
	e.afterInstant = func() {
		if e.now == at(11, 10, 0, 0).UnixMicro() {
			got = *e.market()
			e.cond.entry.setWindows(got.VIX, e.cond.ivs)
			got.Windows = e.cond.entry.p.Windows
		}
	}
	// Compile a condition with both windows so that setWindows fills them.
	e.cond.entry, _ = CompileCondition("iv_rank(6) > 0 or iv_percentile(5) > 0")
	if _, err := e.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := Env{Price: 98, Ret1D: 98.0/104 - 1, Ret5D: 98.0/100 - 1, VIX: 20, Minute: 600, Weekday: 1, DTENext: 4}
	// iv_rank(6) over 20 and 10…18: (20 − 10)/(20 − 10) = 1; percentile: 5 of 5 below.
	want.Windows[0], want.Windows[1] = 1, 1
	if !almost(got.Price, want.Price) || !almost(got.Ret1D, want.Ret1D) || !almost(got.Ret5D, want.Ret5D) || !almost(got.VIX, want.VIX) ||
		got.Minute != want.Minute || got.Weekday != want.Weekday || got.DTENext != want.DTENext || got.Windows != want.Windows ||
		got.OpenPositions != 0 || got.Delta != 0 || got.DayPnL != 0 {
		t.Fatalf("market at March 11 10:00:\n got %+v\nwant %+v", got, want)
	}
	if len(e.cond.closes) != 5 || !almost(e.cond.closes[4], 104) {
		t.Fatalf("daily closes %v", e.cond.closes)
	}
}

// FuzzCompileCondition: any text either compiles to a condition that
// evaluates to a bool or fails with a located ExprError; nothing panics.
func FuzzCompileCondition(f *testing.F) {
	for _, s := range []string{"vix >= 25 and iv_rank(30) > 0.5 and open_positions < 10", "iv_percentile(5) > 0.2", "minute >= 600 or weekday == 5", "(", "iv_rank(1)", "price + 1", "foo(", "[1,2][3] > 0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		c, err := CompileCondition(src)
		if err != nil {
			var ee *ExprError
			if !errors.As(err, &ee) || ee.Line < 1 || ee.Col < 0 {
				t.Fatalf("%q: error %v is not a located ExprError", src, err)
			}
			return
		}
		*c.Env() = Env{Price: 100, VIX: 20, Minute: 600}
		c.setWindows(20, []float64{10, 30})
		_, _ = c.Eval() // a runtime error is an error, not a panic
	})
}
