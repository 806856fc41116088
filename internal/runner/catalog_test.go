package runner

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/optionsrisk/backtest/feeds"
	"github.com/optionsrisk/backtest/lake"
	"github.com/optionsrisk/backtest/scenarios"
)

// smallScenario is the CLI tests' one-week synthetic scenario.
func smallScenario(t *testing.T, sets ...string) *scenarios.Loaded {
	t.Helper()
	l, err := scenarios.Load("../../cmd/backtest/testdata/small.yaml", sets)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// catalogIDs returns the run ids of the catalog's active rows, sorted
// (duplicates kept).
func catalogIDs(t *testing.T, out string) []string {
	t.Helper()
	snap, err := lake.Snapshot(filepath.Join(out, CatalogDir), -1)
	if errors.Is(err, lake.ErrNotTable) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := snap.ReadArrow(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	var ids []string
	tr := array.NewTableReader(tbl, 0)
	defer tr.Release()
	for tr.Next() {
		col := tr.RecordBatch().Column(0).(*array.String)
		for i := range col.Len() {
			ids = append(ids, strings.Clone(col.Value(i)))
		}
	}
	slices.Sort(ids)
	return ids
}

// assertConsistent checks published ⇔ catalogued, each run once.
func assertConsistent(t *testing.T, out string) {
	t.Helper()
	pub, err := PublishedRuns(out)
	if err != nil {
		t.Fatal(err)
	}
	got := catalogIDs(t, out)
	if !slices.Equal(pub, got) && !(len(pub) == 0 && len(got) == 0) {
		t.Fatalf("published %v, catalogued %v", pub, got)
	}
}

func runOnce(t *testing.T, o Options) (*Outcome, error) {
	t.Helper()
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Scenario == nil {
		o.Scenario = smallScenario(t)
	}
	return Run(context.Background(), o)
}

// A failure at each publish step, then the next command (Reconcile):
// published ⇔ catalogued, each run once.
func TestPublishFaults(t *testing.T) {
	ctx := context.Background()
	injected := errors.New("injected")
	cases := []struct {
		name      string
		hook      func(step string) error
		fault     func(op lake.Op, name string) error
		staging   func(op lake.Op, name string) error
		published bool
		pending   bool
	}{
		{name: "staging table write fails", staging: func(op lake.Op, name string) error {
			if op == lake.OpWrite && strings.Contains(name, "/fills/") && strings.HasSuffix(name, ".parquet") {
				return injected
			}
			return nil
		}},
		{name: "staging commit fails", staging: func(op lake.Op, name string) error {
			if op == lake.OpLink && strings.Contains(name, "/risk_events/_delta_log/") {
				return injected
			}
			return nil
		}},
		{name: "staging fails before rename", hook: func(s string) error {
			if s == "rename" {
				return injected
			}
			return nil
		}},
		{name: "killed before catalog", published: true, pending: true, hook: func(s string) error {
			if s == "catalog" {
				return injected
			}
			return nil
		}},
		{name: "catalog data file write fails", published: true, pending: true, fault: func(op lake.Op, name string) error {
			if op == lake.OpWrite && strings.HasSuffix(name, ".parquet") && !strings.Contains(name, "_delta_log") {
				return injected
			}
			return nil
		}},
		{name: "catalog commit link fails", published: true, pending: true, fault: func(op lake.Op, name string) error {
			if op == lake.OpLink && strings.Contains(name, "_delta_log") && strings.HasSuffix(name, ".json") && !strings.HasSuffix(name, "00000000000000000000.json") {
				return injected
			}
			return nil
		}},
		{name: "commit landed but its folder sync fails", published: true, pending: true, fault: func(op lake.Op, name string) error {
			if op == lake.OpSyncDir && strings.HasSuffix(name, "_delta_log") {
				return injected
			}
			return nil
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := t.TempDir()
			// One run already catalogued, so the faults hit a later commit.
			if _, err := runOnce(t, Options{OutDir: out, RunID: "first"}); err != nil {
				t.Fatal(err)
			}
			o := Options{OutDir: out, RunID: "second", Hook: c.hook}
			if c.fault != nil {
				o.CatalogOptions = []lake.Option{lake.WithFS(&lake.FaultFS{FS: lake.OSFS{}, Fault: c.fault})}
			}
			if c.staging != nil {
				o.TableOptions = []lake.Option{lake.WithFS(&lake.FaultFS{FS: lake.OSFS{}, Fault: c.staging})}
			}
			res, err := runOnce(t, o)
			_, statErr := os.Stat(filepath.Join(out, "second", "run.json"))
			if c.published != (statErr == nil) {
				t.Fatalf("published = %v, want %v (run err %v)", statErr == nil, c.published, err)
			}
			if c.published {
				if err != nil {
					t.Fatalf("a published run returned an error: %v", err)
				}
				if c.pending != (res.CatalogErr != nil) {
					t.Fatalf("CatalogErr = %v, want pending %v", res.CatalogErr, c.pending)
				}
				if c.pending && (!errors.Is(res.CatalogErr, ErrCatalogPending) || !strings.Contains(res.CatalogErr.Error(), "needs no retry")) {
					t.Fatalf("CatalogErr %q does not say the run needs no retry", res.CatalogErr)
				}
			} else {
				if err == nil {
					t.Fatal("a failed publish returned no error")
				}
				if left, _ := filepath.Glob(filepath.Join(out, StagingDir, "second*")); len(left) != 0 {
					t.Fatalf("a failed run left %v in staging", left)
				}
			}
			if _, err := Reconcile(ctx, out); err != nil {
				t.Fatal(err)
			}
			assertConsistent(t, out)
			again, err := Reconcile(ctx, out)
			if err != nil || len(again) != 0 {
				t.Fatalf("second Reconcile added %v (%v)", again, err)
			}
		})
	}
}

// A failure writing the checkpoint hint (_last_checkpoint) never fails
// the catalog commit, and the table stays readable.
func TestCatalogCheckpointFault(t *testing.T) {
	ctx := context.Background()
	out := t.TempDir()
	if _, err := runOnce(t, Options{OutDir: out, RunID: "r0"}); err != nil {
		t.Fatal(err)
	}
	fault := lake.WithFS(&lake.FaultFS{FS: lake.OSFS{}, Fault: func(op lake.Op, name string) error {
		if strings.HasSuffix(name, "_last_checkpoint") || strings.Contains(name, "checkpoint.parquet") {
			return errors.New("injected")
		}
		return nil
	}})
	// Versions 1..12 pass checkpoint 10.
	for i := range 12 {
		id := "r" + string(rune('a'+i))
		if err := os.Rename(filepath.Join(out, "r0"), filepath.Join(out, id)); err != nil {
			t.Fatal(err)
		}
		if err := CatalogRuns(ctx, out, []string{id}, fault); err != nil {
			t.Fatalf("commit %d: %v", i, err)
		}
		if err := os.Rename(filepath.Join(out, id), filepath.Join(out, "r0")); err != nil {
			t.Fatal(err)
		}
	}
	gone, err := CollectGarbage(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	if len(gone) != 12 {
		t.Fatalf("gc removed %v, want the 12 renamed ids", gone)
	}
	assertConsistent(t, out)
}

// Two writers cataloguing the same runs at once, and the same run again
// and again: one row each.
func TestCatalogIdempotentAndConcurrent(t *testing.T) {
	ctx := context.Background()
	out := t.TempDir()
	for _, id := range []string{"a", "b", "c"} {
		if _, err := runOnce(t, Options{OutDir: out, RunID: id, NoCatalog: true}); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() { errs <- CatalogRuns(ctx, out, []string{"a", "b", "c"}) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := catalogIDs(t, out); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Fatalf("8 concurrent writers: catalog %v, want [a b c]", got)
	}
	// A folder deleted by hand and run again under the same id: its row
	// is replaced, not duplicated.
	if err := os.RemoveAll(filepath.Join(out, "a")); err != nil {
		t.Fatal(err)
	}
	if _, err := runOnce(t, Options{OutDir: out, RunID: "a", Scenario: smallScenario(t, "seed=7")}); err != nil {
		t.Fatal(err)
	}
	assertConsistent(t, out)
	// rm and gc.
	if err := os.RemoveAll(filepath.Join(out, "b")); err != nil {
		t.Fatal(err)
	}
	if got := catalogIDs(t, out); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Fatalf("before gc: %v", got)
	}
	gone, err := CollectGarbage(ctx, out)
	if err != nil || !slices.Equal(gone, []string{"b"}) {
		t.Fatalf("gc = %v, %v; want [b]", gone, err)
	}
	removed, err := RemoveRuns(ctx, out, []string{"a"})
	if err != nil || !slices.Equal(removed, []string{"a"}) {
		t.Fatalf("rm = %v, %v", removed, err)
	}
	assertConsistent(t, out)
	if _, err := RemoveRuns(ctx, out, []string{"nope"}); !errors.Is(err, ErrBadInput) {
		t.Fatalf("rm of an unknown run: %v, want bad input", err)
	}
	// The removed id can be published and catalogued again.
	if _, err := runOnce(t, Options{OutDir: out, RunID: "a"}); err != nil {
		t.Fatal(err)
	}
	assertConsistent(t, out)
	// delta-rs reads the catalog (txn, remove and add actions) the same.
	if _, err := os.Stat(venvPython); err == nil {
		cmd := exec.Command(venvPython, "-c", "import deltalake,sys,os; print(sorted(deltalake.DeltaTable(sys.argv[1]).to_pyarrow_table().column('run_id').to_pylist()), flush=True); os._exit(0)",
			filepath.Join(out, CatalogDir))
		b, err := cmd.CombinedOutput()
		if err != nil && !strings.Contains(string(b), "No module named") {
			t.Fatalf("delta-rs: %v\n%s", err, b)
		}
		if err == nil && strings.TrimSpace(string(b)) != "['a', 'c']" {
			t.Fatalf("delta-rs reads %s, want ['a', 'c']", b)
		}
	}
}

const venvPython = "/work/venv/bin/python"

// Run ids: one validator for every path, and reservations that exclude
// other holders.
func TestRunIDs(t *testing.T) {
	for _, c := range []struct {
		id string
		ok bool
	}{
		{"spy_crash-1a2b3c4d", true}, {"a.b_c-D9", true}, {"../escape", false}, {".hidden", false},
		{"_catalog", false}, {"SPY crash v2", false}, {"a/b", false}, {"", false}, {strings.Repeat("x", 129), false},
		{"..", false}, {`a\b`, false},
	} {
		if got := CheckRunID(c.id) == nil; got != c.ok {
			t.Errorf("CheckRunID(%q) ok = %v, want %v", c.id, got, c.ok)
		}
	}
	l := smallScenario(t, "name=../escape")
	if _, err := DefaultRunID(l); !errors.Is(err, ErrBadInput) {
		t.Fatalf("DefaultRunID of name ../escape: %v, want bad input", err)
	}
	ctx := context.Background()
	out := t.TempDir()
	os.MkdirAll(filepath.Join(out, StagingDir), 0o755)
	r1, err := reserveID(ctx, out, "x", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reserveID(ctx, out, "x", false); !errors.Is(err, ErrRunIDBusy) || !strings.Contains(err.Error(), "run id x is being written by another process") {
		t.Fatalf("second reservation: %v", err)
	}
	d1, err := reserveDefault(ctx, out, "x")
	if err != nil || d1.id != "x.2" {
		t.Fatalf("default id next to a busy one: %v, %v", d1, err)
	}
	os.Mkdir(filepath.Join(out, "x"), 0o755) // published meanwhile
	r1.release()
	d1.release()
	if _, err := reserveID(ctx, out, "x", false); !errors.Is(err, ErrRunIDPublished) {
		t.Fatalf("reserving a published id: %v", err)
	}
}

// A partitioned Delta table as a feed is refused with a clear message
// (its partition columns live only in the log).
func TestPartitionedFeedRefused(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "_delta_log"), 0o755); err != nil {
		t.Fatal(err)
	}
	commit := `{"protocol":{"minReaderVersion":1,"minWriterVersion":2}}
{"metaData":{"id":"x","format":{"provider":"parquet","options":{}},"schemaString":"{\"type\":\"struct\",\"fields\":[{\"name\":\"time\",\"type\":\"timestamp\",\"nullable\":true,\"metadata\":{}},{\"name\":\"p\",\"type\":\"string\",\"nullable\":true,\"metadata\":{}}]}","partitionColumns":["p"],"configuration":{}}}
`
	if err := os.WriteFile(filepath.Join(dir, "_delta_log", "00000000000000000000.json"), []byte(commit), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := deltaLister(&feeds.FileConfig{})(dir)
	if !errors.Is(err, lake.ErrUnsupported) || !strings.Contains(err.Error(), "partitioned by [p]") {
		t.Fatalf("partitioned feed table: %v", err)
	}
}
