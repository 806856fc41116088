package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/optionsrisk/backtest/internal/runner"
	"github.com/optionsrisk/backtest/reports"
	"github.com/optionsrisk/backtest/scenarios"
)

func newCheckCmd() *cobra.Command {
	var (
		baseline, dir string
		update, all   bool
		asJSON        bool
		sets          []string
	)
	c := &cobra.Command{
		Use:   "check SCENARIO... | --all",
		Short: "Replay scenarios and fail when risk behaviour drifts from the baselines",
		Long: `check replays each scenario and compares the results part of its summary with the
baseline (default DIR/NAME.json, DIR = scenarios/baselines): counts and strings
exactly, floats within the baseline's tolerance: |a-b| <= max(tolerance.absolute,
tolerance.relative x max(|a|,|b|)), with tolerance.fields overriding the relative
part for single fields or prefixes such as "daily_pnl.". It prints
what moved, from what to what, and exits 1 on drift, 0 when everything matches.
--update rewrites the baselines (keeping their tolerances). --all checks every
built-in scenario. Runs go to a temporary folder and are removed.`,
		Example: `  backtest check --all
  backtest check spy_crash volmageddon
  backtest check my.yaml --baseline ci/my.json
  backtest check spy_crash --update`,
		RunE: func(c *cobra.Command, args []string) error {
			if all {
				for _, b := range scenarios.Builtins() {
					args = append(args, b.Name)
				}
			}
			if len(args) == 0 {
				return usageError{errors.New("check needs SCENARIO... or --all")}
			}
			if baseline != "" && len(args) > 1 {
				return usageError{errors.New("--baseline names one file: give one scenario")}
			}
			tmp, err := os.MkdirTemp("", "backtest-check-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(tmp)
			w := c.OutOrStdout()
			if asJSON {
				w = io.Discard
			}
			var report []any // the --json document, one entry per scenario
			drifted := 0
			for _, arg := range args {
				l, err := scenarios.Load(arg, sets)
				if err != nil {
					return err
				}
				if err := runner.CheckDataRoot(dataRoot(c), l); err != nil {
					return err
				}
				path := baseline
				if path == "" {
					if err := runner.CheckRunID(l.Name); err != nil {
						return fmt.Errorf("%w: %s: name %q cannot name a baseline file: give --baseline", runner.ErrBadInput, l.File, l.Name)
					}
					path = filepath.Join(dir, l.Name+".json")
				}
				if err := runner.CheckPathInDataRoot(dataRoot(c), "baseline", path); err != nil {
					return err
				}
				out, err := runner.Run(c.Context(), runner.Options{Scenario: l, OutDir: tmp, Now: time.Now, NoCatalog: true})
				if err != nil {
					return err
				}
				results, _, err := reports.ReadResults(filepath.Join(out.RunDir, "summary.json"))
				if err != nil {
					return err
				}
				old, err := readBaseline(path)
				missing := errors.Is(err, fs.ErrNotExist)
				if err != nil && !missing {
					return err
				}
				if update {
					b := &reports.Baseline{Scenario: l.Name, Tolerance: reports.Tolerance{Relative: reports.DefaultRelative, Absolute: reports.DefaultAbsolute}, Results: results}
					if old != nil {
						b.Tolerance = old.Tolerance
					}
					if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
						return err
					}
					if err := os.WriteFile(path, b.Encode(), 0o644); err != nil {
						return err
					}
					fmt.Fprintf(w, "%s: baseline written to %s\n", l.Name, path)
					report = append(report, reports.Object{"scenario": l.Name, "baseline": path, "status": "updated"})
					continue
				}
				if missing {
					return fmt.Errorf("%w: %s: no baseline at %s (create it with --update)", runner.ErrBadInput, l.Name, path)
				}
				drift := old.Diff(results)
				entry := reports.Object{"scenario": l.Name, "baseline": path, "status": "ok"}
				report = append(report, entry)
				if len(drift) == 0 {
					fmt.Fprintf(w, "%s: ok (matches %s)\n", l.Name, path)
					continue
				}
				var moved []any
				for _, d := range drift {
					moved = append(moved, reports.Object{"field": d.Field, "was": d.Was, "now": d.Now})
				}
				entry["status"], entry["drift"] = "drift", moved
				drifted++
				fmt.Fprintf(w, "%s: DRIFT, %d field(s) moved from %s:\n", l.Name, len(drift), path)
				for _, d := range drift {
					fmt.Fprintf(w, "  %s\n", d)
				}
			}
			if asJSON {
				if _, err := c.OutOrStdout().Write(reports.Encode(reports.Object{"scenarios": report, "drifted": int64(drifted)})); err != nil {
					return err
				}
			}
			if drifted > 0 {
				return fmt.Errorf("%w (%d of %d scenarios)", errDrift, drifted, len(args))
			}
			return nil
		},
	}
	c.Flags().StringVar(&baseline, "baseline", "", "baseline file (default DIR/NAME.json)")
	c.Flags().StringVar(&dir, "baseline-dir", filepath.Join("scenarios", "baselines"), "folder of baselines")
	c.Flags().BoolVar(&update, "update", false, "rewrite the baselines from this run")
	c.Flags().BoolVar(&all, "all", false, "check every built-in scenario")
	c.Flags().StringArrayVar(&sets, "set", nil, "override a scenario field (repeatable)")
	c.Flags().BoolVar(&asJSON, "json", false, "print the outcome as JSON (status and drifted fields per scenario)")
	return c
}

func readBaseline(path string) (*reports.Baseline, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	bl, err := reports.ParseBaseline(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %s", runner.ErrBadInput, path, strings.TrimPrefix(err.Error(), "reports: "))
	}
	return bl, nil
}
