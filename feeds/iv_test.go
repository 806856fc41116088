package feeds

import (
	"math"
	"testing"
)

// The solver recovers σ from Black-Scholes prices over a grid of strikes, expiries and vols.
func TestImpliedVolRecovers(t *testing.T) {
	S, r, q := 100.0, 0.03, 0.01
	n := 0
	for _, K := range []float64{50, 80, 95, 100, 105, 120, 160} {
		for _, T := range []float64{2.0 / 365, 7.0 / 365, 30.0 / 365, 0.5, 1, 3} {
			for _, sigma := range []float64{0.02, 0.08, 0.15, 0.3, 0.6, 1.2, 2.5, 4.5} {
				p := BlackScholes(S, K, r, q, sigma, T)
				for _, c := range []struct {
					right Right
					g     Greeks
				}{{Call, p.Call}, {Put, p.Put}} {
					// A price indistinguishable from its bounds says nothing about σ.
					lo := BlackScholes(S, K, r, q, sigma*0.999, T)
					dp := c.g.Price - lo.Call.Price
					if c.right == Put {
						dp = c.g.Price - lo.Put.Price
					}
					if dp < 1e-9 {
						continue
					}
					got, ok := ImpliedVol(c.g.Price, S, K, T, r, q, c.right)
					if !ok || math.Abs(got-sigma) > 1e-6 {
						t.Errorf("K=%v T=%v σ=%v %v: got %v ok=%v", K, T, sigma, c.right, got, ok)
					}
					n++
				}
			}
		}
	}
	if n < 400 {
		t.Fatalf("only %d grid points checked", n)
	}
}

func TestImpliedVolNoFit(t *testing.T) {
	S, K, T := 100.0, 80.0, 0.25
	intrinsic := S - K
	for _, c := range []struct {
		name  string
		price float64
		right Right
	}{
		{"below intrinsic", intrinsic - 0.5, Call},
		{"above the upper bound (call ≤ S)", S + 1, Call},
		{"above the upper bound (put ≤ K)", K + 1, Put},
		{"zero", 0, Put},
		{"NaN", math.NaN(), Call},
	} {
		if v, ok := ImpliedVol(c.price, S, K, T, 0, 0, c.right); ok {
			t.Errorf("%s: got σ=%v, want no fit", c.name, v)
		}
	}
	if _, ok := ImpliedVol(1, S, K, 1e-9, 0, 0, Call); ok {
		t.Error("expired option: want no fit")
	}
}
