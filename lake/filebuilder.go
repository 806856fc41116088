package lake

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/compress"
)

// This file owns a data file built piece by piece (the row Writer's): the
// pieces wait zstd-compressed in memory, not as Arrow batches, and Close
// writes them through writeDataFile, the path of WriteFile, as the file's
// consecutive batches.
//
// Why the bytes are WriteFile's: pqarrow's WriteBuffered hands each
// column's values to arrow-go's column writer, which cuts them into
// mini-batches of WriteBatchSize (1024) values and checks the page limits
// after each one (columnWriter.doBatches, writeBatchArrow); pages are cut
// only there. Batches whose lengths are multiples of pieceAlign, counted
// from the start of their row group (only a row group's last batch may be
// shorter), give the same mini-batches, hence the same pages, as one batch
// of all the rows. Row groups are cut by WriteBuffered at the same row
// counts either way. Statistics (Parquet's and the add's) are min, max and
// counts: the order of batches does not change them. filebuilder_test.go
// checks this for every table schema.

// pieceAlign is arrow-go's default WriteBatchSize: a piece boundary must
// fall on a multiple of it within a row group.
const pieceAlign = 1024

// spoolLevel is the zstd level of waiting pieces (zstd's fastest).
const spoolLevel = 1

// fileBuilder is a data file being built: Write pieces, then Close writes
// the file and returns its add. Pieces must be aligned (see above) for the
// file to be WriteFile's of the same rows. Not safe for concurrent use.
type fileBuilder struct {
	t      *Table
	codec  compress.Codec
	pieces []spoolPiece
	rows   int64
	held   int64  // compressed bytes held
	raw    []byte // encoding scratch, reused
	zbuf   []byte // compression scratch, reused
}

// spoolPiece is one batch: compressed flat columns, or the batch itself
// when a column is not flat (nested, dictionary, sliced).
type spoolPiece struct {
	rows int64
	raw  int    // uncompressed length of blob
	blob []byte // zstd of the encoded columns
	rec  arrow.RecordBatch
}

func (t *Table) newFileBuilder() (*fileBuilder, error) {
	codec, err := compress.GetCodec(compress.Codecs.Zstd)
	if err != nil {
		return nil, err
	}
	return &fileBuilder{t: t, codec: codec}, nil
}

// Rows is the number of rows written so far.
func (b *fileBuilder) Rows() int64 { return b.rows }

// Held is the memory the waiting pieces take, in bytes (compressed).
func (b *fileBuilder) Held() int64 { return b.held }

// Write adds rec's rows to the file. rec is checked as WriteFile checks
// its batches; it is not retained unless a column is not flat.
func (b *fileBuilder) Write(rec arrow.RecordBatch) error {
	if err := b.t.checkBatch(rec); err != nil {
		return err
	}
	if rec.NumRows() == 0 {
		return nil
	}
	p := spoolPiece{rows: rec.NumRows()}
	if raw, ok := encodePiece(b.raw[:0], rec); ok {
		b.raw = raw
		p.raw = len(raw)
		// Compressed into scratch and copied: zstd gives its output the
		// input's capacity, which would hold the piece's full size.
		b.zbuf = b.codec.EncodeLevel(b.zbuf[:0], raw, spoolLevel)
		p.blob = slices.Clone(b.zbuf)
		b.held += int64(len(p.blob))
	} else {
		rec.Retain()
		p.rec = rec
	}
	b.pieces = append(b.pieces, p)
	b.rows += p.rows
	return nil
}

// Close writes the data file (nothing when no row was written: ok is
// false) and releases the pieces.
func (b *fileBuilder) Close(ctx context.Context) (add Add, ok bool, err error) {
	defer b.Discard()
	if b.rows == 0 {
		return Add{}, false, nil
	}
	schema := b.t.Schema()
	add, err = b.t.writeDataFile(ctx, func(yield func(arrow.RecordBatch) error) error {
		for i := range b.pieces {
			p := &b.pieces[i]
			rec := p.rec
			if rec == nil {
				raw, err := b.codec.(compress.ErrorCodec).DecodeWithError(make([]byte, 0, p.raw), p.blob)
				if err != nil {
					return fmt.Errorf("lake: spooled piece: %w", err)
				}
				if rec, err = decodePiece(schema, p.rows, raw); err != nil {
					return err
				}
			} else {
				rec.Retain()
			}
			p.blob = nil // the file has it now
			err := yield(rec)
			rec.Release()
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Add{}, false, err
	}
	return add, true, nil
}

// Discard drops the pieces without writing.
func (b *fileBuilder) Discard() {
	for _, p := range b.pieces {
		if p.rec != nil {
			p.rec.Release()
		}
	}
	clear(b.pieces)
	b.pieces = b.pieces[:0]
	b.rows, b.held = 0, 0
}

// flatType: a column whose array is its buffers only (no children, no
// dictionary, no variadic buffers).
func flatType(dt arrow.DataType) bool {
	switch dt.ID() {
	case arrow.STRING, arrow.BINARY, arrow.LARGE_STRING, arrow.LARGE_BINARY, arrow.BOOL:
		return true
	}
	_, fixed := dt.(arrow.FixedWidthDataType)
	return fixed && dt.ID() != arrow.DICTIONARY && dt.ID() != arrow.EXTENSION
}

// encodePiece lays rec's columns out as one byte slice: per column its
// null count and buffers, each buffer 8-byte aligned after an 8-byte
// length (-1: absent). ok is false when a column is not flat or sliced.
func encodePiece(raw []byte, rec arrow.RecordBatch) ([]byte, bool) {
	size := 0
	for _, col := range rec.Columns() {
		d := col.Data()
		if !flatType(d.DataType()) || d.Offset() != 0 || len(d.Children()) > 0 {
			return nil, false
		}
		size += 16
		for _, buf := range d.Buffers() {
			size += 8
			if buf != nil {
				size += pad8(buf.Len())
			}
		}
	}
	raw = slices.Grow(raw[:0], size)
	for _, col := range rec.Columns() {
		d := col.Data()
		raw = binary.LittleEndian.AppendUint64(raw, uint64(d.NullN()))
		raw = binary.LittleEndian.AppendUint64(raw, uint64(len(d.Buffers())))
		for _, buf := range d.Buffers() {
			if buf == nil {
				raw = binary.LittleEndian.AppendUint64(raw, ^uint64(0))
				continue
			}
			raw = binary.LittleEndian.AppendUint64(raw, uint64(buf.Len()))
			raw = append(raw, buf.Bytes()...)
			raw = append(raw, zeros[:pad8(buf.Len())-buf.Len()]...)
		}
	}
	return raw, true
}

var errBadPiece = errors.New("lake: spooled piece is corrupt")

// decodePiece is encodePiece's inverse under schema: the arrays share raw.
func decodePiece(schema *arrow.Schema, rows int64, raw []byte) (arrow.RecordBatch, error) {
	next := func() (uint64, bool) {
		if len(raw) < 8 {
			return 0, false
		}
		v := binary.LittleEndian.Uint64(raw)
		raw = raw[8:]
		return v, true
	}
	cols := make([]arrow.Array, 0, schema.NumFields())
	release := func() {
		for _, c := range cols {
			c.Release()
		}
	}
	for _, f := range schema.Fields() {
		nulls, ok1 := next()
		nbuf, ok2 := next()
		if !ok1 || !ok2 || nbuf > 8 {
			release()
			return nil, errBadPiece
		}
		bufs := make([]*memory.Buffer, nbuf)
		for i := range bufs {
			n, ok := next()
			if !ok {
				release()
				return nil, errBadPiece
			}
			if n == ^uint64(0) {
				continue
			}
			if uint64(len(raw)) < uint64(pad8(int(n))) {
				release()
				return nil, errBadPiece
			}
			bufs[i] = memory.NewBufferBytes(raw[:n:n])
			raw = raw[pad8(int(n)):]
		}
		d := array.NewData(f.Type, int(rows), bufs, nil, int(nulls), 0)
		cols = append(cols, array.MakeFromData(d))
		d.Release()
	}
	rec := array.NewRecordBatch(schema, cols, rows)
	release()
	return rec, nil
}

func pad8(n int) int { return (n + 7) &^ 7 }

var zeros [8]byte
