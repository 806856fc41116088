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
	for k := range qs {
		q := &qs[k]
		if q.Time != t {
			return k
		}
		id := int(q.Contract)
		if id >= len(p.marks) || p.underOf[id] == 0 {
			p.mark(q) // first quote of its contract: grows and interns
			continue
		}
		m := &p.marks[id] // field by field, as mark
		m.Time, m.Bid, m.Ask = q.Time, q.Bid, q.Ask
		m.UnderlyingPrice, m.IV, m.Delta, m.Gamma = q.UnderlyingPrice, q.IV, q.Delta, q.Gamma
		u := p.underOf[id] - 1
		p.spots[u] = q.UnderlyingPrice
		p.spotAt[u] = q.Time
		if !p.moved[u] {
			p.moved[u] = true
			p.movedList = append(p.movedList, u)
		}
	}
	return len(qs)
}
