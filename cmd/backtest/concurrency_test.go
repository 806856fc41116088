package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/optionsrisk/backtest/internal/runner"
	"github.com/optionsrisk/backtest/lake"
)

// proc is a finished CLI subprocess.
type proc struct {
	code           int
	stdout, stderr string
	elapsed        time.Duration
}

// spawn starts this test binary as the CLI.
func spawn(t *testing.T, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), "BACKTEST_AS_CLI=1")
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, &o, &e
}

// runProcs runs the argument lists as concurrent CLI processes, each
// killed after timeout.
func runProcs(t *testing.T, timeout time.Duration, argss ...[]string) []proc {
	t.Helper()
	out := make([]proc, len(argss))
	var wg sync.WaitGroup
	for i, args := range argss {
		cmd, o, e := spawn(t, args...)
		start := time.Now()
		wg.Go(func() {
			timer := time.AfterFunc(timeout, func() { cmd.Process.Kill() })
			defer timer.Stop()
			cmd.Wait()
			out[i] = proc{code: cmd.ProcessState.ExitCode(), stdout: o.String(), stderr: e.String(), elapsed: time.Since(start)}
		})
	}
	wg.Wait()
	return out
}

// catalogRunIDs is every active catalog row's run id, sorted, duplicates
// kept (the raw table, not the query view).
func catalogRunIDs(t *testing.T, out string) []string {
	t.Helper()
	snap, err := lake.Snapshot(filepath.Join(out, runner.CatalogDir), -1)
	if errors.Is(err, lake.ErrNotTable) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := snap.ReadArrow(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	var ids []string
	tr := array.NewTableReader(tbl, 0)
	defer tr.Release()
	for tr.Next() {
		col := tr.RecordBatch().Column(0).(*array.String)
		for i := range col.Len() {
			ids = append(ids, strings.Clone(col.Value(i)))
		}
	}
	slices.Sort(ids)
	return ids
}

// assertCatalogued checks published ⇔ catalogued, each run once, and
// returns the runs.
func assertCatalogued(t *testing.T, out string) []string {
	t.Helper()
	pub := publishedRuns(t, out)
	if got := catalogRunIDs(t, out); !slices.Equal(pub, got) {
		t.Fatalf("run folders %v, catalog rows %v", pub, got)
	}
	return pub
}

// Four processes run the same scenario with default ids into one folder:
// four distinct runs, each catalogued once.
func TestConcurrentRunsGetDistinctIDs(t *testing.T) {
	out := t.TempDir()
	args := []string{"run", "testdata/small.yaml", "--out", out, "-q"}
	ps := runProcs(t, 60*time.Second, args, args, args, args)
	for i, p := range ps {
		if p.code != 0 {
			t.Fatalf("process %d: exit %d: %s", i, p.code, p.stderr)
		}
	}
	runs := assertCatalogued(t, out)
	if len(runs) != 4 {
		t.Fatalf("4 runs expected, got %v", runs)
	}
	base := runs[0]
	want := []string{base, base + ".2", base + ".3", base + ".4"}
	if !slices.Equal(runs, want) {
		t.Fatalf("runs %v, want %v", runs, want)
	}
}

// Two processes with the same --run-id: one publishes, the other exits 2
// naming the other writer (or the published run, when it came second).
func TestSameRunIDTwoProcesses(t *testing.T) {
	out := t.TempDir()
	args := []string{"run", "testdata/small.yaml", "--out", out, "--run-id", "same", "-q"}
	ps := runProcs(t, 60*time.Second, args, args)
	codes := []int{ps[0].code, ps[1].code}
	slices.Sort(codes)
	if !slices.Equal(codes, []int{0, 2}) {
		t.Fatalf("exit codes %v, want one 0 and one 2:\n%s\n%s", codes, ps[0].stderr, ps[1].stderr)
	}
	loser := ps[0]
	if loser.code == 0 {
		loser = ps[1]
	}
	if !strings.Contains(loser.stderr, "run id same is being written by another process") &&
		!strings.Contains(loser.stderr, "run id same is already published") {
		t.Fatalf("loser says %q", loser.stderr)
	}
	if runs := assertCatalogued(t, out); !slices.Equal(runs, []string{"same"}) {
		t.Fatalf("runs %v", runs)
	}
	code, _, stderr := cli(t, args...)
	if code != exitBadInput || !strings.Contains(stderr, "run id same is already published") {
		t.Fatalf("a third run: exit %d %q", code, stderr)
	}
}

// Two sweeps whose grids overlap, into one folder: both exit 0, every run
// once in the folder and the catalog.
func TestOverlappingSweeps(t *testing.T) {
	out := t.TempDir()
	a := []string{"sweep", "testdata/small.yaml", "--grid", "risk.trailing_stop.trail_pct=15,30,45", "--out", out, "-q", "--workers", "2"}
	b := []string{"sweep", "testdata/small.yaml", "--grid", "risk.trailing_stop.trail_pct=30,45,60", "--out", out, "-q", "--workers", "2"}
	ps := runProcs(t, 90*time.Second, a, b)
	for i, p := range ps {
		if p.code != 0 {
			t.Fatalf("sweep %d: exit %d: %s", i, p.code, p.stderr)
		}
	}
	if runs := assertCatalogued(t, out); len(runs) != 4 {
		t.Fatalf("4 distinct runs expected, got %v", runs)
	}
}

// SIGKILL at random points of run (staging, rename, catalog commit,
// checkpoint), then the next command: published ⇔ catalogued, each once.
func TestSIGKILLThenNextCommandReconciles(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	out := t.TempDir()
	killed := 0
	for i := range 8 {
		cmd, _, _ := spawn(t, "run", "testdata/small.yaml", "--out", out, "-q")
		time.Sleep(time.Duration(60+45*i) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			killed++
		}
	}
	if killed == 0 {
		t.Skip("no run was killed before it finished")
	}
	code, _, stderr := cli(t, "runs", "gc", "--out", out)
	if code != 0 {
		t.Fatalf("runs gc: exit %d: %s", code, stderr)
	}
	runs := assertCatalogued(t, out)
	// The next run is not blocked by a dead process's reservation.
	code, _, stderr = cli(t, "run", "testdata/small.yaml", "--out", out, "-q")
	if code != 0 {
		t.Fatalf("run after kills: exit %d: %s", code, stderr)
	}
	if after := assertCatalogued(t, out); len(after) != len(runs)+1 {
		t.Fatalf("after one more run: %v (before %v)", after, runs)
	}
	t.Logf("%d of 8 runs killed, %d published", killed, len(runs))
}

// runs rm and runs gc; a row whose folder is gone is hidden from the runs
// view at once.
func TestRunsRmAndGC(t *testing.T) {
	out := t.TempDir()
	runSmall(t, out, "a")
	runSmall(t, out, "b")
	runSmall(t, out, "c")
	if err := os.RemoveAll(filepath.Join(out, "b")); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := cli(t, "query", "SELECT run_id FROM runs ORDER BY 1", "--out", out, "--format", "csv")
	if code != 0 || stdout != "run_id\na\nc\n" {
		t.Fatalf("runs view with b's folder gone: exit %d %q %s", code, stdout, stderr)
	}
	if code, _, stderr := cli(t, "runs", "rm", "a", "--out", out); code != 0 {
		t.Fatalf("runs rm: %d %s", code, stderr)
	}
	if code, stdout, _ := cli(t, "runs", "gc", "--out", out); code != 0 || !strings.Contains(stdout, "removed catalog row of b") {
		t.Fatalf("runs gc: %d %q", code, stdout)
	}
	if runs := assertCatalogued(t, out); !slices.Equal(runs, []string{"c"}) {
		t.Fatalf("after rm a and gc: %v", runs)
	}
	if code, _, stderr := cli(t, "runs", "rm", "zzz", "--out", out); code != exitBadInput || !strings.Contains(stderr, "no run zzz") {
		t.Fatalf("rm of an unknown id: %d %q", code, stderr)
	}
	if code, _, _ := cli(t, "runs", "rm", "../x", "--out", out); code != exitBadInput {
		t.Fatalf("rm ../x: exit %d, want 2", code)
	}
}

// A 10,000-combination grid expands lazily: a shard loads only its share.
func TestShardOfLargeGridIsCheap(t *testing.T) {
	var a, b []string
	for i := range 100 {
		a = append(a, fmt.Sprint(10+i))
		b = append(b, fmt.Sprint(1+i))
	}
	grids := []string{"risk.trailing_stop.trail_pct=" + strings.Join(a, ","), "seed=" + strings.Join(b, ",")}
	start := time.Now()
	jobs, err := sweepJobs(context.Background(), "testdata/small.yaml", nil, grids, 3, 5000, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 2 || jobs[0].index != 2 || jobs[1].index != 5002 {
		t.Fatalf("shard 3/5000: %d jobs", len(jobs))
	}
	// Combination 5002: trail_pct index 50, seed index 2.
	if want := []string{"risk.trailing_stop.trail_pct=60", "seed=3"}; !slices.Equal(jobs[1].sets, want) {
		t.Fatalf("combination 5002 = %v, want %v", jobs[1].sets, want)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("loading a 2-run shard of 10,000 took %s", d)
	}
}

// A catalog that cannot be written after the publish: the run exits 0
// and says it is published and needs no retry; the next command repairs
// the catalog.
func TestCatalogFailureAfterPublish(t *testing.T) {
	out := t.TempDir()
	if err := os.WriteFile(filepath.Join(out, runner.CatalogDir), []byte("not a table"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := cli(t, "run", "testdata/small.yaml", "--out", out, "--run-id", "r", "-q")
	if code != 0 || !strings.Contains(stderr, "run r is published at") || !strings.Contains(stderr, "needs no retry") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if !strings.Contains(stdout, "run r") {
		t.Fatalf("the summary is still printed: %q", stdout)
	}
	os.Remove(filepath.Join(out, runner.CatalogDir))
	code, _, stderr = cli(t, "query", "SELECT run_id FROM runs", "--out", out)
	if code != 0 || !strings.Contains(stderr, "added 1 published run") {
		t.Fatalf("next command: exit %d %q", code, stderr)
	}
	if runs := assertCatalogued(t, out); !slices.Equal(runs, []string{"r"}) {
		t.Fatalf("runs %v", runs)
	}
}
