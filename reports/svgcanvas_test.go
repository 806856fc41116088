package reports_test

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/optionsrisk/backtest/reports"
)

// The report's SVG canvas writes gonum vgsvg's bytes: every chart of run
// reports (several settings, so that breakers trip, stops trigger and
// limits bind) and of a comparison page, rendered with both canvases.
func TestSVGCanvasEqualsVGSVG(t *testing.T) {
	defer reports.UseVGSVG(false)
	var runs []*reports.Run
	var sums []*reports.Summary
	for i, sets := range [][]string{
		nil,
		{"risk.trailing_stop.trail_pct=5", "broker.faults.reject_prob=0"},
		{"risk.trailing_stop.activation_pct=80", "risk.limits.max_portfolio_delta=0"},
	} {
		r, s := fixtureRun(t, fmt.Sprintf("svg-%d", i), sets...)
		runs, sums = append(runs, r), append(sums, s)
	}
	render := func(vgsvg bool) [][]byte {
		reports.UseVGSVG(vgsvg)
		var out [][]byte
		for i, r := range runs {
			out = append(out, renderHTML(t, r, sums[i]))
		}
		var b bytes.Buffer
		if err := reports.WriteCompareHTML(context.Background(), &b, runs, sums, []string{"risk.trailing_stop.trail_pct"}); err != nil {
			t.Fatal(err)
		}
		return append(out, b.Bytes())
	}
	fast, slow := render(false), render(true)
	for i := range slow {
		if !bytes.Equal(fast[i], slow[i]) {
			a, b := fast[i], slow[i]
			j := 0
			for j < min(len(a), len(b)) && a[j] == b[j] {
				j++
			}
			t.Errorf("page %d differs at byte %d:\nours:  %q\nvgsvg: %q", i, j, a[max(0, j-80):min(len(a), j+80)], b[max(0, j-80):min(len(b), j+80)])
		}
	}
}

// appendG5 is fmt's %.5g.
func TestAppendG5(t *testing.T) {
	vals := []float64{0, math.Copysign(0, -1), 1, -1, 0.5, 1e-5, 1.23456789e-7, 123456.7, 1e21, -99999.5, 99999.5,
		math.Inf(1), math.Inf(-1), math.NaN(), math.MaxFloat64, math.SmallestNonzeroFloat64, 720, 230.4, 0.1 + 0.2}
	rnd := rand.New(rand.NewPCG(3, 4))
	for range 2000 {
		vals = append(vals, (rnd.Float64()-0.5)*math.Pow(10, float64(rnd.IntN(16)-6)))
	}
	for _, v := range vals {
		if got, want := reports.FormatG5(v), fmt.Sprintf("%.*g", 5, v); got != want {
			t.Errorf("%v: got %q, fmt %q", v, got, want)
		}
	}
}
