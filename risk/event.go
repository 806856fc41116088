// Package risk holds the three risk layers that a live options system and the
// simulator share: the circuit breaker, trailing stops and portfolio limits,
// plus the event model through which every decision they make is reported.
//
// The package is pure logic: no I/O, no goroutines, no wall clock and no
// global state. Time is always an argument. Every method is safe to call with
// a nil Sink, which means "no logging".
package risk

import (
	"math"
	"time"
)

// Component names the risk layer an Event comes from.
type Component uint8

// The components, in the order DESIGN.md lists them.
const (
	CircuitBreakerComponent Component = iota + 1
	TrailingStopComponent
	PortfolioLimitsComponent
)

var componentNames = [...]string{
	CircuitBreakerComponent:  "circuit_breaker",
	TrailingStopComponent:    "trailing_stop",
	PortfolioLimitsComponent: "portfolio_limits",
}

// String returns the component's name as it appears in the risk_events table.
func (c Component) String() string {
	if int(c) < len(componentNames) && componentNames[c] != "" {
		return componentNames[c]
	}
	return "unknown"
}

// EventType is what happened. Each type belongs to exactly one component.
type EventType uint8

// Event types. Names follow DESIGN.md ("The risk layers").
const (
	// circuit_breaker
	EventFailure EventType = iota + 1
	EventStateChange
	EventSuccess
	EventReset
	EventBlocked
	// trailing_stop
	EventAdd
	EventActivate
	EventUpdate
	EventTrigger
	EventRemove
	// portfolio_limits
	EventAllowed
	EventRejected
	EventWarning
)

var eventTypeNames = [...]string{
	EventFailure:     "failure",
	EventStateChange: "state_change",
	EventSuccess:     "success",
	EventReset:       "reset",
	EventBlocked:     "blocked",
	EventAdd:         "add",
	EventActivate:    "activate",
	EventUpdate:      "update",
	EventTrigger:     "trigger",
	EventRemove:      "remove",
	EventAllowed:     "allowed",
	EventRejected:    "rejected",
	EventWarning:     "warning",
}

// String returns the event type's name as it appears in the risk_events table.
func (t EventType) String() string {
	if int(t) < len(eventTypeNames) && eventTypeNames[t] != "" {
		return eventTypeNames[t]
	}
	return "unknown"
}

// Component returns the component that emits events of this type.
func (t EventType) Component() Component {
	switch {
	case t >= EventFailure && t <= EventBlocked:
		return CircuitBreakerComponent
	case t >= EventAdd && t <= EventRemove:
		return TrailingStopComponent
	case t >= EventAllowed && t <= EventWarning:
		return PortfolioLimitsComponent
	}
	return 0
}

// Event is one risk decision. It maps one-to-one onto a row of the
// risk_events table (DESIGN.md, "Events"); run_id and seq are added by the
// sink that persists it, in the order Emit is called.
//
// Value and Threshold are NaN when absent (written as null). Empty strings
// are absent too.
type Event struct {
	Time        time.Time // simulated time, UTC
	Component   Component
	Type        EventType
	ExecutionID string
	Symbol      string // underlying
	Contract    string // OCC symbol
	StateFrom   string
	StateTo     string
	Rule        string
	Value       float64 // observed value; NaN = absent
	Threshold   float64 // level it was held against; NaN = absent
	Reason      string  // one human sentence
	Details     string  // JSON object, keys sorted; "" = absent
}

// NoValue marks an absent Value or Threshold.
var NoValue = math.NaN()

// Sink receives events in emission order. Implementations must not retain
// pointers into the caller's memory beyond the call (Event holds none) and
// must not reorder events. A persistent sink that fails reports the failure
// through its own API (for example an Err or Close method); Emit itself
// never blocks the caller on anything but back-pressure.
type Sink interface {
	Emit(Event)
}

// emit sends e to s unless s is nil: a nil sink means "no logging".
func emit(s Sink, e Event) {
	if s != nil {
		s.Emit(e)
	}
}

// MemorySink keeps every event in memory, for tests and small tools.
type MemorySink struct {
	Events []Event
}

// Emit appends e.
func (m *MemorySink) Emit(e Event) { m.Events = append(m.Events, e) }

var _ Sink = (*MemorySink)(nil)
