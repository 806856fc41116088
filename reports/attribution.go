package reports

import (
	"cmp"
	"context"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/optionsrisk/backtest/lake"
)

// This file owns the reports' view of risk attribution (the attribution
// table, sim/attribution.go): summary.json results.attribution, the report
// section "What the risk layers did" and its waterfall chart.

// Attributed is one row of the attribution table.
type Attributed struct {
	Seq                          int64
	Time                         time.Time
	Component, Event, Rule       string
	ExecutionID, Contract        string
	Actual, Counterfactual, Save float64
	Ending                       string
}

// attributionComponents are the layers in report order.
var attributionComponents = []string{"trailing_stop", "portfolio_limits", "circuit_breaker"}

// loadAttribution reads the run's attribution table, in seq order. A run
// folder written before the table existed has none: HasAttribution stays
// false and the reports leave the section out.
func (r *Run) loadAttribution(ctx context.Context) error {
	dir := filepath.Join(r.Dir, lake.AttributionTable)
	if _, err := os.Stat(dir); err != nil {
		return nil
	}
	snap, err := lake.Snapshot(dir, -1)
	if err != nil {
		return fmt.Errorf("reports: %w", err)
	}
	if err := r.createView(ctx, snap, lake.AttributionTable); err != nil {
		return fmt.Errorf("reports: %w", err)
	}
	r.HasAttribution = true
	r.Attribution = make([]Attributed, 0, rowsHint(snap))
	err = r.queryArrow(ctx, `SELECT seq, event_time, component, event_type, coalesce(rule, ''),
		coalesce(execution_id, ''), coalesce(contract, ''), actual_pnl, counterfactual_pnl, saved,
		coalesce(counterfactual_end, '') FROM attribution`,
		func(rec arrow.RecordBatch) error {
			c := colReader{rec: rec}
			for i := range int(rec.NumRows()) {
				r.Attribution = append(r.Attribution, Attributed{
					Seq: c.i64(0, i), Time: c.time(1, i), Component: c.str(2, i), Event: c.str(3, i), Rule: c.str(4, i),
					ExecutionID: c.str(5, i), Contract: c.str(6, i),
					Actual: c.f64OrNaN(7, i), Counterfactual: c.f64OrNaN(8, i), Save: c.f64OrNaN(9, i), Ending: c.str(10, i),
				})
			}
			return c.err
		})
	if err != nil {
		return fmt.Errorf("reports: attribution: %w", err)
	}
	inOrder(r.Attribution, byAttributionSeq)
	return nil
}

// attributionStats is one group's figures.
type attributionStats struct {
	decisions, saving int64
	saved, save, cost float64
}

func (s *attributionStats) add(v float64) {
	s.decisions++
	s.saved += v
	if v > 0 {
		s.saving++
	}
	s.save = max(s.save, v)
	s.cost = min(s.cost, v)
}

func (s *attributionStats) object() Object {
	share := math.NaN()
	if s.decisions > 0 {
		share = float64(s.saving) / float64(s.decisions)
	}
	return Object{
		"decisions": s.decisions, "saved": s.saved, "saved_share": share,
		"largest_save": s.save, "largest_cost": s.cost,
	}
}

// attributionResults is results.attribution: per component (and per rule
// within it) the number of decisions, the total saved (dollars, actual −
// counterfactual), the share of decisions that saved money, the largest
// single save (≥ 0) and the largest single cost (≤ 0, as a saving); and
// the same over every decision as "total". Sums run in seq order, so they
// equal the table's sums.
func attributionResults(ds []Attributed) Object {
	var total attributionStats
	comps := map[string]*attributionStats{}
	rules := map[string]map[string]*attributionStats{}
	for _, c := range attributionComponents {
		comps[c] = &attributionStats{}
		rules[c] = map[string]*attributionStats{}
	}
	for _, d := range ds {
		if math.IsNaN(d.Save) {
			continue
		}
		total.add(d.Save)
		c := comps[d.Component]
		if c == nil {
			c = &attributionStats{}
			comps[d.Component] = c
			rules[d.Component] = map[string]*attributionStats{}
		}
		c.add(d.Save)
		r := rules[d.Component][d.Rule]
		if r == nil {
			r = &attributionStats{}
			rules[d.Component][d.Rule] = r
		}
		r.add(d.Save)
	}
	out := Object{"total": total.object()}
	for name, c := range comps {
		o := c.object()
		by := Object{}
		for rule, s := range rules[name] {
			by[cmp.Or(rule, "-")] = s.object()
		}
		o["rules"] = by
		out[name] = o
	}
	return out
}

// attributionTables is the report section "What the risk layers did": the
// waterfall from the P&L with every decision reversed to the actual P&L,
// the figures per layer and rule, and the ten most expensive and ten most
// valuable decisions.
func attributionTables(r *Run, s *Summary) []reportTable {
	if !r.HasAttribution {
		return nil
	}
	note := "First-order attribution: each decision is reversed alone, everything else held as it happened (a refused entry's room, later used by other entries, is not given back). saved = actual minus counterfactual profit and loss; positive means the layer helped."
	wf := reportTable{ID: "attribution", Title: "What the risk layers did", Head: []string{"step", "decisions", "saved", "share that saved", "largest save", "largest cost", "P&L after"},
		Right: []bool{false, true, true, true, true, true, true}, Note: note}
	steps := waterfallSteps(s)
	for i, st := range steps {
		if i == 0 || i == len(steps)-1 {
			wf.Rows = append(wf.Rows, []string{st.label, "", "", "", "", "", fmtMoney(st.after)})
			continue
		}
		o, _ := asObject(resultAt(s, "attribution."+st.key))
		wf.Rows = append(wf.Rows, []string{st.label, fmtCount(objI(o, "decisions")), fmtMoney(objF(o, "saved")),
			fmtPct(objF(o, "saved_share") * 100), fmtMoney(objF(o, "largest_save")), fmtMoney(objF(o, "largest_cost")), fmtMoney(st.after)})
		rules, _ := asObject(o["rules"])
		for _, k := range sortedKeysOf(rules) {
			ro, _ := asObject(rules[k])
			wf.Rows = append(wf.Rows, []string{"  rule " + k, fmtCount(objI(ro, "decisions")), fmtMoney(objF(ro, "saved")),
				fmtPct(objF(ro, "saved_share") * 100), fmtMoney(objF(ro, "largest_save")), fmtMoney(objF(ro, "largest_cost")), ""})
		}
	}
	// Decisions by saving, ascending (ties in seq order): indices sorted,
	// not the decisions (a year of them, ~150 bytes each).
	order := make([]int32, len(r.Attribution))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortStableFunc(order, func(a, b int32) int { return cmp.Compare(r.Attribution[a].Save, r.Attribution[b].Save) })
	sorted := func(i int) Attributed { return r.Attribution[order[i]] }
	top := func(id, title string, ds []Attributed) reportTable {
		t := reportTable{ID: id, Title: title,
			Head:  []string{"seq", "time", "layer", "event", "rule", "execution id", "contract", "actual P&L", "counterfactual P&L", "saved", "counterfactual ended"},
			Right: []bool{true, false, false, false, false, false, false, true, true, true, false}}
		for _, d := range ds {
			t.Rows = append(t.Rows, []string{strconv.FormatInt(d.Seq, 10), d.Time.In(r.Loc).Format("2006-01-02 15:04 MST"), d.Component, d.Event, d.Rule,
				d.ExecutionID, d.Contract, fmtMoney(d.Actual), fmtMoney(d.Counterfactual), fmtMoney(d.Save), d.Ending})
		}
		if len(ds) == 0 {
			t.Note = "No decision."
		}
		return t
	}
	var costly, valuable []Attributed
	for i := 0; i < len(order) && i < 10 && sorted(i).Save < 0; i++ {
		costly = append(costly, sorted(i))
	}
	for i := len(order) - 1; i >= 0 && len(order)-i <= 10 && sorted(i).Save > 0; i-- {
		valuable = append(valuable, sorted(i))
	}
	return []reportTable{wf,
		top("attribution-costly", "The ten most expensive risk decisions", costly),
		top("attribution-valuable", "The ten most valuable risk decisions", valuable)}
}

func objF(o Object, k string) float64 {
	switch v := o[k].(type) {
	case float64:
		return v
	case int64:
		return float64(v)
	}
	return math.NaN()
}

func objI(o Object, k string) int64 {
	switch v := o[k].(type) {
	case int64:
		return v
	case float64:
		return int64(v)
	}
	return 0
}

// waterfallStep is one bar of the waterfall.
type waterfallStep struct {
	key, label    string
	before, after float64
}

// waterfallSteps walk from the P&L with every decision reversed (actual −
// Σ saved) through each layer's saving to the actual P&L.
func waterfallSteps(s *Summary) []waterfallStep {
	actual := resultF(s, "pnl.total")
	total := resultF(s, "attribution.total.saved")
	if math.IsNaN(total) {
		total = 0
	}
	start := actual - total
	steps := []waterfallStep{{label: "P&L with every decision reversed", before: 0, after: start}}
	cur := start
	for _, c := range attributionComponents {
		v := resultF(s, "attribution."+c+".saved")
		if math.IsNaN(v) {
			v = 0
		}
		steps = append(steps, waterfallStep{key: c, label: c, before: cur, after: cur + v})
		cur += v
	}
	return append(steps, waterfallStep{label: "actual P&L", before: 0, after: actual})
}

// waterfallPlot draws the waterfall: the reversed P&L and the actual P&L
// as bars from zero, each layer's saving as a floating bar (green when it
// saved money, red when it cost).
func waterfallPlot(s *Summary) (*plot.Plot, error) {
	steps := waterfallSteps(s)
	p := plot.New()
	p.Title.Text = "What the risk layers did"
	p.Y.Label.Text = "P&L ($)"
	p.Y.Tick.Marker = numTicks{}
	p.Add(plotter.NewGrid())
	names := make([]string, len(steps))
	for i, st := range steps {
		names[i] = st.label
		lo, hi := min(st.before, st.after), max(st.before, st.after)
		c := colBlue
		switch {
		case i == 0 || i == len(steps)-1:
		case st.after >= st.before:
			c = colGreen
		default:
			c = colRed
		}
		p.Add(&floatBar{x: float64(i), lo: lo, hi: hi, c: c})
	}
	z, err := plotter.NewLine(plotter.XYs{{X: -0.5, Y: 0}, {X: float64(len(steps)) - 0.5, Y: 0}})
	if err != nil {
		return nil, err
	}
	z.Color = colGrey
	p.Add(z)
	p.NominalX(names...)
	return p, nil
}

// floatBar is one bar of a waterfall from lo to hi at x.
type floatBar struct {
	x, lo, hi float64
	c         color.Color
}

func (b *floatBar) Plot(c draw.Canvas, p *plot.Plot) {
	tx, ty := p.Transforms(&c)
	const half = 0.3
	x0, x1 := tx(b.x-half), tx(b.x+half)
	y0, y1 := ty(b.lo), ty(b.hi)
	if y1-y0 < vg.Points(1) {
		y1 = y0 + vg.Points(1)
	}
	c.FillPolygon(b.c, c.ClipPolygonXY([]vg.Point{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}}))
}

func (b *floatBar) DataRange() (xmin, xmax, ymin, ymax float64) {
	return b.x - 0.5, b.x + 0.5, b.lo, b.hi
}

// attributionChart is the waterfall figure of report.html.
func attributionChart(s *Summary) (chartFig, error) {
	p, err := waterfallPlot(s)
	if err != nil {
		return chartFig{}, fmt.Errorf("reports: chart attribution: %w", err)
	}
	svg, err := renderSVG(p)
	if err != nil {
		return chartFig{}, fmt.Errorf("reports: chart attribution: %w", err)
	}
	return chartFig{ID: "chart-attribution", Title: "What the risk layers did",
		Caption: "From the P&L with every attributed risk decision reversed (first order: one decision at a time) to the actual P&L: each layer's total saving, green when it saved money, red when it cost.",
		SVG:     svg}, nil
}
