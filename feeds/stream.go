package feeds

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	bindings "github.com/duckdb/duckdb-go-bindings"
	"github.com/duckdb/duckdb-go/v2"
)

// This file owns the streaming read of a DuckDB query into Arrow records.
//
// duckdb-go's Arrow interface (Arrow.QueryContext) executes a query with
// duckdb_pending_prepared, which MATERIALIZES the whole result in DuckDB's
// memory before the first record is read: a feed of N quotes held N × ~80
// bytes of C++ memory (1 GB at 6 M rows), invisible to Go's heap. The
// streaming reader below executes the same SQL with
// duckdb_pending_prepared_streaming on the same connection and fetches one
// 2048-row chunk at a time, so DuckDB holds only its pipeline's working set
// (bounded by the memory_limit set in configureDuckDB; a blocking operator such
// as ORDER BY spills to temp_directory beyond it).

// rawConnection returns the C connection under a database/sql DuckDB
// connection. duckdb-go keeps it in the unexported field Conn.conn; it is
// read by reflection and checked against the connection id duckdb-go
// reports, so a driver whose layout changed gives ok=false (and the caller
// falls back to the materializing reader) instead of a wrong handle.
func rawConnection(ctx context.Context, c *sql.Conn) (conn bindings.Connection, ok bool) {
	wantID, err := duckdb.ConnId(c)
	if err != nil {
		return conn, false
	}
	_ = c.Raw(func(dc any) error {
		v := reflect.ValueOf(dc)
		if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
			return nil
		}
		f := v.Elem().FieldByName("conn")
		if !f.IsValid() || f.Type() != reflect.TypeFor[bindings.Connection]() || !f.CanAddr() {
			return nil
		}
		conn = *(*bindings.Connection)(unsafe.Pointer(f.UnsafeAddr()))
		if conn.Ptr == nil {
			return nil
		}
		var cc bindings.ClientContext
		bindings.ConnectionGetClientContext(conn, &cc)
		id := uint64(bindings.ClientContextGetConnectionId(cc))
		bindings.DestroyClientContext(&cc)
		ok = id == wantID
		return nil
	})
	return conn, ok
}

// streamReader is an array.RecordReader over a streaming DuckDB result.
// Not safe for concurrent use (the prefetch goroutine is its only user).
type streamReader struct {
	conn    bindings.Connection
	res     bindings.Result
	opts    bindings.ArrowOptions
	schema  *arrow.Schema
	cur     arrow.RecordBatch
	err     error
	done    bool
	stopCtx func() bool // stops the interrupt-on-cancel hook
	once    sync.Once
}

// unpurged counts the rows the process's streams fetched since DuckDB's
// allocator was last purged: a feed of many small files purges as often as
// one file.
var unpurged atomic.Int64

// purgeEvery is how many rows the streams fetch between purges of DuckDB's
// allocator. jemalloc (DuckDB's on Linux) keeps the pages DuckDB frees
// resident for about a second (its decay) before returning them: reading a
// feed, that is several row groups' decoding buffers, the largest single
// part of DuckDB's resident memory, and more of it the longer the stream
// runs. A purge every 2^20 rows (a native file's row group, a few tenths of
// a second) returns them; making jemalloc return every page at once (decay
// 0) cost more system time than the whole decode.
const purgeEvery = 1 << 20

// purgeAllocator is purgeDuckDBMemory (tests count the calls).
var purgeAllocator = purgeDuckDBMemory

// streamQuery runs query on conn as a streaming result. Cancelling ctx
// interrupts the query (also one blocked in a sort).
func streamQuery(ctx context.Context, conn bindings.Connection, query string) (*streamReader, error) {
	var stmt bindings.PreparedStatement
	if bindings.Prepare(conn, query, &stmt) == bindings.StateError {
		msg := bindings.PrepareError(stmt)
		bindings.DestroyPrepare(&stmt)
		return nil, errors.New(msg)
	}
	defer bindings.DestroyPrepare(&stmt)
	var pending bindings.PendingResult
	if bindings.PendingPreparedStreaming(stmt, &pending) == bindings.StateError {
		msg := bindings.PendingError(pending)
		bindings.DestroyPending(&pending)
		return nil, errors.New(msg)
	}
	defer bindings.DestroyPending(&pending)
	stop := context.AfterFunc(ctx, func() { bindings.Interrupt(conn) })
	r := &streamReader{conn: conn, stopCtx: stop}
	if bindings.ExecutePending(pending, &r.res) == bindings.StateError {
		msg := bindings.ResultError(&r.res)
		bindings.DestroyResult(&r.res)
		stop()
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		return nil, errors.New(msg)
	}
	r.opts = bindings.ResultGetArrowOptions(&r.res)
	n := bindings.ColumnCount(&r.res)
	names := make([]string, n)
	types := make([]bindings.LogicalType, n)
	for i := range n {
		names[i] = bindings.ColumnName(&r.res, i)
		types[i] = bindings.ColumnLogicalType(&r.res, i)
	}
	schema, ed := bindings.NewArrowSchema(r.opts, types, names)
	for i := range types {
		bindings.DestroyLogicalType(&types[i])
	}
	if err := errorData(ed); err != nil {
		r.Release()
		return nil, fmt.Errorf("arrow schema: %w", err)
	}
	r.schema = schema
	return r, nil
}

func errorData(ed bindings.ErrorData) error {
	defer bindings.DestroyErrorData(&ed)
	if !bindings.ErrorDataHasError(ed) {
		return nil
	}
	return errors.New(bindings.ErrorDataMessage(ed))
}

func (r *streamReader) Retain()               {}
func (r *streamReader) Schema() *arrow.Schema { return r.schema }
func (r *streamReader) Record() arrow.RecordBatch {
	return r.cur
}
func (r *streamReader) RecordBatch() arrow.RecordBatch { return r.cur }
func (r *streamReader) Err() error                     { return r.err }

// Next fetches the next chunk (this runs DuckDB's pipeline for it).
func (r *streamReader) Next() bool {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	if r.done || r.err != nil {
		return false
	}
	chunk := bindings.FetchChunk(r.res)
	if chunk.Ptr == nil {
		r.done = true
		if msg := bindings.ResultError(&r.res); msg != "" {
			r.err = errors.New(msg)
		}
		return false
	}
	defer bindings.DestroyDataChunk(&chunk)
	if bindings.DataChunkGetSize(chunk) == 0 {
		r.done = true
		return false
	}
	if unpurged.Add(int64(bindings.DataChunkGetSize(chunk))) >= purgeEvery {
		unpurged.Store(0)
		purgeAllocator()
	}
	rec, ed := bindings.DataChunkToArrowArray(r.opts, r.schema, chunk)
	if err := errorData(ed); err != nil {
		r.err = fmt.Errorf("arrow array: %w", err)
		return false
	}
	r.cur = rec
	return true
}

// Release frees the result. Idempotent.
func (r *streamReader) Release() {
	r.once.Do(func() {
		if r.cur != nil {
			r.cur.Release()
			r.cur = nil
		}
		bindings.DestroyArrowOptions(&r.opts)
		bindings.DestroyResult(&r.res)
		r.stopCtx()
	})
}
