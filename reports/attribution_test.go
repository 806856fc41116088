package reports_test

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/optionsrisk/backtest/reports"
)

// TestAttributionSummaryMatchesTable: results.attribution's decisions and
// saved per component and per rule equal the attribution table's counts
// and sums, the total equals the sum over components, and the report's
// waterfall walks from actual − Σ saved to the actual P&L.
func TestAttributionSummaryMatchesTable(t *testing.T) {
	r, s := fixtureRun(t, "attr")
	if !r.HasAttribution || len(r.Attribution) == 0 {
		t.Fatal("the fixture run attributed no decision")
	}
	ctx := context.Background()
	rows, err := r.DB.QueryContext(ctx, `SELECT component, rule, count(*), sum(saved), count(*) FILTER (WHERE saved > 0), max(saved), min(saved)
		FROM attribution GROUP BY ALL`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	att := s.Results["attribution"].(reports.Object)
	var n int64
	var sum float64
	groups := 0
	for rows.Next() {
		var comp, rule string
		var cnt, saving int64
		var saved, hi, lo float64
		if err := rows.Scan(&comp, &rule, &cnt, &saved, &saving, &hi, &lo); err != nil {
			t.Fatal(err)
		}
		groups++
		n += cnt
		sum += saved
		o := att[comp].(reports.Object)["rules"].(reports.Object)[rule].(reports.Object)
		if o["decisions"].(int64) != cnt || math.Abs(o["saved"].(float64)-saved) > 1e-6 {
			t.Errorf("%s/%s: summary %v decisions saved %v, table %d saved %v", comp, rule, o["decisions"], o["saved"], cnt, saved)
		}
		if math.Abs(o["saved_share"].(float64)-float64(saving)/float64(cnt)) > 1e-9 ||
			math.Abs(o["largest_save"].(float64)-max(hi, 0)) > 1e-6 || math.Abs(o["largest_cost"].(float64)-min(lo, 0)) > 1e-6 {
			t.Errorf("%s/%s: summary %v, table share %d/%d max %v min %v", comp, rule, o, saving, cnt, hi, lo)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if groups == 0 {
		t.Fatal("no group in the table")
	}
	var compSum float64
	for _, c := range []string{"trailing_stop", "portfolio_limits", "circuit_breaker"} {
		compSum += att[c].(reports.Object)["saved"].(float64)
	}
	total := att["total"].(reports.Object)
	if total["decisions"].(int64) != n || math.Abs(total["saved"].(float64)-sum) > 1e-6 || math.Abs(compSum-sum) > 1e-6 {
		t.Fatalf("total %v, table %d decisions saved %v, components sum %v", total, n, sum, compSum)
	}
	var md strings.Builder
	if err := reports.WriteMarkdown(&md, r, s); err != nil {
		t.Fatal(err)
	}
	pnl := s.Results["pnl"].(reports.Object)["total"].(float64)
	for _, want := range []string{"## What the risk layers did", "## The ten most expensive risk decisions", "## The ten most valuable risk decisions",
		"| P&L with every decision reversed |  |  |  |  |  | " + reports.FormatMoney(pnl-sum) + " |",
		"| actual P&L |  |  |  |  |  | " + reports.FormatMoney(pnl) + " |"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
}
