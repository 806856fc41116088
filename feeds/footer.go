package feeds

import (
	"fmt"

	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/apache/arrow-go/v18/parquet/schema"
)

// This file owns what a Parquet file's footer tells the reader before any
// row is read: the native contract table (NativeContractsKey) and, when the
// writer declared it, that the rows are stored in time order.
//
// The footer is read once per file, in Go (arrow-go's metadata reader), and
// dropped once the file is opened. Each DuckDB query over a file parses its
// whole footer again (on a 100 M-quote file: 906 row groups and a 4.4 MB
// contract table), and the native allocator keeps much of what a parse
// used; asking DuckDB only for the quotes keeps its memory that of one scan.
//
// A file declares its time order with Parquet's standard row-group field
// sorting_columns: every row group sorted by the time column, ascending. With
// the time column's statistics (min, max, no nulls) and row groups whose time
// ranges follow one another, the file's span is known without the scan of its
// time column (plan.go). The declaration is checked as the rows stream: a row
// earlier than the one before fails the read (see declaredOrderError) rather
// than being counted as out_of_order, since a file that lies about its order
// cannot be replayed as its rows' true order.

// parquetFooter is what the reader uses of one file's footer.
type parquetFooter struct {
	contracts *string   // the native contract table (JSON), nil if absent
	declared  *fileSpan // the file's span when its time order is declared, else nil
}

// readFooter reads path's footer. timeCol is the column the layout reads
// the time from ("" = do not look for a declared order).
func readFooter(path, timeCol string) (*parquetFooter, error) {
	r, err := file.OpenParquetFile(path, false)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	md := r.MetaData()
	f := &parquetFooter{contracts: md.KeyValueMetadata().FindValue(NativeContractsKey)}
	if timeCol != "" {
		f.declared = declaredSpan(path, md, timeCol)
	}
	return f, nil
}

// declaredSpan returns the span of a file whose rows are declared sorted by
// timeCol (an instant column: TIMESTAMP adjusted to UTC), from its row-group
// statistics, or nil when the footer does not prove the order.
func declaredSpan(path string, md *metadata.FileMetaData, timeCol string) *fileSpan {
	idx := md.Schema.ColumnIndexByName(timeCol)
	if idx < 0 || md.NumRowGroups() == 0 {
		return nil
	}
	var ts schema.TimestampLogicalType
	switch lt := md.Schema.Column(idx).LogicalType().(type) {
	case schema.TimestampLogicalType:
		ts = lt
	case *schema.TimestampLogicalType:
		ts = *lt
	default:
		return nil
	}
	if !ts.IsAdjustedToUTC() {
		return nil
	}
	var scale int64 // to microseconds: × scale, or ÷ −scale
	switch ts.TimeUnit() {
	case schema.TimeUnitMillis:
		scale = 1000
	case schema.TimeUnitMicros:
		scale = 1
	case schema.TimeUnitNanos:
		scale = -1000
	default:
		return nil
	}
	us := func(v int64) int64 {
		if scale > 0 {
			return v * scale
		}
		// Floor division, as DuckDB's epoch_us of a nanosecond timestamp.
		q := v / -scale
		if v%-scale < 0 {
			q--
		}
		return q
	}
	sp := &fileSpan{file: path, inOrder: true}
	for i := range md.NumRowGroups() {
		rg := md.RowGroup(i)
		if !sortedBy(rg.SortingColumns(), idx) {
			return nil
		}
		if rg.NumRows() == 0 {
			continue
		}
		cc, err := rg.ColumnChunk(idx)
		if err != nil {
			return nil
		}
		if ok, err := cc.StatsSet(); !ok || err != nil {
			return nil
		}
		st, err := cc.Statistics()
		if err != nil || st == nil || !st.HasMinMax() || !st.HasNullCount() || st.NullCount() != 0 {
			return nil
		}
		i64, ok := st.(*metadata.Int64Statistics)
		if !ok {
			return nil
		}
		lo, hi := us(i64.Min()), us(i64.Max())
		if sp.rows > 0 && lo < sp.max {
			return nil // row groups overlap or go back in time
		}
		if sp.rows == 0 {
			sp.min = lo
		}
		sp.max = hi
		sp.rows += rg.NumRows()
	}
	if sp.rows == 0 {
		return nil
	}
	return sp
}

// sortedBy reports whether a row group's sorting_columns start with column
// idx, ascending.
func sortedBy(cols []parquet.SortingColumn, idx int) bool {
	return len(cols) > 0 && int(cols[0].ColumnIdx) == idx && !cols[0].Descending
}

// declaredOrderError is the error of a row earlier than the row before it in
// a file that declared its rows sorted by time.
func declaredOrderError(file string, row int64) error {
	return &FileError{File: file, Msg: fmt.Sprintf("row %d: its time is earlier than the row before, but the file declares its rows sorted by time (Parquet sorting_columns): the file's metadata is wrong; rewrite the file without that declaration or in time order", row)}
}
