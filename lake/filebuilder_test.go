package lake

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// anyRow is one row of any schema: one value per field, nil for null.
type anyRow []any

// randomRows makes n seeded rows of schema: empty, short, long and (now and
// then) very long strings, NaN and ±Inf, nulls where the field is nullable.
func randomRows(rng *rand.Rand, schema *arrow.Schema, n int) []anyRow {
	words := []string{"", "a", "SPY", "SPY 2020-03-20 C 250", "trailing_stop", "ü→€", "exit"}
	str := func() string {
		switch k := rng.IntN(100); {
		case k < 60:
			return words[rng.IntN(len(words))]
		case k < 97:
			return strings.Repeat(words[rng.IntN(len(words))]+fmt.Sprint(rng.IntN(1000)), 1+rng.IntN(12))
		default:
			return strings.Repeat("x", 2000+rng.IntN(6000)) + fmt.Sprint(rng.Int64())
		}
	}
	f64 := func() float64 {
		switch rng.IntN(200) {
		case 0:
			return math.NaN()
		case 1:
			return math.Inf(1 - 2*rng.IntN(2))
		}
		return rng.NormFloat64() * 1000
	}
	rows := make([]anyRow, n)
	for i := range rows {
		r := make(anyRow, schema.NumFields())
		for j, f := range schema.Fields() {
			if f.Nullable && rng.IntN(7) == 0 {
				continue
			}
			switch f.Type.ID() {
			case arrow.INT64:
				r[j] = rng.Int64N(1<<40) - 1<<39
			case arrow.INT32:
				r[j] = rng.Int32()
			case arrow.INT16:
				r[j] = int16(rng.IntN(1 << 16))
			case arrow.INT8:
				r[j] = int8(rng.IntN(256))
			case arrow.FLOAT64:
				r[j] = f64()
			case arrow.FLOAT32:
				r[j] = float32(f64())
			case arrow.BOOL:
				r[j] = rng.IntN(2) == 0
			case arrow.DATE32:
				r[j] = arrow.Date32(18000 + rng.IntN(3000))
			case arrow.TIMESTAMP:
				r[j] = arrow.Timestamp(t0.UnixMicro() + rng.Int64N(1e12))
			case arrow.STRING:
				r[j] = str()
			case arrow.BINARY:
				r[j] = []byte(str())
			default:
				panic("randomRows: no generator for " + f.Type.String())
			}
		}
		rows[i] = r
	}
	return rows
}

// appendAny appends r to b, one value per field.
func appendAny(b *array.RecordBuilder, r *anyRow) {
	for j, v := range *r {
		fb := b.Field(j)
		if v == nil {
			fb.AppendNull()
			continue
		}
		switch fb := fb.(type) {
		case *array.Int64Builder:
			fb.Append(v.(int64))
		case *array.Int32Builder:
			fb.Append(v.(int32))
		case *array.Int16Builder:
			fb.Append(v.(int16))
		case *array.Int8Builder:
			fb.Append(v.(int8))
		case *array.Float64Builder:
			fb.Append(v.(float64))
		case *array.Float32Builder:
			fb.Append(v.(float32))
		case *array.BooleanBuilder:
			fb.Append(v.(bool))
		case *array.Date32Builder:
			fb.Append(v.(arrow.Date32))
		case *array.TimestampBuilder:
			fb.Append(v.(arrow.Timestamp))
		case *array.StringBuilder:
			fb.Append(v.(string))
		case *array.BinaryBuilder:
			fb.Append(v.([]byte))
		default:
			panic(fmt.Sprintf("appendAny: %T", fb))
		}
	}
}

func recordOf(schema *arrow.Schema, rows []anyRow) arrow.RecordBatch {
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for i := range rows {
		appendAny(b, &rows[i])
	}
	return b.NewRecordBatch()
}

// tableSchemas are the schemas of every table the writers write, and one
// with every other type the lake takes.
func tableSchemas() map[string]*arrow.Schema {
	return map[string]*arrow.Schema{
		"risk_events": RiskEventsSchema(),
		"fills":       FillsSchema(),
		"trades":      TradesSchema(),
		"equity":      EquitySchema(),
		"attribution": AttributionSchema(),
		"test":        testSchema(),
		"other": arrow.NewSchema([]arrow.Field{
			{Name: "i8", Type: arrow.PrimitiveTypes.Int8, Nullable: true},
			{Name: "i16", Type: arrow.PrimitiveTypes.Int16},
			{Name: "f32", Type: arrow.PrimitiveTypes.Float32, Nullable: true},
			{Name: "bin", Type: arrow.BinaryTypes.Binary, Nullable: true},
			{Name: "s", Type: arrow.BinaryTypes.String},
		}, nil),
	}
}

var fixedClock = WithClock(func() time.Time { return t0 })

// addsInOrder returns the adds of the table at dir in commit order.
func addsInOrder(t *testing.T, dir string) []Add {
	t.Helper()
	last, err := Snapshot(dir, -1)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var adds []Add
	for v := int64(0); v <= last.Version; v++ {
		s, err := Snapshot(dir, v)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range s.Files {
			if !seen[a.Path] {
				seen[a.Path] = true
				adds = append(adds, a)
			}
		}
	}
	return adds
}

// sameFile fails unless got (of table gotDir) is want (of wantDir) in
// every byte and in its add's size and stats.
func sameFile(t *testing.T, gotDir string, got Add, wantDir string, want Add) {
	t.Helper()
	if got.Size != want.Size || got.Stats != want.Stats || got.ModificationTime != want.ModificationTime {
		t.Fatalf("add differs:\n got size %d stats %s\nwant size %d stats %s", got.Size, got.Stats, want.Size, want.Stats)
	}
	g, err := os.ReadFile(filepath.Join(gotDir, got.Path))
	if err != nil {
		t.Fatal(err)
	}
	w, err := os.ReadFile(filepath.Join(wantDir, want.Path))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(g, w) {
		t.Fatalf("data file %s differs from WriteFile's (%d vs %d bytes)", got.Path, len(g), len(w))
	}
	if int64(len(g)) != got.Size {
		t.Fatalf("add.size %d, file %d bytes", got.Size, len(g))
	}
}

// TestWriterFilesAreWriteFiles: the writer's files, built piece by piece,
// are byte for byte WriteFile's of the same rows as one batch, with the
// same add size and stats, for every table schema, row counts around the
// piece and batch sizes, flushes in the middle and unaligned row groups.
func TestWriterFilesAreWriteFiles(t *testing.T) {
	const batch = 16384
	cases := []struct {
		rows    int
		flushes []int // Flush after this many rows
		group   int64 // row group rows (0: default)
	}{
		{rows: 1},
		{rows: 1023},
		{rows: 1024},
		{rows: 4097},
		{rows: 16384},
		{rows: 16385},
		{rows: 40000, flushes: []int{1, 1025, 5000, 5000, 22222}},
		{rows: 20000, group: 3000, flushes: []int{2500}},
		{rows: 9000, group: 1000},
		{rows: 9000, group: 2048, flushes: []int{2049}},
	}
	schemas := tableSchemas()
	for _, name := range []string{"risk_events", "fills", "trades", "equity", "attribution", "test", "other"} {
		schema := schemas[name]
		for ci, c := range cases {
			if (testing.Short() || raceEnabled) && c.rows > 5000 {
				continue
			}
			t.Run(fmt.Sprintf("%s/%d-rows-%d", name, ci, c.rows), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(uint64(ci), uint64(len(name))))
				rows := randomRows(rng, schema, c.rows)
				writeAndCompare(t, schema, rows, batch, c.group, c.flushes, WriterOptions{}, nil)
			})
		}
	}
}

// TestWriteFileDeterministic: the identity above is not vacuous: the
// same rows give the same bytes, other rows other bytes.
func TestWriteFileDeterministic(t *testing.T) {
	schema := RiskEventsSchema()
	tab, err := Create(t.TempDir(), schema, fixedClock)
	if err != nil {
		t.Fatal(err)
	}
	rows := randomRows(rand.New(rand.NewPCG(1, 2)), schema, 3000)
	write := func(rows []anyRow) []byte {
		rec := recordOf(schema, rows)
		defer rec.Release()
		add, err := tab.WriteFile(context.Background(), []arrow.RecordBatch{rec})
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(tab.Dir(), add.Path))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	a, b := write(rows), write(rows)
	if !bytes.Equal(a, b) {
		t.Fatal("WriteFile of the same rows differs")
	}
	rows[1500][7] = "another contract"
	if bytes.Equal(a, write(rows)) {
		t.Fatal("WriteFile of other rows is the same")
	}
}

// TestFileBuilderPieces: pieces of any aligned split give WriteFile's
// file; the pieces wait compressed (far below their Arrow size); a column
// that is not flat is held as it is, with the same file.
func TestFileBuilderPieces(t *testing.T) {
	ctx := context.Background()
	schema := TradesSchema()
	rows := randomRows(rand.New(rand.NewPCG(7, 7)), schema, 10000)
	dir := t.TempDir()
	tab, err := Create(dir, schema, fixedClock)
	if err != nil {
		t.Fatal(err)
	}
	whole := recordOf(schema, rows)
	defer whole.Release()
	want, err := tab.WriteFile(ctx, []arrow.RecordBatch{whole})
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []int{1024, 2048, 3072, 8192} {
		fb := tab.newFileBuilder()
		var arrowBytes int64
		for at := 0; at < len(rows); at += step {
			rec := recordOf(schema, rows[at:min(at+step, len(rows))])
			for _, c := range rec.Columns() {
				for _, b := range c.Data().Buffers() {
					if b != nil {
						arrowBytes += int64(b.Len())
					}
				}
			}
			if err := fb.Write(rec); err != nil {
				t.Fatal(err)
			}
			rec.Release()
		}
		if fb.Rows() != int64(len(rows)) {
			t.Fatalf("Rows %d", fb.Rows())
		}
		if held := fb.Held(); held <= 0 || held*3 > arrowBytes {
			t.Fatalf("pieces hold %d bytes for %d bytes of Arrow data", held, arrowBytes)
		}
		got, ok, err := fb.Close(ctx)
		if err != nil || !ok {
			t.Fatal(ok, err)
		}
		sameFile(t, dir, got, dir, want)
		if fb.Rows() != 0 || fb.Held() != 0 {
			t.Fatal("Close kept pieces")
		}
		if _, ok, err := fb.Close(ctx); ok || err != nil {
			t.Fatalf("an empty builder wrote a file: %v %v", ok, err)
		}
	}

	// A sliced batch (offset 0 is what the encoding needs) is held as
	// it is, with the same file.
	fb := tab.newFileBuilder()
	var first int64
	for at := 0; at < len(rows); at += 4096 {
		rec := whole.NewSlice(int64(at), int64(min(at+4096, len(rows))))
		if err := fb.Write(rec); err != nil {
			t.Fatal(err)
		}
		rec.Release()
		if at == 0 {
			first = fb.Held()
		}
	}
	if first == 0 || fb.Held() != first {
		t.Fatalf("the first piece (offset 0) holds %d bytes, all %d: the sliced ones were compressed", first, fb.Held())
	}
	got, ok, err := fb.Close(ctx)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	sameFile(t, dir, got, dir, want)
}

// TestFileBuilderChecks: a batch WriteFile refuses is refused by Write
// too, and nothing of it reaches the file.
func TestFileBuilderChecks(t *testing.T) {
	tab, err := Create(t.TempDir(), FillsSchema(), fixedClock)
	if err != nil {
		t.Fatal(err)
	}
	fb := tab.newFileBuilder()
	other := testBatch(0, 3)
	defer other.Release()
	if err := fb.Write(other); err == nil || !strings.Contains(err.Error(), "schema mismatch") {
		t.Fatalf("other columns: %v", err)
	}
	// Nulls in a non-nullable column (run_id), in a batch labelled nullable.
	fields := FillsSchema().Fields()
	for i := range fields {
		fields[i].Nullable = true
	}
	rows := randomRows(rand.New(rand.NewPCG(3, 3)), FillsSchema(), 5)
	rows[2][0] = nil
	rec := recordOf(arrow.NewSchema(fields, nil), rows)
	defer rec.Release()
	if err := fb.Write(rec); err == nil || !strings.Contains(err.Error(), "not nullable") {
		t.Fatalf("nulls: %v", err)
	}
	if _, werr := tab.WriteFile(context.Background(), []arrow.RecordBatch{rec}); werr == nil {
		t.Fatal("WriteFile took the nulls")
	}
	if fb.Rows() != 0 {
		t.Fatalf("refused rows counted: %d", fb.Rows())
	}
}

// TestDecodeColumn: a column comes back as it went in, and a damaged one
// is an error, not a panic.
func TestDecodeColumn(t *testing.T) {
	schema := tableSchemas()["test"]
	rec := recordOf(schema, randomRows(rand.New(rand.NewPCG(5, 5)), schema, 100))
	defer rec.Release()
	for i, f := range schema.Fields() {
		d := rec.Column(i).Data()
		if !encodable(d) {
			t.Fatalf("%s is flat", f.Name)
		}
		raw := encodeColumn(nil, rec.Column(i))
		back, err := decodeColumn(f.Type, 100, raw)
		if err != nil {
			t.Fatal(err)
		}
		if !array.ApproxEqual(back, rec.Column(i), array.WithNaNsEqual(true), array.WithAbsTolerance(0)) {
			t.Fatalf("%s: decode(encode(column)) differs", f.Name)
		}
		back.Release()
		for _, n := range []int{0, 7, 16, 20, len(raw) - 1} {
			if _, err := decodeColumn(f.Type, 100, raw[:n]); err == nil {
				t.Fatalf("%s: a column cut at %d bytes decoded", f.Name, n)
			}
		}
	}
	sl := rec.NewSlice(1, 5)
	defer sl.Release()
	if encodable(sl.Column(0).Data()) {
		t.Fatal("a sliced column is encodable")
	}
	// A slice from row 0 is encodable; its null count is counted.
	sl0 := rec.NewSlice(0, 50)
	defer sl0.Release()
	for i, f := range schema.Fields() {
		back, err := decodeColumn(f.Type, 50, encodeColumn(nil, sl0.Column(i)))
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		if back.NullN() != sl0.Column(i).NullN() {
			t.Fatalf("%s: %d nulls, want %d", f.Name, back.NullN(), sl0.Column(i).NullN())
		}
		back.Release()
	}
}

// TestWriterRefusesNulls: a null in a non-nullable column fails the
// writer as WriteFile refuses it: nothing of the file is committed, and
// Write, Flush and Close return the failure.
func TestWriterRefusesNulls(t *testing.T) {
	schema := EquitySchema()
	dir := filepath.Join(t.TempDir(), "equity")
	w, err := NewWriter(dir, schema, appendAny, WriterOptions{BatchSize: 4096, ChunkSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	rows := randomRows(rand.New(rand.NewPCG(9, 9)), schema, 3000)
	rows[2500][0] = nil // run_id is not nullable
	for _, r := range rows {
		if err := w.Write(r); err != nil {
			t.Fatal(err) // the failure is found at the piece's end
		}
	}
	if err := w.Flush(); err == nil || !strings.Contains(err.Error(), "not nullable") {
		t.Fatalf("Flush: %v", err)
	}
	if err := w.Write(rows[0]); err == nil || !strings.Contains(err.Error(), "not nullable") {
		t.Fatalf("Write after the failure: %v", err)
	}
	if err := w.Close(); err == nil || !strings.Contains(err.Error(), "not nullable") {
		t.Fatalf("Close: %v", err)
	}
	snap, err := Snapshot(dir, -1)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Files) != 0 {
		t.Fatalf("%d files committed", len(snap.Files))
	}
}
