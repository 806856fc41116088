package reports_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/optionsrisk/backtest/lake"
	"github.com/optionsrisk/backtest/reports"
)

// restoreReversed rewrites the table dir of a run folder with its rows in
// reverse key order, as three data files (the last rows in the first).
func restoreReversed(t *testing.T, dir, desc string) {
	t.Helper()
	ctx := context.Background()
	tbl, err := lake.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := lake.Snapshot(dir, -1)
	if err != nil {
		t.Fatal(err)
	}
	sel, err := snap.SelectSQL()
	if err != nil {
		t.Fatal(err)
	}
	rows, ok := snap.NumRecords()
	if !ok || rows < 3 {
		t.Fatalf("%s: %d rows, too few to reorder", dir, rows)
	}
	schema := tbl.Schema()
	parts := make([]arrow.Table, 0, 3)
	for _, cut := range [][2]int64{{0, rows / 3}, {rows / 3, 2 * rows / 3}, {2 * rows / 3, rows}} {
		part, err := lake.QueryArrow(ctx, fmt.Sprintf("SELECT * FROM (%s) ORDER BY %s LIMIT %d OFFSET %d", sel, desc, cut[1]-cut[0], cut[0]))
		if err != nil {
			t.Fatal(err)
		}
		defer part.Release()
		parts = append(parts, part)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	out, err := lake.Create(dir, schema)
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range parts {
		tr := array.NewTableReader(part, 0)
		var recs []arrow.RecordBatch
		for tr.Next() {
			rec := tr.RecordBatch()
			rec.Retain()
			recs = append(recs, rec)
		}
		tr.Release()
		if _, err := out.Append(ctx, recs, lake.CommitInfo{Operation: "WRITE"}); err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			r.Release()
		}
	}
}

// The reports read the equity curve, fills and attribution rows in stored
// order and put them in order themselves: the same run with those tables
// stored backwards, over three files, gives the same summary and pages.
func TestReportsIgnoreStoredRowOrder(t *testing.T) {
	a, sa := fixtureRun(t, "ordered")
	wantHTML := renderHTML(t, a, sa)
	wantMD := renderMarkdown(t, a, sa)
	wantJSON, err := json.Marshal(sa)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Equity) < 3 || len(a.Fills) < 3 || len(a.Attribution) < 3 {
		t.Fatalf("fixture too small: %d equity, %d fills, %d attribution rows", len(a.Equity), len(a.Fills), len(a.Attribution))
	}
	restoreReversed(t, filepath.Join(a.Dir, lake.EquityTable), "time DESC")
	restoreReversed(t, filepath.Join(a.Dir, lake.FillsTable), "seq DESC")
	restoreReversed(t, filepath.Join(a.Dir, lake.AttributionTable), "seq DESC, execution_id DESC")

	ctx := context.Background()
	b, err := reports.Load(ctx, a.Dir)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Equity[0].Time.After(b.Equity[1].Time) || b.Fills[0].Seq > b.Fills[1].Seq {
		t.Fatal("rows loaded out of order")
	}
	sb, err := reports.Summarize(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	gotJSON, err := json.Marshal(sb)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(gotJSON, wantJSON) {
		t.Error("the summary of the reordered run differs")
	}
	if !bytes.Equal(renderMarkdown(t, b, sb), wantMD) {
		t.Error("report.md of the reordered run differs")
	}
	if !bytes.Equal(renderHTML(t, b, sb), wantHTML) {
		t.Error("report.html of the reordered run differs")
	}
}

func renderMarkdown(t *testing.T, r *reports.Run, s *reports.Summary) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := reports.WriteMarkdown(&b, r, s); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
