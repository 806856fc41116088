package sim

// This file owns the fill price model (broker.fill, see FillConfig): one net
// price per share for the whole structure, single leg or spread.

// fillPrice is the net premium per share at which pos trades on the
// current quotes; buy is true when the trader buys the structure (a long
// entry or a short exit). slip is the slippage applied, per share, against
// the trader (>= 0): each leg's slippage times its contracts per unit.
func (e *Engine) fillPrice(pos *Position, buy bool) (price, slip float64) {
	var vBid, vAsk, s float64 // the structure's value V per unit, natural
	for _, l := range pos.Legs() {
		q := e.pf.quote(l.id)
		if l.ratio > 0 {
			vBid += l.ratio * q.Bid
			vAsk += l.ratio * q.Ask
			s += l.ratio * e.slippage(q)
		} else {
			vBid += l.ratio * q.Ask
			vAsk += l.ratio * q.Bid
			s -= l.ratio * e.slippage(q)
		}
	}
	natBuy, natSell := vAsk, vBid // of the premium P
	if !pos.Long {
		natBuy, natSell = -vBid, -vAsk
	}
	mid, half := (natBuy+natSell)/2, max(natBuy-natSell, 0)/2
	dir := -1.0
	if buy {
		dir = 1
	}
	lo, hi := e.bounds(pos)
	base := clamp(mid+dir*e.cfg.Broker.Fill.Fraction*half, lo, hi)
	if p := base + dir*s; p >= lo && p <= hi {
		return p, s
	}
	price = clamp(base+dir*s, lo, hi)
	return price, max(dir*(price-base), 0)
}

// netMid is the structure's net mid per share on the current quotes,
// inside its bounds: the price a fill is measured against for the cost of
// crossing the spread.
func (e *Engine) netMid(pos *Position) float64 {
	mid := 0.0
	for _, l := range pos.Legs() {
		q := e.pf.quote(l.id)
		mid += l.ratio * (q.Bid + q.Ask) / 2
	}
	if !pos.Long {
		mid = -mid
	}
	lo, hi := e.bounds(pos)
	return clamp(mid, lo, hi)
}

// slippage is one leg's slippage per share (broker.slippage).
func (e *Engine) slippage(q *legQuote) float64 {
	s := &e.cfg.Broker.Slippage
	switch s.Model {
	case "ticks":
		return s.Ticks * s.TickSize
	case "spread_fraction":
		return s.Fraction * max(q.Ask-q.Bid, 0)
	}
	return 0
}

// withinLimit reports whether an entry of pos at price meets the
// strategy's limit (strategy.entry.limit), if any.
func (e *Engine) withinLimit(pos *Position, price float64) bool {
	l := e.cfg.Strategy.Entry.Limit
	switch {
	case l == nil:
		return true
	case pos.Long:
		return price <= l.MaxDebit+1e-12
	}
	return price >= l.MinCredit-1e-12
}
