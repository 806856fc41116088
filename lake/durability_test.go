package lake

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
)

// checkTable asserts the invariants every fault must preserve: the table
// opens, no active file is missing, and the rows equal the stats.
func checkTable(t *testing.T, dir string, opts ...Option) *TableSnapshot {
	t.Helper()
	snap, err := Snapshot(dir, -1, opts...)
	if err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	if m := snap.missingFiles(); len(m) > 0 {
		t.Fatalf("version %d names missing files %v", snap.Version, m)
	}
	want, ok := snap.NumRecords()
	if !ok {
		t.Fatal("file without stats")
	}
	if got := countRows(t, snap); got != want {
		t.Fatalf("rows %d, stats say %d", got, want)
	}
	return snap
}

func TestFaultInjection(t *testing.T) {
	isData := func(n string) bool {
		return strings.HasSuffix(n, ".zstd.parquet") && !strings.Contains(n, "_delta_log")
	}
	isTmpCommit := func(n string) bool { return strings.Contains(n, "_delta_log/.") && strings.Contains(n, ".json.") }
	isCommit := func(n string) bool { return strings.HasSuffix(n, ".json") && strings.Contains(n, "_delta_log/") }
	// Which backends take the step: local files publish through a temp
	// file and a link; object stores through one conditional PUT.
	const local, object, both = 1, 2, 3
	steps := []struct {
		name      string
		op        Op
		match     func(string) bool
		committed bool // the fault hits after the commit became visible
		on        int
	}{
		{"data create", OpCreate, isData, false, both},
		{"data torn write", OpWrite, isData, false, both},
		{"data sync", OpSync, isData, false, both},
		{"data close", OpClose, isData, false, both},
		{"data dir sync", OpSyncDir, func(n string) bool { return !strings.Contains(n, "_delta_log") }, false, both},
		{"temp commit create", OpCreate, isTmpCommit, false, local},
		{"temp commit torn write", OpWrite, isTmpCommit, false, local},
		{"temp commit sync", OpSync, isTmpCommit, false, local},
		{"temp commit close", OpClose, isTmpCommit, false, local},
		{"publish link", OpLink, isCommit, false, local},
		{"log dir sync after publish", OpSyncDir, func(n string) bool { return strings.HasSuffix(n, "_delta_log") }, true, local},
		{"publish put", OpPut, isCommit, false, object},
	}
	forBackends(t, func(t *testing.T, be backend) {
		for _, s := range steps {
			if kind := map[bool]int{false: local, true: object}[IsObjectFS(be.fs)]; s.on&kind == 0 {
				continue
			}
			t.Run(s.name, func(t *testing.T) {
				dir := be.newRoot(t)
				ffs := &FaultFS{FS: be.fs}
				tbl, err := Create(dir, testSchema(), WithFS(ffs))
				if err != nil {
					t.Fatal(err)
				}
				appendRows(t, tbl, 0, 10)
				appendRows(t, tbl, 10, 10)
				var mu sync.Mutex
				hits := 0
				ffs.Fault = func(op Op, name string) error {
					mu.Lock()
					defer mu.Unlock()
					if op == s.op && s.match(name) && hits == 0 {
						hits++
						return ErrInjected
					}
					return nil
				}
				rec := testBatch(20, 10)
				defer rec.Release()
				_, err = tbl.Append(context.Background(), []arrow.RecordBatch{rec}, CommitInfo{})
				if !errors.Is(err, ErrInjected) || hits != 1 {
					t.Fatalf("Append = %v (hits %d)", err, hits)
				}
				ffs.Fault = nil
				snap := checkTable(t, dir, be.opts()...)
				want := int64(2)
				if s.committed {
					want = 3
				}
				if snap.Version != want {
					t.Fatalf("version %d, want %d", snap.Version, want)
				}
				// The same Table and a fresh one both append next.
				if v := appendRows(t, tbl, 100, 5); v != want+1 {
					t.Fatalf("next append: version %d, want %d", v, want+1)
				}
				fresh, err := Open(dir, be.opts()...)
				if err != nil {
					t.Fatal(err)
				}
				if v := appendRows(t, fresh, 200, 5); v != want+2 {
					t.Fatalf("fresh append: version %d", v)
				}
				checkTable(t, dir, be.opts()...)
			})
		}
	})
}

func TestConcurrentWriters(t *testing.T) {
	forBackends(t, func(t *testing.T, be backend) {
		// Fewer on the object store: every request is a round trip.
		writers, appends := 8, 50
		if be.name == "s3" {
			writers, appends = 4, 12
		}
		testConcurrentWriters(t, be, writers, appends)
	})
}

func testConcurrentWriters(t *testing.T, be backend, writers, appends int) {
	const rows = 3
	dir := be.newRoot(t)
	if _, err := Create(dir, testSchema(), be.opts()...); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tbl, err := Open(dir, be.opts()...) // one Table per writer, as separate processes would
			if err != nil {
				errs <- err
				return
			}
			for i := range appends {
				rec := testBatch(int64(w*10_000+i*rows), rows)
				_, err := tbl.Append(context.Background(), []arrow.RecordBatch{rec}, CommitInfo{})
				rec.Release()
				if err != nil {
					errs <- fmt.Errorf("writer %d append %d: %w", w, i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	l, err := listLog(be.fs, JoinPath(dir, logDirName))
	if err != nil {
		t.Fatal(err)
	}
	if len(l.commits) != writers*appends+1 {
		t.Fatalf("%d commits", len(l.commits))
	}
	for v := range int64(writers*appends + 1) {
		if !l.commits[v] {
			t.Fatalf("version %d missing", v)
		}
	}
	snap := checkTable(t, dir, be.opts()...)
	if snap.Version != int64(writers*appends) || len(snap.Files) != writers*appends {
		t.Fatalf("version %d files %d", snap.Version, len(snap.Files))
	}
	db, err := OpenDuckDB()
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	local, err := snap.Local(context.Background(), newTestCache(t))
	if err != nil {
		t.Fatal(err)
	}
	sel, _ := local.SelectSQL()
	var n, distinct int64
	if err := db.QueryRow("SELECT count(*), count(DISTINCT id) FROM ("+sel+")").Scan(&n, &distinct); err != nil {
		t.Fatal(err)
	}
	if n != int64(writers*appends*rows) || distinct != n {
		t.Fatalf("rows %d distinct %d", n, distinct)
	}
}

// TestSigkillChild is the child of TestSigkillMidAppend: it appends until
// killed.
func TestSigkillChild(t *testing.T) {
	dir := os.Getenv("LAKE_SIGKILL_DIR")
	if dir == "" {
		t.Skip("child of TestSigkillMidAppend")
	}
	var opts []Option
	if IsObjectPath(dir) {
		opts = append(opts, WithFS(newTestS3FS(t, nil, 0)))
	}
	tbl, err := OpenOrCreate(dir, testSchema(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	for i := int64(0); ; i++ {
		appendRows(t, tbl, i*50, 50)
	}
}

func TestSigkillMidAppend(t *testing.T) {
	if os.Getenv("LAKE_SIGKILL_DIR") != "" {
		t.Skip("in the child")
	}
	forBackends(t, func(t *testing.T, be backend) {
		testSigkillMidAppend(t, be)
	})
}

// testSigkillMidAppend: a child process appends until SIGKILLed at a
// different point each round; nothing partial is visible and the next
// append takes exactly the next version.
func testSigkillMidAppend(t *testing.T, be backend) {
	dir := be.newRoot(t)
	for round := range 3 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestSigkillChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), "LAKE_SIGKILL_DIR="+dir)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Kill at a different point each round, once commits are flowing.
		deadline := time.Now().Add(20 * time.Second)
		target := int64(5 + 7*round)
		for {
			if s, err := Snapshot(dir, -1, be.opts()...); err == nil && s.Version >= target {
				break
			}
			if time.Now().After(deadline) {
				_ = cmd.Process.Kill()
				t.Fatal("child made no progress")
			}
			time.Sleep(time.Duration(3+round) * time.Millisecond)
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		snap := checkTable(t, dir, be.opts()...)
		tbl, err := Open(dir, be.opts()...)
		if err != nil {
			t.Fatal(err)
		}
		if v := appendRows(t, tbl, 1_000_000+int64(round)*100, 5); v != snap.Version+1 {
			t.Fatalf("append after kill: version %d, want %d", v, snap.Version+1)
		}
	}
}
