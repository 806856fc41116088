package feeds

import (
	"math"

	"gonum.org/v1/gonum/stat/distuv"
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
// N is gonum's distuv.UnitNormal. T is in years and σ annualised; both must be > 0.
func BlackScholes(S, K, r, q, sigma, T float64) BSPair {
	sqrtT := math.Sqrt(T)
	sst := sigma * sqrtT
	d1 := (math.Log(S/K) + (r-q+sigma*sigma/2)*T) / sst
	d2 := d1 - sst
	dq := math.Exp(-q * T)
	dr := math.Exp(-r * T)
	n := distuv.UnitNormal
	Nd1, Nd2 := n.CDF(d1), n.CDF(d2)
	Nmd1, Nmd2 := n.CDF(-d1), n.CDF(-d2)
	pdf := n.Prob(d1)
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
