package risk

import (
	"testing"
	"time"
)

// TestLayerSwitchedOff drives the same sequence through a Manager with
// each layer switched off in turn: the off layer emits nothing and never
// objects, while the layers still on behave exactly as with all on.
func TestLayerSwitchedOff(t *testing.T) {
	off := func() *bool { b := false; return &b }
	base := Settings{
		CircuitBreaker: BreakerSettings{FailureThreshold: 1, Cooldown: time.Minute, HalfOpenTrials: 1},
		TrailingStop:   StopSettings{ActivationPct: 10, TrailPct: 20},
		Limits:         LimitsSettings{MaxPortfolioDelta: 5, WarnPct: 50, HealthInterval: time.Minute},
	}
	drive := func(m *Manager) (entryOK, allowAfterFailure bool, stopAction Action) {
		ex := &testExposure{equity: 10_000}
		entryOK = m.CheckEntry(t0, ex, EntryRequest{ExecutionID: "e1", Symbol: "SPY", Delta: 6}).Allowed
		m.CheckHealth(t0, ex)
		m.RecordFailure(t0, "broker rejected")
		allowAfterFailure, _ = m.Allow(t0.Add(time.Second))
		if err := m.AddStop(t0, Position{ExecutionID: "e1", Symbol: "SPY", Side: Long, EntryPremium: 1}); err != nil {
			t.Fatal(err)
		}
		m.UpdateStop("e1", 1.2, 1.3, t0.Add(time.Minute))
		stopAction, _ = m.UpdateStop("e1", 0.9, 1.0, t0.Add(2*time.Minute))
		return
	}
	for _, tc := range []struct {
		name         string
		mod          func(*Settings)
		silent       Component
		entry, allow bool
		stop         Action
	}{
		{"breaker off", func(s *Settings) { s.CircuitBreaker.Enabled = off() }, CircuitBreakerComponent, false, true, Exit},
		{"stops off", func(s *Settings) { s.TrailingStop.Enabled = off() }, TrailingStopComponent, false, false, Hold},
		{"limits off", func(s *Settings) { s.Limits.Enabled = off() }, PortfolioLimitsComponent, true, false, Exit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := base
			tc.mod(&s)
			sink := &MemorySink{}
			m, err := NewManager(s, sink)
			if err != nil {
				t.Fatal(err)
			}
			entry, allow, stop := drive(m)
			if entry != tc.entry || allow != tc.allow || stop != tc.stop {
				t.Errorf("entry %v allow %v stop %v, want %v %v %v", entry, allow, stop, tc.entry, tc.allow, tc.stop)
			}
			seen := map[Component]int{}
			for _, e := range sink.Events {
				seen[e.Component]++
			}
			if seen[tc.silent] != 0 {
				t.Errorf("%s switched off emitted %d events", tc.silent, seen[tc.silent])
			}
			for _, c := range []Component{CircuitBreakerComponent, TrailingStopComponent, PortfolioLimitsComponent} {
				if c != tc.silent && seen[c] == 0 {
					t.Errorf("%s is on but emitted nothing", c)
				}
			}
		})
	}
}
