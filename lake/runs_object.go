package lake

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
)

// OpenRunsFetched is OpenRunsDB for a runs folder on an object store.
// DuckDB reads local files only here (its httpfs extension cannot be
// installed offline), so the active files of the given runs' tables are
// fetched into c (bounded: ErrCacheFull past its limit) and the views
// risk_events, fills, equity and trades are built over the local copies,
// with the same rows and schemas as over a local runs folder. runs are the
// run ids to open, normally the published ones (a run is published when
// its run.json marker is there; the caller lists them). A run without one
// of the tables contributes no rows to that view. Root is the local copy
// of runsDir in the cache; Files, the local data files the views read.
func OpenRunsFetched(ctx context.Context, fsys FS, runsDir string, runs []string, c *Cache) (*RunsDB, error) {
	tables := runTables()
	snaps := make([][]*TableSnapshot, len(tables))
	var files []string
	for ti, rt := range tables {
		for _, run := range runs {
			dir := JoinPath(runsDir, run, rt.name)
			snap, err := snapshotAt(ctx, fsys, dir, -1)
			if errors.Is(err, ErrNotTable) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("lake: run %s: %w", run, err)
			}
			local, err := snap.Local(ctx, c)
			if err != nil {
				return nil, fmt.Errorf("lake: run %s: %w", run, err)
			}
			snaps[ti] = append(snaps[ti], local)
			files = append(files, local.Paths()...)
		}
	}
	rootDir := c.LocalPath(CleanPath(runsDir))
	if err := os.MkdirAll(rootDir, 0o755); err != nil {
		return nil, err
	}
	root, err := RealDir(rootDir)
	if err != nil {
		return nil, err
	}
	db, err := OpenDuckDB()
	if err != nil {
		return nil, err
	}
	for ti, rt := range tables {
		sel, err := unionSQL(snaps[ti], rt.schema)
		if err == nil {
			_, err = db.ExecContext(ctx, "CREATE VIEW "+sqlIdent(rt.name)+" AS "+sel)
		}
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("lake: view %s over %s: %w", rt.name, runsDir, err)
		}
	}
	slices.Sort(files)
	return &RunsDB{DB: db, Root: root, Files: files}, nil
}
