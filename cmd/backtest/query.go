package main

import (
	"context"
	"database/sql"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/spf13/cobra"

	"github.com/optionsrisk/backtest/internal/runner"
	"github.com/optionsrisk/backtest/lake"
	"github.com/optionsrisk/backtest/reports"
)

// maxQueryRows bounds what query prints; a bigger answer wants --format csv
// into a file, or a LIMIT.
const maxQueryRows = 1_000_000

func newQueryCmd() *cobra.Command {
	var out, format string
	var unsafe bool
	c := &cobra.Command{
		Use:   `query "SQL"`,
		Short: "SQL (DuckDB) over every run: views risk_events, fills, equity, trades, attribution and runs",
		Long: `query opens the runs folder as one DuckDB database. The views risk_events, fills,
equity, trades and attribution hold the active rows of every published run's Delta
tables, each with run_id;
runs is the catalog (one row per published run, headline results).

By default the database is read-only and sandboxed: one SELECT (or EXPLAIN) per call;
DuckDB may read only the data files behind the views (no other file, no glob, no
COPY, ATTACH, EXPORT, INSTALL or LOAD, no SET: the configuration is locked, extension
autoloading is off), and a table whose files resolve outside the runs folder through
a symlink is refused. --unsafe gives the full DuckDB (any statement, any file the user
can read or write, extensions): use it only with SQL you trust.`,
		Example: `  backtest query "SELECT run_id, component, event_type, count(*) FROM risk_events GROUP BY ALL ORDER BY ALL"
  backtest query "SELECT run_id, pnl, sharpe, breaker_trips FROM runs ORDER BY sharpe DESC" --format csv
  backtest query "SELECT rule, count(*) FROM risk_events WHERE event_type = 'rejected' GROUP BY rule" --out runs/sweep1`,
		Args: exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			switch format {
			case "table", "csv", "json":
			default:
				return usageError{fmt.Errorf("--format %q: want table, csv or json", format)}
			}
			if _, err := os.Stat(out); err != nil {
				return fmt.Errorf("%w: runs folder %s: %v", runner.ErrBadInput, out, err)
			}
			// Reconciling writes only the catalog; a read-only runs folder
			// still answers, from the catalog as it is.
			if err := reconcile(c.Context(), c.ErrOrStderr(), out); err != nil {
				fmt.Fprintln(c.ErrOrStderr(), "backtest: warning: catalog not reconciled:", err)
			}
			db, err := openRunsDB(c.Context(), out, !unsafe)
			if err != nil {
				return err
			}
			defer db.Close()
			conn, err := db.Conn(c.Context())
			if err != nil {
				return err
			}
			defer conn.Close()
			if !unsafe {
				if err := lake.CheckReadOnlySQL(c.Context(), conn, args[0]); err != nil {
					return fmt.Errorf("%w: %v", runner.ErrBadInput, err)
				}
			}
			rows, err := conn.QueryContext(c.Context(), args[0])
			if err != nil {
				return fmt.Errorf("%w: %v", runner.ErrBadInput, err)
			}
			defer rows.Close()
			return printRows(c.OutOrStdout(), rows, format)
		},
	}
	c.Flags().StringVar(&out, "out", "runs", "runs folder")
	c.Flags().StringVar(&format, "format", "table", "table, csv or json")
	c.Flags().BoolVar(&unsafe, "unsafe", false, "full DuckDB: any statement, file access, extensions (trusted SQL only)")
	return c
}

// openRunsDB is lake.OpenRunsDB plus the runs view over the catalog (rows
// of published runs only), locked down unless sandbox is false.
func openRunsDB(ctx context.Context, out string, sandbox bool) (*sql.DB, error) {
	r, err := lake.OpenRunsDB(ctx, out)
	if err != nil {
		return nil, err
	}
	db := r.DB
	files := r.Files
	dir := filepath.Join(out, runner.CatalogDir)
	var view string
	if _, err := os.Stat(filepath.Join(dir, "_delta_log")); errors.Is(err, fs.ErrNotExist) {
		// No run published yet: an empty view with the catalog's columns.
		var cols []string
		for _, f := range runner.CatalogSchema().Fields() {
			typ := map[arrow.Type]string{arrow.STRING: "VARCHAR", arrow.INT64: "BIGINT", arrow.FLOAT64: "DOUBLE"}[f.Type.ID()]
			cols = append(cols, fmt.Sprintf("CAST(NULL AS %s) AS %s", typ, f.Name))
		}
		view = "SELECT " + strings.Join(cols, ", ") + " WHERE false"
	} else {
		var snap *lake.TableSnapshot
		var pub []string
		snap, err = lake.Snapshot(dir, -1)
		if err == nil {
			err = snap.Confine(r.Root)
		}
		if err == nil {
			pub, err = runner.PublishedRuns(out)
		}
		if err == nil {
			view, err = runner.CatalogViewSQL(snap, pub)
			files = append(files, snap.Paths()...)
		}
	}
	if err == nil {
		_, err = db.ExecContext(ctx, "CREATE VIEW runs AS "+view)
	}
	if err == nil && sandbox {
		err = lake.Lockdown(ctx, db, files)
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func printRows(w io.Writer, rows *sql.Rows, format string) error {
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	var all [][]any
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		all = append(all, vals)
		if len(all) > maxQueryRows {
			return fmt.Errorf("%w: more than %d rows: add a LIMIT", runner.ErrBadInput, maxQueryRows)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("%w: %v", runner.ErrBadInput, err)
	}
	switch format {
	case "json":
		var out []any
		for _, r := range all {
			o := reports.Object{}
			for i, c := range cols {
				o[c] = jsonValue(r[i])
			}
			out = append(out, o)
		}
		if out == nil {
			out = []any{}
		}
		_, err := w.Write(reports.Encode(out))
		return err
	case "csv":
		cw := csv.NewWriter(w)
		cw.Write(cols)
		for _, r := range all {
			rec := make([]string, len(r))
			for i, v := range r {
				rec[i] = text(v)
			}
			cw.Write(rec)
		}
		cw.Flush()
		return cw.Error()
	}
	tw := tabwriter.NewWriter(w, 2, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(cols, "\t"))
	for _, r := range all {
		rec := make([]string, len(r))
		for i, v := range r {
			rec[i] = text(v)
		}
		fmt.Fprintln(tw, strings.Join(rec, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "(%d rows)\n", len(all))
	return nil
}

func text(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case float64:
		return reports.FormatFloat(x)
	case float32:
		return reports.FormatFloat(float64(x))
	case []byte:
		return string(x)
	}
	return fmt.Sprint(v)
}

func jsonValue(v any) any {
	switch x := v.(type) {
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case int32:
		return int64(x)
	case int16:
		return int64(x)
	case int8:
		return int64(x)
	case uint32:
		return int64(x)
	case uint64:
		return float64(x)
	case float32:
		return float64(x)
	case []byte:
		return string(x)
	}
	return v
}
