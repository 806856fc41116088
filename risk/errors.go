package risk

import "errors"

// Sentinel errors. Branch on them with errors.Is; the returned errors carry
// the context (field, execution id) in their message.
var (
	// ErrInvalidSettings is wrapped by every *FieldError that Validate returns.
	ErrInvalidSettings = errors.New("risk: invalid settings")
	// ErrInvalidPosition reports a trailing-stop position that cannot be
	// tracked (no execution id, no side, entry premium not > 0).
	ErrInvalidPosition = errors.New("risk: invalid position")
	// ErrDuplicateStop reports a second stop for an execution id.
	ErrDuplicateStop = errors.New("risk: duplicate execution id")
	// ErrUnknownStop reports an execution id with no stop.
	ErrUnknownStop = errors.New("risk: unknown execution id")
)

// FieldError is a settings error that names the offending field by its YAML
// path, for example
//
//	risk: circuit_breaker.failure_threshold: must be >= 0, got -1
//
// It unwraps to ErrInvalidSettings.
type FieldError struct {
	Field string // dotted YAML path below the scenario's risk section
	Msg   string // what was expected and what was found
}

func (e *FieldError) Error() string { return "risk: " + e.Field + ": " + e.Msg }

// Unwrap returns ErrInvalidSettings.
func (e *FieldError) Unwrap() error { return ErrInvalidSettings }
