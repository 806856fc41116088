package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/optionsrisk/backtest/scenarios"
)

// sweepArgs is a 2×2 grid over the small scenario.
func sweepArgs(out string, extra ...string) []string {
	return append([]string{"sweep", "testdata/small.yaml", "--grid", "risk.trailing_stop.trail_pct=15,30",
		"--grid", "risk.circuit_breaker.failure_threshold=2,4", "--out", out, "-q"}, extra...)
}

func publishedRuns(t *testing.T, out string) []string {
	t.Helper()
	ents, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range ents {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") && !strings.HasPrefix(e.Name(), "_") {
			ids = append(ids, e.Name())
		}
	}
	return ids
}

func TestSweepWorkersGiveIdenticalRuns(t *testing.T) {
	one, two := t.TempDir(), t.TempDir()
	if code, _, stderr := cli(t, sweepArgs(one, "--workers", "1")...); code != 0 {
		t.Fatalf("sweep 1 worker: exit %d: %s", code, stderr)
	}
	code, stdout, stderr := cli(t, sweepArgs(two, "--workers", "2")...)
	if code != 0 {
		t.Fatalf("sweep 2 workers: exit %d: %s", code, stderr)
	}
	ids := publishedRuns(t, one)
	if len(ids) != 4 || !reflect.DeepEqual(ids, publishedRuns(t, two)) {
		t.Fatalf("runs %v vs %v, want the same 4", ids, publishedRuns(t, two))
	}
	// The sweep ends with the compare table: one row per run, the two
	// settings that differ as columns (short headers), money as money.
	for _, want := range append(ids, " trail_pct ", " failure_threshold ", " pnl ") {
		if !strings.Contains(stdout, want) {
			t.Errorf("compare table lacks %s:\n%s", want, stdout)
		}
	}
	db1, err := openRunsDB(context.Background(), one, true)
	if err != nil {
		t.Fatal(err)
	}
	defer db1.Close()
	db2, err := openRunsDB(context.Background(), two, true)
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	for _, id := range ids {
		for _, tb := range []string{"risk_events", "fills", "equity", "attribution"} {
			order := "seq"
			if tb == "equity" {
				order = "1"
			}
			if a, b := rows(t, db1, tb, id, order), rows(t, db2, tb, id, order); len(a) == 0 || !reflect.DeepEqual(a, b) {
				t.Errorf("%s %s: 1 worker and 2 workers differ (%d vs %d rows)", id, tb, len(a), len(b))
			}
		}
	}
	c1, c2 := catalogRows(t, db1), catalogRows(t, db2)
	if len(c1) != 4 || !reflect.DeepEqual(c1, c2) {
		t.Errorf("catalog rows differ:\n%v\n%v", c1, c2)
	}
	// Each sweep run equals the same run done alone.
	alone := t.TempDir()
	if code, _, stderr := cli(t, "run", "testdata/small.yaml", "--out", alone, "--run-id", "alone", "-q",
		"--set", "risk.trailing_stop.trail_pct=30", "--set", "risk.circuit_breaker.failure_threshold=4"); code != 0 {
		t.Fatal(stderr)
	}
	dbA, err := openRunsDB(context.Background(), alone, true)
	if err != nil {
		t.Fatal(err)
	}
	defer dbA.Close()
	var match int
	for _, id := range ids {
		if reflect.DeepEqual(rows(t, db1, "risk_events", id, "seq"), rows(t, dbA, "risk_events", "alone", "seq")) {
			match++
		}
	}
	if match != 1 {
		t.Errorf("%d sweep runs equal the run done alone, want exactly 1", match)
	}
}

func catalogRows(t *testing.T, db *sql.DB) []string {
	t.Helper()
	return scanRows(t, db, "SELECT * FROM runs ORDER BY run_id")
}

func TestSweepResumesAndShards(t *testing.T) {
	out := t.TempDir()
	// Shard 1/2 then 2/2 cover the grid between them, without overlap.
	if code, _, stderr := cli(t, sweepArgs(out, "--shard", "1/2")...); code != 0 {
		t.Fatal(stderr)
	}
	first := publishedRuns(t, out)
	if len(first) != 2 {
		t.Fatalf("shard 1/2 published %v, want 2 runs", first)
	}
	stamp := map[string]int64{}
	for _, id := range first {
		st, _ := os.Stat(filepath.Join(out, id, "run.json"))
		stamp[id] = st.ModTime().UnixNano()
	}
	if code, _, stderr := cli(t, sweepArgs(out, "--shard", "2/2")...); code != 0 {
		t.Fatal(stderr)
	}
	if all := publishedRuns(t, out); len(all) != 4 {
		t.Fatalf("shards 1/2 + 2/2 published %v, want 4 runs", all)
	}
	// Resuming the whole sweep runs nothing again.
	code, _, stderr := cli(t, append(sweepArgs(out), "-q=false")...)
	if code != 0 {
		t.Fatal(stderr)
	}
	if n := strings.Count(stderr, "already published, skipped"); n != 4 {
		t.Errorf("resume skipped %d runs, want 4:\n%s", n, stderr)
	}
	for id, ns := range stamp {
		st, _ := os.Stat(filepath.Join(out, id, "run.json"))
		if st.ModTime().UnixNano() != ns {
			t.Errorf("%s was run again", id)
		}
	}
	db, err := openRunsDB(context.Background(), out, true)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if n := len(catalogRows(t, db)); n != 4 {
		t.Errorf("catalog has %d rows, want one per run (4)", n)
	}
	for _, bad := range [][]string{{"--shard", "3/2"}, {"--shard", "x"}, {"--grid", "nonsense"}} {
		if code, _, _ := cli(t, append(sweepArgs(t.TempDir()), bad...)...); code != 2 {
			t.Errorf("sweep %v: exit %d, want 2", bad, code)
		}
	}
}

func TestCheckPassesUnchangedFailsOnChange(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "small.json")
	if code, _, stderr := cli(t, "check", "testdata/small.yaml", "--baseline", base, "--update"); code != 0 {
		t.Fatal(stderr)
	}
	code, stdout, stderr := cli(t, "check", "testdata/small.yaml", "--baseline", base)
	if code != 0 || !strings.Contains(stdout, "small: ok") {
		t.Fatalf("unchanged: exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, _ = cli(t, "check", "testdata/small.yaml", "--baseline", base, "--set", "risk.trailing_stop.trail_pct=35")
	if code != 1 || !strings.Contains(stdout, "DRIFT") || !strings.Contains(stdout, "trailing_stop.") || !strings.Contains(stdout, "→") {
		t.Fatalf("changed setting: exit %d, want 1 with a diff:\n%s", code, stdout)
	}
	code, stdout, _ = cli(t, "check", "testdata/small.yaml", "--baseline", base, "--set", "risk.trailing_stop.trail_pct=35", "--json")
	var cj struct {
		Drifted   int64 `json:"drifted"`
		Scenarios []struct {
			Status string `json:"status"`
			Drift  []struct {
				Field string `json:"field"`
				Was   any    `json:"was"`
				Now   any    `json:"now"`
			} `json:"drift"`
		} `json:"scenarios"`
	}
	if err := json.Unmarshal([]byte(stdout), &cj); err != nil || code != 1 || cj.Drifted != 1 || len(cj.Scenarios) != 1 ||
		cj.Scenarios[0].Status != "drift" || len(cj.Scenarios[0].Drift) == 0 || cj.Scenarios[0].Drift[0].Field == "" {
		t.Fatalf("check --json: exit %d, %v\n%s", code, err, stdout)
	}
	// A loose tolerance on money lets P&L move but counts still must match.
	b, _ := os.ReadFile(base)
	b = []byte(strings.Replace(string(b), `"relative": 1e-09`, `"relative": 1e-09, "fields": {"daily_pnl.": 1}`, 1))
	os.WriteFile(base, b, 0o644)
	if code, _, _ := cli(t, "check", "testdata/small.yaml", "--baseline", base); code != 0 {
		t.Errorf("baseline with field tolerances: exit %d", code)
	}
	if code, _, stderr := cli(t, "check", "testdata/small.yaml", "--baseline", filepath.Join(dir, "none.json")); code != 2 || !strings.Contains(stderr, "--update") {
		t.Errorf("missing baseline: exit %d %s", code, stderr)
	}
}

func TestBuiltinBaselinesAreCommitted(t *testing.T) {
	code, stdout, stderr := cli(t, "check", "--all", "--baseline-dir", "../../scenarios/baselines")
	if code != 0 {
		t.Fatalf("check --all: exit %d\n%s%s", code, stdout, stderr)
	}
	if n, want := strings.Count(stdout, ": ok"), len(scenarios.Builtins()); n != want {
		t.Errorf("%d built-ins matched their baselines, want %d:\n%s", n, want, stdout)
	}
}

func TestCompareQueryAndReport(t *testing.T) {
	out := t.TempDir()
	runSmall(t, out, "a")
	runSmall(t, out, "b", "--set", "risk.trailing_stop.trail_pct=35")
	a, b := filepath.Join(out, "a"), filepath.Join(out, "b")

	code, stdout, _ := cli(t, "compare", a, b, "--format", "json", "--sort", "+pnl.total")
	if code != 0 {
		t.Fatalf("compare: exit %d", code)
	}
	var cj struct {
		Runs []struct {
			RunID    string            `json:"run_id"`
			Settings map[string]string `json:"settings"`
			Metrics  map[string]any    `json:"metrics"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(stdout), &cj); err != nil {
		t.Fatalf("compare json: %v\n%s", err, stdout)
	}
	if len(cj.Runs) != 2 || !reflect.DeepEqual(slices.Sorted(mapsKeys(cj.Runs[0].Settings)), []string{"risk.trailing_stop.trail_pct"}) {
		t.Fatalf("compare should show exactly the differing setting: %+v", cj.Runs)
	}
	p0, _ := cj.Runs[0].Metrics["pnl.total"].(float64)
	p1, _ := cj.Runs[1].Metrics["pnl.total"].(float64)
	if p0 > p1 {
		t.Errorf("--sort +pnl.total: %v before %v", p0, p1)
	}
	if code, stdout, _ := cli(t, "compare", a, b, "--format", "md"); code != 0 || !strings.HasPrefix(stdout, "| run |") {
		t.Errorf("compare md: %d\n%s", code, stdout)
	}
	if code, stdout, _ := cli(t, "compare", a, b, "--format", "html"); code != 0 || !strings.Contains(stdout, "<svg") {
		t.Errorf("compare html: exit %d, no svg", code)
	}
	if code, _, _ := cli(t, "compare", a, "nowhere"); code != 2 {
		t.Errorf("compare with a bad folder: exit %d, want 2", code)
	}

	// query: counts by SQL equal the summary's event counts.
	code, stdout, stderr := cli(t, "query", "SELECT component, event_type, count(*) AS n FROM risk_events WHERE run_id = 'a' GROUP BY ALL ORDER BY ALL", "--out", out, "--format", "json")
	if code != 0 {
		t.Fatalf("query: %d %s", code, stderr)
	}
	var qrows []struct {
		Component string `json:"component"`
		EventType string `json:"event_type"`
		N         int64  `json:"n"`
	}
	if err := json.Unmarshal([]byte(stdout), &qrows); err != nil || len(qrows) == 0 {
		t.Fatalf("query json: %v\n%s", err, stdout)
	}
	var sum struct {
		Results struct {
			Events map[string]map[string]int64 `json:"events"`
		} `json:"results"`
	}
	sb, _ := os.ReadFile(filepath.Join(a, "summary.json"))
	json.Unmarshal(sb, &sum)
	total := 0
	for _, r := range qrows {
		if sum.Results.Events[r.Component][r.EventType] != r.N {
			t.Errorf("%s/%s: SQL %d, summary %d", r.Component, r.EventType, r.N, sum.Results.Events[r.Component][r.EventType])
		}
		total++
	}
	n := 0
	for _, m := range sum.Results.Events {
		n += len(m)
	}
	if n != total {
		t.Errorf("summary has %d event kinds, SQL %d", n, total)
	}
	if code, stdout, _ := cli(t, "query", "SELECT run_id FROM runs ORDER BY 1", "--out", out, "--format", "csv"); code != 0 || stdout != "run_id\na\nb\n" {
		t.Errorf("runs view: exit %d %q", code, stdout)
	}
	if code, _, _ := cli(t, "query", "SELECT nope FROM runs", "--out", out); code != 2 {
		t.Errorf("bad SQL: exit %d, want 2", code)
	}
	if code, stdout, _ := cli(t, "query", "SELECT count(*) AS n FROM runs", "--out", t.TempDir()); code != 0 || !strings.Contains(stdout, "0") {
		t.Errorf("empty runs folder: exit %d %s", code, stdout)
	}

	// report regenerates the same bytes.
	before := map[string][]byte{}
	for _, f := range []string{"summary.json", "report.md", "report.html"} {
		before[f], _ = os.ReadFile(filepath.Join(a, f))
		os.Remove(filepath.Join(a, f))
	}
	if code, _, stderr := cli(t, "report", a); code != 0 {
		t.Fatalf("report: %d %s", code, stderr)
	}
	for f, want := range before {
		got, _ := os.ReadFile(filepath.Join(a, f))
		if len(want) == 0 || string(got) != string(want) {
			t.Errorf("report regenerated %s differently (%d vs %d bytes)", f, len(got), len(want))
		}
	}
}

func TestSplitGridValues(t *testing.T) {
	got := splitValues(`10, [SPY, QQQ],{a: 1, b: 2}, "x,y", 'p,q',last`)
	want := []string{"10", "[SPY, QQQ]", "{a: 1, b: 2}", `"x,y"`, `'p,q'`, "last"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("splitValues = %q, want %q", got, want)
	}
}
