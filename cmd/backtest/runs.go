package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/optionsrisk/backtest/internal/runner"
	"github.com/optionsrisk/backtest/lake"
)

// reconcile brings the catalog of a runs folder in line with its published
// run folders (runner.Reconcile) and says what it added. A missing folder
// has nothing to reconcile.
func reconcile(ctx context.Context, stderr io.Writer, out string) error {
	if err := cleanAbandoned(ctx, stderr, out); err != nil {
		return err
	}
	added, err := runner.Reconcile(ctx, out)
	if err != nil {
		return err
	}
	if len(added) > 0 {
		fmt.Fprintf(stderr, "backtest: catalog: added %d published run(s) it was missing: %v\n", len(added), added)
	}
	return nil
}

func newRunsCmd() *cobra.Command {
	var out string
	c := &cobra.Command{
		Use:   "runs rm RUN_ID... | runs gc",
		Short: "Remove runs, or catalog rows whose run folder is gone",
		Long: `runs manages the runs folder and its catalog (OUT/_catalog), which always lists every
published run once: every command that opens a runs folder first adds published runs
the catalog misses (a crash between publish and catalog). A row whose run folder was
deleted by hand is hidden from the runs view of query at once; 'runs gc' deletes such
rows, 'runs rm ID...' deletes run folders and their rows. Both work on a local runs
folder only, not on an object store (s3://) yet.`,
		Example: `  backtest runs rm spy_crash-1a2b3c4d --out runs
  backtest runs gc --out runs`,
	}
	c.PersistentFlags().StringVar(&out, "out", "runs", "runs folder")
	rm := &cobra.Command{
		Use:   "rm RUN_ID...",
		Short: "Delete run folders and their catalog rows",
		Args: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError{errors.New("runs rm needs at least one RUN_ID")}
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			if err := localRunsFolder("runs rm", out); err != nil {
				return err
			}
			removed, err := runner.RemoveRuns(c.Context(), out, args)
			for _, id := range removed {
				fmt.Fprintf(c.OutOrStdout(), "removed %s\n", id)
			}
			return err
		},
	}
	gc := &cobra.Command{
		Use:   "gc",
		Short: "Delete catalog rows of runs whose folder is gone",
		Args:  exactArgs(0),
		RunE: func(c *cobra.Command, args []string) error {
			if err := localRunsFolder("runs gc", out); err != nil {
				return err
			}
			if err := reconcile(c.Context(), c.ErrOrStderr(), out); err != nil {
				return err
			}
			gone, err := runner.CollectGarbage(c.Context(), out)
			if err != nil {
				return err
			}
			for _, id := range gone {
				fmt.Fprintf(c.OutOrStdout(), "removed catalog row of %s (no folder %s)\n", id, filepath.Join(out, id))
			}
			if len(gone) == 0 {
				fmt.Fprintln(c.OutOrStdout(), "catalog clean: every row has its run folder")
			}
			return nil
		},
	}
	c.AddCommand(rm, gc)
	return c
}

// localRunsFolder checks that out is a local runs folder that exists: runs
// rm and gc do not manage runs on an object store.
func localRunsFolder(cmd, out string) error {
	if lake.IsObjectPath(out) {
		return fmt.Errorf("%w: %s manages a local runs folder; %s is on an object store, where it cannot delete runs or catalog rows yet", runner.ErrBadInput, cmd, out)
	}
	if _, err := os.Stat(out); err != nil {
		return fmt.Errorf("%w: runs folder %s: %v", runner.ErrBadInput, out, err)
	}
	return nil
}
