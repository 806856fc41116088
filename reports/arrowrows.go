package reports

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/duckdb/duckdb-go/v2"
)

// The equity, fills and attribution tables are read whole into Go. Through
// database/sql each value of each row was boxed in an interface and
// converted (half of their loading); DuckDB's Arrow interface hands over
// columns. Values are converted as database/sql's Scan converts them: a
// NULL read into a plain number, string or time is an error, a NULL read
// as a nullable number is NaN.

// queryArrow runs query on the run's connection and calls each with every
// record batch, in result order.
func (r *Run) queryArrow(ctx context.Context, query string, each func(rec arrow.RecordBatch) error) error {
	return r.DB.Raw(func(dc any) error {
		conn, ok := dc.(driver.Conn)
		if !ok {
			return errors.New("not a driver connection")
		}
		ar, err := duckdb.NewArrowFromConn(conn)
		if err != nil {
			return err
		}
		rr, err := ar.QueryContext(ctx, query)
		if err != nil {
			return err
		}
		defer rr.Release()
		for rr.Next() {
			if err := each(rr.RecordBatch()); err != nil {
				return err
			}
		}
		return rr.Err()
	})
}

// colReader reads the rows of one record batch, column by column; the
// first failure sticks (err).
type colReader struct {
	rec  arrow.RecordBatch
	err  error
	strs map[string]string // copies of the strings read
}

func (c *colReader) fail(col int, format string, args ...any) {
	if c.err == nil {
		c.err = fmt.Errorf("column %d (%s): %s", col, c.rec.ColumnName(col), fmt.Sprintf(format, args...))
	}
}

// null reports a NULL at (col, row).
func (c *colReader) null(col, row int) bool { return c.rec.Column(col).IsNull(row) }

// f64 is a DOUBLE that must not be NULL.
func (c *colReader) f64(col, row int) float64 {
	if c.null(col, row) {
		c.fail(col, "NULL in a number")
		return 0
	}
	return c.f64OrNaN(col, row)
}

// f64OrNaN is a nullable DOUBLE, NaN for NULL.
func (c *colReader) f64OrNaN(col, row int) float64 {
	a := c.rec.Column(col)
	if a.IsNull(row) {
		return math.NaN()
	}
	switch a := a.(type) {
	case *array.Float64:
		return a.Value(row)
	case *array.Float32:
		return float64(a.Value(row))
	}
	c.fail(col, "%s is not a float", a.DataType())
	return 0
}

// i64 is an integer that must not be NULL.
func (c *colReader) i64(col, row int) int64 {
	a := c.rec.Column(col)
	if a.IsNull(row) {
		c.fail(col, "NULL in an integer")
		return 0
	}
	switch a := a.(type) {
	case *array.Int64:
		return a.Value(row)
	case *array.Int32:
		return int64(a.Value(row))
	case *array.Int16:
		return int64(a.Value(row))
	case *array.Int8:
		return int64(a.Value(row))
	}
	c.fail(col, "%s is not an integer", a.DataType())
	return 0
}

// str is a VARCHAR that must not be NULL.
func (c *colReader) str(col, row int) string {
	a := c.rec.Column(col)
	if a.IsNull(row) {
		c.fail(col, "NULL in a string")
		return ""
	}
	// Value aliases the batch's buffers, which DuckDB reuses once the
	// batch is released: keep a copy. Repeated values (side, status ...)
	// share one.
	var v string
	switch a := a.(type) {
	case *array.String:
		v = a.Value(row)
	case *array.LargeString:
		v = a.Value(row)
	case *array.StringView:
		v = a.Value(row)
	default:
		c.fail(col, "%s is not a string", a.DataType())
		return ""
	}
	if c.strs == nil {
		c.strs = map[string]string{}
	}
	if s, ok := c.strs[v]; ok {
		return s
	}
	s := strings.Clone(v)
	if len(c.strs) < 4096 {
		c.strs[s] = s
	}
	return s
}

// timeOrZero is a timestamp in UTC, the zero time for NULL.
func (c *colReader) timeOrZero(col, row int) time.Time {
	a := c.rec.Column(col)
	if a.IsNull(row) {
		return time.Time{}
	}
	ts, ok := a.(*array.Timestamp)
	if !ok {
		c.fail(col, "%s is not a timestamp", a.DataType())
		return time.Time{}
	}
	unit := ts.DataType().(*arrow.TimestampType).Unit
	return ts.Value(row).ToTime(unit).UTC()
}

// time is a timestamp in UTC that must not be NULL.
func (c *colReader) time(col, row int) time.Time {
	if c.null(col, row) {
		c.fail(col, "NULL in a time")
		return time.Time{}
	}
	return c.timeOrZero(col, row)
}
