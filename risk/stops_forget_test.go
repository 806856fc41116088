package risk

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

// TestStopsForgetAndHandle: Forget drops a stop without an event and keeps
// the others findable; UpdateStop on a looked-up stop acts and emits as
// Update by id does.
func TestStopsForgetAndHandle(t *testing.T) {
	s := StopSettings{ActivationPct: 10, TrailPct: 20}
	byID, handle := &MemorySink{}, &MemorySink{}
	a, _ := NewStops(s, byID)
	b, _ := NewStops(s, handle)
	for _, id := range []string{"x", "y", "z"} {
		for _, m := range []*Stops{a, b} {
			if err := m.Add(t0, Position{ExecutionID: id, Side: Short, EntryPremium: 2}); err != nil {
				t.Fatal(err)
			}
		}
	}
	quotes := []struct{ bid, ask float64 }{{1.9, 2.0}, {1.5, 1.6}, {1.2, 1.3}, {1.7, 1.8}}
	for i, q := range quotes {
		now := t0.Add(time.Duration(i+1) * time.Minute)
		want, err := a.Update("y", q.bid, q.ask, now)
		if err != nil {
			t.Fatal(err)
		}
		st, ok := b.Get("y")
		if !ok {
			t.Fatal("y not found")
		}
		if got := b.UpdateStop(st, q.bid, q.ask, now); got != want {
			t.Fatalf("quote %d: UpdateStop %v, Update %v", i, got, want)
		}
	}
	if len(byID.Events) != len(handle.Events) || len(byID.Events) < 4 {
		t.Fatalf("events by id %d, by handle %d", len(byID.Events), len(handle.Events))
	}
	n := len(handle.Events)
	for _, tc := range []struct {
		id    string
		found bool
		left  int
	}{{"x", true, 2}, {"x", false, 2}, {"nope", false, 2}, {"z", true, 1}} {
		if got := b.Forget(tc.id); got != tc.found || b.Len() != tc.left {
			t.Fatalf("Forget(%s) = %v with %d left, want %v with %d", tc.id, got, b.Len(), tc.found, tc.left)
		}
	}
	if len(handle.Events) != n {
		t.Fatal("Forget emitted an event")
	}
	if st, ok := b.Get("y"); !ok || st.Position().ExecutionID != "y" {
		t.Fatal("y lost after forgetting the stops around it")
	}
	if _, err := b.Update("x", 1, 1, t0); err == nil {
		t.Fatal("a forgotten stop still updates")
	}
}

// TestUpdateEventText: the `update` event's reason and details are the
// documented texts (as fmt would build them) for plain, tiny and huge
// premiums.
func TestUpdateEventText(t *testing.T) {
	for _, tc := range []struct {
		entry  float64
		quotes []float64
	}{
		{2, []float64{2.5, 3, 3.7, 10.125}},
		{1e-7, []float64{2e-7, 3.3e-7, 1}},
		{1e20, []float64{2e21, 3.5e22}},
	} {
		sink := &MemorySink{}
		st, err := NewTrailingStop(t0, StopSettings{ActivationPct: 10, TrailPct: 20}, Position{ExecutionID: "x", Side: Long, EntryPremium: tc.entry}, sink)
		if err != nil {
			t.Fatal(err)
		}
		for i, q := range tc.quotes {
			st.Update(q, t0.Add(time.Duration(i+1)*time.Minute))
		}
		n := 0
		for _, e := range sink.Events {
			if e.Type != EventUpdate {
				continue
			}
			n++
			var d struct{ From, To float64 }
			if err := json.Unmarshal([]byte(e.Details), &d); err != nil {
				t.Fatalf("details %q: %v", e.Details, err)
			}
			wantReason := fmt.Sprintf("new best premium %s moves stop from %s to %s", fmtNum(e.Value), fmtNum(d.From), fmtNum(d.To))
			wantDetails := `{"from":` + fmtNum(d.From) + `,"to":` + fmtNum(d.To) + `}`
			if e.Reason != wantReason || e.Details != wantDetails || d.To != e.Threshold {
				t.Errorf("update %q %q, want %q %q", e.Reason, e.Details, wantReason, wantDetails)
			}
		}
		if n != len(tc.quotes)-1 {
			t.Errorf("entry %g: %d update events, want %d", tc.entry, n, len(tc.quotes)-1)
		}
	}
}
