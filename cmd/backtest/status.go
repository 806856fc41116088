package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/optionsrisk/backtest/internal/runner"
	"github.com/optionsrisk/backtest/lake"
)

// errIncomplete: sweep --status found runs of the grid that are not
// published (and cataloged). Exit code 1, like a drifted check: a script
// resubmits the sweep.
var errIncomplete = errors.New("sweep incomplete")

// sweepStatus prints the state of every run of the grid (every shard) in
// out: published, missing, in progress or abandoned, and whether the
// catalog holds it, with the shard (of n) that runs it. It returns
// errIncomplete unless every run is published and cataloged.
func sweepStatus(ctx context.Context, w io.Writer, jobs []*sweepJob, out string, n int) error {
	fsys, err := lake.FSFor(out)
	if err != nil {
		return err
	}
	runs, err := runner.ListRuns(ctx, fsys, out, time.Now())
	if err != nil {
		return fmt.Errorf("sweep status: %w", err)
	}
	state := map[string]runner.RunEntry{}
	for _, r := range runs {
		state[r.ID] = r
	}
	cataloged, err := runner.CatalogedRuns(ctx, out)
	if err != nil {
		return fmt.Errorf("sweep status: %w", err)
	}
	counts := map[runner.RunState]int{}
	uncataloged := 0
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tshard\trun_id\tstate\tcatalog\tgrid")
	for _, j := range jobs {
		e, ok := state[j.id]
		if !ok {
			e = runner.RunEntry{ID: j.id, State: runner.StateMissing}
		}
		counts[e.State]++
		cat := "-"
		if cataloged[j.id] {
			cat = "yes"
		} else if e.State == runner.StatePublished {
			cat = "NO"
			uncataloged++
		}
		st := string(e.State)
		if e.Detail != "" {
			st += " (" + e.Detail + ")"
		}
		fmt.Fprintf(tw, "%d\t%d/%d\t%s\t%s\t%s\t%s\n", j.index+1, j.index%n+1, n, j.id, st, cat, strings.Join(j.sets, " "))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "%d runs: %d published, %d missing, %d in progress, %d abandoned; %d published but not in the catalog\n",
		len(jobs), counts[runner.StatePublished], counts[runner.StateMissing], counts[runner.StateInProgress],
		counts[runner.StateAbandoned], uncataloged)
	if counts[runner.StatePublished] != len(jobs) || uncataloged > 0 {
		return fmt.Errorf("%w: resubmit the sweep (or the shards listed) to complete it", errIncomplete)
	}
	return nil
}
