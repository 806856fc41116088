package feeds

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// A contract built from a native file's compact table takes its
// Symbol as a substring of the table's one string of every symbol
// (nativeSym), and the tables that keep contracts (the readers', never
// retired; the canonical's srcSym, until the source retires it) hold it: each file that
// introduces a contract pins its whole symbol string. A folder of many
// files, each listing the same live chain plus one new contract, then
// retains files × chain × ~20 bytes, growing with the number of files.
func TestNativeSymbolsNotPinned(t *testing.T) {
	const files, chain = 150, 3000
	dir := t.TempDir()
	exp := time.Date(2030, 1, 18, 21, 0, 0, 0, time.UTC)
	cs := NewContracts()
	var ids []ContractID
	for k := range chain {
		sym, _ := OCCSymbol("SPY", exp, Put, float64(1+k))
		ids = append(ids, cs.Intern(Contract{Symbol: sym, Underlying: "SPY", Expiry: exp, Strike: float64(1 + k), Right: Put, Multiplier: 100}))
	}
	start := time.Date(2021, 1, 4, 15, 0, 0, 0, time.UTC)
	for f := range files {
		tm := start.Add(time.Duration(f) * time.Hour).UnixMicro()
		sym, _ := OCCSymbol("SPY", exp, Call, float64(1+f))
		fresh := cs.Intern(Contract{Symbol: sym, Underlying: "SPY", Expiry: exp, Strike: float64(1 + f), Right: Call, Multiplier: 100})
		var qs []Quote
		for _, id := range append([]ContractID{fresh}, ids...) {
			qs = append(qs, Quote{Time: tm, Contract: id, Bid: 1, Ask: 1.1, UnderlyingPrice: 100, IV: 0.2, Delta: -0.3, Gamma: 0.01})
		}
		writeNativeRows(t, filepath.Join(dir, fmt.Sprintf("part-%04d.parquet", f)), qs, cs, 5000, true)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	src, err := OpenFile(context.Background(), FileConfig{Path: dir, Preset: PresetNative}, Reject, nil)
	if err != nil {
		t.Fatal(err)
	}
	tab := drainPipeline(t, src)
	runtime.GC()
	runtime.ReadMemStats(&after)
	kept := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("%d contracts in the reader's table; heap kept after the run: %.1f MB", tab.Len(), float64(kept)/1e6)
	if kept > 4e6 {
		t.Errorf("the reader's table of %d contracts keeps %.1f MB of heap (want well under 4 MB: ~%d files × %d symbols pinned)", tab.Len(), float64(kept)/1e6, files, chain)
	}
	runtime.KeepAlive(tab)
}
