package lake

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/optionsrisk/backtest/risk"
)

var t0 = time.Date(2020, 3, 16, 13, 30, 0, 0, time.UTC)

// sampleEvent is a deterministic, realistic-looking event i.
func sampleEvent(i int) risk.Event {
	e := risk.Event{
		Time:        t0.Add(time.Duration(i) * time.Second),
		Component:   risk.TrailingStopComponent,
		Type:        risk.EventUpdate,
		ExecutionID: fmt.Sprintf("exec-%06d", i%5000),
		Symbol:      "SPY",
		Contract:    "SPY200417P00240000",
		Value:       1.25 + float64(i%100)/100,
		Threshold:   risk.NoValue,
		Reason:      "stop moved with a new best premium",
	}
	switch i % 7 {
	case 0:
		e.Component, e.Type = risk.CircuitBreakerComponent, risk.EventStateChange
		e.StateFrom, e.StateTo = "closed", "open"
		e.Details = `{"failures":5}`
	case 3:
		e.Component, e.Type = risk.PortfolioLimitsComponent, risk.EventRejected
		e.Rule = "portfolio_delta"
		e.Threshold = 50
	}
	return e
}

func TestEventWriterRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "risk_events")
	w, err := NewEventWriter(dir, "run-1", WriterOptions{BatchSize: 100, CommitEvery: 2, ChunkSize: 7, QueueDepth: 2})
	if err != nil {
		t.Fatal(err)
	}
	const n = 1050
	for i := range n {
		w.Emit(sampleEvent(i))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if w.Seq() != n {
		t.Fatalf("seq %d", w.Seq())
	}
	snap, err := Snapshot(dir, -1)
	if err != nil {
		t.Fatal(err)
	}
	// 11 files (10 full + 1 partial), 2 per commit + the last: versions 1..6.
	if len(snap.Files) != 11 || snap.Version != 6 {
		t.Fatalf("files %d version %d", len(snap.Files), snap.Version)
	}
	if got, ok := snap.NumRecords(); !ok || got != n {
		t.Fatalf("numRecords %d %v", got, ok)
	}
	db, err := OpenDuckDB()
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	if err := snap.CreateView(ctx, db, "ev"); err != nil {
		t.Fatal(err)
	}
	var cnt, minSeq, maxSeq, nullThr, nullDetails int64
	err = db.QueryRowContext(ctx, `SELECT count(*), min(seq), max(seq), count(*) FILTER (WHERE threshold IS NULL),
		count(*) FILTER (WHERE details IS NULL) FROM ev`).Scan(&cnt, &minSeq, &maxSeq, &nullThr, &nullDetails)
	if err != nil {
		t.Fatal(err)
	}
	if cnt != n || minSeq != 1 || maxSeq != n {
		t.Fatalf("count %d seq %d..%d", cnt, minSeq, maxSeq)
	}
	rows, err := db.QueryContext(ctx, `SELECT seq, event_time, component, event_type, coalesce(state_from,''), coalesce(rule,''), value, coalesce(threshold, 'NaN'::DOUBLE), coalesce(details,'') FROM ev ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	i := 0
	for rows.Next() {
		var seq int64
		var at time.Time
		var comp, typ, from, rule, details string
		var value, thr float64
		if err := rows.Scan(&seq, &at, &comp, &typ, &from, &rule, &value, &thr, &details); err != nil {
			t.Fatal(err)
		}
		e := sampleEvent(i)
		if seq != int64(i+1) || !at.Equal(e.Time) || comp != e.Component.String() || typ != e.Type.String() ||
			from != e.StateFrom || rule != e.Rule || value != e.Value || details != e.Details ||
			(math.IsNaN(e.Threshold) != math.IsNaN(thr)) || (!math.IsNaN(thr) && thr != e.Threshold) {
			t.Fatalf("row %d: %d %v %s %s %q %q %v %v %q; want %+v", i, seq, at, comp, typ, from, rule, value, thr, details, e)
		}
		i++
	}
	if i != n {
		t.Fatalf("read %d rows", i)
	}
	if want := int64(n - (n+6)/7); nullDetails != want {
		t.Fatalf("null details %d, want %d", nullDetails, want)
	}
}

func TestEventWriterFailureStopsRun(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "risk_events")
	ffs := &FaultFS{FS: OSFS{}}
	w, err := NewEventWriter(dir, "run-f", WriterOptions{BatchSize: 10, ChunkSize: 5, Table: []Option{WithFS(ffs)}})
	if err != nil {
		t.Fatal(err)
	}
	ffs.Fault = func(op Op, name string) error {
		if op == OpCreate && strings.HasSuffix(name, ".parquet") {
			return ErrInjected
		}
		return nil
	}
	for i := range 1000 { // never blocks forever: the writer keeps draining
		w.Emit(sampleEvent(i))
	}
	if err := w.Err(); !errors.Is(err, ErrInjected) {
		t.Fatalf("Err = %v", err)
	}
	if err := w.Close(); !errors.Is(err, ErrInjected) {
		t.Fatalf("Close = %v", err)
	}
}

func TestWriterFlushInterval(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "equity")
	tick := make(chan time.Time)
	stopped := make(chan struct{})
	w, err := NewEquityWriter(dir, WriterOptions{
		FlushInterval: 5 * time.Second,
		NewTicker: func(time.Duration) (<-chan time.Time, func()) {
			return tick, func() { close(stopped) }
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := w.Write(EquityRow{RunID: "r", Time: t0.Add(time.Duration(i) * time.Minute), Equity: 100, Cash: math.NaN()}); err != nil {
			t.Fatal(err)
		}
	}
	// Nothing is committed until a tick (BatchSize is far away)...
	time.Sleep(20 * time.Millisecond)
	if snap, err := w.Table().Snapshot(-1); err != nil || snap.Version != 0 {
		t.Fatalf("before the tick: %v %v", snap, err)
	}
	// ...and a tick commits what the writer holds, without Flush or Close.
	tick <- t0
	deadline := time.Now().Add(10 * time.Second)
	for {
		snap, err := w.Table().Snapshot(-1)
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := snap.NumRecords(); n == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the tick did not commit the rows (version %d)", snap.Version)
		}
		// Rows still queued when the tick arrived go with a later tick.
		select {
		case tick <- t0:
		case <-time.After(5 * time.Millisecond):
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	<-stopped
}

func BenchmarkEventWriter(b *testing.B) {
	events := make([]risk.Event, 4096)
	for i := range events {
		events[i] = sampleEvent(i)
	}
	dir := filepath.Join(b.TempDir(), "risk_events")
	w, err := NewEventWriter(dir, "bench-run-0001", WriterOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		e := events[i&4095]
		e.Time = t0.Add(time.Duration(i) * time.Millisecond)
		w.Emit(e)
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	snap, err := Snapshot(dir, -1)
	if err != nil {
		b.Fatal(err)
	}
	var size int64
	for _, f := range snap.Files {
		size += f.Size
	}
	b.ReportMetric(float64(size)/float64(b.N), "bytes/event")
}
