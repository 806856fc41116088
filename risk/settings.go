package risk

import (
	"fmt"
	"math"
	"time"
)

// Settings are the three layers' settings, shaped like the `risk` section of
// a scenario file so that the scenario loader can decode YAML straight into
// them. The zero value is valid and means "every documented default".
type Settings struct {
	CircuitBreaker BreakerSettings `yaml:"circuit_breaker"`
	TrailingStop   StopSettings    `yaml:"trailing_stop"`
	Limits         LimitsSettings  `yaml:"limits"`
}

// Validate reports the first invalid field, in declaration order, as a
// *FieldError (which wraps ErrInvalidSettings).
func (s Settings) Validate() error {
	if err := s.CircuitBreaker.Validate(); err != nil {
		return err
	}
	if err := s.TrailingStop.Validate(); err != nil {
		return err
	}
	return s.Limits.Validate()
}

// withDefaults returns s with every zero field replaced by its default.
func (s Settings) withDefaults() Settings {
	s.CircuitBreaker = s.CircuitBreaker.withDefaults()
	s.TrailingStop = s.TrailingStop.withDefaults()
	s.Limits = s.Limits.withDefaults()
	return s
}

// Validation helpers. Each returns nil or a *FieldError for field.

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

func checkIntNonNeg(field string, v int) error {
	if v < 0 {
		return fieldErr(field, "must be >= 0, got %d", v)
	}
	return nil
}

func checkDurNonNeg(field string, d time.Duration) error {
	if d < 0 {
		return fieldErr(field, "must be >= 0, got %s", d)
	}
	return nil
}

func checkFloatNonNeg(field string, v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return fieldErr(field, "must be a finite number, got %g", v)
	}
	if v < 0 {
		return fieldErr(field, "must be >= 0, got %g", v)
	}
	return nil
}
