package runner

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/optionsrisk/backtest/feeds"
	"github.com/optionsrisk/backtest/lake"
	"github.com/optionsrisk/backtest/scenarios"
	"github.com/optionsrisk/backtest/sim"
)

// maxReplayRows bounds an execution log: a replay is of a month of a desk's
// trades, not of a market-data file.
const maxReplayRows = 1_000_000

// Prepare makes a loaded scenario self-contained before it runs or is
// hashed: relative file paths (the feed's, the replay log's) are resolved
// against the scenario file's folder (the working folder for built-ins) and made absolute, and the replay log is read
// into the inline fills. The resolved copy in a run folder then re-runs from
// anywhere, and the config hash covers the recorded trades. Run calls it;
// callers that hash scenarios before running (sweep) call it first. It is
// idempotent.
func Prepare(ctx context.Context, l *scenarios.Loaded) error {
	if f := l.Feed.File; f != nil && f.Path != "" {
		f.Path = resolvePath(l, f.Path)
		if u := f.UnderlyingPrices; u != nil && u.Path != "" {
			u.Path = resolvePath(l, u.Path)
		}
	}
	r := l.Strategy.Replay
	if r == nil || r.Path == "" {
		return nil
	}
	path := resolvePath(l, r.Path)
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

// resolvePath makes p absolute: relative to the scenario file's folder, or
// to the working folder for a built-in.
func resolvePath(l *scenarios.Loaded, p string) string {
	if !filepath.IsAbs(p) && !strings.HasPrefix(l.File, "builtin:") {
		p = filepath.Join(filepath.Dir(l.File), p)
	}
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
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
		files, err := deltaLister(&feeds.FileConfig{})(path) // in time order
		if err != nil {
			return nil, err
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("delta table %s has no data files", path)
		}
		quoted := make([]string, len(files))
		for i, f := range files {
			quoted[i] = sqlString(f)
		}
		from = "read_parquet([" + strings.Join(quoted, ", ") + "], hive_partitioning = false)"
	case strings.HasSuffix(strings.ToLower(path), ".parquet"):
		from = "read_parquet(" + sqlString(path) + ", hive_partitioning = false)"
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
