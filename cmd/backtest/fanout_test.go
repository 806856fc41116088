package main

import (
	"context"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/optionsrisk/backtest/internal/runner"
	"github.com/optionsrisk/backtest/lake"
	"github.com/optionsrisk/backtest/scenarios"
)

// A sweep's runs share one decode of their feed; each is identical, byte for
// byte, to the same run done alone: on the synthetic feed and on a Parquet
// file (DuckDB's decode), with a strategy setting that changes the trades.
func TestSweepSharedDecodeEqualsRunsAlone(t *testing.T) {
	dir := t.TempDir()
	pq := filepath.Join(dir, "feed.parquet")
	if code, _, stderr := cli(t, "data", "gen", "testdata/small.yaml", "-o", pq); code != 0 {
		t.Fatal(stderr)
	}
	feeds := map[string][]string{
		"synthetic": nil,
		"parquet":   {"--set", "feed.synthetic=null", "--set", "feed.file={path: " + pq + ", preset: native}"},
	}
	grid := [][]string{
		{"risk.trailing_stop.trail_pct=15", "strategy.entry.target_delta=0.2"},
		{"risk.trailing_stop.trail_pct=15", "strategy.entry.target_delta=0.35"},
		{"risk.trailing_stop.trail_pct=30", "strategy.entry.target_delta=0.2"},
		{"risk.trailing_stop.trail_pct=30", "strategy.entry.target_delta=0.35"},
	}
	for name, set := range feeds {
		out := filepath.Join(dir, name)
		args := append([]string{"sweep", "testdata/small.yaml", "--grid", "risk.trailing_stop.trail_pct=15,30",
			"--grid", "strategy.entry.target_delta=0.2,0.35", "--out", out}, set...)
		code, _, stderr := cli(t, args...)
		if code != 0 {
			t.Fatalf("%s: sweep exit %d: %s", name, code, stderr)
		}
		if n := strings.Count(stderr, "[shared]") - 1; n != len(grid) {
			t.Fatalf("%s: %d runs on the shared decode, want %d:\n%s", name, n, len(grid), stderr)
		}
		alone := filepath.Join(dir, name+"-alone")
		for i, g := range grid {
			sets := append(append([]string{}, set...), "--set", g[0], "--set", g[1])
			id := "alone" + string(rune('a'+i))
			runSmall(t, alone, id, sets...)
			// The sweep's id of this combination.
			var ss []string
			for k := 1; k < len(set); k += 2 {
				ss = append(ss, set[k])
			}
			l, err := scenarios.Load("testdata/small.yaml", append(ss, g...))
			if err != nil {
				t.Fatal(err)
			}
			if err := runner.Prepare(context.Background(), l); err != nil {
				t.Fatal(err)
			}
			hash, _ := runner.ConfigHash(l)
			sameAcross(t, filepath.Join(out, l.Name+"-"+hash[:8]), filepath.Join(alone, id))
		}
	}
}

// sameAcross compares two run folders' tables and summary results.
func sameAcross(t *testing.T, a, b string) {
	t.Helper()
	dba, err := lake.OpenRuns(context.Background(), filepath.Dir(a))
	if err != nil {
		t.Fatal(err)
	}
	defer dba.Close()
	dbb, err := lake.OpenRuns(context.Background(), filepath.Dir(b))
	if err != nil {
		t.Fatal(err)
	}
	defer dbb.Close()
	for _, tb := range []struct {
		name, order string
		mayBeEmpty  bool
	}{
		{"risk_events", "seq", false}, {"fills", "seq", false}, {"equity", "1", false},
		{"trades", "execution_id", false}, {"attribution", "seq, execution_id", true},
	} {
		ra, rb := rows(t, dba, tb.name, filepath.Base(a), tb.order), rows(t, dbb, tb.name, filepath.Base(b), tb.order)
		if (len(ra) == 0 && !tb.mayBeEmpty) || !reflect.DeepEqual(ra, rb) {
			t.Errorf("%s %s: shared %d rows, alone %d rows; equal %v", filepath.Base(a), tb.name, len(ra), len(rb), reflect.DeepEqual(ra, rb))
		}
	}
	if summaryResults(t, a) != summaryResults(t, b) {
		t.Errorf("%s: summary.json results differ from the run alone", filepath.Base(a))
	}
}
