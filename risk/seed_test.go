package risk

import (
	"testing"
	"time"
)

var t0 = time.Date(2024, 3, 4, 14, 30, 0, 0, time.UTC)

// The seed report's three examples.

func TestSeedFiveFailuresTripBreaker(t *testing.T) {
	sink := &MemorySink{}
	b, err := NewCircuitBreaker(BreakerSettings{FailureThreshold: 5}, sink)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		b.RecordFailure(t0.Add(time.Duration(i)*time.Second), "rejected")
		if b.State() != StateClosed {
			t.Fatalf("after %d failures: state %s, want closed", i+1, b.State())
		}
	}
	b.RecordFailure(t0.Add(4*time.Second), "rejected")
	if b.State() != StateOpen {
		t.Fatalf("after 5 failures: state %s, want open", b.State())
	}
	last := sink.Events[len(sink.Events)-1]
	if last.Type != EventStateChange || last.StateFrom != "closed" || last.StateTo != "open" || last.Component != CircuitBreakerComponent {
		t.Fatalf("last event %+v, want state_change closed->open", last)
	}
	if n := countType(sink.Events, EventFailure); n != 5 {
		t.Fatalf("%d failure events, want 5", n)
	}
	if ok, _ := b.Allow(t0.Add(5 * time.Second)); ok {
		t.Fatal("open breaker allowed an order")
	}
}

func TestSeedStopActivatesAt103(t *testing.T) {
	sink := &MemorySink{}
	m, err := NewStops(StopSettings{ActivationPct: 2, TrailPct: 25}, sink)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Add(t0, Position{ExecutionID: "abc123", Side: Long, EntryPremium: 100}); err != nil {
		t.Fatal(err)
	}
	if got := sink.Events[0]; got.Type != EventAdd || got.ExecutionID != "abc123" || got.Value != 100 {
		t.Fatalf("first event %+v, want add of abc123 at 100", got)
	}
	a, err := m.Update("abc123", 103, 103, t0.Add(time.Minute))
	if err != nil || a != Hold {
		t.Fatalf("Update = %v, %v; want hold", a, err)
	}
	if len(sink.Events) != 2 {
		t.Fatalf("%d events, want add + activate", len(sink.Events))
	}
	got := sink.Events[1]
	if got.Type != EventActivate || got.StateFrom != "pending" || got.StateTo != "active" || got.Value != 103 || got.Threshold != 103*0.75 {
		t.Fatalf("event %+v, want activate at 103 with stop %v", got, 103*0.75)
	}
}

func TestSeedDelta55Rejected(t *testing.T) {
	sink := &MemorySink{}
	c, err := NewLimitsChecker(LimitsSettings{MaxPortfolioDelta: 50}, sink)
	if err != nil {
		t.Fatal(err)
	}
	d := c.CheckEntry(t0, &testExposure{equity: 100_000}, EntryRequest{Symbol: "SPY", Delta: 55, Value: 10_000})
	if d.Allowed || d.Rule != RulePortfolioDelta || d.Value != 55 || d.Limit != 50 {
		t.Fatalf("decision %+v, want rejected by portfolio_delta 55 > 50", d)
	}
	if len(sink.Events) != 1 {
		t.Fatalf("%d events, want 1", len(sink.Events))
	}
	if e := sink.Events[0]; e.Type != EventRejected || e.Rule != RulePortfolioDelta || e.Value != 55 || e.Threshold != 50 {
		t.Fatalf("event %+v, want rejected portfolio_delta 55/50", e)
	}
}

func countType(evs []Event, typ EventType) int {
	n := 0
	for _, e := range evs {
		if e.Type == typ {
			n++
		}
	}
	return n
}
