package feeds

import (
	"context"
	"fmt"
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
type Contracts struct {
	// chunks hold the contracts by ID, contractChunk a chunk: growing never
	// copies or doubles the table (a long feed lists tens of thousands), and
	// a pointer from Get stays valid.
	chunks [][]Contract
	n      int
	bySym  map[string]ContractID
}

const contractChunk = 1024

// NewContracts returns an empty table.
func NewContracts() *Contracts {
	return &Contracts{bySym: make(map[string]ContractID)}
}

// Intern returns the ID of c.Symbol, adding c (with ID set) when the symbol is new. The
// other fields of an already interned symbol are not compared: the first definition wins.
func (t *Contracts) Intern(c Contract) ContractID {
	if id, ok := t.bySym[c.Symbol]; ok {
		return id
	}
	if t.n >= 1<<32-1 {
		panic("feeds: contract table full")
	}
	id := ContractID(t.n)
	c.ID = id
	if t.n%contractChunk == 0 {
		t.chunks = append(t.chunks, make([]Contract, 0, contractChunk))
	}
	last := &t.chunks[len(t.chunks)-1]
	*last = append(*last, c)
	t.n++
	t.bySym[c.Symbol] = id
	return id
}

// Get returns the contract with the given ID, or nil when it is unknown. The pointee must not
// be modified.
func (t *Contracts) Get(id ContractID) *Contract {
	if int(id) >= t.n {
		return nil
	}
	return &t.chunks[id/contractChunk][id%contractChunk]
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
	// batch returned by Next is in it by the time Next returns.
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
