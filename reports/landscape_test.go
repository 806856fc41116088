package reports_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/optionsrisk/backtest/reports"
)

// TestCompareLandscape: compare's HTML over a one-setting sweep draws a
// line chart per metric, over a two-setting sweep a heatmap per metric,
// and over an ablation (runs differing only in risk.*.enabled) a bar chart.
func TestCompareLandscape(t *testing.T) {
	type fixture struct {
		r *reports.Run
		s *reports.Summary
	}
	load := func(id string, sets ...string) fixture {
		r, s := fixtureRun(t, id, sets...)
		return fixture{r, s}
	}
	plain := load("plain")
	a := load("a", "risk.trailing_stop.trail_pct=10", "risk.circuit_breaker.failure_threshold=2")
	b := load("b", "risk.trailing_stop.trail_pct=30", "risk.circuit_breaker.failure_threshold=2")
	c := load("c", "risk.trailing_stop.trail_pct=10", "risk.circuit_breaker.failure_threshold=4")
	off := load("off", "risk.limits.enabled=false")
	page := func(fs ...fixture) string {
		var runs []*reports.Run
		var sums []*reports.Summary
		var cs []reports.Compared
		for _, f := range fs {
			runs, sums = append(runs, f.r), append(sums, f.s)
			cs = append(cs, reports.NewCompared(f.r.Meta.RunID, f.r.Scenario, f.s.Results))
		}
		var w bytes.Buffer
		if err := reports.WriteCompareHTML(context.Background(), &w, runs, sums, reports.DifferingSettings(cs)); err != nil {
			t.Fatal(err)
		}
		return w.String()
	}
	metrics := []string{"pnl-total", "drawdown-max_pct", "ratios-sharpe", "attribution-trailing_stop-saved", "attribution-portfolio_limits-saved", "attribution-circuit_breaker-saved"}
	one := page(a, b)
	for _, m := range metrics {
		if !strings.Contains(one, `id="chart-landscape-`+m+`"`) {
			t.Errorf("one-setting sweep lacks the %s chart", m)
		}
	}
	if !strings.Contains(one, "against risk.trailing_stop.trail_pct") || strings.Contains(one, "chart-ablation") {
		t.Error("one-setting sweep: not a line chart against trail_pct")
	}
	two := page(a, b, c)
	if !strings.Contains(two, "over risk.trailing_stop.trail_pct (x) and risk.circuit_breaker.failure_threshold (y)") &&
		!strings.Contains(two, "over risk.circuit_breaker.failure_threshold (x) and risk.trailing_stop.trail_pct (y)") {
		t.Error("two-setting sweep: no heatmap over both settings")
	}
	abl := page(plain, off)
	if !strings.Contains(abl, `id="chart-ablation"`) || strings.Contains(abl, "chart-landscape-") {
		t.Error("ablation: no ablation chart, or a landscape")
	}
}
