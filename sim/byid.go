package sim

import "github.com/optionsrisk/backtest/feeds"

// byID is one of the engine's tables by contract ID (the latest quotes, the
// model marks), in chunks of feeds.ContractChunk IDs: the chunks the
// contract table retires (retire.go) are freed here too, so the engine's
// memory follows the contracts alive and not every contract the feed ever
// listed (a flat table of a long feed held ~120 bytes per ID ever listed,
// per engine: per configuration of a sweep).
//
// A chunk is made when an ID of it is first stored. A freed chunk is never
// made again: nothing reads a retired contract (retire.go), and a store to
// one (a late quote) is dropped by the caller (Portfolio.mark). A read of
// one is a bug of retiring, and panics (retired) rather than answer zero.
type byID[T any] struct {
	chunks []*[feeds.ContractChunk]T
	gone   []bool // by chunk: freed
}

// get is id's entry, or nil when its chunk was never made or was freed.
func (t *byID[T]) get(id feeds.ContractID) *T {
	c := uint(id) / feeds.ContractChunk
	if c >= uint(len(t.chunks)) || t.chunks[c] == nil {
		return nil
	}
	return &t.chunks[c][uint(id)%feeds.ContractChunk]
}

// retired reports whether id's chunk was freed.
func (t *byID[T]) retired(id feeds.ContractID) bool {
	c := uint(id) / feeds.ContractChunk
	return c < uint(len(t.gone)) && t.gone[c]
}

// at is id's entry, making its chunk when needed; nil when its chunk was
// freed.
func (t *byID[T]) at(id feeds.ContractID) *T {
	c := t.reach(id)
	if t.chunks[c] == nil {
		if t.gone[c] {
			return nil
		}
		t.chunks[c] = new([feeds.ContractChunk]T)
	}
	return &t.chunks[c][uint(id)%feeds.ContractChunk]
}

// free drops the chunk whose first ID is first (as Contracts.Retire
// returns it).
func (t *byID[T]) free(first feeds.ContractID) {
	c := t.reach(first)
	t.chunks[c], t.gone[c] = nil, true
}

// reach is id's chunk index, the table grown (by empty chunks) to hold it.
func (t *byID[T]) reach(id feeds.ContractID) uint {
	c := uint(id) / feeds.ContractChunk
	for c >= uint(len(t.chunks)) {
		t.chunks = append(t.chunks, nil)
		t.gone = append(t.gone, false)
	}
	return c
}

// held is how many chunks the table holds.
func (t *byID[T]) held() int {
	n := 0
	for _, c := range t.chunks {
		if c != nil {
			n++
		}
	}
	return n
}
