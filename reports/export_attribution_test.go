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
