package feeds

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/duckdb/duckdb-go/v2"
)

// ScanParquet reads the quote columns of a native Parquet file (see
// NativeSchema: time, the contract code and the eight numbers) through
// DuckDB into Arrow records with the same streaming reader and settings as a
// file source, and counts the rows without decoding them. It is the decode
// limit the benchmark compares the full stack with.
func ScanParquet(ctx context.Context, path string, opts ReadOptions) (int64, error) {
	connector, err := duckdb.NewConnector("", nil)
	if err != nil {
		return 0, err
	}
	db := sql.OpenDB(connector)
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	s := &fileSource{ctx: ctx, conn: conn}
	defer s.removeTemp()
	if err := s.setupDuckDB(opts); err != nil {
		return 0, err
	}
	if !s.duck.streaming {
		return 0, errors.New("feeds: the DuckDB driver gives no streaming connection")
	}
	rr, err := streamQuery(ctx, s.duck.raw, fmt.Sprintf(
		`SELECT epoch_us("time") AS c0, "contract"::UINTEGER AS c1, bid, ask, underlying_price, iv, delta, gamma, vega, theta FROM read_parquet(%s)`,
		sqlString(path)))
	if err != nil {
		return 0, err
	}
	defer rr.Release()
	var n int64
	for rr.Next() {
		n += rr.RecordBatch().NumRows()
	}
	return n, rr.Err()
}
