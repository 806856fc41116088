package main

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2"
)

// validate checks a file feed: exists, readable, the layout fits, the first rows parse; exit 2
// with file:line:column otherwise.
func TestValidateChecksTheFeed(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	scen := func(name, feed string) string {
		dq := "reject"
		if strings.HasPrefix(name, "every") {
			dq = "skip"
		}
		return write(name, "name: x\nperiod: {start: 2020-03-16, end: 2020-03-20}\nfeed:\n  data_quality: "+dq+"\n  file: "+feed+"\n")
	}
	good := write("dn.csv", dnHeader+dnRow(1, "58.1")+dnRow(2, "59.1"))
	unreadable := write("locked.csv", dnHeader+dnRow(1, "58.1"))
	os.Chmod(unreadable, 0)
	cboe := write("cboe.csv", "underlying_symbol,quote_datetime,root,expiration,strike,option_type,bid,ask\n^SPX,2020-03-16 09:31:00,SPXW,2020-03-20,2400,P,58.1,61.3\n")
	cases := []struct {
		name string
		feed string
		code int
		want []string
	}{
		{"good", "{path: " + good + ", preset: deltaneutral}", 0, []string{"ok", "feed: ok, first quotes at 2020-03-16T20:00:00Z"}},
		{"relative path", "{path: dn.csv, preset: deltaneutral}", 0, []string{"ok"}},
		{"missing file", "{path: " + filepath.Join(dir, "missing.csv") + ", preset: deltaneutral}", 2, []string{"missing.csv", "matches nothing"}},
		{"wrong layout", "{path: " + cboe + ", preset: deltaneutral}", 2, []string{"cboe.csv:1:", "deltaneutral preset needs columns"}},
		{"bad first row", "{path: " + write("bad.csv", dnHeader+dnRow(1, "cheap")) + ", preset: deltaneutral}", 2, []string{"bad.csv:2:11:", `column "bid"`, `found "cheap"`}},
		{"not a csv", "{path: " + write("x.csv", "\xff\xfeu\x00n\x00") + ", preset: deltaneutral}", 2, []string{"x.csv", "UTF-16LE", "convert to UTF-8"}},
		{"every row skipped", "{path: " + write("k.csv", dnHeader+strings.Replace(dnRow(1, "58.1"), ",2400,", `,"2,400.00",`, 1)+strings.Replace(dnRow(2, "58.1"), ",3400,", `,"3,400.00",`, 1)) + ", preset: deltaneutral}", 2, []string{"all 2 rows were skipped: 2 malformed strike", `"2,400.00"`, "thousands separator"}},
		{"wrong format", "{path: " + good + ", format: parquet, preset: deltaneutral}", 2, []string{"dn.csv", "not a Parquet file"}},
	}
	if os.Geteuid() != 0 { // root reads any file
		cases = append(cases, struct {
			name string
			feed string
			code int
			want []string
		}{"unreadable", "{path: " + unreadable + ", preset: deltaneutral}", 2, []string{"locked.csv", "permission denied"}})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := scen(strings.ReplaceAll(c.name, " ", "_")+".yaml", c.feed)
			code, stdout, stderr := cli(t, "validate", p)
			if code != c.code {
				t.Fatalf("exit %d, want %d; %s %s", code, c.code, stdout, stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(stdout+stderr, w) {
					t.Errorf("output lacks %q: %s%s", w, stdout, stderr)
				}
			}
			for _, leak := range []string{"duckdb", "DuckDB", "IO Error", "Parser"} {
				if strings.Contains(stdout+stderr, leak) {
					t.Errorf("output leaks %q: %s", leak, stderr)
				}
			}
		})
	}
	// deltaneutral as Parquet validates now.
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	pq := filepath.Join(dir, "dn_vendor.parquet")
	if _, err := db.Exec("COPY (SELECT * FROM read_csv('" + good + "', header=true)) TO '" + pq + "' (FORMAT parquet)"); err != nil {
		t.Fatal(err)
	}
	if code, stdout, stderr := cli(t, "validate", scen("pq.yaml", "{path: "+pq+", preset: deltaneutral}")); code != 0 || !strings.Contains(stdout, "feed: ok") {
		t.Errorf("deltaneutral Parquet: exit %d %s %s", code, stdout, stderr)
	}
	if code, _, stderr := cli(t, "data", "gen", scen("gen.yaml", "{path: "+good+", preset: deltaneutral}"), "-o", filepath.Join(dir, "dn.parquet")); code != 0 {
		t.Fatalf("data gen from a file feed: %s", stderr)
	}
}
