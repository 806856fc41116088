package feeds

import (
	"math"
	"testing"
	"time"
)

func finiteGreeks(g Greeks) bool {
	for _, v := range [...]float64{g.Price, g.Delta, g.Gamma, g.Vega, g.Theta, g.Rho} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}

// At T = 0 (and σ = 0) the price is intrinsic value with a step delta; for tiny T the regular
// formula tends to the same values.
func TestBlackScholesExpiryLimit(t *testing.T) {
	cases := []struct {
		S, K                   float64
		call, put, dCall, dPut float64
	}{
		{110, 100, 10, 0, 1, 0},
		{90, 100, 0, 10, 0, -1},
		{100, 100, 0, 0, 0.5, -0.5},
	}
	for _, c := range cases {
		for _, in := range []struct{ sig, T float64 }{{0.2, 0}, {0.2, -0.01}, {0, 0}, {0, 0}} {
			g := BlackScholes(c.S, c.K, 0.05, 0.01, in.sig, in.T)
			if g.Call.Price != c.call || g.Put.Price != c.put || g.Call.Delta != c.dCall || g.Put.Delta != c.dPut ||
				g.Call.Gamma != 0 || g.Call.Vega != 0 {
				t.Errorf("S=%v K=%v σ=%v T=%v: %+v", c.S, c.K, in.sig, in.T, g)
			}
		}
		if c.S == c.K {
			continue
		}
		g := BlackScholes(c.S, c.K, 0.05, 0.01, 0.2, 1e-10)
		if !finiteGreeks(g.Call) || !finiteGreeks(g.Put) {
			t.Fatalf("T=1e-10 not finite: %+v", g)
		}
		if math.Abs(g.Call.Price-c.call) > 1e-6 || math.Abs(g.Put.Price-c.put) > 1e-6 ||
			math.Abs(g.Call.Delta-c.dCall) > 1e-6 || math.Abs(g.Put.Delta-c.dPut) > 1e-6 || g.Call.Gamma > 1e-6 {
			t.Errorf("S=%v K=%v T→0: %+v, want intrinsic", c.S, c.K, g)
		}
	}
	// At the money, T→0: price → 0, delta → ½·e^{-qT}, gamma grows like 1/√T but stays finite.
	g := BlackScholes(100, 100, 0, 0, 0.2, 1e-10)
	if g.Call.Price > 1e-3 || math.Abs(g.Call.Delta-0.5) > 1e-3 || !finiteGreeks(g.Call) {
		t.Errorf("ATM T→0: %+v", g.Call)
	}
	// σ = 0 with T > 0: the discounted forward intrinsic value.
	g = BlackScholes(100, 100, 0.05, 0, 0, 1)
	if want := 100 - 100*math.Exp(-0.05); math.Abs(g.Call.Price-want) > 1e-12 || g.Put.Price != 0 || g.Call.Delta != 1 {
		t.Errorf("σ=0: call %v want %v, put %v, delta %v", g.Call.Price, want, g.Put.Price, g.Call.Delta)
	}
}

// Extreme inputs give finite values inside the no-arbitrage bounds.
func TestBlackScholesExtremes(t *testing.T) {
	for _, S := range []float64{0, 1e-9, 1, 100, 1e9} {
		for _, K := range []float64{0, 1e-9, 100, 1e9} {
			for _, sig := range []float64{0, 1e-9, 0.2, 50, math.Inf(1)} {
				for _, T := range []float64{-1, 0, 1e-12, 1.0 / 365, 30} {
					for _, rq := range [][2]float64{{0, 0}, {0.05, 0.02}, {-0.01, 0.1}} {
						g := BlackScholes(S, K, rq[0], rq[1], sig, T)
						if !finiteGreeks(g.Call) || !finiteGreeks(g.Put) {
							t.Fatalf("S=%v K=%v σ=%v T=%v r,q=%v: not finite %+v", S, K, sig, T, rq, g)
						}
						tt := max(T, 0)
						sq, kr := S*math.Exp(-rq[1]*tt), K*math.Exp(-rq[0]*tt)
						tol := 1e-9 * max(1, sq, kr)
						if g.Call.Price < max(sq-kr, 0)-tol || g.Call.Price > sq+tol || g.Put.Price < max(kr-sq, 0)-tol || g.Put.Price > kr+tol {
							t.Fatalf("S=%v K=%v σ=%v T=%v: call %v put %v outside bounds", S, K, sig, T, g.Call.Price, g.Put.Price)
						}
						if g.Call.Delta < 0 || g.Call.Delta > 1 || g.Put.Delta < -1 || g.Put.Delta > 0 || g.Call.Gamma < 0 {
							t.Fatalf("S=%v K=%v σ=%v T=%v: deltas %v %v gamma %v", S, K, sig, T, g.Call.Delta, g.Put.Delta, g.Call.Gamma)
						}
					}
				}
			}
		}
	}
	if g := BlackScholes(math.NaN(), 100, 0, 0, 0.2, 1); !math.IsNaN(g.Call.Price) {
		t.Errorf("NaN spot gave %v", g.Call.Price)
	}
}

func TestImpliedVolRoundTrip(t *testing.T) {
	for _, sig := range []float64{0.05, 0.2, 0.8, 3} {
		for _, K := range []float64{80, 100, 130} {
			for _, right := range []Right{Call, Put} {
				g := BlackScholes(100, K, 0.02, 0, sig, 0.25)
				p := g.Call.Price
				if right == Put {
					p = g.Put.Price
				}
				intrinsic := max(100-K*math.Exp(-0.02*0.25), 0)
				if right == Put {
					intrinsic = max(K*math.Exp(-0.02*0.25)-100, 0)
				}
				if p-intrinsic < 1e-6 { // no time value left to invert
					continue
				}
				got, ok := ImpliedVol(p, 100, K, 0.25, 0.02, 0, right)
				if !ok || math.Abs(got-sig) > 1e-5 {
					t.Errorf("σ=%v K=%v %v: implied %v ok=%v", sig, K, right, got, ok)
				}
			}
		}
	}
	if _, ok := ImpliedVol(4.0, 100, 95, 0.25, 0, 0, Call); ok { // below intrinsic 5
		t.Error("a price below intrinsic value has an implied vol")
	}
	if _, ok := ImpliedVol(101, 100, 95, 0.25, 0, 0, Call); ok { // above the spot
		t.Error("a call above the spot has an implied vol")
	}
}

func TestModelQuote(t *testing.T) {
	exp := time.Date(2020, 3, 20, 20, 0, 0, 0, time.UTC)
	c := &Contract{Strike: 300, Right: Put, Expiry: exp, Multiplier: 100}
	lastT := time.Date(2020, 2, 20, 21, 0, 0, 0, time.UTC).UnixMicro()
	tau := float64(exp.UnixMicro()-lastT) / microsPerYear
	bs := BlackScholes(330, 300, 0.015, 0, 0.18, tau)
	last := Quote{Time: lastT, Bid: bs.Put.Price - 0.02, Ask: bs.Put.Price + 0.02, UnderlyingPrice: 330, IV: 0.5}

	// Unchanged spot and time: the last mid, with the model's delta and gamma.
	mid, delta, gamma := ModelQuote(c, last, 330, lastT, 0.015)
	if math.Abs(mid-last.Mid()) > 1e-8 || math.Abs(delta-bs.Put.Delta) > 1e-5 || math.Abs(gamma-bs.Put.Gamma) > 1e-6 {
		t.Errorf("unchanged: mid %v (last %v), delta %v (%v), gamma %v (%v)", mid, last.Mid(), delta, bs.Put.Delta, gamma, bs.Put.Gamma)
	}
	// A crash a week later: the put at 18% vol, moved to spot 250 and the later time.
	now := time.Date(2020, 3, 13, 20, 0, 0, 0, time.UTC).UnixMicro()
	want := BlackScholes(250, 300, 0.015, 0, 0.18, float64(exp.UnixMicro()-now)/microsPerYear).Put
	mid, delta, _ = ModelQuote(c, last, 250, now, 0.015)
	if math.Abs(mid-want.Price) > 1e-5 || math.Abs(delta-want.Delta) > 1e-5 || mid < 300*math.Exp(-0.015*7.0/365)-250-1e-9 {
		t.Errorf("moved: mid %v delta %v; want %v %v", mid, delta, want.Price, want.Delta)
	}
	// After expiry: intrinsic value at spot.
	mid, delta, gamma = ModelQuote(c, last, 280, exp.UnixMicro()+1, 0.015)
	if mid != 20 || delta != -1 || gamma != 0 {
		t.Errorf("expired: %v %v %v; want 20 -1 0", mid, delta, gamma)
	}
	// A mid below intrinsic has no implied vol: falls back to last.IV.
	deep := Quote{Time: lastT, Bid: 60, Ask: 60, UnderlyingPrice: 200, IV: 0.4}
	mid, _, _ = ModelQuote(c, deep, 200, lastT, 0)
	if want := BlackScholes(200, 300, 0, 0, 0.4, tau).Put.Price; math.Abs(mid-want) > 1e-9 {
		t.Errorf("fallback to last.IV: %v want %v", mid, want)
	}
	// No usable vol at all: intrinsic.
	none := Quote{Time: lastT, Bid: 0, Ask: 0, UnderlyingPrice: 330}
	if mid, _, _ = ModelQuote(c, none, 290, lastT, 0); mid != 10 {
		t.Errorf("no vol: %v; want intrinsic 10", mid)
	}
}
