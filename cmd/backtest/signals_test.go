package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A run that trades nothing says why, on the terminal, in --json and in
// summary.json; and every signal is accounted for.
func TestZeroTradeRunPrintsItsReason(t *testing.T) {
	out := t.TempDir()
	// A delta limit no short put can pass: every signal is refused.
	args := []string{"run", "testdata/small.yaml", "--out", out, "-q", "--set", "risk.limits.max_portfolio_delta=1"}
	code, stdout, stderr := cli(t, append(args, "--run-id", "text")...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "warning: 0 trades:") || !strings.Contains(stdout, "refused by the portfolio limits") {
		t.Errorf("no 0-trade warning naming the limits:\n%s", stdout)
	}
	code, stdout, stderr = cli(t, append(args, "--run-id", "json", "--json")...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var j runJSON
	if err := json.Unmarshal([]byte(stdout), &j); err != nil {
		t.Fatal(err)
	}
	sc := j.Signals
	if sc == nil || sc.Total == 0 || sc.Limits != sc.Total || sc.Opened != 0 || len(j.Warnings) != 1 {
		t.Fatalf("signals %+v warnings %v: want every signal refused by the limits and one warning", sc, j.Warnings)
	}
	b, err := os.ReadFile(filepath.Join(out, "json", "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var sum struct {
		Results struct {
			Signals map[string]any `json:"signals"`
		} `json:"results"`
	}
	if err := json.Unmarshal(b, &sum); err != nil {
		t.Fatal(err)
	}
	if sum.Results.Signals["limits"] != float64(sc.Total) || sum.Results.Signals["total"] != float64(sc.Total) {
		t.Errorf("summary.json signals %v, want total = limits = %d", sum.Results.Signals, sc.Total)
	}
	md, _ := os.ReadFile(filepath.Join(out, "json", "report.md"))
	if !strings.Contains(string(md), "| No trades |") || !strings.Contains(string(md), "## Entry signals") {
		t.Errorf("report.md lacks the no-trades line or the signals table")
	}
}

// Every outcome adds up to the signal count on a run that trades.
func TestSignalOutcomesAddUp(t *testing.T) {
	out := t.TempDir()
	code, stdout, stderr := cli(t, "run", "testdata/small.yaml", "--out", out, "-q", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var j runJSON
	if err := json.Unmarshal([]byte(stdout), &j); err != nil {
		t.Fatal(err)
	}
	s := j.Signals
	sum := s.Opened + s.NoQuote + s.NoContract + s.MaxOpen + s.Limits + s.Breaker + s.Broker + s.Condition
	if s.Total == 0 || sum != s.Total || s.Opened != int64(j.Trades) || len(j.Warnings) != 0 {
		t.Fatalf("signals %+v (sum %d), trades %d, warnings %v", s, sum, j.Trades, j.Warnings)
	}
}
