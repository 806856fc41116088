package reports

import (
	"math"
	"strings"
	"testing"
	"time"
)

var utc = time.UTC

func pt(day, hour int, equity float64, open int64) EquityPoint {
	return EquityPoint{Time: time.Date(2024, 3, day, hour, 0, 0, 0, utc), Equity: equity, Open: open}
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func TestDailyAndRatiosByHand(t *testing.T) {
	// Three days closing at 101, 99, 102 from capital 100 (intraday points
	// do not count): daily P&L +1, -2, +3.
	points := []EquityPoint{pt(4, 10, 100.5, 1), pt(4, 16, 101, 1), pt(5, 16, 99, 0), pt(6, 11, 98, 1), pt(6, 16, 102, 1)}
	days := Daily(points, 100, utc)
	if len(days) != 3 || days[0].PnL != 1 || days[1].PnL != -2 || days[2].PnL != 3 {
		t.Fatalf("daily %+v", days)
	}
	r := []float64{days[0].Return, days[1].Return, days[2].Return}
	want := []float64{0.01, -2.0 / 101, 3.0 / 99}
	for i := range r {
		if !near(r[i], want[i]) {
			t.Fatalf("return %d = %v, want %v", i, r[i], want[i])
		}
	}
	// Sharpe: mean / sample sd × √252.
	mean := (want[0] + want[1] + want[2]) / 3
	var ss float64
	for _, x := range want {
		ss += (x - mean) * (x - mean)
	}
	if got, w := Sharpe(r), mean/math.Sqrt(ss/2)*math.Sqrt(252); !near(got, w) {
		t.Errorf("Sharpe %v, want %v", got, w)
	}
	// Sortino: mean / sqrt(Σ min(r,0)² / n) × √252.
	if got, w := Sortino(r), mean/math.Sqrt(want[1]*want[1]/3)*math.Sqrt(252); !near(got, w) {
		t.Errorf("Sortino %v, want %v", got, w)
	}
	if !math.IsNaN(Sharpe([]float64{0.01})) || !math.IsNaN(Sharpe([]float64{0.01, 0.01})) || !math.IsNaN(Sortino([]float64{0.01, 0.02})) {
		t.Error("ratios must be NaN with one day, no variance, or no losing day")
	}
	if got := exposureTime(points); !near(got, 0.8) {
		t.Errorf("exposure %v, want 0.8", got)
	}
}

func TestMaxDrawdownByHand(t *testing.T) {
	// Peak 110 on day 5 10:00, trough 88 (20%), recovered at 111 on day 7
	// 10:00: longest drawdown 2 days minus... from the first point below
	// the peak (day 5 16:00) to recovery (day 7 10:00) = 42 hours.
	points := []EquityPoint{pt(4, 16, 100, 0), pt(5, 10, 110, 0), pt(5, 16, 99, 0), pt(6, 16, 88, 0), pt(7, 10, 111, 0), pt(8, 10, 105, 0)}
	d := MaxDrawdown(points, 100)
	if !near(d.MaxPct, 0.2) || !near(d.MaxDollars, 22) || d.Longest != 42*time.Hour {
		t.Fatalf("drawdown %+v, want 20%%, $22, 42h", d)
	}
	// Below the capital from the start and never recovered: to the end.
	d = MaxDrawdown([]EquityPoint{pt(4, 10, 90, 0), pt(5, 10, 95, 0)}, 100)
	if !near(d.MaxPct, 0.1) || d.Longest != 24*time.Hour {
		t.Fatalf("unrecovered drawdown %+v", d)
	}
}

func TestTradesGiveBackAndSlippageByHand(t *testing.T) {
	at := func(h int) time.Time { return time.Date(2024, 3, 4, h, 0, 0, 0, utc) }
	fills := []Fill{
		// Short 2 at 1.50 (commission 1.30), bought back at 0.80 (1.30): +140 − 2.60.
		{ExecutionID: "A", Side: "sell", Intent: "entry", Qty: 2, Price: 1.5, Commission: 1.3, Status: "filled", FillTime: at(10), Multiplier: 100},
		{ExecutionID: "A", Side: "buy", Intent: "exit", Qty: 2, Price: 0.8, Commission: 1.3, Status: "filled", FillTime: at(12), Multiplier: 100, Reason: "trailing_stop"},
		// Long 1 at 2.00, settled at 0 at expiry: −200 − 0.65.
		{ExecutionID: "B", Side: "buy", Intent: "entry", Qty: 1, Price: 2, Commission: 0.65, Status: "filled", FillTime: at(10), Multiplier: 100},
		{ExecutionID: "B", Side: "sell", Intent: "exit", Qty: 1, Price: 0, Commission: 0, Status: "settled", FillTime: at(16), Multiplier: 100},
		// A rejected order and a still-open position.
		{ExecutionID: "C", Side: "sell", Intent: "entry", Qty: 1, Price: math.NaN(), Status: "rejected", Multiplier: 100},
		{ExecutionID: "D", Side: "sell", Intent: "entry", Qty: 1, Price: 1, Commission: 0.65, Status: "filled", FillTime: at(11), Multiplier: 100},
	}
	trades := Trades(fills)
	if len(trades) != 3 || trades[0].ExecutionID != "A" || trades[1].ExitReason != "expiry" || trades[2].Closed() {
		t.Fatalf("trades %+v", trades)
	}
	if !near(trades[0].PnL, 137.4) || !near(trades[1].PnL, -200.65) {
		t.Fatalf("P&L %v, %v; want 137.4, -200.65", trades[0].PnL, trades[1].PnL)
	}
	s := Stats(trades)
	if s.Closed != 2 || s.Open != 1 || s.Wins != 1 || s.Losses != 1 || !near(s.WinRate, 0.5) ||
		!near(s.ProfitFactor, 137.4/200.65) || !near(s.AvgWin, 137.4) || !near(s.AvgLoss, -200.65) {
		t.Fatalf("stats %+v", s)
	}
	// A short stop: best (lowest) premium 0.60, exit fill 0.80 → gave back
	// a third of the best; stop level 0.75 → 0.05 slippage. Long: best 3.00,
	// exit 2.40 → 20%; level 2.50 → 0.10.
	if g := GiveBack(0.6, 0.8, true); !near(g, 100.0/3) {
		t.Errorf("short give-back %v", g)
	}
	if g := GiveBack(3, 2.4, false); !near(g, 20) {
		t.Errorf("long give-back %v", g)
	}
	if s := StopSlippage(0.75, 0.8, true); !near(s, 0.05) {
		t.Errorf("short stop slippage %v", s)
	}
	if s := StopSlippage(2.5, 2.4, false); !near(s, 0.1) {
		t.Errorf("long stop slippage %v", s)
	}
}

func TestBaselineDiff(t *testing.T) {
	b, err := ParseBaseline([]byte(`{"scenario": "x", "tolerance": {"relative": 1e-6, "fields": {"daily_pnl.": 0.1}},
		"results": {"trades": {"closed": 10}, "pnl": {"total": 1000.0, "name": "a"}, "daily_pnl": {"d1": 100}, "ratios": {"sharpe": null}}}`))
	if err != nil {
		t.Fatal(err)
	}
	same := Object{"trades": Object{"closed": int64(10)}, "pnl": Object{"total": 1000.0000001, "name": "a"}, "daily_pnl": Object{"d1": 105.0}, "ratios": Object{"sharpe": math.NaN()}}
	if d := b.Diff(same); len(d) != 0 {
		t.Fatalf("within tolerance but drifted: %v", d)
	}
	moved := Object{"trades": Object{"closed": int64(11)}, "pnl": Object{"total": 1001.0, "name": "b"}, "daily_pnl": Object{"d1": 120.0}, "ratios": Object{"sharpe": 1.5}, "new": int64(1)}
	d := b.Diff(moved)
	var fields []string
	for _, x := range d {
		fields = append(fields, x.Field)
	}
	if strings.Join(fields, ",") != "daily_pnl.d1,new,pnl.name,pnl.total,ratios.sharpe,trades.closed" {
		t.Fatalf("drift fields %v", fields)
	}
	if s := d[5].String(); s != "trades.closed: 10 → 11 (+1, +10%)" {
		t.Errorf("drift line %q", s)
	}
	// Near zero only the absolute floor helps.
	z, _ := ParseBaseline([]byte(`{"tolerance": {"relative": 1e-9, "absolute": 1e-6}, "results": {"x": 1e-12}}`))
	if d := z.Diff(Object{"x": -3e-10}); len(d) != 0 {
		t.Errorf("absolute tolerance ignored: %v", d)
	}
	if d := z.Diff(Object{"x": 2e-6}); len(d) != 1 {
		t.Errorf("beyond the absolute tolerance but no drift")
	}
	if _, err := ParseBaseline([]byte(`{"results": {}, "tolerence": {}}`)); err == nil {
		t.Error("a misspelt baseline key must be an error")
	}
}

func TestEncodeIsStable(t *testing.T) {
	o := Object{"b": 1.0 / 3, "a": Object{"z": int64(2), "y": math.NaN()}, "c": []any{0.1, "s"}}
	got := string(Encode(o))
	want := "{\n  \"a\": {\n    \"y\": null,\n    \"z\": 2\n  },\n  \"b\": 0.333333333333,\n  \"c\": [\n    0.1,\n    \"s\"\n  ]\n}\n"
	if got != want {
		t.Fatalf("encode:\n%s\nwant:\n%s", got, want)
	}
}
