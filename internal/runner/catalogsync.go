package runner

// Published ⇔ catalogued. A run folder OUT/ID holding run.json is
// published (the rename that made it visible is the publish). The catalog
// OUT/_catalog is derived from the folders, never the other way round:
//
//   - Each catalog commit records, for every run it touches, a Delta txn
//     action with appId = the run id and version = the run's fingerprint (a
//     hash of its run.json; 0 = removed). Upserting a run whose txn already
//     holds its fingerprint is a no-op, so a retry after a crash, two sweeps
//     publishing the same run, or two commands reconciling at once leave
//     one row. A run folder replaced by another publication (a new
//     run.json) gets its row replaced.
//   - Every command that opens a runs folder calls Reconcile: published
//     runs whose txn lacks their fingerprint are (re)catalogued.
//   - Rows of runs whose folder is gone are hidden by the query view
//     (CatalogViewSQL) and removed by RemoveRuns / CollectGarbage.
//
// Commits go through lake.Table.CommitPlanned, which plans every attempt on
// the snapshot it follows, so concurrent writers serialize.

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"iter"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/optionsrisk/backtest/lake"
)

// catalogTag is the add-action tag listing the run ids a catalog file
// holds (JSON array), so planning needs no data read. Files without it
// (older catalogs) are read through DuckDB once per process.
const catalogTag = "backtest.run_ids"

// CatalogOptions are lake options for the catalog table (fault injection in
// tests). Nil means the OS file system.
type CatalogOptions = []lake.Option

// PublishedRuns lists the published runs of outDir (folders with a
// run.json whose names are valid run ids), sorted. A missing outDir has
// none.
func PublishedRuns(outDir string) ([]string, error) {
	ents, err := os.ReadDir(outDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("runner: runs folder: %w", err)
	}
	var out []string
	for _, e := range ents {
		if !e.IsDir() || CheckRunID(e.Name()) != nil {
			continue
		}
		if st, err := os.Stat(filepath.Join(outDir, e.Name(), "run.json")); err == nil && st.Mode().IsRegular() {
			out = append(out, e.Name())
		}
	}
	slices.Sort(out)
	return out, nil
}

// fingerprint is the catalog txn version of a published run: 63 bits of
// the SHA-256 of its run.json (never 0, which marks a removed run).
func fingerprint(runJSON []byte) int64 {
	h := sha256.Sum256(runJSON)
	v := int64(binary.BigEndian.Uint64(h[:8]) >> 1)
	if v == 0 {
		v = 1
	}
	return v
}

// pubRun is a published run read for cataloguing.
type pubRun struct {
	row CatalogRow
	fp  int64
}

func readPublished(outDir, id string) (pubRun, error) {
	dir := filepath.Join(outDir, id)
	b, err := os.ReadFile(filepath.Join(dir, "run.json"))
	if err != nil {
		return pubRun{}, err
	}
	row, err := catalogRowOf(dir)
	if err != nil {
		return pubRun{}, err
	}
	row.RunID = id // the folder name is the id, whatever run.json claims
	return pubRun{row: row, fp: fingerprint(b)}, nil
}

// CatalogRuns upserts the published runs ids of outDir into its catalog:
// each gets exactly one row, matching its folder. Ids without a published
// folder are skipped. It is idempotent.
func CatalogRuns(ctx context.Context, outDir string, ids []string, opts ...lake.Option) error {
	runs := map[string]pubRun{}
	for _, id := range ids {
		if CheckRunID(id) != nil {
			continue
		}
		p, err := readPublished(outDir, id)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("runner: catalog %s: %w", id, err)
		}
		runs[id] = p
	}
	if len(runs) == 0 {
		return nil
	}
	return changeCatalog(ctx, outDir, runs, nil, opts)
}

// Reconcile makes the catalog of outDir list every published run once: runs
// missing from it (a crash or full disk between publish and catalog, a
// folder copied in) are added. Rows of runs whose folder is gone stay (the
// query view hides them; RemoveRuns and CollectGarbage delete them). It
// returns the ids it added or replaced.
func Reconcile(ctx context.Context, outDir string, opts ...lake.Option) ([]string, error) {
	ids, err := PublishedRuns(outDir)
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	snap, err := catalogSnapshot(outDir, opts)
	if err != nil {
		return nil, err
	}
	var todo []string
	for _, id := range ids {
		b, err := os.ReadFile(filepath.Join(outDir, id, "run.json"))
		if err != nil {
			continue // removed meanwhile
		}
		if v, ok := snapTxn(snap, id); !ok || v != fingerprint(b) {
			todo = append(todo, id)
		}
	}
	if len(todo) == 0 {
		return nil, nil
	}
	return todo, CatalogRuns(ctx, outDir, todo, opts...)
}

// CollectGarbage removes the catalog rows of runs whose folder is gone and
// returns their ids.
func CollectGarbage(ctx context.Context, outDir string, opts ...lake.Option) ([]string, error) {
	snap, err := catalogSnapshot(outDir, opts)
	if err != nil || snap == nil {
		return nil, err
	}
	cache := map[string][]string{}
	var gone []string
	seen := map[string]bool{}
	paths := snap.Paths()
	for i, a := range snap.Files {
		ids, err := fileRunIDs(ctx, a, paths[i], cache)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			if seen[id] {
				continue
			}
			seen[id] = true
			if _, err := os.Stat(filepath.Join(outDir, id, "run.json")); errors.Is(err, fs.ErrNotExist) {
				gone = append(gone, id)
			}
		}
	}
	slices.Sort(gone)
	if len(gone) == 0 {
		return nil, nil
	}
	return gone, changeCatalog(ctx, outDir, nil, gone, opts)
}

// RemoveFromCatalog deletes the rows of ids (whatever their folders hold).
func RemoveFromCatalog(ctx context.Context, outDir string, ids []string, opts ...lake.Option) error {
	if len(ids) == 0 {
		return nil
	}
	return changeCatalog(ctx, outDir, nil, ids, opts)
}

func catalogSnapshot(outDir string, opts []lake.Option) (*lake.TableSnapshot, error) {
	dir := filepath.Join(outDir, CatalogDir)
	snap, err := lake.Snapshot(dir, -1, opts...)
	if errors.Is(err, lake.ErrNotTable) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("runner: catalog: %w", err)
	}
	return snap, nil
}

func snapTxn(s *lake.TableSnapshot, id string) (int64, bool) {
	if s == nil {
		return 0, false
	}
	return s.TxnVersion(id)
}

// changeCatalog upserts runs and deletes the rows of del in one planned
// commit (retried on the state it follows).
func changeCatalog(ctx context.Context, outDir string, runs map[string]pubRun, del []string, opts []lake.Option) error {
	t, err := lake.OpenOrCreate(filepath.Join(outDir, CatalogDir), CatalogSchema(), opts...)
	if err != nil {
		return fmt.Errorf("runner: catalog: %w", err)
	}
	cache := map[string][]string{} // file path -> run ids (files are immutable)
	written := map[string]lake.Add{}
	plan := func(s *lake.TableSnapshot) (lake.Plan, error) {
		now := time.Now().UnixMilli()
		var p lake.Plan
		target := map[string]bool{}
		var upserts []string
		for _, id := range slices.Sorted(mapsKeys(runs)) {
			if v, ok := s.TxnVersion(id); ok && v == runs[id].fp {
				continue
			}
			target[id] = true
			upserts = append(upserts, id)
			p.Txns = append(p.Txns, lake.Txn{AppID: id, Version: runs[id].fp, LastUpdated: &now})
		}
		for _, id := range del {
			if target[id] {
				continue
			}
			target[id] = true
			if v, ok := s.TxnVersion(id); !ok || v != 0 {
				p.Txns = append(p.Txns, lake.Txn{AppID: id, Version: 0, LastUpdated: &now})
			}
		}
		if len(target) == 0 {
			return lake.Plan{}, nil
		}
		// Files holding a targeted id go; their other rows are kept in a
		// rewritten file.
		var keepFrom []string
		paths := s.Paths()
		for i, a := range s.Files {
			ids, err := fileRunIDs(ctx, a, paths[i], cache)
			if err != nil {
				return lake.Plan{}, err
			}
			hit, other := false, false
			for _, id := range ids {
				if target[id] {
					hit = true
				} else {
					other = true
				}
			}
			if !hit {
				continue
			}
			p.Removes = append(p.Removes, lake.RemoveOf(a, now))
			if other {
				keepFrom = append(keepFrom, paths[i])
			}
		}
		if len(keepFrom) > 0 {
			add, err := rewriteWithout(ctx, t, keepFrom, target)
			if err != nil {
				return lake.Plan{}, err
			}
			p.Adds = append(p.Adds, add)
		}
		if len(upserts) > 0 {
			key := strings.Join(upserts, "\x00")
			add, ok := written[key]
			if !ok {
				rows := make([]CatalogRow, len(upserts))
				for i, id := range upserts {
					rows[i] = runs[id].row
				}
				add, err = writeCatalogFile(ctx, t, rows)
				if err != nil {
					return lake.Plan{}, err
				}
				written[key] = add
			}
			p.Adds = append(p.Adds, add)
		}
		if len(p.Removes) == 0 && len(p.Adds) == 0 && len(p.Txns) == 0 {
			return lake.Plan{}, nil
		}
		return p, nil
	}
	info := lake.CommitInfo{Operation: "WRITE"}
	if len(del) > 0 {
		info = lake.CommitInfo{Operation: "DELETE", Parameters: map[string]string{"predicate": "run_id IN (...)"}}
	}
	if _, _, err := t.CommitPlanned(ctx, plan, info); err != nil {
		return fmt.Errorf("runner: catalog: %w", err)
	}
	return nil
}

// writeCatalogFile writes rows as one data file tagged with their ids.
func writeCatalogFile(ctx context.Context, t *lake.Table, rows []CatalogRow) (lake.Add, error) {
	rec := catalogRecord(rows)
	defer rec.Release()
	add, err := t.WriteFile(ctx, []arrow.RecordBatch{rec})
	if err != nil {
		return lake.Add{}, err
	}
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.RunID
	}
	tag, _ := json.Marshal(ids)
	if add.Tags == nil {
		add.Tags = map[string]string{}
	}
	add.Tags[catalogTag] = string(tag)
	return add, nil
}

// rewriteWithout writes the rows of files whose run id is not in drop as
// one new data file.
func rewriteWithout(ctx context.Context, t *lake.Table, files []string, drop map[string]bool) (lake.Add, error) {
	q := make([]string, len(files))
	for i, f := range files {
		q[i] = sqlString(f)
	}
	var ex []string
	for _, id := range slices.Sorted(mapsKeys(drop)) {
		ex = append(ex, sqlString(id))
	}
	var cols []string
	for _, f := range CatalogSchema().Fields() {
		cols = append(cols, `"`+f.Name+`"`)
	}
	tbl, err := lake.QueryArrow(ctx, "SELECT "+strings.Join(cols, ", ")+" FROM read_parquet(["+strings.Join(q, ", ")+
		"], hive_partitioning = false) WHERE run_id NOT IN ("+strings.Join(ex, ", ")+")")
	if err != nil {
		return lake.Add{}, err
	}
	defer tbl.Release()
	tr := array.NewTableReader(tbl, 0)
	defer tr.Release()
	var recs []arrow.RecordBatch
	var ids []string
	for tr.Next() {
		r := tr.RecordBatch()
		r.Retain()
		defer r.Release()
		recs = append(recs, r)
		col := r.Column(0).(*array.String)
		for i := range col.Len() {
			ids = append(ids, strings.Clone(col.Value(i)))
		}
	}
	add, err := t.WriteFile(ctx, recs)
	if err != nil {
		return lake.Add{}, err
	}
	tag, _ := json.Marshal(ids)
	if add.Tags == nil {
		add.Tags = map[string]string{}
	}
	add.Tags[catalogTag] = string(tag)
	return add, nil
}

// fileRunIDs returns the run ids a catalog data file holds: from its tag,
// else read once.
func fileRunIDs(ctx context.Context, a lake.Add, path string, cache map[string][]string) ([]string, error) {
	if tag, ok := a.Tags[catalogTag]; ok {
		var ids []string
		if json.Unmarshal([]byte(tag), &ids) == nil {
			return ids, nil
		}
	}
	if ids, ok := cache[a.Path]; ok {
		return ids, nil
	}
	tbl, err := lake.QueryArrow(ctx, "SELECT CAST(run_id AS VARCHAR) AS run_id FROM read_parquet("+sqlString(path)+", hive_partitioning = false)")
	if err != nil {
		return nil, fmt.Errorf("runner: catalog file %s: %w", path, err)
	}
	defer tbl.Release()
	var ids []string
	tr := array.NewTableReader(tbl, 0)
	defer tr.Release()
	for tr.Next() {
		col := tr.RecordBatch().Column(0).(*array.String)
		for i := range col.Len() {
			if col.IsValid(i) {
				ids = append(ids, strings.Clone(col.Value(i)))
			}
		}
	}
	cache[a.Path] = ids
	return ids, nil
}

func mapsKeys[M ~map[K]V, K comparable, V any](m M) iter.Seq[K] { return maps.Keys(m) }

// catalogRecord builds the catalog rows as one record batch.
func catalogRecord(rows []CatalogRow) arrow.RecordBatch {
	schema := CatalogSchema()
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for _, r := range rows {
		appendCatalogRow(b, r)
	}
	return b.NewRecordBatch()
}

// CatalogViewSQL is the SELECT behind the query command's runs view: the
// catalog's rows of runs whose folder exists (published), one per run.
// published lists those runs; the catalog's active data files are given.
func CatalogViewSQL(snap *lake.TableSnapshot, published []string) (string, error) {
	sel, err := snap.SelectSQL()
	if err != nil {
		return "", err
	}
	if len(published) == 0 {
		return "SELECT * FROM (" + sel + ") WHERE false", nil
	}
	q := make([]string, len(published))
	for i, id := range published {
		q[i] = sqlString(id)
	}
	return "SELECT * FROM (" + sel + ") WHERE run_id IN (" + strings.Join(q, ", ") + ")", nil
}

// RemoveRuns deletes the run folders ids of outDir and their catalog rows,
// and returns the ids it removed. The folder goes first (renamed into the
// staging folder, then deleted), so a crash in between leaves a row whose
// folder is gone, which the view hides and CollectGarbage removes, never
// an uncatalogued folder that Reconcile would bring back. An id that is
// neither a folder nor a row is bad input; one being written is refused.
func RemoveRuns(ctx context.Context, outDir string, ids []string, opts ...lake.Option) ([]string, error) {
	snap, err := catalogSnapshot(outDir, opts)
	if err != nil {
		return nil, err
	}
	inCatalog := map[string]bool{}
	if snap != nil {
		cache := map[string][]string{}
		paths := snap.Paths()
		for i, a := range snap.Files {
			fids, err := fileRunIDs(ctx, a, paths[i], cache)
			if err != nil {
				return nil, err
			}
			for _, id := range fids {
				inCatalog[id] = true
			}
		}
	}
	if err := os.MkdirAll(filepath.Join(outDir, StagingDir), 0o755); err != nil {
		return nil, fmt.Errorf("runner: %w", err)
	}
	var removed []string
	var errs []error
	for _, id := range ids {
		if err := CheckRunID(id); err != nil {
			errs = append(errs, err)
			continue
		}
		l, err := tryLock(lockPath(outDir, id))
		if err != nil {
			errs = append(errs, fmt.Errorf("%w: run id %s %w", ErrBadInput, id, ErrRunIDBusy))
			continue
		}
		dir := filepath.Join(outDir, id)
		_, serr := os.Lstat(dir)
		switch {
		case serr == nil:
			trash := filepath.Join(outDir, StagingDir, stagePrefix(id)+"0")
			if err := os.Rename(dir, trash); err != nil {
				errs = append(errs, fmt.Errorf("runner: remove %s: %w", dir, err))
				l.unlock()
				continue
			}
			removed = append(removed, id)
			if err := os.RemoveAll(trash); err != nil {
				errs = append(errs, fmt.Errorf("runner: remove %s: %w", trash, err))
			}
		case inCatalog[id]:
			removed = append(removed, id)
		default:
			errs = append(errs, fmt.Errorf("%w: no run %s in %s", ErrBadInput, id, outDir))
		}
		l.unlock()
	}
	if err := RemoveFromCatalog(ctx, outDir, removed, opts...); err != nil {
		errs = append(errs, err)
	}
	return removed, errors.Join(errs...)
}
