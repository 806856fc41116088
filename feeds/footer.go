package feeds

import (
	"fmt"
	"maps"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/apache/arrow-go/v18/parquet/schema"
)

// This file owns what a Parquet file's footer tells the reader before any
// row is read: the native contract table (NativeContractsKey) and, when the
// writer declared it, that the rows are stored in time order.
//
// The footer is read once per file, in Go (arrow-go's metadata reader), and
// dropped once the file is opened. Each DuckDB query over a file parses its
// whole footer again (on a 100 M-quote file: 760 row groups and a 3.7 MB
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

// parquetFooter is one file's footer, as read by arrow-go.
type parquetFooter struct {
	file string
	md   *metadata.FileMetaData
}

// footer returns file's footer. The last one read is kept: the plan, the
// column types and the native contract table of a file all come from one
// read (dropFooter lets it go once the file is open).
func (s *fileSource) footer(path string) (*parquetFooter, error) {
	if s.lastFooter != nil && s.lastFooter.file == path {
		return s.lastFooter, nil
	}
	r, err := file.OpenParquetFile(path, false)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	s.lastFooter = &parquetFooter{file: path, md: r.MetaData()}
	return s.lastFooter, nil
}

func (s *fileSource) dropFooter() { s.lastFooter = nil }

// contracts is the native contract table (decodeContractTable), nil if
// absent; v1: the plain JSON of files written before v2.
func (f *parquetFooter) contracts() (raw *string, v1 bool) {
	kv := f.md.KeyValueMetadata()
	if raw = kv.FindValue(NativeContractsKey); raw != nil {
		return raw, false
	}
	return kv.FindValue(nativeContractsKeyV1), true
}

// nativeDuckTypes are DuckDB's column types of a file in NativeSchema
// (footer_test.go checks them against DESCRIBE).
var nativeDuckTypes = map[string]string{
	"time": "TIMESTAMP WITH TIME ZONE", "contract": "UINTEGER", "underlying": "VARCHAR",
	"symbol": "VARCHAR", "expiry": "TIMESTAMP WITH TIME ZONE", "strike": "DOUBLE", "right": "VARCHAR",
	"multiplier": "DOUBLE", "bid": "DOUBLE", "ask": "DOUBLE", "underlying_price": "DOUBLE", "iv": "DOUBLE",
	"delta": "DOUBLE", "gamma": "DOUBLE", "vega": "DOUBLE", "theta": "DOUBLE",
}

// nativeTypes returns the DuckDB column types of a file whose footer schema
// is exactly NativeSchema, without asking DuckDB (its DESCRIBE parses the
// whole footer once more); ok=false for any other file.
func (f *parquetFooter) nativeTypes() (map[string]string, bool) {
	sc, err := pqarrow.FromParquet(f.md.Schema, nil, nil)
	want := NativeSchema()
	if err != nil || sc.NumFields() != want.NumFields() {
		return nil, false
	}
	for i, w := range want.Fields() {
		if g := sc.Field(i); g.Name != w.Name || !arrow.TypeEqual(g.Type, w.Type) {
			return nil, false
		}
	}
	return maps.Clone(nativeDuckTypes), true
}

// declared returns the span of a file whose rows are declared sorted by
// timeCol (an instant column: TIMESTAMP adjusted to UTC), from its row-group
// statistics, or nil when the footer does not prove the order.
func (f *parquetFooter) declared(timeCol string) *fileSpan {
	path, md := f.file, f.md
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
	// us converts a statistic to microseconds as DuckDB's epoch_us reads the
	// column (toward zero for nanoseconds); ok=false where it would overflow.
	var us func(v int64) (int64, bool)
	switch ts.TimeUnit() {
	case schema.TimeUnitMillis:
		us = func(v int64) (int64, bool) {
			if v > math.MaxInt64/1000 || v < math.MinInt64/1000 {
				return 0, false
			}
			return v * 1000, true
		}
	case schema.TimeUnitMicros:
		us = func(v int64) (int64, bool) { return v, true }
	case schema.TimeUnitNanos:
		us = func(v int64) (int64, bool) { return v / 1000, true }
	default:
		return nil
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
		lo, ok1 := us(i64.Min())
		hi, ok2 := us(i64.Max())
		if !ok1 || !ok2 {
			return nil
		}
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
