package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/optionsrisk/backtest/internal/runner"
	"github.com/optionsrisk/backtest/reports"
	"github.com/optionsrisk/backtest/scenarios"
)

type runFlags struct {
	out, runID string
	sets       []string
	seed       uint64
	quiet      bool
	json       bool
}

func newRunCmd() *cobra.Command {
	var f runFlags
	c := &cobra.Command{
		Use:   "run SCENARIO",
		Short: "Replay one scenario and publish a run folder of Delta tables",
		Long: `run replays SCENARIO (a file, or the name of a built-in) through the risk layers.
The run is built in OUT/.staging and appears as OUT/RUN_ID only when complete:
risk_events/, fills/, equity/ (Delta tables), run.json and scenario.yaml (the
resolved scenario). Nothing is published when the input is bad or the run fails.`,
		Example: `  backtest run scenarios/spy_crash.yaml
  backtest run spy_crash --set risk.circuit_breaker.failure_threshold=3 --run-id cb3
  backtest run my.yaml --seed 7 --out /tmp/runs --json`,
		Args: exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			l, err := scenarios.Load(args[0], f.sets)
			if err != nil {
				return err
			}
			if err := runner.CheckDataRoot(dataRoot(c), l); err != nil {
				return err
			}
			// A catalog that cannot be written does not stop a run: its
			// rows are repaired by a later command.
			if err := reconcile(c.Context(), c.ErrOrStderr(), f.out); err != nil {
				fmt.Fprintln(c.ErrOrStderr(), "backtest: warning: catalog not reconciled:", err)
			}
			opts := runner.Options{Scenario: l, OutDir: f.out, RunID: f.runID, Now: time.Now}
			if c.Flags().Changed("seed") {
				opts.Seed = &f.seed
			}
			stderr := c.ErrOrStderr()
			bar := newBar(stderr, f.quiet || f.json, l.Period.Start.Time, l.Period.End.Time)
			if bar != nil {
				opts.Progress = func(t time.Time, quotes int64) {
					bar.Describe(fmt.Sprintf("%s  %d quotes", t.Format(time.DateOnly), quotes))
					_ = bar.Set64(max(0, int64(t.Sub(l.Period.Start.Time)/time.Hour)))
				}
			}
			out, err := runner.Run(c.Context(), opts)
			if bar != nil {
				_ = bar.Finish()
				fmt.Fprintln(stderr)
			}
			if err != nil {
				return err
			}
			if out.CatalogErr != nil {
				fmt.Fprintln(stderr, "backtest: warning:", out.CatalogErr)
			}
			if f.json {
				return printRunJSON(c.OutOrStdout(), out)
			}
			printRunSummary(c.OutOrStdout(), out)
			return nil
		},
	}
	c.Flags().StringVar(&f.out, "out", defaultOut(), "runs folder, local or s3://bucket/prefix (default $BACKTEST_OUT, else runs)")
	c.Flags().StringArrayVar(&f.sets, "set", nil, "override a scenario field, e.g. risk.trailing_stop.trail_pct=25 (repeatable)")
	c.Flags().Uint64Var(&f.seed, "seed", 0, "override the scenario's seed")
	c.Flags().StringVar(&f.runID, "run-id", "", "run id (letters, digits, . _ -); default NAME-CONFIGHASH")
	c.Flags().BoolVarP(&f.quiet, "quiet", "q", false, "no progress bar")
	c.Flags().BoolVar(&f.json, "json", false, "print the summary as JSON")
	return c
}

// newBar returns a progress bar over simulated hours, or nil when stderr is
// not a terminal or output must stay quiet.
func newBar(w io.Writer, quiet bool, start, end time.Time) *progressbar.ProgressBar {
	f, ok := w.(*os.File)
	if quiet || !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	hours := int64(end.Sub(start)/time.Hour) + 24
	return progressbar.NewOptions64(hours, progressbar.OptionSetWriter(w), progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionShowElapsedTimeOnFinish())
}

type runJSON struct {
	RunID     string                      `json:"run_id"`
	RunDir    string                      `json:"run_dir"`
	PnL       float64                     `json:"pnl"`
	Equity    float64                     `json:"final_equity"`
	Trades    int                         `json:"trades"`
	Orders    int64                       `json:"orders"`
	Filled    int64                       `json:"filled"`
	Rejected  int64                       `json:"rejected"`
	Blocked   int64                       `json:"blocked"`
	Quotes    int64                       `json:"quotes"`
	MaxDD     float64                     `json:"max_drawdown"`
	Events    map[string]map[string]int64 `json:"events"`
	Quality   map[string]int64            `json:"data_quality"`
	Signals   *reports.SignalCounts       `json:"signals,omitempty"`
	Warnings  []string                    `json:"warnings,omitempty"`
	ElapsedMS int64                       `json:"elapsed_ms"`
}

func toJSON(o *runner.Outcome) runJSON {
	q := map[string]int64{}
	for k, v := range o.Quality {
		q[string(k)] = v
	}
	r := o.Result
	return runJSON{
		RunID: o.RunID, RunDir: o.RunDir, PnL: r.Final.Equity - r.Capital,
		Equity: r.Final.Equity, Trades: int(r.TradeCount), Orders: r.Orders, Filled: r.Filled, Rejected: r.Rejected,
		Blocked: r.Blocked, Quotes: r.Quotes, MaxDD: r.MaxDrawdown, Events: o.Events, Quality: q,
		Signals: o.Signals, Warnings: runWarnings(o), ElapsedMS: o.Elapsed.Milliseconds(),
	}
}

// runWarnings are the lines a user must not miss: a run that traded
// nothing, with its main reason.
func runWarnings(o *runner.Outcome) []string {
	var w []string
	if o.Result.TradeCount == 0 {
		reason := "no entry signal outcomes were recorded"
		if o.Signals != nil {
			reason = o.Signals.MainReason()
		}
		w = append(w, "0 trades: "+reason)
	}
	return w
}

func printRunJSON(w io.Writer, o *runner.Outcome) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(toJSON(o)) // encoding/json sorts map keys
}

func printRunSummary(w io.Writer, o *runner.Outcome) {
	j := toJSON(o)
	fmt.Fprintf(w, "run %s\n", o.RunID)
	fmt.Fprintf(w, "  P&L %+.2f  final equity %.2f  max drawdown %.2f%%\n", j.PnL, j.Equity, 100*j.MaxDD)
	fmt.Fprintf(w, "  trades %d  orders %d (filled %d, rejected %d)  blocked %d\n", j.Trades, j.Orders, j.Filled, j.Rejected, j.Blocked)
	if sc := j.Signals; sc != nil {
		fmt.Fprintf(w, "  entry signals %d: opened %d, no quote %d, no contract %d, max_open %d, limits %d, breaker %d, broker %d",
			sc.Total, sc.Opened, sc.NoQuote, sc.NoContract, sc.MaxOpen, sc.Limits, sc.Breaker, sc.Broker)
		if sc.Condition > 0 {
			fmt.Fprintf(w, ", condition false %d", sc.Condition)
		}
		fmt.Fprintln(w)
	}
	for _, line := range j.Warnings {
		fmt.Fprintf(w, "  warning: %s\n", line)
	}
	fmt.Fprintf(w, "  %d quotes in %s\n", j.Quotes, o.Elapsed.Round(time.Millisecond))
	fmt.Fprintln(w, "  risk events:")
	for _, comp := range slices.Sorted(mapsKeys(o.Events)) {
		var parts []string
		for _, typ := range slices.Sorted(mapsKeys(o.Events[comp])) {
			parts = append(parts, fmt.Sprintf("%s %d", typ, o.Events[comp][typ]))
		}
		fmt.Fprintf(w, "    %-17s %s\n", comp, strings.Join(parts, ", "))
	}
	if len(j.Quality) == 0 {
		fmt.Fprintln(w, "  data quality: no rows skipped")
	} else {
		var parts []string
		for _, k := range slices.Sorted(mapsKeys(j.Quality)) {
			parts = append(parts, fmt.Sprintf("%s %d", k, j.Quality[k]))
		}
		fmt.Fprintf(w, "  data quality: skipped %s\n", strings.Join(parts, ", "))
	}
	fmt.Fprintf(w, "  run folder: %s\n", o.RunDir)
}
