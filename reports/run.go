// Package reports turns a run folder into decisions: metrics (gonum),
// summary.json, Markdown and HTML reports with SVG charts, side-by-side
// comparison of runs, and baseline checks for CI.
package reports

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"

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
}

// EquityPoint is a row of the equity table.
type EquityPoint struct {
	Time                                                 time.Time
	Equity, Cash, Realized, Unrealized, Delta, Gamma, DD float64
	Open                                                 int64
	Underlying                                           float64
}

// Fill is a row of the fills table.
type Fill struct {
	Seq                   int64
	OrderTime, FillTime   time.Time // FillTime zero when not filled
	ExecutionID, Contract string
	Side, Intent          string
	Qty                   int64
	Requested, Price      float64 // NaN when absent
	Slippage, Commission  float64
	Status, Reason        string
	Multiplier            float64
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
	DB       *sql.DB // views risk_events, fills, equity of this run
}

// Close releases the DuckDB connection.
func (r *Run) Close() error { return r.DB.Close() }

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
	if c, ok := lookup(r.Scenario, "capital").(float64); ok && c > 0 {
		r.Capital = c
	} else if c, ok := lookup(r.Scenario, "capital").(uint64); ok && c > 0 {
		r.Capital = float64(c)
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
	if r.DB, err = lake.OpenDuckDB(); err != nil {
		return nil, err
	}
	for _, t := range []string{lake.RiskEventsTable, lake.FillsTable, lake.EquityTable} {
		snap, err := lake.Snapshot(filepath.Join(dir, t), -1)
		if err != nil {
			r.DB.Close()
			return nil, fmt.Errorf("reports: %w", err)
		}
		if err := snap.CreateView(ctx, r.DB, t); err != nil {
			r.DB.Close()
			return nil, fmt.Errorf("reports: %w", err)
		}
	}
	if err := r.loadEquity(ctx); err != nil {
		r.DB.Close()
		return nil, err
	}
	if err := r.loadFills(ctx); err != nil {
		r.DB.Close()
		return nil, err
	}
	return r, nil
}

func (r *Run) loadEquity(ctx context.Context) error {
	rows, err := r.DB.QueryContext(ctx, `SELECT time, equity, cash, realized_pnl, unrealized_pnl, portfolio_delta,
		portfolio_gamma, drawdown, open_positions, coalesce(underlying_price, 'NaN'::DOUBLE) FROM equity ORDER BY time`)
	if err != nil {
		return fmt.Errorf("reports: equity: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var p EquityPoint
		if err := rows.Scan(&p.Time, &p.Equity, &p.Cash, &p.Realized, &p.Unrealized, &p.Delta, &p.Gamma, &p.DD, &p.Open, &p.Underlying); err != nil {
			return fmt.Errorf("reports: equity: %w", err)
		}
		p.Time = p.Time.UTC()
		r.Equity = append(r.Equity, p)
	}
	return rows.Err()
}

func (r *Run) loadFills(ctx context.Context) error {
	rows, err := r.DB.QueryContext(ctx, `SELECT seq, order_time, fill_time, coalesce(execution_id, ''), coalesce(contract, ''),
		coalesce(side, ''), coalesce(intent, ''), qty, requested_price, fill_price, slippage, commission,
		coalesce(status, ''), coalesce(reason, ''), coalesce(multiplier, 100) FROM fills ORDER BY seq`)
	if err != nil {
		return fmt.Errorf("reports: fills: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var f Fill
		var ot, ft sql.NullTime
		var req, px, slip, comm sql.NullFloat64
		if err := rows.Scan(&f.Seq, &ot, &ft, &f.ExecutionID, &f.Contract, &f.Side, &f.Intent, &f.Qty, &req, &px, &slip, &comm, &f.Status, &f.Reason, &f.Multiplier); err != nil {
			return fmt.Errorf("reports: fills: %w", err)
		}
		if ot.Valid {
			f.OrderTime = ot.Time.UTC()
		}
		if ft.Valid {
			f.FillTime = ft.Time.UTC()
		}
		f.Requested, f.Price, f.Slippage, f.Commission = nullF(req), nullF(px), nullF(slip), nullF(comm)
		r.Fills = append(r.Fills, f)
	}
	return rows.Err()
}

func nullF(v sql.NullFloat64) float64 {
	if !v.Valid {
		return math.NaN()
	}
	return v.Float64
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
