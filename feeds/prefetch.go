package feeds

import (
	"runtime"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// prefetchRecords bounds the Arrow records fetched ahead of the decoder (2048 rows each).
const prefetchRecords = 8

// prefetch pulls a query's Arrow records on its own goroutine so DuckDB's fetch overlaps the
// decoding. Order is kept (one producer, one FIFO channel), so this changes no result. While
// it runs, the goroutine owns the DuckDB connection: stop it before any other query.
type prefetch struct {
	rr    array.RecordReader
	ch    chan arrow.RecordBatch
	back  chan arrow.RecordBatch // decoded records, released on the fetching thread
	stop  chan struct{}
	err   error // set before ch is closed
	ended bool
}

func startPrefetch(rr array.RecordReader) *prefetch {
	p := &prefetch{rr: rr, ch: make(chan arrow.RecordBatch, prefetchRecords), back: make(chan arrow.RecordBatch, prefetchRecords+2), stop: make(chan struct{})}
	go func() {
		// DuckDB's fetches all run on this one OS thread: its allocator
		// (jemalloc) keeps an arena per thread that ever allocated, and
		// each arena keeps what it freed; a goroutine moving between
		// threads over a long feed spread the fetches over ever more arenas
		// (measured: 40 to 86 MiB of native memory on 100 M quotes).
		runtime.LockOSThread()
		defer close(p.ch)
		defer p.releaseBack()
		for rr.Next() {
			p.releaseBack()
			rec := rr.RecordBatch()
			rec.Retain()
			select {
			case p.ch <- rec:
			case <-p.stop:
				rec.Release()
				return
			}
		}
		p.err = rr.Err()
	}()
	return p
}

// releaseBack releases the records the decoder is done with (see done).
func (p *prefetch) releaseBack() {
	for {
		select {
		case rec := <-p.back:
			rec.Release()
		default:
			return
		}
	}
}

// done hands a record the caller decoded back to be released on the fetching
// thread, where DuckDB allocated its buffers (a release from another thread
// left the memory in that thread's allocator cache). After the fetching ended
// the caller's thread releases it.
func (p *prefetch) done(rec arrow.RecordBatch) {
	if !p.ended {
		select {
		case p.back <- rec:
			return
		default:
		}
	}
	rec.Release()
}

// next returns the next record (the caller hands it to done), or nil at the end with the query's
// error, if any.
func (p *prefetch) next() (arrow.RecordBatch, error) {
	rec, ok := <-p.ch
	if !ok {
		return nil, p.err
	}
	return rec, nil
}

// close stops the goroutine, releases what it fetched and the reader. Idempotent.
func (p *prefetch) close() {
	if p.ended {
		return
	}
	p.ended = true
	close(p.stop)
	for rec := range p.ch {
		rec.Release()
	}
	p.releaseBack() // the goroutine has ended (p.ch is closed)
	p.rr.Release()
}
