package lake

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

func testSchema() *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "ts", Type: TimestampType(), Nullable: true},
		{Name: "x", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "n32", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "flag", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
		{Name: "day", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
	}, nil)
}

// testBatch makes rows ids [from, from+n).
func testBatch(from, n int64) arrow.RecordBatch {
	b := array.NewRecordBuilder(memory.DefaultAllocator, testSchema())
	defer b.Release()
	for i := from; i < from+n; i++ {
		b.Field(0).(*array.Int64Builder).Append(i)
		if i%5 == 4 {
			b.Field(1).AppendNull()
		} else {
			b.Field(1).(*array.StringBuilder).Append("name-" + string(rune('a'+i%26)))
		}
		b.Field(2).(*array.TimestampBuilder).Append(arrow.Timestamp(t0.Add(time.Duration(i)*time.Second).UnixMicro() + 1))
		b.Field(3).(*array.Float64Builder).Append(float64(i) / 4)
		b.Field(4).(*array.Int32Builder).Append(int32(i % 1000))
		b.Field(5).(*array.BooleanBuilder).Append(i%2 == 0)
		b.Field(6).(*array.Date32Builder).Append(arrow.Date32(18000 + i%30))
	}
	return b.NewRecordBatch()
}

func appendRows(t *testing.T, tbl *Table, from, n int64) int64 {
	t.Helper()
	rec := testBatch(from, n)
	defer rec.Release()
	v, err := tbl.Append(context.Background(), []arrow.RecordBatch{rec}, CommitInfo{})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func countRows(t *testing.T, snap *TableSnapshot) int64 {
	t.Helper()
	tbl, err := snap.ReadArrow(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	return tbl.NumRows()
}

func TestCreateAppendSnapshot(t *testing.T) {
	forBackends(t, func(t *testing.T, be backend) {
		dir := be.newRoot(t)
		tbl, err := Create(dir, testSchema(), be.opts()...)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Create(dir, testSchema(), be.opts()...); !errors.Is(err, ErrExists) {
			t.Fatalf("second Create: %v", err)
		}
		for i := range 3 {
			if v := appendRows(t, tbl, int64(i*100), 100); v != int64(i+1) {
				t.Fatalf("version %d", v)
			}
		}
		snap, err := Snapshot(dir, -1, be.opts()...)
		if err != nil {
			t.Fatal(err)
		}
		if snap.Version != 3 || len(snap.Files) != 3 || snap.Protocol.MinReaderVersion != 1 || snap.Protocol.MinWriterVersion != 2 {
			t.Fatalf("snapshot %+v", snap)
		}
		if !snap.Schema.Equal(testSchema()) {
			t.Fatalf("schema %s", snap.Schema)
		}
		for _, f := range snap.Files {
			st, err := be.fs.Stat(JoinPath(dir, f.Path))
			if err != nil || st.Size() != f.Size || !f.DataChange {
				t.Fatalf("add %+v: stat %v %v", f, st, err)
			}
		}
		// Arrow read: timestamps come back as timestamp[us, tz=UTC].
		at, err := snap.ReadArrow(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer at.Release()
		if at.NumRows() != 300 {
			t.Fatalf("rows %d", at.NumRows())
		}
		if ts, ok := at.Schema().Field(2).Type.(*arrow.TimestampType); !ok || ts.Unit != arrow.Microsecond || ts.TimeZone != "UTC" {
			t.Fatalf("ts type %s", at.Schema().Field(2).Type)
		}
		// Older versions stay readable.
		old, err := Snapshot(dir, 1, be.opts()...)
		if err != nil || len(old.Files) != 1 {
			t.Fatalf("version 1: %v %v", old, err)
		}
		// Commit file: commitInfo with string metrics and engineInfo.
		b, err := be.fs.ReadFile(JoinPath(dir, "_delta_log", commitName(2)))
		if err != nil {
			t.Fatal(err)
		}
		var ci struct {
			CommitInfo struct {
				Operation        string            `json:"operation"`
				Parameters       map[string]string `json:"operationParameters"`
				OperationMetrics map[string]string `json:"operationMetrics"`
				EngineInfo       string            `json:"engineInfo"`
				ReadVersion      int64             `json:"readVersion"`
			} `json:"commitInfo"`
		}
		if err := json.Unmarshal([]byte(strings.SplitN(string(b), "\n", 2)[0]), &ci); err != nil {
			t.Fatal(err)
		}
		c := ci.CommitInfo
		if c.Operation != "WRITE" || c.Parameters["mode"] != "Append" || c.OperationMetrics["numOutputRows"] != "100" ||
			c.OperationMetrics["numFiles"] != "1" || c.EngineInfo != EngineInfo || c.ReadVersion != 1 {
			t.Fatalf("commitInfo %+v", c)
		}
		// Reopen and keep appending.
		tbl2, err := Open(dir, be.opts()...)
		if err != nil {
			t.Fatal(err)
		}
		if v := appendRows(t, tbl2, 1000, 5); v != 4 {
			t.Fatalf("version %d", v)
		}
	})
}

func TestCreateRefusesBadSchemas(t *testing.T) {
	for _, s := range []*arrow.Schema{
		arrow.NewSchema([]arrow.Field{{Name: "Upper", Type: arrow.PrimitiveTypes.Int64}}, nil),
		arrow.NewSchema([]arrow.Field{{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: "UTC"}}}, nil),
		arrow.NewSchema([]arrow.Field{{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond}}}, nil),
	} {
		if _, err := Create(t.TempDir(), s); err == nil {
			t.Errorf("Create(%s) succeeded", s)
		}
	}
}

func TestAppendRefusesNullsInRequiredColumn(t *testing.T) {
	dir := t.TempDir()
	schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}, nil)
	tbl, err := Create(dir, schema)
	if err != nil {
		t.Fatal(err)
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil))
	b.Field(0).AppendNull()
	rec := b.NewRecordBatch()
	defer rec.Release()
	if _, err := tbl.Append(context.Background(), []arrow.RecordBatch{rec}, CommitInfo{}); err == nil {
		t.Fatal("null in a non-nullable column was accepted")
	}
}

func statsOf(t *testing.T, schema *arrow.Schema, build func(b *array.RecordBuilder)) map[string]any {
	t.Helper()
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	build(b)
	rec := b.NewRecordBatch()
	defer rec.Release()
	fs := newFileStats(schema)
	fs.add(rec)
	var m map[string]any
	if err := json.Unmarshal([]byte(fs.JSON()), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestStats(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "finite", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "nan", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "inf", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "ts", Type: TimestampType(), Nullable: true},
		{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "long", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "allnull", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "flag", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
	}, nil)
	long := strings.Repeat("z", 40)
	m := statsOf(t, schema, func(b *array.RecordBuilder) {
		fl := b.Field(0).(*array.Float64Builder)
		fl.AppendValues([]float64{2.5, -1}, nil)
		fl.AppendNull()
		b.Field(1).(*array.Float64Builder).AppendValues([]float64{1, math.NaN(), 3}, nil)
		b.Field(2).(*array.Float64Builder).AppendValues([]float64{1, math.Inf(-1), 3}, nil)
		ts := b.Field(3).(*array.TimestampBuilder)
		// 1.0015 s and 3.0005 s after t0, and one pre-1970 value ending in µs.
		ts.Append(arrow.Timestamp(t0.UnixMicro() + 1_001_500))
		ts.Append(arrow.Timestamp(t0.UnixMicro() + 3_000_500))
		ts.AppendNull()
		b.Field(4).(*array.StringBuilder).AppendValues([]string{"b", "a", "c"}, nil)
		b.Field(5).(*array.StringBuilder).AppendValues([]string{long, long + "y", long}, nil)
		for range 3 {
			b.Field(6).AppendNull()
		}
		b.Field(7).(*array.BooleanBuilder).AppendValues([]bool{true, false, true}, nil)
	})
	mins := m["minValues"].(map[string]any)
	maxs := m["maxValues"].(map[string]any)
	nulls := m["nullCount"].(map[string]any)
	if m["numRecords"].(float64) != 3 {
		t.Fatalf("numRecords %v", m["numRecords"])
	}
	if mins["finite"] != -1.0 || maxs["finite"] != 2.5 || nulls["finite"] != 1.0 {
		t.Errorf("finite: %v %v %v", mins["finite"], maxs["finite"], nulls["finite"])
	}
	for _, c := range []string{"nan", "inf", "allnull", "flag"} {
		if _, ok := mins[c]; ok {
			t.Errorf("%s has a min", c)
		}
		if _, ok := maxs[c]; ok {
			t.Errorf("%s has a max", c)
		}
		if _, ok := nulls[c]; !ok {
			t.Errorf("%s has no nullCount", c)
		}
	}
	if nulls["allnull"] != 3.0 {
		t.Errorf("allnull nullCount %v", nulls["allnull"])
	}
	if mins["ts"] != "2020-03-16T13:30:01.001Z" || maxs["ts"] != "2020-03-16T13:30:03.001Z" {
		t.Errorf("ts min %v max %v (want floor/ceil to ms)", mins["ts"], maxs["ts"])
	}
	if mins["s"] != "a" || maxs["s"] != "c" {
		t.Errorf("s: %v %v", mins["s"], maxs["s"])
	}
	if mins["long"] != strings.Repeat("z", 32) || maxs["long"] != nil {
		t.Errorf("long: min %v max %v (min truncated, max omitted)", mins["long"], maxs["long"])
	}
	// Rounding edge cases, including before 1970.
	for _, c := range []struct {
		us         int64
		ceil       bool
		wantFormat string
	}{
		{-1, false, "1969-12-31T23:59:59.999Z"},
		{-1, true, "1970-01-01T00:00:00.000Z"},
		{1000, true, "1970-01-01T00:00:00.001Z"},
		{1001, true, "1970-01-01T00:00:00.002Z"},
		{1999, false, "1970-01-01T00:00:00.001Z"},
	} {
		if got := formatStatsTime(c.us, c.ceil); got != c.wantFormat {
			t.Errorf("formatStatsTime(%d, %v) = %s, want %s", c.us, c.ceil, got, c.wantFormat)
		}
	}
}

func TestCheckpoints(t *testing.T) {
	forBackends(t, func(t *testing.T, be backend) {
		dir := be.newRoot(t)
		tbl, err := Create(dir, testSchema(), be.opts()...)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 25 {
			appendRows(t, tbl, int64(i*10), 10)
		}
		if err := tbl.CheckpointErr(); err != nil {
			t.Fatal(err)
		}
		logDir := JoinPath(dir, "_delta_log")
		for _, v := range []int64{10, 20} {
			if _, err := be.fs.Stat(JoinPath(logDir, checkpointName(v))); err != nil {
				t.Fatal(err)
			}
		}
		if hint := readLastCheckpoint(be.fs, logDir); hint != 20 {
			t.Fatalf("_last_checkpoint %d", hint)
		}
		check := func(version, wantCP int64, wantFiles int) {
			t.Helper()
			snap, err := Snapshot(dir, version, be.opts()...)
			if err != nil {
				t.Fatal(err)
			}
			if snap.CheckpointVersion != wantCP || len(snap.Files) != wantFiles {
				t.Fatalf("version %d: checkpoint %d files %d; want %d, %d", version, snap.CheckpointVersion, len(snap.Files), wantCP, wantFiles)
			}
			if n, ok := snap.NumRecords(); !ok || n != int64(wantFiles*10) {
				t.Fatalf("version %d: records %d", version, n)
			}
			if snap.Metadata.ID == "" || snap.Schema == nil || snap.Protocol.MinWriterVersion != 2 {
				t.Fatalf("version %d: metadata lost through the checkpoint", version)
			}
		}
		check(-1, 20, 25)
		check(15, 10, 15)
		check(9, -1, 9)
		// Without the JSON commits a checkpoint replaces, replay still works.
		for v := range int64(10) {
			if err := be.fs.Remove(JoinPath(logDir, commitName(v))); err != nil {
				t.Fatal(err)
			}
		}
		check(-1, 20, 25)
		check(12, 10, 12)
		// No _last_checkpoint: found by listing.
		if err := be.fs.Remove(JoinPath(logDir, lastCheckpointName)); err != nil {
			t.Fatal(err)
		}
		check(-1, 20, 25)
		// A corrupt newest checkpoint falls back to the older one.
		replaceTestFile(t, be.fs, JoinPath(logDir, checkpointName(20)), []byte("garbage"))
		check(-1, 10, 25)
		// The checkpoint's adds carry the stats string.
		acts, err := readCheckpoint(context.Background(), be.fs, logDir, []string{checkpointName(10)})
		if err != nil {
			t.Fatal(err)
		}
		adds := 0
		for _, a := range acts {
			if a.Add != nil {
				adds++
				if !strings.Contains(a.Add.Stats, `"numRecords":10`) {
					t.Fatalf("stats %q", a.Add.Stats)
				}
			}
		}
		if adds != 10 {
			t.Fatalf("checkpoint 10 has %d adds", adds)
		}
	})
}

// writeLog writes a hand-made log for refusal tests.
func writeLog(t *testing.T, lines ...string) string {
	t.Helper()
	dir := t.TempDir()
	logDir := filepath.Join(dir, "_delta_log")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(logDir, commitName(0)), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

const (
	testMeta  = `{"metaData":{"id":"x","format":{"provider":"parquet","options":{}},"schemaString":"{\"type\":\"struct\",\"fields\":[{\"name\":\"id\",\"type\":\"long\",\"nullable\":true,\"metadata\":{}}]}","partitionColumns":[],"configuration":{}}}`
	testProto = `{"protocol":{"minReaderVersion":1,"minWriterVersion":2}}`
)

func TestRefusesEscapingPaths(t *testing.T) {
	for _, p := range []string{"/etc/passwd", "../outside.parquet", "a/../../outside.parquet", "%2E%2E/x.parquet", "file:///tmp/x.parquet", "s3://bucket/x.parquet", "_delta_log/00000000000000000000.json"} {
		dir := writeLog(t, testProto, testMeta, `{"add":{"path":"`+p+`","partitionValues":{},"size":1,"modificationTime":0,"dataChange":true}}`)
		if _, err := Snapshot(dir, -1); !errors.Is(err, ErrBadPath) {
			t.Errorf("path %q: %v", p, err)
		}
	}
	dir := writeLog(t, testProto, testMeta, `{"add":{"path":"sub%20dir/part-0.parquet","partitionValues":{},"size":1,"modificationTime":0,"dataChange":true}}`)
	snap, err := Snapshot(dir, -1)
	if err != nil {
		t.Fatal(err)
	}
	if got := snap.Paths()[0]; got != filepath.Join(dir, "sub dir", "part-0.parquet") {
		t.Fatalf("path %s", got)
	}
}

func TestRefusesUnsupportedProtocol(t *testing.T) {
	cases := map[string][]string{
		"deletion vectors": {`{"protocol":{"minReaderVersion":3,"minWriterVersion":7,"readerFeatures":["deletionVectors"],"writerFeatures":["deletionVectors"]}}`, testMeta},
		"column mapping":   {`{"protocol":{"minReaderVersion":2,"minWriterVersion":5}}`, strings.Replace(testMeta, `"configuration":{}`, `"configuration":{"delta.columnMapping.mode":"name"}`, 1)},
		"reader 4":         {`{"protocol":{"minReaderVersion":4,"minWriterVersion":7}}`, testMeta},
		"dv on a file":     {testProto, testMeta, `{"add":{"path":"a.parquet","partitionValues":{},"size":1,"modificationTime":0,"dataChange":true,"deletionVector":{"storageType":"u","pathOrInlineDv":"x","sizeInBytes":1,"cardinality":1}}}`},
	}
	for name, lines := range cases {
		dir := writeLog(t, lines...)
		_, err := Snapshot(dir, -1)
		if !errors.Is(err, ErrUnsupported) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Writer version 7 tables are readable (with supported features) but not appendable.
	dir := writeLog(t, `{"protocol":{"minReaderVersion":3,"minWriterVersion":7,"readerFeatures":["timestampNtz"],"writerFeatures":["timestampNtz"]}}`, testMeta)
	if _, err := Snapshot(dir, -1); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("Open writer 7: %v", err)
	}
}

func TestSnapshotErrors(t *testing.T) {
	if _, err := Snapshot(t.TempDir(), -1); !errors.Is(err, ErrNotTable) {
		t.Fatalf("empty dir: %v", err)
	}
	dir := writeLog(t, testProto, testMeta)
	if err := os.WriteFile(filepath.Join(dir, "_delta_log", commitName(2)), []byte(testProto+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Snapshot(dir, -1); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("gap: %v", err)
	}
	if _, err := Snapshot(dir, 0); err != nil {
		t.Fatalf("before the gap: %v", err)
	}
}
