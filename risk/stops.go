package risk

import (
	"fmt"
	"slices"
	"time"
)

// Stops keeps one TrailingStop per execution id. Iteration (IDs, Snapshot)
// is in insertion order, never map order. It is not safe for concurrent use.
type Stops struct {
	settings StopSettings
	sink     Sink
	index    map[string]int // execution id → position in list
	list     []*TrailingStop
}

// NewStops validates s and returns an empty manager reporting to sink
// (nil: no logging).
func NewStops(s StopSettings, sink Sink) (*Stops, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return &Stops{settings: s.withDefaults(), sink: sink, index: map[string]int{}}, nil
}

// Add starts tracking p at now and emits `add` (plus `activate` when
// activation_pct is 0). The execution id must be new.
func (m *Stops) Add(now time.Time, p Position) error {
	if _, dup := m.index[p.ExecutionID]; dup {
		return fmt.Errorf("%w: %q already has a stop", ErrDuplicateStop, p.ExecutionID)
	}
	t, err := NewTrailingStop(now, m.settings, p, m.sink)
	if err != nil {
		return err
	}
	m.index[p.ExecutionID] = len(m.list)
	m.list = append(m.list, t)
	return nil
}

// Price returns the premium a stop on side follows for a bid/ask quote,
// per the price setting: exit_side is the bid for long and the ask for
// short; mid is (bid + ask) / 2.
func (m *Stops) Price(side Side, bid, ask float64) float64 {
	if m.settings.Price == PriceMid {
		return (bid + ask) / 2
	}
	if side == Short {
		return ask
	}
	return bid
}

// Update feeds the quote at now to the stop of id and returns its action.
func (m *Stops) Update(id string, bid, ask float64, now time.Time) (Action, error) {
	i, ok := m.index[id]
	if !ok {
		return Hold, fmt.Errorf("%w: %q", ErrUnknownStop, id)
	}
	t := m.list[i]
	return t.Update(m.Price(t.pos.Side, bid, ask), now), nil
}

// Remove stops tracking id, emitting `remove` with reason, whatever the
// stop's state (a triggered stop is removed once its exit fills).
func (m *Stops) Remove(now time.Time, id, reason string) error {
	i, ok := m.index[id]
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnknownStop, id)
	}
	m.list[i].Remove(now, reason)
	m.list = slices.Delete(m.list, i, i+1)
	delete(m.index, id)
	for j := i; j < len(m.list); j++ {
		m.index[m.list[j].pos.ExecutionID] = j
	}
	return nil
}

// Forget stops tracking id without an event, whatever the stop's state:
// for a triggered stop once its position has closed, whose `trigger` was
// its last event. It reports whether id was tracked. A long run keeps only
// the stops of open positions.
func (m *Stops) Forget(id string) bool {
	i, ok := m.index[id]
	if !ok {
		return false
	}
	m.list = slices.Delete(m.list, i, i+1)
	delete(m.index, id)
	for j := i; j < len(m.list); j++ {
		m.index[m.list[j].pos.ExecutionID] = j
	}
	return true
}

// UpdateStop is Update for a stop already looked up (Get): no lookup by
// execution id on the monitoring hot path. t must be tracked by m.
func (m *Stops) UpdateStop(t *TrailingStop, bid, ask float64, now time.Time) Action {
	return t.Update(m.Price(t.pos.Side, bid, ask), now)
}

// Get returns the stop of id. The stop stays owned by m: use it to read its
// state, not to Update or Remove it behind m's back.
func (m *Stops) Get(id string) (*TrailingStop, bool) {
	i, ok := m.index[id]
	if !ok {
		return nil, false
	}
	return m.list[i], true
}

// Len returns the number of tracked stops.
func (m *Stops) Len() int { return len(m.list) }

// IDs returns the tracked execution ids in insertion order.
func (m *Stops) IDs() []string {
	ids := make([]string, len(m.list))
	for i, t := range m.list {
		ids[i] = t.pos.ExecutionID
	}
	return ids
}

// StopSnapshot is a read-only view of one stop.
type StopSnapshot struct {
	Position
	State StopState
	Best  float64 // NaN until armed
	Level float64 // see TrailingStop.Level; NaN = none
}

// Snapshot returns every tracked stop, in insertion order.
func (m *Stops) Snapshot() []StopSnapshot {
	out := make([]StopSnapshot, len(m.list))
	for i, t := range m.list {
		out[i] = t.snapshot()
	}
	return out
}

func (t *TrailingStop) snapshot() StopSnapshot {
	return StopSnapshot{Position: t.pos, State: t.state, Best: t.best, Level: t.Level()}
}
