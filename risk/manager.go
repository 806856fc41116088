package risk

import "time"

// Manager composes the three risk layers with one sink (the seed's
// "Option C"). The simulator's workflows call it — entry: Allow,
// CheckEntry; execution: RecordFailure, RecordSuccess; monitoring:
// AddStop, UpdateStop, RemoveStop; event loop: NextWakeup, Wake,
// HealthInterval, CheckHealth — and a live process could call the same
// methods. It is not safe for concurrent use.
type Manager struct {
	settings Settings
	breaker  *CircuitBreaker
	stops    *Stops
	limits   *LimitsChecker

	// A layer switched off (Enabled: false) is never called: it decides
	// nothing and emits nothing, and the Manager answers as if the layer
	// had no objection.
	breakerOn, stopsOn, limitsOn bool
}

func on(b *bool) bool { return b == nil || *b }

// NewManager validates s and builds the three layers, all reporting to
// sink (nil: no logging).
func NewManager(s Settings, sink Sink) (*Manager, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	b, err := NewCircuitBreaker(s.CircuitBreaker, sink)
	if err != nil {
		return nil, err
	}
	st, err := NewStops(s.TrailingStop, sink)
	if err != nil {
		return nil, err
	}
	l, err := NewLimitsChecker(s.Limits, sink)
	if err != nil {
		return nil, err
	}
	return &Manager{settings: s.withDefaults(), breaker: b, stops: st, limits: l,
		breakerOn: on(s.CircuitBreaker.Enabled), stopsOn: on(s.TrailingStop.Enabled), limitsOn: on(s.Limits.Enabled)}, nil
}

// Settings returns the settings in force, defaults filled in.
func (m *Manager) Settings() Settings { return m.settings }

// Breaker, Stops and Limits expose the layers for reads (state, snapshots).
func (m *Manager) Breaker() *CircuitBreaker { return m.breaker }

// Stops returns the trailing-stop manager.
func (m *Manager) Stops() *Stops { return m.stops }

// Limits returns the limits checker.
func (m *Manager) Limits() *LimitsChecker { return m.limits }

// Allow asks the circuit breaker whether an order may be sent at now.
func (m *Manager) Allow(now time.Time) (bool, string) {
	if !m.breakerOn {
		return true, ""
	}
	return m.breaker.Allow(now)
}

// CanAdmit reports whether Allow(now) would admit an order, with no side
// effects.
func (m *Manager) CanAdmit(now time.Time) bool { return !m.breakerOn || m.breaker.CanAdmit(now) }

// RecordFailure reports a failed order to the circuit breaker.
func (m *Manager) RecordFailure(now time.Time, reason string) {
	if m.breakerOn {
		m.breaker.RecordFailure(now, reason)
	}
}

// RecordSuccess reports a successful order to the circuit breaker.
func (m *Manager) RecordSuccess(now time.Time) {
	if m.breakerOn {
		m.breaker.RecordSuccess(now)
	}
}

// ResetBreaker manually resets the circuit breaker to closed.
func (m *Manager) ResetBreaker(now time.Time, reason string) {
	if m.breakerOn {
		m.breaker.Reset(now, reason)
	}
}

// BreakerState returns the circuit breaker's state.
func (m *Manager) BreakerState() State { return m.breaker.State() }

// NextWakeup returns when the event loop must call Wake (open_time +
// cooldown), and false when nothing is scheduled.
func (m *Manager) NextWakeup() (time.Time, bool) {
	if !m.breakerOn {
		return time.Time{}, false
	}
	return m.breaker.NextWakeup()
}

// Wake performs the breaker's due open → half_open transition.
func (m *Manager) Wake(now time.Time) bool { return m.breakerOn && m.breaker.Wake(now) }

// CheckEntry runs the portfolio limits on a proposed entry.
func (m *Manager) CheckEntry(now time.Time, ex Exposure, req EntryRequest) Decision {
	if !m.limitsOn {
		return Decision{Allowed: true, Reason: "portfolio limits switched off"}
	}
	return m.limits.CheckEntry(now, ex, req)
}

// CheckHealth emits warnings for limits at or above warn_pct.
func (m *Manager) CheckHealth(now time.Time, ex Exposure) []Warning {
	if !m.limitsOn {
		return nil
	}
	return m.limits.CheckHealth(now, ex)
}

// HealthInterval returns how often the event loop should run CheckHealth.
func (m *Manager) HealthInterval() time.Duration { return m.limits.HealthInterval() }

// AddStop starts a trailing stop for a filled entry.
func (m *Manager) AddStop(now time.Time, p Position) error {
	if !m.stopsOn {
		return nil
	}
	return m.stops.Add(now, p)
}

// UpdateStop feeds a bid/ask quote to the stop of id.
func (m *Manager) UpdateStop(id string, bid, ask float64, now time.Time) (Action, error) {
	if !m.stopsOn {
		return Hold, nil
	}
	return m.stops.Update(id, bid, ask, now)
}

// ForgetStop drops the stop of id without an event (Stops.Forget): a
// triggered stop whose position has closed.
func (m *Manager) ForgetStop(id string) {
	if m.stopsOn {
		m.stops.Forget(id)
	}
}

// RemoveStop retires the stop of id.
func (m *Manager) RemoveStop(now time.Time, id, reason string) error {
	if !m.stopsOn {
		return nil
	}
	return m.stops.Remove(now, id, reason)
}
