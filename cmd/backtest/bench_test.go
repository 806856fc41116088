package main

import (
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/optionsrisk/backtest/scenarios"
)

// The benchmark's scenario parses with either feed, keeps an odd file path
// intact, and trades: its limits are in share units (a delta limit of 5
// refused every entry of the old benchmark).
func TestBenchScenario(t *testing.T) {
	l, err := scenarios.Parse("bench_scale.yaml", []byte(benchScenario(3, "")), nil)
	if err != nil {
		t.Fatal(err)
	}
	if l.Feed.Synthetic == nil || len(l.Feed.Synthetic.Days) != 3 {
		t.Fatalf("synthetic feed %+v, want 3 days", l.Feed.Synthetic)
	}
	path := `/tmp/a dir/it's "x".parquet`
	l, err = scenarios.Parse("bench_scale.yaml", []byte(benchScenario(3, path)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if l.Feed.File == nil || l.Feed.File.Path != path || l.Feed.Synthetic != nil {
		t.Fatalf("feed %+v, want the file %q", l.Feed, path)
	}
	if !strings.Contains(benchScenario(1, ""), "max_portfolio_delta: 500") {
		t.Fatal("limits not in share units")
	}
}

func TestBenchMedianAndPeak(t *testing.T) {
	ms := []measured{
		{res: benchChild{Seconds: 3, PeakRSS: 10, GoLive: 7}, cpu: 3},
		{res: benchChild{Seconds: 1, PeakRSS: 30, GoLive: 5}, cpu: 1},
		{res: benchChild{Seconds: 2, PeakRSS: 20, GoLive: 6}, cpu: 2},
	}
	if m := median(ms); m.res.Seconds != 2 || m.cpu != 2 {
		t.Fatalf("median %+v", m)
	}
	if ms[0].res.Seconds != 3 {
		t.Fatal("median reordered its input")
	}
	if h := highestRSS(ms); h != 30 {
		t.Fatalf("highest RSS %d", h)
	}
	if h := highestLive(ms); h != 7 {
		t.Fatalf("highest Go live heap %d", h)
	}
}

// The replay's rate is measured from its first progress call: the run's
// start is not in it; without a usable first call, over the whole replay.
func TestReplayPer10M(t *testing.T) {
	for _, c := range []struct {
		b    benchChild
		want float64
	}{
		{benchChild{Quotes: 10_000_000, Replay: 1.5, FirstProgress: 0.3, FirstQuotes: 2_000_000}, 1.5},
		{benchChild{Quotes: 20_000_000, Replay: 3}, 1.5},
		{benchChild{Quotes: 1000, Replay: 1, FirstProgress: 1, FirstQuotes: 1000}, 1e4},
	} {
		if got := c.b.replayPer10M(); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("%+v: %v s per 10 M, want %v", c.b, got, c.want)
		}
	}
}

// binaryRSS counts the test binary's own resident code: some, and less
// than the whole process.
func TestBinaryRSS(t *testing.T) {
	if _, err := os.Stat("/proc/self/smaps"); err != nil {
		t.Skip("no /proc")
	}
	if got, all := binaryRSS(), maxRSS(); got <= 0 || got > all {
		t.Fatalf("binary RSS %d KiB, process peak %d KiB", got, all)
	}
}

// goLivePeak sees a live heap that a collection found and that is gone by
// the time it reports.
func TestGoLivePeak(t *testing.T) {
	h := goLivePeak()
	big := make([]byte, 64<<20)
	for i := range big {
		big[i] = byte(i)
	}
	runtime.GC()
	runtime.KeepAlive(big)
	big = nil
	// Finalizers run on their own goroutine, after the collection.
	for i := 0; i < 200 && h.KiB() < 64<<10; i++ {
		runtime.GC()
		time.Sleep(5 * time.Millisecond)
	}
	if got := h.Stop(); got < 64<<10 {
		t.Fatalf("peak live heap %d KiB, want at least the 65,536 KiB held across a collection", got)
	}
}

// maxRSS is this process's own peak: at least its current resident size.
func TestMaxRSS(t *testing.T) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc")
	}
	var cur int64
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			cur, _ = strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
		}
	}
	if got := maxRSS(); cur == 0 || got < cur {
		t.Fatalf("maxRSS %d KiB, current RSS %d KiB", got, cur)
	}
}

// Every command but sweep runs with GOGC 50, also when flags come first.
func TestGCPolicy(t *testing.T) {
	t.Setenv("GOGC", "")
	prev := debug.SetGCPercent(100)
	defer debug.SetGCPercent(prev)
	for _, c := range []struct {
		args []string
		want int
	}{
		{[]string{"run", "spy_crash"}, gcPercent},
		{[]string{"sweep", "spy_crash", "--grid", "seed=1,2"}, 100},
		{[]string{"--data-root", "x", "sweep", "spy_crash"}, 100},
		{[]string{"--data-root", "sweep", "run", "spy_crash"}, gcPercent},
	} {
		debug.SetGCPercent(100)
		gcPolicy(newRoot(io.Discard, io.Discard), c.args)
		if got := debug.SetGCPercent(100); got != c.want {
			t.Errorf("%v: GOGC %d, want %d", c.args, got, c.want)
		}
	}
}

// bench --keep keeps the feed and each size's last runs where it says;
// without it the folder goes.
func TestBenchKeep(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the benchmark's children")
	}
	t.Setenv("BACKTEST_AS_CLI", "1") // the children are this test binary
	dir := filepath.Join(t.TempDir(), "bench")
	code, out, errOut := cli(t, "bench", "--sizes", "20K", "--repeat", "1", "--keep", "--dir", dir)
	if code != 0 || !strings.Contains(out, "full/scan") {
		t.Fatalf("bench --keep: exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "kept the feeds") || !strings.Contains(errOut, dir) {
		t.Errorf("bench --keep does not say where it kept them:\n%s", errOut)
	}
	for _, pattern := range []string{"feed-20K.parquet", "runs-20K/full/summary.json", "run-20K/*/summary.json", "sweep-20K/*/summary.json"} {
		if m, _ := filepath.Glob(filepath.Join(dir, pattern)); len(m) == 0 {
			t.Errorf("bench --keep: no %s in %s", pattern, dir)
		}
	}
	dir2 := filepath.Join(t.TempDir(), "bench")
	if code, out, errOut := cli(t, "bench", "--sizes", "20K", "--repeat", "1", "--sweep=false", "--dir", dir2); code != 0 {
		t.Fatalf("bench: exit %d\n%s\n%s", code, out, errOut)
	}
	if _, err := os.Stat(dir2); !os.IsNotExist(err) {
		t.Errorf("bench without --keep left %s (%v)", dir2, err)
	}
}
