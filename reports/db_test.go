package reports_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/optionsrisk/backtest/lake"
	"github.com/optionsrisk/backtest/reports"
)

// count is count(*) of a view on a run's connection.
func count(t *testing.T, r *reports.Run, view string) (int64, error) {
	t.Helper()
	var n int64
	err := r.DB.QueryRowContext(context.Background(), "SELECT count(*) FROM "+view).Scan(&n)
	return n, err
}

// Runs loaded at the same time share the process's DuckDB database but
// each sees its own views, and a run's views go with its connection.
func TestRunsHaveTheirOwnViews(t *testing.T) {
	a, sa := fixtureRun(t, "views-a")
	b, _ := fixtureRun(t, "views-b", "risk.trailing_stop.trail_pct=5", "broker.faults.reject_prob=0")
	na, err := count(t, a, lake.RiskEventsTable)
	if err != nil {
		t.Fatal(err)
	}
	nb, err := count(t, b, lake.RiskEventsTable)
	if err != nil {
		t.Fatal(err)
	}
	if na == nb {
		t.Fatalf("fixture runs must differ: both have %d risk events", na)
	}

	// A copy of run a without an attribution table, loaded while a (which
	// has one) is open: its connection has no attribution view.
	bare := filepath.Join(t.TempDir(), "bare")
	if err := os.CopyFS(bare, os.DirFS(a.Dir)); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(bare, lake.AttributionTable)); err != nil {
		t.Fatal(err)
	}
	r, err := reports.Load(context.Background(), bare)
	if err != nil {
		t.Fatal(err)
	}
	if r.HasAttribution {
		t.Error("a run without an attribution table has attribution")
	}
	if _, err := count(t, r, lake.AttributionTable); err == nil {
		t.Error("the attribution view of another run is visible")
	}
	r.Close()
	if n, err := count(t, a, lake.AttributionTable); err != nil || n == 0 {
		t.Errorf("run a's attribution view after another run closed: %d rows, %v", n, err)
	}

	// Reports of both runs rendered concurrently (-race) equal the
	// reports rendered alone.
	want := renderHTML(t, a, sa)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			dir := a.Dir
			if i%2 == 1 {
				dir = b.Dir
			}
			ctx := context.Background()
			r, err := reports.Load(ctx, dir)
			if err != nil {
				errs[i] = err
				return
			}
			defer r.Close()
			s, err := reports.Summarize(ctx, r)
			if err != nil {
				errs[i] = err
				return
			}
			var html bytes.Buffer
			if err := reports.WriteHTML(ctx, &html, r, s); err != nil {
				errs[i] = err
				return
			}
			if i%2 == 0 && !bytes.Equal(html.Bytes(), want) {
				t.Errorf("report %d of run a differs from the report rendered alone", i)
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("report %d: %v", i, err)
		}
	}
}

// A big run's report (a database of its own, DuckDB's default threads)
// equals the report of the shared single-threaded database.
func TestBigRunOwnDatabase(t *testing.T) {
	a, sa := fixtureRun(t, "big")
	want := renderHTML(t, a, sa)
	defer reports.SetParallelRows(reports.SetParallelRows(0))
	ctx := context.Background()
	for range 2 { // the second Load checks the first one's database is not reused
		r, err := reports.Load(ctx, a.Dir)
		if err != nil {
			t.Fatal(err)
		}
		s, err := reports.Summarize(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		if got := renderHTML(t, r, s); !bytes.Equal(got, want) {
			t.Error("the report of a run with its own database differs")
		}
		var threads int64
		if err := r.DB.QueryRowContext(ctx, "SELECT current_setting('threads')").Scan(&threads); err != nil {
			t.Fatal(err)
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		if runtime.NumCPU() > 1 && threads < 2 {
			t.Errorf("a big run's database runs %d threads on %d CPUs", threads, runtime.NumCPU())
		}
	}
	var threads int64
	if err := a.DB.QueryRowContext(ctx, "SELECT current_setting('threads')").Scan(&threads); err != nil {
		t.Fatal(err)
	}
	if threads != 1 {
		t.Errorf("the shared database runs %d threads, want 1", threads)
	}
}
