package feeds

import (
	"math"
	"testing"
)

// Expected values: the textbook's rounded figures (Hull, "Options, Futures, and Other
// Derivatives") checked to their printed precision, and the same inputs evaluated with mpmath at
// 30 digits (closed-form Black-Scholes-Merton, independent of this code) checked to 1e-6.
func TestBlackScholesHull(t *testing.T) {
	cases := []struct {
		name               string
		S, K, r, q, sig, T float64
		hull               map[string][2]float64 // printed value, tolerance
		exact              [10]float64           // c, p, Δc, Δp, Γ, vega, Θc, Θp, ρc, ρp (mpmath)
	}{
		{
			name: "Hull example 15.6 (S=42 K=40 r=10% σ=20% T=0.5)", S: 42, K: 40, r: 0.10, sig: 0.20, T: 0.5,
			hull:  map[string][2]float64{"call": {4.7594, 5e-5}, "put": {0.8086, 5e-5}},
			exact: [10]float64{4.759422392872, 0.808599372900, 0.779131290943, -0.220868709057, 0.049962670406, 8.813415059603, -4.559092194593, -0.754174496590, 13.982045913360, -5.042542576654},
		},
		{
			name: "Hull ch.19 Greek letters (S=49 K=50 r=5% σ=20% T=20 weeks)", S: 49, K: 50, r: 0.05, sig: 0.20, T: 0.3846,
			hull: map[string][2]float64{"call": {2.40, 5e-3}, "delta": {0.522, 5e-4}, "gamma": {0.066, 5e-4},
				"vega": {12.1, 0.05}, "theta": {-4.31, 5e-3}, "rho": {8.91, 5e-3}},
			exact: [10]float64{2.400461086966, 2.448146933950, 0.521601633972, -0.478398366028, 0.065545377252, 12.105242754244, -4.305389964546, -1.853005672197, 8.906574098801, -9.957165877949},
		},
		{
			name: "Hull example 17.1 index option (S=930 K=900 r=8% q=3% σ=20% T=2 months)", S: 930, K: 900, r: 0.08, q: 0.03, sig: 0.20, T: 2.0 / 12,
			hull:  map[string][2]float64{"call": {51.83, 5e-3}},
			exact: [10]float64{51.832956796491, 14.550996773772, 0.703418008601, -0.291594470591, 0.004507403862, 129.948453332648, -106.531372855825, -63.245849375183, 100.390965200436, -47.622309070643},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := BlackScholes(c.S, c.K, c.r, c.q, c.sig, c.T)
			got := [10]float64{g.Call.Price, g.Put.Price, g.Call.Delta, g.Put.Delta, g.Call.Gamma, g.Call.Vega, g.Call.Theta, g.Put.Theta, g.Call.Rho, g.Put.Rho}
			names := [10]string{"call", "put", "delta", "put delta", "gamma", "vega", "theta", "put theta", "rho", "put rho"}
			for i := range got {
				if d := math.Abs(got[i] - c.exact[i]); d > 1e-6 {
					t.Errorf("%s = %.10f, want %.10f (off by %.2g)", names[i], got[i], c.exact[i], d)
				}
			}
			if g.Put.Gamma != g.Call.Gamma || g.Put.Vega != g.Call.Vega {
				t.Errorf("call and put gamma/vega differ")
			}
			byName := map[string]float64{"call": g.Call.Price, "put": g.Put.Price, "delta": g.Call.Delta, "gamma": g.Call.Gamma,
				"vega": g.Call.Vega, "theta": g.Call.Theta, "rho": g.Call.Rho}
			for _, k := range sortedKeys(c.hull) {
				if want := c.hull[k]; math.Abs(byName[k]-want[0]) > want[1] {
					t.Errorf("%s = %.6f, Hull prints %v", k, byName[k], want[0])
				}
			}
		})
	}
}

// The greeks are the derivatives of the price: central differences agree.
func TestBlackScholesGreeksAreDerivatives(t *testing.T) {
	S, K, r, q, sig, T := 100.0, 95.0, 0.03, 0.01, 0.35, 0.25
	h := 1e-4
	base := BlackScholes(S, K, r, q, sig, T)
	up, dn := BlackScholes(S+h, K, r, q, sig, T), BlackScholes(S-h, K, r, q, sig, T)
	vu, vd := BlackScholes(S, K, r, q, sig+h, T), BlackScholes(S, K, r, q, sig-h, T)
	tu, td := BlackScholes(S, K, r, q, sig, T+h), BlackScholes(S, K, r, q, sig, T-h)
	ru, rd := BlackScholes(S, K, r+h, q, sig, T), BlackScholes(S, K, r-h, q, sig, T)
	check := func(name string, got, want float64) {
		if math.Abs(got-want) > 1e-5*max(1, math.Abs(want)) {
			t.Errorf("%s = %.9f, finite difference %.9f", name, got, want)
		}
	}
	for _, side := range []struct {
		name                            string
		b, u, d, vu, vd, tu, td, ru, rd Greeks
	}{
		{"call", base.Call, up.Call, dn.Call, vu.Call, vd.Call, tu.Call, td.Call, ru.Call, rd.Call},
		{"put", base.Put, up.Put, dn.Put, vu.Put, vd.Put, tu.Put, td.Put, ru.Put, rd.Put},
	} {
		check(side.name+" delta", side.b.Delta, (side.u.Price-side.d.Price)/(2*h))
		check(side.name+" gamma", side.b.Gamma, (side.u.Delta-side.d.Delta)/(2*h))
		check(side.name+" vega", side.b.Vega, (side.vu.Price-side.vd.Price)/(2*h))
		check(side.name+" theta", side.b.Theta, -(side.tu.Price-side.td.Price)/(2*h))
		check(side.name+" rho", side.b.Rho, (side.ru.Price-side.rd.Price)/(2*h))
	}
}
