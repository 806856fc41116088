package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/optionsrisk/backtest/reports"
	"github.com/optionsrisk/backtest/scenarios"
)

// This file owns `backtest sweep NAME --ablate`: whole-layer ablation, five
// runs through the sweep machinery (all layers on, each layer off alone,
// all off) and one table of their differences from all on.

// ablationLayers are the risk layers' scenario keys, in table order.
var ablationLayers = []struct{ name, key string }{
	{"trailing_stop", "risk.trailing_stop.enabled"},
	{"portfolio_limits", "risk.limits.enabled"},
	{"circuit_breaker", "risk.circuit_breaker.enabled"},
}

// ablationJobs are the five runs. "all on" adds no setting when the
// scenario has every layer on, so it is the plain run (same id: a published
// plain run is reused); a layer the scenario switched off is switched on.
func ablationJobs(ctx context.Context, arg string, sets []string, root string) ([]*sweepJob, []string, error) {
	l, err := scenarios.Load(arg, sets)
	if err != nil {
		return nil, nil, err
	}
	off := map[string]bool{
		"risk.trailing_stop.enabled":   l.Risk.TrailingStop.Enabled != nil && !*l.Risk.TrailingStop.Enabled,
		"risk.limits.enabled":          l.Risk.Limits.Enabled != nil && !*l.Risk.Limits.Enabled,
		"risk.circuit_breaker.enabled": l.Risk.CircuitBreaker.Enabled != nil && !*l.Risk.CircuitBreaker.Enabled,
	}
	var allOn, allOff []string
	for _, ly := range ablationLayers {
		if off[ly.key] {
			allOn = append(allOn, ly.key+"=true")
		}
		allOff = append(allOff, ly.key+"=false")
	}
	variants := [][]string{allOn}
	labels := []string{"all on"}
	for _, ly := range ablationLayers {
		v := []string{ly.key + "=false"}
		for _, o := range ablationLayers {
			if o.key != ly.key && off[o.key] {
				v = append(v, o.key+"=true")
			}
		}
		variants = append(variants, v)
		labels = append(labels, "no "+ly.name)
	}
	variants = append(variants, allOff)
	labels = append(labels, "all off")
	var jobs []*sweepJob
	for i, v := range variants {
		js, err := sweepJobs(ctx, arg, append(append([]string{}, sets...), v...), nil, 1, 1, root)
		if err != nil {
			return nil, nil, err
		}
		j := js[0]
		j.index, j.sets = i, v
		jobs = append(jobs, j)
	}
	return jobs, labels, nil
}

// runAblation runs the five jobs and prints the ablation table.
func runAblation(ctx context.Context, stdout, log io.Writer, arg string, sets []string, out string, workers int, root string) error {
	jobs, labels, err := ablationJobs(ctx, arg, sets, root)
	if err != nil {
		return err
	}
	if err := runSweep(ctx, jobs, out, workers, log); err != nil {
		return err
	}
	var rows []reports.AblationRow
	for i, j := range jobs {
		res, _, err := reports.ReadResults(filepath.Join(out, j.id, "summary.json"))
		if err != nil {
			return fmt.Errorf("%w: %s: %v", errBadRunDir, filepath.Join(out, j.id), err)
		}
		rows = append(rows, reports.AblationRow{Label: labels[i], RunID: j.id, Results: res})
	}
	if len(rows) != 5 {
		return errors.New("ablation: want five runs")
	}
	return reports.WriteAblationTable(stdout, rows)
}

// sweepAblate is the --ablate branch of the sweep command.
func sweepAblate(c *cobra.Command, arg string, sets, grids []string, shard, out string, workers int, quiet bool) error {
	if len(grids) > 0 || shard != "1/1" {
		return usageError{errors.New("--ablate takes no --grid and no --shard: it runs its own five settings")}
	}
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	log := c.ErrOrStderr()
	if quiet {
		log = io.Discard
	}
	return runAblation(c.Context(), c.OutOrStdout(), log, arg, sets, out, workers, dataRoot(c))
}
