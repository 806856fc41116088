package sim

import (
	"fmt"
	"time"
)

// This file owns the Go interface of strategies: Strategy, what it sees
// (Market, PositionView) and decides (EntryDecision), and Declarative, the
// scenario file's strategy.entry / strategy.exit as a Strategy.

// Strategy decides what a run trades. The engine keeps everything else:
// the entry schedule (strategy.entry's at, every or times), contract
// choice, the portfolio limits, the circuit breaker, the trailing stops,
// the broker, expiry and the books. A Strategy only decides:
//
//   - Entry, at each entry signal once the session has quoted: open the
//     returned structure (Open true) or not (counted as
//     SignalOutcomes.Condition). The max_open cap, contract choice, limits
//     and breaker then apply as to any entry.
//   - Exit, on every monitoring of each open position (every instant its
//     underlying quotes), before the trailing stops: a non-empty reason
//     closes the position, the reason naming the exit in fills and trades.
//
// Both run on the simulation's single thread, in simulated time; they must
// be deterministic (no wall clock, no unseeded randomness) for runs to
// replay. An error stops the run. Install one with Engine.UseStrategy; the
// default is Declarative.
type Strategy interface {
	Entry(m *Market) (EntryDecision, error)
	Exit(m *Market, p *PositionView) (reason string, err error)
}

// EntryDecision is a Strategy's answer to an entry signal.
type EntryDecision struct {
	Open bool
	// Structure is what to open; nil opens strategy.entry's structure
	// (or shorthand). Keep the pointer: plans are cached by it.
	Structure *StructureConfig
	Qty       int // units; 0 means strategy.entry.qty
}

// Market is what a Strategy sees of the market and the book now.
type Market struct{ e *Engine }

// Now is the simulated time.
func (m *Market) Now() time.Time { return utc(m.e.now) }

// Vars are the condition variables of this instant (see Env; the pos_
// fields are zero). Computed once per instant; do not keep the pointer.
func (m *Market) Vars() *Env { return m.e.market() }

// Open is the number of open positions and entries in flight.
func (m *Market) Open() int { return len(m.e.pf.open) + m.e.opening }

// PositionView is an open position as a Strategy sees it. The engine
// reuses one view: copy what you keep.
type PositionView struct {
	ExecID, Structure, Symbol string
	Long                      bool
	Qty                       int64
	EntryPremium              float64   // net per share at the fill
	Bid, Ask, Mid             float64   // net premium per share now (Bid, Ask as the stops see them)
	PnL                       float64   // dollars at Mid, costs included
	OpenedAt                  time.Time // the entry fill
	pos                       *Position
	e                         *Engine
}

// DTE is the number of calendar days to the position's first expiry.
func (p *PositionView) DTE() int { return p.e.dte(p.pos.Expiry) }

// UseStrategy replaces the scenario's declarative strategy by s. Call it
// before Run. A replayed log (strategy.replay) takes its entries from the
// log, not from s; s.Exit still runs on the replayed positions.
func (e *Engine) UseStrategy(s Strategy) {
	e.strat = s
	e.declarative = false
	if e.cond == nil {
		e.cond = &condState{} // Market.Vars reads the daily history
	}
}

// Declarative is the scenario file's strategy as a Strategy: Entry opens
// strategy.entry's structure when strategy.entry.when (if any) holds; Exit
// applies strategy.exit's rules in their documented order (ExitConfig).
type Declarative struct{ e *Engine }

// Entry evaluates strategy.entry.when.
func (d Declarative) Entry(m *Market) (EntryDecision, error) {
	e := d.e
	if e.cond == nil || e.cond.entry == nil {
		return EntryDecision{Open: true}, nil
	}
	ok, err := e.evalCond(e.cond.entry, nil)
	return EntryDecision{Open: ok}, err
}

// Exit applies strategy.exit's rules.
func (d Declarative) Exit(m *Market, p *PositionView) (string, error) {
	return d.e.exitRule(p.pos, p.Bid, p.Ask)
}

// planFor resolves a Strategy's structure, cached by pointer.
func (e *Engine) planFor(s *StructureConfig) (*structPlan, error) {
	if s == e.lastStruct {
		return &e.lastPlan, nil
	}
	p, err := s.plan("structure", e.cfg.Strategy.Entry.DTE)
	if err != nil {
		return nil, fmt.Errorf("sim: strategy's structure: %w", err)
	}
	e.lastStruct, e.lastPlan = s, p
	return &e.lastPlan, nil
}

// view fills the engine's reused PositionView for pos.
func (e *Engine) view(pos *Position) *PositionView {
	v := &e.posView
	bid, ask, mid, _ := e.netMarks(pos)
	*v = PositionView{
		ExecID: pos.ExecID, Structure: pos.Structure, Symbol: pos.Symbol, Long: pos.Long, Qty: pos.Qty,
		EntryPremium: pos.EntryPremium, Bid: max(bid, minPremium), Ask: max(ask, minPremium), Mid: mid,
		PnL: pos.cash + pos.sign()*mid*pos.units(), OpenedAt: utc(pos.OpenedAt), pos: pos, e: e,
	}
	return v
}
