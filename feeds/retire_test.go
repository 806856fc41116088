package feeds

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"testing"
	"time"
)

func retireContract(i int, expiry time.Time) Contract {
	return Contract{Symbol: fmt.Sprintf("SPY%sP%08d", expiry.Format("060102"), i), Underlying: "SPY", Expiry: expiry, Strike: float64(i + 1), Right: Put, Multiplier: 100}
}

// retired is the number of t's contracts retired so far.
func retired(t *Contracts) int {
	n := 0
	for _, ch := range t.chunks {
		if ch == nil {
			n += ContractChunk
		}
	}
	return n
}

func TestContractsRetire(t *testing.T) {
	day0 := time.Date(2020, 1, 3, 21, 0, 0, 0, time.UTC)
	day := func(d int) time.Time { return day0.AddDate(0, 0, d) }
	tab := NewContracts()
	// Chunk 0 expires on days 0-9, chunk 1 on days 20-29 but for one
	// contract of day 400, chunk 2 on days 40-49, then 10 contracts of day 0
	// in the partial last chunk.
	for i := range 3 * ContractChunk {
		d := 20*(i/ContractChunk) + i%10
		if i == ContractChunk+7 {
			d = 400
		}
		tab.Intern(retireContract(i, day(d)))
	}
	for i := range 10 {
		tab.Intern(retireContract(3*ContractChunk+i, day(0)))
	}
	kept := tab.Get(5)
	if gone := tab.Retire(day(15).UnixMicro(), nil); len(gone) != 1 || gone[0] != 0 {
		t.Fatalf("retire at day 15: chunks %v retired, want [0]", gone)
	}
	if tab.Get(5) != nil || tab.Get(ContractChunk-1) != nil {
		t.Fatal("retired contract still returned by Get")
	}
	if _, ok := tab.Lookup(kept.Symbol); ok {
		t.Fatal("retired symbol still found by Lookup")
	}
	if kept.Strike != 6 || kept.ID != 5 {
		t.Fatalf("pointer from Get before retiring changed: %+v", kept)
	}
	// The long-dated contract keeps chunk 1; the partial chunk stays too.
	if gone := tab.Retire(day(100).UnixMicro(), nil); len(gone) != 1 || gone[0] != 2*ContractChunk {
		t.Fatalf("retire at day 100: chunks %v retired, want [%d] (chunk 2 only)", gone, 2*ContractChunk)
	}
	if tab.Get(ContractChunk) == nil || tab.Get(3*ContractChunk) == nil {
		t.Fatal("a chunk with a live contract, or the last partial chunk, was retired")
	}
	if got := retired(tab); got != 2*ContractChunk {
		t.Fatalf("retired = %d, want %d", got, 2*ContractChunk)
	}
	if len(tab.bySym) != tab.Len()-retired(tab) {
		t.Fatalf("symbol map holds %d, want the %d live contracts", len(tab.bySym), tab.Len()-retired(tab))
	}
	// A retired symbol comes back under a new ID.
	if id := tab.Intern(*kept); int(id) != tab.Len()-1 || id == kept.ID {
		t.Fatalf("re-interned retired symbol got ID %d, want the new ID %d", id, tab.Len()-1)
	}
	if id, ok := tab.Lookup(kept.Symbol); !ok || int(id) != tab.Len()-1 {
		t.Fatalf("Lookup after re-intern: %d %v", id, ok)
	}
	// add: a Tee reader copying a symbol its source interned again; the
	// old chunk's retiring must not unmap the new ID.
	tab2 := NewContracts()
	for i := range ContractChunk {
		tab2.Intern(retireContract(i, day(0)))
	}
	again := retireContract(3, day(0))
	again.ID = ContractID(ContractChunk)
	if id := tab2.add(again); id != again.ID {
		t.Fatalf("add: ID %d, want %d", id, again.ID)
	}
	// A chunk whose contract was quoted within the week stays.
	seen := func(id ContractID) int64 {
		if id == 3 {
			return day(31).UnixMicro()
		}
		return noTime
	}
	if gone := tab2.Retire(day(30).UnixMicro(), seen); len(gone) != 0 {
		t.Fatalf("a chunk with a contract quoted after the cutoff was retired")
	}
	tab2.Retire(day(30).UnixMicro(), nil)
	if id, ok := tab2.Lookup(again.Symbol); !ok || id != again.ID {
		t.Fatalf("after retiring the old chunk, Lookup(%s) = %d %v, want %d", again.Symbol, id, ok, again.ID)
	}
}

// weekExpiry is the expiry of weekly chain w of weeklyChain: a Friday,
// 16:00 New York.
func weekExpiry(w int) time.Time { return weekStart.AddDate(0, 0, 7*w+4).Add(6 * time.Hour) }

// weekStart is the first session of weeklyChain: Monday 2021-01-04, 10:00 New York.
var weekStart = time.Date(2021, 1, 4, 15, 0, 0, 0, time.UTC)

// weeklyChain interns, for each of weeks weeks, 300 contracts (mk) that
// expire that Friday, and calls emit with each quote of them on the five
// sessions before, in time order then by k: week w, session d, contract k.
func weeklyChain(cs *Contracts, weeks int, mk func(k int, exp time.Time) Contract, emit func(w, d, k int, q Quote)) {
	for w := range weeks {
		exp := weekExpiry(w)
		ids := make([]ContractID, 300)
		for k := range ids {
			ids[k] = cs.Intern(mk(k, exp))
		}
		for d := range 5 {
			tm := weekStart.AddDate(0, 0, 7*w+d).UnixMicro()
			for k, id := range ids {
				emit(w, d, k, Quote{Time: tm, Contract: id, Bid: 1, Ask: 1.1, UnderlyingPrice: 100, IV: 0.2, Delta: -0.3, Gamma: 0.01})
			}
		}
	}
}

// occPut is weekly chain contract k: a put with a valid OCC symbol, strike 50 + k.
func occPut(k int, exp time.Time) Contract {
	strike := float64(50 + k)
	sym, err := OCCSymbol("SPY", exp, Put, strike)
	if err != nil {
		panic(err)
	}
	return Contract{Symbol: sym, Underlying: "SPY", Expiry: exp, Strike: strike, Right: Put, Multiplier: 100}
}

// retireFeed writes a folder of two native files of weekly expiries: 300
// contracts a week, each quoted on the five sessions before its expiry, for
// 14 weeks (4,200 contracts, more than four chunks). The second file also
// quotes a contract of the first week two months after its expiry, and so
// does the first file (a late quote in the same file).
func retireFeed(t *testing.T) string {
	dir := t.TempDir()
	cs := NewContracts()
	var files [2][]Quote
	late := retireContract(0, weekExpiry(0))
	weeklyChain(cs, 14, retireContract, func(w, d, k int, q Quote) {
		f := w / 10
		files[f] = append(files[f], q)
		if k == 299 && d == 4 && (w == 9 || w == 13) { // late quotes, after every other of the instant
			files[f] = append(files[f], Quote{Time: q.Time, Contract: cs.Intern(late), Bid: 0.05, Ask: 0.1, UnderlyingPrice: 100, IV: 0.2, Delta: -0.01, Gamma: 0.001})
		}
	})
	for f, qs := range files {
		writeNativeRows(t, filepath.Join(dir, fmt.Sprintf("part-%d.parquet", f)), qs, cs, 5000, true)
	}
	return dir
}

type symQuote struct {
	time     int64
	symbol   string
	bid, ask float64
}

// readRetire reads dir through the run's pipeline (file source, canonical
// order, DecodeAhead) and returns the quotes with their symbols.
func readRetire(t *testing.T, dir string) ([]symQuote, *fileSource, *canonical) {
	t.Helper()
	src, err := OpenFile(context.Background(), FileConfig{Path: dir, Preset: PresetNative}, Reject, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := src.(*canonical)
	fs := c.src.(*fileSource)
	r := DecodeAhead(src)
	defer r.Close()
	var out []symQuote
	for {
		b, err := r.Next(context.Background())
		if errors.Is(err, io.EOF) {
			return out, fs, c
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range b.Quotes {
			k := r.Contracts().Get(q.Contract)
			if k == nil {
				t.Fatalf("quote at %d names contract %d, unknown to the reader", q.Time, q.Contract)
			}
			out = append(out, symQuote{q.Time, k.Symbol, q.Bid, q.Ask})
		}
	}
}

// Retiring changes what the pipeline's tables hold, never the stream: the
// same quotes with the same symbols, late quotes of retired contracts too.
func TestRetireKeepsTheStream(t *testing.T) {
	dir := retireFeed(t)
	retireOff = true
	t.Cleanup(func() { retireOff = false })
	want, _, _ := readRetire(t, dir)
	retireOff = false
	got, fs, c := readRetire(t, dir)
	if len(got) != len(want) || len(want) != 14*300*5+2 {
		t.Fatalf("%d quotes with retiring, %d without, want %d", len(got), len(want), 14*300*5+2)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("quote %d: %+v with retiring, %+v without", i, got[i], want[i])
		}
	}
	for name, tab := range map[string]*Contracts{"file source": fs.contracts, "canonical": c.contracts} {
		if retired(tab) < 3*ContractChunk {
			t.Errorf("%s table: %d of %d contracts retired, want at least %d", name, retired(tab), tab.Len(), 3*ContractChunk)
		}
	}
	if n := len(c.pend); n != 0 {
		t.Errorf("canonical holds %d contracts never mapped", n)
	}
}
