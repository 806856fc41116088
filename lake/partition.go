package lake

// Partitioned tables. A Delta table's partition columns are not stored in
// its data files: each add action carries them in partitionValues, as
// strings serialized per the protocol's "Partition Value Serialization"
// (null, absent or "" mean null; numbers in decimal; dates YYYY-MM-DD;
// timestamps "YYYY-MM-DD HH:MM:SS[.ffffff]" in UTC; timestamp_ntz the same
// without a zone). The folder a file sits in (p=value/) is only a naming
// habit: it may be escaped, missing or even disagree with the log, so it is
// never read. Values are parsed here, typed by the table schema, and
// become literals of a DuckDB SELECT whose columns keep the schema's order.
// Binary partition columns are refused (ErrUnsupported).

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
)

// partitionedSQL is SelectSQL for a partitioned table: one read_parquet
// per distinct tuple of partition values, UNION ALL.
func (s *TableSnapshot) partitionedSQL() (string, error) {
	isPart := map[string]bool{}
	for _, c := range s.Metadata.PartitionColumns {
		if s.Schema.FieldIndices(c) == nil {
			return "", fmt.Errorf("%w: %s: partition column %q is not in the schema", ErrCorrupt, s.Dir, c)
		}
		isPart[c] = true
	}
	paths := s.Paths()
	if len(paths) == 0 {
		return emptySelect(s.Schema)
	}
	type group struct {
		lits  map[string]string
		files []string
	}
	var groups []*group
	byKey := map[string]*group{}
	for i, a := range s.Files {
		lits := map[string]string{}
		var key strings.Builder
		for _, c := range s.Metadata.PartitionColumns {
			f := s.Schema.Field(s.Schema.FieldIndices(c)[0])
			var raw *string
			if v, ok := a.PartitionValues[c]; ok {
				raw = v
			}
			lit, err := partitionLiteral(f.Type, raw)
			if err != nil {
				return "", fmt.Errorf("%s: file %s: partition column %q: %w", s.Dir, a.Path, c, err)
			}
			lits[c] = lit
			key.WriteString(lit)
			key.WriteByte(0)
		}
		g := byKey[key.String()]
		if g == nil {
			g = &group{lits: lits}
			byKey[key.String()] = g
			groups = append(groups, g)
		}
		g.files = append(g.files, paths[i])
	}
	sels := make([]string, len(groups))
	for i, g := range groups {
		cols := make([]string, s.Schema.NumFields())
		for j, f := range s.Schema.Fields() {
			if isPart[f.Name] {
				cols[j] = g.lits[f.Name] + " AS " + sqlIdent(f.Name)
			} else {
				cols[j] = sqlIdent(f.Name)
			}
		}
		sels[i] = "SELECT " + strings.Join(cols, ", ") + " FROM " + readParquetFrom(g.files)
	}
	if len(sels) == 1 {
		return sels[0], nil
	}
	return "(" + strings.Join(sels, ") UNION ALL (") + ")", nil
}

// partitionLiteral is the typed DuckDB literal of a serialized partition
// value (nil: absent or JSON null).
func partitionLiteral(t arrow.DataType, raw *string) (string, error) {
	dt, err := duckType(t)
	if err != nil {
		return "", err
	}
	if raw == nil || *raw == "" {
		return "CAST(NULL AS " + dt + ")", nil
	}
	v := *raw
	bad := func(err error) (string, error) {
		return "", fmt.Errorf("%w: partition value %.40q is not a %s: %v", ErrCorrupt, v, t, err)
	}
	switch tt := t.(type) {
	case *arrow.StringType, *arrow.LargeStringType:
		return "CAST(" + sqlString(v) + " AS VARCHAR)", nil
	case *arrow.Int64Type, *arrow.Int32Type, *arrow.Int16Type, *arrow.Int8Type:
		bits := map[arrow.Type]int{arrow.INT64: 64, arrow.INT32: 32, arrow.INT16: 16, arrow.INT8: 8}[t.ID()]
		n, err := strconv.ParseInt(v, 10, bits)
		if err != nil {
			return bad(err)
		}
		return "CAST(" + strconv.FormatInt(n, 10) + " AS " + dt + ")", nil
	case *arrow.Float64Type, *arrow.Float32Type:
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return bad(err)
		}
		switch {
		case math.IsNaN(f):
			return "CAST('NaN' AS " + dt + ")", nil
		case math.IsInf(f, 0):
			return "CAST(" + sqlString(strconv.FormatFloat(f, 'g', -1, 64)) + " AS " + dt + ")", nil
		}
		return "CAST(" + sqlString(strconv.FormatFloat(f, 'g', -1, 64)) + " AS " + dt + ")", nil
	case *arrow.BooleanType:
		b, err := strconv.ParseBool(strings.ToLower(v))
		if err != nil {
			return bad(err)
		}
		return strconv.FormatBool(b), nil
	case *arrow.Date32Type:
		d, err := time.Parse(time.DateOnly, v)
		if err != nil {
			return bad(err)
		}
		return "DATE " + sqlString(d.Format(time.DateOnly)), nil
	case *arrow.TimestampType:
		ts, err := parsePartitionTime(v, tt.TimeZone != "")
		if err != nil {
			return bad(err)
		}
		if tt.TimeZone != "" {
			return "CAST(" + sqlString(ts.Format("2006-01-02 15:04:05.999999")+"+00") + " AS TIMESTAMPTZ)", nil
		}
		return "CAST(" + sqlString(ts.Format("2006-01-02 15:04:05.999999")) + " AS TIMESTAMP)", nil
	case *arrow.Decimal128Type:
		if _, err := strconv.ParseFloat(v, 64); err != nil {
			return bad(err)
		}
		return "CAST(" + sqlString(v) + " AS " + dt + ")", nil
	}
	return "", fmt.Errorf("%w: partition column of type %s", ErrUnsupported, t)
}

// parsePartitionTime reads a serialized timestamp partition value. Values
// with a zone or offset are converted to UTC; values without one are UTC
// (timestamp) or wall time (timestamp_ntz).
func parsePartitionTime(v string, utc bool) (time.Time, error) {
	layouts := []string{
		"2006-01-02 15:04:05.999999999Z07:00", "2006-01-02T15:04:05.999999999Z07:00",
		"2006-01-02 15:04:05.999999999Z0700", "2006-01-02 15:04:05.999999999",
		"2006-01-02T15:04:05.999999999", "2006-01-02",
	}
	var first error
	for _, l := range layouts {
		t, err := time.Parse(l, v)
		if err == nil {
			if utc {
				t = t.UTC()
			}
			return t, nil
		}
		if first == nil {
			first = err
		}
	}
	return time.Time{}, first
}
