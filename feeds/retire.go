package feeds

// This file owns when a reader forgets contracts. A feed of several years
// lists tens of thousands of contracts but only a few hundred are alive at
// any moment; the tables that only the reading pipeline uses (a file
// source's, the canonical order's) retire the contracts that expired more
// than RetireAfter before the stream's latest quote, so their memory
// follows the contracts alive and not the length of the feed. The table a
// reader hands to the simulator (a Tee reader's, which the engine reads
// for the contracts of its positions) is retired by the simulator itself
// (teeReader.RetireContracts, sim/retire.go), which alone knows what it
// still reads.
//
// A file source keeps a contract until a week after both its expiry and its
// last quote, so a late quote (after expiry, which a clean feed never has)
// keeps its contract for another week: a repeated late quote is still a
// duplicate. A quote of a contract after it was retired is still delivered,
// with its symbol: the source interns the symbol again under a new ID.

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

// step retires from t what expired, and (lastSeen, when not nil) was last
// quoted, RetireAfter before now (the time of the latest quote handed on),
// at most once per retireEvery of stream time. It returns Retire's chunks.
func (r *retirer) step(t *Contracts, now int64, lastSeen func(ContractID) int64) []ContractID {
	if !r.due(now) {
		return nil
	}
	return t.Retire(now-RetireAfter, lastSeen)
}

// due reports whether a look is due at now, and if so sets the next one.
func (r *retirer) due(now int64) bool {
	if retireOff || now < r.next {
		return false
	}
	r.next = now + retireEvery
	return true
}

// forget drops what the file source keeps per contract beside its table
// for the contracts of the retired chunks (each starting at an ID of gone):
// their raw columns (lastMeta), and the current file's codes that name them,
// so a later row of such a code interns its symbol again (every ID of a
// batch is in the table, as Source promises).
func (s *fileSource) forget(gone []ContractID) {
	for _, first := range gone {
		for id := int(first); id < int(first)+ContractChunk && id < len(s.lastMeta); id++ {
			s.lastMeta[id] = rowMeta{}
		}
	}
	cur := s.cur
	if cur == nil {
		return
	}
	for i, id := range cur.ids {
		if id != noContract && s.contracts.Get(id) == nil {
			cur.ids[i] = noContract
			if cur.syms != nil {
				cur.syms[i].id = noContract
			}
			if sm := cur.lazy[uint32(i)]; sm != nil {
				sm.id = noContract
			}
		}
	}
}
