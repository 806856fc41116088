package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// The summary's P&L is measured from the scenario's capital whatever its
// size: the run folder's scenario.yaml writes 1,000,000 as 1e+06, which the
// reports once read as text and replaced by the default 100,000 (a first-day
// P&L of +900,000).
func TestSummaryCapitalOfAMillion(t *testing.T) {
	for _, capital := range []float64{250000, 1000000, 12500000} {
		out := t.TempDir()
		code, _, stderr := cli(t, "run", "testdata/small.yaml", "--out", out, "-q", "--run-id", "c",
			"--set", "capital="+formatCapital(capital))
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		b, err := os.ReadFile(filepath.Join(out, "c", "summary.json"))
		if err != nil {
			t.Fatal(err)
		}
		var sum struct {
			Results struct {
				PnL struct {
					Capital   float64 `json:"capital"`
					Total     float64 `json:"total"`
					FinalEq   float64 `json:"final_equity"`
					BestDay   float64 `json:"best_day"`
					ReturnPct float64 `json:"return_pct"`
				} `json:"pnl"`
			} `json:"results"`
		}
		if err := json.Unmarshal(b, &sum); err != nil {
			t.Fatal(err)
		}
		p := sum.Results.PnL
		if p.Capital != capital || math.Abs(p.Total-(p.FinalEq-capital)) > 0.01 || math.Abs(p.BestDay) > capital/10 {
			t.Errorf("capital %v: summary pnl %+v", capital, p)
		}
	}
}

func formatCapital(c float64) string {
	b, _ := json.Marshal(c)
	return string(b)
}
