package lake

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// writeAndCompare writes rows through a Writer (flushing after the given
// row counts) and checks every file against WriteFile's of its segment.
func writeAndCompare(t *testing.T, schema *arrow.Schema, rows []anyRow, batch int, group int64, flushes []int, wopts WriterOptions, afterWrite func(i int, w *Writer[anyRow])) {
	t.Helper()
	topts := []Option{fixedClock}
	if group > 0 {
		topts = append(topts, WithRowGroupRows(group))
	}
	dir := filepath.Join(t.TempDir(), "got")
	wopts.BatchSize, wopts.Table = batch, topts
	w, err := NewWriter(dir, schema, appendAny, wopts)
	if err != nil {
		t.Fatal(err)
	}
	var segments [][2]int
	start, fi := 0, 0
	for i := range rows {
		if err := w.Write(rows[i]); err != nil {
			t.Fatal(err)
		}
		if i+1-start == batch {
			segments = append(segments, [2]int{start, i + 1})
			start = i + 1
		}
		for fi < len(flushes) && flushes[fi] == i+1 {
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			if start < i+1 {
				segments = append(segments, [2]int{start, i + 1})
				start = i + 1
			}
			fi++
		}
		if afterWrite != nil {
			afterWrite(i, w)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if start < len(rows) {
		segments = append(segments, [2]int{start, len(rows)})
	}
	wantDir := filepath.Join(t.TempDir(), "want")
	ref, err := Create(wantDir, schema, topts...)
	if err != nil {
		t.Fatal(err)
	}
	got := addsInOrder(t, dir)
	if len(got) != len(segments) {
		t.Fatalf("%d files, want %d (%v)", len(got), len(segments), segments)
	}
	for i, seg := range segments {
		rec := recordOf(schema, rows[seg[0]:seg[1]])
		want, err := ref.WriteFile(context.Background(), []arrow.RecordBatch{rec})
		rec.Release()
		if err != nil {
			t.Fatal(err)
		}
		sameFile(t, dir, got[i], wantDir, want)
	}
}

// TestReview10DegenerateColumns: pieces whose columns are all null, all
// empty strings, or one very long string, are WriteFile's bytes.
func TestReview10DegenerateColumns(t *testing.T) {
	schema := testSchema()
	cases := map[string]func(i int, r anyRow){
		"all-null": func(i int, r anyRow) {
			for j, f := range schema.Fields() {
				if f.Nullable {
					r[j] = nil
				}
			}
		},
		"empty-strings": func(i int, r anyRow) { r[1] = "" },
		"nulls-in-first-piece-only": func(i int, r anyRow) {
			if i < 1024 {
				r[1], r[2], r[3] = nil, nil, nil
			}
		},
		"huge-string": func(i int, r anyRow) {
			if i == 1500 {
				r[1] = strings.Repeat("ab", 3<<20)
			}
		},
	}
	for name, mod := range cases {
		for _, group := range []int64{0, 700, 1500} {
			t.Run(fmt.Sprintf("%s/%d", name, group), func(t *testing.T) {
				rows := randomRows(rand.New(rand.NewPCG(7, 9)), schema, 3100)
				for i := range rows {
					mod(i, rows[i])
				}
				writeAndCompare(t, schema, rows, 2500, group, []int{1, 2049}, WriterOptions{}, nil)
			})
		}
	}
}

// TestReview10FlushIntervalFiles: live mode (ChunkSize 1, ticks) writes
// WriteFile's files of the rows between ticks.
func TestReview10FlushIntervalFiles(t *testing.T) {
	schema := RiskEventsSchema()
	rows := randomRows(rand.New(rand.NewPCG(3, 4)), schema, 2300)
	writeAndCompare(t, schema, rows, 1000, 0, []int{10, 11, 1500, 2200}, WriterOptions{
		FlushInterval: time.Second,
		NewTicker: func(time.Duration) (<-chan time.Time, func()) {
			return make(chan time.Time), func() {}
		},
	}, nil)
}

// failFS fails every data file's write once armed.
type failFS struct {
	OSFS
	armed atomic.Bool
}

type failFile struct {
	File
	fs *failFS
}

var errInjected = errors.New("injected write failure")

func (f failFile) Write(p []byte) (int, error) {
	if f.fs.armed.Load() {
		return 0, errInjected
	}
	return f.File.Write(p)
}

func (f *failFS) CreateExcl(name string) (File, error) {
	file, err := f.OSFS.CreateExcl(name)
	if err != nil || !strings.HasSuffix(name, ".parquet") {
		return file, err
	}
	return failFile{File: file, fs: f}, nil
}

// TestReview10FailedFileWrite: a data file that cannot be written fails
// the writer: Flush and Close report it, nothing more is committed, and
// the rows before it stay committed.
func TestReview10FailedFileWrite(t *testing.T) {
	schema := testSchema()
	fsys := &failFS{}
	dir := filepath.Join(t.TempDir(), "t")
	w, err := NewWriter(dir, schema, appendAny, WriterOptions{BatchSize: 3000, Table: []Option{fixedClock, WithFS(fsys)}})
	if err != nil {
		t.Fatal(err)
	}
	rows := randomRows(rand.New(rand.NewPCG(1, 1)), schema, 5000)
	for i := range 2000 {
		if err := w.Write(rows[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	fsys.armed.Store(true)
	for i := 2000; i < 4000; i++ {
		_ = w.Write(rows[i])
	}
	if err := w.Flush(); !errors.Is(err, errInjected) {
		t.Fatalf("Flush after a failed file: %v", err)
	}
	if err := w.Write(rows[4000]); err == nil {
		t.Fatal("Write after a failure accepted")
	}
	if err := w.Close(); !errors.Is(err, errInjected) {
		t.Fatalf("Close: %v", err)
	}
	snap, err := Snapshot(dir, -1)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := snap.NumRecords(); n != 2000 {
		t.Fatalf("%d rows committed, want the 2000 before the failure", n)
	}
}

// TestReview10BuilderReleases: a fileBuilder fed batches of a checked
// allocator (plain and sliced, which it retains) holds nothing of them
// once closed or discarded.
func TestReview10BuilderReleases(t *testing.T) {
	schema := testSchema()
	rows := randomRows(rand.New(rand.NewPCG(5, 5)), schema, 3000)
	for _, discard := range []bool{false, true} {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		tab, err := Create(filepath.Join(t.TempDir(), "t"), schema, fixedClock)
		if err != nil {
			t.Fatal(err)
		}
		b := tab.newFileBuilder()
		rb := array.NewRecordBuilder(mem, schema)
		for i := range rows[:2048] {
			appendAny(rb, &rows[i])
		}
		rec := rb.NewRecordBatch()
		for _, r := range []arrow.RecordBatch{rec.NewSlice(0, 1024), rec.NewSlice(1024, 2048)} {
			if err := b.Write(r); err != nil {
				t.Fatal(err)
			}
			r.Release()
		}
		rec.Release()
		for i := range rows[2048:] {
			appendAny(rb, &rows[2048+i])
		}
		rec = rb.NewRecordBatch()
		if err := b.Write(rec); err != nil {
			t.Fatal(err)
		}
		rec.Release()
		rb.Release()
		if discard {
			b.Discard()
		} else if _, ok, err := b.Close(context.Background()); err != nil || !ok {
			t.Fatal(ok, err)
		}
		mem.AssertSize(t, 0)
	}
}
