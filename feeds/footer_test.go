package feeds

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// writeNativeRows writes quotes in the given order as a native file with
// rowGroup rows per row group, declaring the time order or not.
func writeNativeRows(t *testing.T, path string, qs []Quote, cs *Contracts, rowGroup int, declare bool) {
	t.Helper()
	writeNative(t, path, qs, cs, rowGroup, declare, func(table string) (string, string) {
		return nativeContractsKeyV1, table // files written before v2
	})
}

// writeNativeTable writes qs as a native file whose footer table entry is
// what table returns for the plain JSON table.
func writeNativeTable(t *testing.T, path string, qs []Quote, cs *Contracts, table func(string) (string, string)) {
	t.Helper()
	writeNative(t, path, qs, cs, nativeRowGroupRows, true, table)
}

func writeNative(t *testing.T, path string, qs []Quote, cs *Contracts, rowGroup int, declare bool, entry func(string) (string, string)) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	props := nativeProps(declare, int64(rowGroup))
	fw, err := pqarrow.NewFileWriter(NativeSchema(), f, props, pqarrow.NewArrowWriterProperties())
	if err != nil {
		t.Fatal(err)
	}
	w := &nativeWriter{fw: fw, rb: array.NewRecordBuilder(memory.DefaultAllocator, NativeSchema())}
	defer w.rb.Release()
	for i := range qs {
		w.append(&qs[i], cs.Get(qs[i].Contract))
		if w.rows == rowGroup {
			if err := w.flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.flush(); err != nil {
		t.Fatal(err)
	}
	table, _ := json.Marshal(w.table)
	if err := fw.AppendKeyValueMetadata(entry(string(table))); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
}

func synthQuotes(t *testing.T) ([]Quote, *Contracts) {
	t.Helper()
	gen := must(NewSynthetic(smallSynth(), 11))
	return drain(t, gen), gen.Contracts()
}

// openDrain opens path under dq and reads it to the end.
func openDrain(t *testing.T, path string, dq DataQuality) (*fileSource, []Quote, error) {
	fs, qs, _, err := openDrainC(t, path, dq)
	return fs, qs, err
}

// openDrainC is openDrain with the contract table of the quotes read.
func openDrainC(t *testing.T, path string, dq DataQuality) (*fileSource, []Quote, *Contracts, error) {
	t.Helper()
	src, err := OpenFile(context.Background(), FileConfig{Path: path, Preset: PresetNative}, dq, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	fs := src.(*canonical).src.(*fileSource)
	var out []Quote
	for {
		b, err := src.Next(context.Background())
		if errors.Is(err, io.EOF) {
			return fs, out, src.Contracts(), nil
		}
		if err != nil {
			return fs, out, src.Contracts(), err
		}
		out = append(out, b.Quotes...)
	}
}

func TestDeclaredTimeOrderSkipsTheScan(t *testing.T) {
	want, wc := synthQuotes(t)
	dir := t.TempDir()
	declared := filepath.Join(dir, "declared.parquet")
	if _, err := WriteParquet(context.Background(), must(NewSynthetic(smallSynth(), 11)), declared); err != nil {
		t.Fatal(err)
	}
	plain := filepath.Join(dir, "plain.parquet")
	writeNativeRows(t, plain, want, wc, nativeRowGroupRows, false)
	small := filepath.Join(dir, "small-groups.parquet") // many row groups, each declared
	writeNativeRows(t, small, want, wc, 1000, true)

	for _, c := range []struct {
		path     string
		declared bool
	}{{declared, true}, {plain, false}, {small, true}} {
		fs, got, gc, err := openDrainC(t, c.path, Reject)
		if err != nil {
			t.Fatalf("%s: %v", filepath.Base(c.path), err)
		}
		if len(fs.units) != 1 || fs.units[0].declared != c.declared || !fs.units[0].inOrder {
			t.Fatalf("%s: units %+v, want one in order, declared=%v", filepath.Base(c.path), fs.units, c.declared)
		}
		assertSameQuotes(t, want, wc, got, gc)
	}
}

// A file whose footer declares a time order its rows do not have fails the
// read, under skip too: its rows cannot be replayed in their true order.
func TestFalseTimeOrderDeclarationFails(t *testing.T) {
	want, wc := synthQuotes(t)
	// Swap two quotes of different instants inside one row group.
	qs := append([]Quote(nil), want...)
	j := 1
	for qs[j].Time == qs[0].Time {
		j++
	}
	j += 5
	qs[0], qs[j] = qs[j], qs[0]
	path := filepath.Join(t.TempDir(), "liar.parquet")
	writeNativeRows(t, path, qs, wc, 1000, true)
	for _, dq := range []DataQuality{Skip, Reject} {
		_, _, err := openDrain(t, path, dq)
		if err == nil || !strings.Contains(err.Error(), "declares its rows sorted by time") {
			t.Fatalf("%s: err %v, want the declared-order error", dq, err)
		}
	}

	// Row groups whose time ranges overlap: the declaration proves nothing,
	// the file is scanned and read sorted, giving the quotes in order.
	over := append([]Quote(nil), want[1000:2000]...)
	over = append(over, want[:1000]...)
	over = append(over, want[2000:]...)
	path2 := filepath.Join(t.TempDir(), "overlap.parquet")
	writeNativeRows(t, path2, over, wc, 1000, true)
	fs, got, gc, err := openDrainC(t, path2, Reject)
	if err != nil {
		t.Fatal(err)
	}
	if fs.units[0].declared || fs.units[0].inOrder {
		t.Fatalf("units %+v: want a sorted read", fs.units)
	}
	assertSameQuotes(t, want, wc, got, gc)
}

// WriteParquet refuses a source that is not in time order (its files
// declare the order).
func TestWriteParquetRefusesUnorderedSource(t *testing.T) {
	want, wc := synthQuotes(t)
	j := 1
	for want[j].Time == want[0].Time {
		j++
	}
	qs := append([]Quote(nil), want[:j+1]...)
	qs[0], qs[j] = qs[j], qs[0]
	src := &sliceSource{cs: wc, qs: qs, n: 10}
	_, err := WriteParquet(context.Background(), src, filepath.Join(t.TempDir(), "x.parquet"))
	if err == nil || !strings.Contains(err.Error(), "not in time order") {
		t.Fatalf("err %v, want not in time order", err)
	}
}

// The column types a native file's footer stands for are DuckDB's own
// (DESCRIBE is skipped for such files), and a file whose schema differs in
// one column is not taken for native.
func TestNativeTypesMatchDescribe(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "n.parquet")
	if _, err := WriteParquet(context.Background(), must(NewSynthetic(smallSynth(), 11)), path); err != nil {
		t.Fatal(err)
	}
	src, err := OpenFile(context.Background(), FileConfig{Path: path, Preset: PresetNative}, Reject, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	fs := src.(*canonical).src.(*fileSource)
	described, err := fs.describe("read_parquet(" + sqlString(path) + ")")
	if err != nil {
		t.Fatal(err)
	}
	f, err := fs.footer(path)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := f.nativeTypes()
	if !ok || !maps.Equal(got, described) {
		t.Fatalf("native types %v (ok %v), DESCRIBE %v", got, ok, described)
	}

	// A Parquet file with another schema (no contract column): not native.
	other := filepath.Join(dir, "other.parquet")
	if _, err := fs.conn.ExecContext(context.Background(), "COPY (SELECT * EXCLUDE (contract) FROM read_parquet("+sqlString(path)+")) TO "+sqlString(other)+" (FORMAT parquet)"); err != nil {
		t.Fatal(err)
	}
	f2, err := fs.footer(other)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := f2.nativeTypes(); ok {
		t.Fatal("a file without the contract column taken for native")
	}
}

// writeUnitRows writes quotes as a native-like file whose time column is in
// unit (declared sorted).
func writeUnitRows(t *testing.T, path string, qs []Quote, cs *Contracts, unit arrow.TimeUnit) {
	t.Helper()
	fields := NativeSchema().Fields()
	fields[0].Type = &arrow.TimestampType{Unit: unit, TimeZone: "UTC"}
	sc := arrow.NewSchema(fields, nil)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	fw, err := pqarrow.NewFileWriter(sc, f, nativeProps(true, 1000), pqarrow.NewArrowWriterProperties())
	if err != nil {
		t.Fatal(err)
	}
	w := &nativeWriter{fw: fw, rb: array.NewRecordBuilder(memory.DefaultAllocator, sc)}
	defer w.rb.Release()
	for i := range qs {
		q := qs[i]
		switch unit {
		case arrow.Millisecond:
			q.Time /= 1000
		case arrow.Nanosecond:
			q.Time *= 1000
		}
		w.append(&q, cs.Get(q.Contract))
		if w.rows == 1000 {
			if err := w.flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.flush(); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
}

// A declared file in milliseconds or nanoseconds: its span from the footer
// is the instants DuckDB reads (epoch_us), and its quotes are the source's.
func TestDeclaredOrderTimeUnits(t *testing.T) {
	want, wc := synthQuotes(t)
	for _, u := range []arrow.TimeUnit{arrow.Millisecond, arrow.Nanosecond} {
		p := filepath.Join(t.TempDir(), "u.parquet")
		writeUnitRows(t, p, want, wc, u)
		src, err := OpenFile(context.Background(), FileConfig{Path: p, Format: FormatParquet, Columns: map[string]string{
			"time": "time", "symbol": "symbol", "bid": "bid", "ask": "ask", "underlying_price": "underlying_price",
			"iv": "iv", "delta": "delta", "gamma": "gamma", "vega": "vega", "theta": "theta"}}, Reject, nil)
		if err != nil {
			t.Fatal(err)
		}
		got := drain(t, src)
		fs := src.(*canonical).src.(*fileSource)
		if len(fs.units) != 1 || !fs.units[0].declared {
			t.Errorf("%v: units %+v, want one declared", u, fs.units)
		}
		assertSameQuotes(t, want, wc, got, src.Contracts())
		src.Close()
	}

	// Nanoseconds before 1970 go toward zero, as DuckDB reads them.
	sc := arrow.NewSchema([]arrow.Field{{Name: "t", Type: &arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: "UTC"}}}, nil)
	p := filepath.Join(t.TempDir(), "ns.parquet")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	fw, err := pqarrow.NewFileWriter(sc, f, nativeProps(true, 10), pqarrow.NewArrowWriterProperties())
	if err != nil {
		t.Fatal(err)
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer b.Release()
	for _, v := range []int64{-1500, -1000, 1500} {
		b.Field(0).(*array.TimestampBuilder).Append(arrow.Timestamp(v))
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	if err := fw.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	fs := &fileSource{}
	ff, err := fs.footer(p)
	if err != nil {
		t.Fatal(err)
	}
	if d := ff.declared("t"); d == nil || d.min != -1 || d.max != 1 || d.rows != 3 {
		t.Fatalf("span %+v, want min -1 max 1 rows 3 (µs, toward zero)", d)
	}
}

// WriteParquet stores the contract table compressed (v2); files written
// before hold it as plain JSON (v1, what writeNativeRows writes) and both
// read to the same quotes (TestDeclaredTimeOrderSkipsTheScan). A damaged
// table fails the read, naming the key.
func TestContractTableEncodings(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "v2.parquet")
	if _, err := WriteParquet(context.Background(), must(NewSynthetic(smallSynth(), 11)), path); err != nil {
		t.Fatal(err)
	}
	s := &fileSource{}
	f, err := s.footer(path)
	if err != nil {
		t.Fatal(err)
	}
	raw, v1 := f.contracts()
	if raw == nil || v1 {
		t.Fatalf("footer: table %v, v1 %v; want the %s key", raw != nil, v1, NativeContractsKey)
	}
	table, err := decodeContractTable(*raw, false)
	if err != nil {
		t.Fatal(err)
	}
	_, wc := synthQuotes(t)
	if len(table) != wc.Len() || table[0].Symbol != wc.Get(0).Symbol {
		t.Fatalf("table of %d contracts (first %+v), want %d (first %s)", len(table), table[0], wc.Len(), wc.Get(0).Symbol)
	}
	plain, _ := json.Marshal(table)
	if len(*raw)*4 > len(plain) {
		t.Errorf("encoded table is %d bytes, plain JSON %d: want at least 4× smaller", len(*raw), len(plain))
	}
	if got, err := decodeContractTable(string(plain), true); err != nil || len(got) != len(table) {
		t.Errorf("v1 decode: %d contracts, %v", len(got), err)
	}
	extra, _ := encodeContractTable(table)
	for _, bad := range []string{"not base64!", (*raw)[:len(*raw)/2], string(plain)} {
		if _, err := decodeContractTable(bad, false); err == nil {
			t.Errorf("decode of %.20q...: no error", bad)
		}
	}
	if extra != *raw {
		t.Errorf("encoding is not deterministic")
	}

	// A file whose v2 table is damaged: the read fails and names the key.
	qs, cs := synthQuotes(t)
	damaged := filepath.Join(dir, "damaged.parquet")
	writeNativeTable(t, damaged, qs, cs, func(string) (string, string) { return NativeContractsKey, "H4sIAAAA" })
	if _, _, _, err := openDrainC(t, damaged, Reject); err == nil || !strings.Contains(err.Error(), NativeContractsKey) {
		t.Fatalf("damaged table: %v, want an error naming %s", err, NativeContractsKey)
	}
}

// WriteParquet cuts row groups of nativeRowGroupRows rows (it adds them to
// the row group being buffered nativeBatchRows at a time), each declaring
// its time order, and the file reads back as the same quotes.
func TestWriteParquetRowGroups(t *testing.T) {
	cfg := smallSynth()
	cfg.Every = time.Minute
	cfg.Strikes.Step = 1
	gen := must(NewSynthetic(cfg, 11))
	want, wc := drain(t, gen), gen.Contracts()
	if len(want) <= nativeRowGroupRows+nativeBatchRows {
		t.Fatalf("test data: %d quotes, want more than a row group and a batch", len(want))
	}
	path := filepath.Join(t.TempDir(), "groups.parquet")
	n, err := WriteParquet(context.Background(), must(NewSynthetic(cfg, 11)), path)
	if err != nil || n != int64(len(want)) {
		t.Fatalf("wrote %d quotes (%v), want %d", n, err, len(want))
	}
	r, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	md := r.MetaData()
	groups := (len(want) + nativeRowGroupRows - 1) / nativeRowGroupRows
	if md.NumRowGroups() != groups {
		t.Fatalf("%d row groups, want %d", md.NumRowGroups(), groups)
	}
	for i := range groups {
		rg := md.RowGroup(i)
		rows := min(nativeRowGroupRows, len(want)-i*nativeRowGroupRows)
		if rg.NumRows() != int64(rows) {
			t.Fatalf("row group %d: %d rows, want %d", i, rg.NumRows(), rows)
		}
		sc := rg.SortingColumns()
		if len(sc) != 1 || sc[0].ColumnIdx != 0 || sc[0].Descending {
			t.Fatalf("row group %d: sorting columns %+v, want time ascending", i, sc)
		}
	}
	_, got, gc, err := openDrainC(t, path, Reject)
	if err != nil {
		t.Fatal(err)
	}
	assertSameQuotes(t, want, wc, got, gc)
}
