// Package reports turns a run folder into decisions: metrics (gonum),
// summary.json, Markdown and HTML reports with SVG charts, side-by-side
// comparison of runs, and baseline checks for CI.
package reports

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/goccy/go-yaml"

	"github.com/optionsrisk/backtest/lake"
)

// RunMeta is run.json: facts about a run that are not results. Wall-clock
// fields live here and nowhere in results.
type RunMeta struct {
	RunID           string           `json:"run_id"`
	Scenario        string           `json:"scenario"`
	ScenarioFile    string           `json:"scenario_file"`
	ConfigHash      string           `json:"config_hash"`
	Seed            uint64           `json:"seed"`
	Overrides       []string         `json:"overrides"`
	Version         string           `json:"version"`
	Started         string           `json:"started"`
	Finished        string           `json:"finished"`
	Status          string           `json:"status"`
	Quotes          int64            `json:"quotes"`
	QuotesPerSecond float64          `json:"quotes_per_second"`
	DataQuality     map[string]int64 `json:"data_quality"`
	// Signals is what became of the run's entry signals; nil in run
	// folders written before it existed.
	Signals *SignalCounts `json:"signals,omitempty"`
}

// SignalCounts accounts for every entry signal (the simulator's
// SignalOutcomes): Total equals the sum of the other counts, and
// NoContractBy splits NoContract by the entry filter that failed.
type SignalCounts struct {
	Total        int64            `json:"total"`
	Opened       int64            `json:"opened"`
	NoQuote      int64            `json:"no_quote"`
	NoContract   int64            `json:"no_contract"`
	MaxOpen      int64            `json:"max_open"`
	Limits       int64            `json:"limits"`
	Breaker      int64            `json:"breaker"`
	Broker       int64            `json:"broker"`
	Condition    int64            `json:"condition,omitempty"` // strategy.entry.when was false
	NoContractBy map[string]int64 `json:"no_contract_by,omitempty"`
}

// outcomes lists the outcomes in report order with their labels.
func (c *SignalCounts) outcomes() []struct {
	Key, Label string
	N          int64
} {
	out := []struct {
		Key, Label string
		N          int64
	}{
		{"opened", "opened a position", c.Opened},
		{"no_quote", "no quote yet in the session", c.NoQuote},
		{"no_contract", "no contract matched the entry filters", c.NoContract},
		{"max_open", "max_open reached", c.MaxOpen},
		{"limits", "refused by the portfolio limits", c.Limits},
		{"breaker", "blocked by the circuit breaker", c.Breaker},
		{"broker", "sent, but not filled (rejected, timed out, no market, cancelled)", c.Broker},
	}
	if c.Condition > 0 { // only runs with an entry condition show the row
		out = append(out, struct {
			Key, Label string
			N          int64
		}{"condition", "entry condition (strategy.entry.when) false", c.Condition})
	}
	return out
}

// MainReason names the most frequent outcome other than opened, with the
// filter that failed for no_contract: the line a run with no trades prints.
func (c *SignalCounts) MainReason() string {
	if c.Total == 0 {
		return "no entry signal fired in the period (check strategy.entry's schedule against the feed's days and session)"
	}
	best, n := "", int64(0)
	for _, o := range c.outcomes()[1:] {
		if o.N > n {
			best, n = o.Label, o.N
			if o.Key == "no_contract" {
				if f, k := topKey(c.NoContractBy); k > 0 {
					best += " (first failing filter: " + f + ")"
				}
			}
		}
	}
	if n == 0 {
		return "every signal opened a position"
	}
	return fmt.Sprintf("%d of %d entry signals: %s", n, c.Total, best)
}

func topKey(m map[string]int64) (string, int64) {
	best, n := "", int64(0)
	for _, k := range sortedKeysOf(m) {
		if m[k] > n {
			best, n = k, m[k]
		}
	}
	return best, n
}

// EquityPoint is the part of a row of the equity table that the reports
// use. A long run's reports hold every row, so the columns no report reads
// (cash, realized and unrealized P&L, the stored drawdown) are not loaded.
type EquityPoint struct {
	Time                 time.Time
	Equity, Delta, Gamma float64
	Open                 int64
	Underlying           float64
	ModelMarks           int64 // legs marked by the model, not by a quote
}

// Fill is the part of a row of the fills table that the reports use (not
// the order time, the requested price or the slippage: see EquityPoint).
type Fill struct {
	Seq                   int64
	FillTime              time.Time // zero when not filled
	ExecutionID, Contract string
	Side, Intent          string
	Qty                   int64
	Price                 float64 // NaN when absent
	Commission            float64
	Status, Reason        string
	Multiplier            float64
	Mid                   float64 // net mid at the fill; NaN when unknown
}

// Run is a run folder loaded for reporting. Risk events stay in DuckDB
// (DB) because a run can hold millions; the equity curve and the fills are
// small and loaded.
type Run struct {
	Dir      string
	Meta     RunMeta
	Scenario map[string]any // the resolved scenario.yaml
	YAML     []byte
	Capital  float64
	Loc      *time.Location // the session's zone, for days
	Equity   []EquityPoint
	Fills    []Fill
	// DB is the run's own connection to the process's reports database
	// (db.go), with temporary views risk_events, fills, equity (and
	// attribution) of this run.
	DB  *sql.Conn
	own *sql.DB // the database of a big run (db.go), closed with the run

	// Attribution is the attribution table in seq order (attribution.go);
	// HasAttribution is false for run folders written before it existed.
	Attribution    []Attributed
	HasAttribution bool

	columns map[string]bool // "view.column" of the loaded views' Delta schemas

	// Facts of risk_events read once for the summary and the charts
	// (riskevents.go); nil until read.
	counts *[]riskCount
	steps  *[]riskStep
}

// Close releases the DuckDB connection, and the run's views with it (and
// the run's own database, if it has one).
func (r *Run) Close() error {
	err := r.DB.Close()
	if r.own != nil {
		if err2 := r.own.Close(); err == nil {
			err = err2
		}
	}
	return err
}

// Load opens a run folder (published or staged).
func Load(ctx context.Context, dir string) (*Run, error) {
	r := &Run{Dir: dir}
	b, err := os.ReadFile(filepath.Join(dir, "run.json"))
	if err != nil {
		return nil, fmt.Errorf("reports: %s is not a run folder: %w", dir, err)
	}
	if err := json.Unmarshal(b, &r.Meta); err != nil {
		return nil, fmt.Errorf("reports: %s: %w", filepath.Join(dir, "run.json"), err)
	}
	if r.YAML, err = os.ReadFile(filepath.Join(dir, "scenario.yaml")); err != nil {
		return nil, fmt.Errorf("reports: %w", err)
	}
	if err := yaml.Unmarshal(r.YAML, &r.Scenario); err != nil {
		return nil, fmt.Errorf("reports: %s: %w", filepath.Join(dir, "scenario.yaml"), err)
	}
	r.Capital = 100000
	if c, ok := yamlNum(lookup(r.Scenario, "capital")); ok && c > 0 {
		r.Capital = c
	}
	r.Loc, _ = time.LoadLocation("America/New_York")
	if s, ok := lookup(r.Scenario, "period.session").(string); ok {
		var hours, zone string
		if n, _ := fmt.Sscanf(s, "%s %s", &hours, &zone); n == 2 {
			if loc, err := time.LoadLocation(zone); err == nil {
				r.Loc = loc
			}
		}
	}
	snaps := make([]*lake.TableSnapshot, 3)
	var rows int64
	for i, t := range []string{lake.RiskEventsTable, lake.FillsTable, lake.EquityTable} {
		if snaps[i], err = lake.Snapshot(filepath.Join(dir, t), -1); err != nil {
			return nil, fmt.Errorf("reports: %w", err)
		}
		if n, ok := snaps[i].NumRecords(); ok && rows >= 0 {
			rows += n
		} else {
			rows = -1 // unknown: take the big run's path
		}
	}
	// The equity curve and the fills are loaded into slices of their
	// tables' row counts (the Delta log's numRecords): appending to a
	// long run's tens of thousands of rows would copy them over and over.
	r.Equity = make([]EquityPoint, 0, rowsHint(snaps[2]))
	r.Fills = make([]Fill, 0, rowsHint(snaps[1]))
	if r.DB, r.own, err = connect(ctx, rows); err != nil {
		return nil, err
	}
	for i, t := range []string{lake.RiskEventsTable, lake.FillsTable, lake.EquityTable} {
		if err := r.createView(ctx, snaps[i], t); err != nil {
			r.Close()
			return nil, fmt.Errorf("reports: %w", err)
		}
		r.addColumns(t, snaps[i])
	}
	if err := r.loadEquity(ctx); err != nil {
		r.Close()
		return nil, err
	}
	if err := r.loadFills(ctx); err != nil {
		r.Close()
		return nil, err
	}
	if err := r.loadAttribution(ctx); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// rowsHint is the rows of a table snapshot by its log (0 when unknown),
// a capacity to load them into.
func rowsHint(snap *lake.TableSnapshot) int {
	if n, ok := snap.NumRecords(); ok && n > 0 && n <= 1<<26 {
		return int(n)
	}
	return 0
}

// addColumns records a view's columns from its table's Delta schema.
func (r *Run) addColumns(view string, snap *lake.TableSnapshot) {
	if r.columns == nil {
		r.columns = map[string]bool{}
	}
	for _, f := range snap.Schema.Fields() {
		r.columns[view+"."+f.Name] = true
	}
}

// hasColumn reports whether a view of the run has a column: tables written
// by older versions lack the newer columns. It reads the Delta schema kept by
// Load (DuckDB's information_schema took ~18 ms a question).
func (r *Run) hasColumn(view, column string) bool {
	return r.columns[view+"."+column]
}

func (r *Run) loadEquity(ctx context.Context) error {
	modelMarksCol := "0"
	if r.hasColumn(lake.EquityTable, "model_marks") {
		modelMarksCol = "model_marks"
	}
	err := r.queryArrow(ctx, `SELECT time, equity, portfolio_delta, portfolio_gamma, open_positions,
		coalesce(underlying_price, 'NaN'::DOUBLE), `+modelMarksCol+` FROM equity`,
		func(rec arrow.RecordBatch) error {
			c := colReader{rec: rec}
			for i := range int(rec.NumRows()) {
				r.Equity = append(r.Equity, EquityPoint{
					Time: c.time(0, i), Equity: c.f64(1, i), Delta: c.f64(2, i), Gamma: c.f64(3, i),
					Open: c.i64(4, i), Underlying: c.f64(5, i), ModelMarks: c.i64(6, i),
				})
			}
			return c.err
		})
	if err != nil {
		return fmt.Errorf("reports: equity: %w", err)
	}
	inOrder(r.Equity, byEquityTime)
	return nil
}

func (r *Run) loadFills(ctx context.Context) error {
	midCol := "NULL::DOUBLE"
	if r.hasColumn(lake.FillsTable, "mid_price") {
		midCol = "mid_price"
	}
	err := r.queryArrow(ctx, `SELECT seq, fill_time, coalesce(execution_id, ''), coalesce(contract, ''),
		coalesce(side, ''), coalesce(intent, ''), qty, fill_price, commission,
		coalesce(status, ''), coalesce(reason, ''), coalesce(multiplier, 100), `+midCol+` FROM fills`,
		func(rec arrow.RecordBatch) error {
			c := colReader{rec: rec}
			for i := range int(rec.NumRows()) {
				r.Fills = append(r.Fills, Fill{
					Seq: c.i64(0, i), FillTime: c.timeOrZero(1, i),
					ExecutionID: c.str(2, i), Contract: c.str(3, i), Side: c.str(4, i), Intent: c.str(5, i), Qty: c.i64(6, i),
					Price: c.f64OrNaN(7, i), Commission: c.f64OrNaN(8, i),
					Status: c.str(9, i), Reason: c.str(10, i), Multiplier: c.f64(11, i), Mid: c.f64OrNaN(12, i),
				})
			}
			return c.err
		})
	if err != nil {
		return fmt.Errorf("reports: fills: %w", err)
	}
	inOrder(r.Fills, byFillSeq)
	return nil
}

// lookup walks a decoded YAML document by a dotted path.
func lookup(doc map[string]any, path string) any {
	var cur any = doc
	start := 0
	for i := 0; i <= len(path); i++ {
		if i < len(path) && path[i] != '.' {
			continue
		}
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[path[start:i]]
		start = i + 1
	}
	return cur
}
