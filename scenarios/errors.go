package scenarios

import (
	"errors"
	"fmt"
)

// ErrInvalid is wrapped by every error about a scenario's content, so a CLI
// can tell bad input (exit 2) from a failure.
var ErrInvalid = errors.New("scenarios: invalid scenario")

// Error is a problem in a scenario, located as precisely as the input
// allows: file, line and column (0 when unknown, e.g. for a --set value), the
// dotted field path, and what was expected and found.
type Error struct {
	File      string
	Line, Col int
	Field     string
	Msg       string
	Set       string // the --set argument the problem came from, if any

	exprLine, exprCol int // a condition's problem inside its text (sim.FieldError)
}

func (e *Error) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d:%d", e.File, e.Line, e.Col)
	}
	msg := e.Msg
	if e.Field != "" {
		msg = e.Field + ": " + msg
	}
	if e.Set != "" {
		msg += fmt.Sprintf(" (from --set %s)", e.Set)
	}
	if loc == "" {
		return msg
	}
	return loc + ": " + msg
}

// Unwrap returns ErrInvalid.
func (e *Error) Unwrap() error { return ErrInvalid }
