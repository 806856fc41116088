package lake

import (
	"encoding/json"
	"math"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// maxStatsStringRunes bounds string min/max in stats (Delta's default
// prefix length). A longer min is truncated (still a lower bound); a longer
// max is left out (a truncated max would not be an upper bound).
const maxStatsStringRunes = 32

// fileStats accumulates Delta file statistics over the batches of a file.
type fileStats struct {
	schema *arrow.Schema
	rows   int64
	cols   []colStats
}

type colKind uint8

const (
	kindNone colKind = iota // nullCount only
	kindInt
	kindFloat
	kindString
	kindTimestamp
	kindDate
)

type colStats struct {
	kind       colKind
	nulls      int64
	seen       bool // a non-null value was seen
	poisoned   bool // NaN or ±Inf seen: no min/max
	minI, maxI int64
	minF, maxF float64
	minS, maxS string
}

func newFileStats(s *arrow.Schema) *fileStats {
	fs := &fileStats{schema: s, cols: make([]colStats, s.NumFields())}
	for i, f := range s.Fields() {
		switch f.Type.ID() {
		case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64:
			fs.cols[i].kind = kindInt
		case arrow.FLOAT32, arrow.FLOAT64:
			fs.cols[i].kind = kindFloat
		case arrow.STRING, arrow.LARGE_STRING:
			fs.cols[i].kind = kindString
		case arrow.TIMESTAMP:
			fs.cols[i].kind = kindTimestamp
		case arrow.DATE32:
			fs.cols[i].kind = kindDate
		}
	}
	return fs
}

func (c *colStats) int(v int64) {
	if !c.seen {
		c.minI, c.maxI, c.seen = v, v, true
		return
	}
	c.minI = min(c.minI, v)
	c.maxI = max(c.maxI, v)
}

func (c *colStats) float(v float64) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		c.poisoned = true
		return
	}
	if !c.seen {
		c.minF, c.maxF, c.seen = v, v, true
		return
	}
	c.minF = min(c.minF, v)
	c.maxF = max(c.maxF, v)
}

func (c *colStats) str(v string) {
	if !c.seen {
		c.minS, c.maxS, c.seen = v, v, true
		return
	}
	if v < c.minS {
		c.minS = v
	} else if v > c.maxS {
		c.maxS = v
	}
}

func (fs *fileStats) add(rec arrow.RecordBatch) {
	fs.rows += rec.NumRows()
	for i := range fs.cols {
		c := &fs.cols[i]
		col := rec.Column(i)
		c.nulls += int64(col.NullN())
		if col.NullN() == col.Len() {
			continue
		}
		valid := func(j int) bool { return col.NullN() == 0 || col.IsValid(j) }
		switch a := col.(type) {
		case *array.Int64:
			for j, v := range a.Int64Values() {
				if valid(j) {
					c.int(v)
				}
			}
		case *array.Int32:
			for j, v := range a.Int32Values() {
				if valid(j) {
					c.int(int64(v))
				}
			}
		case *array.Int16:
			for j, v := range a.Int16Values() {
				if valid(j) {
					c.int(int64(v))
				}
			}
		case *array.Int8:
			for j, v := range a.Int8Values() {
				if valid(j) {
					c.int(int64(v))
				}
			}
		case *array.Float64:
			for j, v := range a.Float64Values() {
				if valid(j) {
					c.float(v)
				}
			}
		case *array.Float32:
			for j, v := range a.Float32Values() {
				if valid(j) {
					c.float(float64(v))
				}
			}
		case *array.String:
			for j := 0; j < a.Len(); j++ {
				if valid(j) {
					c.str(a.Value(j))
				}
			}
		case *array.LargeString:
			for j := 0; j < a.Len(); j++ {
				if valid(j) {
					c.str(a.Value(j))
				}
			}
		case *array.Timestamp:
			toMicros := timestampScale(a.DataType().(*arrow.TimestampType).Unit)
			for j, v := range a.TimestampValues() {
				if valid(j) {
					c.int(toMicros(int64(v)))
				}
			}
		case *array.Date32:
			for j, v := range a.Date32Values() {
				if valid(j) {
					c.int(int64(v))
				}
			}
		}
	}
}

// timestampScale converts a timestamp of unit u to microseconds (floor).
func timestampScale(u arrow.TimeUnit) func(int64) int64 {
	switch u {
	case arrow.Second:
		return func(v int64) int64 { return v * 1e6 }
	case arrow.Millisecond:
		return func(v int64) int64 { return v * 1e3 }
	case arrow.Nanosecond:
		return func(v int64) int64 { return floorDiv(v, 1e3) }
	}
	return func(v int64) int64 { return v }
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// statsTimeLayout is the layout Spark writes: millisecond precision, UTC.
const statsTimeLayout = "2006-01-02T15:04:05.000Z07:00"

// formatStatsTime renders a microsecond timestamp rounded down (floor) or up
// (ceil) to the millisecond, so that the bound holds for readers that
// compare at millisecond precision.
func formatStatsTime(us int64, ceil bool) string {
	ms := floorDiv(us, 1000)
	if ceil && ms*1000 != us {
		ms++
	}
	return time.UnixMilli(ms).UTC().Format(statsTimeLayout)
}

// JSON renders the stats string of an add action.
func (fs *fileStats) JSON() string {
	mins := map[string]any{}
	maxs := map[string]any{}
	nulls := map[string]int64{}
	for i, f := range fs.schema.Fields() {
		c := &fs.cols[i]
		if f.Type.ID() == arrow.STRUCT || f.Type.ID() == arrow.LIST || f.Type.ID() == arrow.MAP {
			continue
		}
		nulls[f.Name] = c.nulls
		if !c.seen || c.poisoned {
			continue
		}
		switch c.kind {
		case kindInt:
			mins[f.Name], maxs[f.Name] = c.minI, c.maxI
		case kindFloat:
			mins[f.Name], maxs[f.Name] = c.minF, c.maxF
		case kindTimestamp:
			mins[f.Name], maxs[f.Name] = formatStatsTime(c.minI, false), formatStatsTime(c.maxI, true)
		case kindDate:
			mins[f.Name] = time.Unix(c.minI*86400, 0).UTC().Format(time.DateOnly)
			maxs[f.Name] = time.Unix(c.maxI*86400, 0).UTC().Format(time.DateOnly)
		case kindString:
			if utf8.ValidString(c.minS) {
				mins[f.Name] = truncateRunes(c.minS, maxStatsStringRunes)
			}
			if utf8.ValidString(c.maxS) && utf8.RuneCountInString(c.maxS) <= maxStatsStringRunes {
				maxs[f.Name] = c.maxS
			}
		}
	}
	b, err := json.Marshal(struct {
		NumRecords int64            `json:"numRecords"`
		MinValues  map[string]any   `json:"minValues"`
		MaxValues  map[string]any   `json:"maxValues"`
		NullCount  map[string]int64 `json:"nullCount"`
	}{fs.rows, mins, maxs, nulls})
	if err != nil {
		panic("lake: stats are always encodable: " + err.Error())
	}
	return string(b)
}

func truncateRunes(s string, n int) string {
	i := 0
	for pos := range s {
		if i == n {
			return s[:pos]
		}
		i++
	}
	return s
}
