package risk

import (
	"errors"
	"testing"
	"time"
)

// TestManagerWorkflow walks one order through the three layers with one
// sink and checks the components and order of what was logged.
func TestManagerWorkflow(t *testing.T) {
	sink := &MemorySink{}
	m, err := NewManager(Settings{
		CircuitBreaker: BreakerSettings{FailureThreshold: 1, Cooldown: time.Minute, HalfOpenTrials: 1},
		TrailingStop:   StopSettings{ActivationPct: 10, TrailPct: 20},
		Limits:         LimitsSettings{MaxPortfolioDelta: 10, WarnPct: 50, HealthInterval: time.Minute},
	}, sink)
	if err != nil {
		t.Fatal(err)
	}
	ex := &testExposure{equity: 10_000}
	if d := m.CheckEntry(t0, ex, EntryRequest{ExecutionID: "e1", Symbol: "SPY", Delta: 6}); !d.Allowed {
		t.Fatalf("entry rejected: %+v", d)
	}
	if ok, _ := m.Allow(t0); !ok {
		t.Fatal("closed breaker blocked")
	}
	m.RecordSuccess(t0)
	ex.add(testPos{id: "e1", symbol: "SPY", delta: 6})
	if err := m.AddStop(t0, Position{ExecutionID: "e1", Symbol: "SPY", Side: Long, EntryPremium: 1}); err != nil {
		t.Fatal(err)
	}
	if ws := m.CheckHealth(t0, ex); len(ws) != 1 || ws[0].Rule != RulePortfolioDelta || ws[0].UtilisationPct != 60 {
		t.Fatalf("health = %+v", ws)
	}
	if a, err := m.UpdateStop("e1", 1.2, 1.3, t0.Add(time.Minute)); err != nil || a != Hold {
		t.Fatalf("UpdateStop = %v %v", a, err)
	}
	if a, _ := m.UpdateStop("e1", 0.9, 1.0, t0.Add(2*time.Minute)); a != Exit {
		t.Fatalf("UpdateStop at 0.9 = %v, want exit", a)
	}
	m.RecordFailure(t0.Add(2*time.Minute), "exit rejected")
	if m.BreakerState() != StateOpen {
		t.Fatalf("state %s", m.BreakerState())
	}
	at, ok := m.NextWakeup()
	if !ok || !at.Equal(t0.Add(3*time.Minute)) || !m.Wake(at) || m.BreakerState() != StateHalfOpen {
		t.Fatalf("wake at %v %t → %s", at, ok, m.BreakerState())
	}
	m.ResetBreaker(at, "ops")
	if err := m.RemoveStop(at, "e1", "exit filled"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.UpdateStop("e1", 1, 1, at); !errors.Is(err, ErrUnknownStop) {
		t.Fatalf("update after remove: %v", err)
	}
	var got []string
	for _, e := range sink.Events {
		got = append(got, e.Component.String()+"/"+e.Type.String())
	}
	want := []string{
		"portfolio_limits/allowed", "trailing_stop/add", "portfolio_limits/warning",
		"trailing_stop/activate", "trailing_stop/trigger",
		"circuit_breaker/failure", "circuit_breaker/state_change", "circuit_breaker/state_change",
		"circuit_breaker/reset", "trailing_stop/remove",
	}
	if len(got) != len(want) {
		t.Fatalf("events\n got %v\nwant %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("event %d = %s, want %s (all: %v)", i, got[i], want[i], got)
		}
	}
	if m.Breaker() == nil || m.Stops() == nil || m.Limits() == nil || m.Limits().Group("SPY") != "" {
		t.Fatal("accessors")
	}
}

// TestNilSink runs every operation without a sink: the seed's backward
// compatibility. Behaviour must match the logged run.
func TestNilSink(t *testing.T) {
	run := func(sink Sink) (State, StopState, bool) {
		m, err := NewManager(Settings{
			CircuitBreaker: BreakerSettings{FailureThreshold: 2},
			TrailingStop:   StopSettings{TrailPct: 10, StopLossPct: 50},
			Limits:         LimitsSettings{MaxTotalExposure: 100, MaxCorrelatedPct: 1},
		}, sink)
		if err != nil {
			t.Fatal(err)
		}
		ex := &testExposure{equity: 1000}
		ex.add(testPos{symbol: "SPY", value: 99})
		d := m.CheckEntry(t0, ex, EntryRequest{Symbol: "SPY", Value: 2})
		m.CheckHealth(t0, ex)
		m.RecordFailure(t0, "a")
		m.RecordFailure(t0, "b")
		m.Allow(t0)
		_ = m.AddStop(t0, Position{ExecutionID: "s", Side: Short, EntryPremium: 2})
		_, _ = m.UpdateStop("s", 1, 1.5, t0)
		_, _ = m.UpdateStop("s", 1, 1.7, t0)
		st, _ := m.Stops().Get("s")
		_ = m.RemoveStop(t0, "s", "done")
		return m.BreakerState(), st.State(), d.Allowed
	}
	b1, s1, a1 := run(nil)
	b2, s2, a2 := run(&MemorySink{})
	if b1 != b2 || s1 != s2 || a1 != a2 || b1 != StateOpen || s1 != StopRemoved || a1 {
		t.Fatalf("nil sink: %s %s %t; memory sink: %s %s %t", b1, s1, a1, b2, s2, a2)
	}
}

func TestStopsOrderAndPrice(t *testing.T) {
	m, err := NewStops(StopSettings{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"c", "a", "b", "d"} {
		if err := m.Add(t0, Position{ExecutionID: id, Side: Long, EntryPremium: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Remove(t0, "a", "x"); err != nil {
		t.Fatal(err)
	}
	ids := m.IDs()
	if len(ids) != 3 || ids[0] != "c" || ids[1] != "b" || ids[2] != "d" {
		t.Fatalf("IDs = %v, want insertion order [c b d]", ids)
	}
	if st, ok := m.Get("d"); !ok || st.Position().ExecutionID != "d" {
		t.Fatal("Get(d) after a removal before it")
	}
	if _, ok := m.Get("a"); ok {
		t.Fatal("removed stop still found")
	}
	if p := m.Price(Long, 1, 2); p != 1 {
		t.Fatalf("exit_side long price %v", p)
	}
	if p := m.Price(Short, 1, 2); p != 2 {
		t.Fatalf("exit_side short price %v", p)
	}
	st, _ := NewTrailingStop(t0, StopSettings{}, Position{ExecutionID: "z", Side: Long, EntryPremium: 1}, nil)
	st.Remove(t0, "x")
	st.Remove(t0, "again")
	if st.State() != StopRemoved || st.Update(0, t0) != Hold || !sameFloat(st.Best(), NoValue) {
		t.Fatal("removed stop must hold")
	}
	if _, err := NewStops(StopSettings{TrailPct: -1}, nil); err == nil {
		t.Fatal("NewStops accepted bad settings")
	}
	if _, err := NewTrailingStop(t0, StopSettings{TrailPct: 200}, Position{ExecutionID: "z", Side: Long, EntryPremium: 1}, nil); err == nil {
		t.Fatal("NewTrailingStop accepted bad settings")
	}
}

func TestFailureRingBounded(t *testing.T) {
	r := newFailureRing(3)
	for i := range 10 {
		r.add(t0.Add(time.Duration(i) * time.Second))
	}
	if len(r.at) != 3 || r.n != 3 {
		t.Fatalf("ring grew: len %d n %d", len(r.at), r.n)
	}
	if c := r.countAfter(t0.Add(7 * time.Second)); c != 2 {
		t.Fatalf("countAfter = %d, want 2 (8s, 9s)", c)
	}
	if d := unixDay(time.Date(1969, 12, 31, 23, 0, 0, 0, time.UTC)); d != -1 {
		t.Fatalf("unixDay before epoch = %d", d)
	}
}
