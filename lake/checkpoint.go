package lake

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// checkpointSchema is the Parquet layout of a classic single-file
// checkpoint: one nullable struct column per action, every field nullable,
// stats as a JSON string, maps as map<string,string>.
func checkpointSchema() *arrow.Schema {
	str := arrow.BinaryTypes.String
	i64 := arrow.PrimitiveTypes.Int64
	i32 := arrow.PrimitiveTypes.Int32
	boolean := arrow.FixedWidthTypes.Boolean
	strMap := func() arrow.DataType { return arrow.MapOf(str, str) }
	f := func(name string, t arrow.DataType) arrow.Field {
		return arrow.Field{Name: name, Type: t, Nullable: true}
	}
	return arrow.NewSchema([]arrow.Field{
		f("txn", arrow.StructOf(f("appId", str), f("version", i64), f("lastUpdated", i64))),
		f("add", arrow.StructOf(
			f("path", str), f("partitionValues", strMap()), f("size", i64), f("modificationTime", i64),
			f("dataChange", boolean), f("stats", str), f("tags", strMap()))),
		f("remove", arrow.StructOf(
			f("path", str), f("deletionTimestamp", i64), f("dataChange", boolean),
			f("extendedFileMetadata", boolean), f("partitionValues", strMap()), f("size", i64))),
		f("metaData", arrow.StructOf(
			f("id", str), f("name", str), f("description", str),
			f("format", arrow.StructOf(f("provider", str), f("options", strMap()))),
			f("schemaString", str), f("partitionColumns", arrow.ListOf(str)),
			f("configuration", strMap()), f("createdTime", i64))),
		f("protocol", arrow.StructOf(
			f("minReaderVersion", i32), f("minWriterVersion", i32),
			f("readerFeatures", arrow.ListOf(str)), f("writerFeatures", arrow.ListOf(str)))),
	}, nil)
}

// kv is a map entry in Arrow's JSON form.
type kv struct {
	Key   string  `json:"key"`
	Value *string `json:"value"`
}

func kvs[V string | *string](m map[string]V) []kv {
	out := make([]kv, 0, len(m))
	for _, k := range sortedKeys(m) {
		switch v := any(m[k]).(type) {
		case string:
			out = append(out, kv{k, &v})
		case *string:
			out = append(out, kv{k, v})
		}
	}
	return out
}

// checkpointRows renders a snapshot as checkpoint rows in Arrow's JSON
// form: protocol, metaData, adds sorted by path, application transactions
// by app id, then removes sorted by path.
func checkpointRows(s *TableSnapshot) []map[string]any {
	p := s.Protocol
	md := s.Metadata
	rows := []map[string]any{
		{"protocol": map[string]any{
			"minReaderVersion": p.MinReaderVersion, "minWriterVersion": p.MinWriterVersion,
			"readerFeatures": p.ReaderFeatures, "writerFeatures": p.WriterFeatures,
		}},
		{"metaData": map[string]any{
			"id": md.ID, "name": md.Name, "description": md.Description,
			"format":       map[string]any{"provider": md.Format.Provider, "options": kvs(md.Format.Options)},
			"schemaString": md.SchemaString, "partitionColumns": md.PartitionColumns,
			"configuration": kvs(md.Configuration), "createdTime": md.CreatedTime,
		}},
	}
	for _, a := range s.Files {
		var stats *string
		if a.Stats != "" {
			stats = &a.Stats
		}
		rows = append(rows, map[string]any{"add": map[string]any{
			"path": a.Path, "partitionValues": kvs(a.PartitionValues), "size": a.Size,
			"modificationTime": a.ModificationTime, "dataChange": false, "stats": stats,
			"tags": kvs(a.Tags),
		}})
	}
	for _, x := range s.Txns {
		rows = append(rows, map[string]any{"txn": map[string]any{
			"appId": x.AppID, "version": x.Version, "lastUpdated": x.LastUpdated,
		}})
	}
	for _, r := range s.Tombstones {
		rows = append(rows, map[string]any{"remove": map[string]any{
			"path": r.Path, "deletionTimestamp": r.DeletionTimestamp, "dataChange": r.DataChange,
			"extendedFileMetadata": r.ExtendedFileMetadata, "partitionValues": kvs(r.PartitionValues), "size": r.Size,
		}})
	}
	return rows
}

// Checkpoint writes the checkpoint of version (and _last_checkpoint). A
// checkpoint that already exists is left as it is.
func (t *Table) Checkpoint(ctx context.Context, version int64) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.checkpointLocked(ctx, version)
}

func (t *Table) checkpointLocked(ctx context.Context, version int64) error {
	snap, err := snapshotAt(ctx, t.opts.fs, t.dir, version)
	if err != nil {
		return fmt.Errorf("lake: checkpoint %d of %s: %w", version, t.dir, err)
	}
	rows := checkpointRows(snap)
	js, err := json.Marshal(rows)
	if err != nil {
		return err
	}
	schema := checkpointSchema()
	rec, _, err := array.RecordFromJSON(memory.DefaultAllocator, schema, bytes.NewReader(js))
	if err != nil {
		return fmt.Errorf("lake: checkpoint %d of %s: %w", version, t.dir, err)
	}
	defer rec.Release()
	var buf bytes.Buffer
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy), parquet.WithCreatedBy(t.opts.engineInfo))
	fw, err := pqarrow.NewFileWriter(schema, &buf, props, pqarrow.DefaultWriterProps())
	if err != nil {
		return err
	}
	if err := fw.Write(rec); err != nil {
		_ = fw.Close()
		return err
	}
	if err := fw.Close(); err != nil {
		return err
	}
	logDir := JoinPath(t.dir, logDirName)
	err = putIfAbsent(t.opts.fs, logDir, JoinPath(logDir, checkpointName(version)), buf.Bytes())
	if err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("lake: checkpoint %d of %s: %w", version, t.dir, err)
	}
	// _last_checkpoint is a hint: it is replaced (temp + rename) and only
	// ever moves forward; a stale one costs readers a little replay.
	if readLastCheckpoint(t.opts.fs, logDir) >= version {
		return nil
	}
	lc, _ := json.Marshal(lastCheckpoint{Version: version, Size: int64(len(rows)), SizeInBytes: int64(buf.Len()), NumOfAddFiles: int64(len(snap.Files))})
	if o, ok := asObjectFS(t.opts.fs); ok { // objects are replaced whole
		if err := o.Put(JoinPath(logDir, lastCheckpointName), lc); err != nil {
			return fmt.Errorf("lake: _last_checkpoint of %s: %w", t.dir, err)
		}
		return nil
	}
	tmp := JoinPath(logDir, "."+lastCheckpointName+"."+newUUID()+".tmp")
	if err := writeFileSync(t.opts.fs, tmp, lc); err != nil {
		return fmt.Errorf("lake: _last_checkpoint of %s: %w", t.dir, err)
	}
	if err := t.opts.fs.Rename(tmp, JoinPath(logDir, lastCheckpointName)); err != nil {
		_ = t.opts.fs.Remove(tmp)
		return fmt.Errorf("lake: _last_checkpoint of %s: %w", t.dir, err)
	}
	return nil
}
