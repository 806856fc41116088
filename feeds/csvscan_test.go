package feeds

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// The scanner splits on LF, CRLF and lone CR alike, whatever the read sizes (a CR at the end
// of a read must wait for the next byte), and counts physical lines.
func TestScannerLineEnds(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 200 {
		var src []byte
		var want []string
		n := rng.IntN(20)
		noEnd, prevCR := false, false
		for i := range n {
			line := strings.Repeat(string(rune('a'+i%26)), rng.IntN(5))
			if prevCR && line == "" {
				line = "z" // a lone CR then an empty LF line is a CRLF
			}
			prevCR = false
			want = append(want, line)
			src = append(src, line...)
			switch e := rng.IntN(3); {
			case i == n-1 && rng.IntN(2) == 0: // no final line end
				noEnd = true
			case e == 0:
				src = append(src, '\n')
			case e == 1:
				src = append(src, '\r', '\n')
			default:
				src = append(src, '\r')
				prevCR = true
			}
		}
		if noEnd && want[n-1] == "" {
			want = want[:n-1] // an empty last line without an end is no line
		}
		for _, r := range []func([]byte) *scanner{
			func(b []byte) *scanner { return newScanner(bytes.NewReader(b), "x") },
			func(b []byte) *scanner { return newScanner(iotest.OneByteReader(bytes.NewReader(b)), "x") },
		} {
			s := r(src)
			var got []string
			for {
				l, ok, err := s.nextLine()
				if err != nil {
					t.Fatal(err)
				}
				if !ok {
					break
				}
				got = append(got, string(l))
			}
			if fmt.Sprint(got) != fmt.Sprint(want) || s.line != int64(len(want)) {
				t.Fatalf("trial %d %q: got %q (line %d), want %q", trial, src, got, s.line, want)
			}
		}
	}
}

// A line longer than the bound is reported as one long line, and the scan goes on after it.
func TestScannerLongLine(t *testing.T) {
	src := "a\n" + strings.Repeat("x", 3*maxCSVLineBytes) + "\nb\n"
	s := newScanner(iotest.HalfReader(strings.NewReader(src)), "x")
	var got []string
	var long []bool
	for {
		l, ok, err := s.nextLine()
		if err != nil || !ok {
			break
		}
		got, long = append(got, string(l)), append(long, s.long)
	}
	if fmt.Sprint(got) != "[a  b]" || fmt.Sprint(long) != "[false true false]" {
		t.Fatalf("got %q %v", got, long)
	}
}

func TestLineMap(t *testing.T) {
	var m lineMap
	// rows 1-3 on lines 2-4, rows 4-5 on lines 7-8 (two blank lines), row 6 on line 10.
	for _, rl := range [][2]int64{{1, 2}, {2, 3}, {3, 4}, {4, 7}, {5, 8}, {6, 10}} {
		m.set(rl[0], rl[1])
	}
	for _, rl := range [][2]int64{{1, 2}, {2, 3}, {3, 4}, {4, 7}, {5, 8}, {6, 10}, {7, 11}} {
		if got := m.line(rl[0]); got != rl[1] {
			t.Errorf("row %d: line %d, want %d", rl[0], got, rl[1])
		}
	}
	if len(m.bps) != 3 {
		t.Errorf("%d breakpoints, want 3", len(m.bps))
	}
}

// Contracts built from OCC symbols keep their root after Arrow reuses the record's memory
// (main lost up to a quarter of such rows as "malformed", differently run to run).
func TestRootsSurviveArrowReuse(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("t,s,b,a,u,iv,d,g,v,th\n")
	base := time.Date(2020, 3, 9, 14, 0, 0, 0, time.UTC)
	for i := range 60000 {
		fmt.Fprintf(&b, "%s,SPY200320P00%d000,2.5,2.6,270,0.5,-0.2,0.01,0.2,-0.1\n", base.Add(time.Duration(i/10)*time.Second).Format("2006-01-02 15:04:05"), 240+i%10)
	}
	p := filepath.Join(dir, "big.csv")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cols := map[string]string{"time": "t", "symbol": "s", "bid": "b", "ask": "a", "underlying_price": "u", "iv": "iv", "delta": "d", "gamma": "g", "vega": "v", "theta": "th"}
	for range 2 {
		src, err := OpenFile(context.Background(), FileConfig{Path: p, Columns: cols}, Skip, nil)
		if err != nil {
			t.Fatal(err)
		}
		qs := drain(t, src)
		if len(qs) != 60000 || src.Quality().Total() != 0 {
			t.Errorf("%d quotes, skipped %v; want 60000 and none", len(qs), src.Quality())
		}
		src.Close()
	}
}

// A CSV that needs a normalized copy (here: a bad line) gets it in the
// source's DuckDB temp folder (a run's staging folder), made if missing,
// and Close removes it.
func TestNormalizedCopyInTempDir(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "quotes.csv")
	data, err := os.ReadFile("testdata/deltaneutral_quirks.csv")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append(data, "not,a,row\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	spill := filepath.Join(dir, "staging", ".duckdb-tmp") // not made yet
	src, err := OpenFileWith(context.Background(), FileConfig{Path: path, Preset: PresetDeltaNeutral}, Skip, nil, ReadOptions{TempDir: spill})
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := src.Next(context.Background()); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	fs := src.(*canonical).src.(*fileSource)
	if len(fs.tmps) != 1 || filepath.Dir(fs.tmps[0]) != spill {
		t.Fatalf("normalized copies %v, want one in %s", fs.tmps, spill)
	}
	copyPath := fs.tmps[0]
	if _, err := os.Stat(copyPath); err != nil {
		t.Fatalf("the normalized copy is not there while the source is open: %v", err)
	}
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(copyPath); !os.IsNotExist(err) {
		t.Fatalf("the normalized copy outlived Close: %v", err)
	}
}
