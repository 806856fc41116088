package risk

import "time"

// Circuit-breaker defaults (DESIGN.md, "Circuit breaker").
const (
	DefaultFailureThreshold = 5
	DefaultFailureWindow    = 60 * time.Second
	DefaultCooldown         = 5 * time.Minute
	DefaultHalfOpenTrials   = 3

	// MaxFailureThreshold bounds failure_threshold: the breaker keeps one
	// timestamp per counted failure, so the threshold sizes a buffer.
	MaxFailureThreshold = 10_000
)

// BreakerSettings configure a CircuitBreaker. The zero value means every
// default.
type BreakerSettings struct {
	// Enabled switches the layer off when false (nil or true: on). An off
	// layer makes no decisions and emits no events: the whole-layer
	// ablation of a sweep.
	Enabled *bool `yaml:"enabled,omitempty"`

	// FailureThreshold is the number of failures within FailureWindow that
	// trips closed → open. 0 means DefaultFailureThreshold (5).
	FailureThreshold int `yaml:"failure_threshold"`

	// FailureWindow is the rolling window in which failures are counted.
	// It is a pointer because zero is meaningful here: nil (absent) means
	// DefaultFailureWindow (60s), while a pointer to 0 — `failure_window: 0s`
	// in YAML, new(time.Duration(0)) in Go — selects consecutive mode, where
	// failures are counted until a success clears them.
	FailureWindow *time.Duration `yaml:"failure_window"`

	// Cooldown is the time spent open before half_open. 0 means
	// DefaultCooldown (5m).
	Cooldown time.Duration `yaml:"cooldown"`

	// HalfOpenTrials is how many orders may pass in half_open, and how many
	// consecutive successes close the breaker. 0 means DefaultHalfOpenTrials (3).
	HalfOpenTrials int `yaml:"half_open_trials"`

	// MaxTrips is the number of trips within one trading day (the UTC
	// calendar date) at which the breaker goes to halted instead of open:
	// with MaxTrips 3 the third trip of the day halts. 0 means off.
	MaxTrips int `yaml:"max_trips"`
}

// Validate reports the first invalid field as a *FieldError.
func (s BreakerSettings) Validate() error {
	const p = "circuit_breaker."
	if err := checkIntNonNeg(p+"failure_threshold", s.FailureThreshold); err != nil {
		return err
	}
	if s.FailureThreshold > MaxFailureThreshold {
		return fieldErr(p+"failure_threshold", "must be <= %d, got %d", MaxFailureThreshold, s.FailureThreshold)
	}
	if s.FailureWindow != nil {
		if err := checkDurNonNeg(p+"failure_window", *s.FailureWindow); err != nil {
			return err
		}
	}
	if err := checkDurNonNeg(p+"cooldown", s.Cooldown); err != nil {
		return err
	}
	if err := checkIntNonNeg(p+"half_open_trials", s.HalfOpenTrials); err != nil {
		return err
	}
	return checkIntNonNeg(p+"max_trips", s.MaxTrips)
}

// withDefaults fills zero fields. The returned FailureWindow never aliases
// the caller's pointer.
func (s BreakerSettings) withDefaults() BreakerSettings {
	if s.FailureThreshold == 0 {
		s.FailureThreshold = DefaultFailureThreshold
	}
	w := DefaultFailureWindow
	if s.FailureWindow != nil {
		w = *s.FailureWindow
	}
	s.FailureWindow = &w
	if s.Cooldown == 0 {
		s.Cooldown = DefaultCooldown
	}
	if s.HalfOpenTrials == 0 {
		s.HalfOpenTrials = DefaultHalfOpenTrials
	}
	return s
}
