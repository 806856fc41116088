package feeds

import (
	"context"
	"database/sql"
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

// A stream purges DuckDB's allocator once every purgeEvery rows it fetches.
func TestStreamPurgesEveryRowGroup(t *testing.T) {
	_, stream := openRaw(t)
	calls := 0
	purgeAllocator = func() bool { calls++; return true }
	t.Cleanup(func() { purgeAllocator = purgeDuckDBMemory })
	r := stream("SELECT range AS x FROM range(2621440)") // 2.5 × purgeEvery
	defer r.Release()
	var rows int64
	for r.Next() {
		rows += r.RecordBatch().NumRows()
	}
	if r.Err() != nil {
		t.Fatal(r.Err())
	}
	if rows != 2621440 || calls != 2 {
		t.Fatalf("%d rows fetched with %d purges, want 2621440 rows with 2", rows, calls)
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
