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
// with the table's schema. A missing runsDir, a corrupt or unsupported
// table, and a data file that resolves (through symlinks) outside runsDir
// are errors. The views are fixed when OpenRuns returns: reopen to see
// later commits.
func OpenRuns(ctx context.Context, runsDir string) (*sql.DB, error) {
	r, err := OpenRunsDB(ctx, runsDir)
	if err != nil {
		return nil, err
	}
	return r.DB, nil
}

// RunsDB is a runs folder opened by OpenRunsDB.
type RunsDB struct {
	DB *sql.DB
	// Root is the runs folder's real path (symlinks resolved).
	Root string
	// Files are the real paths of every data file the views read, sorted:
	// what Lockdown allows.
	Files []string
}

// OpenRunsDB is OpenRuns, also returning the files the views read.
func OpenRunsDB(ctx context.Context, runsDir string) (*RunsDB, error) {
	ents, err := os.ReadDir(runsDir)
	if err != nil {
		return nil, fmt.Errorf("lake: runs folder: %w", err)
	}
	root, err := RealDir(runsDir)
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
	out := &RunsDB{DB: db, Root: root}
	for _, rt := range runTables() {
		var snaps []*TableSnapshot
		for _, run := range runs {
			dir := filepath.Join(runsDir, run, rt.name)
			if _, err := os.Stat(filepath.Join(dir, logDirName)); errors.Is(err, fs.ErrNotExist) {
				continue
			}
			snap, err := Snapshot(dir, -1)
			if err == nil {
				err = snap.Confine(root)
			}
			if err != nil {
				db.Close()
				return nil, fmt.Errorf("lake: run %s: %w", run, err)
			}
			out.Files = append(out.Files, snap.Paths()...)
			snaps = append(snaps, snap)
		}
		sel, err := unionSQL(snaps, rt.schema)
		if err == nil {
			_, err = db.ExecContext(ctx, "CREATE VIEW "+sqlIdent(rt.name)+" AS "+sel)
		}
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("lake: view %s over %s: %w", rt.name, runsDir, err)
		}
	}
	slices.Sort(out.Files)
	return out, nil
}

// RealDir is a path made absolute with every symlink resolved.
func RealDir(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	return filepath.EvalSymlinks(abs)
}

// Within reports whether path (already real) is root or inside it.
func Within(root, path string) bool {
	rel, err := filepath.Rel(root, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// Confine makes the snapshot read its files through their real paths and
// refuses one that resolves outside root (a symlinked table or data file
// pointing out of the runs folder).
func (s *TableSnapshot) Confine(root string) error {
	paths := s.Paths()
	real := make([]string, len(paths))
	for i, p := range paths {
		rp, err := RealDir(p)
		if err != nil {
			return fmt.Errorf("data file %s: %w", p, err)
		}
		if !Within(root, rp) {
			return fmt.Errorf("%w: data file %s resolves to %s, outside %s", ErrBadPath, p, rp, root)
		}
		real[i] = rp
	}
	s.real = real
	return nil
}

// unionSQL is one SELECT over the snapshots' rows with the columns of
// schema: unpartitioned tables in one read_parquet, each partitioned one
// on its own (partition values come from its log).
func unionSQL(snaps []*TableSnapshot, schema *arrow.Schema) (string, error) {
	var plain []string
	var parts []string
	for _, s := range snaps {
		if len(s.Metadata.PartitionColumns) > 0 {
			sel, err := s.SelectSQL()
			if err != nil {
				return "", err
			}
			parts = append(parts, sel)
			continue
		}
		plain = append(plain, s.Paths()...)
	}
	if len(parts) == 0 || len(plain) > 0 {
		sel, err := readParquetSQL(plain, schema)
		if err != nil {
			return "", err
		}
		parts = append([]string{sel}, parts...)
	}
	if len(parts) == 1 {
		return parts[0], nil
	}
	return "(" + strings.Join(parts, ") UNION ALL BY NAME (") + ")", nil
}
