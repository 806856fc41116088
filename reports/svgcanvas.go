package reports

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"

	xfnt "golang.org/x/image/font"
	"golang.org/x/image/font/sfnt"

	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/vg"
)

// svgCanvas is gonum's vgsvg.Canvas (gonum.org/v1/plot v0.17.0, fonts not
// embedded) writing the same bytes faster: numbers are appended with
// strconv rather than fmt, styles are built without intermediate strings,
// and a font's SVG description (its family name read from the font file)
// is looked up once per process rather than once per text. The charts of a
// year-long run draw tens of thousands of paths, and vgsvg's formatting was
// half of their cost. TestSVGCanvasEqualsVGSVG renders every chart both
// ways.
type svgCanvas struct {
	w, h  vg.Length
	buf   []byte
	stack []svgContext
}

type svgContext struct {
	color      color.Color
	dashArray  []vg.Length
	dashOffset vg.Length
	lineWidth  vg.Length
	gEnds      int
}

// svgPrec is vgsvg's precision of numbers (%.5g).
const svgPrec = 5

func newSVGCanvas(w, h vg.Length) *svgCanvas {
	c := &svgCanvas{w: w, h: h, stack: []svgContext{{}}, buf: make([]byte, 0, 64<<10)}
	// Swap the origin to the bottom left (closed in WriteTo).
	c.buf = append(c.buf, `<g transform="scale(1, -1) translate(0, -`...)
	c.buf = appendG5(c.buf, c.h.Points())
	c.buf = append(c.buf, ")\">\n"...)
	vg.Initialize(c)
	return c
}

// appendG5 appends v as fmt's %.5g does (TestAppendG5).
func appendG5(b []byte, v float64) []byte {
	return strconv.AppendFloat(b, v, 'g', svgPrec, 64)
}

func (c *svgCanvas) Size() (w, h vg.Length) { return c.w, c.h }

func (c *svgCanvas) context() *svgContext { return &c.stack[len(c.stack)-1] }

func (c *svgCanvas) SetLineWidth(w vg.Length) { c.context().lineWidth = w }

func (c *svgCanvas) SetLineDash(dashes []vg.Length, offs vg.Length) {
	c.context().dashArray = dashes
	c.context().dashOffset = offs
}

func (c *svgCanvas) SetColor(clr color.Color) { c.context().color = clr }

func (c *svgCanvas) gtransform(s string) {
	c.buf = append(c.buf, `<g transform="`...)
	c.buf = append(c.buf, s...)
	c.buf = append(c.buf, "\">\n"...)
}

func (c *svgCanvas) Rotate(rot float64) {
	rot = rot * 180 / math.Pi
	c.gtransform(fmt.Sprintf(`rotate(%g)`, rot))
	c.context().gEnds++
}

func (c *svgCanvas) Translate(pt vg.Point) {
	c.buf = append(c.buf, `<g transform="translate(`...)
	c.buf = appendG5(c.buf, pt.X.Points())
	c.buf = append(c.buf, ", "...)
	c.buf = appendG5(c.buf, pt.Y.Points())
	c.buf = append(c.buf, ")\">\n"...)
	c.context().gEnds++
}

func (c *svgCanvas) Scale(x, y float64) {
	c.gtransform(fmt.Sprintf(`scale(%g,%g)`, x, y))
	c.context().gEnds++
}

func (c *svgCanvas) Push() {
	top := *c.context()
	top.gEnds = 0
	c.stack = append(c.stack, top)
}

func (c *svgCanvas) Pop() {
	for range c.context().gEnds {
		c.buf = append(c.buf, "</g>\n"...)
	}
	c.stack = c.stack[:len(c.stack)-1]
}

// styleWriter builds vgsvg's style attribute: elements equal to their
// default are left out; no element, no attribute.
type styleWriter struct {
	b     []byte
	start int
}

func (s *styleWriter) begin(b []byte) { s.b, s.start = b, len(b) }

func (s *styleWriter) sep() {
	if len(s.b) == s.start {
		s.b = append(s.b, `style="`...)
	} else {
		s.b = append(s.b, ';')
	}
}

func (s *styleWriter) elm(key, def, val string) {
	if val == def {
		return
	}
	s.sep()
	s.b = append(s.b, key...)
	s.b = append(s.b, ':')
	s.b = append(s.b, val...)
}

// elmG5 is elm of a %.5g number.
func (s *styleWriter) elmG5(key, def string, v float64) {
	var tmp [32]byte
	val := appendG5(tmp[:0], v)
	if string(val) == def {
		return
	}
	s.sep()
	s.b = append(s.b, key...)
	s.b = append(s.b, ':')
	s.b = append(s.b, val...)
}

// end closes the attribute, if any; empty reports that there was none.
func (s *styleWriter) end() (b []byte, empty bool) {
	if len(s.b) == s.start {
		return s.b, true
	}
	return append(s.b, '"'), false
}

// path writes svgo's <path d="…" STYLE />: with no style attribute svgo
// writes two spaces.
func (c *svgCanvas) path(p vg.Path, style func(*styleWriter)) {
	c.buf = append(c.buf, `<path d="`...)
	c.buf = c.appendPathData(c.buf, p)
	c.buf = append(c.buf, `" `...)
	var sw styleWriter
	sw.begin(c.buf)
	style(&sw)
	b, _ := sw.end()
	c.buf = append(b, " />\n"...) // with no style: two spaces, as svgo writes

}

func (c *svgCanvas) Stroke(p vg.Path) {
	ctx := c.context()
	if ctx.lineWidth.Points() <= 0 {
		return
	}
	c.path(p, func(s *styleWriter) {
		s.elm("fill", "#000000", "none")
		s.elm("stroke", "none", svgColor(ctx.color))
		s.elmG5("stroke-opacity", "1", svgAlpha(ctx.color))
		s.elmG5("stroke-width", "1", ctx.lineWidth.Points())
		s.elm("stroke-dasharray", "none", c.dashArray())
		s.elmG5("stroke-dashoffset", "0", ctx.dashOffset.Points())
	})
}

func (c *svgCanvas) Fill(p vg.Path) {
	ctx := c.context()
	c.path(p, func(s *styleWriter) {
		s.elm("fill", "#000000", svgColor(ctx.color))
		s.elmG5("fill-opacity", "1", svgAlpha(ctx.color))
	})
}

func (c *svgCanvas) dashArray() string {
	d := c.context().dashArray
	if len(d) == 0 {
		return "none"
	}
	var b []byte
	for i, l := range d {
		b = appendG5(b, l.Points())
		if i < len(d)-1 {
			b = append(b, ',')
		}
	}
	return string(b)
}

func (c *svgCanvas) appendPathData(b []byte, path vg.Path) []byte {
	var x, y float64
	pt := func(b []byte, cmd byte, px, py float64) []byte {
		if cmd != 0 {
			b = append(b, cmd)
		}
		b = appendG5(b, px)
		b = append(b, ',')
		return appendG5(b, py)
	}
	for _, comp := range path {
		switch comp.Type {
		case vg.MoveComp:
			x, y = comp.Pos.X.Points(), comp.Pos.Y.Points()
			b = pt(b, 'M', x, y)
		case vg.LineComp:
			x, y = comp.Pos.X.Points(), comp.Pos.Y.Points()
			b = pt(b, 'L', x, y)
		case vg.ArcComp:
			r := comp.Radius.Points()
			sin, cos := math.Sincos(comp.Start)
			x0 := comp.Pos.X.Points() + r*cos
			y0 := comp.Pos.Y.Points() + r*sin
			if x0 != x || y0 != y {
				b = pt(b, 'L', x0, y0)
			}
			if math.Abs(comp.Angle) >= 2*math.Pi {
				b, x, y = svgCircle(b, &comp)
			} else {
				b, x, y = svgArc(b, &comp)
			}
		case vg.CurveComp:
			switch len(comp.Control) {
			case 1:
				b = pt(b, 'Q', comp.Control[0].X.Points(), comp.Control[0].Y.Points())
				b = pt(b, ',', comp.Pos.X.Points(), comp.Pos.Y.Points())
			case 2:
				b = pt(b, 'C', comp.Control[0].X.Points(), comp.Control[0].Y.Points())
				b = pt(b, ',', comp.Control[1].X.Points(), comp.Control[1].Y.Points())
				b = pt(b, ',', comp.Pos.X.Points(), comp.Pos.Y.Points())
			default:
				panic("vgsvg: invalid number of control points")
			}
			x, y = comp.Pos.X.Points(), comp.Pos.Y.Points()
		case vg.CloseComp:
			b = append(b, 'Z')
		default:
			panic(fmt.Sprintf("vgsvg: unknown path component type: %d", comp.Type))
		}
	}
	return b
}

// appendSVGArcTo appends "A r,r 0 large sweep x,y".
func appendSVGArcTo(b []byte, r float64, large, sweep int, x, y float64) []byte {
	b = append(b, 'A')
	b = appendG5(b, r)
	b = append(b, ',')
	b = appendG5(b, r)
	b = append(b, " 0 "...)
	b = strconv.AppendInt(b, int64(large), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(sweep), 10)
	b = append(b, ' ')
	b = appendG5(b, x)
	b = append(b, ',')
	return appendG5(b, y)
}

// svgCircle is vgsvg's circle: two arcs (SVG refuses an arc whose ends
// meet).
func svgCircle(b []byte, comp *vg.PathComp) ([]byte, float64, float64) {
	angle := 2 * math.Pi
	if comp.Angle < 0 {
		angle = -2 * math.Pi
	}
	angle += (comp.Angle/(2*math.Pi) - math.Trunc(comp.Angle/(2*math.Pi))) * (2 * math.Pi)
	if angle >= 4*math.Pi {
		panic("Impossible angle")
	}
	s0, c0 := math.Sincos(comp.Start + 0.5*angle)
	s1, c1 := math.Sincos(comp.Start + angle)
	r := comp.Radius.Points()
	x0 := comp.Pos.X.Points() + r*c0
	y0 := comp.Pos.Y.Points() + r*s0
	x := comp.Pos.X.Points() + r*c1
	y := comp.Pos.Y.Points() + r*s1
	b = appendSVGArcTo(b, r, svgLarge(angle/2), svgSweep(angle/2), x0, y0)
	b = appendSVGArcTo(b, r, svgLarge(angle/2), svgSweep(angle/2), x, y)
	return b, x, y
}

func svgArc(b []byte, comp *vg.PathComp) ([]byte, float64, float64) {
	r := comp.Radius.Points()
	sin, cos := math.Sincos(comp.Start + comp.Angle)
	x := comp.Pos.X.Points() + r*cos
	y := comp.Pos.Y.Points() + r*sin
	return appendSVGArcTo(b, r, svgLarge(comp.Angle), svgSweep(comp.Angle), x, y), x, y
}

func svgSweep(a float64) int {
	if a < 0 {
		return 0
	}
	return 1
}

func svgLarge(a float64) int {
	if math.Abs(a) >= math.Pi {
		return 1
	}
	return 0
}

// FillString draws str at pt, escaped with html.EscapeString.
func (c *svgCanvas) FillString(f font.Face, pt vg.Point, str string) {
	c.buf = append(c.buf, `<text x="`...)
	c.buf = appendG5(c.buf, pt.X.Points())
	c.buf = append(c.buf, `" y="`...)
	c.buf = appendG5(c.buf, -pt.Y.Points())
	c.buf = append(c.buf, `" transform="scale(1, -1)"`...)
	// The style always has the font description, so the attribute is
	// never empty.
	c.buf = append(c.buf, "\n\t"...)
	var sw styleWriter
	sw.begin(c.buf)
	sw.sep()
	sw.b = append(sw.b, svgFontDescr(f)...)
	var tmp [32]byte
	sw.elm("font-size", "medium", string(append(appendG5(tmp[:0], f.Font.Size.Points()), "px"...)))
	sw.elm("fill", "#000000", svgColor(c.context().color))
	c.buf, _ = sw.end()
	c.buf = append(c.buf, '>')
	c.buf = append(c.buf, html.EscapeString(str)...)
	c.buf = append(c.buf, "</text>\n"...)
}

// DrawImage is vgsvg's (the report's charts draw no image).
func (c *svgCanvas) DrawImage(rect vg.Rectangle, img image.Image) {
	buf := new(bytes.Buffer)
	if err := png.Encode(buf, img); err != nil {
		panic(fmt.Errorf("vgsvg: error encoding image to PNG: %+v", err))
	}
	str := "data:image/jpg;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())
	rsz := rect.Size()
	mn := rect.Min
	width, height, xmin, ymin := rsz.X.Points(), rsz.Y.Points(), mn.X.Points(), mn.Y.Points()
	c.buf = fmt.Appendf(c.buf, `<image x="%v" y="%v" width="%v" height="%v" xlink:href="%s" %s />`+"\n",
		xmin, -ymin-height, width, height, str, `transform="scale(1, -1)"`)
}

// WriteTo writes the SVG document.
func (c *svgCanvas) WriteTo(w io.Writer) (int64, error) {
	var b bytes.Buffer
	b.Grow(len(c.buf) + 512)
	fmt.Fprintf(&b, `<?xml version="1.0"?>
<!-- Generated by SVGo and Plotinum VG -->
<svg width="%.*gpt" height="%.*gpt" viewBox="0 0 %.*g %.*g"
	xmlns="http://www.w3.org/2000/svg"
	xmlns:xlink="http://www.w3.org/1999/xlink">`+"\n",
		svgPrec, c.w, svgPrec, c.h, svgPrec, c.w, svgPrec, c.h)
	b.Write(c.buf)
	n := 1 // the transform that moves the origin
	for _, ctx := range c.stack {
		n += ctx.gEnds
	}
	for range n {
		b.WriteString("</g>\n")
	}
	b.WriteString("</svg>\n")
	return b.WriteTo(w)
}

// svgColors caches vgsvg's colour strings by RGBA value.
var svgColors sync.Map // [4]uint32 → string

// svgColor is vgsvg's colorString: #RRGGBB of the un-premultiplied colour.
func svgColor(clr color.Color) string {
	if clr == nil {
		clr = color.Black
	}
	r, g, b, a := clr.RGBA()
	key := [4]uint32{r, g, b, a}
	if s, ok := svgColors.Load(key); ok {
		return s.(string)
	}
	k := 255.0 / float64(a)
	s := fmt.Sprintf("#%02X%02X%02X", int(float64(r)*k), int(float64(g)*k), int(float64(b)*k))
	svgColors.Store(key, s)
	return s
}

// svgAlpha is the opacity vgsvg writes.
func svgAlpha(clr color.Color) float64 {
	if clr == nil {
		clr = color.Black
	}
	_, _, _, a := clr.RGBA()
	return float64(a) / math.MaxUint16
}

// svgFonts caches font descriptions by font (size aside).
var svgFonts sync.Map // font.Font with Size 0 → string

// svgFontDescr is vgsvg's font description.
func svgFontDescr(f font.Face) string {
	key := f.Font
	key.Size = 0
	if s, ok := svgFonts.Load(key); ok {
		return s.(string)
	}
	var buf sfnt.Buffer
	family, err := f.Face.Name(&buf, sfnt.NameIDFamily)
	if err != nil {
		panic(fmt.Errorf("vgsvg: could not extract family name from font %q: %+v", f.Font.Typeface, err))
	}
	s := "font-family:" + family + ";" +
		"font-variant:" + svgVariantName(f.Font.Variant) + ";" +
		"font-weight:" + svgWeightName(f.Font.Weight) + ";" +
		"font-style:" + svgStyleName(f.Font.Style)
	svgFonts.Store(key, s)
	return s
}

func svgVariantName(v font.Variant) string {
	str := strings.ToLower(string(v))
	switch str {
	case "smallcaps":
		return "small-caps"
	case "mono", "monospace", "sans", "sansserif", "sans-serif", "serif":
		return "normal"
	case "":
		return "none"
	default:
		return str
	}
}

func svgStyleName(sty xfnt.Style) string {
	switch sty {
	case xfnt.StyleNormal:
		return "normal"
	case xfnt.StyleItalic:
		return "italic"
	case xfnt.StyleOblique:
		return "oblique"
	default:
		panic(fmt.Errorf("vgsvg: invalid font style %+v (v=%d)", sty, int(sty)))
	}
}

func svgWeightName(w xfnt.Weight) string {
	switch w {
	case xfnt.WeightThin:
		return "100"
	case xfnt.WeightExtraLight:
		return "200"
	case xfnt.WeightLight:
		return "300"
	case xfnt.WeightNormal:
		return "normal"
	case xfnt.WeightMedium:
		return "500"
	case xfnt.WeightSemiBold:
		return "600"
	case xfnt.WeightBold:
		return "bold"
	case xfnt.WeightExtraBold:
		return "800"
	case xfnt.WeightBlack:
		return "900"
	default:
		panic(fmt.Errorf("vgsvg: invalid font weight %+v (v=%d)", w, int(w)))
	}
}
