package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/optionsrisk/backtest/internal/runner"
	"github.com/optionsrisk/backtest/lake"
	"github.com/optionsrisk/backtest/reports"
)

// The commands that read run folders as files (report, compare, query)
// take s3:// runs folders and run folders too. DuckDB reads local files
// only here (httpfs cannot be installed offline), so what they read is
// fetched into a local cache first: a temporary folder, bounded by
// BACKTEST_CACHE_BYTES (default 16 GiB), removed when the command ends.
// query fetches the active data files of the published runs' tables and of
// the catalog; report and compare fetch the run folders they are given.

// fetcher holds one command's local cache of object-store files.
type fetcher struct {
	mu  sync.Mutex
	dir string
	c   *lake.Cache
}

func (f *fetcher) cache() (*lake.Cache, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.c != nil {
		return f.c, nil
	}
	root := runner.LocalStagingRoot()
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(root, "fetch-")
	if err != nil {
		return nil, err
	}
	c, err := lake.NewCache(dir, cacheBytes())
	if err != nil {
		return nil, err
	}
	f.dir, f.c = dir, c
	return c, nil
}

func cacheBytes() int64 {
	var n int64
	if _, err := fmt.Sscan(os.Getenv("BACKTEST_CACHE_BYTES"), &n); err != nil || n <= 0 {
		return lake.DefaultCacheLimit
	}
	return n
}

// Close removes the cache.
func (f *fetcher) Close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.c != nil {
		_ = f.c.Remove()
		f.c = nil
	}
}

// runDir returns a local folder holding the run folder dir: dir itself
// when it is local, else a fetched copy (only of a published run).
func (f *fetcher) runDir(ctx context.Context, dir string) (string, error) {
	if !lake.IsObjectPath(dir) {
		return dir, nil
	}
	fsys, err := lake.FSFor(dir)
	if err != nil {
		return "", err
	}
	st, desc, err := runner.StateOf(fsys, dir, time.Now())
	if err != nil {
		return "", err
	}
	if st != runner.StatePublished {
		if desc != "" {
			st += runner.RunState(" (" + desc + ")")
		}
		return "", fmt.Errorf("%w: %s: %s", errBadRunDir, dir, st)
	}
	c, err := f.cache()
	if err != nil {
		return "", err
	}
	return c.FetchTree(ctx, fsys, dir)
}

// runsFolderExists reports whether out can be queried: a local folder
// that exists, or any s3:// prefix (object stores cannot tell an empty
// prefix from a missing one: an empty lake has no runs).
func runsFolderExists(out string) error {
	if lake.IsObjectPath(out) {
		_, err := lake.FSFor(out)
		return err
	}
	_, err := os.Stat(out)
	return err
}

// openObjectRunsDB is lake.OpenRunsDB for an s3:// runs folder: the
// published runs' tables and the catalog, fetched. catalog is the local
// copy of the catalog table, "" when there is none yet.
func (f *fetcher) openObjectRunsDB(ctx context.Context, out string) (r *lake.RunsDB, catalog string, err error) {
	fsys, err := lake.FSFor(out)
	if err != nil {
		return nil, "", err
	}
	c, err := f.cache()
	if err != nil {
		return nil, "", err
	}
	ids, err := runner.PublishedRuns(out)
	if err != nil {
		return nil, "", err
	}
	r, err = lake.OpenRunsFetched(ctx, fsys, out, ids, c)
	if err != nil {
		return nil, "", err
	}
	remote := lake.JoinPath(out, runner.CatalogDir)
	if _, err := fsys.Stat(lake.JoinPath(remote, "_delta_log")); isNotExist(err) {
		return r, "", nil // no catalog yet
	}
	local, err := c.FetchTable(ctx, fsys, remote)
	if err != nil {
		r.DB.Close()
		return nil, "", err
	}
	return r, local, nil
}

func isNotExist(err error) bool { return err != nil && errors.Is(err, fs.ErrNotExist) }

// uploadReports copies regenerated report files of a fetched run back to
// its s3:// folder.
func uploadReports(local, dir string, names []string) error {
	fsys, err := lake.FSFor(dir)
	if err != nil {
		return err
	}
	for _, n := range names {
		if err := lake.CopyFileTo(fsys, filepath.Join(local, n), lake.JoinPath(dir, n)); err != nil {
			return err
		}
	}
	return nil
}

// readRunResults reads the results of a run folder's summary.json, local
// or s3://.
func readRunResults(dir string) (reports.Object, error) {
	if !lake.IsObjectPath(dir) {
		r, _, err := reports.ReadResults(filepath.Join(dir, "summary.json"))
		return r, err
	}
	fsys, err := lake.FSFor(dir)
	if err != nil {
		return nil, err
	}
	b, err := fsys.ReadFile(lake.JoinPath(dir, "summary.json"))
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "backtest-summary-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	p := filepath.Join(tmp, "summary.json")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		return nil, err
	}
	r, _, err := reports.ReadResults(p)
	return r, err
}

// defaultOut is the default runs folder of run, sweep and query:
// $BACKTEST_OUT, else "runs".
func defaultOut() string {
	if o := os.Getenv("BACKTEST_OUT"); o != "" {
		return o
	}
	return "runs"
}

// cleanAbandoned removes the runs of an s3:// runs folder abandoned before
// their marker (a process killed mid-upload), so that their ids can be
// published again; local runs folders have none (publishing is a rename).
func cleanAbandoned(ctx context.Context, stderr io.Writer, out string) error {
	if !lake.IsObjectPath(out) {
		return nil
	}
	fsys, err := lake.FSFor(out)
	if err != nil {
		return err
	}
	removed, err := runner.CleanAbandoned(ctx, fsys, out, time.Now())
	if len(removed) > 0 {
		fmt.Fprintf(stderr, "backtest: removed %d run(s) abandoned before publishing: %v\n", len(removed), removed)
	}
	return err
}
