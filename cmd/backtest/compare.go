package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/spf13/cobra"

	"github.com/optionsrisk/backtest/reports"
)

// errBadRunDir marks a path that is not a run folder (bad input, exit 2).
var errBadRunDir = errors.New("not a run folder")

func newCompareCmd() *cobra.Command {
	var format, sortBy, metrics string
	c := &cobra.Command{
		Use:   "compare RUN_DIR...",
		Short: "Put runs side by side: metrics, and every setting that differs",
		Long: `compare reads each run folder's summary.json and scenario.yaml and prints one row
per run: a column for each scenario setting that differs between the runs, then the
headline metrics (or --metrics). --sort orders rows by a metric, descending (prefix
'+' for ascending). --format html writes a page with the equity curves and
drawdowns overlaid.`,
		Example: `  backtest compare runs/spy_crash-*
  backtest compare runs/a runs/b --sort ratios.sharpe --format md
  backtest compare runs/* --format html > compare.html`,
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError{errors.New("compare needs at least one RUN_DIR")}
			}
			var ms []string
			if metrics != "" {
				ms = strings.Split(metrics, ",")
			}
			return compareDirs(c.Context(), c.OutOrStdout(), args, format, sortBy, ms)
		},
	}
	c.Flags().StringVar(&format, "format", "table", "table, md, json or html")
	c.Flags().StringVar(&sortBy, "sort", "", "metric to sort by, e.g. pnl.total or +drawdown.max_pct")
	c.Flags().StringVar(&metrics, "metrics", "", "comma-separated metrics (default: the headline set; a narrower one for the terminal table)")
	c.Flags().StringVar(&metrics, "columns", "", "same as --metrics")
	return c
}

func compareDirs(ctx context.Context, w io.Writer, dirs []string, format, sortBy string, metrics []string) error {
	switch format {
	case "table", "md", "json", "html":
	default:
		return usageError{fmt.Errorf("--format %q: want table, md, json or html", format)}
	}
	if len(metrics) == 0 {
		metrics = reports.Headline
		if format == "table" {
			metrics = reports.TableHeadline
		}
	}
	var runs []reports.Compared
	for _, d := range dirs {
		c, err := loadCompared(d)
		if err != nil {
			return err
		}
		runs = append(runs, c)
	}
	if sortBy != "" {
		if err := reports.SortRuns(runs, sortBy); err != nil {
			return usageError{err}
		}
	}
	settings := reports.DifferingSettings(runs)
	switch format {
	case "md":
		return reports.WriteCompareMarkdown(w, runs, settings, metrics)
	case "json":
		_, err := w.Write(reports.CompareJSON(runs, settings, metrics))
		return err
	case "html":
		return compareHTML(ctx, w, dirs, runs, settings)
	}
	return reports.WriteCompareTable(w, runs, settings, metrics)
}

// compareHTML loads every run fully (equity curves) in the sorted order.
func compareHTML(ctx context.Context, w io.Writer, dirs []string, runs []reports.Compared, settings []string) error {
	byID := map[string]string{}
	for _, d := range dirs {
		c, err := loadCompared(d)
		if err != nil {
			return err
		}
		byID[c.RunID] = d
	}
	var loaded []*reports.Run
	var sums []*reports.Summary
	defer func() {
		for _, r := range loaded {
			r.Close()
		}
	}()
	for _, c := range runs {
		r, err := reports.Load(ctx, byID[c.RunID])
		if err != nil {
			return err
		}
		loaded = append(loaded, r)
		s, err := reports.Summarize(ctx, r)
		if err != nil {
			return err
		}
		sums = append(sums, s)
	}
	return reports.WriteCompareHTML(ctx, w, loaded, sums, settings)
}

func loadCompared(dir string) (reports.Compared, error) {
	results, id, err := reports.ReadResults(filepath.Join(dir, "summary.json"))
	if err != nil {
		return reports.Compared{}, fmt.Errorf("%w: %s: %v", errBadRunDir, dir, err)
	}
	yb, err := os.ReadFile(filepath.Join(dir, "scenario.yaml"))
	if err != nil {
		return reports.Compared{}, fmt.Errorf("%w: %v", errBadRunDir, err)
	}
	var scen map[string]any
	if err := yaml.Unmarshal(yb, &scen); err != nil {
		return reports.Compared{}, fmt.Errorf("%w: %s: %v", errBadRunDir, filepath.Join(dir, "scenario.yaml"), err)
	}
	if id == "" {
		id = filepath.Base(dir)
	}
	return reports.NewCompared(id, scen, results), nil
}
