package risk

import "time"

// failureRing holds the times of the most recent failures, oldest first, in
// a buffer of fixed capacity (the failure threshold): only the newest
// `threshold` failures can ever matter, because that many within the window
// trip the breaker and clear the ring. It never grows.
type failureRing struct {
	at   []time.Time
	head int // index of the oldest entry
	n    int
}

func newFailureRing(capacity int) failureRing {
	return failureRing{at: make([]time.Time, capacity)}
}

// add records a failure at t, dropping the oldest one when full.
func (r *failureRing) add(t time.Time) {
	if r.n < len(r.at) {
		r.at[(r.head+r.n)%len(r.at)] = t
		r.n++
		return
	}
	r.at[r.head] = t
	r.head = (r.head + 1) % len(r.at)
}

// countAfter returns how many recorded failures happened strictly after
// cutoff. Entries are in time order, so it walks from the newest.
func (r *failureRing) countAfter(cutoff time.Time) int {
	c := 0
	for i := r.n - 1; i >= 0; i-- {
		if !r.at[(r.head+i)%len(r.at)].After(cutoff) {
			break
		}
		c++
	}
	return c
}

func (r *failureRing) clear() { r.head, r.n = 0, 0 }
