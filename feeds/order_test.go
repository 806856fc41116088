package feeds

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Canonical gives every arrangement of an instant's rows, in batches of any
// size, the same stream: symbol order within an instant and contract IDs in
// that order.
func TestCanonicalOrder(t *testing.T) {
	syms := []string{"SPY200320P00240000", "SPY200320C00240000", "SPY200417P00250000", "QQQ200320C00200000", "SPY200320P00235000"}
	var base []Quote
	for ti := range 6 {
		for k := range syms {
			if (ti+k)%4 == 3 {
				continue // not every contract at every instant
			}
			base = append(base, Quote{Time: int64(1000 + 60*ti), Contract: ContractID(k), Bid: float64(k) + 0.1*float64(ti), Ask: 9})
		}
	}
	// The expected stream: by time, then symbol; IDs by first appearance.
	want := slices.Clone(base)
	slices.SortStableFunc(want, func(a, b Quote) int {
		if a.Time != b.Time {
			return int(a.Time - b.Time)
		}
		return strings.Compare(syms[a.Contract], syms[b.Contract])
	})
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 40 {
		rows := slices.Clone(base)
		// Shuffle within each instant only (the stream stays in time order).
		for i := 0; i < len(rows); {
			j := i
			for j < len(rows) && rows[j].Time == rows[i].Time {
				j++
			}
			g := rows[i:j]
			rng.Shuffle(len(g), func(a, b int) { g[a], g[b] = g[b], g[a] })
			i = j
		}
		src := Canonical(newSliceSource(1+trial%7, syms, rows))
		got := drain(t, src)
		if len(got) != len(want) {
			t.Fatalf("trial %d: %d quotes, want %d", trial, len(got), len(want))
		}
		ids := map[string]ContractID{}
		for i := range got {
			sym := src.Contracts().Get(got[i].Contract).Symbol
			if got[i].Time != want[i].Time || sym != syms[want[i].Contract] || got[i].Bid != want[i].Bid {
				t.Fatalf("trial %d: quote %d is %s at %d, want %s at %d", trial, i, sym, got[i].Time, syms[want[i].Contract], want[i].Time)
			}
			if _, ok := ids[sym]; !ok {
				ids[sym] = ContractID(len(ids))
			}
			if ids[sym] != got[i].Contract {
				t.Fatalf("trial %d: %s has ID %d, want %d (first appearance in canonical order)", trial, sym, got[i].Contract, ids[sym])
			}
		}
		if src.Quality()[KindZeroBid] != 1 {
			t.Fatalf("quality not passed through: %v", src.Quality())
		}
	}
}

// CSV files whose times overlap (every other instant in each) are read
// together, sorted: the glob gives the generator's stream.
func TestOverlappingCSVFilesAreMerged(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg := smallSynth()
	cfg.Days = cfg.Days[:2]
	gen := must(NewSynthetic(cfg, 4))
	all := drain(t, gen)
	var a, b []Quote
	inst := 0
	for i, q := range all {
		if i > 0 && q.Time != all[i-1].Time {
			inst++
		}
		if inst%2 == 0 {
			a = append(a, q)
		} else {
			b = append(b, q)
		}
	}
	// b's rows also reversed: a file out of order within itself.
	slices.Reverse(b)
	writeCustomCSV(t, filepath.Join(dir, "a.csv"), a, gen.Contracts())
	writeCustomCSV(t, filepath.Join(dir, "b.csv"), b, gen.Contracts())
	src := must(OpenFile(ctx, FileConfig{Path: filepath.Join(dir, "*.csv"), Columns: customColumns}, Reject, nil))
	defer src.Close()
	assertSameQuotes(t, all, gen.Contracts(), drain(t, src), src.Contracts())
	if q := src.Quality(); q.Total() != 0 {
		t.Errorf("quality %v, want none", q)
	}
}

// A bad row of a file read sorted is still reported under reject, at its
// place in the file: row, physical line and column.
func TestRejectInSortedFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "q.csv")
	body := "time,symbol,bid,ask,underlying_price\n" +
		"2020-03-20 15:00:00,SPY200320P00240000,1,1.1,240\n" +
		"2020-03-20 14:00:00,SPY200320P00240000,1,1.1,240\n" +
		"2020-03-20 14:30:00,SPY200320P00240000,2,1.1,240\n" // crossed
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	cols := map[string]string{"time": "time", "symbol": "symbol", "bid": "bid", "ask": "ask", "underlying_price": "underlying_price"}
	src := must(OpenFile(context.Background(), FileConfig{Path: p, Columns: cols}, Reject, nil))
	defer src.Close()
	_, err := src.Next(context.Background())
	var re *RowError
	if !errors.As(err, &re) || re.Kind != KindCrossed || re.Row != 3 || re.Line != 4 || re.Column != "bid" || !strings.Contains(err.Error(), "q.csv:4:3:") {
		t.Fatalf("got %v, want a crossed error at row 3, q.csv:4:3 (bid)", err)
	}
	src2 := must(OpenFile(context.Background(), FileConfig{Path: p, Columns: cols}, Skip, nil))
	defer src2.Close()
	if qs := drain(t, src2); len(qs) != 2 || qs[0].Time > qs[1].Time || src2.Quality()[KindCrossed] != 1 {
		t.Fatalf("skip: %d quotes, quality %v", len(qs), src2.Quality())
	}
}
