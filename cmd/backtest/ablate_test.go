package main

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/optionsrisk/backtest/internal/runner"
	"github.com/optionsrisk/backtest/scenarios"
)

// TestSweepAblate: --ablate publishes five runs (all on, each layer off
// alone, all off), prints one row each, and its all-on run is the plain run:
// the same id and the same rows in every table.
func TestSweepAblate(t *testing.T) {
	abl, plain := t.TempDir(), t.TempDir()
	code, stdout, stderr := cli(t, "sweep", "testdata/small.yaml", "--ablate", "--out", abl, "-q", "--workers", "2")
	if code != 0 {
		t.Fatalf("sweep --ablate: exit %d: %s", code, stderr)
	}
	ids := publishedRuns(t, abl)
	if len(ids) != 5 {
		t.Fatalf("published %v, want 5 runs", ids)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 6 {
		t.Fatalf("table of %d lines, want a header and 5 rows:\n%s", len(lines), stdout)
	}
	for i, label := range []string{"all on", "no trailing_stop", "no portfolio_limits", "no circuit_breaker", "all off"} {
		if !strings.Contains(lines[i+1], label) {
			t.Errorf("row %d lacks %q: %s", i+1, label, lines[i+1])
		}
	}
	f := strings.Fields(lines[1])
	if got := f[len(f)-4:]; !reflect.DeepEqual(got, []string{"0.00", "0.00", "0.00", "0"}) {
		t.Errorf("all on differs from itself: %v", got)
	}
	allOn := f[2]
	runSmallPlain := func() string {
		code, _, stderr := cli(t, "run", "testdata/small.yaml", "--out", plain, "-q")
		if code != 0 {
			t.Fatalf("run: exit %d: %s", code, stderr)
		}
		return publishedRuns(t, plain)[0]
	}
	if id := runSmallPlain(); id != allOn {
		t.Fatalf("plain run %s, all-on run %s", id, allOn)
	}
	dbA, err := openRunsDB(context.Background(), abl, true)
	if err != nil {
		t.Fatal(err)
	}
	defer dbA.Close()
	dbP, err := openRunsDB(context.Background(), plain, true)
	if err != nil {
		t.Fatal(err)
	}
	defer dbP.Close()
	for _, tb := range []string{"risk_events", "fills", "equity", "trades", "attribution"} {
		order := "seq"
		if tb == "equity" || tb == "trades" {
			order = "1, 2"
		}
		if a, b := rows(t, dbA, tb, allOn, order), rows(t, dbP, tb, allOn, order); len(a) == 0 || !reflect.DeepEqual(a, b) {
			t.Errorf("%s: all-on and plain runs differ (%d vs %d rows)", tb, len(a), len(b))
		}
	}
	a, _ := os.ReadFile(filepath.Join(abl, allOn, "summary.json"))
	p, _ := os.ReadFile(filepath.Join(plain, allOn, "summary.json"))
	if resultsOf(a) != resultsOf(p) {
		t.Error("all-on and plain runs' results differ")
	}
	if code, _, _ := cli(t, "sweep", "testdata/small.yaml", "--ablate", "--grid", "risk.trailing_stop.trail_pct=1,2", "--out", abl); code != 2 {
		t.Errorf("--ablate with --grid: exit %d, want 2", code)
	}
}

// resultsOf cuts summary.json's run section (wall clock) off.
func resultsOf(b []byte) string {
	s := string(b)
	if i := strings.Index(s, `"run":`); i >= 0 {
		return s[:i]
	}
	return s
}

// TestAblateEveryBuiltin: on every built-in the five ablation runs are
// distinct and the all-on one is the plain run (same resolved scenario,
// hence same id). Cheap: nothing runs.
func TestAblateEveryBuiltin(t *testing.T) {
	for _, b := range scenarios.Builtins() {
		t.Run(b.Name, func(t *testing.T) {
			jobs, labels, err := ablationJobs(context.Background(), b.Name, nil, "")
			if err != nil {
				t.Fatal(err)
			}
			l, err := scenarios.Load(b.Name, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := runner.Prepare(context.Background(), l); err != nil {
				t.Fatal(err)
			}
			hash, _ := runner.ConfigHash(l)
			if len(jobs) != 5 || labels[0] != "all on" || jobs[0].id != l.Name+"-"+hash[:8] {
				t.Fatalf("%d jobs %v, all on %s, plain %s", len(jobs), labels, jobs[0].id, l.Name+"-"+hash[:8])
			}
			seen := map[string]bool{}
			for _, j := range jobs {
				seen[j.id] = true
			}
			if len(seen) != 5 {
				t.Fatalf("ablation runs not distinct: %v", seen)
			}
			for i, want := range [][3]bool{{true, true, true}, {false, true, true}, {true, false, true}, {true, true, false}, {false, false, false}} {
				r := jobs[i].l.Risk
				got := [3]bool{on(r.TrailingStop.Enabled), on(r.Limits.Enabled), on(r.CircuitBreaker.Enabled)}
				if got != want {
					t.Errorf("%s: layers on %v, want %v", labels[i], got, want)
				}
			}
		})
	}
}

func on(b *bool) bool { return b == nil || *b }
