package sim

import "github.com/optionsrisk/backtest/feeds"

// PositionMark is one open position's net mark per share and its
// no-arbitrage bounds, for the invariant tests.
type PositionMark struct {
	ExecID        string
	Bid, Ask, Mid float64
	Lo, Hi        float64
	Legs, Models  int
	Width         float64
	Structure     string
	LegMarks      []LegMark
}

// LegMark is one leg's mark and its intrinsic value at the latest spot.
type LegMark struct {
	Mid, Intrinsic float64
	Model          bool
}

// OnInstant calls f after every instant's workflows with the marks of every
// open position.
func (e *Engine) OnInstant(f func(now int64, marks []PositionMark)) {
	e.afterInstant = func() {
		var ms []PositionMark
		for _, pos := range e.pf.open {
			bid, ask, mid, models := e.netMarks(pos)
			lo, hi := e.bounds(pos)
			st := pos.Structure
			pm := PositionMark{ExecID: pos.ExecID, Bid: bid, Ask: ask, Mid: mid, Lo: lo, Hi: hi, Legs: pos.nlegs, Models: models, Width: pos.Width, Structure: st}
			for _, l := range pos.Legs() {
				m := e.markLeg(l.id)
				iv := intrinsic(e.pf.contracts.Get(l.id), e.pf.spot(pos.Symbol))
				pm.LegMarks = append(pm.LegMarks, LegMark{Mid: m.mid, Intrinsic: iv, Model: m.model})
			}
			ms = append(ms, pm)
		}
		f(e.now, ms)
	}
}

// TradeBounds are the static no-arbitrage bounds of a trade's net premium
// per share (valueBounds of its legs), for the invariant tests.
func TradeBounds(tr Trade) (lo, hi float64) {
	var legs []leg
	for _, l := range tr.Legs {
		legs = append(legs, leg{ratio: float64(l.Qty), strike: l.Strike, call: l.Right == "call", expiry: l.Expiry})
	}
	lo, hi = valueBounds(legs)
	return premiumBounds(tr.Long, lo, hi)
}

// Retained counts what a run holds in memory that could grow with its
// length, for the memory tests.
type Retained struct {
	Decisions   int // attributed decisions not yet handed on
	Shadows     int // counterfactual positions alive
	ShadowStops int // their private trailing stops
	Closed      int // closed positions whose trades row is not handed on
	Open        int // open positions
	Stops       int // the risk manager's trailing stops
	Schedule    int // scheduled events
	Pending     int // orders waiting for quotes
}

// Retained is the run's current Retained.
func (e *Engine) Retained() Retained {
	r := Retained{Closed: len(e.pf.closed), Open: len(e.pf.open), Stops: e.rm.Stops().Len(),
		Schedule: len(e.sched.items), Pending: len(e.pending)}
	if a := e.attr; a != nil {
		r.Decisions = len(a.open)
		for _, l := range a.byUnder {
			r.Shadows += len(l)
		}
		if a.stops != nil {
			r.ShadowStops = a.stops.Len()
		}
	}
	return r
}

// AfterInstant calls f after every instant's workflows.
func (e *Engine) AfterInstant(f func()) { e.afterInstant = f }

// KeepContracts turns off the engine's retiring of its contract table
// (retire.go), for the tests that compare runs with and without.
func (e *Engine) KeepContracts() { e.ret.src, e.ret.next = nil, 1<<63-1 }

// TableChunks is how many chunks the engine's own tables by contract ID
// (the latest quotes, the model marks) hold.
func (e *Engine) TableChunks() (marks, models int) { return e.pf.marks.held(), e.models.held() }

// ContractsRetired is how many of the contracts listed so far the table
// the engine reads has retired (Get returns nil), and how many chunks the
// engine retired.
func (e *Engine) ContractsRetired() (retired, listed, chunks int) {
	t := e.pf.contracts
	for id := range t.Len() {
		if t.Get(feeds.ContractID(id)) == nil {
			retired++
		}
	}
	return retired, t.Len(), e.ret.chunks
}
