package feeds

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
)

// corpusDir holds small malformed and awkward files; corpusBinary writes the binary ones
// (compressed, UTF-16, Windows-1252, NUL, very long lines) so none is kept in the repository.
const corpusDir = "testdata/corpus"

func corpusBinary(t testing.TB, dir string) {
	good, err := os.ReadFile(filepath.Join(corpusDir, "dn_good.csv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(good), "\n")
	put := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(good)
	zw.Close()
	put("dn_good.csv.gz", gz.Bytes())
	put("dn_gzip_named.csv", gz.Bytes()) // told by magic bytes, not the name
	put("dn_cut.csv.gz", gz.Bytes()[:gz.Len()/2])
	enc, _ := zstd.NewWriter(nil)
	put("dn_good.csv.zst", enc.EncodeAll(good, nil))
	enc.Close()
	u16 := func(s string, le, bom bool) []byte {
		var b []byte
		if bom {
			if le {
				b = append(b, 0xff, 0xfe)
			} else {
				b = append(b, 0xfe, 0xff)
			}
		}
		for _, r := range s {
			if le {
				b = append(b, byte(r), byte(r>>8))
			} else {
				b = append(b, byte(r>>8), byte(r))
			}
		}
		return b
	}
	put("dn_utf16le.csv", u16(string(good), true, true))
	put("dn_utf16be_nobom.csv", u16(string(good), false, false))
	// A Windows-1252 byte (0x92, a curly apostrophe) in an unused column, far down the file.
	var b strings.Builder
	b.WriteString(lines[0])
	day := time.Date(2020, 1, 2, 0, 0, 0, 0, time.UTC)
	for i := range 2500 {
		d := day.AddDate(0, 0, i).Format("01/02/2006")
		b.WriteString(strings.Replace(lines[1], "03/16/2020", d, 1))
	}
	late := b.String() + strings.Replace(strings.Replace(lines[1], "03/16/2020", "01/01/2030", 1), ",x\n", ",Sam\x92s\n", 1)
	put("dn_win1252_late.csv", []byte(late))
	put("dn_win1252_early.csv", []byte(lines[0]+strings.Replace(lines[1], ",x\n", ",caf\xe9\n", 1)+lines[2]))
	put("dn_nul_line.csv", []byte(lines[0]+lines[1]+"\x00\x00\x00\x00\n"+lines[2]))
	put("dn_long_line.csv", []byte(lines[0]+lines[1]+strings.Repeat("9", maxCSVLineBytes+10)+"\n"+lines[2]))
	put("dn_zip.csv", append([]byte("PK\x03\x04"), good...))
	put("dn_cut.parquet", []byte("PAR1\x15\x04\x15\x10\x15"))
}

type corpusOutcome struct {
	reject string // substrings of the error under reject ("" = no error), separated by |
	skip   string // "quotes=N counts" or substrings of the error
}

// Every corpus file's outcome under reject and skip: an error naming file:line (and the
// column when there is one), or counted skips. Never a panic, a hang or the engine's words.
var corpusWant = map[string]corpusOutcome{
	"custom_bad_symbol.csv":     {`custom_bad_symbol.csv:3:2:|column "sym"|not an OCC symbol|found "NOT-A-SYMBOL"`, "quotes=1 malformed=1"},
	"custom_bad_time.csv":       {`custom_bad_time.csv:3:1:|column "ts"|want an ISO time|found "yesterday"`, "quotes=1 malformed=1"},
	"custom_epoch_ns.csv":       {"", "quotes=2 none"},
	"dn_all_zero_bid.csv":       {`dn_all_zero_bid.csv:2:11:|zero_bid`, `all 4 rows were skipped: 4 zero_bid bid|nobody bidding`},
	"dn_bad_expiry.csv":         {`dn_bad_expiry.csv:3:7:|column "expiration"|want a date in the format %m/%d/%Y|found "13/45/2020"`, "quotes=3 malformed=1"},
	"dn_bad_number.csv":         {`dn_bad_number.csv:3:11:|column "bid"|want a number|found "abc"`, "quotes=3 malformed=1"},
	"dn_bad_root.csv":           {`dn_bad_root.csv:3:4:|column "optionroot"|found "??weird??"`, "quotes=3 malformed=1"},
	"dn_bad_type.csv":           {`dn_bad_type.csv:3:6:|column "type"|want C, P, call or put|found "X"`, "quotes=3 malformed=1"},
	"dn_blank_lines.csv":        {`dn_blank_lines.csv:8:11:|found "abc"`, "quotes=3 malformed=1"},
	"dn_bom.csv":                {"", "quotes=4 none"},
	"dn_conflicting_rows.csv":   {`dn_conflicting_rows.csv:5:7:|expires 2020-03-20, the column says 2020-03-27`, "quotes=3 malformed=1"},
	"dn_cr_only.csv":            {"", "quotes=4 none"},
	"dn_crlf.csv":               {"", "quotes=4 none"},
	"dn_crossed.csv":            {`dn_crossed.csv:3:11:|crossed|bid 73 > ask 72`, "quotes=3 crossed=1"},
	"dn_cut.csv.gz":             {`dn_cut.csv.gz|damaged or cut short`, `dn_cut.csv.gz|damaged or cut short`},
	"dn_cut.parquet":            {`dn_cut.parquet|not a Parquet file`, `dn_cut.parquet|not a Parquet file`},
	"dn_delta_out_of_range.csv": {`dn_delta_out_of_range.csv:3:16:|greeks_out_of_range|found 1.4321`, "quotes=3 greeks_out_of_range=1"},
	"dn_duplicate_header.csv":   {`dn_duplicate_header.csv:1:|column "bid" appears twice`, `dn_duplicate_header.csv:1:|appears twice`},
	"dn_duplicate_rows.csv":     {`dn_duplicate_rows.csv:3:8:|duplicate`, "quotes=4 duplicate=1"},
	"dn_empty.csv":              {`dn_empty.csv:1:|the file is empty`, `dn_empty.csv:1:|the file is empty`},
	"dn_empty_header_name.csv":  {`dn_empty_header_name.csv:1:|column 20 has no name`, `column 20 has no name`},
	"dn_extra_column.csv":       {"", "quotes=4 none"},
	"dn_garbage_line.csv":       {`dn_garbage_line.csv:4:|malformed|want 20 fields like the header, found 6`, "quotes=4 malformed=1"},
	"dn_good.csv":               {"", "quotes=4 none"},
	"dn_good.csv.gz":            {"", "quotes=4 none"},
	"dn_good.csv.zst":           {"", "quotes=4 none"},
	"dn_gzip_named.csv":         {"", "quotes=4 none"},
	"dn_header_only.csv":        {`dn_header_only.csv|a header line and no data rows`, `a header line and no data rows`},
	"dn_iso_dates.csv":          {`dn_iso_dates.csv:2:8:|column "quotedate"|found "2020-03-16"`, `all 4 rows were skipped: 4 malformed quotedate|look like "2020-03-16" (ISO dates)|time_format`},
	"dn_long_line.csv":          {`dn_long_line.csv:3:|longer than`, "quotes=2 malformed=1"},
	"dn_missing_column.csv":     {`dn_missing_column.csv:1:|needs column "bid"`, `needs column "bid"`},
	"dn_missing_strike.csv":     {`dn_missing_strike.csv:3:9:|column "strike"|found nothing`, "quotes=3 malformed=1"},
	"dn_mixed_endings.csv":      {"", "quotes=4 none"},
	"dn_nan_iv.csv":             {`dn_nan_iv.csv:3:15:|nan`, "quotes=3 nan=1"},
	"dn_negative_ask.csv":       {`dn_negative_ask.csv:3:12:|nonpositive_price`, "quotes=3 nonpositive_price=1"},
	"dn_nul_line.csv":           {`dn_nul_line.csv:3:|NUL`, "quotes=2 malformed=1"},
	"dn_quoted_fields.csv":      {"", "quotes=4 none"},
	"dn_reordered_columns.csv":  {"", "quotes=4 none"},
	"dn_semicolon.csv":          {`dn_semicolon.csv:1:|semicolons`, `semicolons`},
	"dn_sorted_by_contract.csv": {"", "quotes=4 none"}, // sorted into time order (plan.go)
	"dn_stray_quote.csv":        {`dn_stray_quote.csv:3:6:|a quote inside an unquoted field`, "quotes=3 malformed=1"},
	"dn_tab.csv":                {`dn_tab.csv:1:|tabs`, `tabs`},
	"dn_thousands.csv":          {`dn_thousands.csv:2:9:|column "strike"|found "2,400.00"`, `all 4 rows were skipped: 4 malformed strike|"2,400.00"|thousands separator`},
	"dn_trailing_comma.csv":     {`dn_trailing_comma.csv:2:|found 21`, `all 4 rows were skipped: 4 malformed lines|found 21`},
	"dn_truncated.csv":          {`dn_truncated.csv:5:|found 7|truncated`, "quotes=3 malformed=1"},
	"dn_unterminated_quote.csv": {`dn_unterminated_quote.csv:3:6:|never closed`, "quotes=3 malformed=1"},
	"dn_utf16be_nobom.csv":      {`dn_utf16be_nobom.csv|UTF-16BE|convert to UTF-8`, `UTF-16BE|convert to UTF-8`},
	"dn_utf16le.csv":            {`dn_utf16le.csv|UTF-16LE|convert to UTF-8`, `UTF-16LE|convert to UTF-8`},
	"dn_whitespace_line.csv":    {`dn_whitespace_line.csv:3:|found 1`, "quotes=4 malformed=1"},
	"dn_win1252_late.csv":       {`dn_win1252_late.csv:2502:|column "optionalias"|Windows-1252|convert the file to UTF-8`, `dn_win1252_late.csv:2502:|Windows-1252`},
	"dn_win1252_early.csv":      {`dn_win1252_early.csv:2:|column "optionalias"|Windows-1252 or ISO-8859-1|convert the file to UTF-8`, `dn_win1252_early.csv:2:|convert the file to UTF-8`},
	"dn_wrong_date_order.csv":   {`dn_wrong_date_order.csv:3:8:|found "16/03/2020"`, "quotes=3 malformed=1"},
	"dn_zero_bid.csv":           {`dn_zero_bid.csv:3:11:|zero_bid`, "quotes=3 zero_bid=1"},
	"dn_zip.csv":                {`dn_zip.csv|zip archive`, `zip archive`},
	"not_csv_credentials.csv":   {`not_csv_credentials.csv:1:|does not look like a CSV data file`, `does not look like a CSV data file`},
	"not_csv_passwd.csv":        {`not_csv_passwd.csv:1:|does not look like a CSV data file`, `does not look like a CSV data file`},
	"not_parquet.parquet":       {`not_parquet.parquet|not a Parquet file`, `not a Parquet file`},
}

func corpusConfig(dir, name string) FileConfig {
	p := filepath.Join(dir, name)
	if strings.HasPrefix(name, "custom_") {
		return FileConfig{Path: p, Columns: map[string]string{"time": "ts", "symbol": "sym", "bid": "b", "ask": "a", "underlying_price": "u"}, Timezone: "America/New_York"}
	}
	return FileConfig{Path: p, Preset: PresetDeltaNeutral}
}

// corpusRun reads a corpus file to the end (bounded) and describes the outcome.
func corpusRun(t testing.TB, cfg FileConfig, dq DataQuality) string {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	src, err := OpenFile(ctx, cfg, dq, nil)
	if err != nil {
		return "error: " + err.Error()
	}
	defer src.Close()
	n := 0
	for range 10000 {
		b, err := src.Next(ctx)
		if errors.Is(err, io.EOF) {
			return fmt.Sprintf("quotes=%d %s", n, src.Quality())
		}
		if err != nil {
			return "error: " + err.Error()
		}
		n += len(b.Quotes)
	}
	t.Fatalf("%s: no end after 10000 batches", cfg.Path)
	return ""
}

func corpusFiles(t testing.TB) (string, []string) {
	dir := t.TempDir()
	ents, err := os.ReadDir(corpusDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, _ := os.ReadFile(filepath.Join(corpusDir, e.Name()))
		os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644)
	}
	corpusBinary(t, dir)
	ents, _ = os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	slices.Sort(names)
	return dir, names
}

// The engine's words and file content that must never reach the user.
var leaks = []string{"duckdb", "DuckDB", "Parser", "sniff", "Sniff", "Invalid Input", "Error:", "AKIA", "root:x", "/bin/bash", "state machine"}

func TestCorpus(t *testing.T) {
	dir, names := corpusFiles(t)
	if len(names) < 40 {
		t.Fatalf("corpus has %d files, want at least 40", len(names))
	}
	for _, n := range names {
		want, ok := corpusWant[n]
		if !ok {
			t.Errorf("%s: no expected outcome in corpusWant", n)
			continue
		}
		cfg := corpusConfig(dir, n)
		for _, c := range []struct {
			dq   DataQuality
			want string
		}{{Reject, want.reject}, {Skip, want.skip}} {
			got := strings.ReplaceAll(corpusRun(t, cfg, c.dq), dir+string(filepath.Separator), "")
			for _, l := range leaks {
				if strings.Contains(got, l) {
					t.Errorf("%s %s: %q leaks %q", n, c.dq, got, l)
				}
			}
			switch {
			case c.want == "":
				if !strings.HasPrefix(got, "quotes=") {
					t.Errorf("%s %s: got %q, want quotes", n, c.dq, got)
				}
			case strings.HasPrefix(c.want, "quotes="):
				if got != c.want {
					t.Errorf("%s %s: got %q, want %q", n, c.dq, got, c.want)
				}
			default:
				if !strings.HasPrefix(got, "error: feeds: ") {
					t.Errorf("%s %s: got %q, want an error", n, c.dq, got)
				}
				for _, sub := range strings.Split(c.want, "|") {
					if !strings.Contains(got, sub) {
						t.Errorf("%s %s: %q lacks %q", n, c.dq, got, sub)
					}
				}
			}
		}
	}
}
