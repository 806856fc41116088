package sim

import (
	"fmt"
	"math"
	"slices"

	"github.com/optionsrisk/backtest/feeds"
)

// This file owns forgetting the contracts the engine no longer needs. The
// contract table the engine reads (a Tee reader's, filled with every
// contract the feed ever listed) would otherwise grow with the feed's
// length; the engine alone knows which contracts it still reads, so it
// retires the reader's table itself (feeds.Contracts.Retire: whole chunks
// of IDs, never reused), once a local day, at the day's first instant.
//
// A contract is kept until a week (feeds.RetireAfter) after both its
// expiry and its last quote the engine applied, and for as long as
// anything may still read it: the legs of every position open, opening
// (an order in flight), closed but waiting for its trades row, or
// followed as an attribution shadow, and in replay mode every symbol a
// log row still to come names (replay looks contracts up by symbol). Every
// other read of the table is of a contract just quoted or chosen from the
// chain index (alive: not expired), or the first quote of a contract: a
// late quote (a week past expiry, which a clean feed never has) of a
// contract the engine never quoted has its underlying resolved before the
// contract goes, and a contract whose underlying the engine has not seen
// yet is kept. So no read ever finds a retired contract, and the rows are
// those of a run that retires nothing. The engine's own tables by contract
// ID (the latest quotes, the model marks: byID) free the chunks the table
// retires; only underOf, 4 bytes an ID, stays (a late quote of a retired
// contract still moves its underlying's price).
//
// Only a table that is the engine's alone is retired: a source that offers
// RetireContracts (a Tee reader, which every run of the runner reads). A
// source whose table is its own (a test's hand-made feed, a synthetic
// source read directly) is left alone: it may retire its table by its own
// rules.

// contractRetirer is a source whose contract table its reader may retire
// (feeds.Tee's readers).
type contractRetirer interface {
	RetireContracts(cutoff int64, lastSeen func(feeds.ContractID) int64) []feeds.ContractID
}

// retireState is the engine's side of retiring contracts.
type retireState struct {
	src  contractRetirer    // nil: the table is not the engine's to retire
	next int64              // first instant of the next local day (MaxInt64: never)
	keep []feeds.ContractID // referenced IDs, sorted (scratch of each look)
	// replayLast is, in replay mode, the last execs index naming each
	// symbol (built at the first look).
	replayLast map[string]int
	chunks     int // chunks retired so far
}

// initRetire sets retiring up for src.
func (e *Engine) initRetire(src feeds.Source) {
	e.ret.next = math.MaxInt64
	if r, ok := src.(contractRetirer); ok {
		e.ret.src, e.ret.next = r, 0
	}
}

// retireContracts retires what the engine no longer needs (see the file's
// comment) and sets the next look to the next local day. It runs at the
// start of an instant, before its quotes are applied.
func (e *Engine) retireContracts() {
	r := &e.ret
	r.next = e.day(e.now).next
	r.keep = e.referenced(r.keep[:0])
	if rs := e.replay; rs != nil && r.replayLast == nil {
		r.replayLast = map[string]int{}
		for k, rows := range rs.execs {
			for _, row := range rows {
				r.replayLast[row.Contract] = k
			}
		}
	}
	gone := r.src.RetireContracts(e.now-feeds.RetireAfter, e.lastNeeded)
	for _, first := range gone {
		e.pf.marks.free(first)
		e.models.free(first)
	}
	r.chunks += len(gone)
}

// referenced appends to ids the contracts of every position the engine may
// still read (open, opening, closed without its trades row, attribution
// shadows and the decisions' positions) and returns them sorted, once each.
func (e *Engine) referenced(ids []feeds.ContractID) []feeds.ContractID {
	add := func(pos *Position) {
		for _, l := range pos.Legs() {
			ids = append(ids, l.id)
		}
	}
	for _, pos := range e.pf.open {
		add(pos)
	}
	for _, pos := range e.pf.closed {
		add(pos)
	}
	for _, o := range e.pending {
		add(o.pos)
	}
	for i := range e.sched.items {
		if o := e.sched.items[i].order; o != nil {
			add(o.pos)
		}
	}
	if a := e.attr; a != nil {
		for _, list := range a.byUnder {
			for _, ref := range list {
				add(&ref.sh.pos)
			}
		}
		for _, d := range a.open {
			if d.sh != nil && !d.sh.done {
				add(&d.sh.pos)
			}
			if d.pos != nil && d.pos.state != posClosed {
				add(d.pos)
			}
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// lastNeeded is Contracts.Retire's lastSeen for contract id (of a chunk
// whose every contract expired before the cutoff): the time of its latest
// quote the engine applied, or MaxInt64 (keep it) while it is referenced,
// named by a replay row still to come, or never quoted by the engine with
// an underlying not yet seen. A contract never quoted whose underlying is
// known gets that underlying now, as its first quote would give it: a late
// quote of it then never reads the table (it is not indexed either: an
// expired contract is never chosen).
func (e *Engine) lastNeeded(id feeds.ContractID) int64 {
	if _, found := slices.BinarySearch(e.ret.keep, id); found {
		return math.MaxInt64
	}
	p := e.pf
	if e.replay != nil {
		if k, ok := e.ret.replayLast[p.contract(id).Symbol]; ok && k >= e.replay.next {
			return math.MaxInt64
		}
	}
	if int(id) < len(p.underOf) && p.underOf[id] != 0 {
		return p.quote(id).Time
	}
	u := slices.Index(p.unders, p.contract(id).Underlying)
	if u < 0 {
		return math.MaxInt64
	}
	if int(id) >= len(p.underOf) {
		p.grow(int(id) + 1)
	}
	p.underOf[id] = int32(u + 1)
	return p.quote(id).Time // 0: never quoted
}

// contract is the contract with the given ID, which the engine needs: it
// panics when the table has retired it (a bug of lastNeeded).
func (p *Portfolio) contract(id feeds.ContractID) *feeds.Contract {
	c := p.contracts.Get(id)
	if c == nil {
		retiredInUse(id)
	}
	return c
}

//go:noinline
func retiredInUse(id feeds.ContractID) {
	panic(fmt.Sprintf("sim: contract %d read after it was retired", id))
}
