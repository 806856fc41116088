// Command backtest replays option premiums through the circuit breaker,
// trailing stops and portfolio limits of a live options system and writes
// every risk decision to per-run Delta tables.
//
// This package is the only place that reads the wall clock, flags, the
// environment and the TTY.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/optionsrisk/backtest/internal/runner"
	"github.com/optionsrisk/backtest/scenarios"
)

// Exit codes (DESIGN.md, "CLI").
const (
	exitOK       = 0
	exitDrift    = 1 // a check found drift
	exitBadInput = 2 // bad input or usage
	exitFailure  = 3 // the run failed for another reason (I/O, internal)
)

// usageError marks a command-line misuse.
type usageError struct{ error }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Main runs the CLI with args and returns the exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	defer runner.RemoveCaches()
	// BACKTEST_PEAK_RSS_FILE=FILE: the process's peak RSS (KiB) is written
	// there at the end (backtest bench measures its run and sweep children so).
	if path := os.Getenv("BACKTEST_PEAK_RSS_FILE"); path != "" {
		defer func() { _ = os.WriteFile(path, []byte(strconv.FormatInt(maxRSS(), 10)+"\n"), 0o644) }()
	}
	// BACKTEST_CPUPROFILE=FILE writes a CPU profile of the command (go tool pprof).
	if path := os.Getenv("BACKTEST_CPUPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil && pprof.StartCPUProfile(f) == nil {
			defer f.Close()
			defer pprof.StopCPUProfile()
		}
	}
	root := newRoot(stdout, stderr)
	gcPolicy(root, args)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(stderr, "backtest:", err)
	return exitCode(err)
}

func exitCode(err error) int {
	var ue usageError
	switch {
	case errors.Is(err, errDrift), errors.Is(err, errIncomplete):
		return exitDrift
	case errors.As(err, &ue), errors.Is(err, scenarios.ErrInvalid), errors.Is(err, runner.ErrBadInput), errors.Is(err, errBadRunDir):
		return exitBadInput
	}
	return exitFailure
}

// gcPercent is Go's GC target (GOGC) of every command but sweep, unless the
// environment sets GOGC: the heap may grow 50 % over its live data before a
// collection, not 100 %. A run's live heap is small and allocates little, so
// this costs a few percent of CPU and keeps a long run's heap closer to its
// live data. A sweep keeps Go's default: its engines share one heap, and
// collections would cost more than they save.
const gcPercent = 50

func gcPolicy(root *cobra.Command, args []string) {
	if os.Getenv("GOGC") != "" {
		return
	}
	if c, _, err := root.Find(args); err == nil && c.Name() == "sweep" {
		return
	}
	debug.SetGCPercent(gcPercent)
}

var errDrift = errors.New("check failed: results drifted from the baseline")

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "backtest",
		Short: "Replay option premiums through live risk layers; every decision lands in Delta tables",
		Long: `backtest replays historical or synthetic option premiums and fills through the same
circuit breaker, trailing stops and portfolio limits checker a live options system
uses, and writes every risk decision to a per-run Delta Lake table.`,
		Example: `  backtest run scenarios/spy_crash.yaml
  backtest run spy_crash --set risk.trailing_stop.trail_pct=30 --out runs
  backtest sweep spy_crash --grid risk.trailing_stop.trail_pct=15,25,35
  backtest compare runs/spy_crash-* --sort ratios.sharpe
  backtest query "SELECT run_id, count(*) FROM risk_events GROUP BY run_id"
  backtest check --all
  backtest validate my_scenario.yaml
  backtest scenarios`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().String("data-root", "", "refuse feed, replay and baseline paths outside this folder (symlinks resolved); default $"+dataRootEnv)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError{fmt.Errorf("%w\nsee '%s --help'", err, c.CommandPath())}
	})
	root.AddCommand(newRunCmd(), newSweepCmd(), newCompareCmd(), newCheckCmd(), newReportCmd(), newQueryCmd(),
		newValidateCmd(), newScenariosCmd(), newDataCmd(), newRunsCmd(), newBenchCmd())
	return root
}

// exactArgs is cobra.ExactArgs with a usage error.
func exactArgs(n int) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) != n {
			return usageError{fmt.Errorf("%s takes %d argument(s), got %d\nsee '%s --help'", c.Name(), n, len(args), c.CommandPath())}
		}
		return nil
	}
}
