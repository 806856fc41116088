package sim

// class orders scheduled events that fall at the same instant. Quotes at an
// instant are applied between classBeforeQuotes and classAfterQuotes: a
// breaker wake-up or a broker answer due at t happens before the market data
// of t, and everything that reads marks (expiry, entries, health checks,
// snapshots) sees the quotes of t.
type class uint8

const (
	classWake    class = iota // circuit breaker open → half_open
	classBroker               // broker answers an order (reject or accept)
	classQuotes               // marker only: quotes of this instant
	classTimeout              // an accepted order that never filled runs out of time
	classExpiry               // options expiring settle
	classEntry                // strategy entry signal
	classHealth               // scheduled limits health check
	classEquity               // equity snapshot
)

// item is one scheduled event.
type item struct {
	at    int64 // µs since epoch, UTC
	class class
	seq   uint64 // scheduling order; breaks remaining ties
	order *order // classBroker
}

// schedule is a min-heap by (at, class, seq). Never ordered by pointer or
// goroutine timing, so a run replays identically. (at, class, seq) is a
// total order (seq is unique), so the pop order is the heap's whatever
// its layout. Typed by hand: no boxing of items through container/heap.
type schedule struct {
	items []item
	seq   uint64
}

func (s *schedule) Len() int { return len(s.items) }

func (s *schedule) less(i, j int) bool {
	a, b := &s.items[i], &s.items[j]
	if a.at != b.at {
		return a.at < b.at
	}
	if a.class != b.class {
		return a.class < b.class
	}
	return a.seq < b.seq
}

func (s *schedule) add(it item) {
	s.seq++
	it.seq = s.seq
	s.items = append(s.items, it)
	for j := len(s.items) - 1; j > 0; {
		i := (j - 1) / 2
		if !s.less(j, i) {
			break
		}
		s.items[i], s.items[j] = s.items[j], s.items[i]
		j = i
	}
}

// peek returns the earliest item; ok is false when the schedule is empty.
func (s *schedule) peek() (item, bool) {
	if len(s.items) == 0 {
		return item{}, false
	}
	return s.items[0], true
}

// pop removes and returns the earliest item.
func (s *schedule) pop() item {
	n := len(s.items) - 1
	it := s.items[0]
	s.items[0] = s.items[n]
	s.items[n] = item{}
	s.items = s.items[:n]
	for i := 0; ; {
		l := 2*i + 1
		if l >= n {
			break
		}
		j := l
		if r := l + 1; r < n && s.less(r, l) {
			j = r
		}
		if !s.less(j, i) {
			break
		}
		s.items[i], s.items[j] = s.items[j], s.items[i]
		i = j
	}
	return it
}

// before reports whether it runs before the quotes at instant t.
func (it item) before(t int64) bool {
	return it.at < t || (it.at == t && it.class < classQuotes)
}
