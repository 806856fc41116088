package main

// This file owns `backtest bench`: the scale benchmark (feed size → speed
// and whole-process memory), runnable by anyone with `make bench-scale`.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/optionsrisk/backtest/feeds"
	"github.com/optionsrisk/backtest/internal/runner"
	"github.com/optionsrisk/backtest/scenarios"
)

// benchQuotesPerDay is the quotes of one benchmark session: 391 one-minute
// instants (390 minutes and the close) of about 97.5 contracts.
const benchQuotesPerDay = 391 * 97.5

// benchScenario is `days` sessions of one-minute quotes on a seeded,
// mean-reverting random walk around 280 (so the chain keeps its width:
// about 100 contracts, two weekly expiries of ~25 strikes, both rights),
// with every risk layer on and short put spreads entered every 30 minutes.
// The feed's size is set by its length, not its width.
func benchScenario(days int) string {
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
	return fmt.Sprintf(`name: bench_scale
seed: 1
period: {start: %s, end: %s}
capital: 1000000
feed:
  data_quality: skip
  synthetic:
    underlying: SPY
    days:
%s    every: 1m
    strikes: {around_spot_pct: 4.3, step: 1}
    expiries: {weekly: 2, monthly: -1}
    skew: 1.0
    min_price: 0.000000000001
strategy:
  entry: {every: 30m, right: put, side: short, spread_width: 2, target_delta: 0.3, dte: [2, 14], qty: 1, max_open: 20}
broker:
  latency: 500ms
  slippage: {model: spread_fraction, fraction: 0.1}
  faults: {reject_prob: 0.02}
risk:
  circuit_breaker: {failure_threshold: 3, failure_window: 2h, cooldown: 30m, half_open_trials: 2, max_trips: 0}
  trailing_stop: {activation_pct: 20, trail_pct: 25, stop_loss_pct: 200}
  limits: {max_portfolio_delta: 5, max_portfolio_gamma: 2, warn_pct: 80, health_interval: 5m}
report: {equity_every: 15m}
`, first, last, b.String())
}

// benchChild is what a measuring child process prints.
type benchChild struct {
	Quotes  int64   `json:"quotes"`
	Seconds float64 `json:"seconds"`
	// SimRSS is the process's peak RSS (KiB) when the replay ended, before
	// the reports (summary, Markdown, HTML charts) are written.
	SimRSS int64 `json:"sim_rss_kib,omitempty"`
}

func maxRSS() int64 {
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
		dir     string
		keep    bool
		child   string
		feed    string
		days    int
		workdir string
	)
	c := &cobra.Command{
		Use:   "bench [--sizes 10M,30M,100M]",
		Short: "Measure the full stack against DuckDB's bare decode at several feed sizes",
		Long: `bench writes one synthetic Parquet feed per size (one-minute quotes of about
100 contracts; the size sets the number of sessions: 10M is about a year) into a
temporary folder, and measures on each, in fresh child processes:

  full   a whole run: decode, event loop, every risk layer, the Delta writers
  scan   DuckDB → Arrow of the same file's quote columns, rows only counted

It prints one table: quotes, seconds and quotes/s of each, the full/scan ratio,
and each child's peak resident memory (getrusage maxrss: Go and DuckDB
together); for the full run also the peak when the replay ended, before the
reports are written. The feeds are deleted at the end unless --keep.`,
		Example: `  backtest bench                       # 10M, 30M and 100M quotes (needs ~6 GB of disk)
  backtest bench --sizes 1M,2M --keep  # a quick look`,
		Args: exactArgs(0),
		RunE: func(c *cobra.Command, args []string) error {
			switch child {
			case "full":
				return benchFull(c, feed, days, workdir)
			case "scan":
				start := time.Now()
				n, err := feeds.ScanParquet(c.Context(), feed, feeds.ReadOptions{})
				if err != nil {
					return err
				}
				return json.NewEncoder(c.OutOrStdout()).Encode(benchChild{Quotes: n, Seconds: time.Since(start).Seconds()})
			case "":
			default:
				return usageError{fmt.Errorf("--child %q", child)}
			}
			return benchParent(c, sizes, dir, keep)
		},
	}
	c.Flags().StringSliceVar(&sizes, "sizes", []string{"10M", "30M", "100M"}, "feed sizes in quotes (K, M suffixes)")
	c.Flags().StringVar(&dir, "dir", "", "folder for the feeds (default: a new temporary folder)")
	c.Flags().BoolVar(&keep, "keep", false, "keep the feeds and run folders")
	c.Flags().StringVar(&child, "child", "", "internal: measure one thing (full or scan) and print JSON")
	c.Flags().StringVar(&feed, "feed", "", "internal: the feed file of --child")
	c.Flags().IntVar(&days, "days", 0, "internal: the sessions the feed was made with")
	c.Flags().StringVar(&workdir, "workdir", "", "internal: the runs folder of --child full")
	for _, n := range []string{"child", "feed", "days", "workdir"} {
		_ = c.Flags().MarkHidden(n)
	}
	return c
}

func benchScenarioFor(feed string, days int) (*scenarios.Loaded, error) {
	return scenarios.Parse("bench_scale.yaml", []byte(benchScenario(days)),
		[]string{"feed.synthetic=null", "feed.file={path: " + feed + ", preset: native}"})
}

func benchFull(c *cobra.Command, feed string, days int, workdir string) error {
	l, err := benchScenarioFor(feed, days)
	if err != nil {
		return err
	}
	start := time.Now()
	var simRSS int64
	out, err := runner.Run(c.Context(), runner.Options{Scenario: l, OutDir: workdir, RunID: "full", Now: time.Now, NoCatalog: true,
		Progress: func(time.Time, int64) { simRSS = maxRSS() }}) // the last call ends the replay
	if err != nil {
		return err
	}
	return json.NewEncoder(c.OutOrStdout()).Encode(benchChild{Quotes: out.Result.Quotes, Seconds: time.Since(start).Seconds(), SimRSS: simRSS})
}

type benchRow struct {
	size       int64
	full, scan benchChild
	fullRSS    int64 // KiB
	scanRSS    int64
	fullCPU    float64 // user+system seconds of the child
	scanCPU    float64
}

func benchParent(c *cobra.Command, sizes []string, dir string, keep bool) error {
	ctx := c.Context()
	log := c.ErrOrStderr()
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
	var rows []benchRow
	for _, s := range sizes {
		size, err := parseSize(strings.TrimSpace(s))
		if err != nil {
			return usageError{err}
		}
		days := max(1, int(math.Round(float64(size)/benchQuotesPerDay)))
		feed := filepath.Join(dir, fmt.Sprintf("feed-%s.parquet", s))
		if _, err := os.Stat(feed); err != nil {
			fmt.Fprintf(log, "bench: writing %s (%d sessions)...\n", feed, days)
			l, err := scenarios.Parse("bench_scale.yaml", []byte(benchScenario(days)), nil)
			if err != nil {
				return err
			}
			src, err := runner.OpenFeed(ctx, l)
			if err != nil {
				return err
			}
			n, err := feeds.WriteParquet(ctx, src, feed)
			src.Close()
			if err != nil {
				return err
			}
			fmt.Fprintf(log, "bench: %d quotes\n", n)
		}
		row := benchRow{size: size}
		// scan first, then full, each in a fresh process so peaks do not mix.
		for _, kind := range []string{"scan", "full"} {
			work := filepath.Join(dir, "runs-"+s)
			os.RemoveAll(work)
			fmt.Fprintf(log, "bench: %s %s...\n", kind, s)
			cmd := exec.CommandContext(ctx, self, "bench", "--child", kind, "--feed", feed, "--days", strconv.Itoa(days), "--workdir", work)
			var stdout bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, log
			if err := cmd.Run(); err != nil {
				return fmt.Errorf("bench %s %s: %w", kind, s, err)
			}
			var res benchChild
			if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
				return fmt.Errorf("bench %s %s: %w (%q)", kind, s, err, stdout.String())
			}
			rss := int64(0)
			if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
				rss = int64(ru.Maxrss) // KiB on Linux
			}
			cpu := (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
			if kind == "scan" {
				row.scan, row.scanRSS, row.scanCPU = res, rss, cpu
			} else {
				row.full, row.fullRSS, row.fullCPU = res, rss, cpu
			}
			if !keep {
				os.RemoveAll(work)
			}
		}
		rows = append(rows, row)
	}
	return printBench(c.OutOrStdout(), rows)
}

func printBench(w io.Writer, rows []benchRow) error {
	if len(rows) == 0 {
		return errors.New("bench: no sizes")
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "quotes\tfull s\tfull CPU s\tfull quotes/s\treplay peak RSS MiB\tfull peak RSS MiB\tscan s\tscan CPU s\tscan quotes/s\tscan peak RSS MiB\tfull/scan\tfull s per 10M\t")
	for _, r := range rows {
		fq := float64(r.full.Quotes) / r.full.Seconds
		sq := float64(r.scan.Quotes) / r.scan.Seconds
		fmt.Fprintf(tw, "%d\t%.1f\t%.1f\t%.2fM\t%d\t%d\t%.1f\t%.1f\t%.2fM\t%d\t%.0f%%\t%.2f\t\n", r.full.Quotes, r.full.Seconds, r.fullCPU, fq/1e6, r.full.SimRSS/1024, r.fullRSS/1024,
			r.scan.Seconds, r.scanCPU, sq/1e6, r.scanRSS/1024, 100*fq/sq, r.full.Seconds/float64(r.full.Quotes)*1e7)
	}
	return tw.Flush()
}
