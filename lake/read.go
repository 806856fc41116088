package lake

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/duckdb/duckdb-go/v2"
)

// OpenDuckDB opens an in-memory DuckDB database.
func OpenDuckDB() (*sql.DB, error) {
	c, err := duckdb.NewConnector("", nil)
	if err != nil {
		return nil, fmt.Errorf("lake: duckdb: %w", err)
	}
	return sql.OpenDB(c), nil
}

// sqlString quotes s as a SQL string literal.
func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// sqlIdent quotes s as a SQL identifier.
func sqlIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// duckType is the DuckDB type of an Arrow type (for empty views).
func duckType(t arrow.DataType) (string, error) {
	switch t := t.(type) {
	case *arrow.StringType, *arrow.LargeStringType:
		return "VARCHAR", nil
	case *arrow.Int64Type:
		return "BIGINT", nil
	case *arrow.Int32Type:
		return "INTEGER", nil
	case *arrow.Int16Type:
		return "SMALLINT", nil
	case *arrow.Int8Type:
		return "TINYINT", nil
	case *arrow.Float64Type:
		return "DOUBLE", nil
	case *arrow.Float32Type:
		return "FLOAT", nil
	case *arrow.BooleanType:
		return "BOOLEAN", nil
	case *arrow.BinaryType, *arrow.LargeBinaryType:
		return "BLOB", nil
	case *arrow.Date32Type:
		return "DATE", nil
	case *arrow.TimestampType:
		if t.TimeZone != "" {
			return "TIMESTAMPTZ", nil
		}
		return "TIMESTAMP", nil
	case *arrow.Decimal128Type:
		return fmt.Sprintf("DECIMAL(%d,%d)", t.Precision, t.Scale), nil
	}
	return "", fmt.Errorf("%w: no DuckDB type for %s", ErrUnsupported, t)
}

// emptySelect is a typed SELECT with no rows and the columns of schema.
func emptySelect(schema *arrow.Schema) (string, error) {
	cols := make([]string, schema.NumFields())
	for i, f := range schema.Fields() {
		t, err := duckType(f.Type)
		if err != nil {
			return "", fmt.Errorf("column %q: %w", f.Name, err)
		}
		cols[i] = fmt.Sprintf("CAST(NULL AS %s) AS %s", t, sqlIdent(f.Name))
	}
	return "SELECT " + strings.Join(cols, ", ") + " WHERE false", nil
}

// readParquetSQL is a DuckDB SELECT of schema's columns, in order, over
// the given Parquet files of an unpartitioned table, or a typed empty
// SELECT when there are none (read_parquet refuses an empty list). Hive
// partitioning is off: folder names never make columns.
func readParquetSQL(paths []string, schema *arrow.Schema) (string, error) {
	if len(paths) == 0 {
		return emptySelect(schema)
	}
	cols := make([]string, schema.NumFields())
	for i, f := range schema.Fields() {
		cols[i] = sqlIdent(f.Name)
	}
	return "SELECT " + strings.Join(cols, ", ") + " FROM " + readParquetFrom(paths), nil
}

func readParquetFrom(paths []string) string {
	q := make([]string, len(paths))
	for i, p := range paths {
		q[i] = sqlString(p)
	}
	return "read_parquet([" + strings.Join(q, ", ") + "], union_by_name = true, hive_partitioning = false)"
}

// SelectSQL returns a DuckDB SELECT over exactly the snapshot's active
// files, columns in schema order (a typed empty SELECT when there are
// none). Partition columns take their values from the log's
// partitionValues (partition.go), never from folder names.
func (s *TableSnapshot) SelectSQL() (string, error) {
	if len(s.Metadata.PartitionColumns) > 0 {
		return s.partitionedSQL()
	}
	return readParquetSQL(s.Paths(), s.Schema)
}

// CreateView creates (or replaces) view name in db over the snapshot's
// active files.
func (s *TableSnapshot) CreateView(ctx context.Context, db *sql.DB, name string) error {
	sel, err := s.SelectSQL()
	if err != nil {
		return err
	}
	_, err = db.ExecContext(ctx, "CREATE OR REPLACE VIEW "+sqlIdent(name)+" AS "+sel)
	return err
}

// ReadArrow reads the snapshot's rows through DuckDB as one Arrow table,
// in file order then row order. The caller releases it.
func (s *TableSnapshot) ReadArrow(ctx context.Context) (arrow.Table, error) {
	sel, err := s.SelectSQL()
	if err != nil {
		return nil, err
	}
	return QueryArrow(ctx, sel)
}

// QueryArrow runs query on a fresh in-memory DuckDB and returns the result
// as an Arrow table. The caller releases it.
func QueryArrow(ctx context.Context, query string) (arrow.Table, error) {
	c, err := duckdb.NewConnector("", nil)
	if err != nil {
		return nil, fmt.Errorf("lake: duckdb: %w", err)
	}
	defer c.Close()
	conn, err := c.Connect(ctx)
	if err != nil {
		return nil, fmt.Errorf("lake: duckdb: %w", err)
	}
	defer conn.Close()
	return queryArrowConn(ctx, conn, query)
}

func queryArrowConn(ctx context.Context, conn driver.Conn, query string) (arrow.Table, error) {
	ar, err := duckdb.NewArrowFromConn(conn)
	if err != nil {
		return nil, fmt.Errorf("lake: duckdb arrow: %w", err)
	}
	// Timestamps are exported with the session time zone: make it "UTC"
	// so they come back as timestamp[us, tz=UTC], as written.
	if set, err := ar.QueryContext(ctx, "SET TimeZone = 'UTC'"); err == nil {
		set.Release()
	}
	rr, err := ar.QueryContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("lake: duckdb query: %w", err)
	}
	defer rr.Release()
	var recs []arrow.RecordBatch
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	for rr.Next() {
		r := rr.RecordBatch()
		r.Retain()
		recs = append(recs, r)
	}
	if err := rr.Err(); err != nil {
		return nil, fmt.Errorf("lake: duckdb query: %w", err)
	}
	return array.NewTableFromRecords(rr.Schema(), recs), nil
}
