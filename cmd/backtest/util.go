package main

import (
	"context"
	"iter"
	"maps"
	"os"

	"github.com/spf13/cobra"

	"github.com/optionsrisk/backtest/internal/runner"
	"github.com/optionsrisk/backtest/scenarios"
)

func mapsKeys[M ~map[K]V, K comparable, V any](m M) iter.Seq[K] { return maps.Keys(m) }

// previewRunID is the default run id run would give l (validate): the same
// preparation and the same validator. It prepares a copy, so l is as
// loaded.
func previewRunID(ctx context.Context, l *scenarios.Loaded) (string, error) {
	cp := *l
	if f := l.Feed.File; f != nil {
		fc := *f
		cp.Feed.File = &fc
	}
	if err := runner.Prepare(ctx, &cp); err != nil {
		return "", err
	}
	return runner.DefaultRunID(&cp)
}

// dataRootEnv names the environment variable --data-root defaults to.
const dataRootEnv = "BACKTEST_DATA_ROOT"

// dataRoot is --data-root, else $BACKTEST_DATA_ROOT, else "" (no limit).
func dataRoot(c *cobra.Command) string {
	if v, _ := c.Flags().GetString("data-root"); v != "" {
		return v
	}
	return os.Getenv(dataRootEnv)
}
