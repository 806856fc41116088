package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/optionsrisk/backtest/internal/runner"
	"github.com/optionsrisk/backtest/lake"
)

// The CLI on an object store: the S3 test server .ci/s3-server starts.
// Every test skips with a message when none answers at
// BACKTEST_TEST_S3_ENDPOINT.

// s3Lake points the process's object store (and child processes) at the
// test server and returns a fresh s3:// runs folder.
func s3Lake(t *testing.T) string {
	t.Helper()
	ep := os.Getenv("BACKTEST_TEST_S3_ENDPOINT")
	if ep == "" {
		t.Skip("no S3 test server: BACKTEST_TEST_S3_ENDPOINT is unset (eval \"$(.ci/s3-server)\")")
	}
	u, err := url.Parse(ep)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.DialTimeout("tcp", u.Host, time.Second)
	if err != nil {
		t.Skipf("no S3 test server answers at %s: %v", ep, err)
	}
	c.Close()
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL": ep, "AWS_ENDPOINT_URL_S3": ep, "AWS_REGION": "us-east-1",
		"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_EC2_METADATA_DISABLED": "true",
	} {
		if os.Getenv(k) == "" {
			t.Setenv(k, v)
		}
	}
	bucket := os.Getenv("BACKTEST_TEST_S3_BUCKET")
	if bucket == "" {
		bucket = "backtest-test"
	}
	return fmt.Sprintf("s3://%s/cli-%d-%d/runs", bucket, os.Getpid(), time.Now().UnixNano())
}

func objectFS(t *testing.T, out string) lake.FS {
	t.Helper()
	fsys, err := lake.FSFor(out)
	if err != nil {
		t.Fatal(err)
	}
	return fsys
}

// copyLocal fetches the published runs and the catalog of an s3:// runs
// folder into a local runs folder.
func copyLocal(t *testing.T, out string) string {
	t.Helper()
	ctx := context.Background()
	fsys := objectFS(t, out)
	c, err := lake.NewCache(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := runner.PublishedRuns(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range append(ids, runner.CatalogDir) {
		if _, err := c.FetchTree(ctx, fsys, lake.JoinPath(out, id)); err != nil {
			t.Fatal(err)
		}
	}
	return c.LocalPath(out)
}

func queryOut(t *testing.T, out, sql string) string {
	t.Helper()
	code, stdout, stderr := cli(t, "query", "--out", out, "--format", "csv", sql)
	if code != 0 {
		t.Fatalf("query %q over %s: exit %d: %s", sql, out, code, stderr)
	}
	return stdout
}

func TestRunReportCompareQueryOnObjectStore(t *testing.T) {
	out := s3Lake(t)
	runSmall(t, out, "a")
	runSmall(t, out, "b", "--set", "risk.trailing_stop.trail_pct=30")
	fsys := objectFS(t, out)
	for _, id := range []string{"a", "b"} {
		st, _, err := runner.StateOf(fsys, lake.JoinPath(out, id), time.Now())
		if err != nil || st != runner.StatePublished {
			t.Fatalf("%s: %s %v", id, st, err)
		}
	}
	// A second run with the same id is refused, as locally.
	if code, _, _ := cli(t, "run", "testdata/small.yaml", "--out", out, "--run-id", "a", "-q"); code == 0 {
		t.Fatal("a second run a was published")
	}
	local := copyLocal(t, out)
	for _, q := range []string{
		"SELECT run_id, count(*), round(sum(value), 6) FROM risk_events GROUP BY ALL ORDER BY ALL",
		"SELECT * FROM fills ORDER BY run_id, seq",
		"SELECT run_id, count(*), max(equity) FROM equity GROUP BY ALL ORDER BY ALL",
		"SELECT run_id, pnl, trades FROM runs ORDER BY run_id",
	} {
		if a, b := queryOut(t, out, q), queryOut(t, local, q); a != b || strings.Count(a, "\n") < 2 {
			t.Fatalf("%s:\ns3:\n%s\nlocal:\n%s", q, a, b)
		}
	}
	code, stdout, stderr := cli(t, "compare", lake.JoinPath(out, "a"), lake.JoinPath(out, "b"))
	if code != 0 || !strings.Contains(stdout, "a") {
		t.Fatalf("compare: exit %d %s %s", code, stdout, stderr)
	}
	code, stdout, stderr = cli(t, "report", lake.JoinPath(out, "a"))
	if code != 0 || stdout == "" {
		t.Fatalf("report: exit %d %s", code, stderr)
	}
}

// A Parquet and a Delta feed at s3:// paths replay the same quotes as the
// local files they were copied from.
func TestFeedsFromObjectStore(t *testing.T) {
	out := s3Lake(t)
	dir := t.TempDir()
	pq := filepath.Join(dir, "feed.parquet")
	if code, _, stderr := cli(t, "data", "gen", "testdata/small.yaml", "-o", pq); code != 0 {
		t.Fatal(stderr)
	}
	feedDir := strings.TrimSuffix(out, "/runs") + "/feeds"
	fsys := objectFS(t, out)
	if err := lake.CopyFileTo(fsys, pq, feedDir+"/feed.parquet"); err != nil {
		t.Fatal(err)
	}
	// A Delta table of the same rows (two commits), uploaded.
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
		if _, err := table.Append(context.Background(), []arrow.RecordBatch{rr.RecordBatch()}, lake.CommitInfo{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := lake.UploadTree(context.Background(), fsys, filepath.Join(dir, "quotes"), feedDir+"/quotes"); err != nil {
		t.Fatal(err)
	}
	local := filepath.Join(dir, "runs")
	runSmall(t, local, "parquet", "--set", "feed.synthetic=null", "--set", "feed.file={path: "+pq+", preset: native}")
	runSmall(t, local, "delta", "--set", "feed.synthetic=null", "--set", "feed.file={path: "+filepath.Join(dir, "quotes")+", format: delta, preset: native}")
	runSmall(t, local, "s3delta", "--set", "feed.synthetic=null", "--set", "feed.file={path: "+feedDir+"/quotes, format: delta, preset: native}")
	runSmall(t, local, "s3parquet", "--set", "feed.synthetic=null", "--set", "feed.file={path: "+feedDir+"/feed.parquet, preset: native}")
	runSmall(t, local, "s3glob", "--set", "feed.synthetic=null", "--set", "feed.file={path: '"+feedDir+"/*.parquet', format: parquet, preset: native}")
	db, err := lake.OpenRuns(context.Background(), local)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for id, from := range map[string]string{"s3parquet": "parquet", "s3glob": "parquet", "s3delta": "delta"} {
		if a, b := rows(t, db, "fills", from, "seq"), rows(t, db, "fills", id, "seq"); len(a) == 0 || !reflect.DeepEqual(a, b) {
			t.Errorf("%s: %d fills from the local %s feed, %d from s3", id, len(a), from, len(b))
		}
	}
}

// sweepArgs is a 8-run grid of the small scenario.
func objSweepArgs(out string) []string {
	return []string{"sweep", "testdata/small.yaml", "--grid", "risk.trailing_stop.trail_pct=10,20,30,40",
		"--grid", "risk.circuit_breaker.failure_threshold=2,4", "--workers", "1", "-q", "--out", out}
}

func cliProcess(args ...string) *exec.Cmd {
	exe, _ := os.Executable()
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), "BACKTEST_AS_CLI=1")
	return cmd
}

// checkSweepComplete asserts every run of the grid is published once and
// the catalog holds each exactly once.
func checkSweepComplete(t *testing.T, out string, n int) {
	t.Helper()
	code, stdout, stderr := cli(t, append(objSweepArgs(out), "--status")...)
	if code != 0 {
		t.Fatalf("sweep --status: exit %d\n%s%s", code, stdout, stderr)
	}
	ids, err := runner.PublishedRuns(out)
	if err != nil || len(ids) != n {
		t.Fatalf("%d published runs (%v), want %d", len(ids), err, n)
	}
	got := queryOut(t, out, "SELECT count(*), count(DISTINCT run_id) FROM runs")
	if want := fmt.Sprintf("%d,%d", n, n); !strings.Contains(got, want) {
		t.Fatalf("catalog: %s, want %s", got, want)
	}
}

func TestShardedSweepOnObjectStore(t *testing.T) {
	if testing.Short() {
		t.Skip("4 processes")
	}
	out := s3Lake(t)
	if code, stdout, _ := cli(t, append(objSweepArgs(out), "--status")...); code != 1 || !strings.Contains(stdout, "8 missing") {
		t.Fatalf("status before: exit %d\n%s", code, stdout)
	}
	var wg sync.WaitGroup
	errs := make([]error, 4)
	outs := make([][]byte, 4)
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i], errs[i] = cliProcess(append(objSweepArgs(out), "--shard", fmt.Sprintf("%d/4", i+1))...).CombinedOutput()
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("shard %d: %v\n%s", i+1, err, outs[i])
		}
	}
	checkSweepComplete(t, out, 8)
	local := copyLocal(t, out)
	for _, q := range []string{
		"SELECT run_id, count(*), round(sum(value), 6) FROM risk_events GROUP BY ALL ORDER BY ALL",
		"SELECT run_id, count(*), round(sum(fill_price), 6) FROM fills GROUP BY ALL ORDER BY ALL",
		"SELECT * FROM runs ORDER BY run_id",
	} {
		if a, b := queryOut(t, out, q), queryOut(t, local, q); a != b || strings.Count(a, "\n") < 9 {
			t.Fatalf("%s:\ns3:\n%s\nlocal:\n%s", q, a, b)
		}
	}
	// A shard resubmitted after completion publishes nothing new.
	if code, _, stderr := cli(t, append(objSweepArgs(out), "--shard", "2/4")...); code != 0 {
		t.Fatalf("resubmitted shard: %s", stderr)
	}
	checkSweepComplete(t, out, 8)
}

func TestSweepKilledAndResubmitted(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns sweeps")
	}
	out := s3Lake(t)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	for round := range 4 {
		cmd := cliProcess(objSweepArgs(out)...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(300+rng.IntN(2500)) * time.Millisecond)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		code, stdout, _ := cli(t, append(objSweepArgs(out), "--status")...)
		t.Logf("round %d: exit %d, %s", round, code, lastLine(stdout))
	}
	if code, _, stderr := cli(t, objSweepArgs(out)...); code != 0 {
		t.Fatalf("resubmitted sweep: exit %d: %s", code, stderr)
	}
	checkSweepComplete(t, out, 8)
	runs, err := runner.ListRuns(context.Background(), objectFS(t, out), out, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if i := slices.IndexFunc(runs, func(r runner.RunEntry) bool { return r.State != runner.StatePublished }); i >= 0 {
		t.Fatalf("left behind: %+v", runs[i])
	}
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	return s[strings.LastIndexByte(s, '\n')+1:]
}

// check --out s3://… keeps its runs there, cataloged.
func TestCheckOutObjectStore(t *testing.T) {
	out := s3Lake(t)
	base := filepath.Join(t.TempDir(), "small.json")
	if code, _, stderr := cli(t, "check", "testdata/small.yaml", "--baseline", base, "--update", "--out", out); code != 0 {
		t.Fatalf("check --update: exit %d: %s", code, stderr)
	}
	code, stdout, stderr := cli(t, "check", "testdata/small.yaml", "--baseline", base, "--out", out)
	if code != 0 || !strings.Contains(stdout, "ok") {
		t.Fatalf("check: exit %d: %s%s", code, stdout, stderr)
	}
	if got := queryOut(t, out, "SELECT count(*), count(DISTINCT run_id) FROM runs"); !strings.Contains(got, "2,2") {
		t.Fatalf("catalog %s", got)
	}
}

// BACKTEST_OUT is the default --out of run, sweep and query.
func TestBacktestOutEnv(t *testing.T) {
	out := s3Lake(t)
	t.Setenv("BACKTEST_OUT", out)
	if code, _, stderr := cli(t, "run", "testdata/small.yaml", "--run-id", "from-env", "-q"); code != 0 {
		t.Fatalf("run: exit %d: %s", code, stderr)
	}
	code, stdout, stderr := cli(t, "query", "--format", "csv", "SELECT DISTINCT run_id FROM fills")
	if code != 0 || strings.TrimSpace(stdout) != "run_id\nfrom-env" {
		t.Fatalf("query: exit %d: %q %s", code, stdout, stderr)
	}
}

// --data-root confines reads to local files: an s3:// feed is refused.
func TestDataRootRefusesObjectFeeds(t *testing.T) {
	root := t.TempDir()
	code, _, stderr := cli(t, "run", "testdata/small.yaml", "--out", filepath.Join(root, "runs"), "--data-root", root,
		"--set", "feed.synthetic=null", "--set", "feed.file={path: s3://bucket/quotes.parquet, preset: native}")
	if code != exitBadInput || !strings.Contains(stderr, "object-store path") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
}

// sweep --ablate into an s3:// runs folder.
func TestAblateOnObjectStore(t *testing.T) {
	out := s3Lake(t)
	code, stdout, stderr := cli(t, "sweep", "testdata/small.yaml", "--ablate", "--workers", "2", "-q", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s%s", code, stdout, stderr)
	}
	if got := queryOut(t, out, "SELECT count(*) FROM runs"); !strings.Contains(got, "\n5\n") {
		t.Fatalf("catalog: %q", got)
	}
}

// sweep --status on a local runs folder.
func TestSweepStatusLocal(t *testing.T) {
	out := filepath.Join(t.TempDir(), "runs")
	args := []string{"sweep", "testdata/small.yaml", "--grid", "risk.trailing_stop.trail_pct=10,30", "-q", "--out", out}
	if code, stdout, _ := cli(t, append(args, "--status")...); code != exitDrift || !strings.Contains(stdout, "2 missing") {
		t.Fatalf("before: exit %d\n%s", code, stdout)
	}
	if code, _, stderr := cli(t, args...); code != 0 {
		t.Fatal(stderr)
	}
	code, stdout, _ := cli(t, append(args, "--status", "--shard", "1/2")...)
	if code != 0 || !strings.Contains(stdout, "2 published") || !strings.Contains(stdout, "2/2") {
		t.Fatalf("after: exit %d\n%s", code, stdout)
	}
	ids, _ := runner.PublishedRuns(out)
	if err := os.RemoveAll(filepath.Join(out, ids[0])); err != nil {
		t.Fatal(err)
	}
	if code, stdout, _ := cli(t, append(args, "--status")...); code != exitDrift || !strings.Contains(stdout, "1 missing") {
		t.Fatalf("after removal: exit %d\n%s", code, stdout)
	}
}

// runs rm and runs gc manage local runs folders only: on an object store
// they say so (a usage error), not "no such file".
func TestRunsRmGcRefuseObjectStore(t *testing.T) {
	for _, args := range [][]string{{"runs", "rm", "a", "--out", "s3://bucket/runs"}, {"runs", "gc", "--out", "s3://bucket/runs"}} {
		code, stdout, stderr := cli(t, args...)
		if code != 2 || stdout != "" || !strings.Contains(stderr, "object store") || !strings.Contains(stderr, "local runs folder") || strings.Contains(stderr, "no such file") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q: want exit 2 saying it manages local runs folders only", args, code, stdout, stderr)
		}
	}
}
