package sim

import (
	"math"
	"slices"

	"github.com/optionsrisk/backtest/feeds"
	"github.com/optionsrisk/backtest/risk"
)

// minPremium floors a position's net premium as the trailing stops see it.
// A spread whose protective leg is bid at zero can price below zero; a
// percentage stop on a non-positive premium has no meaning.
const minPremium = 0.01

// leg is one option of a position. qty is signed: long > 0. ratio is qty
// per unit of the structure (qty / Position.Qty); strike, call and expiry
// are the contract's, kept here off the contracts table for the hot path.
type leg struct {
	id     feeds.ContractID
	qty    int64
	ratio  float64
	strike float64
	call   bool
	expiry int64 // µs
}

// posState is a position's life cycle.
type posState uint8

const (
	posOpening posState = iota // entry order in flight
	posOpen
	posClosing // exit order in flight
	posClosed
)

// Position is one strategy position: a structure of 1 to 4 legs (see
// StructureConfig). Its value per unit is V = Σ ratio × leg value (ratios
// signed, long > 0); its net premium per share is P = V for a long
// structure (the debit) and −V for a short one (the credit), so for a
// vertical P is main − wing as before. Expiry is the first leg expiry.
type Position struct {
	ExecID   string
	Symbol   string // underlying
	Contract string // OCC symbol, "MAIN/WING" for a spread
	Long     bool
	Qty      int64 // units of the structure (> 0)
	Mult     float64
	Expiry   int64 // µs

	legs  [maxLegs]leg
	nlegs int
	state posState
	// Structure names the structure (StructureConfig.Type, or guessed from
	// a replayed log's legs).
	Structure string
	lo, hi    float64 // static no-arbitrage bounds of the net premium (valueBounds)
	multiExp  bool    // legs of more than one expiry

	EntryPremium  float64 // net per share at fill
	OpenedAt      int64
	ClosedAt      int64
	ExitPremium   float64
	ExitReason    string
	cash          float64 // all cash flows of this position, commissions included
	exitWanted    string  // exit reason waiting for the breaker to allow an order
	stopTriggered bool
	stop          *risk.TrailingStop // the risk manager's stop of this position; nil when none
	exitAsked     bool               // attribution: the breaker's first block of its exit is attributed
	inflight      *order             // the position's latest order
	seq           int64              // creation order
	noMarket      bool               // a no_market row was recorded for the wanted exit
	closedUntil   int64              // closed_market reject: no exit order before this
	Width         float64            // largest strike distance of two legs of one right and expiry (structureWidth)
	// noCall: no call leg, so bounds do not depend on the spot and are
	// blo, bhi (set by newPosition).
	noCall   bool
	blo, bhi float64
}

// Legs returns the position's legs as (contract, signed qty) pairs.
func (p *Position) Legs() []leg { return p.legs[:p.nlegs] }

// RealizedPnL is the position's P&L once closed: every cash flow, commissions
// included.
func (p *Position) RealizedPnL() float64 { return p.cash }

// Portfolio holds cash, positions and the latest quote of every contract.
// Money is summed in a fixed order (position open order) so totals never
// depend on map iteration.
type Portfolio struct {
	contracts *feeds.Contracts
	marks     byID[legQuote] // Time 0 = never quoted
	underOf   []int32        // by ContractID: 1 + index in unders; 0 = not yet quoted
	unders    []string       // underlyings in the order first quoted
	spots     []float64      // latest underlying price quoted, by underlying
	spotAt    []int64        // time of that price, by underlying
	moved     []bool         // by underlying: quoted in the current instant
	movedList []int32        // underlyings quoted in the current instant
	// openSpot is each underlying's first price at or after the session
	// open of the local day openDay (its midnight, µs): AM-settled options
	// settle against it.
	openSpot []float64
	openDay  []int64
	byUnder  [][]*Position // open positions by underlying, in open order
	index    chainIndex    // contracts alive, for choosing entries

	cash     float64
	realized float64
	open     []*Position // open order; closing removes in place
	closed   []*Position // closed, trades row not yet handed on (flushTrades)
	// closedNew: a position closed since the last flushTrades, or one
	// waits only for the clock.
	closedNew bool
}

func newPortfolio(contracts *feeds.Contracts, capital float64) *Portfolio {
	return &Portfolio{contracts: contracts, cash: capital}
}

// mark stores q as its contract's latest quote and notes that its
// underlying moved in this instant. This is the per-quote hot path: no
// position is looked at here.
func (p *Portfolio) mark(q *feeds.Quote) {
	id := int(q.Contract)
	if id >= len(p.underOf) {
		p.grow(id + 1)
	}
	// Field by field: a composite literal is built on the stack and
	// copied in 16-byte moves that stall on its 8-byte stores. A retired
	// contract's quote (a late one) is not stored: nothing reads it again
	// (retire.go), but its underlying's price is news.
	if m := p.marks.at(q.Contract); m != nil {
		m.Time, m.Bid, m.Ask = q.Time, q.Bid, q.Ask
		m.UnderlyingPrice, m.IV, m.Delta, m.Gamma = q.UnderlyingPrice, q.IV, q.Delta, q.Gamma
	}
	u := p.underOf[id]
	if u == 0 {
		u = p.underlying(q.Contract)
	}
	p.spots[u-1] = q.UnderlyingPrice
	p.spotAt[u-1] = q.Time
	if !p.moved[u-1] {
		p.moved[u-1] = true
		p.movedList = append(p.movedList, u-1)
	}
}

// underlying interns a contract's underlying and indexes the contract
// (off the hot path: once per contract, on its first quote).
func (p *Portfolio) underlying(id feeds.ContractID) int32 {
	c := p.contract(id)
	i := slices.Index(p.unders, c.Underlying)
	if i < 0 {
		i = len(p.unders)
		p.unders = append(p.unders, c.Underlying)
		p.spots = append(p.spots, math.NaN())
		p.spotAt = append(p.spotAt, 0)
		p.moved = append(p.moved, false)
		p.byUnder = append(p.byUnder, nil)
		p.openSpot = append(p.openSpot, math.NaN())
		p.openDay = append(p.openDay, 0)
	}
	p.underOf[id] = int32(i + 1)
	p.index.add(c, i)
	return int32(i + 1)
}

// spot is the latest price of an underlying quoted on any of its contracts
// (NaN before any): expiry settles against it, not against a leg's own last
// quote, which may be days old once the leg stops being quoted.
func (p *Portfolio) spot(underlying string) float64 {
	if i := slices.Index(p.unders, underlying); i >= 0 {
		return p.spots[i]
	}
	return math.NaN()
}

// grow makes underOf at least n long (4 bytes per ID ever listed: a late
// quote of a retired contract still needs its underlying).
func (p *Portfolio) grow(n int) {
	n = max(n, 2*len(p.underOf), 64)
	p.underOf = slices.Grow(p.underOf, n-len(p.underOf))[:n]
}

// quote is contract id's latest quote (Time 0: never quoted), to read only.
// It panics for a retired contract (a bug of retiring).
func (p *Portfolio) quote(id feeds.ContractID) *legQuote {
	if q := p.marks.get(id); q != nil {
		return q
	}
	if p.marks.retired(id) {
		retiredInUse(id)
	}
	return &noQuote
}

// noQuote is the quote of a contract never quoted; never written.
var noQuote legQuote

func mid(q *legQuote) float64 { return (q.Bid + q.Ask) / 2 }

// legQuote is a contract's latest quote as the engine keeps it: the fields
// of feeds.Quote it reads (56 of its 80 bytes: storing every quote is the
// per-quote hot path, and a smaller table stays in cache).
type legQuote struct {
	Time            int64
	Bid, Ask        float64
	UnderlyingPrice float64
	IV              float64
	Delta, Gamma    float64
}

// Mid is feeds.Quote.Mid.
func (q *legQuote) Mid() float64 { return (q.Bid + q.Ask) / 2 }

func (p *Portfolio) add(pos *Position) {
	p.open = append(p.open, pos)
	u := p.underOf[pos.legs[0].id] - 1
	p.byUnder[u] = append(p.byUnder[u], pos)
}

func (p *Portfolio) remove(pos *Position) {
	i := slices.Index(p.open, pos)
	if i < 0 {
		panic("sim: removing a position that is not open")
	}
	p.open = slices.Delete(p.open, i, i+1)
	u := p.underOf[pos.legs[0].id] - 1
	if j := slices.Index(p.byUnder[u], pos); j >= 0 {
		p.byUnder[u] = slices.Delete(p.byUnder[u], j, j+1)
	}
	p.closed = append(p.closed, pos)
	p.closedNew = true
}

// flow books a cash flow of a position.
func (p *Portfolio) flow(pos *Position, amount float64) {
	p.cash += amount
	pos.cash += amount
}

// Snapshot is the portfolio's state at one instant. Delta and Gamma are
// share equivalents.
type Snapshot struct {
	Equity, Cash, Realized, Unrealized float64
	Delta, Gamma                       float64
	Open                               int
	ModelMarks                         int // open legs marked by the model
}

func (e *Engine) portfolioSnapshot() Snapshot {
	p := e.pf
	s := Snapshot{Cash: p.cash, Realized: p.realized}
	mv := 0.0
	for _, pos := range p.open {
		if pos.state == posOpening {
			continue
		}
		var ms [maxLegs]legMark // each leg marked once for both
		e.legMarks(pos, &ms)
		_, _, m, models := e.netFrom(pos, &ms)
		v := pos.sign() * m * pos.units()
		mv += v
		s.Unrealized += v + pos.cash
		d, g := greeksFrom(pos, &ms)
		s.Delta += d
		s.Gamma += g
		s.Open++
		s.ModelMarks += models
	}
	s.Equity = p.cash + mv
	return s
}

// exposure is the view of the portfolio the limits checker reads: greeks
// in share equivalents, position values on the riskValue basis. It is
// computed once per check, iterating positions in open order.
type exposure struct {
	delta, gamma, total, maxPos, equity float64
	symbols                             []string
	symDelta, symValue                  []float64
}

var _ risk.Exposure = (*exposure)(nil)

// The engine reuses one exposure: the limits checker reads it during the
// call only.
func (e *Engine) exposure() *exposure {
	x := &e.expo
	*x = exposure{symbols: x.symbols[:0], symDelta: x.symDelta[:0], symValue: x.symValue[:0]}
	mv := 0.0
	for _, pos := range e.pf.open {
		if pos.state == posOpening {
			continue
		}
		var ms [maxLegs]legMark // each leg marked once for both
		e.legMarks(pos, &ms)
		d, g := greeksFrom(pos, &ms)
		v := e.riskValue(pos, pos.EntryPremium)
		_, _, m, _ := e.netFrom(pos, &ms)
		mv += pos.sign() * m * pos.units()
		x.delta += d
		x.gamma += g
		x.total += v
		x.maxPos = max(x.maxPos, v)
		i, found := slices.BinarySearch(x.symbols, pos.Symbol)
		if !found {
			x.symbols = slices.Insert(x.symbols, i, pos.Symbol)
			x.symDelta = slices.Insert(x.symDelta, i, 0)
			x.symValue = slices.Insert(x.symValue, i, 0)
		}
		x.symDelta[i] += d
		x.symValue[i] += v
	}
	x.equity = e.pf.cash + mv
	return x
}

func (e *exposure) PortfolioDelta() float64   { return e.delta }
func (e *exposure) PortfolioGamma() float64   { return e.gamma }
func (e *exposure) TotalValue() float64       { return e.total }
func (e *exposure) MaxPositionValue() float64 { return e.maxPos }
func (e *exposure) Equity() float64           { return e.equity }
func (e *exposure) Symbols() []string         { return e.symbols }
func (e *exposure) SymbolDelta(s string) float64 {
	if i, ok := slices.BinarySearch(e.symbols, s); ok {
		return e.symDelta[i]
	}
	return 0
}
func (e *exposure) SymbolValue(s string) float64 {
	if i, ok := slices.BinarySearch(e.symbols, s); ok {
		return e.symValue[i]
	}
	return 0
}

// intrinsic is an option's value at expiry per share.
func intrinsic(c *feeds.Contract, spot float64) float64 {
	if c.Right == feeds.Call {
		return math.Max(spot-c.Strike, 0)
	}
	return math.Max(c.Strike-spot, 0)
}

// underlyingPrice is the latest price of the first underlying quoted, or
// NaN before any quote.
func (p *Portfolio) underlyingPrice() float64 {
	if len(p.spots) == 0 {
		return math.NaN()
	}
	return p.spots[0]
}
