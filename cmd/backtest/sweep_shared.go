package main

// This file owns the sweep's one-decode-per-feed step: the runs of a sweep
// that read the same feed (same resolved feed section, period and, for a
// synthetic feed, seed) share one decode (runner.RunShared).

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/optionsrisk/backtest/internal/runner"
)

// runShared runs, on shared decodes, every job not yet published whose feed
// at least one other such job reads too, and returns the jobs left for the
// worker pool (published ones, and runs alone on their feed).
func runShared(ctx context.Context, jobs []*sweepJob, out string, log io.Writer) ([]*sweepJob, error) {
	var rest []*sweepJob
	groups := map[string][]*sweepJob{}
	var keys []string
	for _, j := range jobs {
		if _, err := os.Stat(filepath.Join(out, j.id)); err == nil {
			rest = append(rest, j)
			continue
		}
		k, err := runner.FeedKey(j.l)
		if err != nil {
			rest = append(rest, j)
			continue
		}
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], j)
	}
	var errs []error
	for _, k := range keys { // first-seen order: deterministic
		g := groups[k]
		if len(g) < 2 {
			rest = append(rest, g...)
			continue
		}
		for len(g) > 0 && ctx.Err() == nil {
			n := min(len(g), runner.MaxShared)
			part := g[:n]
			g = g[n:]
			opts := make([]runner.Options, n)
			for i, j := range part {
				opts[i] = runner.Options{Scenario: j.l, OutDir: out, RunID: j.id, Now: time.Now}
			}
			start := time.Now()
			_, rerrs := runner.RunShared(ctx, opts)
			for i, j := range part {
				switch {
				case errors.Is(rerrs[i], runner.ErrRunIDBusy):
					// Another process is writing it: the worker pool waits for it
					// (waiting here would stall the shared decode's other runs).
					fmt.Fprintf(log, "[shared] %s %s: being written by another process, left to the pool\n", j.id, strings.Join(j.sets, " "))
					rest = append(rest, j)
					continue
				case errors.Is(rerrs[i], runner.ErrRunIDPublished):
					fmt.Fprintf(log, "[shared] %s %s: published by another process, skipped\n", j.id, strings.Join(j.sets, " "))
					continue
				}
				if rerrs[i] != nil {
					errs = append(errs, fmt.Errorf("%s (%s): %w", j.id, strings.Join(j.sets, " "), rerrs[i]))
					fmt.Fprintf(log, "[shared] %s %s: FAILED: %v\n", j.id, strings.Join(j.sets, " "), rerrs[i])
					continue
				}
				fmt.Fprintf(log, "[shared] %s %s: done\n", j.id, strings.Join(j.sets, " "))
			}
			fmt.Fprintf(log, "[shared] %d runs on one decode in %s\n", n, time.Since(start).Round(time.Millisecond))
		}
	}
	return rest, errors.Join(errs...)
}
