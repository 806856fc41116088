package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/optionsrisk/backtest/internal/runner"
	"github.com/optionsrisk/backtest/scenarios"
)

func newValidateCmd() *cobra.Command {
	var sets []string
	c := &cobra.Command{
		Use:   "validate SCENARIO",
		Short: "Check a scenario file without running it",
		Long: `validate loads SCENARIO strictly (unknown keys, wrong types and bad values are
errors naming file:line:column and the field), applies --set overrides and checks
every setting, and derives the default run id the way run does (a name that
cannot make one is refused). Exit 0 when valid, 2 otherwise.`,
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
			fmt.Fprintf(c.OutOrStdout(), "%s: ok (%s, %s .. %s), run id %s\n", l.File, l.Name,
				l.Period.Start.Format("2006-01-02"), l.Period.End.Format("2006-01-02"), id)
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
