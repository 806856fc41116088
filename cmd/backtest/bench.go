package main

// This file owns `backtest bench`: the scale benchmark (feed size → speed
// and whole-process memory), runnable by anyone with `make bench-scale`.

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/optionsrisk/backtest/feeds"
	"github.com/optionsrisk/backtest/internal/runner"
	"github.com/optionsrisk/backtest/scenarios"
)

// benchQuotesPerDay is the quotes of one benchmark session: 391 one-minute
// instants (390 minutes and the close) of about 116 contracts (measured on
// the feeds it writes: 45,232 to 46,566 a session).
const benchQuotesPerDay = 45_400

// benchScenario is `days` sessions of one-minute quotes on a seeded,
// mean-reverting random walk around 280 (so the chain keeps its width:
// about 116 contracts, two weekly expiries of ~29 strikes, both rights),
// with every risk layer on and short put spreads entered every 30 minutes
// (about 2,500 trades a year). The feed's size is set by its length, not
// its width. feedFile, when set, replaces the synthetic feed by that native
// Parquet file (the days are then only the period).
func benchScenario(days int, feedFile string) string {
	rng := rand.New(rand.NewPCG(2019, 1))
	var b strings.Builder
	d := time.Date(2010, 1, 4, 0, 0, 0, 0, time.UTC)
	lp, n := math.Log(280), 0
	first, last := d.Format(time.DateOnly), ""
	for n < days {
		if wd := d.Weekday(); wd != time.Saturday && wd != time.Sunday {
			o := math.Exp(lp)
			lp = 0.98*lp + 0.02*math.Log(280) + 0.01*rng.NormFloat64()
			c := math.Exp(lp)
			h := max(o, c) * (1 + 0.004*rng.Float64())
			l := min(o, c) * (1 - 0.004*rng.Float64())
			fmt.Fprintf(&b, "      - {date: %s, open: %.2f, high: %.2f, low: %.2f, close: %.2f, vix: %.2f}\n",
				d.Format(time.DateOnly), o, h, l, c, 12+8*rng.Float64())
			n, last = n+1, d.Format(time.DateOnly)
		}
		d = d.AddDate(0, 0, 1)
	}
	feed := fmt.Sprintf(`  synthetic:
    underlying: SPY
    days:
%s    every: 1m
    strikes: {around_spot_pct: 4.3, step: 1}
    expiries: {weekly: 2, monthly: -1}
    skew: 1.0
    min_price: 0.000000000001
`, b.String())
	if feedFile != "" {
		q, _ := json.Marshal(feedFile) // a JSON string is a YAML string
		feed = fmt.Sprintf("  file: {path: %s, preset: native}\n", q)
	}
	return fmt.Sprintf(`name: bench_scale
seed: 1
period: {start: %s, end: %s}
capital: 1000000
feed:
  data_quality: skip
%sstrategy:
  entry: {every: 30m, right: put, side: short, spread_width: 2, target_delta: 0.3, dte: [2, 14], qty: 1, max_open: 20}
broker:
  latency: 500ms
  slippage: {model: spread_fraction, fraction: 0.1}
  faults: {reject_prob: 0.02}
risk:
  circuit_breaker: {failure_threshold: 3, failure_window: 2h, cooldown: 30m, half_open_trials: 2, max_trips: 0}
  trailing_stop: {activation_pct: 20, trail_pct: 25, stop_loss_pct: 200}
  limits: {max_portfolio_delta: 500, max_portfolio_gamma: 200, warn_pct: 80, health_interval: 5m}
report: {equity_every: 15m}
`, first, last, feed)
}

// replayPer10M is the replay's seconds per 10 M quotes from its first
// progress call to its end (the whole replay when there was none).
func (b benchChild) replayPer10M() float64 {
	if b.FirstQuotes <= 0 || b.FirstQuotes >= b.Quotes {
		return b.Replay / float64(b.Quotes) * 1e7
	}
	return (b.Replay - b.FirstProgress) / float64(b.Quotes-b.FirstQuotes) * 1e7
}

// benchChild is what a measuring child process prints.
type benchChild struct {
	Quotes  int64   `json:"quotes"`
	Seconds float64 `json:"seconds"`
	// Replay is the seconds from the start to the end of the replay (the
	// last quote through the engine), without writing the reports.
	Replay float64 `json:"replay_s,omitempty"`
	// FirstProgress and FirstQuotes are the seconds from the start and
	// the quotes replayed at the replay's first progress call (its first
	// batches through the engine): the replay rate is measured from there,
	// without the run's start.
	FirstProgress float64 `json:"first_progress_s,omitempty"`
	FirstQuotes   int64   `json:"first_quotes,omitempty"`
	// SimRSS is the process's peak RSS (KiB) when the replay ended, before
	// the reports (summary, Markdown, HTML charts) are written.
	SimRSS int64 `json:"sim_rss_kib,omitempty"`
	// PeakRSS is the process's peak RSS (KiB) at its end (maxRSS).
	PeakRSS int64 `json:"peak_rss_kib"`
	// GoLive is the largest Go live heap (KiB) a garbage collection left
	// (goLivePeak): what of PeakRSS is Go's data, not DuckDB's or the
	// binary's.
	GoLive int64 `json:"go_live_kib,omitempty"`
	// Binary is the resident size (KiB) of the executable's own mappings
	// at the end: code, mostly DuckDB's, the same at every feed size.
	Binary int64 `json:"binary_kib,omitempty"`
}

// binaryRSS is the resident KiB of this process's mappings of its own
// executable file (/proc/self/smaps), 0 where that is not readable.
func binaryRSS() int64 {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return 0
	}
	b, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		return 0
	}
	var kib int64
	mine := false
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		switch {
		case len(f) >= 5 && strings.Contains(f[0], "-") && !strings.HasSuffix(f[0], ":"):
			mine = len(f) >= 6 && strings.Join(f[5:], " ") == exe
		case mine && len(f) == 3 && f[0] == "Rss:":
			n, _ := strconv.ParseInt(f[1], 10, 64)
			kib += n
		}
	}
	return kib
}

// liveHeap samples Go's live heap after every garbage collection (a
// finalizer re-armed each cycle) and keeps the largest.
type liveHeap struct {
	mu      sync.Mutex
	peak    uint64
	stopped bool
}

func goLivePeak() *liveHeap {
	h := &liveHeap{}
	h.arm()
	return h
}

func (h *liveHeap) arm() {
	runtime.SetFinalizer(new([16]byte), func(*[16]byte) {
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.stopped {
			return
		}
		s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		metrics.Read(s)
		if s[0].Value.Kind() == metrics.KindUint64 {
			h.peak = max(h.peak, s[0].Value.Uint64())
		}
		h.arm()
	})
}

// KiB is the largest live heap so far, in KiB.
func (h *liveHeap) KiB() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return int64(h.peak / 1024)
}

// Stop ends the sampling and returns KiB.
func (h *liveHeap) Stop() int64 {
	h.mu.Lock()
	h.stopped = true
	h.mu.Unlock()
	return h.KiB()
}

// maxRSS is this process's peak resident memory in KiB. On Linux it is
// VmHWM from /proc/self/status: the high-water mark of this address space
// only. getrusage's maxrss is not used there because Linux carries a
// process's peak across exec: a child started by a parent that had grown
// to 300 MiB reports at least 300 MiB whatever it does itself.
func maxRSS() int64 {
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for line := range strings.Lines(string(b)) {
			if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				if kib, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64); err == nil {
					return kib
				}
			}
		}
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return int64(ru.Maxrss)
}

func parseSize(s string) (int64, error) {
	mult := int64(1)
	switch {
	case strings.HasSuffix(s, "M"):
		mult, s = 1_000_000, strings.TrimSuffix(s, "M")
	case strings.HasSuffix(s, "K"):
		mult, s = 1_000, strings.TrimSuffix(s, "K")
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("size %q: want a count like 10M", s)
	}
	return int64(v * float64(mult)), nil
}

func newBenchCmd() *cobra.Command {
	var (
		sizes   []string
		filePer string
		dir     string
		keep    bool
		child   string
		feed    string
		days    int
		workdir string
		profile string
		repeat  int
		sweep   bool
	)
	c := &cobra.Command{
		Use:   "bench [--sizes 10M,30M,100M]",
		Short: "Measure the full stack against DuckDB's bare decode at several feed sizes",
		Long: `bench writes one synthetic Parquet feed per size (one-minute quotes of about
116 contracts, every risk layer on, a short put spread every 30 minutes; the
size sets the number of sessions: 10M is about 220) into a temporary folder
(with --file-quotes, a folder of files per size, read through one glob),
and measures on each, in fresh child processes, --repeat times (the table
shows the median):

  full   a whole run: decode, event loop, every risk layer, the Delta writers
         and the reports
  scan   DuckDB → Arrow of the same file's quote columns, rows only counted
         (the decode limit)

It prints one table: quotes, seconds and quotes/s of each, the full/scan ratio,
and each child's peak resident memory (Linux VmHWM: Go and DuckDB together,
the child's own address space only); for the full run also the peak when the
replay ended, before the reports are written, the largest live Go heap a
collection left, the resident code of the executable, and the seconds per
10 M quotes of the whole run and of the replay alone (from its first batches
through the engine to its last quote: without starting and the reports, fixed
costs). With --sweep (the default) it
then times, on the first size's feed, ` + "`backtest run`" + ` against a 16-configuration
` + "`backtest sweep`" + ` of the same scenario. The feeds and runs are deleted at the end unless --keep.`,
		Example: `  backtest bench                       # 10M, 30M and 100M quotes (needs ~4.2 GB of disk)
  backtest bench --file-quotes 10M     # each feed a folder of files of whole sessions, >= 10M quotes each
  backtest bench --sizes 1M,2M --keep  # a quick look`,
		Args: exactArgs(0),
		RunE: func(c *cobra.Command, args []string) error {
			if profile != "" {
				f, err := os.Create(profile)
				if err != nil {
					return err
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return err
				}
				defer pprof.StopCPUProfile()
			}
			switch child {
			case "full":
				return benchFull(c, feed, days, workdir)
			case "scan":
				start := time.Now()
				n, err := feeds.ScanParquet(c.Context(), feed, feeds.ReadOptions{})
				if err != nil {
					return err
				}
				return json.NewEncoder(c.OutOrStdout()).Encode(benchChild{Quotes: n, Seconds: time.Since(start).Seconds(), PeakRSS: maxRSS()})
			case "decode": // diagnostic: the feed source alone (plan, decode, canonical order), no engine
				l, err := benchScenarioFor(feed, days)
				if err != nil {
					return err
				}
				start := time.Now()
				src, err := runner.OpenFeed(c.Context(), l)
				if err != nil {
					return err
				}
				defer src.Close()
				src = feeds.Canonical(src)
				var n int64
				for {
					b, err := src.Next(c.Context())
					if errors.Is(err, io.EOF) {
						break
					}
					if err != nil {
						return err
					}
					n += int64(len(b.Quotes))
				}
				return json.NewEncoder(c.OutOrStdout()).Encode(benchChild{Quotes: n, Seconds: time.Since(start).Seconds(), PeakRSS: maxRSS()})
			case "":
			default:
				return usageError{fmt.Errorf("--child %q", child)}
			}
			var perFile int64
			if filePer != "0" {
				n, err := parseSize(filePer)
				if err != nil {
					return usageError{fmt.Errorf("--file-quotes: %w", err)}
				}
				perFile = n
			}
			return benchParent(c, sizes, dir, keep, repeat, sweep, perFile, filePer)
		},
	}
	c.Flags().StringSliceVar(&sizes, "sizes", []string{"10M", "30M", "100M"}, "feed sizes in quotes (K, M suffixes)")
	c.Flags().StringVar(&dir, "dir", "", "folder for the feeds (default: a new temporary folder)")
	c.Flags().BoolVar(&keep, "keep", false, "keep the feeds and each size's last run folders in --dir (the command prints where)")
	c.Flags().StringVar(&filePer, "file-quotes", "0", "write each feed as a folder of files of whole sessions, each of at least this many quotes (K, M suffixes); 0: one file")
	c.Flags().IntVar(&repeat, "repeat", 3, "measurements of each kind; the table shows the median")
	c.Flags().BoolVar(&sweep, "sweep", true, "also measure a 16-configuration sweep against one run on the first size's feed")
	c.Flags().StringVar(&child, "child", "", "internal: measure one thing (full or scan) and print JSON")
	c.Flags().StringVar(&feed, "feed", "", "internal: the feed file of --child")
	c.Flags().IntVar(&days, "days", 0, "internal: the sessions the feed was made with")
	c.Flags().StringVar(&workdir, "workdir", "", "internal: the runs folder of --child full")
	c.Flags().StringVar(&profile, "cpuprofile", "", "internal: write a CPU profile of --child to this file")
	for _, n := range []string{"child", "feed", "days", "workdir", "cpuprofile"} {
		_ = c.Flags().MarkHidden(n)
	}
	return c
}

func benchScenarioFor(feed string, days int) (*scenarios.Loaded, error) {
	return scenarios.Parse("bench_scale.yaml", []byte(benchScenario(days, feed)), nil)
}

func benchFull(c *cobra.Command, feed string, days int, workdir string) error {
	l, err := benchScenarioFor(feed, days)
	if err != nil {
		return err
	}
	start := time.Now()
	live := goLivePeak()
	var simRSS int64
	var first, replayEnd time.Duration
	var firstQuotes int64
	// BACKTEST_HEAPPROFILE=FILE BACKTEST_HEAPAT=N: a heap profile once N quotes are replayed.
	heapAt, _ := strconv.ParseInt(os.Getenv("BACKTEST_HEAPAT"), 10, 64)
	if os.Getenv("BACKTEST_HEAPPROFILE") == "" {
		heapAt = 0
	}
	out, err := runner.Run(c.Context(), runner.Options{Scenario: l, OutDir: workdir, RunID: "full", Now: time.Now, NoCatalog: true,
		Progress: func(_ time.Time, q int64) { // the last call ends the replay
			simRSS, replayEnd = maxRSS(), time.Since(start)
			if heapAt > 0 && q >= heapAt {
				heapAt = 0
				if f, err := os.Create(os.Getenv("BACKTEST_HEAPPROFILE")); err == nil {
					_ = pprof.WriteHeapProfile(f)
					f.Close()
				}
			}
			if first == 0 {
				first, firstQuotes = replayEnd, q
			}
		}})
	fmt.Fprintf(c.ErrOrStderr(), "bench: first progress %.2fs, replay end %.2fs, total %.2fs\n", first.Seconds(), replayEnd.Seconds(), time.Since(start).Seconds())
	if err != nil {
		return err
	}
	return json.NewEncoder(c.OutOrStdout()).Encode(benchChild{Quotes: out.Result.Quotes, Seconds: time.Since(start).Seconds(), Replay: replayEnd.Seconds(),
		FirstProgress: first.Seconds(), FirstQuotes: firstQuotes, SimRSS: simRSS, PeakRSS: maxRSS(), GoLive: live.Stop(), Binary: binaryRSS()})
}

type benchRow struct {
	size       int64
	files      int        // the feed's Parquet files
	full, scan benchChild // the medians by time of --repeat measurements
	fullCPU    float64    // user+system seconds of that child
	scanCPU    float64
	fullRSS    int64 // the highest peak of the measurements (KiB)
	fullLive   int64 // the highest Go live heap of the measurements (KiB)
	scanRSS    int64
}

// benchGrid is the sweep measured against one run: 16 configurations.
var benchGrid = []string{"risk.trailing_stop.trail_pct=10,20,30,40", "risk.trailing_stop.activation_pct=10,20,30,40"}

// benchSweep is one run against the 16-configuration sweep of the same
// scenario on the first size's feed, through the CLI.
type benchSweep struct {
	quotes           int64
	run, sweep       float64 // median wall seconds
	runRSS, sweepRSS int64   // highest peak (KiB)
	runCPU, sweepCPU float64
}

// measured is one child's outcome.
type measured struct {
	res benchChild
	cpu float64
}

func median(ms []measured) measured {
	s := slices.Clone(ms)
	slices.SortFunc(s, func(a, b measured) int { return cmp.Compare(a.res.Seconds, b.res.Seconds) })
	return s[len(s)/2]
}

func highestRSS(ms []measured) int64 {
	var m int64
	for _, x := range ms {
		m = max(m, x.res.PeakRSS)
	}
	return m
}

func highestLive(ms []measured) int64 {
	var m int64
	for _, x := range ms {
		m = max(m, x.res.GoLive)
	}
	return m
}

func benchParent(c *cobra.Command, sizes []string, dir string, keep bool, repeat int, sweep bool, perFile int64, filePer string) error {
	ctx := c.Context()
	log := c.ErrOrStderr()
	if repeat < 1 {
		return usageError{fmt.Errorf("--repeat %d: want 1 or more", repeat)}
	}
	if dir == "" {
		d, err := os.MkdirTemp("", "backtest-bench-")
		if err != nil {
			return err
		}
		dir = d
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if !keep {
		defer os.RemoveAll(dir)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	// child runs self with args in a fresh process; CLI children (run,
	// sweep) report their peak RSS through BACKTEST_PEAK_RSS_FILE.
	child := func(what string, args ...string) (measured, error) {
		rssFile := filepath.Join(dir, "peak-rss")
		os.Remove(rssFile)
		cmd := exec.CommandContext(ctx, self, args...)
		cmd.Env = append(os.Environ(), "BACKTEST_PEAK_RSS_FILE="+rssFile)
		var stdout bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, log
		fmt.Fprintf(log, "bench: %s...\n", what)
		start := time.Now()
		if err := cmd.Run(); err != nil {
			return measured{}, fmt.Errorf("bench %s: %w", what, err)
		}
		m := measured{cpu: (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()}
		if args[0] == "bench" {
			if err := json.Unmarshal(stdout.Bytes(), &m.res); err != nil {
				return measured{}, fmt.Errorf("bench %s: %w (%q)", what, err, stdout.String())
			}
		} else {
			m.res.Seconds = time.Since(start).Seconds()
			b, err := os.ReadFile(rssFile)
			if err != nil {
				return measured{}, fmt.Errorf("bench %s: peak RSS: %w", what, err)
			}
			if m.res.PeakRSS, err = strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err != nil {
				return measured{}, fmt.Errorf("bench %s: peak RSS: %w", what, err)
			}
		}
		return m, nil
	}
	var rows []benchRow
	var sw *benchSweep
	for si, s := range sizes {
		size, err := parseSize(strings.TrimSpace(s))
		if err != nil {
			return usageError{err}
		}
		days := max(1, int(math.Round(float64(size)/benchQuotesPerDay)))
		base := filepath.Join(dir, "feed-"+s)
		feed, files := base+".parquet", 1
		if perFile > 0 {
			feed = filepath.Join(base+"-by"+filePer, "*.parquet")
			m, _ := filepath.Glob(feed)
			files = len(m)
		}
		if m, _ := filepath.Glob(feed); len(m) == 0 {
			fmt.Fprintf(log, "bench: writing %s (%d sessions)...\n", feed, days)
			l, err := scenarios.Parse("bench_scale.yaml", []byte(benchScenario(days, "")), nil)
			if err != nil {
				return err
			}
			src, err := runner.OpenFeed(ctx, l)
			if err != nil {
				return err
			}
			var n int64
			feed, files, n, err = writeBenchFeed(ctx, src, base, perFile, filePer)
			src.Close()
			if err != nil {
				return err
			}
			fmt.Fprintf(log, "bench: %d quotes in %d file(s)\n", n, files)
		}
		// scan and full alternate, each in a fresh process so peaks do not mix.
		work := filepath.Join(dir, "runs-"+s)
		var scans, fulls []measured
		for i := range repeat {
			for _, kind := range []string{"scan", "full"} {
				os.RemoveAll(work)
				m, err := child(fmt.Sprintf("%s %s (%d/%d)", kind, s, i+1, repeat), "bench", "--child", kind, "--feed", feed, "--days", strconv.Itoa(days), "--workdir", work)
				if err != nil {
					return err
				}
				if kind == "scan" {
					scans = append(scans, m)
				} else {
					fulls = append(fulls, m)
				}
			}
		}
		if !keep {
			os.RemoveAll(work)
		}
		ms, mf := median(scans), median(fulls)
		rows = append(rows, benchRow{size: size, files: files, scan: ms.res, scanCPU: ms.cpu, scanRSS: highestRSS(scans),
			full: mf.res, fullCPU: mf.cpu, fullRSS: highestRSS(fulls), fullLive: highestLive(fulls)})
		if si == 0 && sweep {
			yml := filepath.Join(dir, "bench_scale.yaml")
			if err := os.WriteFile(yml, []byte(benchScenario(days, feed)), 0o644); err != nil {
				return err
			}
			var runs, sweeps []measured
			runWork, sweepWork := filepath.Join(dir, "run-"+s), filepath.Join(dir, "sweep-"+s)
			for i := range repeat {
				os.RemoveAll(runWork)
				m, err := child(fmt.Sprintf("run %s (%d/%d)", s, i+1, repeat), "run", yml, "--out", runWork, "-q")
				if err != nil {
					return err
				}
				runs = append(runs, m)
				os.RemoveAll(sweepWork)
				args := []string{"sweep", yml, "--out", sweepWork, "-q"}
				for _, g := range benchGrid {
					args = append(args, "--grid", g)
				}
				m, err = child(fmt.Sprintf("16-configuration sweep %s (%d/%d)", s, i+1, repeat), args...)
				if err != nil {
					return err
				}
				sweeps = append(sweeps, m)
			}
			if !keep {
				os.RemoveAll(runWork)
				os.RemoveAll(sweepWork)
			}
			mr, ms := median(runs), median(sweeps)
			sw = &benchSweep{quotes: mf.res.Quotes, run: mr.res.Seconds, sweep: ms.res.Seconds, runCPU: mr.cpu, sweepCPU: ms.cpu,
				runRSS: highestRSS(runs), sweepRSS: highestRSS(sweeps)}
		}
	}
	if keep {
		fmt.Fprintf(log, "bench: kept the feeds and each size's last runs (runs-SIZE/full; run-SIZE and sweep-SIZE for the sweep) in %s\n", dir)
	}
	return printBench(c.OutOrStdout(), rows, sw, repeat)
}

func printBench(w io.Writer, rows []benchRow, sw *benchSweep, repeat int) error {
	if len(rows) == 0 {
		return errors.New("bench: no sizes")
	}
	if repeat > 1 {
		fmt.Fprintf(w, "median of %d measurements; peak RSS: the highest\n", repeat)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "quotes\tfiles\tfull s\tfull CPU s\tfull quotes/s\treplay peak RSS MiB\tfull peak RSS MiB\tfull Go live MiB\tfull binary MiB\tscan s\tscan CPU s\tscan quotes/s\tscan peak RSS MiB\tfull/scan\tfull s per 10M\treplay s per 10M\t")
	for _, r := range rows {
		fq := float64(r.full.Quotes) / r.full.Seconds
		sq := float64(r.scan.Quotes) / r.scan.Seconds
		fmt.Fprintf(tw, "%d\t%d\t%.1f\t%.1f\t%.2fM\t%d\t%d\t%d\t%d\t%.1f\t%.1f\t%.2fM\t%d\t%.0f%%\t%.2f\t%.2f\t\n", r.full.Quotes, r.files, r.full.Seconds, r.fullCPU, fq/1e6, r.full.SimRSS/1024, r.fullRSS/1024, r.fullLive/1024, r.full.Binary/1024,
			r.scan.Seconds, r.scanCPU, sq/1e6, r.scanRSS/1024, 100*fq/sq, r.full.Seconds/float64(r.full.Quotes)*1e7, r.full.replayPer10M())
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if sw == nil {
		return nil
	}
	fmt.Fprintf(w, "\nsweep on the %d-quote feed: `run` against `sweep` with %s\n", sw.quotes, strings.Join(benchGrid, " × "))
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\twall s\tCPU s\tpeak RSS MiB\t")
	fmt.Fprintf(tw, "one run\t%.1f\t%.1f\t%d\t\n", sw.run, sw.runCPU, sw.runRSS/1024)
	fmt.Fprintf(tw, "16-configuration sweep\t%.1f\t%.1f\t%d\t\n", sw.sweep, sw.sweepCPU, sw.sweepRSS/1024)
	fmt.Fprintf(tw, "sweep / run\t%.1f×\t\t\t\n", sw.sweep/sw.run)
	return tw.Flush()
}
