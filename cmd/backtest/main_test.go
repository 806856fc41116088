package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/optionsrisk/backtest/lake"
	"github.com/optionsrisk/backtest/scenarios"
)

// TestMain lets the tests run this binary as the CLI itself (for the
// SIGKILL test): BACKTEST_AS_CLI=1 makes it behave as main.
func TestMain(m *testing.M) {
	if os.Getenv("BACKTEST_AS_CLI") == "1" {
		main()
	}
	os.Exit(m.Run())
}

func cli(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = Main(context.Background(), args, &o, &e)
	return code, o.String(), e.String()
}

func runSmall(t *testing.T, out, id string, extra ...string) string {
	t.Helper()
	args := append([]string{"run", "testdata/small.yaml", "--out", out, "--run-id", id, "--json"}, extra...)
	code, stdout, stderr := cli(t, args...)
	if code != 0 {
		t.Fatalf("run exit %d: %s", code, stderr)
	}
	var j runJSON
	if err := json.Unmarshal([]byte(stdout), &j); err != nil {
		t.Fatalf("--json output: %v\n%s", err, stdout)
	}
	if j.RunDir != filepath.Join(out, id) {
		t.Fatalf("run_dir %q, want %q", j.RunDir, filepath.Join(out, id))
	}
	return stdout
}

// rows returns one run's table rows (run_id dropped) in table order, as text.
func rows(t *testing.T, db *sql.DB, table, runID, order string) []string {
	t.Helper()
	return scanRows(t, db, fmt.Sprintf("SELECT * EXCLUDE (run_id) FROM %s WHERE run_id = ? ORDER BY %s", table, order), runID)
}

// scanRows runs a query and returns its rows as text, one string a row.
func scanRows(t *testing.T, db *sql.DB, query string, args ...any) []string {
	t.Helper()
	r, err := db.Query(query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cols, _ := r.Columns()
	var out []string
	for r.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := r.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprint(vals...))
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRunIsDeterministic(t *testing.T) {
	out := t.TempDir()
	runSmall(t, out, "a")
	prev := runtime.GOMAXPROCS(1)
	runSmall(t, out, "b")
	runtime.GOMAXPROCS(prev)
	runSmall(t, out, "c", "--set", "risk.trailing_stop.trail_pct=35")

	db, err := lake.OpenRuns(context.Background(), out)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, tb := range []struct{ name, order string }{{"risk_events", "seq"}, {"fills", "seq"}, {"equity", "event_time"}} {
		order := tb.order
		if tb.name == "equity" {
			order = "1"
		}
		a, b := rows(t, db, tb.name, "a", order), rows(t, db, tb.name, "b", order)
		if len(a) == 0 {
			t.Fatalf("%s: run a wrote no rows", tb.name)
		}
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s differs between two runs (GOMAXPROCS default vs 1)", tb.name)
		}
	}
	// summary.json's results are byte-identical; only the run part (wall
	// clock, run id) differs.
	resultsOf := func(id string) string {
		b, err := os.ReadFile(filepath.Join(out, id, "summary.json"))
		if err != nil {
			t.Fatal(err)
		}
		i := strings.Index(string(b), `"run": {`)
		if i < 0 {
			t.Fatalf("summary.json of %s has no run part", id)
		}
		return string(b[:i])
	}
	if ra, rb := resultsOf("a"), resultsOf("b"); ra != rb || !strings.Contains(ra, `"results"`) {
		t.Error("summary.json results differ between two runs of the same scenario")
	}
	// The comparison can fail: another trail gives other events.
	if a, c := rows(t, db, "risk_events", "a", "seq"), rows(t, db, "risk_events", "c", "seq"); reflect.DeepEqual(a, c) {
		t.Error("trail_pct 20 and 35 gave identical risk events")
	}
	var n int64
	var maxSeq int64
	if err := db.QueryRow("SELECT count(*), max(seq) FROM risk_events WHERE run_id = 'a'").Scan(&n, &maxSeq); err != nil {
		t.Fatal(err)
	}
	if n != maxSeq {
		t.Errorf("risk_events seq is not 1..n: %d rows, max seq %d", n, maxSeq)
	}
	var comps int
	if err := db.QueryRow("SELECT count(DISTINCT component) FROM risk_events WHERE run_id = 'a'").Scan(&comps); err != nil {
		t.Fatal(err)
	}
	if comps != 3 {
		t.Errorf("small run has events of %d components, want 3", comps)
	}
}

func TestRunFolderLayout(t *testing.T) {
	out := t.TempDir()
	stdout := runSmall(t, out, "r1")
	dir := filepath.Join(out, "r1")
	for _, f := range []string{"risk_events/_delta_log/00000000000000000000.json", "fills/_delta_log", "equity/_delta_log", "run.json", "scenario.yaml"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("run folder lacks %s: %v", f, err)
		}
	}
	var meta map[string]any
	b, _ := os.ReadFile(filepath.Join(dir, "run.json"))
	if err := json.Unmarshal(b, &meta); err != nil || meta["status"] != "succeeded" || meta["run_id"] != "r1" {
		t.Errorf("run.json = %s (%v)", b, err)
	}
	// The resolved scenario runs again and gives the same events.
	code, stdout2, stderr := cli(t, "run", filepath.Join(dir, "scenario.yaml"), "--out", out, "--run-id", "r2", "--json")
	if code != 0 {
		t.Fatalf("rerun of the resolved scenario: exit %d: %s", code, stderr)
	}
	var j1, j2 runJSON
	json.Unmarshal([]byte(stdout), &j1)
	json.Unmarshal([]byte(stdout2), &j2)
	if !reflect.DeepEqual(j1.Events, j2.Events) || j1.PnL != j2.PnL {
		t.Errorf("resolved scenario replays differently: %v / %v, pnl %v / %v", j1.Events, j2.Events, j1.PnL, j2.PnL)
	}
	// Staging is empty once runs are published.
	ents, _ := os.ReadDir(filepath.Join(out, ".staging"))
	if len(ents) != 0 {
		t.Errorf("staging not empty: %v", ents)
	}
	// A second run with the same id is refused, exit 2.
	if code, _, stderr := cli(t, "run", "testdata/small.yaml", "--out", out, "--run-id", "r1"); code != 2 || !strings.Contains(stderr, "run id r1 is already published") {
		t.Errorf("duplicate run id: exit %d, %s", code, stderr)
	}
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good, err := os.ReadFile("testdata/small.yaml")
	if err != nil {
		t.Fatal(err)
	}
	replace := func(old, new string) string {
		if !bytes.Contains(good, []byte(old)) {
			t.Fatalf("fixture lacks %q", old)
		}
		return strings.Replace(string(good), old, new, 1)
	}
	cases := []struct {
		name string
		args []string
		want []string // substrings of stderr
	}{
		{"malformed yaml", []string{write("bad.yaml", "name: [unclosed\n")}, []string{"bad.yaml:1:"}},
		{"unknown key", []string{write("unk.yaml", replace("capital: 50000", "capital: 50000\ncapitol: 1"))}, []string{"unk.yaml:7:1", `unknown field "capitol"`}},
		{"wrong type", []string{write("type.yaml", replace("capital: 50000", "capital: lots"))}, []string{"type.yaml:6:10", "capital"}},
		{"negative threshold", []string{write("neg.yaml", replace("failure_threshold: 2", "failure_threshold: -2"))}, []string{"neg.yaml:", "risk.circuit_breaker.failure_threshold", "-2"}},
		{"trail over 100", []string{write("trail.yaml", replace("trail_pct: 20", "trail_pct: 120"))}, []string{"trail.yaml:", "risk.trailing_stop.trail_pct"}},
		{"impossible period", []string{write("period.yaml", replace("end: 2019-07-12", "end: 2019-07-01"))}, []string{"period.yaml:", "period.end"}},
		{"missing feed file", []string{write("nofile.yaml", "name: x\nperiod: {start: 2019-07-08, end: 2019-07-12}\nfeed: {file: {path: "+filepath.Join(dir, "missing.csv")+", preset: deltaneutral}}\n")}, []string{"missing.csv"}},
		{"feed missing columns", []string{write("cols.yaml", "name: x\nperiod: {start: 2019-07-08, end: 2019-07-12}\nfeed: {file: {path: "+write("cols.csv", "time,bid\n2019-07-08 10:00:00,1.0\n")+", format: csv, columns: {time: time, bid: bid}}}\n")}, []string{"feed"}},
		{"empty feed", []string{write("empty.yaml", "name: x\nperiod: {start: 2019-07-08, end: 2019-07-12}\nfeed: {file: {path: "+write("empty.csv", "")+", preset: deltaneutral}}\n")}, []string{"empty.csv"}},
		{"non-numeric bid", []string{write("nonnum.yaml", "name: x\nperiod: {start: 2020-03-16, end: 2020-03-20}\nfeed: {file: {path: "+write("nonnum.csv", dnHeader+dnRow(1, "58.1")+dnRow(2, "cheap"))+", preset: deltaneutral}}\n")}, []string{"nonnum.csv"}},
		{"header-only feed", []string{write("hdr.yaml", "name: x\nperiod: {start: 2020-03-16, end: 2020-03-20}\nfeed: {file: {path: "+write("hdr.csv", dnHeader)+", preset: deltaneutral}}\n")}, []string{"hdr.csv"}},
		{"no quotes in the period", []string{write("outside.yaml", "name: x\nperiod: {start: 2019-01-07, end: 2019-01-11}\nfeed: {file: {path: "+write("outside.csv", dnHeader+dnRow(1, "58.1"))+", preset: deltaneutral}}\n")}, []string{"no quotes between 2019-01-07 and 2019-01-11"}},
		{"bad --set path", []string{"testdata/small.yaml", "--set", "risk.trailing_stop.trial_pct=30"}, []string{"risk.trailing_stop.trial_pct", "unknown field", "--set"}},
		{"bad --set value", []string{"testdata/small.yaml", "--set", "risk.trailing_stop.trail_pct=wide"}, []string{"trail_pct", "wide"}},
		{"bad run id", []string{"testdata/small.yaml", "--run-id", "../escape"}, []string{"run id"}},
		{"no such scenario", []string{"no_such_scenario"}, []string{"not a built-in", "spy_crash"}},
		{"unknown flag", []string{"testdata/small.yaml", "--sett", "x=1"}, []string{"unknown flag"}},
		{"no argument", []string{}, []string{"takes 1 argument"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "runs")
			code, _, stderr := cli(t, append(append([]string{"run"}, c.args...), "--out", out, "-q")...)
			if code != 2 {
				t.Fatalf("exit %d, want 2; stderr: %s", code, stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			ents, _ := os.ReadDir(out)
			for _, e := range ents {
				if e.Name() != ".staging" {
					t.Errorf("bad input left a run folder %s", e.Name())
				}
			}
			staged, _ := os.ReadDir(filepath.Join(out, ".staging"))
			if len(staged) != 0 {
				t.Errorf("bad input left staging folders %v", staged)
			}
		})
	}
}

// A deltaneutral header and rows (the vendor layout, with its leading-space
// " exchange" column).
const dnHeader = "underlying,underlying_last, exchange,optionroot,optionext,type,expiration,quotedate,strike,last,bid,ask,volume,openinterest,impliedvol,delta,gamma,theta,vega,optionalias\n"

func dnRow(i int, bid string) string {
	return fmt.Sprintf("SPX,2711.02,*,SPXW200320P0%d400000,,put,03/20/2020,03/16/2020,%d400,60.5,%s,61.3,1520,20311,0.8912,-0.2311,0.0012,-5.1201,1.2033,x\n", i+1, i+1, bid)
}

func TestValidateAndScenarios(t *testing.T) {
	code, stdout, _ := cli(t, "scenarios")
	for _, name := range []string{"spy_crash", "volmageddon", "calm_2019", "broker_outage"} {
		if code != 0 || !strings.Contains(stdout, name) {
			t.Errorf("scenarios: exit %d, missing %s:\n%s", code, name, stdout)
		}
	}
	if code, stdout, stderr := cli(t, "validate", "spy_crash"); code != 0 || !strings.Contains(stdout, "ok") {
		t.Errorf("validate spy_crash: exit %d %s %s", code, stdout, stderr)
	}
	if code, _, stderr := cli(t, "validate", "spy_crash", "--set", "risk.trailing_stop.trail_pct=100"); code != 2 || !strings.Contains(stderr, "trail_pct") {
		t.Errorf("validate with a bad --set: exit %d %s", code, stderr)
	}
	code, stdout, _ = cli(t, "run", "--help")
	if code != 0 || !strings.Contains(stdout, "Examples:") || !strings.Contains(stdout, "backtest run scenarios/spy_crash.yaml") {
		t.Errorf("run --help lacks an example:\n%s", stdout)
	}
}

// TestDataGenReplays writes the synthetic feed to Parquet and checks that a
// run on the file gives the same risk events and fills as the generator.
func TestDataGenReplays(t *testing.T) {
	dir := t.TempDir()
	pq := filepath.Join(dir, "small.parquet")
	if code, _, stderr := cli(t, "data", "gen", "testdata/small.yaml", "-o", pq); code != 0 {
		t.Fatalf("data gen: exit %d: %s", code, stderr)
	}
	out := filepath.Join(dir, "runs")
	runSmall(t, out, "gen")
	runSmall(t, out, "file", "--set", "feed.synthetic=null", "--set", "feed.file={path: "+pq+", preset: native}")
	db, err := lake.OpenRuns(context.Background(), out)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, tb := range []string{"risk_events", "fills"} {
		a, b := rows(t, db, tb, "gen", "seq"), rows(t, db, tb, "file", "seq")
		if len(a) == 0 || !reflect.DeepEqual(a, b) {
			t.Errorf("%s: %d rows from the generator, %d from the file; equal %v", tb, len(a), len(b), reflect.DeepEqual(a, b))
		}
	}
}

// TestKilledRunPublishesNothing SIGKILLs a run midway: nothing is published
// and the next run succeeds.
func TestKilledRunPublishesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a long run")
	}
	out := t.TempDir()
	exe, _ := os.Executable()
	cmd := exec.Command(exe, "run", "calm_2019", "--set", "feed.synthetic.every=1m", "--out", out, "--run-id", "killed", "-q")
	cmd.Env = append(os.Environ(), "BACKTEST_AS_CLI=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until the run has committed to its staging tables, then kill it.
	deadline := time.Now().Add(60 * time.Second)
	for {
		m, _ := filepath.Glob(filepath.Join(out, ".staging", "killed.*", "risk_events", "*.parquet"))
		if len(m) > 0 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("run never started writing")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
		t.Skipf("the run finished before it could be killed (%v)", err)
	}
	if _, err := os.Stat(filepath.Join(out, "killed")); !os.IsNotExist(err) {
		t.Fatalf("a killed run was published: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(out, ".staging", "killed.*.*")); len(left) != 1 {
		t.Fatalf("a killed run should leave its staging folder until the next run, found %v", left)
	}
	runSmall(t, out, "after")
	if left, _ := os.ReadDir(filepath.Join(out, ".staging")); len(left) != 0 {
		t.Errorf("the next run did not clean the dead run's staging folder: %v", left)
	}
	db, err := lake.OpenRuns(context.Background(), out)
	if err != nil {
		t.Fatalf("runs folder with a killed run's staging: %v", err)
	}
	defer db.Close()
	var ids []string
	r, err := db.Query("SELECT DISTINCT run_id FROM risk_events ORDER BY 1")
	if err != nil {
		t.Fatal(err)
	}
	for r.Next() {
		var s string
		r.Scan(&s)
		ids = append(ids, s)
	}
	r.Close()
	if !reflect.DeepEqual(ids, []string{"after"}) {
		t.Fatalf("runs visible after a killed run: %v", ids)
	}
}

// TestReplayFromCSV replays the built-in log from a CSV file: the same
// events as the inline log. Two stop settings give different trades.
func TestReplayFromCSV(t *testing.T) {
	dir := t.TempDir()
	l, err := scenarios.Load("replay_fills", nil)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("time,execution_id,contract,side,qty,price,status\n")
	for _, f := range l.Strategy.Replay.Fills {
		fmt.Fprintf(&b, "%s,%s,%s,%s,%d,%g,%s\n", f.Time.Format(time.RFC3339), f.ExecutionID, f.Contract, f.Side, f.Qty, f.Price, f.Status)
	}
	csv := filepath.Join(dir, "log.csv")
	if err := os.WriteFile(csv, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "runs")
	run := func(id string, sets ...string) {
		args := []string{"run", "replay_fills", "--out", out, "--run-id", id, "-q"}
		for _, s := range sets {
			args = append(args, "--set", s)
		}
		if code, _, stderr := cli(t, args...); code != 0 {
			t.Fatalf("%s: exit %d: %s", id, code, stderr)
		}
	}
	run("inline")
	run("csv", "strategy.replay.fills=null", "strategy.replay.path="+csv)
	run("wide", "risk.trailing_stop.trail_pct=60")
	db, err := lake.OpenRuns(context.Background(), out)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	a, c := rows(t, db, "risk_events", "inline", "seq"), rows(t, db, "risk_events", "csv", "seq")
	if len(a) == 0 || !reflect.DeepEqual(a, c) {
		t.Errorf("replay from CSV differs from the inline log (%d vs %d events)", len(a), len(c))
	}
	var failures int
	if err := db.QueryRow("SELECT count(*) FROM risk_events WHERE run_id = 'inline' AND event_type = 'failure'").Scan(&failures); err != nil {
		t.Fatal(err)
	}
	if failures != 2 {
		t.Errorf("the log's 2 recorded rejects gave %d breaker failures", failures)
	}
	if reflect.DeepEqual(rows(t, db, "fills", "inline", "seq"), rows(t, db, "fills", "wide", "seq")) {
		t.Error("trail 25 and trail 60 gave the same fills")
	}
}

// Relative feed paths resolve against the scenario file's folder, and the
// resolved copy in the run folder re-runs from anywhere.
func TestRelativeFeedPath(t *testing.T) {
	dir := t.TempDir()
	b, err := os.ReadFile("testdata/small.yaml")
	if err != nil {
		t.Fatal(err)
	}
	scen := filepath.Join(dir, "small.yaml")
	if err := os.WriteFile(scen, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := cli(t, "data", "gen", scen, "-o", filepath.Join(dir, "feed.parquet")); code != 0 {
		t.Fatal(stderr)
	}
	out := filepath.Join(dir, "runs")
	run := func(id, scenario string, sets ...string) {
		args := []string{"run", scenario, "--out", out, "--run-id", id, "-q"}
		for _, s := range sets {
			args = append(args, "--set", s)
		}
		if code, _, stderr := cli(t, args...); code != 0 {
			t.Fatalf("%s: exit %d: %s", id, code, stderr)
		}
	}
	run("rel", scen, "feed.synthetic=null", "feed.file={path: feed.parquet, preset: native}")
	resolved := filepath.Join(out, "rel", "scenario.yaml")
	if b, _ := os.ReadFile(resolved); !strings.Contains(string(b), filepath.Join(dir, "feed.parquet")) {
		t.Fatalf("resolved scenario does not name the feed by its absolute path:\n%s", b)
	}
	run("again", resolved)
	db, err := lake.OpenRuns(context.Background(), out)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if a, b := rows(t, db, "fills", "rel", "seq"), rows(t, db, "fills", "again", "seq"); len(a) == 0 || !reflect.DeepEqual(a, b) {
		t.Errorf("the resolved scenario replays differently (%d vs %d fills)", len(a), len(b))
	}
}

// A Delta table feed (active files listed by lake, read by feeds) replays
// the same quotes as the Parquet file it was made from.
func TestDeltaFeed(t *testing.T) {
	dir := t.TempDir()
	pq := filepath.Join(dir, "feed.parquet")
	if code, _, stderr := cli(t, "data", "gen", "testdata/small.yaml", "-o", pq); code != 0 {
		t.Fatal(stderr)
	}
	// A Delta table of the same rows, in two commits (two data files).
	// Delta has no unsigned types: the table keeps every column but the
	// native file's contract index.
	tbl, err := lake.QueryArrow(context.Background(), "SELECT * EXCLUDE (contract) FROM read_parquet('"+pq+"') ORDER BY time, symbol")
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	table, err := lake.Create(filepath.Join(dir, "quotes"), tbl.Schema())
	if err != nil {
		t.Fatal(err)
	}
	rr := array.NewTableReader(tbl, tbl.NumRows()/2+1)
	defer rr.Release()
	for rr.Next() {
		if _, err := table.Append(context.Background(), []arrow.RecordBatch{rr.RecordBatch()}, lake.CommitInfo{Operation: "WRITE"}); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(dir, "runs")
	runSmall(t, out, "parquet", "--set", "feed.synthetic=null", "--set", "feed.file={path: "+pq+", preset: native}")
	runSmall(t, out, "delta", "--set", "feed.synthetic=null", "--set", "feed.file={path: "+filepath.Join(dir, "quotes")+", format: delta, preset: native}")
	db, err := lake.OpenRuns(context.Background(), out)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, tb := range []string{"risk_events", "fills"} {
		if a, b := rows(t, db, tb, "parquet", "seq"), rows(t, db, tb, "delta", "seq"); len(a) == 0 || !reflect.DeepEqual(a, b) {
			t.Errorf("%s: Parquet feed %d rows, Delta feed %d rows, equal %v", tb, len(a), len(b), reflect.DeepEqual(a, b))
		}
	}
}
