package feeds

import (
	"context"
	"database/sql"
	"fmt"
	"runtime"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2"
)

// openRaw opens an in-memory DuckDB and returns its C connection, as a file
// source streams from.
func openRaw(t *testing.T) (*sql.Conn, func(string) *streamReader) {
	t.Helper()
	ctx := context.Background()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	raw, ok := rawConnection(ctx, conn)
	if !ok {
		t.Fatal("no raw connection: streaming is off")
	}
	return conn, func(q string) *streamReader {
		r, err := streamQuery(ctx, raw, q)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
}

// The streams purge DuckDB's allocator once every purgeEvery rows they
// fetch together: one long stream, and short streams (a folder of small
// files) that add up.
func TestStreamPurgesEveryRowGroup(t *testing.T) {
	_, stream := openRaw(t)
	calls := 0
	purgeAllocator = func() bool { calls++; return true }
	t.Cleanup(func() { purgeAllocator = purgeDuckDBMemory })
	unpurged.Store(0)
	read := func(n int) {
		t.Helper()
		r := stream(fmt.Sprintf("SELECT range AS x FROM range(%d)", n))
		defer r.Release()
		var rows int64
		for r.Next() {
			rows += r.RecordBatch().NumRows()
		}
		if r.Err() != nil || rows != int64(n) {
			t.Fatalf("%d of %d rows fetched: %v", rows, n, r.Err())
		}
	}
	read(purgeEvery * 5 / 2)
	if calls != 2 {
		t.Fatalf("%d purges over 2.5 × purgeEvery rows of one stream, want 2", calls)
	}
	for range 3 { // 0.5 left over, then 3 × 0.4
		read(purgeEvery * 2 / 5)
	}
	if calls != 3 {
		t.Fatalf("%d purges after 3 short streams of 0.4 × purgeEvery rows, want 3", calls)
	}
}

// On Linux DuckDB allocates through its bundled jemalloc, which keeps what
// a query freed resident (dirty pages) for about a second; a purge returns
// it at once.
func TestPurgeDuckDBMemory(t *testing.T) {
	if runtime.GOOS != "linux" {
		if purgeDuckDBMemory() || duckDBDirtyPages() != -1 {
			t.Fatal("a purge off Linux claims to work")
		}
		return
	}
	conn, _ := openRaw(t)
	before := int64(0)
	for range 5 { // a query whose hash table is freed as it ends
		var n int64
		if err := conn.QueryRowContext(context.Background(), "SELECT count(*) FROM (SELECT range % 400000 AS k, sum(range) FROM range(4000000) GROUP BY k)").Scan(&n); err != nil || n != 400000 {
			t.Fatalf("query: %v (%d groups)", err, n)
		}
		if before = duckDBDirtyPages(); before > 1000 {
			break
		}
	}
	if before <= 1000 {
		t.Fatalf("%d dirty pages after a query that freed its hash table: the premise fails", before)
	}
	if !purgeDuckDBMemory() {
		t.Fatal("the purge failed: DuckDB's jemalloc is not reachable")
	}
	after := duckDBDirtyPages()
	t.Logf("dirty pages: %d after the query, %d after the purge", before, after)
	if after > before/10 {
		t.Fatalf("%d dirty pages after the purge, %d before", after, before)
	}
}
