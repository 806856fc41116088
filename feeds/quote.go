package feeds

import (
	"context"
	"fmt"
	"maps"
	"math"
	"time"
)

// ContractID is an interned contract: an index into a Contracts table. The hot path compares
// and indexes IDs and never hashes strings.
type ContractID uint32

// Right is an option's right.
type Right uint8

// Rights. The zero value is invalid so a forgotten field is caught.
const (
	Call Right = 1
	Put  Right = 2
)

// String returns "C" or "P" (the OCC letter).
func (r Right) String() string {
	switch r {
	case Call:
		return "C"
	case Put:
		return "P"
	}
	return fmt.Sprintf("Right(%d)", uint8(r))
}

// DefaultMultiplier is the shares per contract when the data does not say otherwise.
const DefaultMultiplier = 100

// Contract is one listed option.
type Contract struct {
	ID         ContractID
	Symbol     string    // OCC symbol without padding, e.g. "SPY200320P00240000"
	Underlying string    // e.g. "SPY", "SPX" (the root mapped by roots.go: SPXW → SPX)
	Root       string    // OCC root, e.g. "SPXW"; "" when unknown (then Underlying)
	Expiry     time.Time // UTC instant of the expiry day's 16:00 America/New_York
	Strike     float64
	Right      Right
	Multiplier float64 // shares per contract; 100 unless the data says otherwise
	// Settlement: PM (the zero value) settles at Expiry, the expiry day's close; AM settles
	// at the expiry day's opening price and the last trade is the trading day before
	// (roots.go).
	Settlement Settlement
}

// Contracts is an interning table: each distinct OCC symbol gets the next ContractID, in the
// order the symbols are first interned (so IDs are deterministic for a deterministic stream).
// It is owned by one source and is not safe for concurrent mutation.
//
// A long feed lists far more contracts than are ever alive at once (a weekly chain lists
// about 6,000 contracts a year), so a reader that streams the feed retires the contracts
// that expired long ago (Retire): the table's memory follows the contracts alive, not the
// length of the feed.
type Contracts struct {
	// chunks hold the contracts by ID, ContractChunk a chunk: growing never
	// copies or doubles the table (a long feed lists tens of thousands), and
	// a pointer from Get stays valid. A retired chunk is nil.
	chunks [][]Contract
	// maxExpiry is each chunk's latest expiry (µs): a chunk is retired
	// once its every contract expired before the cutoff.
	maxExpiry []int64
	live      int // first chunk not retired
	n         int
	bySym     map[string]ContractID
	dropped   int // symbols deleted from bySym since it was last rebuilt
}

// ContractChunk is how many IDs a chunk of the table holds: Retire forgets
// whole chunks, and a reader that keeps its own tables by ID (the
// simulator's latest quotes) may free the same chunks when Retire returns
// them.
const ContractChunk = 1024

// NewContracts returns an empty table.
func NewContracts() *Contracts {
	return &Contracts{bySym: make(map[string]ContractID)}
}

// Intern returns the ID of c.Symbol, adding c (with ID set) when the symbol is new. The
// other fields of an already interned symbol are not compared: the first definition wins.
// A retired symbol is new again: it gets a new ID.
func (t *Contracts) Intern(c Contract) ContractID {
	if id, ok := t.bySym[c.Symbol]; ok {
		return id
	}
	return t.add(c)
}

// add appends c under the next ID, even when its symbol has an ID already
// (a Tee reader copies a table whose source retired a symbol and interned
// it again): Lookup then finds the new ID.
func (t *Contracts) add(c Contract) ContractID {
	if t.n >= 1<<32-1 {
		panic("feeds: contract table full")
	}
	id := ContractID(t.n)
	c.ID = id
	if t.n%ContractChunk == 0 {
		t.chunks = append(t.chunks, make([]Contract, 0, ContractChunk))
		t.maxExpiry = append(t.maxExpiry, math.MinInt64)
	}
	last := len(t.chunks) - 1
	t.chunks[last] = append(t.chunks[last], c)
	t.maxExpiry[last] = max(t.maxExpiry[last], c.Expiry.UnixMicro())
	t.n++
	t.bySym[c.Symbol] = id
	return id
}

// Get returns the contract with the given ID, or nil when it is unknown or retired. The
// pointee must not be modified.
func (t *Contracts) Get(id ContractID) *Contract {
	if int(id) >= t.n {
		return nil
	}
	ch := t.chunks[id/ContractChunk]
	if ch == nil {
		return nil
	}
	return &ch[id%ContractChunk]
}

// Retire forgets the contracts that expired before cutoff (UTC µs), a whole chunk of IDs
// at a time: a chunk goes once it is full and its every contract expired before cutoff
// and, when lastSeen is not nil, was last quoted (lastSeen) before cutoff too (a
// long-dated contract, or a late quote, keeps its chunk). Get returns nil for a retired
// ID, Lookup no longer finds its symbol, and IDs are never reused. It returns the first
// ID of each chunk retired (ContractChunk IDs each). Pointers that Get returned earlier
// stay valid.
func (t *Contracts) Retire(cutoff int64, lastSeen func(ContractID) int64) []ContractID {
	var gone []ContractID
	full := t.n / ContractChunk // chunks [0, full) are full
	for i := t.live; i < full; i++ {
		if t.chunks[i] == nil || t.maxExpiry[i] >= cutoff || lastSeen != nil && seenSince(t.chunks[i], lastSeen, cutoff) {
			continue
		}
		for k := range t.chunks[i] {
			if c := &t.chunks[i][k]; t.bySym[c.Symbol] == c.ID { // not interned again since
				delete(t.bySym, c.Symbol)
			}
		}
		t.chunks[i] = nil
		t.dropped += ContractChunk
		gone = append(gone, ContractID(i*ContractChunk))
	}
	for t.live < full && t.chunks[t.live] == nil {
		t.live++
	}
	// A Go map keeps its buckets after deletes: rebuild it once it holds
	// more deleted room than live symbols.
	if t.dropped > len(t.bySym) && t.dropped >= ContractChunk {
		m := make(map[string]ContractID, len(t.bySym))
		maps.Copy(m, t.bySym)
		t.bySym, t.dropped = m, 0
	}
	return gone
}

// seenSince reports whether a contract of chunk was quoted at or after cutoff.
func seenSince(chunk []Contract, lastSeen func(ContractID) int64, cutoff int64) bool {
	for k := range chunk {
		if lastSeen(chunk[k].ID) >= cutoff {
			return true
		}
	}
	return false
}

// Lookup returns the ID of an OCC symbol.
func (t *Contracts) Lookup(occ string) (ContractID, bool) {
	id, ok := t.bySym[occ]
	return id, ok
}

// Len returns the number of interned contracts; IDs are 0..Len()-1.
func (t *Contracts) Len() int { return t.n }

// Quote is one bid/ask with the underlying price, implied vol and greeks at one instant.
type Quote struct {
	Time            int64 // UTC microseconds since the Unix epoch
	Contract        ContractID
	Bid, Ask        float64 // per share, dollars
	UnderlyingPrice float64
	IV              float64 // annualised, fraction
	Delta           float64 // per share, in [-1, 1]
	Gamma           float64 // per $1 of underlying
	Vega            float64 // per 1 vol point (0.01 of IV)
	Theta           float64 // per calendar day
}

// Mid returns (bid+ask)/2.
func (q *Quote) Mid() float64 { return (q.Bid + q.Ask) / 2 }

// Batch is a run of quotes in non-decreasing Time. A source reuses its Batch between calls to
// Next: the slice is valid only until the next call to Next or Close.
type Batch struct {
	Quotes []Quote
}

// Source streams quotes in non-decreasing time order.
type Source interface {
	// Contracts is the source's interning table. It grows as batches are read: every ID in a
	// batch returned by Next is in it by the time Next returns. A reading pipeline's source
	// may later retire contracts that expired, and were last quoted, a week (RetireAfter)
	// before its latest batch: Get returns nil for them (retire.go).
	Contracts() *Contracts
	// Next returns the next non-empty batch, or io.EOF at the end. The batch is reused by the
	// following call.
	Next(ctx context.Context) (*Batch, error)
	// Close releases the source's resources. It is safe to call more than once.
	Close() error
	// Quality returns the rows skipped so far under the "skip" policy, by kind.
	Quality() QualityCounts
}

// TimeMicros converts a time to UTC microseconds since the epoch.
func TimeMicros(t time.Time) int64 { return t.UnixMicro() }

// MicrosTime converts UTC microseconds since the epoch to a time.Time in UTC.
func MicrosTime(us int64) time.Time { return time.UnixMicro(us).UTC() }
