package sim

import (
	"math"
)

// This file owns the market and book state conditions read (Env): the
// daily closing series of the underlying's price and ATM vol, sampled at
// each local day's end, and the per-instant market variables.

// condState is the run's conditions and their daily history.
type condState struct {
	entry, exit *Condition
	closes, ivs []float64 // daily closing price and vix, oldest first
	dayEnd      int64     // local midnight ending the day being sampled
	dayRealized float64   // realized P&L at the start of the day
	mktAt       int64     // instant mkt was computed at (0: never)
	mkt         Env       // market and book variables of mktAt
}

// newCondState compiles the strategy's conditions (nil when none).
func newCondState(s *StrategyConfig) *condState {
	if s.Entry.When == "" && s.Exit.When == "" {
		return nil
	}
	cs := &condState{}
	if s.Entry.When != "" {
		cs.entry, _ = CompileCondition(s.Entry.When) // validated
	}
	if s.Exit.When != "" {
		cs.exit, _ = CompileCondition(s.Exit.When)
	}
	return cs
}

// condUnder is the underlying conditions read: the entry's, else the
// first quoted; -1 before any quote.
func (e *Engine) condUnder() int {
	if u := e.cfg.Strategy.Entry.Underlying; u != "" {
		for i, n := range e.pf.unders {
			if n == u {
				return i
			}
		}
		return -1
	}
	if len(e.pf.unders) == 0 {
		return -1
	}
	return 0
}

// noteDay samples the closing price and vix of the day that ends before
// instant t (called before t's quotes are applied), and resets the day's
// realized P&L.
func (e *Engine) noteDay(t int64) {
	cs := e.cond
	if t < cs.dayEnd {
		return
	}
	if cs.dayEnd != 0 {
		if u := e.condUnder(); u >= 0 {
			cs.closes = append(cs.closes, e.pf.spots[u])
			cs.ivs = append(cs.ivs, e.atmVol(u))
		}
	}
	cs.dayEnd = e.dayFor(t).next
	cs.dayRealized = e.pf.realized
}

// atmVol is underlying u's ATM implied vol × 100: the IV of the put whose
// |delta| is closest to 0.50 in the nearest expiry at least 7 days out
// (else the furthest), among quoted puts; NaN without one.
func (e *Engine) atmVol(u int) float64 {
	groups := e.pf.index.chains[u][1].live(e.now)
	if len(groups) == 0 {
		return math.NaN()
	}
	gi := len(groups) - 1
	for i := range groups {
		if e.dte(groups[i].expiry) >= 7 {
			gi = i
			break
		}
	}
	best, iv := math.Inf(1), math.NaN()
	for _, id := range groups[gi].ids {
		q := e.pf.quote(id)
		if q.Time == 0 || !(q.IV > 0) {
			continue
		}
		if d := math.Abs(math.Abs(q.Delta) - 0.5); d < best {
			best, iv = d, q.IV*100
		}
	}
	return iv
}

// market computes the market and book variables of the current instant
// (once per instant).
func (e *Engine) market() *Env {
	cs := e.cond
	if cs.mktAt == e.now && e.now != 0 {
		return &cs.mkt
	}
	m := &cs.mkt
	*m = Env{Price: math.NaN(), Ret1D: math.NaN(), Ret5D: math.NaN(), VIX: math.NaN()}
	if u := e.condUnder(); u >= 0 {
		m.Price = e.pf.spots[u]
		if n := len(cs.closes); n >= 1 {
			m.Ret1D = m.Price/cs.closes[n-1] - 1
		}
		if n := len(cs.closes); n >= 5 {
			m.Ret5D = m.Price/cs.closes[n-5] - 1
		}
		m.VIX = e.atmVol(u)
		m.DTENext = -1
		for _, ch := range e.pf.index.chains[u] {
			if g := ch.live(e.now); len(g) > 0 {
				d := e.dte(g[0].expiry)
				if m.DTENext < 0 || d < m.DTENext {
					m.DTENext = d
				}
			}
		}
	}
	local := utc(e.now).In(e.cfg.Session.Loc)
	m.Minute = local.Hour()*60 + local.Minute()
	m.Weekday = int(local.Weekday())
	for _, pos := range e.pf.open {
		if pos.state == posOpening {
			continue
		}
		d, g := e.greeks(pos)
		m.Delta += d
		m.Gamma += g
		m.Exposure += e.riskValue(pos, pos.EntryPremium)
	}
	m.OpenPositions = len(e.pf.open) + e.opening
	m.DayPnL = e.pf.realized - cs.dayRealized
	cs.mktAt = e.now
	return m
}

// evalCond evaluates c on the current instant, for pos (exit) or nil (entry).
func (e *Engine) evalCond(c *Condition, pos *Position) (bool, error) {
	env := c.Env()
	*env = *e.market()
	if pos != nil {
		_, _, mid, _ := e.netMarks(pos)
		env.PosPremium = mid
		env.PosPnL = pos.cash + pos.sign()*mid*pos.units()
		if base := math.Abs(pos.EntryPremium) * pos.units(); base > 0 {
			env.PosPnLPct = 100 * env.PosPnL / base
		}
		env.PosDTE = e.dte(pos.Expiry)
		env.PosDays = float64(e.now-pos.OpenedAt) / float64(24*3600*1e6)
	}
	c.setWindows(env.VIX, e.cond.ivs)
	return c.Eval()
}
