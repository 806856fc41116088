package feeds

import (
	"context"
	"io"
	"testing"
	"time"
)

// sliceSource serves fixed quotes in batches of size n.
type sliceSource struct {
	cs     *Contracts
	qs     []Quote
	n, pos int
	b      Batch
	closed bool
}

var _ Source = (*sliceSource)(nil)

func newSliceSource(n int, syms []string, rows []Quote) *sliceSource {
	cs := NewContracts()
	for _, s := range syms {
		p, err := ParseOCC(s)
		if err != nil {
			panic(err)
		}
		cs.Intern(Contract{Symbol: s, Underlying: p.Root, Expiry: p.Expiry, Strike: p.Strike, Right: p.Right, Multiplier: 100})
	}
	return &sliceSource{cs: cs, qs: rows, n: n}
}

func (s *sliceSource) Contracts() *Contracts  { return s.cs }
func (s *sliceSource) Quality() QualityCounts { return QualityCounts{KindZeroBid: 1} }
func (s *sliceSource) Close() error           { s.closed = true; return nil }
func (s *sliceSource) Next(context.Context) (*Batch, error) {
	if s.pos >= len(s.qs) {
		return nil, io.EOF
	}
	end := min(s.pos+s.n, len(s.qs))
	s.b.Quotes = append(s.b.Quotes[:0], s.qs[s.pos:end]...)
	s.pos = end
	return &s.b, nil
}

func TestMergeOrderAndTieBreak(t *testing.T) {
	// Bid tags the (source, row) so the expected order is readable.
	a := newSliceSource(2, []string{"SPY200320P00250000", "SPY200320C00300000"}, []Quote{
		{Time: 10, Contract: 0, Bid: 1.0}, {Time: 20, Contract: 1, Bid: 1.1}, {Time: 20, Contract: 0, Bid: 1.2}, {Time: 40, Contract: 1, Bid: 1.3},
	})
	b := newSliceSource(3, []string{"SPY200320C00300000", "QQQ200320C00200000"}, []Quote{
		{Time: 5, Contract: 1, Bid: 2.0}, {Time: 20, Contract: 0, Bid: 2.1}, {Time: 30, Contract: 1, Bid: 2.2}, {Time: 40, Contract: 0, Bid: 2.3},
	})
	c := newSliceSource(1, []string{"IWM200320P00100000"}, []Quote{
		{Time: 20, Contract: 0, Bid: 3.0}, {Time: 40, Contract: 0, Bid: 3.1},
	})
	m := Merge(a, b, c)
	got := drain(t, m)
	wantBids := []float64{2.0, 1.0, 1.1, 1.2, 2.1, 3.0, 2.2, 1.3, 2.3, 3.1}
	if len(got) != len(wantBids) {
		t.Fatalf("%d quotes, want %d", len(got), len(wantBids))
	}
	for i, q := range got {
		if q.Bid != wantBids[i] {
			t.Fatalf("position %d: bid %v, want %v (order %v)", i, q.Bid, wantBids[i], bids(got))
		}
	}
	// Merged IDs in order of first appearance; the same symbol in two sources is one contract.
	cs := m.Contracts()
	wantSym := map[float64]string{2.0: "QQQ200320C00200000", 1.0: "SPY200320P00250000", 1.1: "SPY200320C00300000",
		2.1: "SPY200320C00300000", 3.0: "IWM200320P00100000"}
	for _, q := range got {
		if s, ok := wantSym[q.Bid]; ok && cs.Get(q.Contract).Symbol != s {
			t.Errorf("bid %v: %s, want %s", q.Bid, cs.Get(q.Contract).Symbol, s)
		}
	}
	if cs.Len() != 4 || cs.Get(0).Symbol != "QQQ200320C00200000" {
		t.Errorf("%d contracts, first %s", cs.Len(), cs.Get(0).Symbol)
	}
	if q := m.Quality(); q[KindZeroBid] != 3 {
		t.Errorf("quality %v", q)
	}
	m.Close()
	if !a.closed || !b.closed || !c.closed {
		t.Error("Close does not close the sources")
	}
}

func bids(qs []Quote) []float64 {
	out := make([]float64, len(qs))
	for i, q := range qs {
		out[i] = q.Bid
	}
	return out
}

// Merging two synthetic sources keeps time order and every quote.
func TestMergeSynthetic(t *testing.T) {
	c1 := smallSynth()
	c2 := smallSynth()
	c2.Underlying = "QQQ"
	c2.Every = 10 * time.Minute
	n1 := len(drain(t, must(NewSynthetic(c1, 1))))
	n2 := len(drain(t, must(NewSynthetic(c2, 2))))
	got := drain(t, Merge(must(NewSynthetic(c1, 1)), must(NewSynthetic(c2, 2))))
	if len(got) != n1+n2 {
		t.Fatalf("%d quotes, want %d", len(got), n1+n2)
	}
	for i := 1; i < len(got); i++ {
		if got[i].Time < got[i-1].Time {
			t.Fatalf("time goes back at %d", i)
		}
	}
}
