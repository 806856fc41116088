package lake

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
)

// runTable is a per-run table OpenRuns exposes, with the schema an empty
// view gets.
type runTable struct {
	name   string
	schema *arrow.Schema
}

func runTables() []runTable {
	return []runTable{
		{RiskEventsTable, RiskEventsSchema()},
		{FillsTable, FillsSchema()},
		{EquityTable, EquitySchema()},
		{TradesTable, TradesSchema()},
		{AttributionTable, AttributionSchema()},
	}
}

// OpenRuns opens runsDir (runs/<run_id>/{risk_events,fills,equity}) as an
// in-memory DuckDB database with views risk_events, fills and equity over
// the active files of every run's tables, so cross-run SQL is one line:
//
//	SELECT run_id, count(*) FROM risk_events GROUP BY run_id
//
// Folders whose names start with "_" or "." (the _catalog, staging
// folders) are not runs. A run without one of the tables contributes no
// rows to that view. When no run has a table its view still exists, empty,
// with the table's schema. A missing runsDir and a corrupt or unsupported
// table are errors. The views are fixed when OpenRuns returns: reopen to
// see later commits.
func OpenRuns(ctx context.Context, runsDir string) (*sql.DB, error) {
	ents, err := os.ReadDir(runsDir)
	if err != nil {
		return nil, fmt.Errorf("lake: runs folder: %w", err)
	}
	var runs []string
	for _, e := range ents {
		if e.IsDir() && !strings.HasPrefix(e.Name(), "_") && !strings.HasPrefix(e.Name(), ".") {
			runs = append(runs, e.Name())
		}
	}
	slices.Sort(runs)
	db, err := OpenDuckDB()
	if err != nil {
		return nil, err
	}
	for _, rt := range runTables() {
		var paths []string
		for _, run := range runs {
			dir := filepath.Join(runsDir, run, rt.name)
			if _, err := os.Stat(filepath.Join(dir, logDirName)); errors.Is(err, fs.ErrNotExist) {
				continue
			}
			snap, err := Snapshot(dir, -1)
			if err != nil {
				db.Close()
				return nil, fmt.Errorf("lake: run %s: %w", run, err)
			}
			paths = append(paths, snap.Paths()...)
		}
		sel, err := readParquetSQL(paths, rt.schema, false)
		if err == nil {
			_, err = db.ExecContext(ctx, "CREATE VIEW "+sqlIdent(rt.name)+" AS "+sel)
		}
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("lake: view %s over %s: %w", rt.name, runsDir, err)
		}
	}
	return db, nil
}
