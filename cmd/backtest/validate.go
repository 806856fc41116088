package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/optionsrisk/backtest/feeds"
	"github.com/optionsrisk/backtest/internal/runner"
	"github.com/optionsrisk/backtest/scenarios"
)

// checkFeed opens a file feed and reads its first batch of quotes: what a run would meet
// first. It returns a note for the ok line ("" for a synthetic feed).
func checkFeed(ctx context.Context, l *scenarios.Loaded) (string, error) {
	if l.Feed.File == nil {
		return "", nil
	}
	if err := runner.Prepare(ctx, l); err != nil {
		return "", err
	}
	src, err := runner.OpenFeed(ctx, l)
	if err != nil {
		return "", err
	}
	defer src.Close()
	b, err := src.Next(ctx)
	switch {
	case errors.Is(err, io.EOF):
		return "; feed: no quotes", nil
	case err != nil:
		return "", fmt.Errorf("%w: %s: feed.file: %w", runner.ErrBadInput, l.File, err)
	}
	return fmt.Sprintf("; feed: ok, first quotes at %s", feeds.MicrosTime(b.Quotes[0].Time).Format(time.RFC3339)), nil
}

func newValidateCmd() *cobra.Command {
	var sets []string
	c := &cobra.Command{
		Use:   "validate SCENARIO",
		Short: "Check a scenario file without running it",
		Long: `validate loads SCENARIO strictly (unknown keys, wrong types and bad values are
errors naming file:line:column and the field), applies --set overrides and checks
every setting, and derives the default run id the way run does (a name that
cannot make one is refused). A file feed is checked too: the files exist and are
readable, the format and preset fit, the header has the columns the layout needs,
and the first rows parse (errors name file:line:column). Exit 0 when valid, 2
otherwise.`,
		Example: `  backtest validate scenarios/spy_crash.yaml
  backtest validate spy_crash --set risk.trailing_stop.trail_pct=30`,
		Args: exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			l, err := scenarios.Load(args[0], sets)
			if err != nil {
				return err
			}
			if err := runner.CheckDataRoot(dataRoot(c), l); err != nil {
				return err
			}
			id, err := previewRunID(c.Context(), l)
			if err != nil {
				return err
			}
			feed, err := checkFeed(c.Context(), l)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "%s: ok (%s, %s .. %s), run id %s%s\n", l.File, l.Name,
				l.Period.Start.Format("2006-01-02"), l.Period.End.Format("2006-01-02"), id, feed)
			return nil
		},
	}
	c.Flags().StringArrayVar(&sets, "set", nil, "override a scenario field (repeatable)")
	return c
}

func newScenariosCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "scenarios",
		Short:   "List the built-in scenarios",
		Example: "  backtest scenarios\n  backtest run spy_crash",
		Args:    exactArgs(0),
		RunE: func(c *cobra.Command, args []string) error {
			for _, b := range scenarios.Builtins() {
				fmt.Fprintf(c.OutOrStdout(), "%-14s %s\n", b.Name, b.Description)
			}
			return nil
		},
	}
}
