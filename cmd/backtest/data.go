package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/optionsrisk/backtest/feeds"
	"github.com/optionsrisk/backtest/internal/runner"
	"github.com/optionsrisk/backtest/scenarios"
)

func newDataCmd() *cobra.Command {
	data := &cobra.Command{Use: "data", Short: "Feed utilities", Example: "  backtest data gen spy_crash -o spy_crash.parquet"}
	var out string
	var sets []string
	gen := &cobra.Command{
		Use:   "gen SCENARIO -o FILE.parquet",
		Short: "Write a scenario's feed (synthetic or files) as a Parquet file (the native preset)",
		Long: `gen reads the feed of SCENARIO (the synthetic chain generator, or vendor files
through their preset) and writes every quote to a Parquet file in the native layout.
A scenario whose feed is that file (feed: {file: {path: FILE.parquet, preset: native}})
replays the same quotes, faster.`,
		Example: `  backtest data gen spy_crash -o spy_crash.parquet`,
		Args:    exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if out == "" {
				return usageError{errors.New("gen needs -o FILE.parquet")}
			}
			l, err := scenarios.Load(args[0], sets)
			if err != nil {
				return err
			}
			if err := runner.Prepare(c.Context(), l); err != nil {
				return err
			}
			src, err := runner.OpenFeed(c.Context(), l)
			if err != nil {
				return err
			}
			defer src.Close()
			n, err := feeds.WriteParquet(c.Context(), src, out)
			if err != nil {
				if l.Feed.File != nil {
					return fmt.Errorf("%w: %s: feed.file: %w", runner.ErrBadInput, l.File, err)
				}
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "wrote %d quotes to %s\n", n, out)
			return nil
		},
	}
	gen.Flags().StringVarP(&out, "out", "o", "", "output Parquet file")
	gen.Flags().StringArrayVar(&sets, "set", nil, "override a scenario field (repeatable)")
	data.AddCommand(gen)
	return data
}
