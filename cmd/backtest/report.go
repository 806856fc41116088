package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/optionsrisk/backtest/internal/runner"
	"github.com/optionsrisk/backtest/lake"
)

func newReportCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "report RUN_DIR",
		Short: "Regenerate a run's summary.json, report.md and report.html from its tables",
		Long: `report recomputes a run folder's summary.json from its Delta tables, run.json and
scenario.yaml, and writes report.md (for pull requests) and report.html (one
self-contained file with charts: open it in a browser).`,
		Example: `  backtest report runs/spy_crash-7f08966b
  xdg-open runs/spy_crash-7f08966b/report.html`,
		Args: exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			dir := args[0]
			// An s3:// run folder is fetched, its reports regenerated
			// locally and uploaded back.
			var f fetcher
			defer f.Close()
			local, err := f.runDir(c.Context(), dir)
			if err != nil {
				return err
			}
			if _, err := os.Stat(filepath.Join(local, "run.json")); err != nil {
				return fmt.Errorf("%w: %s: %v", errBadRunDir, dir, err)
			}
			if err := runner.WriteReports(c.Context(), local); err != nil {
				return err
			}
			files := []string{"summary.json", "report.md", "report.html"}
			if local != dir {
				if err := uploadReports(local, dir, files); err != nil {
					return err
				}
			}
			for _, f := range files {
				fmt.Fprintln(c.OutOrStdout(), lake.JoinPath(dir, f))
			}
			return nil
		},
	}
}
