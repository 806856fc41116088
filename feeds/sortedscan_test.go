package feeds

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Files whose times overlap are read by one sorted query (plan.go), each through its own
// Go scan (csvscan.go): a gzip file named .csv, a file with CRLF ends, a blank line and a
// short line (a normalized copy). Under skip the scan's bad lines are counted; under reject
// errors name the file, the physical line and the column of the row at fault.
func TestOverlappingCSVFilesKeepTheScan(t *testing.T) {
	const header = "time,symbol,bid,ask,underlying_price"
	cols := map[string]string{"time": "time", "symbol": "symbol", "bid": "bid", "ask": "ask", "underlying_price": "underlying_price"}
	gz := func(s string) []byte {
		var b bytes.Buffer
		w := gzip.NewWriter(&b)
		w.Write([]byte(s))
		w.Close()
		return b.Bytes()
	}
	a := gz(header + "\n" +
		"2020-03-20 14:00:00,SPY200320P00240000,1,1.1,240\n" +
		"2020-03-20 15:00:00,SPY200320P00240000,1,1.1,240\n")
	cases := []struct {
		name    string
		b       string
		dq      DataQuality
		times   []string // skip: the quotes' times
		quality map[QualityKind]int64
		err     []string // reject: the error's parts
		line    int64
		row     int64
		column  string
	}{
		{
			name: "skip", dq: Skip,
			b: header + "\r\n" +
				"2020-03-20 14:30:00,SPY200320C00250000,1,1.1,240\r\n" +
				"2020-03-20 14:40:00,SPY200320C00250000,1\r\n" + // short: the scan's
				"2020-03-20 14:45:00,SPY200320C00250000,2,1.1,240\r\n", // crossed
			times:   []string{"14:00", "14:30", "15:00"},
			quality: map[QualityKind]int64{KindMalformed: 1, KindCrossed: 1},
		},
		{
			name: "reject the scan's line", dq: Reject,
			b: header + "\n" +
				"2020-03-20 14:30:00,SPY200320C00250000,1,1.1,240\n" +
				"2020-03-20 14:40:00,SPY200320C00250000,1\n",
			err: []string{"b.csv:3:", "want 5 fields"}, line: 3, row: 2,
		},
		{
			name: "reject a value", dq: Reject,
			b: header + "\r\n" +
				"2020-03-20 14:30:00,SPY200320C00250000,1,1.1,240\r\n" +
				"\r\n" + // blank: a normalized copy, lines shift
				"2020-03-20 14:45:00,SPY200320C00250000,2,1.1,240\r\n",
			err: []string{"b.csv:4:3:", `column "bid"`, "crossed"}, line: 4, row: 2, column: "bid",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "a.csv"), a, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "b.csv"), []byte(c.b), 0o644); err != nil {
				t.Fatal(err)
			}
			src := must(OpenFile(context.Background(), FileConfig{Path: filepath.Join(dir, "*.csv"), Columns: cols}, c.dq, nil))
			defer src.Close()
			if c.dq == Skip {
				var got []string
				for _, q := range drain(t, src) {
					got = append(got, MicrosTime(q.Time).Format("15:04"))
				}
				if strings.Join(got, " ") != strings.Join(c.times, " ") {
					t.Errorf("times %v, want %v", got, c.times)
				}
				qual := src.Quality()
				for k, n := range c.quality {
					if qual[k] != n {
						t.Errorf("quality %v, want %v", qual, c.quality)
					}
				}
				if qual.Total() != 2 {
					t.Errorf("quality %v, want %v", qual, c.quality)
				}
				return
			}
			var err error
			for err == nil {
				_, err = src.Next(context.Background())
			}
			var re *RowError
			if !errors.As(err, &re) || re.File != filepath.Join(dir, "b.csv") || re.Line != c.line || re.Row != c.row || re.Column != c.column {
				t.Fatalf("got %v (%+v), want b.csv line %d row %d column %q", err, re, c.line, c.row, c.column)
			}
			for _, part := range c.err {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("%q lacks %q", err, part)
				}
			}
		})
	}
}

// A sorted query numbers each file's rows with a streaming window (no materialized file):
// memory stays bounded by the sort's own limit.
func TestSortedQueryRowNumbersStream(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "q.csv")
	body := "time,symbol,bid,ask,underlying_price\n" +
		"2020-03-20 15:00:00,SPY200320P00240000,1,1.1,240\n" +
		"2020-03-20 14:00:00,SPY200320P00240000,1,1.1,240\n"
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	cols := map[string]string{"time": "time", "symbol": "symbol", "bid": "bid", "ask": "ask", "underlying_price": "underlying_price"}
	src := must(OpenFile(context.Background(), FileConfig{Path: p, Columns: cols}, Reject, nil))
	defer src.Close()
	fs := src.(*canonical).src.(*fileSource)
	cur := &fileCursor{file: p, files: []string{p}, sorted: true}
	q, err := fs.prepare(cur)
	if err != nil {
		t.Fatal(err)
	}
	var plan string
	rows, err := fs.conn.QueryContext(context.Background(), "EXPLAIN "+q.sql)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			t.Fatal(err)
		}
		plan += v
	}
	if !strings.Contains(plan, "STREAMING_WINDOW") {
		t.Fatalf("the row numbers are not a streaming window:\n%s", plan)
	}
}

// The sort's key puts dates (16:00 New York, either side of a DST change), instants and
// wall-clock times where the decoder puts them: a file in reverse order reads in time order.
func TestSortedKeyMatchesDecoder(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString(dnHeader)
	for i := len(dnRows) - 1; i >= 0; i-- {
		b.WriteString(dnRows[i].line())
	}
	p := writeFile(t, filepath.Join(dir, "dn.csv"), b.String())
	src := open(t, FileConfig{Path: p, Preset: PresetDeltaNeutral}, Reject)
	qs := drain(t, src)
	if len(qs) != len(dnRows) || src.Quality().Total() != 0 {
		t.Fatalf("%d quotes, quality %v", len(qs), src.Quality())
	}
	for i := 1; i < len(qs); i++ {
		if qs[i].Time < qs[i-1].Time {
			t.Fatalf("quote %d at %v before %v", i, MicrosTime(qs[i].Time), MicrosTime(qs[i-1].Time))
		}
	}

	// Text times: an instant (offset), a date alone and wall clock in New York, mixed.
	body := "time,symbol,bid,ask,underlying_price\n" +
		"2020-03-21 09:00:00,SPY200320P00240000,1,1.1,240\n" + // 13:00Z on the 21st
		"2020-03-20,SPY200320P00240000,1,1.1,240\n" + // 20:00Z (16:00 New York)
		"2020-03-20T19:00:00Z,SPY200320P00240000,1,1.1,240\n" + // 19:00Z
		"2020-03-20 17:00:00,SPY200320P00240000,1,1.1,240\n" // 21:00Z
	p2 := writeFile(t, filepath.Join(dir, "mixed.csv"), body)
	cols := map[string]string{"time": "time", "symbol": "symbol", "bid": "bid", "ask": "ask", "underlying_price": "underlying_price"}
	src2 := open(t, FileConfig{Path: p2, Columns: cols, Timezone: "America/New_York", Greeks: GreeksFile}, Reject)
	var got []string
	for _, q := range drain(t, src2) {
		got = append(got, MicrosTime(q.Time).Format("02 15:04"))
	}
	if want := "20 19:00 20 20:00 20 21:00 21 13:00"; strings.Join(got, " ") != want {
		t.Fatalf("times %v, want %s", got, want)
	}
}
