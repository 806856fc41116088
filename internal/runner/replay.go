package runner

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/optionsrisk/backtest/lake"
	"github.com/optionsrisk/backtest/scenarios"
	"github.com/optionsrisk/backtest/sim"
)

// maxReplayRows bounds an execution log: a replay is of a month of a desk's
// trades, not of a market-data file.
const maxReplayRows = 1_000_000

// Prepare reads what the scenario names outside itself into it, so that the
// resolved scenario is self-contained and its config hash covers it: today,
// strategy.replay.path, read into the inline fills (relative paths are
// relative to the scenario file; the working folder for built-ins). Run
// calls it; callers that hash scenarios before running (sweep) call it
// first. It is idempotent.
func Prepare(ctx context.Context, l *scenarios.Loaded) error {
	r := l.Strategy.Replay
	if r == nil || r.Path == "" {
		return nil
	}
	path := r.Path
	if !filepath.IsAbs(path) && !strings.HasPrefix(l.File, "builtin:") {
		path = filepath.Join(filepath.Dir(l.File), path)
	}
	rows, err := readExecutions(ctx, path)
	if err != nil {
		return fmt.Errorf("%w: %s: strategy.replay.path: %w", ErrBadInput, l.File, err)
	}
	for i := range rows {
		if err := rows[i].Validate(i); err != nil {
			return fmt.Errorf("%w: %s: data row %d: %w", ErrBadInput, path, i+1, err)
		}
	}
	l.Strategy.Replay = &sim.ReplayConfig{Fills: append(r.Fills[:len(r.Fills):len(r.Fills)], rows...)}
	return nil
}

// readExecutions reads an execution log (CSV, Parquet, or a Delta table's
// active files) through DuckDB.
func readExecutions(ctx context.Context, path string) ([]sim.RecordedFill, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	var from string
	switch {
	case st.IsDir():
		snap, err := lake.Snapshot(path, -1)
		if err != nil {
			return nil, err
		}
		files := snap.Paths()
		if len(files) == 0 {
			return nil, fmt.Errorf("delta table %s has no data files", path)
		}
		quoted := make([]string, len(files))
		for i, f := range files {
			quoted[i] = sqlString(f)
		}
		from = "read_parquet([" + strings.Join(quoted, ", ") + "])"
	case strings.HasSuffix(strings.ToLower(path), ".parquet"):
		from = "read_parquet(" + sqlString(path) + ")"
	default:
		from = "read_csv(" + sqlString(path) + ", header = true, auto_detect = true)"
	}
	db, err := lake.OpenDuckDB()
	if err != nil {
		return nil, err
	}
	defer db.Close()
	q := `SELECT CAST(time AS TIMESTAMPTZ), CAST(execution_id AS VARCHAR), CAST(contract AS VARCHAR),
	             lower(CAST(side AS VARCHAR)), CAST(qty AS BIGINT), coalesce(CAST(price AS DOUBLE), 0),
	             lower(CAST(status AS VARCHAR))
	      FROM ` + from + ` LIMIT ` + fmt.Sprint(maxReplayRows+1)
	if _, err := db.ExecContext(ctx, "SET TimeZone = 'UTC'"); err != nil {
		return nil, err
	}
	rs, err := db.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("want columns time, execution_id, contract, side, qty, price, status: %w", err)
	}
	defer rs.Close()
	var out []sim.RecordedFill
	for rs.Next() {
		var f sim.RecordedFill
		var t time.Time
		if err := rs.Scan(&t, &f.ExecutionID, &f.Contract, &f.Side, &f.Qty, &f.Price, &f.Status); err != nil {
			return nil, fmt.Errorf("row %d: %w", len(out)+1, err)
		}
		f.Time = t.UTC()
		out = append(out, f)
		if len(out) > maxReplayRows {
			return nil, fmt.Errorf("more than %d rows", maxReplayRows)
		}
	}
	return out, rs.Err()
}

func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
