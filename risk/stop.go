package risk

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// Side is the direction of a position.
type Side uint8

// Sides. The zero value is invalid, so that a forgotten side is an error
// rather than a silent long.
const (
	Long Side = iota + 1
	Short
)

// String returns "long" or "short".
func (s Side) String() string {
	switch s {
	case Long:
		return "long"
	case Short:
		return "short"
	}
	return fmt.Sprintf("Side(%d)", uint8(s))
}

// StopState is a trailing stop's state.
type StopState uint8

// Stop states: pending → active → triggered; removed when the position
// closes (or is forgotten) through Remove.
const (
	StopPending StopState = iota
	StopActive
	StopTriggered
	StopRemoved
)

// String returns pending, active, triggered or removed.
func (s StopState) String() string {
	switch s {
	case StopPending:
		return "pending"
	case StopActive:
		return "active"
	case StopTriggered:
		return "triggered"
	case StopRemoved:
		return "removed"
	}
	return fmt.Sprintf("StopState(%d)", uint8(s))
}

// Action is what a stop asks of the monitoring workflow after a quote.
type Action uint8

// Actions.
const (
	Hold Action = iota
	Exit
)

// String returns "hold" or "exit".
func (a Action) String() string {
	if a == Exit {
		return "exit"
	}
	return "hold"
}

// Position is what a trailing stop needs to know about a position.
type Position struct {
	ExecutionID  string
	Symbol       string // underlying
	Contract     string // OCC symbol
	Side         Side
	EntryPremium float64 // per share, > 0
}

// TrailingStop tracks one position (DESIGN.md, "Trailing stops").
//
// Event fields: every event carries the position's execution id, symbol
// and contract. `add`: value = entry premium, threshold = hard-stop level
// (absent without stop_loss_pct). `activate`: value = the arming premium,
// threshold = the stop level. `update`: value = the new best premium,
// threshold = the new stop level, details = {"from": old level, "to": new
// level}. `trigger`: value = the premium that crossed, threshold = the
// level it crossed (the hard-stop level when pending). `remove`: state
// from → removed, no value.
//
// Quote handling, in order: a triggered stop keeps answering Exit (no new
// event) until removed, so that a failed exit order is retried; a removed
// one answers Hold. Pending: a premium at or through the hard-stop level
// entry × (1 ∓ stop_loss_pct/100) (a loss ≥ stop_loss_pct) triggers;
// otherwise a gain ≥ activation_pct — long (p − entry)/entry × 100, short
// (entry − p)/entry × 100 — arms the stop at best = premium. (The two cannot
// both hold: the first needs a gain ≤ −stop_loss_pct < 0, the second a gain
// ≥ activation_pct ≥ 0.) A quote that arms the stop never triggers it, as
// the level sits trail_pct on the safe side of that very premium. Active:
// a premium at or through the level (≤ long, ≥ short) triggers on that
// quote, however far it gapped past; otherwise a new best moves the level
// (up only for long, down only for short).
//
// Premiums are trusted: the feed's data-quality policy filters bad quotes.
// A NaN premium compares false everywhere and holds.
type TrailingStop struct {
	pos    Position
	sink   Sink
	act    float64 // activation_pct
	trail  float64 // trail_pct; 0 = no trailing
	factor float64 // level = best × factor
	hard   float64 // hard-stop level; NaN = none
	state  StopState
	best   float64 // NaN until armed
	level  float64 // NaN until armed (or hard-triggered)
}

// NewTrailingStop validates s and p, emits `add` at now (and `activate` at
// once when activation_pct is 0 and trail_pct is set) and returns the stop.
func NewTrailingStop(now time.Time, s StopSettings, p Position, sink Sink) (*TrailingStop, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if err := p.validate(); err != nil {
		return nil, err
	}
	s = s.withDefaults()
	t := &TrailingStop{
		pos: p, sink: sink, act: s.ActivationPct, trail: s.TrailPct,
		hard: NoValue, best: NoValue, level: NoValue,
	}
	if p.Side == Long {
		t.factor = 1 - s.TrailPct/100
	} else {
		t.factor = 1 + s.TrailPct/100
	}
	if s.StopLossPct > 0 {
		if p.Side == Long {
			t.hard = p.EntryPremium * (1 - s.StopLossPct/100)
		} else {
			t.hard = p.EntryPremium * (1 + s.StopLossPct/100)
		}
	}
	t.emit(now, EventAdd, "", "", p.EntryPremium, t.hard,
		fmt.Sprintf("%s stop added at entry premium %s", p.Side, fmtNum(p.EntryPremium)),
		fmt.Sprintf(`{"activation_pct":%s,"side":"%s","stop_loss_pct":%s,"trail_pct":%s}`,
			fmtNum(s.ActivationPct), p.Side, fmtNum(s.StopLossPct), fmtNum(s.TrailPct)))
	if t.trail > 0 && t.act == 0 {
		t.arm(now, p.EntryPremium, "activation_pct is 0: armed at entry")
	}
	return t, nil
}

func (p Position) validate() error {
	switch {
	case p.ExecutionID == "":
		return fmt.Errorf("%w: empty execution id", ErrInvalidPosition)
	case p.Side != Long && p.Side != Short:
		return fmt.Errorf("%w: %s: side must be long or short, got %s", ErrInvalidPosition, p.ExecutionID, p.Side)
	case !(p.EntryPremium > 0) || math.IsInf(p.EntryPremium, 0):
		return fmt.Errorf("%w: %s: entry premium must be > 0, got %g", ErrInvalidPosition, p.ExecutionID, p.EntryPremium)
	}
	return nil
}

// Position returns the position the stop tracks.
func (t *TrailingStop) Position() Position { return t.pos }

// State returns the stop's state.
func (t *TrailingStop) State() StopState { return t.state }

// Level returns the stop level: the trailing level once armed, the
// hard-stop level while pending, NaN when there is none.
func (t *TrailingStop) Level() float64 {
	if t.state == StopPending {
		return t.hard
	}
	return t.level
}

// Best returns the best premium seen since arming, NaN before.
func (t *TrailingStop) Best() float64 { return t.best }

// Update feeds the premium quoted at now and returns Exit when the position
// should be closed. A quote that changes nothing costs no allocation.
func (t *TrailingStop) Update(premium float64, now time.Time) Action {
	switch t.state {
	case StopActive:
		if t.pos.Side == Long {
			if premium <= t.level {
				return t.fire(now, premium, t.level)
			}
			if premium > t.best {
				t.move(now, premium)
			}
		} else {
			if premium >= t.level {
				return t.fire(now, premium, t.level)
			}
			if premium < t.best {
				t.move(now, premium)
			}
		}
		return Hold
	case StopPending:
		if t.pos.Side == Long && premium <= t.hard || t.pos.Side == Short && premium >= t.hard {
			return t.fire(now, premium, t.hard) // NaN hard (no hard stop) never compares true
		}
		if t.trail > 0 {
			g := (premium - t.pos.EntryPremium) / t.pos.EntryPremium * 100
			if t.pos.Side == Short {
				g = -g
			}
			if g >= t.act {
				t.arm(now, premium, "gain "+fmtNum(g)+"% reached activation_pct "+fmtNum(t.act)+"%")
			}
		}
		return Hold
	case StopTriggered:
		return Exit
	}
	return Hold
}

// Remove retires the stop (the position closed, or is no longer tracked)
// and emits `remove`. Removing twice is a no-op.
func (t *TrailingStop) Remove(now time.Time, reason string) {
	if t.state == StopRemoved {
		return
	}
	from := t.state
	t.state = StopRemoved
	t.emit(now, EventRemove, from.String(), StopRemoved.String(), NoValue, NoValue, reason, "")
}

func (t *TrailingStop) arm(now time.Time, premium float64, reason string) {
	t.state = StopActive
	t.best = premium
	t.level = premium * t.factor
	t.emit(now, EventActivate, StopPending.String(), StopActive.String(), premium, t.level, reason, "")
}

func (t *TrailingStop) move(now time.Time, premium float64) {
	from := t.level
	t.best = premium
	t.level = premium * t.factor
	// The stops' most frequent event: both texts built in one buffer each
	// (the numbers formatted once), not through fmt.
	var rb, db [160]byte
	r := append(rb[:0], "new best premium "...)
	r = appendNum(r, premium)
	r = append(r, " moves stop from "...)
	i := len(r)
	r = appendNum(r, from)
	j := len(r)
	r = append(r, " to "...)
	k := len(r)
	r = appendNum(r, t.level)
	d := append(db[:0], `{"from":`...)
	d = append(d, r[i:j]...)
	d = append(d, `,"to":`...)
	d = append(d, r[k:]...)
	d = append(d, '}')
	t.emit(now, EventUpdate, "", "", premium, t.level, string(r), string(d))
}

func (t *TrailingStop) fire(now time.Time, premium, level float64) Action {
	from := t.state
	t.state = StopTriggered
	t.level = level
	kind := "trailing stop"
	if from == StopPending {
		kind = "hard stop"
	}
	t.emit(now, EventTrigger, from.String(), StopTriggered.String(), premium, level,
		fmt.Sprintf("premium %s crossed %s %s", fmtNum(premium), kind, fmtNum(level)), "")
	return Exit
}

func (t *TrailingStop) emit(now time.Time, typ EventType, from, to string, value, threshold float64, reason, details string) {
	emit(t.sink, Event{
		Time: now, Component: TrailingStopComponent, Type: typ,
		ExecutionID: t.pos.ExecutionID, Symbol: t.pos.Symbol, Contract: t.pos.Contract,
		StateFrom: from, StateTo: to, Value: value, Threshold: threshold,
		Reason: reason, Details: details,
	})
}

// fmtNum formats v deterministically as a JSON number: the shortest
// representation that round-trips, in plain notation for 1e-6 ≤ |v| < 1e21
// and exponent notation otherwise (encoding/json's rule). Non-finite
// values, which JSON cannot hold, become null.
func fmtNum(v float64) string {
	return string(appendNum(nil, v))
}

func appendNum(b []byte, v float64) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return append(b, "null"...)
	}
	if a := math.Abs(v); a != 0 && (a < 1e-6 || a >= 1e21) {
		return strconv.AppendFloat(b, v, 'e', -1, 64)
	}
	return strconv.AppendFloat(b, v, 'f', -1, 64)
}
