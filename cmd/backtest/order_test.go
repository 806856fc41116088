package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/optionsrisk/backtest/lake"
)

// summaryResults is summary.json without its run part (wall clock, run id).
func summaryResults(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(b), `"run": {`)
	if i < 0 {
		t.Fatalf("%s/summary.json has no run part", dir)
	}
	return string(b[:i])
}

// sameRuns fails unless the runs' fills, risk events, equity and summary
// results are identical to the reference run's.
func sameRuns(t *testing.T, out, ref string, ids ...string) {
	t.Helper()
	db, err := lake.OpenRuns(context.Background(), out)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, tb := range []struct{ name, order string }{{"risk_events", "seq"}, {"fills", "seq"}, {"equity", "1"}} {
		want := rows(t, db, tb.name, ref, tb.order)
		if len(want) == 0 && tb.name != "equity" {
			t.Fatalf("%s: the reference run wrote no rows", tb.name)
		}
		for _, id := range ids {
			if got := rows(t, db, tb.name, id, tb.order); !reflect.DeepEqual(got, want) {
				t.Errorf("%s: run %s has %d rows, the reference %d; equal false", tb.name, id, len(got), len(want))
			}
		}
	}
	want := summaryResults(t, filepath.Join(out, ref))
	for _, id := range ids {
		if summaryResults(t, filepath.Join(out, id)) != want {
			t.Errorf("summary.json results of %s differ from %s", id, ref)
		}
	}
}

// Rows out of time order, within a file or across files, replay exactly as
// the same quotes sorted: a shuffled copy, a copy sorted by contract, one
// with each instant's rows reversed, a Delta
// table whose files interleave (as after an optimize), and a folder
// partitioned by right.
func TestRowOrderDoesNotMatter(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	pq := filepath.Join(dir, "feed.parquet")
	if code, _, stderr := cli(t, "data", "gen", "testdata/small.yaml", "-o", pq); code != 0 {
		t.Fatal(stderr)
	}
	db, err := lake.OpenDuckDB()
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	exec := func(q string) {
		t.Helper()
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	src := "read_parquet('" + pq + "')"
	shuffled := filepath.Join(dir, "shuffled.parquet")
	exec(fmt.Sprintf("COPY (SELECT * FROM %s ORDER BY hash(symbol, time)) TO '%s' (FORMAT parquet, ROW_GROUP_SIZE 2048)", src, shuffled))
	byContract := filepath.Join(dir, "by_contract.parquet")
	exec(fmt.Sprintf("COPY (SELECT * FROM %s ORDER BY symbol, time) TO '%s' (FORMAT parquet)", src, byContract))
	// In time order, but each instant's rows in reverse symbol order: read
	// in file order, put in symbol order by feeds.Canonical.
	reversed := filepath.Join(dir, "reversed.parquet")
	exec(fmt.Sprintf("COPY (SELECT * FROM %s ORDER BY time, symbol DESC) TO '%s' (FORMAT parquet)", src, reversed))
	parts := filepath.Join(dir, "parts")
	exec(fmt.Sprintf("COPY (SELECT * EXCLUDE (contract) FROM %s ORDER BY symbol DESC, time) TO '%s' (FORMAT parquet, PARTITION_BY (\"right\"))", src, parts))
	if files, _ := filepath.Glob(filepath.Join(parts, "*", "*.parquet")); len(files) != 2 {
		t.Fatalf("partitioned copy: %d files, want 2 (right=C, right=P)", len(files))
	}

	// A Delta table of three files, each a third of the contracts in no
	// particular order: every file spans the whole period.
	tbl, err := lake.QueryArrow(ctx, "SELECT * EXCLUDE (contract) FROM "+src+" ORDER BY hash(symbol) % 3, hash(time, symbol)")
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	table, err := lake.Create(filepath.Join(dir, "delta"), tbl.Schema())
	if err != nil {
		t.Fatal(err)
	}
	rr := array.NewTableReader(tbl, tbl.NumRows()/3+1)
	defer rr.Release()
	for rr.Next() {
		if _, err := table.Append(ctx, []arrow.RecordBatch{rr.RecordBatch()}, lake.CommitInfo{Operation: "OPTIMIZE"}); err != nil {
			t.Fatal(err)
		}
	}

	out := filepath.Join(dir, "runs")
	feed := func(path, extra string) []string {
		return []string{"--set", "feed.synthetic=null", "--set", "feed.file={path: " + path + ", preset: native" + extra + "}"}
	}
	runSmall(t, out, "sorted", feed(pq, "")...)
	runSmall(t, out, "shuffled", feed(shuffled, "")...)
	runSmall(t, out, "by_contract", feed(byContract, "")...)
	runSmall(t, out, "reversed", feed(reversed, "")...)
	runSmall(t, out, "partitioned", feed(parts, "")...) // a folder feed: its key=value folders are columns
	runSmall(t, out, "delta", feed(filepath.Join(dir, "delta"), ", format: delta")...)
	runSmall(t, out, "generator")
	sameRuns(t, out, "sorted", "shuffled", "by_contract", "reversed", "partitioned", "delta", "generator")
}
