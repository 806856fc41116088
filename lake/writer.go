package lake

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// WriterOptions configures a row Writer. Zero values mean the documented
// default.
type WriterOptions struct {
	// BatchSize: rows per Parquet data file. 0 = 100_000 (the live system
	// used 100; a backtest wants far larger files).
	BatchSize int
	// CommitEvery: data files per Delta commit. 0 = 1 (commit every flush).
	CommitEvery int
	// QueueDepth: chunks of rows that may wait for the writer goroutine
	// before Write blocks (back-pressure; rows are never dropped). 0 = 8.
	QueueDepth int
	// ChunkSize: rows handed to the writer goroutine at once. 0 = 1024, or
	// 1 when FlushInterval is set (so a tick sees every row written).
	ChunkSize int
	// FlushInterval: flush and commit whatever is buffered this often
	// (live use: "100 events or 5 seconds"). 0 = off; simulated runs must
	// leave it off. Requires NewTicker.
	FlushInterval time.Duration
	// NewTicker makes the ticker for FlushInterval (time.NewTicker in live
	// use, a fake in tests): a channel and a stop function.
	NewTicker func(d time.Duration) (<-chan time.Time, func())
	// CommitInfo is written with every commit (operation WRITE by default).
	CommitInfo CommitInfo
	// Table options (FS, clock ...) for opening or creating the table.
	Table []Option
}

// Default writer settings.
const (
	DefaultBatchSize  = 100_000
	DefaultQueueDepth = 8
	// DefaultChunkSize: a chunk waits in Write's buffer until full, for
	// as long as the rows take to come (a run's tables get a row every few
	// hundred quotes), and idle chunks are kept for reuse: 1024 rows keep
	// that at a quarter of 4096's with the same writer throughput
	// (BenchmarkEventWriter; 256 was ~10 % slower).
	DefaultChunkSize = 1024
)

// Validate reports settings that cannot work.
func (o WriterOptions) Validate() error {
	switch {
	case o.BatchSize < 0, o.CommitEvery < 0, o.QueueDepth < 0, o.ChunkSize < 0, o.FlushInterval < 0:
		return errors.New("lake: writer options must not be negative")
	case o.FlushInterval > 0 && o.NewTicker == nil:
		return errors.New("lake: FlushInterval needs NewTicker")
	case o.FlushInterval > 0 && o.ChunkSize > 1:
		return errors.New("lake: FlushInterval needs ChunkSize 1 (0 chooses it): rows held in a chunk are out of the ticker's reach")
	}
	return nil
}

func (o WriterOptions) withDefaults() WriterOptions {
	if o.BatchSize == 0 {
		o.BatchSize = DefaultBatchSize
	}
	if o.CommitEvery == 0 {
		o.CommitEvery = 1
	}
	if o.QueueDepth == 0 {
		o.QueueDepth = DefaultQueueDepth
	}
	if o.ChunkSize == 0 {
		o.ChunkSize = DefaultChunkSize
		if o.FlushInterval > 0 {
			o.ChunkSize = 1
		}
	}
	o.ChunkSize = min(o.ChunkSize, o.BatchSize)
	return o
}

// Writer appends rows of type T to a Delta table. Write and Close are for
// one caller goroutine. Rows go to a builder goroutine in chunks through a
// bounded queue; it turns them into Arrow pieces of 1024 rows, compressed
// at once (filebuilder.go), which go to a second goroutine that writes
// each data file column by column when it is complete and commits, so
// encoding overlaps with building and a writer never holds more than a
// piece of rows in Arrow form. The files are byte for byte those WriteFile
// makes of the same rows. The first failure stops the writer: later calls
// return it, and rows after it are discarded (the run has failed).
type Writer[T any] struct {
	opts  WriterOptions
	table *Table

	buf     []T
	rows    chan rowMsg[T]
	free    chan []T
	done    chan struct{}
	closed  bool
	written int64

	failed atomic.Bool // fast check for Write; err has the detail
	mu     sync.Mutex
	err    error
}

type rowMsg[T any] struct {
	rows  []T
	flush chan error // non-nil: flush and commit, then reply
}

// fileMsg carries a piece of a data file from build to persist.
type fileMsg struct {
	piece  spoolPiece // of the open file; no rows: none
	end    bool       // the file ends after the piece
	commit bool
	reply  chan error
}

// NewWriter opens the table at dir, creating it with schema if needed, and
// starts the writer goroutines. appendRow appends one row to the builder
// (one value per field, in schema order).
func NewWriter[T any](dir string, schema *arrow.Schema, appendRow func(*array.RecordBuilder, *T), opts WriterOptions) (*Writer[T], error) {
	return newWriter(dir, schema, func(b *array.RecordBuilder) func(*T) {
		return func(r *T) { appendRow(b, r) }
	}, opts)
}

// newWriter is NewWriter with an appender bound once to the builder, so
// typed field builders are looked up once rather than per row.
func newWriter[T any](dir string, schema *arrow.Schema, bind func(*array.RecordBuilder) func(*T), opts WriterOptions) (*Writer[T], error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	t, err := OpenOrCreate(dir, schema, opts.Table...)
	if err != nil {
		return nil, err
	}
	w := &Writer[T]{
		opts:  opts,
		table: t,
		buf:   make([]T, 0, opts.ChunkSize),
		rows:  make(chan rowMsg[T], opts.QueueDepth),
		free:  make(chan []T, opts.QueueDepth+2),
		done:  make(chan struct{}),
	}
	files := make(chan fileMsg, filesQueue)
	b := array.NewRecordBuilder(memory.DefaultAllocator, t.Schema())
	go w.build(b, bind(b), files)
	go w.persist(files)
	return w, nil
}

// Table returns the table the writer appends to.
func (w *Writer[T]) Table() *Table { return w.table }

// Err returns the first failure, if any.
func (w *Writer[T]) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

func (w *Writer[T]) fail(err error) {
	if err == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == nil {
		w.err = err
		w.failed.Store(true)
	}
}

// Write queues one row. It blocks while the queue is full and returns the
// writer's failure, if one happened, instead of queueing. A row written
// after Close is an error that Err reports too: a sink that cannot return
// errors (EventWriter.Emit) must not lose an event silently.
func (w *Writer[T]) Write(row T) error {
	if w.closed {
		w.mu.Lock()
		if w.err == nil {
			w.err = fmt.Errorf("%w: a row was written after Close and dropped", ErrClosed)
		}
		w.mu.Unlock()
		return ErrClosed
	}
	if w.failed.Load() {
		w.buf = w.buf[:0]
		return w.Err()
	}
	w.buf = append(w.buf, row)
	if len(w.buf) >= w.opts.ChunkSize {
		w.handoff()
	}
	return nil
}

// Written returns the number of rows accepted by Write.
func (w *Writer[T]) Written() int64 { return w.written + int64(len(w.buf)) }

func (w *Writer[T]) handoff() {
	if len(w.buf) == 0 {
		return
	}
	w.written += int64(len(w.buf))
	w.rows <- rowMsg[T]{rows: w.buf}
	select {
	case b := <-w.free:
		w.buf = b[:0]
	default:
		w.buf = make([]T, 0, w.opts.ChunkSize)
	}
}

// Flush writes and commits every row written so far and waits for it.
func (w *Writer[T]) Flush() error {
	if w.closed {
		return ErrClosed
	}
	w.handoff()
	reply := make(chan error, 1)
	w.rows <- rowMsg[T]{flush: reply}
	if err := <-reply; err != nil {
		return err
	}
	return w.Err()
}

// Close flushes, commits and stops the writer. It returns the first
// failure of the writer's life, if any. Close is idempotent.
func (w *Writer[T]) Close() error {
	if !w.closed {
		w.closed = true
		w.handoff()
		close(w.rows)
		<-w.done
	}
	return w.Err()
}

// filesQueue: packed pieces that may wait for persist, so that build goes
// on packing the next file's pieces while persist writes one (pieces are
// compressed: a full queue is a few MiB). BenchmarkEventWriter: 1 or 8
// are ~15 % slower than 64.
const filesQueue = 64

// build runs on its own goroutine: rows to Arrow pieces of at most
// pieceAlign rows, cut where fileBuilder needs them (aligned from the
// start of the file's row group) and packed (compressed) at once, so only
// one piece is ever held as an Arrow builder.
func (w *Writer[T]) build(b *array.RecordBuilder, appendRow func(*T), files chan<- fileMsg) {
	defer close(files)
	defer b.Release()
	var tick <-chan time.Time
	if w.opts.FlushInterval > 0 {
		c, stop := w.opts.NewTicker(w.opts.FlushInterval)
		defer stop()
		tick = c
	}
	group := w.table.opts.rowGroupRows
	n, p := 0, 0 // rows in the file, in the piece
	piece := func() spoolPiece {
		if p == 0 {
			return spoolPiece{}
		}
		p = 0
		rec := b.NewRecordBatch()
		defer rec.Release()
		if w.Err() != nil {
			return spoolPiece{}
		}
		if err := w.table.checkBatch(rec); err != nil {
			w.fail(fmt.Errorf("lake: writer %s: %w", w.table.Dir(), err))
			return spoolPiece{}
		}
		return pack(rec)
	}
	end := func() spoolPiece {
		n = 0
		return piece()
	}
	for {
		select {
		case m, ok := <-w.rows:
			if !ok {
				files <- fileMsg{piece: end(), end: true, commit: true}
				return
			}
			if w.Err() == nil {
				for i := range m.rows {
					appendRow(&m.rows[i])
					n++
					p++
					if n >= w.opts.BatchSize {
						files <- fileMsg{piece: end(), end: true}
					} else if int64(n)%group%pieceAlign == 0 {
						files <- fileMsg{piece: piece()}
					}
				}
			}
			if m.rows != nil {
				clear(m.rows) // drop references held by T
				select {
				case w.free <- m.rows[:0]:
				default:
				}
			}
			if m.flush != nil {
				files <- fileMsg{piece: end(), end: true, commit: true, reply: m.flush}
			}
		case <-tick:
			files <- fileMsg{piece: end(), end: true, commit: true}
		}
	}
}

// persist runs on its own goroutine: pieces to Parquet files and commits.
func (w *Writer[T]) persist(files <-chan fileMsg) {
	defer close(w.done)
	ctx := context.Background()
	var pending []Add
	commit := func() {
		if len(pending) == 0 || w.Err() != nil {
			return
		}
		if _, err := w.table.Commit(ctx, pending, w.opts.CommitInfo); err != nil {
			w.fail(fmt.Errorf("lake: writer %s: %w", w.table.Dir(), err))
		}
		pending = pending[:0]
	}
	file := w.table.newFileBuilder()
	for m := range files {
		if m.piece.rows > 0 {
			if w.Err() == nil {
				file.Add(m.piece)
			} else if m.piece.rec != nil {
				m.piece.rec.Release()
			}
		}
		if m.end {
			if w.Err() != nil {
				file.Discard()
			} else if add, ok, err := file.Close(ctx); err != nil {
				w.fail(fmt.Errorf("lake: writer %s: %w", w.table.Dir(), err))
			} else if ok {
				pending = append(pending, add)
				if len(pending) >= w.opts.CommitEvery {
					commit()
				}
			}
		}
		if m.commit {
			commit()
		}
		if m.reply != nil {
			m.reply <- w.Err()
		}
	}
}
