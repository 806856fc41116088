package reports

import (
	"strings"
	"testing"
)

// TestCompareTableFormatsForPeople: money as money, no exponent notation,
// short headers unless ambiguous, and the default set fits 120 columns.
func TestCompareTableFormatsForPeople(t *testing.T) {
	for _, tc := range []struct {
		metric string
		v      any
		want   string
	}{
		{"pnl.total", -86750.123, "-86,750.12"},
		{"pnl.total", 0.5, "0.50"},
		{"drawdown.max_dollars", 1234567.0, "1,234,567.00"},
		{"ratios.sharpe", 1.23456, "1.23"},
		{"trades.closed", int64(275), "275"},
		{"trades.win_rate", 0.004, "0.0040"},
		{"pnl.return_pct", -86.75012, "-86.75"},
		{"some.count", 12345.0, "12,345.00"},
		{"x", nil, "-"},
	} {
		if got := cell(tc.metric, tc.v); got != tc.want {
			t.Errorf("cell(%s, %v) = %q, want %q", tc.metric, tc.v, got, tc.want)
		}
	}
	runs := []Compared{
		{RunID: "spy_crash-7f08966b", Settings: map[string]string{"risk.trailing_stop.trail_pct": "25", "a.trips": "1"},
			Metrics: map[string]any{"pnl.total": -86750.12, "drawdown.max_pct": 87.5, "ratios.sharpe": -3.1, "trades.closed": int64(275),
				"trades.win_rate": 0.41, "trailing_stop.triggered": int64(120), "circuit_breaker.trips": int64(23), "portfolio_limits.rejected": int64(88)}},
	}
	var amb strings.Builder
	if err := WriteCompareTable(&amb, runs, []string{"a.trips"}, TableHeadline); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{" a.trips ", " circuit_breaker.trips "} {
		if !strings.Contains(amb.String(), want) {
			t.Errorf("ambiguous short names: table lacks %q:\n%s", want, amb.String())
		}
	}
	var b strings.Builder
	if err := WriteCompareTable(&b, runs, []string{"risk.trailing_stop.trail_pct", "risk.circuit_breaker.failure_threshold"}, TableHeadline); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{" trail_pct ", " trips ", "-86,750.12", " 87.50 "} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		if len(line) > 120 {
			t.Errorf("line of %d columns > 120:\n%s", len(line), out)
		}
	}
	if strings.Contains(out, "e+") {
		t.Errorf("exponent notation:\n%s", out)
	}
}
