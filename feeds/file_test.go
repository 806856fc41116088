package feeds

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestDeltaNeutralSkip(t *testing.T) {
	ctx := context.Background()
	src, err := OpenFile(ctx, FileConfig{Path: "testdata/deltaneutral_quirks.csv", Preset: PresetDeltaNeutral}, Skip, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	qs := drain(t, src)
	cs := src.Contracts()
	// The last row's optionroot is garbage: malformed, never replaced by a composed symbol.
	// The rest come in one instant: symbol order (see Canonical).
	wantSyms := []string{"SPXW200320C02800000", "SPXW200320P02400000", "SPXW200417P02500500"}
	if len(qs) != len(wantSyms) {
		t.Fatalf("%d quotes, want %d", len(qs), len(wantSyms))
	}
	stamp := time.Date(2020, 3, 16, 20, 0, 0, 0, time.UTC).UnixMicro() // 16:00 EDT
	for i, q := range qs {
		c := cs.Get(q.Contract)
		if c.Symbol != wantSyms[i] || ContractID(i) != q.Contract {
			t.Errorf("quote %d: contract %d %s, want %d %s", i, q.Contract, c.Symbol, i, wantSyms[i])
		}
		if q.Time != stamp {
			t.Errorf("quote %d at %v, want 2020-03-16 16:00 New York", i, MicrosTime(q.Time))
		}
		if c.Multiplier != 100 || c.Underlying != "SPX" {
			t.Errorf("contract %+v", c)
		}
		if h := c.Expiry.In(newYork); h.Hour() != 16 {
			t.Errorf("expiry %v", c.Expiry)
		}
	}
	first := qs[1] // the file's first row
	// The vendor's vega is per 1.00 of vol and its theta per year: per vol point and per day.
	if first.Bid != 58.1 || first.Ask != 61.3 || first.UnderlyingPrice != 2711.02 || first.IV != 0.8912 ||
		first.Delta != -0.2311 || first.Gamma != 0.0012 || math.Abs(first.Theta- -5.1201/365) > 1e-12 || math.Abs(first.Vega-0.012033) > 1e-12 {
		t.Errorf("first quote %+v", first)
	}
	c := cs.Get(qs[2].Contract)
	if c.Strike != 2500.5 || c.Right != Put || !c.Expiry.Equal(time.Date(2020, 4, 17, 20, 0, 0, 0, time.UTC)) {
		t.Errorf("composed contract %+v", c)
	}
	if got := src.Quality(); got[KindZeroBid] != 2 || got[KindMalformed] != 1 || got.Total() != 3 {
		t.Errorf("quality %v, want zero_bid=2 malformed=1", got)
	}
	if s := src.Quality().String(); s != "malformed=1 zero_bid=2" {
		t.Errorf("String() = %q", s)
	}
}

func TestDeltaNeutralReject(t *testing.T) {
	ctx := context.Background()
	src, err := OpenFile(ctx, FileConfig{Path: "testdata/deltaneutral_quirks.csv", Preset: PresetDeltaNeutral}, Reject, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	_, err = src.Next(ctx)
	var re *RowError
	if !errors.As(err, &re) {
		t.Fatalf("want a *RowError, got %v", err)
	}
	if re.File != "testdata/deltaneutral_quirks.csv" || re.Row != 3 || re.Line != 4 || re.Field != 11 || re.Column != "bid" || re.Kind != KindZeroBid {
		t.Fatalf("got %+v", re)
	}
	if !strings.Contains(err.Error(), "deltaneutral_quirks.csv:4:11:") || !strings.Contains(err.Error(), `"bid"`) {
		t.Fatalf("message %q does not name file, row and column", err)
	}
	if _, err2 := src.Next(ctx); err2 == nil {
		t.Fatal("a rejected source must stay failed")
	}
}

func TestDeltaNeutralBadHeader(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.csv")
	os.WriteFile(p, []byte("underlying,price\nSPX,1\n"), 0o644)
	src, err := OpenFile(context.Background(), FileConfig{Path: p, Preset: PresetDeltaNeutral}, Skip, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	_, err = src.Next(context.Background())
	if err == nil || !strings.Contains(err.Error(), "header") || !strings.Contains(err.Error(), p) {
		t.Fatalf("got %v", err)
	}
}

// writeCustomCSV writes quotes in a custom layout: time and expiry as text in UTC.
func writeCustomCSV(t *testing.T, path string, qs []Quote, cs *Contracts) {
	var b strings.Builder
	b.WriteString("ts,sym,root,exp,k,cp,b,a,spot,vol,d,g,v,th\n")
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	for _, q := range qs {
		c := cs.Get(q.Contract)
		fmt.Fprintf(&b, "%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s\n",
			MicrosTime(q.Time).Format("2006-01-02 15:04:05.000000"), c.Symbol, c.Underlying, c.Expiry.Format("2006-01-02 15:04:05"),
			f(c.Strike), strings.ToLower(c.Right.String()), f(q.Bid), f(q.Ask), f(q.UnderlyingPrice), f(q.IV), f(q.Delta), f(q.Gamma), f(q.Vega), f(q.Theta))
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

var customColumns = map[string]string{"time": "ts", "symbol": "sym", "underlying": "root", "expiry": "exp", "strike": "k",
	"right": "cp", "bid": "b", "ask": "a", "underlying_price": "spot", "iv": "vol", "delta": "d", "gamma": "g", "vega": "v", "theta": "th"}

// The same quotes read from CSV (custom mapping), Parquet (native) and a Delta table.
func TestSameQuotesCSVParquetDelta(t *testing.T) {
	ctx := context.Background()
	cfg := smallSynth()
	cfg.Days = cfg.Days[:2]
	gen := must(NewSynthetic(cfg, 11))
	want := drain(t, gen)
	dir := t.TempDir()

	csvPath := filepath.Join(dir, "q.csv")
	writeCustomCSV(t, csvPath, want, gen.Contracts())
	fromCSV := must(OpenFile(ctx, FileConfig{Path: csvPath, Columns: customColumns}, Reject, nil))
	defer fromCSV.Close()
	assertSameQuotes(t, want, gen.Contracts(), drain(t, fromCSV), fromCSV.Contracts())

	// Without symbol and underlying: the OCC symbol is composed, the root is the underlying.
	cols := map[string]string{}
	for k, v := range customColumns {
		if k != "symbol" {
			cols[k] = v
		}
	}
	composed := must(OpenFile(ctx, FileConfig{Path: csvPath, Columns: cols}, Reject, nil))
	defer composed.Close()
	assertSameQuotes(t, want, gen.Contracts(), drain(t, composed), composed.Contracts())

	pqPath := filepath.Join(dir, "q.parquet")
	if _, err := WriteParquet(ctx, must(NewSynthetic(cfg, 11)), pqPath); err != nil {
		t.Fatal(err)
	}
	fromPQ := must(OpenFile(ctx, FileConfig{Path: pqPath, Preset: PresetNative}, Reject, nil))
	defer fromPQ.Close()
	assertSameQuotes(t, want, gen.Contracts(), drain(t, fromPQ), fromPQ.Contracts())

	// The same Parquet file through a custom mapping (no footer table: the ENUM path).
	pqCustom := must(OpenFile(ctx, FileConfig{Path: pqPath, Format: FormatParquet, Columns: map[string]string{
		"time": "time", "symbol": "symbol", "bid": "bid", "ask": "ask", "underlying_price": "underlying_price",
		"iv": "iv", "delta": "delta", "gamma": "gamma", "vega": "vega", "theta": "theta"}}, Reject, nil))
	defer pqCustom.Close()
	assertSameQuotes(t, want, gen.Contracts(), drain(t, pqCustom), pqCustom.Contracts())

	// A hand-made Delta table: one commit adding the Parquet file, read through a lister that
	// replays the log's add actions (the lake package plays this part in the program).
	table := filepath.Join(dir, "table")
	os.MkdirAll(filepath.Join(table, "_delta_log"), 0o755)
	data, _ := os.ReadFile(pqPath)
	os.WriteFile(filepath.Join(table, "part-00000.parquet"), data, 0o644)
	commit := `{"protocol":{"minReaderVersion":1,"minWriterVersion":2}}
{"metaData":{"id":"t","format":{"provider":"parquet","options":{}},"schemaString":"{}","partitionColumns":[],"configuration":{},"createdTime":0}}
{"add":{"path":"part-00000.parquet","partitionValues":{},"size":` + strconv.Itoa(len(data)) + `,"modificationTime":0,"dataChange":true}}
`
	os.WriteFile(filepath.Join(table, "_delta_log", "00000000000000000000.json"), []byte(commit), 0o644)
	fromDelta, err := OpenFile(ctx, FileConfig{Path: table, Preset: PresetNative}, Reject, testLister)
	if err != nil {
		t.Fatal(err)
	}
	defer fromDelta.Close()
	assertSameQuotes(t, want, gen.Contracts(), drain(t, fromDelta), fromDelta.Contracts())

	if _, err := OpenFile(ctx, FileConfig{Path: table, Format: FormatDelta, Preset: PresetNative}, Reject, nil); err == nil {
		t.Fatal("delta without a lister must fail")
	}
}

// testLister replays the adds and removes of a table's JSON commits (no checkpoints).
func testLister(dir string) ([]string, error) {
	logs, err := filepath.Glob(filepath.Join(dir, "_delta_log", "*.json"))
	if err != nil {
		return nil, err
	}
	var active []string
	for _, l := range logs {
		data, err := os.ReadFile(l)
		if err != nil {
			return nil, err
		}
		for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			var a struct {
				Add    *struct{ Path string } `json:"add"`
				Remove *struct{ Path string } `json:"remove"`
			}
			if err := json.Unmarshal([]byte(line), &a); err != nil {
				return nil, err
			}
			if a.Add != nil {
				active = append(active, a.Add.Path)
			}
			if a.Remove != nil {
				for i, p := range active {
					if p == a.Remove.Path {
						active = append(active[:i], active[i+1:]...)
						break
					}
				}
			}
		}
	}
	return active, nil
}

func TestRejectNamesFileRowColumn(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	p := filepath.Join(dir, "bad.csv")
	good := "2020-03-09 14:00:00,SPY200320P00250000,2.5,2.6,270,0.5,-0.2,0.01,0.2,-0.1\n"
	body := "t,s,b,a,u,iv,d,g,v,th\n" + good +
		strings.Replace(good, "14:00", "14:01", 1) +
		strings.Replace(strings.Replace(good, "14:00", "14:02", 1), ",2.5,", ",abc,", 1)
	os.WriteFile(p, []byte(body), 0o644)
	cols := map[string]string{"time": "t", "symbol": "s", "bid": "b", "ask": "a", "underlying_price": "u", "iv": "iv", "delta": "d", "gamma": "g", "vega": "v", "theta": "th"}
	src := must(OpenFile(ctx, FileConfig{Path: p, Columns: cols}, Reject, nil))
	defer src.Close()
	_, err := src.Next(ctx)
	var re *RowError
	if !errors.As(err, &re) || re.File != p || re.Row != 3 || re.Column != "b" || re.Kind != KindMalformed || !strings.Contains(err.Error(), `"abc"`) {
		t.Fatalf("got %v", err)
	}
	// Each kind, under reject and skip.
	cases := []struct {
		kind QualityKind
		col  string
		row  string
	}{
		{KindNaN, "iv", strings.Replace(good, ",0.5,", ",NaN,", 1)},
		{KindNonpositive, "a", strings.Replace(good, ",2.6,", ",-1,", 1)},
		{KindZeroBid, "b", strings.Replace(good, ",2.5,", ",0,", 1)},
		{KindCrossed, "b", strings.Replace(good, ",2.5,", ",2.7,", 1)},
		{KindGreeksOutOfRange, "d", strings.Replace(good, ",-0.2,", ",-1.2,", 1)},
		{KindGreeksOutOfRange, "g", strings.Replace(good, ",0.01,", ",-0.01,", 1)},
		{KindDuplicate, "t", good},
		{KindMalformed, "s", strings.Replace(good, "SPY200320P00250000", "", 1)},
	}
	for _, c := range cases {
		os.WriteFile(p, []byte("t,s,b,a,u,iv,d,g,v,th\n"+good+c.row+strings.Replace(good, "14:00", "15:00", 1)), 0o644)
		src := must(OpenFile(ctx, FileConfig{Path: p, Columns: cols}, Reject, nil))
		_, err := src.Next(ctx)
		src.Close()
		if !errors.As(err, &re) || re.Row != 2 || re.Column != c.col || re.Kind != c.kind {
			t.Errorf("%s: got %v", c.kind, err)
		}
		src = must(OpenFile(ctx, FileConfig{Path: p, Columns: cols}, Skip, nil))
		qs := drain(t, src)
		if len(qs) != 2 || src.Quality()[c.kind] != 1 || src.Quality().Total() != 1 {
			t.Errorf("%s skip: %d quotes, quality %v", c.kind, len(qs), src.Quality())
		}
		src.Close()
	}
}

func TestOpenFileConfigErrors(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		cfg   FileConfig
		field string
	}{
		{FileConfig{}, "path"},
		{FileConfig{Path: "x.csv", Format: "xls"}, "format"},
		{FileConfig{Path: "x.csv", Preset: "ivolatility"}, "preset"},
		{FileConfig{Path: "x.csv"}, "columns.time"},
		{FileConfig{Path: "x.csv", Columns: map[string]string{"time": "t", "bid": "b", "ask": "a", "underlying_price": "u"}}, "columns.underlying"},
		{FileConfig{Path: "x.csv", Preset: "native", Columns: map[string]string{"colour": "c"}}, "columns.colour"},
		{FileConfig{Path: "x.csv", Preset: "native", Timezone: "Nowhere/Town"}, "timezone"},
		{FileConfig{Path: "x.csv", Preset: "native", Multiplier: -5}, "multiplier"},
	} {
		_, err := OpenFile(ctx, c.cfg, Skip, nil)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != c.field {
			t.Errorf("%+v: want error on %s, got %v", c.cfg, c.field, err)
		}
	}
	if _, err := OpenFile(ctx, FileConfig{Path: "testdata/nothing-*.csv", Preset: "deltaneutral"}, Skip, nil); !errors.Is(err, ErrNoFiles) {
		t.Errorf("got %v", err)
	}
	if err := DataQuality("lenient").Validate(); err == nil {
		t.Error("unknown policy accepted")
	}
}

// A glob reads files in lexical order, and contracts keep their IDs across files.
func TestGlobOrder(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg := smallSynth()
	var all []Quote
	gen := must(NewSynthetic(cfg, 5))
	all = drain(t, gen)
	half := len(all) / 2
	for all[half].Time == all[half-1].Time {
		half++
	}
	writeCustomCSV(t, filepath.Join(dir, "a.csv"), all[:half], gen.Contracts())
	writeCustomCSV(t, filepath.Join(dir, "b.csv"), all[half:], gen.Contracts())
	src := must(OpenFile(ctx, FileConfig{Path: filepath.Join(dir, "*.csv"), Columns: customColumns}, Reject, nil))
	defer src.Close()
	got := drain(t, src)
	if len(got) != len(all) {
		t.Fatalf("%d quotes, want %d", len(got), len(all))
	}
	for i := range got {
		if got[i].Time != all[i].Time || src.Contracts().Get(got[i].Contract).Symbol != gen.Contracts().Get(all[i].Contract).Symbol {
			t.Fatalf("quote %d differs", i)
		}
	}
	if _, err := src.Next(ctx); err != io.EOF {
		t.Fatalf("after end: %v", err)
	}
}
