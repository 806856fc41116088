package feeds

import (
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
	stop  chan struct{}
	err   error // set before ch is closed
	ended bool
}

func startPrefetch(rr array.RecordReader) *prefetch {
	p := &prefetch{rr: rr, ch: make(chan arrow.RecordBatch, prefetchRecords), stop: make(chan struct{})}
	go func() {
		defer close(p.ch)
		for rr.Next() {
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

// next returns the next record (the caller releases it), or nil at the end with the query's
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
	p.rr.Release()
}
