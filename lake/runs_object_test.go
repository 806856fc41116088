package lake

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// TestOpenRunsFetched: the views over runs on an object store answer as
// the views over the same runs in a local folder.
func TestOpenRunsFetched(t *testing.T) {
	be := s3Backend(t)
	if be.skip != "" {
		t.Skip(be.skip)
	}
	ctx := context.Background()
	local := t.TempDir()
	for r, run := range []string{"run-a", "run-b"} {
		ew, err := NewEventWriter(filepath.Join(local, run, RiskEventsTable), run, WriterOptions{BatchSize: 40})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 100 * (r + 1) {
			ew.Emit(sampleEvent(i))
		}
		if err := ew.Close(); err != nil {
			t.Fatal(err)
		}
		if r == 0 { // run-b has no equity table
			qw, err := NewEquityWriter(filepath.Join(local, run, EquityTable), WriterOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for i := range 10 {
				if err := qw.Write(EquityRow{RunID: run, Time: t0.Add(time.Duration(i) * time.Minute), Equity: 1e5 + float64(i)}); err != nil {
					t.Fatal(err)
				}
			}
			if err := qw.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
	remote := JoinPath(be.newRoot(t), "runs")
	for _, run := range []string{"run-a", "run-b"} {
		if err := UploadTree(ctx, be.fs, filepath.Join(local, run), JoinPath(remote, run)); err != nil {
			t.Fatal(err)
		}
	}
	want, err := OpenRuns(ctx, local)
	if err != nil {
		t.Fatal(err)
	}
	defer want.Close()
	c := newTestCache(t)
	gotR, err := OpenRunsFetched(ctx, be.fs, remote, []string{"run-a", "run-b"}, c)
	if err != nil {
		t.Fatal(err)
	}
	got := gotR.DB
	defer got.Close()
	if len(gotR.Files) != 3+5+1 { // 100/40 and 200/40 event files, one equity file
		t.Fatalf("files %v", gotR.Files)
	}
	for _, q := range []string{
		"SELECT run_id, count(*), max(seq), round(sum(value), 6) FROM risk_events GROUP BY run_id ORDER BY run_id",
		"SELECT * FROM risk_events ORDER BY run_id, seq",
		"SELECT run_id, count(*), sum(equity) FROM equity GROUP BY run_id ORDER BY run_id",
		"SELECT count(*) FROM fills",
	} {
		a, b := queryStrings(t, want, q), queryStrings(t, got, q)
		if len(a) == 0 || !reflect.DeepEqual(a, b) {
			t.Fatalf("%s:\nlocal %v\ns3    %v", q, a, b)
		}
	}
	// Only the runs asked for.
	oneR, err := OpenRunsFetched(ctx, be.fs, remote, []string{"run-b"}, c)
	if err != nil {
		t.Fatal(err)
	}
	one := oneR.DB
	defer one.Close()
	if r := queryStrings(t, one, "SELECT DISTINCT run_id FROM risk_events"); !reflect.DeepEqual(r, []string{"[run-b]"}) {
		t.Fatalf("runs %v", r)
	}
}

func queryStrings(t *testing.T, db *sql.DB, q string) []string {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmtRow(vals))
	}
	return out
}

func fmtRow(vals []any) string {
	s := "["
	for i, v := range vals {
		if i > 0 {
			s += " "
		}
		switch x := v.(type) {
		case time.Time:
			s += x.UTC().Format(time.RFC3339Nano)
		default:
			s += fmt.Sprint(x)
		}
	}
	return s + "]"
}
