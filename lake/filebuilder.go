package lake

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/klauspost/compress/s2"
)

// This file owns a data file built piece by piece (the row Writer's): the
// pieces wait S2-compressed in memory, not as Arrow batches, and Close
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

// Pieces are compressed with S2 (klauspost/compress, as the zstd codec):
// measured on a 10 M-quote run's tables in 1024-row pieces, S2 keeps them
// at 1/4 (risk_events) to 3/4 (equity) of their size, zstd level 1 at 1/5
// to 2/3, but S2 packs 4x and unpacks 2.5x faster: the pieces cost the
// writer less time than they save memory.

// fileBuilder is a data file being built: Write (or Add) pieces, then
// Close writes the file and returns its add. Pieces must be aligned (see
// above) for the file to be WriteFile's of the same rows. Not safe for
// concurrent use.
type fileBuilder struct {
	t      *Table
	pieces []spoolPiece
	rows   int64
	held   int64 // compressed bytes held
}

// spoolPiece is one batch: compressed flat columns, or the batch itself
// when a column is not flat or is sliced.
type spoolPiece struct {
	rows int64
	raw  int    // uncompressed length of blob
	blob []byte // S2 block of the encoded columns
	rec  arrow.RecordBatch
}

// scratch holds pack's buffers between pieces; a pool, not a writer's
// field, so that five idle writers do not each keep two piece-sized
// buffers (the pool is emptied by garbage collections).
var scratch = sync.Pool{New: func() any { return new([]byte) }}

// pack makes rec a piece (rec checked by checkBatch, not empty). rec is
// retained only when it cannot be encoded. Safe for concurrent use.
func pack(rec arrow.RecordBatch) spoolPiece {
	p := spoolPiece{rows: rec.NumRows()}
	rawp, zp := scratch.Get().(*[]byte), scratch.Get().(*[]byte)
	defer scratch.Put(rawp)
	defer scratch.Put(zp)
	raw, ok := encodePiece((*rawp)[:0], rec)
	if !ok {
		rec.Retain()
		p.rec = rec
		return p
	}
	*rawp = raw
	p.raw = len(raw)
	// Compressed into scratch and copied: S2 needs room for the worst
	// case, which would hold more than the piece's full size.
	if n := s2.MaxEncodedLen(len(raw)); cap(*zp) < n {
		*zp = make([]byte, n)
	}
	p.blob = slices.Clone(s2.Encode((*zp)[:cap(*zp)], raw))
	return p
}

// unpack is pack's inverse: a batch of schema the caller releases, and
// its size in bytes.
func unpack(schema *arrow.Schema, p *spoolPiece) (arrow.RecordBatch, int, error) {
	if p.rec != nil {
		p.rec.Retain()
		return p.rec, int(p.rows) * 8 * schema.NumFields(), nil // a guess is enough for grouping
	}
	raw, err := s2.Decode(make([]byte, p.raw), p.blob)
	if err == nil && len(raw) != p.raw {
		err = errBadPiece
	}
	if err != nil {
		return nil, 0, fmt.Errorf("lake: spooled piece: %w", err)
	}
	rec, err := decodePiece(schema, p.rows, raw)
	return rec, len(raw), err
}

func (t *Table) newFileBuilder() *fileBuilder {
	return &fileBuilder{t: t}
}

// Rows is the number of rows written so far.
func (b *fileBuilder) Rows() int64 { return b.rows }

// Held is the memory the waiting pieces take, in bytes (compressed).
func (b *fileBuilder) Held() int64 { return b.held }

// Write adds rec's rows to the file. rec is checked as WriteFile checks
// its batches; it is not retained unless it cannot be encoded.
func (b *fileBuilder) Write(rec arrow.RecordBatch) error {
	if err := b.t.checkBatch(rec); err != nil {
		return err
	}
	if rec.NumRows() > 0 {
		b.Add(pack(rec))
	}
	return nil
}

// Add adds a piece packed from a checked batch; the builder owns it now.
func (b *fileBuilder) Add(p spoolPiece) {
	if p.rows == 0 {
		return
	}
	b.pieces = append(b.pieces, p)
	b.rows += p.rows
	b.held += int64(len(p.blob))
}

// closeGroupBytes: Close hands consecutive pieces to the Parquet writer
// joined up to this size. Each WriteBuffered call costs a clearing of
// arrow-go's pooled level buffers (of any size up to a page), so 1024-row
// calls would spend more time clearing than encoding; the join is bounded
// so that the file's rows are never all in Arrow form at once.
const closeGroupBytes = 1 << 20

// Close writes the data file (nothing when no row was written: ok is
// false) and releases the pieces.
func (b *fileBuilder) Close(ctx context.Context) (add Add, ok bool, err error) {
	defer b.Discard()
	if b.rows == 0 {
		return Add{}, false, nil
	}
	schema := b.t.Schema()
	var group []arrow.RecordBatch
	release := func() {
		for _, r := range group {
			r.Release()
		}
		group = group[:0]
	}
	defer release()
	add, err = b.t.writeDataFile(ctx, func(yield func(arrow.RecordBatch) error) error {
		size := 0
		flush := func() error {
			if len(group) == 0 {
				return nil
			}
			rec := group[0]
			if len(group) > 1 {
				joined, err := joinBatches(schema, group)
				if err != nil {
					return err
				}
				release()
				group = append(group, joined)
				rec = joined
			}
			err := yield(rec)
			release()
			size = 0
			return err
		}
		for i := range b.pieces {
			p := &b.pieces[i]
			rec, n, err := unpack(schema, p)
			if err != nil {
				return err
			}
			p.blob = nil // in Arrow form now
			group = append(group, rec)
			if size += n; size >= closeGroupBytes {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		return flush()
	})
	if err != nil {
		return Add{}, false, err
	}
	return add, true, nil
}

// joinBatches concatenates consecutive batches of schema into one.
func joinBatches(schema *arrow.Schema, recs []arrow.RecordBatch) (arrow.RecordBatch, error) {
	cols := make([]arrow.Array, schema.NumFields())
	parts := make([]arrow.Array, len(recs))
	var rows int64
	for _, r := range recs {
		rows += r.NumRows()
	}
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	for i := range cols {
		for j, r := range recs {
			parts[j] = r.Column(i)
		}
		c, err := array.Concatenate(parts, memory.DefaultAllocator)
		if err != nil {
			return nil, fmt.Errorf("lake: join pieces: %w", err)
		}
		cols[i] = c
	}
	return array.NewRecordBatch(schema, cols, rows), nil
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
