package feeds

import (
	"context"
	"errors"
	"io"
	"sync"
	"testing"
)

// A Tee reader's consumer may retire the reader's own table
// (RetireContracts): the reader keeps adding the source's contracts after
// it, under the source's IDs (a late quote's contract, which the canonical
// order interned again, under its new ID), while the other reader's table
// and the stream stay as they were.
func TestTeeReaderRetiresItsOwnTable(t *testing.T) {
	dir := retireFeed(t)
	src, err := OpenFile(context.Background(), FileConfig{Path: dir, Preset: PresetNative}, Reject, nil)
	if err != nil {
		t.Fatal(err)
	}
	rs := Tee(src, 2)
	var (
		out [2][]symQuote
		tab [2]*Contracts
		wg  sync.WaitGroup
		bad [2]error
	)
	for i, r := range rs {
		wg.Go(func() {
			defer r.Close()
			last := map[ContractID]int64{}
			for {
				b, err := r.Next(context.Background())
				if errors.Is(err, io.EOF) {
					tab[i] = r.Contracts()
					return
				}
				if err != nil {
					bad[i] = err
					return
				}
				for _, q := range b.Quotes {
					k := r.Contracts().Get(q.Contract)
					if k == nil {
						bad[i] = errors.New("a quote names a retired contract")
						return
					}
					last[q.Contract] = q.Time
					out[i] = append(out[i], symQuote{q.Time, k.Symbol, q.Bid, q.Ask})
				}
				if i == 0 {
					now := b.Quotes[len(b.Quotes)-1].Time
					r.(*teeReader).RetireContracts(now-RetireAfter, func(id ContractID) int64 { return last[id] })
				}
			}
		})
	}
	wg.Wait()
	for i := range bad {
		if bad[i] != nil {
			t.Fatalf("reader %d: %v", i, bad[i])
		}
	}
	if len(out[0]) != 14*300*5+2 || len(out[0]) != len(out[1]) {
		t.Fatalf("%d and %d quotes, want %d", len(out[0]), len(out[1]), 14*300*5+2)
	}
	for k := range out[0] {
		if out[0][k] != out[1][k] {
			t.Fatalf("quote %d: %+v from the retiring reader, %+v from the other", k, out[0][k], out[1][k])
		}
	}
	if retired(tab[0]) < 3*ContractChunk || retired(tab[1]) != 0 || tab[0].Len() != tab[1].Len() {
		t.Fatalf("retired %d and %d of %d and %d contracts", retired(tab[0]), retired(tab[1]), tab[0].Len(), tab[1].Len())
	}
	late := retireContract(0, weekExpiry(0)).Symbol
	id0, ok0 := tab[0].Lookup(late)
	id1, ok1 := tab[1].Lookup(late)
	if !ok0 || !ok1 || id0 != id1 || int(id0) < ContractChunk {
		t.Fatalf("late-quoted %s: %d %v in the retiring reader, %d %v in the other (want its newest ID)", late, id0, ok0, id1, ok1)
	}
	for id := range tab[0].Len() {
		if c := tab[0].Get(ContractID(id)); c != nil && *c != *tab[1].Get(ContractID(id)) {
			t.Fatalf("contract %d: %+v and %+v", id, *c, *tab[1].Get(ContractID(id)))
		}
	}
}
