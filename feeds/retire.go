package feeds

// This file owns when a reader forgets contracts. A feed of several years
// lists tens of thousands of contracts but only a few hundred are alive at
// any moment; the tables that only the reading pipeline uses (a file
// source's, the canonical order's) retire the contracts that expired more
// than RetireAfter before the stream's latest quote, so their memory
// follows the contracts alive and not the length of the feed. The table a
// reader hands to the simulator (a Tee reader's, which the engine reads
// for the contracts of its positions) is never retired.
//
// A quote of a contract after it was retired (more than RetireAfter past
// its expiry, which a clean feed never has) is still delivered, with its
// symbol: the source interns the symbol again under a new ID.

// RetireAfter is how long past its expiry (µs) a contract stays in the
// reading pipeline's tables: a week.
const RetireAfter int64 = 7 * 24 * 3600 * 1e6

// retireEvery is how often (µs of stream time) a reader looks for
// contracts to retire: once a day.
const retireEvery int64 = 24 * 3600 * 1e6

// retireOff turns retiring off (tests compare the streams with and without).
var retireOff = false

// retirer paces one table's retiring by stream time.
type retirer struct {
	next int64 // stream time of the next look; 0 = at the first quote
}

// step retires from t what expired RetireAfter before now (the time of the
// latest quote handed on), at most once per retireEvery of stream time. It
// reports whether it looked.
func (r *retirer) step(t *Contracts, now int64) bool {
	if retireOff || now < r.next {
		return false
	}
	r.next = now + retireEvery
	t.Retire(now - RetireAfter)
	return true
}
