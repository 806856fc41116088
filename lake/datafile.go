package lake

import (
	"context"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// countingWriter counts the bytes that reach the file, for the exact
// add.size.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// WriteFile writes recs as one zstd Parquet data file (not yet committed)
// and returns its add action with exact size and stats. The file is
// fsynced; its directory entry is made durable by Commit.
func (t *Table) WriteFile(ctx context.Context, recs []arrow.RecordBatch) (Add, error) {
	for _, r := range recs {
		if err := t.checkBatch(r); err != nil {
			return Add{}, err
		}
	}
	return t.writeDataFile(ctx, func(w io.Writer, stats *fileStats) error {
		return t.writeParquet(w, t.Schema(), recs, stats)
	})
}

// checkBatch reports a batch the table cannot take: other columns, or
// nulls in a non-nullable column.
func (t *Table) checkBatch(r arrow.RecordBatch) error {
	schema := t.Schema()
	if err := sameColumns(schema, r.Schema()); err != nil {
		return fmt.Errorf("lake: append to %s: %w", t.dir, err)
	}
	for i, f := range schema.Fields() {
		if !f.Nullable && r.Column(i).NullN() > 0 {
			return fmt.Errorf("lake: append to %s: column %q is not nullable but has %d nulls", t.dir, f.Name, r.Column(i).NullN())
		}
	}
	return nil
}

// writeDataFile makes one data file whose Parquet bytes write writes (and
// whose stats it accumulates): the one path of WriteFile and of the
// writer's fileBuilder for naming, syncing, tidying and the add.
func (t *Table) writeDataFile(ctx context.Context, write func(io.Writer, *fileStats) error) (Add, error) {
	if err := ctx.Err(); err != nil {
		return Add{}, err
	}
	schema := t.Schema()
	name := fmt.Sprintf("part-00000-%s-c000.zstd.parquet", newUUID())
	full := JoinPath(t.dir, name)
	f, err := t.opts.fs.CreateExcl(full)
	if err != nil {
		return Add{}, fmt.Errorf("lake: data file: %w", err)
	}
	cw := &countingWriter{w: f}
	stats := newFileStats(schema)
	err = write(cw, stats)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = t.opts.fs.Remove(full) // an orphan is harmless; try to tidy
		return Add{}, fmt.Errorf("lake: data file %s: %w", full, err)
	}
	return Add{
		Path:             name,
		PartitionValues:  nullableMap{},
		Size:             cw.n,
		ModificationTime: t.opts.clock().UnixMilli(),
		DataChange:       true,
		Stats:            stats.JSON(),
	}, nil
}

// newParquetWriter opens a Parquet writer with the data files'
// properties: WriteFile's and fileBuilder's files cannot differ in them.
func (t *Table) newParquetWriter(w io.Writer, schema *arrow.Schema) (*pqarrow.FileWriter, error) {
	popts := []parquet.WriterProperty{
		parquet.WithCompression(compress.Codecs.Zstd),
		parquet.WithCompressionLevel(t.opts.zstdLevel),
		parquet.WithMaxRowGroupLength(t.opts.rowGroupRows),
		parquet.WithDictionaryDefault(false),
		parquet.WithStats(true),
		parquet.WithCreatedBy(t.opts.engineInfo),
	}
	// No dictionaries: measured on the risk_events benchmark, plain
	// encoding + zstd gives smaller files (zstd finds the repetition) and
	// the dictionary encoder costs an allocation per string value.
	return pqarrow.NewFileWriter(schema, w, parquet.NewWriterProperties(popts...),
		pqarrow.NewArrowWriterProperties(pqarrow.WithCoerceTimestamps(arrow.Microsecond), pqarrow.WithStoreSchema()))
}

func (t *Table) writeParquet(w io.Writer, schema *arrow.Schema, recs []arrow.RecordBatch, stats *fileStats) error {
	fw, err := t.newParquetWriter(w, schema)
	if err != nil {
		return err
	}
	for _, r := range recs {
		if r.NumRows() == 0 {
			continue
		}
		// Written under the table schema so non-nullable columns are
		// REQUIRED in Parquet whatever the batch's field flags say.
		rr := r
		if !r.Schema().Equal(schema) {
			rr = arrayRecord(schema, r)
			defer rr.Release()
		}
		if err := fw.WriteBuffered(rr); err != nil {
			_ = fw.Close()
			return err
		}
		stats.add(r)
	}
	return fw.Close()
}

// arrayRecord re-labels r's columns with schema (same types).
func arrayRecord(schema *arrow.Schema, r arrow.RecordBatch) arrow.RecordBatch {
	return array.NewRecordBatch(schema, r.Columns(), r.NumRows())
}
