package feeds

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"testing"
	"time"
)

// retireCSVFeed writes a CSV of weekly expiries (valid OCC symbols, so the
// generic path accepts them): 300 contracts a week, each quoted on the five
// sessions before its expiry, for 14 weeks; no late quote.
func retireCSVFeed(t *testing.T) string {
	t.Helper()
	cs := NewContracts()
	var qs []Quote
	weeklyChain(cs, 14, occPut, func(_, _, _ int, q Quote) {
		q.Vega, q.Theta = 0.1, -0.01
		qs = append(qs, q)
	})
	path := filepath.Join(t.TempDir(), "q.csv")
	writeCustomCSV(t, path, qs, cs)
	return path
}

// flatSessions is n trading sessions from 2021-01-04 at a flat 300.
func flatSessions(n int) []DayBar {
	var days []DayBar
	for d := time.Date(2021, 1, 4, 0, 0, 0, 0, time.UTC); len(days) < n; d = d.AddDate(0, 0, 1) {
		if IsTradingDay(d) {
			days = append(days, DayBar{Date: d.Format(time.DateOnly), Open: 300, High: 303, Low: 297, Close: 300, VIX: 20})
		}
	}
	return days
}

// drainPipeline reads src to the end through DecodeAhead, as a run does,
// and returns the reader's contract table.
func drainPipeline(t *testing.T, src Source) *Contracts {
	t.Helper()
	r := DecodeAhead(src)
	defer r.Close()
	for {
		_, err := r.Next(context.Background())
		if errors.Is(err, io.EOF) {
			return r.Contracts()
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// The file source retires its table and the raw columns it keeps per
// contract beside it (lastMeta on the generic path, with its own symbol and
// underlying strings), and the canonical order drops the symbols of the
// chunks the source retired. What stays per contract listed: the order
// check's last time (8 bytes), the canonical order's map (4 bytes).
func TestRetireReleasesPerIDState(t *testing.T) {
	src, err := OpenFile(context.Background(), FileConfig{Path: retireCSVFeed(t), Columns: customColumns}, Reject, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := src.(*canonical)
	fs := c.src.(*fileSource)
	drainPipeline(t, src)
	if retired(fs.contracts) < 3*ContractChunk {
		t.Fatalf("file source retired %d of %d: the test's premise fails", retired(fs.contracts), fs.contracts.Len())
	}
	var meta int
	for id := range fs.contracts.Len() {
		if fs.contracts.Get(ContractID(id)) != nil {
			continue
		}
		if id < len(fs.lastMeta) && fs.lastMeta[id] != (rowMeta{}) {
			meta++
		}
	}
	if meta > 0 {
		t.Errorf("of %d retired source contracts, fileSource.lastMeta still holds %d", retired(fs.contracts), meta)
	}
	var syms, held int
	for ch, chunk := range c.srcSym {
		if chunk == nil {
			continue
		}
		held++
		for k, sym := range chunk {
			if id := ContractID(ch*ContractChunk + k); sym != "" && fs.contracts.Get(id) == nil && int(id) < fs.contracts.Len()/ContractChunk*ContractChunk {
				syms++
			}
		}
	}
	if syms > 0 || held > len(c.srcSym)-retired(fs.contracts)/ContractChunk {
		t.Errorf("the canonical order holds %d chunks of %d, %d symbols of retired source contracts", held, len(c.srcSym), syms)
	}
}

// A synthetic feed's own table (under the canonical order) retires the
// contracts that expired a week ago, as the canonical's does.
func TestSyntheticTableRetired(t *testing.T) {
	cfg := smallSynth()
	cfg.Days = flatSessions(120)
	cfg.Every = 2 * time.Hour
	cfg.Strikes = StrikeConfig{AroundSpotPct: 10, Step: 1}
	cfg.Expiries = ExpiryConfig{Weekly: 2, Monthly: -1}
	src, err := NewSynthetic(cfg, 3)
	if err != nil {
		t.Fatal(err)
	}
	c := src.(*canonical)
	drainPipeline(t, src)
	syn := c.src.Contracts()
	t.Logf("synthetic: %d contracts, %d retired; canonical: %d, %d retired", syn.Len(), retired(syn), c.contracts.Len(), retired(c.contracts))
	if retired(c.contracts) == 0 {
		t.Fatalf("premise: the canonical table retired nothing")
	}
	if retired(syn) == 0 {
		t.Errorf("the synthetic source's table retired none of its %d contracts (the canonical's retired %d)", syn.Len(), retired(c.contracts))
	}
}

type idQuote struct {
	q   Quote
	sym string
}

func readIDs(t *testing.T, src Source) ([]idQuote, QualityCounts) {
	t.Helper()
	r := DecodeAhead(src)
	defer r.Close()
	var out []idQuote
	for {
		b, err := r.Next(context.Background())
		if errors.Is(err, io.EOF) {
			return out, r.Quality()
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range b.Quotes {
			out = append(out, idQuote{q, r.Contracts().Get(q.Contract).Symbol})
		}
	}
}

// A feed without late quotes gives the same quotes,
// contract IDs, symbols and quality counts with and without retiring, on
// the generic CSV path, the native path (v1 and v2 footers, Skip with bad
// rows), and a synthetic feed.
func TestRetireCleanFeedUnchanged(t *testing.T) {
	csv := retireCSVFeed(t)
	native := retireFeedNoLate(t)
	cfg := smallSynth()
	cases := map[string]func() Source{
		"csv": func() Source {
			return must(OpenFile(context.Background(), FileConfig{Path: csv, Columns: customColumns}, Skip, nil))
		},
		"native": func() Source {
			return must(OpenFile(context.Background(), FileConfig{Path: native, Preset: PresetNative}, Skip, nil))
		},
		"native-compute": func() Source {
			return must(OpenFile(context.Background(), FileConfig{Path: native, Preset: PresetNative, Greeks: GreeksCompute}, Skip, nil))
		},
		"synthetic": func() Source { return must(NewSynthetic(cfg, 5)) },
	}
	for name, open := range cases {
		retireOff = true
		want, wq := readIDs(t, open())
		retireOff = false
		got, gq := readIDs(t, open())
		if len(got) != len(want) {
			t.Fatalf("%s: %d quotes with retiring, %d without", name, len(got), len(want))
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%s: quote %d: %+v with retiring, %+v without", name, i, got[i], want[i])
			}
		}
		if fmt.Sprint(gq) != fmt.Sprint(wq) {
			t.Fatalf("%s: quality %v with retiring, %v without", name, gq, wq)
		}
		t.Logf("%s: %d quotes, quality %v", name, len(got), gq)
		if name == "native" && (gq[KindMalformed] != 15 || gq[KindNonpositive] != 5 || gq[KindCrossed] != 15 || gq[KindDuplicate] != 15 || len(got) != 22516-50) {
			t.Errorf("native: %d quotes, quality %v; want 22466 quotes, malformed 15 (5 redefined, 10 bad footer), nonpositive 5, crossed 15, duplicate 15", len(got), gq)
		}
	}
}

// retireFeedNoLate: three native files (v1, v2, v2) of weekly expiries
// with a few bad rows (a crossed quote, a duplicate), no late quote; the
// third file redefines one symbol of the second (its rows are bad: defined
// differently in an earlier file) while it is alive.
func retireFeedNoLate(t *testing.T) string {
	dir := t.TempDir()
	cs := NewContracts()
	var files [3][]Quote
	var redefined Contract
	weeklyChain(cs, 15, occPut, func(w, d, k int, q Quote) {
		f := min(w/6, 2)
		if k == 7 && d == 2 {
			q.Bid = 2 // crossed
		}
		files[f] = append(files[f], q)
		if k == 9 && d == 3 {
			files[f] = append(files[f], q) // duplicate
		}
		if w == 12 && d == 0 && k == 5 {
			redefined = *cs.Get(q.Contract)
		}
	})
	// The third file (weeks 12-14) redefines one contract of week 12 with
	// another multiplier, under a symbol the table already has: give it its
	// own table entry by a second Contracts for that file.
	cs3 := NewContracts()
	for i := range files[2] {
		c := *cs.Get(files[2][i].Contract)
		if c.Symbol == redefined.Symbol {
			c.Multiplier = 10
		}
		files[2][i].Contract = cs3.Intern(c)
	}
	// Quote the redefined contract once in file 1 too (its last instant),
	// so file 2's definition meets an earlier file's.
	lq := files[1][len(files[1])-1]
	lq.Contract = redefined.ID
	files[1] = append(files[1], lq)
	writeNativeRows(t, filepath.Join(dir, "part-0.parquet"), files[0], cs, 5000, true)
	writeNative(t, filepath.Join(dir, "part-1.parquet"), files[1], cs, 5000, true, func(table string) (string, string) {
		return nativeContractsKeyV1, table
	})
	writeNative(t, filepath.Join(dir, "part-2.parquet"), files[2], cs3, 5000, true, func(table string) (string, string) {
		var nc []NativeContract
		if err := json.Unmarshal([]byte(table), &nc); err != nil {
			t.Fatal(err)
		}
		nc[20].Right, nc[21].Symbol, nc[22].Multiplier = "X", "", 0 // bad footer entries: 5 rows each
		v, err := encodeContractTable(nc)
		if err != nil {
			t.Fatal(err)
		}
		return NativeContractsKey, v
	})
	return dir
}

// A late quote repeated at a file boundary (the same symbol and time at the
// end of one file and the start of the next) is a duplicate, with retiring
// as without: a late quote keeps its contract a week longer (Retire's
// lastSeen), so the second file's row finds the same ID.
func TestRetireLateDuplicateAcrossFiles(t *testing.T) {
	dir := t.TempDir()
	cs := NewContracts()
	var files [2][]Quote
	weeklyChain(cs, 10, retireContract, func(_, _, _ int, q Quote) { files[0] = append(files[0], q) })
	late, _ := cs.Lookup(retireContract(0, weekExpiry(0)).Symbol)
	tm := files[0][len(files[0])-1].Time
	lq := Quote{Time: tm, Contract: late, Bid: 0.05, Ask: 0.1, UnderlyingPrice: 100, IV: 0.2, Delta: -0.01, Gamma: 0.001}
	files[0] = append(files[0], lq)
	lq.Bid = 0.06
	files[1] = append(files[1], lq)
	for f, qs := range files {
		writeNativeRows(t, filepath.Join(dir, fmt.Sprintf("part-%d.parquet", f)), qs, cs, 5000, true)
	}
	open := func() Source {
		return must(OpenFile(context.Background(), FileConfig{Path: dir, Preset: PresetNative}, Skip, nil))
	}
	retireOff = true
	want, wq := readIDs(t, open())
	retireOff = false
	got, gq := readIDs(t, open())
	seen := map[string]bool{}
	for _, q := range got {
		if q.q.Time != tm {
			continue
		}
		if seen[q.sym] {
			t.Errorf("with retiring: two quotes of %s at %s (without: %d quotes, quality %v; with: %d, %v)",
				q.sym, MicrosTime(tm).Format(time.RFC3339), len(want), wq, len(got), gq)
		}
		seen[q.sym] = true
	}
}
