package sim

// Fill is one order's outcome: a row of the fills table. Prices are net per
// share for spreads; NaN means absent (an order that never filled).
type Fill struct {
	Seq            int64
	OrderTime      int64 // µs
	FillTime       int64 // µs; 0 when not filled
	ExecutionID    string
	Symbol         string
	Contract       string
	Side           string // "buy" or "sell" (of the main leg)
	Intent         string // "entry" or "exit"
	Qty            int64
	RequestedPrice float64 // net premium per share the fill model gave on the quotes when sent
	FillPrice      float64
	Slippage       float64 // per share, against the order (>= 0)
	Commission     float64 // dollars
	Status         string  // filled, rejected, blocked, expired, no_market, cancelled, settled
	Reason         string
	Multiplier     float64 // shares per contract
	// MidPrice is the net mid of the legs' quotes at the fill (NaN when not
	// filled): |FillPrice − MidPrice| is what crossing the spread cost.
	MidPrice float64
}

// Order statuses.
const (
	StatusFilled    = "filled"
	StatusRejected  = "rejected"
	StatusBlocked   = "blocked"
	StatusExpired   = "expired"
	StatusCancelled = "cancelled"
	// StatusNoMarket is an order that could not be priced because a leg had
	// no fresh quote: an exit not sent for that reason (one row until the
	// leg quotes again) or an accepted order that timed out without a quote
	// of every leg. The broker never answered, so the breaker hears nothing.
	StatusNoMarket = "no_market"
	// StatusSettled is not an order: a position held to expiry settles at
	// intrinsic value, recorded as an exit row at the expiry instant.
	StatusSettled = "settled"
)

// EquityPoint is one equity snapshot: a row of the equity table.
type EquityPoint struct {
	Time          int64 // µs
	Equity        float64
	Cash          float64
	RealizedPnL   float64
	UnrealizedPnL float64
	Delta         float64
	Gamma         float64
	Drawdown      float64 // (peak − equity) / peak, >= 0
	OpenPositions int64
	// UnderlyingPrice is the latest price of the first underlying the feed
	// quoted; NaN before any quote.
	UnderlyingPrice float64
	// ModelMarks is the number of open legs marked by the model (no fresh
	// quote of their own) in this snapshot.
	ModelMarks int64
}

// Recorder receives the run's fills and equity snapshots in order. An error
// stops the run.
type Recorder interface {
	Fill(Fill) error
	Equity(EquityPoint) error
}

// MemoryRecorder keeps everything in memory, for tests.
type MemoryRecorder struct {
	Fills  []Fill
	Points []EquityPoint
}

func (m *MemoryRecorder) Fill(f Fill) error          { m.Fills = append(m.Fills, f); return nil }
func (m *MemoryRecorder) Equity(p EquityPoint) error { m.Points = append(m.Points, p); return nil }

var _ Recorder = (*MemoryRecorder)(nil)

// Trade is a closed (or still open) position: a row of the trades table.
type Trade struct {
	ExecutionID  string
	Symbol       string
	Contract     string
	Long         bool
	Qty          int64
	OpenedAt     int64
	ClosedAt     int64 // 0 while open
	EntryPremium float64
	ExitPremium  float64
	ExitReason   string // trailing_stop, stop_loss, an exit rule's name (ExitConfig), expiry, recorded_exit; "" while open
	PnL          float64

	Structure  string     // StructureConfig.Type: single, vertical, iron_condor, …
	Legs       []TradeLeg // in position order: the structure's legs as configured
	Width      float64    // largest strike distance of two legs of one right and expiry, points; 0 for a single leg
	MaxLoss    float64    // dollars for Qty units, before costs; +Inf when undefined
	Multiplier float64    // shares per contract
}

// TradeLeg is one leg of a trade.
type TradeLeg struct {
	Contract string // OCC symbol
	Qty      int64  // signed contracts per unit of the structure: +1 long, -1 short
	Right    string // "call" or "put"
	Strike   float64
	Expiry   int64 // µs
}

// SignalOutcomes accounts for every entry signal of a run: once the run has
// ended, Total equals the sum of every other field (NoContractBy splits
// NoContract by the filter that failed).
type SignalOutcomes struct {
	Total      int64 // entry signals fired (schedule or replayed entry)
	Opened     int64 // the entry filled
	NoQuote    int64 // nothing quoted in this session yet (no market to trade on)
	NoContract int64 // no contract passed the entry filters
	MaxOpen    int64 // strategy.entry.max_open reached
	Limits     int64 // refused by the portfolio limits checker
	Breaker    int64 // blocked by the circuit breaker
	Broker     int64 // sent, but rejected, timed out, without a market, or cancelled at the end
	Condition  int64 // strategy.entry.when was false
	// NoContractBy counts NoContract by the first filter no contract passed:
	// "underlying", "right", "dte", "quote" (none quoted this session),
	// "wing" (no protective leg at the width).
	NoContractBy map[string]int64
}
