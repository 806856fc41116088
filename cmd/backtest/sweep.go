package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/optionsrisk/backtest/internal/runner"
	"github.com/optionsrisk/backtest/lake"
	"github.com/optionsrisk/backtest/scenarios"
)

// maxSweepRuns bounds a grid: a typo like 1..1000 in three keys must not
// queue a billion runs.
const maxSweepRuns = 10000

type sweepJob struct {
	index int
	sets  []string // grid settings only, for display
	l     *scenarios.Loaded
	id    string
}

func newSweepCmd() *cobra.Command {
	var (
		grids, sets []string
		workers     int
		shard, out  string
		quiet       bool
		status      bool
		ablate      bool
	)
	c := &cobra.Command{
		Use:   "sweep SCENARIO --grid path=v1,v2,... [--grid ...]",
		Short: "Run the cartesian product of settings and compare the runs",
		Long: `sweep runs SCENARIO once per combination of the --grid values (the last --grid
varies fastest), on a pool of workers. Each run is identical to the same run done
alone, and its id is NAME-CONFIGHASH, so an interrupted sweep resumes: runs already
published under OUT are skipped. --shard i/n (1 <= i <= n) runs every n-th
combination starting at the i-th, to split a sweep across machines; the grid is
expanded lazily, so a shard loads only its own combinations. Every published
run is appended to OUT/_catalog. The sweep ends with the compare table.`,
		Example: `  backtest sweep spy_crash --grid risk.trailing_stop.trail_pct=10,20,30
  backtest sweep spy_crash --grid risk.trailing_stop.trail_pct=15,25 \
      --grid risk.circuit_breaker.failure_threshold=3,5 --workers 2 --out runs/sweep1
  backtest sweep spy_crash --grid risk.limits.max_portfolio_delta=400,600,800 --shard 2/3
  backtest sweep spy_crash --ablate`,
		Args: exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if ablate {
				return sweepAblate(c, args[0], sets, grids, shard, out, workers, quiet)
			}
			if len(grids) == 0 {
				return usageError{errors.New("sweep needs at least one --grid path=v1,v2,...")}
			}
			si, sn, err := parseShard(shard)
			if err != nil {
				return err
			}
			if workers <= 0 {
				workers = runtime.NumCPU()
			}
			if status { // every shard's runs
				all, err := sweepJobs(c.Context(), args[0], sets, grids, 1, 1, dataRoot(c))
				if err != nil {
					return err
				}
				return sweepStatus(c.Context(), c.OutOrStdout(), all, out, sn)
			}
			mine, err := sweepJobs(c.Context(), args[0], sets, grids, si, sn, dataRoot(c))
			if err != nil {
				return err
			}
			stderr := c.ErrOrStderr()
			if quiet {
				stderr = io.Discard
			}
			if err := runSweep(c.Context(), mine, out, workers, stderr); err != nil {
				return err
			}
			var dirs []string
			for _, j := range mine {
				dirs = append(dirs, lake.JoinPath(out, j.id))
			}
			if len(dirs) == 0 {
				fmt.Fprintln(c.OutOrStdout(), "no runs in this shard")
				return nil
			}
			return compareDirs(c.Context(), c.OutOrStdout(), dirs, "table", "", nil)
		},
	}
	c.Flags().StringArrayVar(&grids, "grid", nil, "path=v1,v2,... values to sweep (repeatable)")
	c.Flags().StringArrayVar(&sets, "set", nil, "override a scenario field for every run (repeatable)")
	c.Flags().IntVar(&workers, "workers", 0, "parallel runs (default: one per core)")
	c.Flags().StringVar(&shard, "shard", "1/1", "run only shard i of n")
	c.Flags().StringVar(&out, "out", defaultOut(), "runs folder, local or s3://bucket/prefix (default $BACKTEST_OUT, else runs)")
	c.Flags().BoolVarP(&quiet, "quiet", "q", false, "no per-run progress lines")
	c.Flags().BoolVar(&status, "status", false, "run nothing: list which runs of the grid are published, missing, in progress or abandoned in OUT, with their shard of n (exit 1 unless all are published and cataloged)")
	c.Flags().BoolVar(&ablate, "ablate", false, "whole-layer ablation: all layers on, each off alone, all off (five runs, no --grid)")
	return c
}

func parseShard(s string) (i, n int, err error) {
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 1 || i > n {
		return 0, 0, usageError{fmt.Errorf("--shard %q: want i/n with 1 <= i <= n", s)}
	}
	return i, n, nil
}

// splitValues splits "a,b,[c,d],'e,f'" on commas outside brackets,
// braces and quotes (the values are YAML).
func splitValues(s string) []string {
	var out []string
	depth, start := 0, 0
	var quote rune
	for i, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '"' || r == '\'':
			quote = r
		case r == '[' || r == '{':
			depth++
		case r == ']' || r == '}':
			depth--
		case r == ',' && depth == 0:
			out = append(out, strings.TrimSpace(s[start:i]))
			start = i + 1
		}
	}
	return append(out, strings.TrimSpace(s[start:]))
}

// sweepJobs expands the grid lazily and loads (validates) the combinations
// of shard si of sn before anything runs, so a bad value fails the sweep up
// front and a shard costs only its share of a large product.
func sweepJobs(ctx context.Context, arg string, sets, grids []string, si, sn int, root string) ([]*sweepJob, error) {
	type axis struct {
		path   string
		values []string
	}
	var axes []axis
	total := 1
	for _, g := range grids {
		path, vals, ok := strings.Cut(g, "=")
		if !ok || path == "" || vals == "" {
			return nil, usageError{fmt.Errorf("--grid %q: want path=v1,v2,...", g)}
		}
		a := axis{path: path, values: splitValues(vals)}
		axes = append(axes, a)
		total *= len(a.values)
		if total > maxSweepRuns {
			return nil, usageError{fmt.Errorf("the grid has more than %d combinations", maxSweepRuns)}
		}
	}
	var jobs []*sweepJob
	seen := map[string]int{}
	for n := si - 1; n < total; n += sn {
		// Combination n in mixed radix, the last axis fastest.
		gs := make([]string, len(axes))
		rest := n
		for k := len(axes) - 1; k >= 0; k-- {
			gs[k] = axes[k].path + "=" + axes[k].values[rest%len(axes[k].values)]
			rest /= len(axes[k].values)
		}
		l, err := scenarios.Load(arg, append(append([]string{}, sets...), gs...))
		if err != nil {
			return nil, err
		}
		if err := runner.CheckDataRoot(root, l); err != nil {
			return nil, err
		}
		if err := runner.Prepare(ctx, l); err != nil {
			return nil, err
		}
		id, err := runner.DefaultRunID(l)
		if err != nil {
			return nil, err
		}
		if prev, dup := seen[id]; dup {
			return nil, usageError{fmt.Errorf("grid combinations %d and %d give the same scenario (%s)", prev+1, n+1, strings.Join(gs, " "))}
		}
		seen[id] = n
		jobs = append(jobs, &sweepJob{index: n, sets: gs, l: l, id: id})
	}
	return jobs, nil
}

// runSweep runs the jobs on a pool of workers. Runs already published are
// skipped, also when another process (an overlapping sweep) is building
// one: the worker waits for it. The catalog is reconciled before and after,
// so every published run of out is in it once.
func runSweep(ctx context.Context, jobs []*sweepJob, out string, workers int, log io.Writer) error {
	fsys, err := lake.FSFor(out)
	if err != nil {
		return err
	}
	// On an object store, runs abandoned mid-upload (a killed shard) are
	// removed first; their jobs then run again. A catalog that cannot be
	// written now is repaired by a later command: a warning, not a failure.
	if err := reconcile(ctx, log, out); err != nil {
		fmt.Fprintln(log, "backtest: warning: catalog not reconciled:", err)
	}
	var sharedErr error
	if !lake.IsObjectFS(fsys) {
		// One decode per feed (sweep_shared.go). On an object store every
		// run goes through the worker pool, which publishes without rename
		// and knows a published run by its marker.
		jobs, sharedErr = runShared(ctx, jobs, out, log)
	}
	var (
		mu     sync.Mutex
		errs   = []error{sharedErr}
		done   int
		queue  = make(chan *sweepJob)
		wg     sync.WaitGroup
		report = func(format string, a ...any) {
			mu.Lock()
			defer mu.Unlock()
			done++
			fmt.Fprintf(log, "[%d/%d] "+format+"\n", append([]any{done, len(jobs)}, a...)...)
		}
	)
	for range min(workers, max(len(jobs), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range queue {
				if published(fsys, lake.JoinPath(out, j.id)) {
					report("%s %s: already published, skipped", j.id, strings.Join(j.sets, " "))
					continue
				}
				start := time.Now()
				o, err := runner.Run(ctx, runner.Options{Scenario: j.l, OutDir: out, RunID: j.id, Now: time.Now, WaitForRunID: true})
				switch {
				case errors.Is(err, runner.ErrRunIDPublished):
					report("%s %s: published by another process, skipped", j.id, strings.Join(j.sets, " "))
				case err != nil:
					mu.Lock()
					errs = append(errs, fmt.Errorf("%s (%s): %w", j.id, strings.Join(j.sets, " "), err))
					mu.Unlock()
					report("%s %s: FAILED: %v", j.id, strings.Join(j.sets, " "), err)
				case o.CatalogErr != nil:
					report("%s %s: done in %s (catalog row pending: %v)", j.id, strings.Join(j.sets, " "), time.Since(start).Round(time.Millisecond), o.CatalogErr)
				default:
					report("%s %s: done in %s", j.id, strings.Join(j.sets, " "), time.Since(start).Round(time.Millisecond))
				}
			}
		}()
	}
	for _, j := range jobs {
		if ctx.Err() != nil {
			break
		}
		queue <- j
	}
	close(queue)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	if _, err := runner.Reconcile(context.WithoutCancel(ctx), out); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// published reports whether the run folder dir is published: it exists
// (local runs appear by rename), or its run.json marker is there (object
// stores).
func published(fsys lake.FS, dir string) bool {
	if !lake.IsObjectFS(fsys) {
		_, err := fsys.Stat(dir)
		return err == nil
	}
	st, _, err := runner.StateOf(fsys, dir, time.Now())
	return err == nil && st == runner.StatePublished
}
