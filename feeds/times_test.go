package feeds

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Text times: a UTC offset makes an instant; no offset is wall clock in the
// configured zone; a %z format reads every value as an instant.
func TestTextTimesWithAndWithoutOffsets(t *testing.T) {
	dir := t.TempDir()
	csv := filepath.Join(dir, "q.csv")
	body := "time,symbol,bid,ask,underlying_price\n" +
		"2020-03-20 09:45:00,SPY200320P00240000,1,1.1,240\n" + // wall clock, New York: 13:45Z
		"2020-03-20T10:00:00-04:00,SPY200320P00240000,1,1.1,240\n" + // 14:00Z
		"2020-03-20T14:30:00Z,SPY200320P00240000,1,1.1,240\n" + // 14:30Z
		"2020-03-20 11:00:00+0100,SPY200320P00240000,1,1.1,240\n" + // 10:00Z: out of order, not shifted into place
		"2020-03-20 15:00:00,SPY200320P00240000,1,1.1,240\n" // 19:00Z
	if err := os.WriteFile(csv, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	cols := map[string]string{"time": "time", "symbol": "symbol", "bid": "bid", "ask": "ask", "underlying_price": "underlying_price"}
	src, err := OpenFile(context.Background(), FileConfig{Path: csv, Columns: cols, Timezone: "America/New_York"}, Skip, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var got []string
	for _, q := range drain(t, src) {
		got = append(got, MicrosTime(q.Time).Format("15:04"))
	}
	want := []string{"13:45", "14:00", "14:30", "19:00"}
	if len(got) != len(want) {
		t.Fatalf("times %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("times %v, want %v", got, want)
		}
	}
	if n := src.Quality()[KindOutOfOrder]; n != 1 {
		t.Errorf("out_of_order %d, want 1 (the +01:00 row is 10:00Z)", n)
	}

	// A %z format: instants, whatever the zone.
	csv2 := filepath.Join(dir, "z.csv")
	body = "time,symbol,bid,ask,underlying_price\n2020-03-08 01:30 -0500,SPY200320P00240000,1,1.1,240\n2020-03-08 03:30 -0400,SPY200320P00240000,1,1.1,240\n"
	if err := os.WriteFile(csv2, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	src2, err := OpenFile(context.Background(), FileConfig{Path: csv2, Columns: cols, Timezone: "America/New_York", TimeFormat: "%Y-%m-%d %H:%M %z"}, Reject, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer src2.Close()
	qs := drain(t, src2)
	if len(qs) != 2 || !MicrosTime(qs[0].Time).Equal(time.Date(2020, 3, 8, 6, 30, 0, 0, time.UTC)) || !MicrosTime(qs[1].Time).Equal(time.Date(2020, 3, 8, 7, 30, 0, 0, time.UTC)) {
		t.Fatalf("%%z times across the DST change: %v", qs)
	}
}

func TestFileNameAndPresetGuards(t *testing.T) {
	dir := t.TempDir()
	// q[1].csv exists, and so does q1.csv, which DuckDB would read instead.
	src, err := os.ReadFile("testdata/deltaneutral_quirks.csv")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"q[1].csv", "q1.csv"} {
		if err := os.WriteFile(filepath.Join(dir, n), src, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, err = OpenFile(context.Background(), FileConfig{Path: filepath.Join(dir, "q[[]1].csv"), Preset: PresetDeltaNeutral}, Skip, nil)
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "path" {
		t.Errorf("a file name with glob characters: %v, want a path FieldError", err)
	}
	_, err = OpenFile(context.Background(), FileConfig{Path: filepath.Join(dir, "q1.csv"), Preset: PresetDeltaNeutral, TimeFormat: "%m/%d/%Y %H:%M"}, Skip, nil)
	if !errors.As(err, &fe) || fe.Field != "time_format" {
		t.Errorf("deltaneutral with a time of day: %v, want a time_format FieldError", err)
	}
}
