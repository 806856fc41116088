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

// leg is one option of a position. qty is signed: long > 0.
type leg struct {
	id  feeds.ContractID
	qty int64
}

// posState is a position's life cycle.
type posState uint8

const (
	posOpening posState = iota // entry order in flight
	posOpen
	posClosing // exit order in flight
	posClosed
)

// Position is one strategy position: a single option or a vertical spread.
// The "main" leg is the one the strategy selected (sold for a short, bought
// for a long position); the wing, if any, is the protective leg. The net
// premium is main − wing, per share.
type Position struct {
	ExecID   string
	Symbol   string // underlying
	Contract string // OCC symbol, "MAIN/WING" for a spread
	Long     bool
	Qty      int64 // units of the structure (> 0)
	Mult     float64
	Expiry   int64 // µs

	legs  [2]leg
	nlegs int
	state posState

	EntryPremium  float64 // net per share at fill
	OpenedAt      int64
	ClosedAt      int64
	ExitPremium   float64
	ExitReason    string
	cash          float64 // all cash flows of this position, commissions included
	exitWanted    string  // exit reason waiting for the breaker to allow an order
	stopTriggered bool
	inflight      *order // the position's latest order
	dirty         bool   // quoted in the current instant, awaiting monitoring
	seq           int64  // creation order; ties in monitoring break by it
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
	marks     []feeds.Quote // by ContractID; Time 0 = never quoted
	holders   [][]*Position // by ContractID: open positions with a leg on it
	underOf   []int32       // by ContractID: 1 + index in unders; 0 = not yet known
	unders    []string      // underlyings in the order first quoted
	spots     []float64     // latest underlying price quoted, by underlying

	cash     float64
	realized float64
	open     []*Position // open order; closing removes in place
	closed   []*Position
}

func newPortfolio(contracts *feeds.Contracts, capital float64) *Portfolio {
	return &Portfolio{contracts: contracts, cash: capital}
}

// mark stores q as its contract's latest quote and reports whether an open
// position holds that contract. This is the per-quote hot path.
func (p *Portfolio) mark(q *feeds.Quote) bool {
	id := int(q.Contract)
	if id >= len(p.marks) {
		p.grow(id + 1)
	}
	p.marks[id] = *q
	u := p.underOf[id]
	if u == 0 {
		u = p.underlying(q.Contract)
	}
	p.spots[u-1] = q.UnderlyingPrice
	return len(p.holders[id]) > 0
}

// underlying interns a contract's underlying (off the hot path: once per
// contract).
func (p *Portfolio) underlying(id feeds.ContractID) int32 {
	name := p.contracts.Get(id).Underlying
	i := slices.Index(p.unders, name)
	if i < 0 {
		i = len(p.unders)
		p.unders = append(p.unders, name)
		p.spots = append(p.spots, math.NaN())
	}
	p.underOf[id] = int32(i + 1)
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

func (p *Portfolio) grow(n int) {
	n = max(n, 2*len(p.marks), 64)
	p.marks = slices.Grow(p.marks, n-len(p.marks))[:n]
	p.holders = slices.Grow(p.holders, n-len(p.holders))[:n]
	p.underOf = slices.Grow(p.underOf, n-len(p.underOf))[:n]
}

func (p *Portfolio) quote(id feeds.ContractID) *feeds.Quote {
	if int(id) >= len(p.marks) {
		p.grow(int(id) + 1)
	}
	return &p.marks[id]
}

func mid(q *feeds.Quote) float64 { return (q.Bid + q.Ask) / 2 }

// netQuote is the position's net premium as a (bid, ask) pair: what closing a
// long structure would get (bid) and what closing a short one would pay
// (ask), each floored at minPremium.
func (p *Portfolio) netQuote(pos *Position) (bid, ask float64) {
	m := p.quote(pos.legs[0].id)
	bid, ask = m.Bid, m.Ask
	if pos.nlegs == 2 {
		w := p.quote(pos.legs[1].id)
		bid -= w.Ask
		ask -= w.Bid
	}
	return max(bid, minPremium), max(ask, minPremium)
}

// netMid is the net premium at mid, floored at zero.
func (p *Portfolio) netMid(pos *Position) float64 {
	v := mid(p.quote(pos.legs[0].id))
	if pos.nlegs == 2 {
		v -= mid(p.quote(pos.legs[1].id))
	}
	return max(v, 0)
}

// marketValue is the signed value of a position's legs at mid, dollars.
func (p *Portfolio) marketValue(pos *Position) float64 {
	v := 0.0
	for _, l := range pos.Legs() {
		v += float64(l.qty) * mid(p.quote(l.id)) * pos.Mult
	}
	return v
}

// positionValue is |qty| × net premium × multiplier (DESIGN.md "Time and units").
func (p *Portfolio) positionValue(pos *Position) float64 {
	return float64(pos.Qty) * p.netMid(pos) * pos.Mult
}

func (p *Portfolio) greeks(pos *Position) (delta, gamma float64) {
	for _, l := range pos.Legs() {
		q := p.quote(l.id)
		delta += float64(l.qty) * q.Delta
		gamma += float64(l.qty) * q.Gamma
	}
	return delta, gamma
}

func (p *Portfolio) add(pos *Position) {
	p.open = append(p.open, pos)
	for _, l := range pos.Legs() {
		p.quote(l.id) // grows holders
		p.holders[l.id] = append(p.holders[l.id], pos)
	}
}

func (p *Portfolio) remove(pos *Position) {
	i := slices.Index(p.open, pos)
	if i < 0 {
		panic("sim: removing a position that is not open")
	}
	p.open = slices.Delete(p.open, i, i+1)
	for _, l := range pos.Legs() {
		h := p.holders[l.id]
		if j := slices.Index(h, pos); j >= 0 {
			p.holders[l.id] = slices.Delete(h, j, j+1)
		}
	}
	p.closed = append(p.closed, pos)
}

// flow books a cash flow of a position.
func (p *Portfolio) flow(pos *Position, amount float64) {
	p.cash += amount
	pos.cash += amount
}

// Snapshot is the portfolio's state at one instant.
type Snapshot struct {
	Equity, Cash, Realized, Unrealized float64
	Delta, Gamma                       float64
	Open                               int
}

func (p *Portfolio) snapshot() Snapshot {
	s := Snapshot{Cash: p.cash, Realized: p.realized}
	mv := 0.0
	for _, pos := range p.open {
		if pos.state == posOpening {
			continue
		}
		v := p.marketValue(pos)
		mv += v
		s.Unrealized += v + pos.cash
		d, g := p.greeks(pos)
		s.Delta += d
		s.Gamma += g
		s.Open++
	}
	s.Equity = p.cash + mv
	return s
}

// exposure is the view of the portfolio the limits checker reads. It is
// computed once per check, iterating positions in open order.
type exposure struct {
	delta, gamma, total, maxPos, equity float64
	symbols                             []string
	symDelta, symValue                  []float64
}

var _ risk.Exposure = (*exposure)(nil)

func (p *Portfolio) exposure() *exposure {
	e := &exposure{}
	mv := 0.0
	for _, pos := range p.open {
		if pos.state == posOpening {
			continue
		}
		d, g := p.greeks(pos)
		v := p.positionValue(pos)
		mv += p.marketValue(pos)
		e.delta += d
		e.gamma += g
		e.total += v
		e.maxPos = max(e.maxPos, v)
		i, found := slices.BinarySearch(e.symbols, pos.Symbol)
		if !found {
			e.symbols = slices.Insert(e.symbols, i, pos.Symbol)
			e.symDelta = slices.Insert(e.symDelta, i, 0)
			e.symValue = slices.Insert(e.symValue, i, 0)
		}
		e.symDelta[i] += d
		e.symValue[i] += v
	}
	e.equity = p.cash + mv
	return e
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
