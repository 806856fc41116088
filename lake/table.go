package lake

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
)

// Table is a Delta table open for appends. Its methods are safe for
// concurrent use; separate Tables (or processes) on the same folder
// coordinate through put-if-absent commits.
type Table struct {
	dir  string
	opts options

	mu      sync.Mutex
	schema  *arrow.Schema
	meta    Metadata
	proto   Protocol
	version int64 // newest version this Table knows of
	cpErr   error // last checkpoint failure (checkpoints are best effort)
}

// Create makes a new, empty Delta table at dir (version 0: protocol reader 1
// / writer 2 and metaData with a fresh id). It fails with ErrExists if a
// table is there. Column names must be lowercase; timestamps
// timestamp[us, tz=UTC].
func Create(dir string, schema *arrow.Schema, opts ...Option) (*Table, error) {
	dir = CleanPath(dir)
	o := buildOptions(opts)
	if err := o.forLocation(dir); err != nil {
		return nil, err
	}
	ss, err := schemaString(schema)
	if err != nil {
		return nil, err
	}
	if err := o.fs.MkdirAll(JoinPath(dir, logDirName)); err != nil {
		return nil, fmt.Errorf("lake: create %s: %w", dir, err)
	}
	// Put-if-absent on commit 0 guards only commit 0: a table whose early
	// log was cleaned up (a checkpoint, later commits) exists all the same.
	if l, err := listLog(o.fs, JoinPath(dir, logDirName)); err == nil && l.latest() >= 0 {
		return nil, fmt.Errorf("%w: %s (log at version %d)", ErrExists, dir, l.latest())
	}
	now := o.clock().UnixMilli()
	t := &Table{
		dir: dir, opts: o, schema: schema, version: -1,
		proto: Protocol{MinReaderVersion: 1, MinWriterVersion: 2},
		meta: Metadata{
			ID: newUUID(), Format: Format{Provider: "parquet", Options: stringMap{}},
			SchemaString: ss, PartitionColumns: []string{}, Configuration: stringMap{},
			CreatedTime: &now,
		},
	}
	ci := commitInfoLine(o, CommitInfo{
		Operation:  "CREATE TABLE",
		Parameters: map[string]string{"mode": "ErrorIfExists", "partitionBy": "[]", "location": dir},
	}, -1, nil, now)
	body, err := encodeLines(ci, action{Protocol: &t.proto}, action{MetaData: &t.meta})
	if err != nil {
		return nil, err
	}
	if err := t.publish(0, body); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("%w: %s", ErrExists, dir)
		}
		return nil, fmt.Errorf("lake: create %s: %w", dir, err)
	}
	t.version = 0
	return t, nil
}

// Open opens the table at dir for appends, at its latest version.
func Open(dir string, opts ...Option) (*Table, error) {
	dir = CleanPath(dir)
	o := buildOptions(opts)
	if err := o.forLocation(dir); err != nil {
		return nil, err
	}
	snap, err := snapshotAt(context.Background(), o.fs, dir, -1)
	if err != nil {
		return nil, err
	}
	if err := checkWritable(&snap.Protocol, &snap.Metadata); err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	return &Table{dir: dir, opts: o, schema: snap.Schema, meta: snap.Metadata, proto: snap.Protocol, version: snap.Version}, nil
}

// OpenOrCreate opens the table at dir, creating it with schema when the
// folder holds none. An existing table must have the same column names and
// types.
func OpenOrCreate(dir string, schema *arrow.Schema, opts ...Option) (*Table, error) {
	t, err := Open(dir, opts...)
	if errors.Is(err, ErrNotTable) {
		t, err = Create(dir, schema, opts...)
		if errors.Is(err, ErrExists) { // lost a race with another creator
			t, err = Open(dir, opts...)
		}
	}
	if err != nil {
		return nil, err
	}
	if err := sameColumns(t.Schema(), schema); err != nil {
		return nil, fmt.Errorf("lake: %s: %w", dir, err)
	}
	return t, nil
}

// Dir returns the table's folder.
func (t *Table) Dir() string { return t.dir }

// Schema returns the table's Arrow schema (from its Delta schema).
func (t *Table) Schema() *arrow.Schema {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.schema
}

// Version returns the newest version this Table has committed or seen.
func (t *Table) Version() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.version
}

// CheckpointErr returns the last checkpoint failure, if any. Checkpoints
// are an optimisation: a failed one does not fail the commit it follows.
func (t *Table) CheckpointErr() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.cpErr
}

// Snapshot replays the table at version (-1 = latest).
func (t *Table) Snapshot(version int64) (*TableSnapshot, error) {
	return snapshotAt(context.Background(), t.opts.fs, t.dir, version)
}

// Append writes recs as one Parquet data file and commits it as one
// version, which it returns. An empty recs (or only empty batches) commits
// nothing and returns the current version.
func (t *Table) Append(ctx context.Context, recs []arrow.RecordBatch, info CommitInfo) (int64, error) {
	var rows int64
	for _, r := range recs {
		rows += r.NumRows()
	}
	if rows == 0 {
		return t.Version(), nil
	}
	add, err := t.WriteFile(ctx, recs)
	if err != nil {
		return -1, err
	}
	return t.Commit(ctx, []Add{add}, info)
}

// sameColumns checks that got has the column names and types of want
// (nullability may differ: nulls in a non-nullable column are checked per
// batch).
func sameColumns(want, got *arrow.Schema) error {
	if want.NumFields() != got.NumFields() {
		return fmt.Errorf("schema mismatch: table has %d columns, batch %d", want.NumFields(), got.NumFields())
	}
	for i, f := range want.Fields() {
		g := got.Field(i)
		if f.Name != g.Name || !arrow.TypeEqual(f.Type, g.Type) {
			return fmt.Errorf("schema mismatch at column %d: table %s %s, batch %s %s", i, f.Name, f.Type, g.Name, g.Type)
		}
	}
	return nil
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
