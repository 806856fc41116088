package feeds

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/duckdb/duckdb-go/v2"
)

// Text times: a UTC offset makes an instant; no offset is wall clock in the
// configured zone; a %z format reads every value as an instant.
func TestTextTimesWithAndWithoutOffsets(t *testing.T) {
	dir := t.TempDir()
	csv := filepath.Join(dir, "q.csv")
	body := "time,symbol,bid,ask,underlying_price\n" +
		"2020-03-20 09:45:00,SPY200320P00240000,1,1.1,240\n" + // wall clock, New York: 13:45Z
		"2020-03-20T10:00:00-04:00,SPY200320P00240000,1,1.1,240\n" + // 14:00Z
		"2020-03-20T14:30:00Z,SPY200320P00240000,1,1.1,240\n" + // 14:30Z
		"2020-03-20 11:00:00+0100,SPY200320P00240000,1,1.1,240\n" + // 10:00Z: sorted into place (plan.go)
		"2020-03-20 15:00:00,SPY200320P00240000,1,1.1,240\n" // 19:00Z
	if err := os.WriteFile(csv, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	cols := map[string]string{"time": "time", "symbol": "symbol", "bid": "bid", "ask": "ask", "underlying_price": "underlying_price"}
	src, err := OpenFile(context.Background(), FileConfig{Path: csv, Columns: cols, Timezone: "America/New_York"}, Skip, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var got []string
	for _, q := range drain(t, src) {
		got = append(got, MicrosTime(q.Time).Format("15:04"))
	}
	want := []string{"10:00", "13:45", "14:00", "14:30", "19:00"}
	if len(got) != len(want) {
		t.Fatalf("times %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("times %v, want %v", got, want)
		}
	}
	if n := src.Quality().Total(); n != 0 {
		t.Errorf("quality %v, want none (the +01:00 row is 10:00Z, sorted into place)", src.Quality())
	}

	// A %z format: instants, whatever the zone.
	csv2 := filepath.Join(dir, "z.csv")
	body = "time,symbol,bid,ask,underlying_price\n2020-03-08 01:30 -0500,SPY200320P00240000,1,1.1,240\n2020-03-08 03:30 -0400,SPY200320P00240000,1,1.1,240\n"
	if err := os.WriteFile(csv2, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	src2, err := OpenFile(context.Background(), FileConfig{Path: csv2, Columns: cols, Timezone: "America/New_York", TimeFormat: "%Y-%m-%d %H:%M %z"}, Reject, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer src2.Close()
	qs := drain(t, src2)
	if len(qs) != 2 || !MicrosTime(qs[0].Time).Equal(time.Date(2020, 3, 8, 6, 30, 0, 0, time.UTC)) || !MicrosTime(qs[1].Time).Equal(time.Date(2020, 3, 8, 7, 30, 0, 0, time.UTC)) {
		t.Fatalf("%%z times across the DST change: %v", qs)
	}
}

func TestFileNameAndPresetGuards(t *testing.T) {
	dir := t.TempDir()
	// q[1].csv exists, and so does q1.csv, which DuckDB would read instead.
	src, err := os.ReadFile("testdata/deltaneutral_quirks.csv")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"q[1].csv", "q1.csv"} {
		if err := os.WriteFile(filepath.Join(dir, n), src, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, err = OpenFile(context.Background(), FileConfig{Path: filepath.Join(dir, "q[[]1].csv"), Preset: PresetDeltaNeutral}, Skip, nil)
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "path" {
		t.Errorf("a file name with glob characters: %v, want a path FieldError", err)
	}
	_, err = OpenFile(context.Background(), FileConfig{Path: filepath.Join(dir, "q1.csv"), Preset: PresetDeltaNeutral, TimeFormat: "%m/%d/%Y %H:%M"}, Skip, nil)
	if !errors.As(err, &fe) || fe.Field != "time_format" {
		t.Errorf("deltaneutral with a time of day: %v, want a time_format FieldError", err)
	}
}

// A row whose OCC symbol contradicts its own columns is malformed, not a
// contract with a wrong name.
func TestSymbolMustAgreeWithColumns(t *testing.T) {
	dir := t.TempDir()
	head := "underlying,underlying_last, exchange,optionroot,optionext,type,expiration,quotedate,strike,last,bid,ask,volume,openinterest,impliedvol,delta,gamma,theta,vega,optionalias\n"
	row := func(root, typ, exp, strike string) string {
		return "SPY,240.1,*," + root + ",," + typ + "," + exp + ",03/16/2020," + strike + ",1,1.0,1.1,1,1,0.3,-0.3,0.01,-0.1,0.2,x\n"
	}
	body := head +
		row("SPY200320P00240000", "put", "03/20/2020", "240") + // agrees
		row("SPY200320P00245000", "call", "03/20/2020", "245") + // right disagrees
		row("SPY200320P00250000", "put", "03/27/2020", "250") + // expiry disagrees
		row("SPY200320P00255000", "put", "03/20/2020", "256") // strike disagrees
	p := filepath.Join(dir, "dn.csv")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	src, err := OpenFile(context.Background(), FileConfig{Path: p, Preset: PresetDeltaNeutral}, Skip, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	qs := drain(t, src)
	if len(qs) != 1 || src.Contracts().Get(qs[0].Contract).Symbol != "SPY200320P00240000" {
		t.Fatalf("%d quotes, want only the consistent row", len(qs))
	}
	if n := src.Quality()[KindMalformed]; n != 3 {
		t.Errorf("malformed %d, want 3", n)
	}
	rej, err := OpenFile(context.Background(), FileConfig{Path: p, Preset: PresetDeltaNeutral}, Reject, nil)
	if err == nil {
		defer rej.Close()
		for err == nil { // the first batch may hold the good row; the error follows
			_, err = rej.Next(context.Background())
		}
	}
	var re *RowError
	if !errors.As(err, &re) || re.Row != 2 || re.Column != "type" {
		t.Errorf("reject: %v, want row 2, column type", err)
	}
}

// An expiry stored as an instant at midnight UTC (how pandas writes dates)
// is that date's 16:00 New York, not 20:00 the evening before.
func TestExpiryInstantAtMidnightIsADate(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.parquet")
	db := openDuck(t)
	if _, err := db.Exec(`COPY (SELECT TIMESTAMPTZ '2020-03-20 14:00:00+00' AS time, 'SPY' AS underlying,
		TIMESTAMPTZ '2020-03-20 00:00:00+00' AS expiry, 240.0 AS strike, 'P' AS "right", 1.0 AS bid, 1.1 AS ask,
		240.0 AS underlying_price) TO '` + p + `' (FORMAT parquet)`); err != nil {
		t.Fatal(err)
	}
	cols := map[string]string{"time": "time", "underlying": "underlying", "expiry": "expiry", "strike": "strike",
		"right": "right", "bid": "bid", "ask": "ask", "underlying_price": "underlying_price"}
	src, err := OpenFile(context.Background(), FileConfig{Path: p, Columns: cols}, Reject, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	qs := drain(t, src)
	if len(qs) != 1 {
		t.Fatalf("%d quotes", len(qs))
	}
	k := src.Contracts().Get(qs[0].Contract)
	if !k.Expiry.Equal(ExpiryAt(2020, 3, 20)) || k.Symbol != "SPY200320P00240000" {
		t.Fatalf("contract %+v, want SPY200320P00240000 expiring 2020-03-20 16:00 New York", k)
	}
}

// One row with a missing strike is one malformed row, in Parquet as in CSV,
// not a second definition of its symbol that fails the file.
func TestMissingContractCellIsOneBadRow(t *testing.T) {
	dir := t.TempDir()
	db := openDuck(t)
	pq, csv := filepath.Join(dir, "x.parquet"), filepath.Join(dir, "x.csv")
	rows := `SELECT * FROM (VALUES
		(TIMESTAMPTZ '2020-03-16 14:00:00+00', 'SPY200320P00240000', 240.0, 1.0, 1.1, 240.0),
		(TIMESTAMPTZ '2020-03-16 14:05:00+00', 'SPY200320P00240000', NULL, 1.0, 1.1, 240.0),
		(TIMESTAMPTZ '2020-03-16 14:10:00+00', 'SPY200320P00240000', 240.0, 1.0, 1.1, 240.0),
		(TIMESTAMPTZ '2020-03-16 14:15:00+00', 'SPY200320C00250000', NULL, 1.0, 1.1, 240.0))
		AS t(time, symbol, strike, bid, ask, underlying_price)`
	for _, q := range []string{
		"COPY (" + rows + ") TO '" + pq + "' (FORMAT parquet)",
		"COPY (" + rows + ") TO '" + csv + "' (FORMAT csv, HEADER)",
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	cols := map[string]string{"time": "time", "symbol": "symbol", "strike": "strike", "bid": "bid", "ask": "ask", "underlying_price": "underlying_price"}
	for _, path := range []string{pq, csv} {
		src, err := OpenFile(context.Background(), FileConfig{Path: path, Columns: cols, Timezone: "UTC"}, Skip, nil)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		qs := drain(t, src)
		if len(qs) != 2 || src.Quality()[KindMalformed] != 2 {
			t.Errorf("%s: %d quotes, quality %v; want 2 quotes and 2 malformed rows", filepath.Base(path), len(qs), src.Quality())
		}
		src.Close()
	}
}

// A symbol defined again with other contract values (here the multiplier)
// is a malformed row, within a file and across files, CSV and Parquet.
func TestRedefinedSymbolIsNotSilent(t *testing.T) {
	dir := t.TempDir()
	db := openDuck(t)
	row := func(minute int, mult float64) string {
		return fmt.Sprintf("(TIMESTAMPTZ '2020-03-16 14:%02d:00+00', 'SPY200320P00240000', %g, 1.0, 1.1, 240.0)", minute, mult)
	}
	write := func(name string, format string, rows ...string) {
		q := fmt.Sprintf("COPY (SELECT * FROM (VALUES %s) AS t(time, symbol, multiplier, bid, ask, underlying_price)) TO '%s' (FORMAT %s%s)",
			strings.Join(rows, ", "), filepath.Join(dir, name), format, map[string]string{"csv": ", HEADER", "parquet": ""}[format])
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	write("one.csv", "csv", row(0, 100), row(5, 10), row(10, 100))
	write("a1.csv", "csv", row(0, 100))
	write("a2.csv", "csv", row(5, 10), row(10, 100))
	write("p1.parquet", "parquet", row(0, 100))
	write("p2.parquet", "parquet", row(5, 10))
	cols := map[string]string{"time": "time", "symbol": "symbol", "multiplier": "multiplier", "bid": "bid", "ask": "ask", "underlying_price": "underlying_price"}
	for _, c := range []struct {
		glob      string
		quotes    int
		malformed int64
	}{{"one.csv", 2, 1}, {"a?.csv", 2, 1}, {"p?.parquet", 1, 1}} {
		src, err := OpenFile(context.Background(), FileConfig{Path: filepath.Join(dir, c.glob), Columns: cols, Timezone: "UTC"}, Skip, nil)
		if err != nil {
			t.Fatalf("%s: %v", c.glob, err)
		}
		qs := drain(t, src)
		if len(qs) != c.quotes || src.Quality()[KindMalformed] != c.malformed {
			t.Errorf("%s: %d quotes, quality %v; want %d quotes, %d malformed", c.glob, len(qs), src.Quality(), c.quotes, c.malformed)
		}
		src.Close()
	}
}

// openDuck is an in-memory DuckDB for writing test files, closed with t.
func openDuck(t *testing.T) *sql.DB {
	t.Helper()
	c, err := duckdb.NewConnector("", nil)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(c)
	t.Cleanup(func() { db.Close() })
	return db
}
