package lake

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/klauspost/compress/s2"
)

// This file owns a data file built piece by piece (the row Writer's): the
// pieces wait in memory column by column, S2-compressed, not as Arrow
// batches; Close writes the file one column at a time, so that only one
// column of the file is ever in Arrow and Parquet-page form (WriteFile's
// buffered row groups hold every column's pages until the file ends).
//
// Why the bytes are WriteFile's: pqarrow hands each batch's (here: each
// piece's) column values to arrow-go's column writer, which cuts them into
// mini-batches of WriteBatchSize (1024) values and checks the page limits
// after each one (columnWriter.doBatches, writeBatchArrow); pages are cut
// only there. Pieces whose lengths are multiples of pieceAlign, counted
// from the start of their row group (only a row group's last piece may be
// shorter), give the same mini-batches, hence the same pages, as one batch
// of all the rows. Row groups are cut at multiples of the table's row
// group rows, where WriteBuffered cuts them; a column chunk's pages and
// metadata do not depend on whether its row group was buffered. Statistics
// (Parquet's and the add's) are min, max and counts: the order of pieces
// does not change them. filebuilder_test.go checks all this, byte for
// byte, for every table schema.

// pieceAlign is arrow-go's default WriteBatchSize: a piece boundary must
// fall on a multiple of it within a row group.
const pieceAlign = 1024

// Pieces are compressed with S2 (klauspost/compress, as the zstd codec):
// measured on a 10 M-quote run's tables in 1024-row pieces, S2 keeps them
// at 1/4 (risk_events) to 3/4 (equity) of their size, zstd level 1 at 1/5
// to 2/3, but S2 packs 4x and unpacks 2.5x faster.

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

// spoolPiece is one batch: each column as an S2 block, or the batch
// itself when a column cannot be encoded (not flat, or sliced).
type spoolPiece struct {
	rows int64
	cols []spoolColumn
	rec  arrow.RecordBatch
}

type spoolColumn struct {
	raw  int    // uncompressed length of blob
	blob []byte // S2 block of the encoded column
}

// scratch holds pack's buffers between pieces; a pool, not a writer's
// field, so that idle writers do not each keep piece-sized buffers (the
// pool is emptied by garbage collections).
var scratch = sync.Pool{New: func() any { return new([]byte) }}

// decodeBufs holds writeColumn's buffers between columns, likewise.
var decodeBufs = sync.Pool{New: func() any { return new([]byte) }}

// pack makes rec a piece (rec checked by checkBatch, not empty). rec is
// retained only when it cannot be encoded. Safe for concurrent use.
func pack(rec arrow.RecordBatch) spoolPiece {
	p := spoolPiece{rows: rec.NumRows()}
	for _, col := range rec.Columns() {
		if !encodable(col.Data()) {
			rec.Retain()
			p.rec = rec
			return p
		}
	}
	rawp, zp := scratch.Get().(*[]byte), scratch.Get().(*[]byte)
	defer scratch.Put(rawp)
	defer scratch.Put(zp)
	p.cols = make([]spoolColumn, rec.NumCols())
	for i, col := range rec.Columns() {
		raw := encodeColumn((*rawp)[:0], col)
		*rawp = raw
		// Compressed into scratch and copied: S2 needs room for the worst
		// case, which would hold more than the column's full size.
		if n := s2.MaxEncodedLen(len(raw)); cap(*zp) < n {
			*zp = make([]byte, n)
		}
		p.cols[i] = spoolColumn{raw: len(raw), blob: slices.Clone(s2.Encode((*zp)[:cap(*zp)], raw))}
	}
	return p
}

// column is column i of p as an array of typ, which the caller releases,
// decoded into dst (of at least its raw length) when it was packed.
func (p *spoolPiece) column(i int, typ arrow.DataType, dst []byte) (arrow.Array, error) {
	if p.rec != nil {
		c := p.rec.Column(i)
		c.Retain()
		return c, nil
	}
	c := &p.cols[i]
	raw, err := s2.Decode(dst[:c.raw:c.raw], c.blob)
	if err == nil && len(raw) != c.raw {
		err = errBadPiece
	}
	if err != nil {
		return nil, fmt.Errorf("lake: spooled piece: %w", err)
	}
	return decodeColumn(typ, p.rows, raw)
}

func (t *Table) newFileBuilder() *fileBuilder { return &fileBuilder{t: t} }

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
	for _, c := range p.cols {
		b.held += int64(len(c.blob))
	}
}

// Close writes the data file (nothing when no row was written: ok is
// false) and releases the pieces.
func (b *fileBuilder) Close(ctx context.Context) (add Add, ok bool, err error) {
	defer b.Discard()
	if b.rows == 0 {
		return Add{}, false, nil
	}
	add, err = b.t.writeDataFile(ctx, b.writeColumns)
	if err != nil {
		return Add{}, false, err
	}
	return add, true, nil
}

// writeColumns writes the pieces as Parquet, row group by row group and,
// in each, column by column, accumulating stats.
func (b *fileBuilder) writeColumns(w io.Writer, stats *fileStats) (err error) {
	schema := b.t.Schema()
	fw, err := b.t.newParquetWriter(w, schema)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := fw.Close(); err == nil {
			err = cerr
		}
	}()
	group := b.t.opts.rowGroupRows
	first, start := 0, int64(0) // the first piece of the row group, its first row
	for g0 := int64(0); g0 < b.rows; g0 += group {
		g1 := min(g0+group, b.rows)
		for first < len(b.pieces) && start+b.pieces[first].rows <= g0 {
			start += b.pieces[first].rows
			first++
		}
		if err := fw.NewRowGroupChecked(); err != nil {
			return err
		}
		for i, f := range schema.Fields() {
			if err := b.writeColumn(fw, stats, i, f, first, start, g0, g1); err != nil {
				return err
			}
		}
	}
	stats.rows = b.rows
	return nil
}

// writeColumn writes rows [g0, g1) of column i, from the pieces from
// first on (the first starting at row start), and adds them to stats.
func (b *fileBuilder) writeColumn(fw interface {
	WriteColumnChunked(*arrow.Chunked, int64, int64) error
}, stats *fileStats, i int, f arrow.Field, first int, start, g0, g1 int64) error {
	last, size := first, 0
	for at := start; last < len(b.pieces) && at < g1; last++ {
		if p := &b.pieces[last]; p.rec == nil {
			size += p.cols[i].raw
		}
		at += b.pieces[last].rows
	}
	// The pieces' columns are decoded into one buffer, reused: nothing
	// refers to it once the column is written (arrow-go copies values and
	// statistics; the add's string stats are copied below).
	bufp := decodeBufs.Get().(*[]byte)
	defer decodeBufs.Put(bufp)
	if cap(*bufp) < size {
		*bufp = make([]byte, size)
	}
	buf := (*bufp)[:cap(*bufp)]
	var parts []arrow.Array
	defer func() {
		for _, a := range parts {
			a.Release()
		}
	}()
	for j := first; j < last; j++ {
		a, err := b.pieces[j].column(i, f.Type, buf)
		if err != nil {
			return err
		}
		parts = append(parts, a)
		if p := &b.pieces[j]; p.rec == nil {
			buf = buf[p.cols[i].raw:]
		}
	}
	chunked := arrow.NewChunked(f.Type, parts)
	defer chunked.Release()
	if err := fw.WriteColumnChunked(chunked, g0-start, g1-g0); err != nil {
		return err
	}
	// The column's stats, through fileStats on a one-column batch of the
	// rows written; strings are copied out of the pieces' buffers.
	one := arrow.NewSchema([]arrow.Field{f}, nil)
	cs := newFileStats(one)
	rows := array.NewChunkedSlice(chunked, g0-start, g1-start)
	defer rows.Release()
	for _, a := range rows.Chunks() {
		rec := array.NewRecordBatch(one, []arrow.Array{a}, int64(a.Len()))
		cs.add(rec)
		rec.Release()
	}
	c := cs.cols[0]
	c.minS, c.maxS = strings.Clone(c.minS), strings.Clone(c.maxS)
	stats.cols[i] = mergeColStats(stats.cols[i], c)
	return nil
}

// mergeColStats is the stats of two sets of rows of one column.
func mergeColStats(a, b colStats) colStats {
	a.nulls += b.nulls
	a.poisoned = a.poisoned || b.poisoned
	if !b.seen {
		return a
	}
	if !a.seen {
		b.nulls, b.poisoned = a.nulls, a.poisoned
		return b
	}
	a.minI, a.maxI = min(a.minI, b.minI), max(a.maxI, b.maxI)
	a.minF, a.maxF = min(a.minF, b.minF), max(a.maxF, b.maxF)
	a.minS, a.maxS = min(a.minS, b.minS), max(a.maxS, b.maxS)
	return a
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

// encodable: an array that is its buffers only (a flat type: no children,
// dictionary or variadic buffers) from its first one (not sliced).
func encodable(d arrow.ArrayData) bool {
	if d.Offset() != 0 || len(d.Children()) > 0 {
		return false
	}
	switch dt := d.DataType(); dt.ID() {
	case arrow.STRING, arrow.BINARY, arrow.LARGE_STRING, arrow.LARGE_BINARY, arrow.BOOL:
		return true
	case arrow.DICTIONARY, arrow.EXTENSION:
		return false
	default:
		_, fixed := dt.(arrow.FixedWidthDataType)
		return fixed
	}
}

// encodeColumn lays a out as one byte slice: its null count, its number
// of buffers and each buffer 8-byte aligned after an 8-byte length (-1:
// absent).
func encodeColumn(raw []byte, a arrow.Array) []byte {
	d := a.Data()
	size := 16
	for _, buf := range d.Buffers() {
		size += 8
		if buf != nil {
			size += pad8(buf.Len())
		}
	}
	raw = slices.Grow(raw[:0], size)
	raw = binary.LittleEndian.AppendUint64(raw, uint64(a.NullN())) // counted (Data's may be unknown)
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
	return raw
}

var errBadPiece = errors.New("lake: spooled piece is corrupt")

// decodeColumn is encodeColumn's inverse: an array of typ and rows rows
// sharing raw.
func decodeColumn(typ arrow.DataType, rows int64, raw []byte) (arrow.Array, error) {
	next := func() (uint64, bool) {
		if len(raw) < 8 {
			return 0, false
		}
		v := binary.LittleEndian.Uint64(raw)
		raw = raw[8:]
		return v, true
	}
	nulls, ok1 := next()
	nbuf, ok2 := next()
	if !ok1 || !ok2 || nbuf > 8 || nulls > uint64(rows) {
		return nil, errBadPiece
	}
	bufs := make([]*memory.Buffer, nbuf)
	for i := range bufs {
		n, ok := next()
		if !ok {
			return nil, errBadPiece
		}
		if n == ^uint64(0) {
			continue
		}
		if n > uint64(len(raw)) || uint64(len(raw)) < uint64(pad8(int(n))) {
			return nil, errBadPiece
		}
		bufs[i] = memory.NewBufferBytes(raw[:n:n])
		raw = raw[pad8(int(n)):]
	}
	if len(raw) != 0 {
		return nil, errBadPiece
	}
	d := array.NewData(typ, int(rows), bufs, nil, int(nulls), 0)
	defer d.Release()
	return array.MakeFromData(d), nil
}

func pad8(n int) int { return (n + 7) &^ 7 }

var zeros [8]byte
