package risk

import (
	"fmt"
	"time"
)

// State is a circuit breaker's state.
type State int

// Breaker states. The zero value is closed.
const (
	StateClosed State = iota
	StateOpen
	StateHalfOpen
	StateHalted
)

// String returns the state's name as it appears in events: closed, open,
// half_open, halted.
func (s State) String() string {
	switch s {
	case StateClosed:
		return "closed"
	case StateOpen:
		return "open"
	case StateHalfOpen:
		return "half_open"
	case StateHalted:
		return "halted"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// CircuitBreaker stops order flow after repeated order failures
// (DESIGN.md, "Circuit breaker"). It is not safe for concurrent use; the
// event loop owns it.
//
// Semantics chosen where DESIGN leaves room:
//   - Rolling window: a failure at t counts at now while now − t < window;
//     a failure exactly one window old has left it.
//   - Consecutive mode (window 0): failures count until a RecordSuccess
//     while closed clears them.
//   - A trip is any move to open, from closed or from half_open; each trip
//     counts toward max_trips for the UTC calendar date of its time. The
//     trip that reaches max_trips goes straight to halted (state_change
//     x → halted), and only Reset leaves halted. Reset clears everything,
//     including the day's trip count.
//   - Failures while open or halted (late results of orders sent before
//     the trip) are logged as `failure` events with no value and change
//     nothing; successes while closed, open or halted are not logged.
//   - open → half_open happens at exactly open_time + cooldown. The event
//     loop is meant to schedule Wake at NextWakeup. If a caller skips that,
//     every method that takes now first performs the overdue transition,
//     stamped with the scheduled instant, not with now — so the event log
//     is identical to that of a caller that did schedule Wake.
type CircuitBreaker struct {
	threshold int
	window    time.Duration // 0 = consecutive mode
	cooldown  time.Duration
	trials    int
	maxTrips  int
	sink      Sink

	state       State
	openedAt    time.Time
	ring        failureRing // rolling mode
	consecutive int         // consecutive mode
	admitted    int         // orders let through in this half_open spell
	successes   int         // successes in this half_open spell
	tripDay     int64       // days since the Unix epoch of the last trip
	trips       int         // trips on tripDay
}

// NewCircuitBreaker validates s, fills its defaults and returns a closed
// breaker that reports to sink (nil: no logging).
func NewCircuitBreaker(s BreakerSettings, sink Sink) (*CircuitBreaker, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	s = s.withDefaults()
	b := &CircuitBreaker{
		threshold: s.FailureThreshold,
		window:    *s.FailureWindow,
		cooldown:  s.Cooldown,
		trials:    s.HalfOpenTrials,
		maxTrips:  s.MaxTrips,
		sink:      sink,
	}
	if b.window > 0 {
		b.ring = newFailureRing(b.threshold)
	}
	return b, nil
}

// State returns the current state. It does not perform an overdue
// open → half_open transition; call Wake for that.
func (b *CircuitBreaker) State() State { return b.state }

// NextWakeup returns the instant at which an open breaker goes half_open
// (open_time + cooldown), and false in any other state.
func (b *CircuitBreaker) NextWakeup() (time.Time, bool) {
	if b.state != StateOpen {
		return time.Time{}, false
	}
	return b.openedAt.Add(b.cooldown), true
}

// Wake performs the open → half_open transition if it is due at now,
// stamping it with the scheduled instant. It reports whether it did.
func (b *CircuitBreaker) Wake(now time.Time) bool {
	at, ok := b.NextWakeup()
	if !ok || now.Before(at) {
		return false
	}
	b.admitted, b.successes = 0, 0
	b.change(at, StateHalfOpen, fmt.Sprintf("cooldown of %s elapsed", b.cooldown), "")
	return true
}

// Allow reports whether an order may be sent at now. When it may not, the
// reason says why and a `blocked` event is emitted. Closed admits every
// order without an event or an allocation; half_open admits at most
// half_open_trials orders per spell.
func (b *CircuitBreaker) Allow(now time.Time) (bool, string) {
	if b.state == StateClosed {
		return true, ""
	}
	b.Wake(now)
	var reason string
	value, threshold := NoValue, NoValue
	switch b.state { // Wake never closes, so the state is half_open, open or halted
	case StateHalfOpen:
		if b.admitted < b.trials {
			b.admitted++
			return true, ""
		}
		reason = fmt.Sprintf("circuit breaker half_open: all %d trial orders already sent", b.trials)
		value, threshold = float64(b.admitted), float64(b.trials)
	case StateOpen:
		reason = "circuit breaker open until " + b.openedAt.Add(b.cooldown).UTC().Format(time.RFC3339Nano)
	case StateHalted:
		reason = "circuit breaker halted: needs a manual reset"
	}
	emit(b.sink, Event{
		Time: now, Component: CircuitBreakerComponent, Type: EventBlocked,
		Value: value, Threshold: threshold, Reason: reason,
		Details: `{"state":"` + b.state.String() + `"}`,
	})
	return false, reason
}

// CanAdmit reports whether Allow(now) would admit an order, without
// admitting one, changing state or emitting anything. A caller that retries
// an order on every quote asks this first, so that a breaker that cannot
// admit logs one `blocked`, not one per quote.
func (b *CircuitBreaker) CanAdmit(now time.Time) bool {
	switch b.state {
	case StateClosed:
		return true
	case StateHalfOpen:
		return b.admitted < b.trials
	case StateOpen: // past the wake-up, Allow first moves to a fresh half_open
		at, ok := b.NextWakeup()
		return ok && !now.Before(at) && b.trials > 0
	}
	return false
}

// RecordFailure records a failed order at now. Every call emits `failure`
// (value = failures counted, threshold = failure_threshold); reaching the
// threshold while closed, or any failure in half_open, trips the breaker.
func (b *CircuitBreaker) RecordFailure(now time.Time, reason string) {
	b.Wake(now)
	from := b.state
	value, threshold := NoValue, NoValue
	switch from {
	case StateClosed:
		var n int
		if b.window > 0 {
			b.ring.add(now)
			n = b.ring.countAfter(now.Add(-b.window))
		} else {
			b.consecutive++
			n = b.consecutive
		}
		value, threshold = float64(n), float64(b.threshold)
	case StateHalfOpen:
		value, threshold = 1, 1 // any failure in half_open reopens
	}
	emit(b.sink, Event{
		Time: now, Component: CircuitBreakerComponent, Type: EventFailure,
		Value: value, Threshold: threshold, Reason: reason,
		Details: `{"state":"` + from.String() + `"}`,
	})
	switch {
	case from == StateClosed && value >= threshold:
		var why string
		if b.window > 0 {
			why = fmt.Sprintf("%s within %s", plural(int(value), "failure"), b.window)
		} else {
			why = fmt.Sprintf("%s in a row", plural(int(value), "failure"))
		}
		b.trip(now, why+"; last: "+reason)
	case from == StateHalfOpen:
		b.trip(now, "failure in half_open: "+reason)
	}
}

// RecordSuccess records a successful order at now. In consecutive mode a
// success while closed clears the failure count. In half_open it emits
// `success`, and half_open_trials consecutive successes close the breaker.
func (b *CircuitBreaker) RecordSuccess(now time.Time) {
	b.Wake(now)
	switch b.state {
	case StateClosed:
		b.consecutive = 0
	case StateHalfOpen:
		b.successes++
		emit(b.sink, Event{
			Time: now, Component: CircuitBreakerComponent, Type: EventSuccess,
			Value: float64(b.successes), Threshold: float64(b.trials),
			Reason: fmt.Sprintf("success %d of %d in half_open", b.successes, b.trials),
		})
		if b.successes >= b.trials {
			b.clearCounts()
			b.change(now, StateClosed, plural(b.trials, "consecutive success")+" in half_open", "")
		}
	}
}

// Reset returns the breaker to closed from any state (the manual reset that
// halted needs) and forgets every count, including the day's trips. It
// emits `reset`.
func (b *CircuitBreaker) Reset(now time.Time, reason string) {
	from := b.state
	b.clearCounts()
	b.trips, b.tripDay = 0, 0
	b.state = StateClosed
	emit(b.sink, Event{
		Time: now, Component: CircuitBreakerComponent, Type: EventReset,
		StateFrom: from.String(), StateTo: StateClosed.String(),
		Value: NoValue, Threshold: NoValue, Reason: reason,
	})
}

// trip moves to open, or to halted when this trip reaches max_trips today.
func (b *CircuitBreaker) trip(now time.Time, reason string) {
	day := unixDay(now)
	if day != b.tripDay {
		b.tripDay, b.trips = day, 0
	}
	b.trips++
	b.clearCounts()
	details := fmt.Sprintf(`{"trips_today":%d}`, b.trips)
	if b.maxTrips > 0 && b.trips >= b.maxTrips {
		b.change(now, StateHalted, fmt.Sprintf("%s; trip %d of max_trips %d today", reason, b.trips, b.maxTrips), details)
		return
	}
	b.openedAt = now
	b.change(now, StateOpen, reason, details)
}

func (b *CircuitBreaker) change(at time.Time, to State, reason, details string) {
	from := b.state
	b.state = to
	emit(b.sink, Event{
		Time: at, Component: CircuitBreakerComponent, Type: EventStateChange,
		StateFrom: from.String(), StateTo: to.String(),
		Value: NoValue, Threshold: NoValue, Reason: reason, Details: details,
	})
}

func (b *CircuitBreaker) clearCounts() {
	b.ring.clear()
	b.consecutive, b.admitted, b.successes = 0, 0, 0
}

// unixDay returns the UTC calendar day of t as days since 1970-01-01.
func unixDay(t time.Time) int64 {
	s := t.Unix()
	d := s / 86400
	if s%86400 < 0 {
		d--
	}
	return d
}

// plural returns "1 failure", "2 failures"; "success" takes "es".
func plural(n int, noun string) string {
	if n != 1 {
		if noun[len(noun)-1] == 's' {
			noun += "es"
		} else {
			noun += "s"
		}
	}
	return fmt.Sprintf("%d %s", n, noun)
}
