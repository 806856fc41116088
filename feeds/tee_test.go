package feeds

import (
	"context"
	"errors"
	"io"
	"sync"
	"testing"
)

// Every reader of a Tee sees the source's stream, contracts and quality as
// if it read the source alone, whatever its pace; a reader that stops early
// and closes does not hold the others back.
func TestTeeReadersSeeTheSource(t *testing.T) {
	cfg := smallSynth()
	want := drain(t, must(NewSynthetic(cfg, 9)))
	ref := must(NewSynthetic(cfg, 9))
	defer ref.Close()
	refSyms := func(qs []Quote) []string {
		var out []string
		for _, q := range qs {
			out = append(out, ref.Contracts().Get(q.Contract).Symbol)
		}
		return out
	}
	_ = drain(t, ref)
	wantSyms := refSyms(want)

	const n = 5
	readers := Tee(must(NewSynthetic(cfg, 9)), n)
	var wg sync.WaitGroup
	got := make([][]Quote, n)
	syms := make([][]string, n)
	errs := make([]error, n)
	for i, r := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer r.Close()
			for {
				b, err := r.Next(context.Background())
				if errors.Is(err, io.EOF) {
					return
				}
				if err != nil {
					errs[i] = err
					return
				}
				for _, q := range b.Quotes {
					got[i] = append(got[i], q)
					syms[i] = append(syms[i], r.Contracts().Get(q.Contract).Symbol)
				}
				if i == n-1 && len(got[i]) > len(want)/3 {
					return // stops early: closed, detached
				}
			}
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("reader %d: %v", i, errs[i])
		}
		if i == n-1 {
			if len(got[i]) == 0 || len(got[i]) >= len(want) {
				t.Fatalf("the early reader read %d of %d quotes", len(got[i]), len(want))
			}
			continue
		}
		if len(got[i]) != len(want) {
			t.Fatalf("reader %d: %d quotes, want %d", i, len(got[i]), len(want))
		}
		for k := range want {
			if got[i][k] != want[k] || syms[i][k] != wantSyms[k] {
				t.Fatalf("reader %d: quote %d is %+v %s, want %+v %s", i, k, got[i][k], syms[i][k], want[k], wantSyms[k])
			}
		}
	}
}

// A source error reaches every reader; closing every reader before any read
// closes the source.
func TestTeeErrorAndClose(t *testing.T) {
	bad := &failingSource{sliceSource: newSliceSource(2, []string{"SPY200320P00240000"}, []Quote{{Time: 1, Bid: 1, Ask: 2}, {Time: 2, Bid: 1, Ask: 2}, {Time: 3, Bid: 1, Ask: 2}})}
	readers := Tee(bad, 2)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, r := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				if _, err := r.Next(context.Background()); err != nil {
					errs[i] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if !errors.Is(err, errBoom) {
			t.Errorf("reader %d: %v, want the source's error", i, err)
		}
	}
	src := newSliceSource(1, nil, nil)
	for _, r := range Tee(src, 3) {
		r.Close()
	}
	if !src.closed {
		t.Error("closing every reader left the source open")
	}
}

var errBoom = errors.New("boom")

type failingSource struct{ *sliceSource }

func (f *failingSource) Next(ctx context.Context) (*Batch, error) {
	if f.pos >= 2 {
		return nil, errBoom
	}
	return f.sliceSource.Next(ctx)
}

// closeRecorder notes when its source is closed.
type closeRecorder struct {
	Source
	closed bool
}

func (c *closeRecorder) Close() error { c.closed = true; return c.Source.Close() }

// DecodeAhead yields the source's batches, batch for batch, though it reuses
// their buffers (a batch stays intact until the next Next: -race checks the
// hand-over), and its Close has closed the source when it returns.
func TestDecodeAheadSameBatches(t *testing.T) {
	cfg := smallSynth()
	ref := must(NewSynthetic(cfg, 5))
	defer ref.Close()
	var want [][]Quote
	for {
		b, err := ref.Next(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, append([]Quote(nil), b.Quotes...))
	}
	rec := &closeRecorder{Source: must(NewSynthetic(cfg, 5))}
	src := DecodeAhead(rec)
	for i := 0; ; i++ {
		b, err := src.Next(context.Background())
		if errors.Is(err, io.EOF) {
			if i != len(want) {
				t.Fatalf("%d batches, want %d", i, len(want))
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if i >= len(want) || len(b.Quotes) != len(want[i]) {
			t.Fatalf("batch %d: %d quotes", i, len(b.Quotes))
		}
		for j := range b.Quotes {
			if b.Quotes[j] != want[i][j] {
				t.Fatalf("batch %d quote %d: %+v, want %+v", i, j, b.Quotes[j], want[i][j])
			}
			if got, w := src.Contracts().Get(b.Quotes[j].Contract).Symbol, ref.Contracts().Get(want[i][j].Contract).Symbol; got != w {
				t.Fatalf("batch %d quote %d: contract %s, want %s", i, j, got, w)
			}
		}
	}
	if err := src.Close(); err != nil || !rec.closed {
		t.Fatalf("Close: %v, source closed %v", err, rec.closed)
	}

	// Closed in the middle of the stream: the source is closed too.
	rec2 := &closeRecorder{Source: must(NewSynthetic(cfg, 5))}
	mid := DecodeAhead(rec2)
	if _, err := mid.Next(context.Background()); err != nil {
		t.Fatal(err)
	}
	mid.Close()
	if !rec2.closed {
		t.Fatal("source not closed when Close returned")
	}
}
