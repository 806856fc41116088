package main

import (
	"context"
	"reflect"
	"testing"
)

// TestAttributionOnOffSameRows: switching attribution off (report.attribution:
// false) changes no row of the run's other tables; its attribution table
// is empty, while on it holds rows whose seq names a risk event.
func TestAttributionOnOffSameRows(t *testing.T) {
	out := t.TempDir()
	runSmall(t, out, "on")
	runSmall(t, out, "off", "--set", "report.attribution=false")
	db, err := openRunsDB(context.Background(), out, true)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, tb := range []string{"risk_events", "fills", "equity", "trades"} {
		order := "seq"
		if tb == "equity" || tb == "trades" {
			order = "1, 2"
		}
		if a, b := rows(t, db, tb, "on", order), rows(t, db, tb, "off", order); len(a) == 0 || !reflect.DeepEqual(a, b) {
			t.Errorf("%s: attribution on and off differ (%d vs %d rows)", tb, len(a), len(b))
		}
	}
	if n := len(rows(t, db, "attribution", "off", "seq")); n != 0 {
		t.Errorf("attribution off wrote %d rows", n)
	}
	on := rows(t, db, "attribution", "on", "seq")
	if len(on) == 0 {
		t.Fatal("attribution on wrote no row")
	}
	bad := scanRows(t, db, `SELECT a.seq FROM attribution a LEFT JOIN risk_events r USING (run_id, seq)
		WHERE a.run_id = 'on' AND (r.seq IS NULL OR r.component <> a.component OR r.event_type <> a.event_type OR r.event_time <> a.event_time)`)
	if len(bad) > 0 {
		t.Errorf("attribution rows whose seq is not their risk event: %v", bad)
	}
}
