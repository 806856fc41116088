package feeds

// iv.go solves implied volatility from a quote's mid and derives the greeks from it, for files
// that carry no greeks (FileConfig.Greeks). Without it, delta-targeted entries and the delta
// and gamma limits would see 0 everywhere and silently do nothing.
//
// The solver brackets σ in [MinIV, MaxIV] and runs Newton steps on the Black-Scholes price
// (feeds.BlackScholes), falling back to bisection whenever a step leaves the bracket or
// shrinks it too slowly (a safeguarded Newton, as in Numerical Recipes' rtsafe). A price below
// the discounted intrinsic value or above the no-arbitrage upper bound (S e^{-qT} for a call,
// K e^{-rT} for a put), or outside the prices of MinIV and MaxIV, has no fit: the quote is
// counted as "no_iv". Time to expiry under one minute is refused too (the price is intrinsic
// and σ is not identified).

import "math"

// Bounds of the implied volatility search.
const (
	MinIV     = 0.001 // 0.1%
	MaxIV     = 5.0   // 500%
	ivTol     = 1e-9  // on σ
	ivMaxIter = 100
	minIVTime = 1.0 / (365 * 24 * 60) // one minute, in years
	daysYear  = 365.0
)

// ImpliedVol returns the σ in [MinIV, MaxIV] at which the Black-Scholes price of the option
// equals price, or ok = false when none does. T is in years; r and q continuous rates.
func ImpliedVol(price, S, K, T, r, q float64, right Right) (sigma float64, ok bool) {
	if !(price > 0 && S > 0 && K > 0 && T >= minIVTime) || !isFinite(price+S+K+T+r+q) {
		return 0, false
	}
	if right != Call && right != Put {
		return 0, false
	}
	val := func(s float64) (float64, float64) {
		p := BlackScholes(S, K, r, q, s, T)
		if right == Call {
			return p.Call.Price, p.Call.Vega
		}
		return p.Put.Price, p.Put.Vega
	}
	lo, hi := MinIV, MaxIV
	plo, _ := val(lo)
	phi, _ := val(hi)
	// The price is increasing in σ: outside [p(lo), p(hi)] nothing fits (this also covers
	// prices below intrinsic and above the upper bound).
	if price < plo-1e-12 || price > phi+1e-12 {
		return 0, false
	}
	// Start from the Brenner-Subrahmanyam guess, clamped into the bracket.
	s := math.Sqrt(2*math.Pi/T) * price / S
	if !(s > lo && s < hi) {
		s = 0.5 * (lo + hi)
	}
	for range ivMaxIter {
		p, vega := val(s)
		f := p - price
		if f == 0 {
			return s, true
		}
		if f > 0 {
			hi = s
		} else {
			lo = s
		}
		next := s - f/vega
		if !(vega > 1e-12) || !(next > lo && next < hi) {
			next = 0.5 * (lo + hi)
		}
		if math.Abs(next-s) < ivTol*math.Max(1, s) {
			return next, true
		}
		s = next
	}
	return s, hi-lo < 1e-6
}

// computedGreeks returns the quote's IV and greeks in the package's units (Quote's doc) from
// its mid, or ok = false when no volatility fits.
func computedGreeks(q *Quote, c *Contract, r, div float64) bool {
	T := float64(c.Expiry.UnixMicro()-q.Time) / 1e6 / (daysYear * 86400)
	S, K := q.UnderlyingPrice, c.Strike
	sigma, ok := ImpliedVol(q.Mid(), S, K, T, r, div, c.Right)
	if !ok {
		return false
	}
	p := BlackScholes(S, K, r, div, sigma, T)
	g := p.Call
	if c.Right == Put {
		g = p.Put
	}
	q.IV, q.Delta, q.Gamma = sigma, g.Delta, g.Gamma
	q.Vega, q.Theta = g.Vega/100, g.Theta/daysYear // per vol point, per calendar day
	return true
}
