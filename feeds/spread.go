package feeds

import (
	"math"
)

// The synthetic chain's bid/ask model (see SpreadConfig): a width in ticks driven by vega,
// time value and the volatility level, never by intrinsic value, then an arrangement of each
// expiry's call and put columns so that no bid is below intrinsic value minus one tick and no
// adjacent vertical can be bought above its strike width.
//
// Prices are handled in integer units of the base tick (SpreadConfig.Tick), so grid arithmetic
// is exact; a quote's float price is units / (1/tick).

// widthModel is a compiled SpreadConfig.
type widthModel struct {
	perDollar float64 // base ticks per dollar (1/Tick, an integer)
	hiMult    int64   // TickAbove3 in base ticks
	minTicks  int64
	volWidth  float64 // vol points of width per unit of stress, times vega per vol point
	tvFrac    float64 // fraction of time value per unit of stress
	volRef    float64 // VIX points at which the stress factor is 1
	volExp    float64
}

func newWidthModel(c SpreadConfig) widthModel {
	per := math.Round(1 / c.Tick)
	return widthModel{
		perDollar: per,
		hiMult:    int64(math.Round(c.TickAbove3 / c.Tick)),
		minTicks:  int64(c.MinTicks),
		volWidth:  c.VolWidth,
		tvFrac:    c.TimeValuePct / 100,
		volRef:    c.VolRef,
		volExp:    c.VolExp,
	}
}

// stress is the width multiplier at a VIX level in points: (vix/vol_ref)^vol_exp.
func (w *widthModel) stress(vixPts float64) float64 {
	return math.Pow(vixPts/w.volRef, w.volExp)
}

// legQuote is one option of a column being quoted.
type legQuote struct {
	g        Greeks
	sigma    float64
	quoted   bool  // theo ≥ min_price
	tick     int64 // this option's tick in base units (depends on its price)
	floor    int64 // lowest allowed bid: max(1 tick, intrinsic − 1 tick) on the grid
	b0, a0   int64 // the width model's quote centred on theo
	bid, ask int64 // after arrangement
}

// price turns base-tick units into dollars.
func (w *widthModel) price(u int64) float64 { return float64(u) / w.perDollar }

// initial fills the centred quote of an option worth theo with intrinsic value intr and vega
// per vol point vegaPt at stress level L.
func (w *widthModel) initial(l *legQuote, theo, intr, vegaPt, L float64) {
	g := int64(1)
	if theo >= 3 {
		g = w.hiMult
	}
	tv := max(theo-intr, 0)
	raw := L * (w.volWidth*vegaPt + w.tvFrac*tv) * w.perDollar / float64(g)
	n := w.minTicks + int64(math.Round(raw))
	theoU := theo * w.perDollar
	b0 := g * int64(math.Round((theoU-float64(n*g)/2)/float64(g)))
	l.tick = g
	l.b0, l.a0 = b0, b0+n*g
	// Bids never below intrinsic − 1 tick (nor below 1 tick: a zero bid is a bad row).
	l.floor = max(g, g*int64(math.Ceil((intr*w.perDollar-float64(g))/float64(g)-1e-9)))
}

func floorTo(x, g int64) int64 {
	if g == 1 {
		return x
	}
	q := x / g
	if x%g != 0 && x < 0 {
		q--
	}
	return q * g
}

func ceilTo(x, g int64) int64 { return -floorTo(-x, g) }

// arrange sets the final bid and ask of one column (one expiry and right, strikes ascending),
// visiting the options from the most valuable (the highest strike for puts, the lowest for
// calls) to the least. Each option, given its already-arranged more valuable neighbour p at a
// strike distance of wU units, gets
//
//	bid ≥ floor                  (never below intrinsic − 1 tick, never below 1 tick)
//	bid ≥ ask(p) − wU            (buying the vertical at its natural costs at most its width)
//	ask ≤ bid(p), bid ≤ bid(p) − 1 tick   (selling it at its natural gives at least 0)
//	ask ≥ bid + 1 tick
//
// as close as these allow to the width model's centred quote, after capping p's width at
// wU − 1 tick so that the first two always fit together. The first two rules always hold; the
// third is given up only when it cannot hold with the others (p bids the minimum tick: the
// cheap wing, where the option is quoted 1 tick × 2 ticks and the vertical's natural bid is
// −1 tick, as on real screens).
func (w *widthModel) arrange(col []legQuote, strikes []float64, put bool) {
	prev := -1
	n := len(col)
	for idx := range n {
		j := idx
		if put {
			j = n - 1 - idx
		}
		c := &col[j]
		if !c.quoted {
			continue
		}
		if prev < 0 {
			c.bid = max(c.b0, c.floor)
			c.ask = max(c.a0, c.bid+c.tick)
			prev = j
			continue
		}
		p := &col[prev]
		wU := int64(math.Round(math.Abs(strikes[j]-strikes[prev]) * w.perDollar))
		p.ask = max(min(p.ask, p.bid+floorTo(wU-c.tick, p.tick)), p.bid+p.tick)
		lo := ceilTo(max(c.floor, p.ask-wU), c.tick)
		hi := floorTo(p.bid-c.tick, c.tick)
		bid := lo
		if lo <= hi {
			bid = min(max(c.b0, lo), hi)
		}
		ask := max(c.a0, bid+c.tick)
		if top := floorTo(p.bid, c.tick); top >= bid+c.tick {
			ask = min(ask, top)
		} else {
			ask = bid + c.tick
		}
		c.bid, c.ask = bid, ask
		prev = j
	}
}
