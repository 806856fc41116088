package reports

import (
	"bytes"
	"context"
	"fmt"
	"html/template"
	"image/color"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// maxChartPoints bounds the points of one series in a chart, so that a
// year of 5-minute snapshots still gives an SVG of a few hundred kB.
const maxChartPoints = 2000

// maxMarkers bounds the markers of one kind (entries, exits, stops) drawn
// on the underlying; beyond it every k-th marker is drawn.
const maxMarkers = 2000

// maxEventBars bounds the bars of the risk events chart (eventBars).
const maxEventBars = 1000

// chartFig sizes: wide and short, scaled to the page width by CSS.
const (
	chartW = 10 * vg.Inch
	chartH = 3.2 * vg.Inch
	// legendW is the strip right of a plot that holds its legend.
	legendW = 2.3 * vg.Inch
)

// chartFig is one rendered figure: a stable id (chart-*) for tests and links,
// a title, a one-sentence caption and the inline SVG.
type chartFig struct {
	ID, Title, Caption string
	SVG                template.HTML
}

// Breaker states on the breaker chart's y axis.
var breakerLevels = map[string]float64{"closed": 0, "half_open": 1, "open": 2, "halted": 3}

// Series colours (Okabe-Ito, readable by colour-blind readers), in order.
var chartPalette = []color.RGBA{
	{0x00, 0x72, 0xB2, 0xff}, // colBlue
	{0xD5, 0x5E, 0x00, 0xff}, // vermillion
	{0x00, 0x9E, 0x73, 0xff}, // colGreen
	{0xCC, 0x79, 0xA7, 0xff}, // purple
	{0xE6, 0x9F, 0x00, 0xff}, // orange
	{0x56, 0xB4, 0xE9, 0xff}, // sky
	{0xF0, 0xE4, 0x42, 0xff}, // yellow
	{0x00, 0x00, 0x00, 0xff}, // black
}

var (
	colGrey  = color.RGBA{0x88, 0x88, 0x88, 0xff}
	colRed   = color.RGBA{0xC0, 0x1F, 0x1F, 0xff}
	colGreen = color.RGBA{0x1A, 0x85, 0x3A, 0xff}
	colBlue  = color.RGBA{0x1F, 0x4E, 0xC0, 0xff}
)

// runCharts builds every chart of one run's report, in page order.
func runCharts(ctx context.Context, r *Run) ([]chartFig, error) {
	ax := newTimeAxis(r.Loc, r.Equity)
	var charts []chartFig
	add := func(id, title, caption string, p *plot.Plot, err error) error {
		if err != nil {
			return fmt.Errorf("reports: chart %s: %w", id, err)
		}
		svg, err := renderSVG(p)
		if err != nil {
			return fmt.Errorf("reports: chart %s: %w", id, err)
		}
		charts = append(charts, chartFig{ID: "chart-" + id, Title: title, Caption: caption, SVG: svg})
		return nil
	}

	p, err := equityPlot(ax, []string{""}, [][]EquityPoint{r.Equity}, r.Capital)
	if err := add("equity", "Equity", "Equity (cash plus open positions marked to market) at each snapshot; the dashed line is the starting capital.", p, err); err != nil {
		return nil, err
	}
	p, err = drawdownPlot(ax, []string{""}, [][]EquityPoint{r.Equity}, []float64{r.Capital})
	if err := add("drawdown", "Drawdown", "Fall of equity from its running peak (the starting capital is the first peak), in % of the peak.", p, err); err != nil {
		return nil, err
	}
	stops, err := r.stopTriggerTimes(ctx)
	if err != nil {
		return nil, err
	}
	p, err = underlyingPlot(ax, r, stops)
	if err := add("underlying", "Underlying with entries, exits and stop triggers", "The underlying's last price at each snapshot; markers sit at the underlying's price when each entry or exit filled and when each trailing stop triggered.", p, err); err != nil {
		return nil, err
	}
	changes, err := r.breakerChanges(ctx)
	if err != nil {
		return nil, err
	}
	p, err = breakerPlot(ax, changes)
	if err := add("breaker", "Circuit breaker state", "The breaker's state over time, from its state_change events.", p, err); err != nil {
		return nil, err
	}
	p, err = limitsPlot(ax, r)
	if err := add("limits", "Limit utilisation", "|portfolio delta| and |portfolio gamma| at each snapshot, in % of the scenario's limit (limits that are off are not drawn).", p, err); err != nil {
		return nil, err
	}
	hours, err := r.eventsPerHour(ctx)
	if err != nil {
		return nil, err
	}
	p, err = eventsPlot(ax, hours)
	if err := add("events", "Risk events per hour", "Risk events logged in each hour of simulated time, stacked by component.", p, err); err != nil {
		return nil, err
	}
	return charts, nil
}

// compareCharts overlays the equity curves and drawdowns of several runs.
func compareCharts(runs []*Run) ([]chartFig, error) {
	var all []EquityPoint
	names := make([]string, len(runs))
	curves := make([][]EquityPoint, len(runs))
	capitals := make([]float64, len(runs))
	for i, r := range runs {
		names[i] = r.Meta.RunID
		curves[i] = r.Equity
		capitals[i] = r.Capital
		all = append(all, r.Equity...)
	}
	slices.SortStableFunc(all, func(a, b EquityPoint) int { return a.Time.Compare(b.Time) })
	loc := time.UTC
	if len(runs) > 0 && runs[0].Loc != nil {
		loc = runs[0].Loc
	}
	ax := newTimeAxis(loc, all)
	var charts []chartFig
	capital := math.NaN()
	if len(runs) > 0 {
		capital = runs[0].Capital
		for _, r := range runs[1:] {
			if r.Capital != capital {
				capital = math.NaN() // no single reference line
			}
		}
	}
	p, err := equityPlot(ax, names, curves, capital)
	if err == nil {
		var svg template.HTML
		if svg, err = renderSVG(p); err == nil {
			charts = append(charts, chartFig{ID: "chart-equity", Title: "Equity", Caption: "Equity of each run at each snapshot.", SVG: svg})
		}
	}
	if err != nil {
		return nil, fmt.Errorf("reports: chart equity: %w", err)
	}
	p, err = drawdownPlot(ax, names, curves, capitals)
	if err == nil {
		var svg template.HTML
		if svg, err = renderSVG(p); err == nil {
			charts = append(charts, chartFig{ID: "chart-drawdown", Title: "Drawdown", Caption: "Fall of each run's equity from its running peak, in % of the peak.", SVG: svg})
		}
	}
	if err != nil {
		return nil, fmt.Errorf("reports: chart drawdown: %w", err)
	}
	return charts, nil
}

// ---- data ----

func (r *Run) stopTriggerTimes(ctx context.Context) ([]time.Time, error) {
	steps, err := r.riskSteps(ctx)
	if err != nil {
		return nil, err
	}
	var out []time.Time
	for _, s := range steps {
		if s.Component == "trailing_stop" {
			out = append(out, s.At)
		}
	}
	return out, nil
}

type breakerChange struct {
	At time.Time
	To string
}

func (r *Run) breakerChanges(ctx context.Context) ([]breakerChange, error) {
	steps, err := r.riskSteps(ctx)
	if err != nil {
		return nil, err
	}
	var out []breakerChange
	for _, s := range steps {
		if s.Component == "circuit_breaker" {
			out = append(out, breakerChange{At: s.At, To: s.To.String}) // NULL: ""
		}
	}
	return out, nil
}

type hourEvents struct {
	Hour      time.Time
	Component string
	N         int64
}

// eventsPerHour counts risk events by UTC hour and component. The hour is
// cut from the microseconds since the epoch (the hour of the time in UTC,
// as date_trunc('hour', timezone('UTC', event_time)) but without a time
// zone conversion per row), so that the session's time zone setting cannot
// move buckets.
func (r *Run) eventsPerHour(ctx context.Context) ([]hourEvents, error) {
	rows, err := r.DB.QueryContext(ctx, `SELECT h, component, count(*) FROM (
			SELECT epoch_us(event_time) AS us, us - ((us % 3600000000) + 3600000000) % 3600000000 AS h, component
			FROM risk_events)
		GROUP BY ALL ORDER BY h, component`)
	if err != nil {
		return nil, fmt.Errorf("reports: events per hour: %w", err)
	}
	defer rows.Close()
	var out []hourEvents
	for rows.Next() {
		var c hourEvents
		var us int64
		if err := rows.Scan(&us, &c.Component, &c.N); err != nil {
			return nil, fmt.Errorf("reports: events per hour: %w", err)
		}
		c.Hour = time.UnixMicro(us).UTC()
		out = append(out, c)
	}
	return out, rows.Err()
}

// ---- plots ----

// timeAxis maps times to x so that the gaps between sessions (nights,
// weekends, holidays) shrink to one snapshot interval: a week of 5-minute
// data is not 70% flat overnight lines. Snapshots closer than the gap
// threshold form a segment; x is seconds of session time since the first
// snapshot. Ticks mark the first snapshot of each day (and hours in short
// runs), labelled in the session's zone.
type timeAxis struct {
	loc        *time.Location
	starts     []time.Time // segment starts, ascending
	ends       []time.Time // segment ends
	xs         []float64   // x of each segment start
	gap        float64     // x width of a collapsed gap, seconds
	min, max   float64     // x of the first and last snapshot
	label      string
	hasSamples bool
}

func newTimeAxis(loc *time.Location, pts []EquityPoint) timeAxis {
	if loc == nil {
		loc = time.UTC
	}
	a := timeAxis{loc: loc, label: "time (" + loc.String() + ")", gap: 300}
	if len(pts) == 0 {
		return a
	}
	steps := make([]time.Duration, 0, len(pts))
	for i := 1; i < len(pts); i++ {
		if d := pts[i].Time.Sub(pts[i-1].Time); d > 0 {
			steps = append(steps, d)
		}
	}
	median := 5 * time.Minute
	if len(steps) > 0 {
		slices.Sort(steps)
		median = steps[len(steps)/2]
	}
	threshold := max(4*median, time.Hour)
	a.gap = median.Seconds()
	x := 0.0
	a.starts, a.ends, a.xs = []time.Time{pts[0].Time}, []time.Time{pts[0].Time}, []float64{0}
	for _, p := range pts[1:] {
		last := len(a.ends) - 1
		if d := p.Time.Sub(a.ends[last]); d > threshold {
			x += a.ends[last].Sub(a.starts[last]).Seconds() + a.gap
			a.starts, a.ends, a.xs = append(a.starts, p.Time), append(a.ends, p.Time), append(a.xs, x)
		} else if d > 0 {
			a.ends[last] = p.Time
		}
	}
	first, last := pts[0].Time, pts[len(pts)-1].Time
	a.min, a.max, a.hasSamples = 0, a.x(last), true
	a.label = fmt.Sprintf("%s to %s, times in %s", first.In(loc).Format("Jan 2 2006"), last.In(loc).Format("Jan 2 2006"), loc)
	if len(a.starts) > 1 {
		a.label += " (nights and weekends left out)"
	}
	return a
}

// x maps a time to the axis: inside a segment by its session time, inside
// a gap proportionally across the collapsed gap.
func (a timeAxis) x(t time.Time) float64 {
	if len(a.starts) == 0 {
		return float64(t.UnixMicro()) / 1e6
	}
	i := sort.Search(len(a.starts), func(i int) bool { return a.starts[i].After(t) }) - 1
	if i < 0 {
		return t.Sub(a.starts[0]).Seconds()
	}
	in := t.Sub(a.starts[i]).Seconds()
	seg := a.ends[i].Sub(a.starts[i]).Seconds()
	if in <= seg || i == len(a.starts)-1 {
		return a.xs[i] + in
	}
	frac := (t.Sub(a.ends[i]).Seconds()) / a.starts[i+1].Sub(a.ends[i]).Seconds()
	return a.xs[i] + seg + frac*a.gap
}

// Ticks implements plot.Ticker: a tick at the first snapshot of each local
// day (at most ~10 labelled, the others minor), and hourly ticks when the
// run spans two days or fewer.
func (a timeAxis) Ticks(lo, hi float64) []plot.Tick {
	if len(a.starts) == 0 {
		return nil
	}
	type day struct {
		x float64
		t time.Time
	}
	var days []day
	for i, st := range a.starts {
		// A segment can span midnight (24h data): walk its local days.
		t := st.In(a.loc)
		for n := 0; n < 4000; n++ { // bounded: ten years of days
			if len(days) == 0 || days[len(days)-1].t.Format(time.DateOnly) != t.Format(time.DateOnly) {
				days = append(days, day{a.xs[i] + t.Sub(st).Seconds(), t})
			}
			y, m, d := t.Date()
			next := time.Date(y, m, d+1, 0, 0, 0, 0, a.loc)
			if next.After(a.ends[i]) {
				break
			}
			t = next
		}
	}
	var ticks []plot.Tick
	if len(days) <= 2 {
		for _, d := range days {
			ticks = append(ticks, plot.Tick{Value: d.x, Label: d.t.Format("Jan 2 15:04")})
			for h := 1; h < 24; h++ {
				t := time.Date(d.t.Year(), d.t.Month(), d.t.Day(), d.t.Hour()+h, 0, 0, 0, a.loc)
				if t.Format(time.DateOnly) != d.t.Format(time.DateOnly) {
					break
				}
				if x := a.x(t); x > d.x && x <= hi && a.inSegment(t) {
					ticks = append(ticks, plot.Tick{Value: x, Label: t.Format("15:04")})
				}
			}
		}
		return ticks
	}
	every := (len(days) + 9) / 10
	for i, d := range days {
		if d.x < lo || d.x > hi {
			continue
		}
		label := ""
		if i%every == 0 {
			label = d.t.Format("Jan 2")
		}
		ticks = append(ticks, plot.Tick{Value: d.x, Label: label})
	}
	return ticks
}

func (a timeAxis) inSegment(t time.Time) bool {
	i := sort.Search(len(a.starts), func(i int) bool { return a.starts[i].After(t) }) - 1
	return i >= 0 && !t.After(a.ends[i])
}

// numTicks labels a numeric axis without needless decimals and with
// thousands separators.
type numTicks struct{}

func (numTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(lo, hi)
	step := math.Inf(1)
	prev := math.NaN()
	for _, t := range ticks {
		if t.Label == "" {
			continue
		}
		if !math.IsNaN(prev) {
			step = min(step, t.Value-prev)
		}
		prev = t.Value
	}
	dec := 0
	if !math.IsInf(step, 0) && step > 0 && step < 1 {
		dec = int(math.Ceil(-math.Log10(step) - 1e-9))
	}
	for i := range ticks {
		if ticks[i].Label != "" {
			ticks[i].Label = groupThousands(strconv.FormatFloat(ticks[i].Value, 'f', dec, 64))
		}
	}
	return ticks
}

// groupThousands puts commas in the integer part of a formatted number.
func groupThousands(s string) string {
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	intPart, frac, hasFrac := strings.Cut(s, ".")
	var b strings.Builder
	for i, d := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(d)
	}
	if hasFrac {
		b.WriteString("." + frac)
	}
	if sign != "" && strings.Trim(b.String(), "0.,") == "" {
		sign = "" // no "-0"
	}
	return sign + b.String()
}

// newPlot makes a plot with the report's look: sans-serif text, a time x
// axis, a light grid.
func newPlot(ax timeAxis, title, ylabel string) *plot.Plot {
	p := plot.New()
	sans := func(f font.Font) font.Font {
		f.Typeface, f.Variant = "Liberation", "Sans"
		return f
	}
	// The figure's caption carries the title; the SVG keeps it only for
	// messages such as "no limit set".
	_ = title
	p.Title.TextStyle.Font = sans(p.Title.TextStyle.Font)
	p.Title.TextStyle.Font.Size = vg.Points(13)
	p.Title.Padding = vg.Points(6)
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = sans(a.Label.TextStyle.Font)
		a.Label.TextStyle.Font.Size = vg.Points(10)
		a.Tick.Label.Font = sans(a.Tick.Label.Font)
		a.Tick.Label.Font.Size = vg.Points(9)
	}
	p.Legend.TextStyle.Font = sans(p.Legend.TextStyle.Font)
	p.Legend.TextStyle.Font.Size = vg.Points(9)
	p.Legend.Top = true
	p.X.Label.Text = ax.label
	p.Y.Label.Text = ylabel
	p.X.Tick.Marker = ax
	p.Y.Tick.Marker = numTicks{}
	if ax.hasSamples {
		p.X.Min, p.X.Max = ax.min, ax.max
	}
	g := plotter.NewGrid()
	g.Vertical.Color = color.Gray{0xe4}
	g.Horizontal.Color = color.Gray{0xe4}
	p.Add(g)
	return p
}

// finish gives axes without data a range, so that an empty chart still
// draws its frame.
func finishPlot(p *plot.Plot, ax timeAxis) {
	if p.X.Min > p.X.Max || math.IsInf(p.X.Min, 0) || math.IsInf(p.X.Max, 0) {
		p.X.Min, p.X.Max = 0, 1
	}
	if p.X.Min == p.X.Max {
		p.X.Min, p.X.Max = p.X.Min-3600, p.X.Max+3600
	}
	if p.Y.Min > p.Y.Max || math.IsInf(p.Y.Min, 0) || math.IsInf(p.Y.Max, 0) {
		p.Y.Min, p.Y.Max = 0, 1
	}
	if p.Y.Min == p.Y.Max {
		p.Y.Min, p.Y.Max = p.Y.Min-1, p.Y.Max+1
	}
	if ax.hasSamples {
		p.X.Min, p.X.Max = min(p.X.Min, ax.min), max(p.X.Max, ax.max)
	}
}

// line adds a polyline of the finite points, downsampled.
func addLine(p *plot.Plot, name string, xs, ys []float64, c color.Color, width vg.Length, dashed bool) error {
	_, err := addLineOf(p, name, xs, ys, c, width, dashed)
	return err
}

// addLineOf is addLine returning the line (nil without finite points), for
// further styling.
func addLineOf(p *plot.Plot, name string, xs, ys []float64, c color.Color, width vg.Length, dashed bool) (*plotter.Line, error) {
	xs, ys = finitePoints(xs, ys)
	if len(xs) == 0 {
		return nil, nil
	}
	xs, ys = downsampleMinMax(xs, ys, maxChartPoints)
	l, err := plotter.NewLine(xyOf(xs, ys))
	if err != nil {
		return nil, err
	}
	l.LineStyle.Color = c
	l.LineStyle.Width = width
	if dashed {
		l.LineStyle.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	}
	p.Add(l)
	if name != "" {
		p.Legend.Add(name, l)
	}
	return l, nil
}

// hline adds a horizontal reference line across the x range.
func addHLine(p *plot.Plot, ax timeAxis, name string, y float64, c color.Color) error {
	if !ax.hasSamples || math.IsNaN(y) {
		return nil
	}
	return addLine(p, name, []float64{ax.min, ax.max}, []float64{y, y}, c, vg.Points(1), true)
}

func equityPlot(ax timeAxis, names []string, curves [][]EquityPoint, capital float64) (*plot.Plot, error) {
	p := newPlot(ax, "Equity", "equity ($)")
	for i, pts := range curves {
		xs, ys := make([]float64, len(pts)), make([]float64, len(pts))
		for j, pt := range pts {
			xs[j], ys[j] = ax.x(pt.Time), pt.Equity
		}
		if err := addLine(p, names[i], xs, ys, chartPalette[i%len(chartPalette)], vg.Points(1.5), false); err != nil {
			return nil, err
		}
	}
	if err := addHLine(p, ax, "capital", capital, colGrey); err != nil {
		return nil, err
	}
	finishPlot(p, ax)
	return p, nil
}

// drawdownPct is the fall from the running peak, in % (≤ 0), at each point;
// the capital is the first peak, as in MaxDrawdown.
func drawdownPct(pts []EquityPoint, capital float64) []float64 {
	out := make([]float64, len(pts))
	peak := capital
	for i, p := range pts {
		peak = max(peak, p.Equity)
		if peak > 0 {
			out[i] = -(peak - p.Equity) / peak * 100
		}
	}
	return out
}

func drawdownPlot(ax timeAxis, names []string, curves [][]EquityPoint, capitals []float64) (*plot.Plot, error) {
	p := newPlot(ax, "Drawdown", "drawdown (% of peak)")
	for i, pts := range curves {
		xs := make([]float64, len(pts))
		for j, pt := range pts {
			xs[j] = ax.x(pt.Time)
		}
		dd := drawdownPct(pts, capitals[i])
		c := chartPalette[i%len(chartPalette)]
		if len(curves) == 1 {
			c = chartPalette[1]
		}
		l, err := addLineOf(p, names[i], xs, dd, c, vg.Points(1.2), false)
		if err != nil {
			return nil, err
		}
		if len(curves) == 1 && l != nil {
			// Shade between zero and the curve (a Line fills down to the
			// axis, which is the wrong side for a drawdown).
			pts := make(plotter.XYs, 0, len(l.XYs)+2)
			pts = append(pts, plotter.XY{X: l.XYs[0].X, Y: 0})
			pts = append(pts, l.XYs...)
			pts = append(pts, plotter.XY{X: l.XYs[len(l.XYs)-1].X, Y: 0})
			poly, err := plotter.NewPolygon(pts)
			if err != nil {
				return nil, err
			}
			poly.Color = color.NRGBA{0xD5, 0x5E, 0x00, 0x40}
			poly.LineStyle.Width = 0
			p.Add(poly)
		}
	}
	finishPlot(p, ax)
	p.Y.Max = max(p.Y.Max, 0)
	return p, nil
}

// underlyingAt is the underlying's last finite price at or before t (the
// first one for times before the first snapshot); NaN without any.
func underlyingAt(pts []EquityPoint, t time.Time) float64 {
	i := sort.Search(len(pts), func(i int) bool { return pts[i].Time.After(t) })
	for j := i - 1; j >= 0; j-- {
		if u := pts[j].Underlying; !math.IsNaN(u) && !math.IsInf(u, 0) {
			return u
		}
	}
	for j := i; j < len(pts); j++ {
		if u := pts[j].Underlying; !math.IsNaN(u) && !math.IsInf(u, 0) {
			return u
		}
	}
	return math.NaN()
}

func underlyingPlot(ax timeAxis, r *Run, stops []time.Time) (*plot.Plot, error) {
	name := "underlying"
	if s, ok := lookup(r.Scenario, "feed.synthetic.underlying").(string); ok && s != "" {
		name = s
	}
	p := newPlot(ax, "Underlying", name+" price ($)")
	xs, ys := make([]float64, len(r.Equity)), make([]float64, len(r.Equity))
	for i, pt := range r.Equity {
		xs[i], ys[i] = ax.x(pt.Time), pt.Underlying
	}
	if err := addLine(p, name, xs, ys, colGrey, vg.Points(1.2), false); err != nil {
		return nil, err
	}
	var entries, exits []time.Time
	for _, f := range r.Fills {
		if f.FillTime.IsZero() || (f.Status != "filled" && f.Status != "settled") {
			continue
		}
		switch f.Intent {
		case "entry":
			entries = append(entries, f.FillTime)
		case "exit":
			exits = append(exits, f.FillTime)
		}
	}
	marks := []struct {
		name  string
		at    []time.Time
		shape draw.GlyphDrawer
		c     color.Color
	}{
		{"entry fill", entries, draw.TriangleGlyph{}, colGreen},
		{"exit fill", exits, draw.CircleGlyph{}, colBlue},
		{"stop trigger", stops, draw.CrossGlyph{}, colRed},
	}
	for _, m := range marks {
		var mx, my []float64
		step := (len(m.at) + maxMarkers - 1) / maxMarkers
		for i := 0; i < len(m.at); i += max(step, 1) {
			u := underlyingAt(r.Equity, m.at[i])
			if math.IsNaN(u) {
				continue
			}
			mx, my = append(mx, ax.x(m.at[i])), append(my, u)
		}
		if len(mx) == 0 {
			continue
		}
		s, err := plotter.NewScatter(xyOf(mx, my))
		if err != nil {
			return nil, err
		}
		s.GlyphStyle.Shape = m.shape
		s.GlyphStyle.Color = m.c
		s.GlyphStyle.Radius = vg.Points(3)
		p.Add(s)
		p.Legend.Add(fmt.Sprintf("%s (%d)", m.name, len(m.at)), s)
	}
	finishPlot(p, ax)
	return p, nil
}

func breakerPlot(ax timeAxis, changes []breakerChange) (*plot.Plot, error) {
	p := newPlot(ax, "Circuit breaker", "state")
	var xs, ys []float64
	if ax.hasSamples {
		xs, ys = append(xs, ax.min), append(ys, 0)
	}
	for _, c := range changes {
		lvl, ok := breakerLevels[c.To]
		if !ok {
			continue
		}
		xs, ys = append(xs, ax.x(c.At)), append(ys, lvl)
	}
	if ax.hasSamples && len(ys) > 0 {
		xs, ys = append(xs, max(ax.max, xs[len(xs)-1])), append(ys, ys[len(ys)-1])
	}
	if len(xs) > 0 {
		// A state is held until the next change: never drop points of a
		// step chart, but bound them.
		if len(xs) > 4*maxChartPoints {
			xs, ys = xs[:4*maxChartPoints], ys[:4*maxChartPoints]
		}
		l, err := plotter.NewLine(xyOf(xs, ys))
		if err != nil {
			return nil, err
		}
		l.StepStyle = plotter.PostStep
		l.LineStyle.Color = colRed
		l.LineStyle.Width = vg.Points(1.2)
		l.FillColor = color.NRGBA{0xC0, 0x1F, 0x1F, 0x40}
		p.Add(l)
	}
	p.Y.Tick.Marker = plot.ConstantTicks([]plot.Tick{
		{Value: 0, Label: "closed"}, {Value: 1, Label: "half_open"}, {Value: 2, Label: "open"}, {Value: 3, Label: "halted"},
	})
	finishPlot(p, ax)
	p.Y.Min, p.Y.Max = 0, 3.2
	return p, nil
}

// num reads a YAML number (the decoder gives uint64, int64 or float64).
// yamlNum is a number of the run's scenario.yaml: an integer, a float, or
// a float the resolved scenario wrote in exponent form (1e+06), which YAML
// reads back as text.
func yamlNum(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case uint64:
		return float64(x), true
	case int64:
		return float64(x), true
	case int:
		return float64(x), true
	case string:
		f, err := strconv.ParseFloat(x, 64)
		return f, err == nil && !math.IsNaN(f) && !math.IsInf(f, 0)
	}
	return 0, false
}

func limitsPlot(ax timeAxis, r *Run) (*plot.Plot, error) {
	p := newPlot(ax, "Limit utilisation", "% of limit")
	series := []struct {
		name, key string
		get       func(EquityPoint) float64
	}{
		{"|delta| / max_portfolio_delta", "risk.limits.max_portfolio_delta", func(e EquityPoint) float64 { return e.Delta }},
		{"|gamma| / max_portfolio_gamma", "risk.limits.max_portfolio_gamma", func(e EquityPoint) float64 { return e.Gamma }},
	}
	drawn := 0
	for i, s := range series {
		lim, ok := yamlNum(lookup(r.Scenario, s.key))
		if !ok || lim <= 0 {
			continue
		}
		xs, ys := make([]float64, len(r.Equity)), make([]float64, len(r.Equity))
		for j, pt := range r.Equity {
			xs[j], ys[j] = ax.x(pt.Time), math.Abs(s.get(pt))/lim*100
		}
		if err := addLine(p, s.name, xs, ys, chartPalette[i], vg.Points(1.2), false); err != nil {
			return nil, err
		}
		drawn++
	}
	if drawn > 0 {
		warn := 80.0
		if w, ok := yamlNum(lookup(r.Scenario, "risk.limits.warn_pct")); ok && w > 0 {
			warn = w
		}
		if err := addHLine(p, ax, fmt.Sprintf("warn (%s%%)", strconv.FormatFloat(warn, 'g', -1, 64)), warn, chartPalette[4]); err != nil {
			return nil, err
		}
		if err := addHLine(p, ax, "limit (100%)", 100, colRed); err != nil {
			return nil, err
		}
	} else {
		p.Title.Text = "Limit utilisation (no delta or gamma limit set)"
	}
	finishPlot(p, ax)
	p.Y.Min = 0
	return p, nil
}

// stackedBars draws one component's hourly counts on top of base counts:
// a bar spans its hour on the time axis.
type stackedBars struct {
	x0, x1     []float64 // bucket start and end on the time axis
	base, top  []float64
	color      color.Color
	minPxWidth vg.Length
}

func (b *stackedBars) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	c.SetColor(b.color)
	for i := range b.x0 {
		if b.top[i] == b.base[i] {
			continue
		}
		x0, x1 := trX(b.x0[i]), trX(b.x1[i])
		if x1-x0 < b.minPxWidth {
			mid := (x0 + x1) / 2
			x0, x1 = mid-b.minPxWidth/2, mid+b.minPxWidth/2
		}
		y0, y1 := trY(b.base[i]), trY(b.top[i])
		var path vg.Path
		path.Move(vg.Point{X: x0, Y: y0})
		path.Line(vg.Point{X: x1, Y: y0})
		path.Line(vg.Point{X: x1, Y: y1})
		path.Line(vg.Point{X: x0, Y: y1})
		path.Close()
		c.Fill(path)
	}
}

func (b *stackedBars) DataRange() (xmin, xmax, ymin, ymax float64) {
	xmin, xmax, ymin, ymax = math.Inf(1), math.Inf(-1), 0, 0
	for i := range b.x0 {
		xmin, xmax = min(xmin, b.x0[i]), max(xmax, b.x1[i])
		ymax = max(ymax, b.top[i])
	}
	return
}

func (b *stackedBars) Thumbnail(c *draw.Canvas) {
	pts := []vg.Point{{X: c.Min.X, Y: c.Min.Y}, {X: c.Min.X, Y: c.Max.Y}, {X: c.Max.X, Y: c.Max.Y}, {X: c.Max.X, Y: c.Min.Y}}
	c.FillPolygon(b.color, c.ClipPolygonXY(pts))
}

// eventStack is one component's bars in the events chart: its counts on
// top of the components before it.
type eventStack struct {
	component string
	total     int64     // the component's events in all hours
	base, top []float64 // per bar
}

// eventBars are the bars of the events chart: one per hour with events,
// or, past maxEventBars hours, one per group of per consecutive hours with
// events, drawn as the group's busiest hour (the most events of all
// components; the first on a tie) and spanning the group. A bar is then
// under a point wide, so the chart looks as with every hour drawn, while the
// SVG stays a few hundred kB for any run length. The legend's totals count
// every hour.
func eventBars(ax timeAxis, counts []hourEvents) (x0, x1 []float64, stacks []eventStack, per int) {
	// Components in a fixed order (the design's), any others after, sorted.
	order := []string{"circuit_breaker", "trailing_stop", "portfolio_limits"}
	seen := map[string]bool{}
	for _, c := range counts {
		seen[c.Component] = true
	}
	var extra []string
	for c := range seen {
		if !slices.Contains(order, c) {
			extra = append(extra, c)
		}
	}
	slices.Sort(extra)
	var comps []string
	for _, c := range append(order, extra...) {
		if seen[c] {
			comps = append(comps, c)
		}
	}
	col := map[string]int{}
	for i, c := range comps {
		col[c] = i
	}
	// n[h][c]: the events of component c in the h-th hour with events.
	var hours []time.Time
	var n [][]float64
	totals := make([]int64, len(comps))
	for _, c := range counts {
		if len(hours) == 0 || !hours[len(hours)-1].Equal(c.Hour) {
			hours = append(hours, c.Hour)
			n = append(n, make([]float64, len(comps)))
		}
		n[len(n)-1][col[c.Component]] += float64(c.N)
		totals[col[c.Component]] += c.N
	}
	per = max(1, (len(hours)+maxEventBars-1)/maxEventBars)
	var shown [][]float64 // the counts drawn for each bar
	for g := 0; g < len(hours); g += per {
		end := min(g+per, len(hours))
		busiest, most := g, -1.0
		for h := g; h < end; h++ {
			var sum float64
			for _, v := range n[h] {
				sum += v
			}
			if sum > most {
				busiest, most = h, sum
			}
		}
		x0 = append(x0, ax.x(hours[g]))
		x1 = append(x1, ax.x(hours[end-1].Add(time.Hour)))
		shown = append(shown, n[busiest])
	}
	base := make([]float64, len(shown))
	for i, comp := range comps {
		top := slices.Clone(base)
		for b := range shown {
			top[b] += shown[b][i]
		}
		stacks = append(stacks, eventStack{component: comp, total: totals[i], base: base, top: top})
		base = top
	}
	return x0, x1, stacks, per
}

func eventsPlot(ax timeAxis, counts []hourEvents) (*plot.Plot, error) {
	x0, x1, stacks, per := eventBars(ax, counts)
	title := "Risk events per hour"
	if per > 1 {
		title = fmt.Sprintf("Risk events per hour (the busiest hour of every %d with events)", per)
	}
	p := newPlot(ax, title, "events")
	for i, st := range stacks {
		b := &stackedBars{x0: x0, x1: x1, base: st.base, top: st.top, color: chartPalette[i%len(chartPalette)], minPxWidth: vg.Points(1)}
		p.Add(b)
		p.Legend.Add(fmt.Sprintf("%s (%d)", st.component, st.total), b)
	}
	finishPlot(p, ax)
	p.Y.Min = 0
	return p, nil
}

// ---- helpers ----

func xyOf(xs, ys []float64) plotter.XYs {
	out := make(plotter.XYs, len(xs))
	for i := range xs {
		out[i].X, out[i].Y = xs[i], ys[i]
	}
	return out
}

func finitePoints(xs, ys []float64) ([]float64, []float64) {
	ok := true
	for i := range ys {
		if math.IsNaN(ys[i]) || math.IsInf(ys[i], 0) || math.IsNaN(xs[i]) {
			ok = false
			break
		}
	}
	if ok {
		return xs, ys
	}
	var ox, oy []float64
	for i := range ys {
		if !math.IsNaN(ys[i]) && !math.IsInf(ys[i], 0) && !math.IsNaN(xs[i]) {
			ox, oy = append(ox, xs[i]), append(oy, ys[i])
		}
	}
	return ox, oy
}

// downsample keeps at most maxPts points: the series is cut into
// maxPts/2 buckets of consecutive points and each keeps its minimum and
// maximum (in their original order), so spikes and drawdown troughs
// survive. The first and last points are always kept. Deterministic.
func downsampleMinMax(xs, ys []float64, maxPts int) ([]float64, []float64) {
	n := len(xs)
	if n <= maxPts || maxPts < 4 {
		return xs, ys
	}
	buckets := (maxPts - 2) / 2
	ox, oy := []float64{xs[0]}, []float64{ys[0]}
	inner := n - 2
	for b := 0; b < buckets; b++ {
		lo, hi := 1+b*inner/buckets, 1+(b+1)*inner/buckets
		if lo >= hi {
			continue
		}
		imin, imax := lo, lo
		for i := lo; i < hi; i++ {
			if ys[i] < ys[imin] {
				imin = i
			}
			if ys[i] > ys[imax] {
				imax = i
			}
		}
		a, c := min(imin, imax), max(imin, imax)
		ox, oy = append(ox, xs[a]), append(oy, ys[a])
		if c != a {
			ox, oy = append(ox, xs[c]), append(oy, ys[c])
		}
	}
	return append(ox, xs[n-1]), append(oy, ys[n-1])
}

// newChartCanvas makes the SVG canvas of a chart: svgCanvas, which writes
// vgsvg's bytes faster (tests switch to vgsvg to compare).
var newChartCanvas = func(w, h vg.Length) vg.CanvasWriterTo { return newSVGCanvas(w, h) }

// vgsvgCanvas is gonum's own SVG canvas.
func vgsvgCanvas(w, h vg.Length) vg.CanvasWriterTo { return vgsvg.New(w, h) }

// renderSVG draws p as SVG fit for inlining in HTML: no XML prologue, no
// comment, no xlink namespace, a generic font fallback, and a size set by
// the page's CSS.
func renderSVG(p *plot.Plot) (template.HTML, error) {
	c := newChartCanvas(chartW, chartH)
	dc := draw.New(c)
	// The legend goes in a strip right of the plot, where it cannot hide
	// data; every chart keeps the strip so that their time axes line up.
	leg := p.Legend
	p.Legend = plot.NewLegend()
	p.Draw(draw.Crop(dc, 0, -legendW, 0, 0))
	leg.Left, leg.Top = true, true
	leg.YOffs = -vg.Points(8)
	leg.Padding = vg.Points(3)
	leg.Draw(draw.Crop(dc, chartW-legendW+vg.Points(8), 0, 0, 0))
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return "", err
	}
	s := b.String()
	if i := strings.Index(s, "<svg"); i >= 0 {
		s = s[i:]
	}
	s = strings.Replace(s, "\n\txmlns:xlink=\"http://www.w3.org/1999/xlink\"", "", 1)
	s = strings.Replace(s, "<svg ", `<svg role="img" preserveAspectRatio="xMidYMid meet" `, 1)
	s = strings.ReplaceAll(s, "font-family:Liberation Sans;", "font-family:'Liberation Sans',Arial,Helvetica,sans-serif;")
	return template.HTML(s), nil
}
