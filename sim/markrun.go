package sim

import "github.com/optionsrisk/backtest/feeds"

// This file owns the per-quote hot loop: storing one instant's quotes of a
// batch as their contracts' latest marks (Portfolio.mark on each, without
// a call per quote).

// markRun marks qs[0] and the quotes that follow it at the same time (one
// instant's run within a batch) as Portfolio.mark does, in order, and
// returns how many it marked (at least 1).
func (p *Portfolio) markRun(qs []feeds.Quote) int {
	t := qs[0].Time
	// The tables in locals: stores through m would otherwise make the
	// compiler reload every slice header for each quote.
	marks, underOf, spots, spotAt := p.marks.chunks, p.underOf, p.spots, p.spotAt
	for k := range qs {
		q := &qs[k]
		if q.Time != t {
			return k
		}
		id := uint(q.Contract)
		c := id / feeds.ContractChunk
		if id >= uint(len(underOf)) || underOf[id] == 0 || c >= uint(len(marks)) || marks[c] == nil {
			// The first quote of its contract (grows and interns), of its
			// chunk, or of a retired contract.
			p.mark(q)
			marks, underOf, spots, spotAt = p.marks.chunks, p.underOf, p.spots, p.spotAt
			continue
		}
		m := &marks[c][id%feeds.ContractChunk] // field by field, as mark
		m.Time, m.Bid, m.Ask = q.Time, q.Bid, q.Ask
		m.UnderlyingPrice, m.IV, m.Delta, m.Gamma = q.UnderlyingPrice, q.IV, q.Delta, q.Gamma
		u := underOf[id] - 1
		spots[u] = q.UnderlyingPrice
		spotAt[u] = q.Time
		if !p.moved[u] {
			p.moved[u] = true
			p.movedList = append(p.movedList, u)
		}
	}
	return len(qs)
}
