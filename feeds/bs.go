package feeds

import (
	"math"
)

// Greeks are Black-Scholes-Merton values in textbook units (Hull): price per share, delta,
// gamma per $1, vega per 1.00 of volatility, theta per year, rho per 1.00 of rate.
type Greeks struct {
	Price, Delta, Gamma, Vega, Theta, Rho float64
}

// BSPair holds the call and the put of one strike and expiry: they share d1 and d2.
type BSPair struct {
	Call, Put Greeks
}

// BlackScholes prices a European call and put on an asset with continuous yield q (Hull,
// "Options, Futures, and Other Derivatives", ch. 15 and 17; greeks ch. 19):
//
//	d1 = (ln(S/K) + (r - q + σ²/2)T) / (σ√T),  d2 = d1 - σ√T
//	c = S e^{-qT} N(d1) - K e^{-rT} N(d2),  p = K e^{-rT} N(-d2) - S e^{-qT} N(-d1)
//
// N is the standard normal CDF (from math.Erfc, as gonum's distuv.UnitNormal). T is in years
// and σ annualised. All values are per share.
//
// Limits: the result is finite for every finite input. When σ√T is 0 (T ≤ 0, an expired or
// expiring option, or σ ≤ 0) or S or K is not positive, the option is worth its discounted
// forward intrinsic value, max(±(S e^{-qT} − K e^{-rT}), 0) with T clamped at 0, delta is
// e^{-qT} (call) or −e^{-qT} (put) in the money and 0 out of it (half of it exactly at the
// money), and gamma and vega are 0; theta and rho are those of the intrinsic value. As T→0
// the regular formula tends to these values (tested). A NaN input gives NaN.
func BlackScholes(S, K, r, q, sigma, T float64) BSPair {
	sqrtT := math.Sqrt(T)
	sst := sigma * sqrtT
	if !(sst > 0) || !(S > 0) || !(K > 0) || math.IsInf(sst, 0) {
		if math.IsNaN(S + K + r + q + sigma + T) {
			nan := Greeks{math.NaN(), math.NaN(), math.NaN(), math.NaN(), math.NaN(), math.NaN()}
			return BSPair{Call: nan, Put: nan}
		}
		return intrinsicBS(S, K, r, q, sigma, T)
	}
	return bsCore(S, K, math.Log(S/K), r, q, sigma, T, sqrtT, math.Exp(-q*T), math.Exp(-r*T))
}

// invSqrt2Pi is 1/√(2π).
const invSqrt2Pi = 0.3989422804014327

// normTails returns N(x) and N(−x) with one erfc: the smaller of the two directly (full
// relative precision in the tail, as distuv.UnitNormal.CDF), the other as 1 minus it.
func normTails(x float64) (nx, nmx float64) {
	small := 0.5 * math.Erfc(math.Abs(x)/math.Sqrt2)
	if x < 0 {
		return small, 1 - small
	}
	return 1 - small, small
}

// bsCore is BlackScholes for σ√T > 0 and S, K > 0, with ln(S/K), √T, e^{-qT} and e^{-rT}
// given (the generator computes the last three once per expiry).
func bsCore(S, K, lnSK, r, q, sigma, T, sqrtT, dq, dr float64) BSPair {
	sst := sigma * sqrtT
	d1 := (lnSK + (r-q+sigma*sigma/2)*T) / sst
	d2 := d1 - sst
	Nd1, Nmd1 := normTails(d1)
	Nd2, Nmd2 := normTails(d2)
	pdf := invSqrt2Pi * math.Exp(-d1*d1/2)
	Sq, Kr := S*dq, K*dr
	gamma := dq * pdf / (S * sst)
	vega := Sq * pdf * sqrtT
	decay := -Sq * pdf * sigma / (2 * sqrtT)
	return BSPair{
		Call: Greeks{
			Price: Sq*Nd1 - Kr*Nd2,
			Delta: dq * Nd1,
			Gamma: gamma,
			Vega:  vega,
			Theta: decay - r*Kr*Nd2 + q*Sq*Nd1,
			Rho:   K * T * dr * Nd2,
		},
		Put: Greeks{
			Price: Kr*Nmd2 - Sq*Nmd1,
			Delta: -dq * Nmd1,
			Gamma: gamma,
			Vega:  vega,
			Theta: decay + r*Kr*Nmd2 - q*Sq*Nmd1,
			Rho:   -K * T * dr * Nmd2,
		},
	}
}

// intrinsicBS is the σ√T = 0 (or S, K ≤ 0, or σ = +Inf) limit of BlackScholes.
func intrinsicBS(S, K, r, q, sigma, T float64) BSPair {
	T = max(T, 0)
	S, K = max(S, 0), max(K, 0)
	dq, dr := math.Exp(-q*T), math.Exp(-r*T)
	Sq, Kr := S*dq, K*dr
	if math.IsInf(sigma, 1) && T > 0 {
		// Infinite volatility: the call is worth the discounted asset, the put the discounted
		// strike (d1 → +∞, d2 → −∞).
		return BSPair{
			Call: Greeks{Price: Sq, Delta: dq, Theta: q * Sq},
			Put:  Greeks{Price: Kr, Delta: 0, Theta: r * Kr, Rho: -K * T * dr},
		}
	}
	// w: weight of the exercise (1 in the money, 0 out, ½ exactly at the forward).
	w := 0.0
	switch {
	case Sq > Kr:
		w = 1
	case Sq == Kr:
		w = 0.5
	}
	return BSPair{
		Call: Greeks{
			Price: max(Sq-Kr, 0),
			Delta: dq * w,
			Theta: (q*Sq - r*Kr) * w,
			Rho:   K * T * dr * w,
		},
		Put: Greeks{
			Price: max(Kr-Sq, 0),
			Delta: -dq * (1 - w),
			Theta: (r*Kr - q*Sq) * (1 - w),
			Rho:   -K * T * dr * (1 - w),
		},
	}
}

// ModelQuote marks an option that has no fresh quote: Black-Scholes at the leg's last implied
// volatility, moved to the current underlying price spot and time now (UTC µs), with the
// continuous risk-free rate and no dividend yield. Results are per share: mid in dollars,
// delta in [−1, 1], gamma per $1 of the underlying (multiply by quantity × Multiplier for
// share equivalents).
//
// The implied volatility is the one that reprices last's mid at last's underlying price and
// time under the same model (so at an unchanged spot and time the mark equals the last mid);
// when that does not exist (a mid at or below intrinsic value, a crossed or empty quote) it is
// last.IV, and when that is not positive either the option is marked at intrinsic value. Time
// to expiry is ACT/365 from now to c.Expiry; at or after expiry the mark is intrinsic value at
// spot (delta ±1 in the money, 0 out, gamma 0). The result is always finite for finite input.
func ModelQuote(c *Contract, last Quote, spot float64, now int64, rate float64) (mid, delta, gamma float64) {
	exp := c.Expiry.UnixMicro()
	sigma := 0.0
	if tLast := float64(exp-last.Time) / microsPerYear; tLast > 0 && last.UnderlyingPrice > 0 {
		if v, ok := ImpliedVol(last.Mid(), last.UnderlyingPrice, c.Strike, tLast, rate, 0, c.Right); ok {
			sigma = v
		}
	}
	if !(sigma > 0) && last.IV > 0 && !math.IsInf(last.IV, 0) {
		sigma = last.IV
	}
	T := float64(exp-now) / microsPerYear
	g := BlackScholes(spot, c.Strike, rate, 0, sigma, T)
	if c.Right == Call {
		return g.Call.Price, g.Call.Delta, g.Call.Gamma
	}
	return g.Put.Price, g.Put.Delta, g.Put.Gamma
}
