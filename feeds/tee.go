package feeds

import (
	"context"
	"errors"
	"io"
	"maps"
	"sync"
	"sync/atomic"
)

// This file owns the fan-out of one decoded stream to several readers (a
// sweep's engines): the quotes are decoded once and every reader sees the
// batches, contracts and quality counts it would have seen reading the
// source alone.

// teeDepth bounds the batches the decoder runs ahead of the slowest reader.
const teeDepth = 4

// Tee returns n sources that each yield src's stream. src is read on its
// own goroutine, started by the first Next of any of them; it runs at most
// teeDepth batches ahead of the slowest open reader, so every reader must be
// read concurrently (one goroutine each) or closed. Batches are shared by
// the readers: read-only. Each reader has its own contract table, filled in
// the source's order (so IDs are the source's), and reports the source's
// quality counts as they were when its last batch was decoded. Closing a
// reader detaches it; src is closed when every reader is.
func Tee(src Source, n int) []Source {
	t := &tee{src: src, open: n, free: make(chan []Quote, teeDepth+2), stopped: make(chan struct{})}
	out := make([]Source, n)
	t.readers = make([]*teeReader, n)
	for i := range out {
		r := &teeReader{t: t, ch: make(chan *teeItem, teeDepth), done: make(chan struct{}), contracts: NewContracts(), quality: QualityCounts{}}
		t.readers[i] = r
		out[i] = r
	}
	return out
}

// DecodeAhead returns src read on its own goroutine, up to teeDepth batches
// ahead of its reader: a run's decoding (DuckDB's fetch, the checks, the
// canonical order) overlaps its engine on another core. Same batches, same
// contract IDs and quality counts as src; Close closes src.
func DecodeAhead(src Source) Source { return Tee(src, 1)[0] }

// teeItem is one decoded batch as every reader receives it.
type teeItem struct {
	quotes       []Quote
	newContracts []Contract // interned by the source since the previous item
	quality      QualityCounts
	err          error // io.EOF at the end
	// refs counts the readers still holding the item; the last to let go
	// returns quotes to the tee's free list (a reader holds its batch until
	// its next Next, as the Source contract allows).
	refs atomic.Int32
}

type tee struct {
	src     Source
	readers []*teeReader
	free    chan []Quote  // batches' quote buffers to reuse
	stopped chan struct{} // closed when run returns
	start   sync.Once
	cancel  context.CancelFunc // stops the decoder once every reader is closed
	mu      sync.Mutex
	open    int
	closed  bool
}

func (t *tee) run(ctx context.Context) {
	defer close(t.stopped)
	known := 0
	var quality QualityCounts
	for {
		b, err := t.src.Next(ctx)
		it := &teeItem{err: err}
		if err == nil {
			var buf []Quote
			select {
			case buf = <-t.free:
			default:
			}
			it.quotes = append(buf[:0], b.Quotes...)
		}
		cs := t.src.Contracts()
		for id := known; id < cs.Len(); id++ {
			it.newContracts = append(it.newContracts, *cs.Get(ContractID(id)))
		}
		known = cs.Len()
		if c, ok := t.src.(*canonical); ok && len(it.quotes) > 0 {
			// Every contract of c's table is copied: c may retire the
			// old ones (retire.go); the readers' tables keep them.
			c.retireBefore(it.quotes[len(it.quotes)-1].Time)
		}
		q := t.src.Quality()
		if quality == nil || !maps.Equal(q, quality) {
			quality = maps.Clone(q)
		}
		it.quality = quality // shared, never modified
		alive := 0
		it.refs.Store(int32(len(t.readers)))
		for _, r := range t.readers {
			select {
			case r.ch <- it:
				alive++
			case <-r.done:
				t.release(it)
			}
		}
		if err != nil || alive == 0 {
			for _, r := range t.readers {
				close(r.ch)
			}
			return
		}
	}
}

// release lets go of one reader's hold on it.
func (t *tee) release(it *teeItem) {
	if it.refs.Add(-1) == 0 && it.quotes != nil {
		select {
		case t.free <- it.quotes[:0]:
		default:
		}
	}
}

func (t *tee) detach() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.open--
	if t.open == 0 && !t.closed {
		t.closed = true
		started := true
		t.start.Do(func() { started = false })
		if !started {
			t.src.Close()
			return
		}
		// The decoder stops at its next send (every reader is done) or,
		// cancelled, in src.Next; src is closed once it has returned, before
		// the last Close returns (its caller may remove the source's temp
		// folder next).
		t.cancel()
		<-t.stopped
		t.src.Close()
	}
}

type teeReader struct {
	t         *tee
	ch        chan *teeItem
	done      chan struct{}
	contracts *Contracts
	quality   QualityCounts
	batch     Batch
	held      *teeItem // the item of the batch last returned
	err       error
	closed    bool
}

func (r *teeReader) Contracts() *Contracts { return r.contracts }

// RetireContracts retires the reader's own contract table
// (Contracts.Retire with cutoff and lastSeen) and returns the first ID of
// each chunk retired. The table is its reader's alone: Next fills it with
// copies of the source's contracts, only ever adding after the last one
// (a symbol the source interned again arrives under its new ID), so the
// one consumer of the reader, who alone knows which contracts it still
// needs, may retire it (the simulator does: sim/retire.go); the source's
// table and the other readers' are not touched. Call it from the reading
// goroutine.
func (r *teeReader) RetireContracts(cutoff int64, lastSeen func(ContractID) int64) []ContractID {
	return r.contracts.Retire(cutoff, lastSeen)
}

func (r *teeReader) Quality() QualityCounts { return maps.Clone(r.quality) }

func (r *teeReader) Next(ctx context.Context) (*Batch, error) {
	if r.closed {
		return nil, errClosed
	}
	if r.err != nil {
		return nil, r.err
	}
	// The decoder's context outlives any one reader's; it is cancelled
	// when the last reader closes.
	r.t.start.Do(func() {
		dctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		r.t.cancel = cancel
		go r.t.run(dctx)
	})
	if r.held != nil {
		r.t.release(r.held)
		r.held = nil
	}
	var it *teeItem
	select {
	case it = <-r.ch:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if it == nil {
		r.err = errors.New("feeds: tee: the shared feed stopped")
		return nil, r.err
	}
	for _, c := range it.newContracts {
		r.contracts.add(c) // c.ID: the source's IDs are dense
	}
	if it.quality != nil {
		r.quality = it.quality
	}
	if it.err != nil {
		r.err = it.err
		if errors.Is(it.err, io.EOF) {
			r.err = io.EOF
		}
		return nil, r.err
	}
	r.batch.Quotes = it.quotes
	r.held = it
	return &r.batch, nil
}

func (r *teeReader) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	if r.held != nil {
		r.t.release(r.held)
		r.held = nil
	}
	close(r.done)
	r.t.detach()
	return nil
}
