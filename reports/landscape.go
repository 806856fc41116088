package reports

import (
	"cmp"
	"fmt"
	"image/color"
	"math"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// This file owns the compare page's view of a sweep as a landscape: per
// metric, a line chart against the swept setting (one numeric setting), a
// heatmap over two settings (two or more: the two with the most values,
// the others fixed at the best run's), with the best run and the baseline
// marked; and the whole-layer ablation (runs that differ only in
// risk.*.enabled) as a bar chart.

// landscapeMetric is one metric of the landscape and which way is better.
type landscapeMetric struct {
	key, label string
	lower      bool // lower is better (drawdown)
}

var landscapeMetrics = []landscapeMetric{
	{"pnl.total", "P&L ($)", false},
	{"drawdown.max_pct", "max drawdown (%)", true},
	{"ratios.sharpe", "Sharpe", false},
	{"attribution.trailing_stop.saved", "saved by trailing stops ($)", false},
	{"attribution.portfolio_limits.saved", "saved by portfolio limits ($)", false},
	{"attribution.circuit_breaker.saved", "saved by the circuit breaker ($)", false},
}

// sweepAxis is a numeric swept setting: each run's value.
type sweepAxis struct {
	key    string
	values []float64 // by run
	levels []float64 // distinct, ascending
}

// numericAxes are the differing settings whose value is a number in every run.
func numericAxes(runs []*Run, settings []string) []sweepAxis {
	var axes []sweepAxis
	for _, k := range settings {
		a := sweepAxis{key: k}
		ok := true
		for _, r := range runs {
			v, good := settingNumber(lookup(r.Scenario, k))
			if !good {
				ok = false
				break
			}
			a.values = append(a.values, v)
		}
		if !ok {
			continue
		}
		a.levels = slices.Clone(a.values)
		slices.Sort(a.levels)
		a.levels = slices.Compact(a.levels)
		if len(a.levels) > 1 {
			axes = append(axes, a)
		}
	}
	// The two with the most levels first; ties in settings order.
	slices.SortStableFunc(axes, func(a, b sweepAxis) int { return cmp.Compare(len(b.levels), len(a.levels)) })
	return axes
}

func settingNumber(v any) (float64, bool) { return yamlNum(v) }

// baselineRun is the run without overrides, if the comparison has one.
func baselineRun(runs []*Run) int {
	for i, r := range runs {
		if len(r.Meta.Overrides) == 0 {
			return i
		}
	}
	return -1
}

// bestRun is the run with the best value of m (NaN values never win).
func bestRun(sums []*Summary, m landscapeMetric) int {
	best := -1
	for i, s := range sums {
		v := resultF(s, m.key)
		if math.IsNaN(v) {
			continue
		}
		if best < 0 || (m.lower && v < resultF(sums[best], m.key)) || (!m.lower && v > resultF(sums[best], m.key)) {
			best = i
		}
	}
	return best
}

// landscapeCharts are the compare page's sweep charts (none when the runs
// are not a sweep over numeric settings or an ablation).
func landscapeCharts(runs []*Run, sums []*Summary, settings []string) ([]chartFig, error) {
	if len(runs) < 2 {
		return nil, nil
	}
	if isAblation(settings) {
		f, err := ablationChart(runs, sums)
		if err != nil {
			return nil, err
		}
		return []chartFig{f}, nil
	}
	axes := numericAxes(runs, settings)
	if len(axes) == 0 {
		return nil, nil
	}
	base := baselineRun(runs)
	var out []chartFig
	for _, m := range landscapeMetrics {
		best := bestRun(sums, m)
		if best < 0 {
			continue
		}
		var (
			p       *plot.Plot
			err     error
			caption string
		)
		if len(axes) == 1 {
			p, err = lineLandscape(axes[0], sums, m, best, base)
			caption = fmt.Sprintf("%s against %s, one point per run; the ring marks the best run, the triangle the baseline (the run without overrides).", m.label, axes[0].key)
		} else {
			keep := fixedAtBest(runs, axes, best)
			p, err = heatLandscape(axes[0], axes[1], sums, m, keep, best, base)
			caption = fmt.Sprintf("%s over %s (x) and %s (y)", m.label, axes[0].key, axes[1].key)
			if len(axes) > 2 {
				var fixed []string
				for _, a := range axes[2:] {
					fixed = append(fixed, fmt.Sprintf("%s=%g", a.key, a.values[best]))
				}
				caption += ", the other settings fixed at the best run's (" + strings.Join(fixed, ", ") + ")"
			}
			caption += "; the ring marks the best run, the triangle the baseline; a grey cell was not run."
		}
		if err != nil {
			return nil, fmt.Errorf("reports: landscape %s: %w", m.key, err)
		}
		svg, err := renderSVG(p)
		if err != nil {
			return nil, fmt.Errorf("reports: landscape %s: %w", m.key, err)
		}
		out = append(out, chartFig{ID: "chart-landscape-" + strings.ReplaceAll(m.key, ".", "-"), Title: m.label, Caption: caption, SVG: svg})
	}
	return out, nil
}

// fixedAtBest selects the runs whose settings beyond the first two axes
// equal the best run's.
func fixedAtBest(runs []*Run, axes []sweepAxis, best int) []bool {
	keep := make([]bool, len(runs))
	for i := range runs {
		keep[i] = true
		for _, a := range axes[2:] {
			if a.values[i] != a.values[best] {
				keep[i] = false
			}
		}
	}
	return keep
}

func lineLandscape(a sweepAxis, sums []*Summary, m landscapeMetric, best, base int) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = m.label
	p.X.Label.Text = a.key
	p.Y.Label.Text = m.label
	p.Y.Tick.Marker = numTicks{}
	p.Add(plotter.NewGrid())
	// One y per level: the mean over runs at that level (several when
	// other settings vary without being numeric).
	var xys plotter.XYs
	for _, lv := range a.levels {
		var sum float64
		var n int
		for i, v := range a.values {
			if y := resultF(sums[i], m.key); v == lv && !math.IsNaN(y) {
				sum += y
				n++
			}
		}
		if n > 0 {
			xys = append(xys, plotter.XY{X: lv, Y: sum / float64(n)})
		}
	}
	if len(xys) == 0 {
		return p, nil
	}
	l, s, err := plotter.NewLinePoints(xys)
	if err != nil {
		return nil, err
	}
	l.Color, s.Color = chartPalette[0], chartPalette[0]
	p.Add(l, s)
	if err := addMarker(p, "best", a.values[best], resultF(sums[best], m.key), draw.RingGlyph{}, colGreen); err != nil {
		return nil, err
	}
	if base >= 0 {
		if err := addMarker(p, "baseline", a.values[base], resultF(sums[base], m.key), draw.TriangleGlyph{}, colRed); err != nil {
			return nil, err
		}
	}
	p.Legend.Top = true
	return p, nil
}

func addMarker(p *plot.Plot, name string, x, y float64, g draw.GlyphDrawer, c color.Color) error {
	if math.IsNaN(y) {
		return nil
	}
	sc, err := plotter.NewScatter(plotter.XYs{{X: x, Y: y}})
	if err != nil {
		return err
	}
	sc.GlyphStyle = draw.GlyphStyle{Color: c, Radius: vg.Points(6), Shape: g}
	p.Add(sc)
	p.Legend.Add(name, sc)
	return nil
}

// heatGrid is a metric over two axes' levels (NaN: not run).
type heatGrid struct {
	xs, ys []float64
	z      [][]float64 // [x][y]
}

func (g *heatGrid) Dims() (c, r int)   { return len(g.xs), len(g.ys) }
func (g *heatGrid) Z(c, r int) float64 { return g.z[c][r] }
func (g *heatGrid) X(c int) float64    { return float64(c) }
func (g *heatGrid) Y(r int) float64    { return float64(r) }

func heatLandscape(ax, ay sweepAxis, sums []*Summary, m landscapeMetric, keep []bool, best, base int) (*plot.Plot, error) {
	g := &heatGrid{xs: ax.levels, ys: ay.levels, z: make([][]float64, len(ax.levels))}
	for c := range g.z {
		g.z[c] = make([]float64, len(ay.levels))
		for r := range g.z[c] {
			g.z[c][r] = math.NaN()
		}
	}
	cell := func(i int) (int, int) {
		return slices.Index(ax.levels, ax.values[i]), slices.Index(ay.levels, ay.values[i])
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for i, s := range sums {
		if !keep[i] {
			continue
		}
		v := resultF(s, m.key)
		if math.IsNaN(v) {
			continue
		}
		c, r := cell(i)
		g.z[c][r] = v
		lo, hi = min(lo, v), max(hi, v)
	}
	p := plot.New()
	p.Title.Text = m.label
	p.X.Label.Text = ax.key
	p.Y.Label.Text = ay.key
	if lo > hi {
		return p, nil
	}
	pal := moreland.SmoothBlueRed().Palette(64)
	if hi == lo {
		hi = lo + 1
	}
	h := plotter.NewHeatMap(g, pal)
	h.Min, h.Max = lo, hi
	h.NaN = color.RGBA{0xdd, 0xdd, 0xdd, 0xff}
	p.Add(h)
	var labels plotter.XYLabels
	for c := range g.xs {
		for r := range g.ys {
			if v := g.z[c][r]; !math.IsNaN(v) {
				labels.XYs = append(labels.XYs, plotter.XY{X: float64(c), Y: float64(r)})
				labels.Labels = append(labels.Labels, groupThousands(strconv.FormatFloat(v, 'f', 2, 64)))
			}
		}
	}
	if len(labels.XYs) > 0 {
		lb, err := plotter.NewLabels(labels)
		if err != nil {
			return nil, err
		}
		for i := range lb.TextStyle {
			lb.TextStyle[i].XAlign, lb.TextStyle[i].YAlign = draw.XCenter, draw.YCenter
		}
		p.Add(lb)
	}
	bc, br := cell(best)
	if err := addMarker(p, "best", float64(bc), float64(br)+0.3, draw.RingGlyph{}, colGreen); err != nil {
		return nil, err
	}
	if base >= 0 && keep[base] {
		c, r := cell(base)
		if err := addMarker(p, "baseline", float64(c), float64(r)-0.3, draw.TriangleGlyph{}, colRed); err != nil {
			return nil, err
		}
	}
	nominal := func(levels []float64) []string {
		out := make([]string, len(levels))
		for i, v := range levels {
			out[i] = strconv.FormatFloat(v, 'g', -1, 64)
		}
		return out
	}
	p.NominalX(nominal(ax.levels)...)
	p.NominalY(nominal(ay.levels)...)
	p.Legend.Top = true
	return p, nil
}

// isAblation reports whether the runs differ only in layers switched on or
// off (risk.*.enabled).
func isAblation(settings []string) bool {
	if len(settings) == 0 {
		return false
	}
	for _, k := range settings {
		if !strings.HasPrefix(k, "risk.") || !strings.HasSuffix(k, ".enabled") {
			return false
		}
	}
	return true
}

// ablationLabel names a run of an ablation by the layers it switched off.
func ablationLabel(r *Run) string {
	var off []string
	for _, k := range []string{"trailing_stop", "limits", "circuit_breaker"} {
		if b, ok := lookup(r.Scenario, "risk."+k+".enabled").(bool); ok && !b {
			off = append(off, k)
		}
	}
	switch len(off) {
	case 0:
		return "all on"
	case 3:
		return "all off"
	}
	return "no " + strings.Join(off, ", no ")
}

// ablationChart draws each run's P&L and max drawdown as bars, labelled by
// the layers it switched off.
func ablationChart(runs []*Run, sums []*Summary) (chartFig, error) {
	p := plot.New()
	p.Title.Text = "Whole-layer ablation"
	p.Y.Label.Text = "P&L ($)"
	p.Y.Tick.Marker = numTicks{}
	p.Add(plotter.NewGrid())
	names := make([]string, len(runs))
	vals := make(plotter.Values, len(runs))
	for i, r := range runs {
		names[i] = ablationLabel(r)
		vals[i] = resultF(sums[i], "pnl.total")
		if math.IsNaN(vals[i]) {
			vals[i] = 0
		}
	}
	bars, err := plotter.NewBarChart(vals, vg.Points(28))
	if err != nil {
		return chartFig{}, fmt.Errorf("reports: ablation chart: %w", err)
	}
	bars.Color = chartPalette[0]
	bars.LineStyle.Width = 0
	p.Add(bars)
	p.NominalX(names...)
	svg, err := renderSVG(p)
	if err != nil {
		return chartFig{}, fmt.Errorf("reports: ablation chart: %w", err)
	}
	return chartFig{ID: "chart-ablation", Title: "Whole-layer ablation",
		Caption: "P&L of each run, labelled by the risk layers it switched off (risk.*.enabled: false); the all-on run is the plain scenario.",
		SVG:     svg}, nil
}
