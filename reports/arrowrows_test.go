package reports

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// colReader converts as database/sql's Scan did: NULL into a plain value
// is an error, NULL into a nullable number is NaN, a nullable time is zero;
// strings outlive the batch.
func TestColReaderConvertsLikeScan(t *testing.T) {
	ts := &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "f", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "i", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "t", Type: ts, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	at := time.Date(2019, 7, 8, 14, 45, 0, 123000, time.UTC)
	// Two rows: values, then NULLs.
	build := func() arrow.RecordBatch {
		b.Field(0).(*array.Float64Builder).AppendValues([]float64{1.5, 0}, []bool{true, false})
		b.Field(1).(*array.Int32Builder).AppendValues([]int32{7, 0}, []bool{true, false})
		b.Field(2).(*array.StringBuilder).AppendValues([]string{"filled", ""}, []bool{true, false})
		b.Field(3).(*array.TimestampBuilder).AppendValues([]arrow.Timestamp{arrow.Timestamp(at.UnixMicro()), 0}, []bool{true, false})
		return b.NewRecordBatch()
	}
	rec := build()
	c := colReader{rec: rec}
	f, i, s, tm := c.f64(0, 0), c.i64(1, 0), c.str(2, 0), c.time(3, 0)
	nan, zero := c.f64OrNaN(0, 1), c.timeOrZero(3, 1)
	rec.Release()
	if c.err != nil {
		t.Fatal(c.err)
	}
	if f != 1.5 || i != 7 || s != "filled" || !tm.Equal(at) || tm.Location() != time.UTC || !math.IsNaN(nan) || !zero.IsZero() {
		t.Errorf("got %v %v %q %v %v %v", f, i, s, tm, nan, zero)
	}
	for name, read := range map[string]func(*colReader){
		"f64":  func(c *colReader) { c.f64(0, 1) },
		"i64":  func(c *colReader) { c.i64(1, 1) },
		"str":  func(c *colReader) { c.str(2, 1) },
		"time": func(c *colReader) { c.time(3, 1) },
		"type": func(c *colReader) { c.str(0, 0) },
	} {
		rec := build()
		c := colReader{rec: rec}
		read(&c)
		rec.Release()
		if c.err == nil || !strings.Contains(c.err.Error(), "column") {
			t.Errorf("%s: NULL or a wrong type read without an error (%v)", name, c.err)
		}
	}
}
