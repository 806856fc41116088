package reports

import "gonum.org/v1/plot/vg"

// FormatMoney is fmtMoney, for the external tests.
var FormatMoney = fmtMoney

// UseVGSVG draws charts with gonum's SVG canvas (on) or the report's own
// (off), for tests comparing the two.
func UseVGSVG(on bool) {
	if on {
		newChartCanvas = vgsvgCanvas
	} else {
		newChartCanvas = func(w, h vg.Length) vg.CanvasWriterTo { return newSVGCanvas(w, h) }
	}
}

// FormatG5 is appendG5 as a string.
func FormatG5(v float64) string { return string(appendG5(nil, v)) }

// SetParallelRows sets the size above which a run's report gets a DuckDB
// database of its own; it returns the previous value.
func SetParallelRows(n int64) int64 {
	old := parallelRows
	parallelRows = n
	return old
}
