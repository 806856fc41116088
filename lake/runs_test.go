package lake

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestOpenRuns(t *testing.T) {
	ctx := context.Background()
	runs := t.TempDir()
	// Empty runs folder: the views exist and are empty.
	db, err := OpenRuns(ctx, runs)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"risk_events", "fills", "equity"} {
		var n int64
		if err := db.QueryRowContext(ctx, "SELECT count(*) FROM "+v).Scan(&n); err != nil || n != 0 {
			t.Fatalf("%s: %d %v", v, n, err)
		}
	}
	db.Close()
	if _, err := OpenRuns(ctx, filepath.Join(runs, "missing")); err == nil {
		t.Fatal("missing runs folder accepted")
	}

	for r, run := range []string{"run-a", "run-b"} {
		ew, err := NewEventWriter(filepath.Join(runs, run, RiskEventsTable), run, WriterOptions{BatchSize: 50})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 100 * (r + 1) {
			ew.Emit(sampleEvent(i))
		}
		if err := ew.Close(); err != nil {
			t.Fatal(err)
		}
		fw, err := NewFillWriter(filepath.Join(runs, run, FillsTable), WriterOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			err := fw.Write(FillRow{RunID: run, Seq: int64(i + 1), OrderTime: t0, ExecutionID: "e1", Symbol: "SPY",
				Side: "sell", Intent: "entry", Qty: 2, RequestedPrice: 1.5, FillPrice: math.NaN(), Slippage: math.NaN(),
				Commission: 1.3, Status: "rejected", Reason: "broker rejected"})
			if err != nil {
				t.Fatal(err)
			}
		}
		if err := fw.Close(); err != nil {
			t.Fatal(err)
		}
		if r == 0 { // run-b has no equity table
			qw, err := NewEquityWriter(filepath.Join(runs, run, EquityTable), WriterOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for i := range 10 {
				if err := qw.Write(EquityRow{RunID: run, Time: t0.Add(time.Duration(i) * 15 * time.Minute), Equity: 1e5, Cash: 1e5, OpenPositions: 1}); err != nil {
					t.Fatal(err)
				}
			}
			if err := qw.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Not runs: the catalog and a staging folder.
	for _, d := range []string{"_catalog", ".staging-x"} {
		if err := os.MkdirAll(filepath.Join(runs, d, RiskEventsTable), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	db, err = OpenRuns(ctx, runs)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, "SELECT run_id, count(*), max(seq) FROM risk_events GROUP BY run_id ORDER BY run_id")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var run string
		var n, maxSeq int64
		if err := rows.Scan(&run, &n, &maxSeq); err != nil {
			t.Fatal(err)
		}
		got = append(got, run)
		if want := map[string]int64{"run-a": 100, "run-b": 200}[run]; n != want || maxSeq != want {
			t.Fatalf("%s: %d rows max seq %d", run, n, maxSeq)
		}
	}
	rows.Close()
	if len(got) != 2 {
		t.Fatalf("runs %v", got)
	}
	var fills, nullPrice, equity int64
	if err := db.QueryRowContext(ctx, "SELECT count(*), count(*) FILTER (WHERE fill_price IS NULL AND fill_time IS NULL) FROM fills").Scan(&fills, &nullPrice); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM equity").Scan(&equity); err != nil {
		t.Fatal(err)
	}
	if fills != 6 || nullPrice != 6 || equity != 10 {
		t.Fatalf("fills %d (null price %d) equity %d", fills, nullPrice, equity)
	}
}
