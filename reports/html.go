package reports

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"io"
	"strconv"
	"strings"
)

// WriteHTML writes report.html: one self-contained page (inline CSS and
// SVG, no script, no network) with the scenario and its settings, the
// headline metrics, the charts and the tables of report.md. The same run
// gives the same bytes.
func WriteHTML(ctx context.Context, w io.Writer, r *Run, s *Summary) error {
	return writeHTML(ctx, w, r, s, buildReportContent(r, s))
}

func writeHTML(ctx context.Context, w io.Writer, r *Run, s *Summary, c reportContent) error {
	charts, err := runCharts(ctx, r)
	if err != nil {
		return err
	}
	if r.HasAttribution {
		fig, err := attributionChart(s)
		if err != nil {
			return err
		}
		charts = append(charts, fig)
	}
	page := htmlPage{
		Title:       c.Title,
		Description: c.Description,
		Facts:       c.Facts,
		Headline:    c.Headline,
		Charts:      charts,
		YAML:        c.YAML,
	}
	for _, t := range c.Tables {
		page.Tables = append(page.Tables, htmlTableOf(t))
	}
	return renderPage(w, page)
}

// WriteCompareHTML writes a page comparing runs: their equity curves and
// drawdowns overlaid (one line per run) and a table of the headline metrics
// with a column for each setting that differs (settings: dotted keys of the
// resolved scenario).
func WriteCompareHTML(ctx context.Context, w io.Writer, runs []*Run, sums []*Summary, settings []string) error {
	if len(runs) != len(sums) {
		return fmt.Errorf("reports: compare: %d runs but %d summaries", len(runs), len(sums))
	}
	if len(runs) == 0 {
		return errors.New("reports: compare: no runs")
	}
	charts, err := compareCharts(runs)
	if err != nil {
		return err
	}
	land, err := landscapeCharts(runs, sums, settings)
	if err != nil {
		return err
	}
	charts = append(charts, land...)
	t := reportTable{ID: "compare", Title: "Runs", Head: []string{"run", "scenario"}, Right: []bool{false, false}}
	for _, k := range settings {
		t.Head, t.Right = append(t.Head, k), append(t.Right, false)
	}
	for _, m := range headlineMetrics(sums[0]) {
		t.Head, t.Right = append(t.Head, m.Label), append(t.Right, true)
	}
	for i, r := range runs {
		row := []string{r.Meta.RunID, r.Meta.Scenario}
		for _, k := range settings {
			row = append(row, settingText(lookup(r.Scenario, k)))
		}
		for _, m := range headlineMetrics(sums[i]) {
			row = append(row, m.Value)
		}
		t.Rows = append(t.Rows, row)
	}
	page := htmlPage{
		Title:       fmt.Sprintf("Comparison of %d runs", len(runs)),
		Description: "Equity and drawdown of each run, overlaid, and the headline metrics side by side.",
		Charts:      charts,
		Tables:      []htmlTable{htmlTableOf(t)},
	}
	// Key the legend: the line colour of each run.
	for i := range page.Tables[0].Rows {
		page.Tables[0].Rows[i][0].Swatch = colorCSS(i)
	}
	page.Tables[0].Body = tableBody(page.Tables[0].Rows) // "": swatches are the template's
	return renderPage(w, page)
}

func colorCSS(i int) string {
	c := chartPalette[i%len(chartPalette)]
	return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B)
}

// settingText shows a scenario value in a table cell.
func settingText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	return fmt.Sprint(v) // fmt prints maps with sorted keys
}

type htmlPage struct {
	Title, Description string
	Facts, Headline    []headMetric
	Charts             []chartFig
	Tables             []htmlTable
	YAML               string
}

type htmlCell struct {
	Text   string
	Num    bool
	Swatch string // a colour key before the text (compare)
}

type htmlTable struct {
	ID, Title, Note string
	Details         bool
	Wide            bool // spans the page: many columns
	Head            []htmlCell
	Rows            [][]htmlCell
	// Body is Rows rendered (tableBody) when no cell has a Swatch: a long
	// table through the template's reflection cost more than the rest of
	// the page. Empty: the template renders Rows.
	Body template.HTML
}

func htmlTableOf(t reportTable) htmlTable {
	h := htmlTable{ID: "table-" + t.ID, Title: t.Title, Note: t.Note, Details: t.Details, Wide: len(t.Head) > 4}
	right := func(i int) bool { return i < len(t.Right) && t.Right[i] }
	for i, c := range t.Head {
		h.Head = append(h.Head, htmlCell{Text: c, Num: right(i)})
	}
	for _, row := range t.Rows {
		cells := make([]htmlCell, len(row))
		for i, c := range row {
			cells[i] = htmlCell{Text: c, Num: right(i)}
		}
		h.Rows = append(h.Rows, cells)
	}
	h.Body = tableBody(h.Rows)
	return h
}

// tableBody renders rows as the "table" template does ("\n<tr><td>…</td></tr>"
// a row, cells escaped as html/template escapes text), or "" when a cell
// has a Swatch (a CSS value in an attribute: left to the template).
func tableBody(rows [][]htmlCell) template.HTML {
	n := 0
	for _, row := range rows {
		for _, c := range row {
			if c.Swatch != "" {
				return ""
			}
			n += len(c.Text) + 24
		}
		n += 10
	}
	b := make([]byte, 0, n)
	for _, row := range rows {
		b = append(b, "\n<tr>"...)
		for _, c := range row {
			if c.Num {
				b = append(b, `<td class="num">`...)
			} else {
				b = append(b, "<td>"...)
			}
			b = appendHTMLText(b, c.Text)
			b = append(b, "</td>"...)
		}
		b = append(b, "</tr>"...)
	}
	return template.HTML(b)
}

// htmlTextEscapes are html/template's replacements in text and quoted
// attribute values (its htmlReplacementTable).
var htmlTextEscapes = [...]string{
	0:    "\uFFFD",
	'"':  "&#34;",
	'&':  "&amp;",
	'\'': "&#39;",
	'+':  "&#43;",
	'<':  "&lt;",
	'>':  "&gt;",
}

// appendHTMLText appends s escaped as html/template escapes a string in
// a text node: the runes of htmlTextEscapes replaced, every other byte
// (invalid UTF-8 too) kept.
func appendHTMLText(b []byte, s string) []byte {
	written := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if int(c) < len(htmlTextEscapes) && htmlTextEscapes[c] != "" {
			b = append(b, s[written:i]...)
			b = append(b, htmlTextEscapes[c]...)
			written = i + 1
		}
	}
	return append(b, s[written:]...)
}

func renderPage(w io.Writer, p htmlPage) error {
	var b bytes.Buffer
	if err := pageTemplate.Execute(&b, p); err != nil {
		return fmt.Errorf("reports: html: %w", err)
	}
	_, err := w.Write(b.Bytes())
	return err
}

var pageTemplate = template.Must(template.New("page").Parse(strings.TrimSpace(`
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>{{.Title}} · backtest report</title>
<style>`+pageCSS+`</style>
</head>
<body>
<header>
<h1>{{.Title}}</h1>
{{if .Description}}<p class="desc">{{.Description}}</p>{{end}}
{{if .Facts}}<dl class="facts">{{range .Facts}}<div><dt>{{.Label}}</dt><dd><code>{{.Value}}</code></dd></div>{{end}}</dl>{{end}}
</header>
<main>
{{if .Headline}}<section id="headline">
<h2>Headline</h2>
<div class="cards">{{range .Headline}}
<div class="card"><div class="label">{{.Label}}</div><div class="value">{{.Value}}</div></div>{{end}}
</div>
</section>{{end}}
<section id="charts">
<h2>Charts</h2>{{range .Charts}}
<figure class="chart" id="{{.ID}}">
<figcaption><strong>{{.Title}}.</strong> {{.Caption}}</figcaption>
{{.SVG}}</figure>{{end}}
</section>
<section id="tables">
<h2>Tables</h2>
<div class="tables">{{range .Tables}}{{if not .Details}}
{{template "table" .}}{{end}}{{end}}
</div>{{range .Tables}}{{if .Details}}
<details class="long" id="{{.ID}}-details"><summary>{{.Title}} ({{len .Rows}} rows)</summary>
{{template "table" .}}
</details>{{end}}{{end}}
</section>
{{if .YAML}}<section id="settings">
<h2>Settings</h2>
<details><summary>Resolved scenario (YAML)</summary>
<pre>{{.YAML}}</pre>
</details>
</section>{{end}}
</main>
<footer>Generated by backtest. Times in the session's time zone.</footer>
</body>
</html>
{{define "table"}}<div class="table{{if .Wide}} wide{{end}}" id="{{.ID}}">
<h3>{{.Title}}</h3>
<table>
<thead><tr>{{range .Head}}<th{{if .Num}} class="num"{{end}}>{{.Text}}</th>{{end}}</tr></thead>
<tbody>{{if .Body}}{{.Body}}{{else}}{{range .Rows}}
<tr>{{range .}}<td{{if .Num}} class="num"{{end}}>{{if .Swatch}}<span class="swatch" style="background: {{.Swatch}}"></span>{{end}}{{.Text}}</td>{{end}}</tr>{{end}}{{end}}
</tbody>
</table>{{if not .Rows}}
<p class="none">none</p>{{end}}{{if .Note}}
<p class="note">{{.Note}}</p>{{end}}
</div>{{end}}
`) + "\n"))

const pageCSS = `
:root { --fg: #1d2330; --muted: #5b6475; --line: #dde1e8; --bg: #ffffff; --panel: #f6f7f9; --accent: #0072b2; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1180px; padding: 24px 28px 48px; color: var(--fg); background: var(--bg);
  font: 14px/1.45 -apple-system, "Segoe UI", Roboto, "Liberation Sans", Arial, Helvetica, sans-serif; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 28px 0 12px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 14px; margin: 0 0 6px; }
.desc { color: var(--muted); margin: 0 0 12px; font-size: 15px; }
.facts { display: flex; flex-wrap: wrap; gap: 4px 20px; margin: 0; font-size: 12px; color: var(--muted); }
.facts div { display: flex; gap: 6px; min-width: 0; }
.facts dt { font-weight: 600; }
.facts dd { margin: 0; overflow-wrap: anywhere; }
code, pre { font-family: "Liberation Mono", Menlo, Consolas, monospace; font-size: 12px; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(210px, 1fr)); gap: 10px; }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; }
.card .label { font-size: 12px; color: var(--muted); text-transform: uppercase; letter-spacing: .03em; }
.card .value { font-size: 18px; font-weight: 600; font-variant-numeric: tabular-nums; }
figure.chart { margin: 0 0 18px; padding: 8px 10px 4px; border: 1px solid var(--line); border-radius: 6px; }
figure.chart figcaption { font-size: 12px; color: var(--muted); margin-bottom: 2px; }
figure.chart figcaption strong { color: var(--fg); }
figure.chart svg { display: block; width: 100%; height: auto; }
.tables { display: grid; grid-template-columns: repeat(auto-fill, minmax(340px, 1fr)); gap: 18px; align-items: start; }
.table { overflow-x: auto; }
.table.wide { grid-column: 1 / -1; }
.table.wide td { white-space: nowrap; }
table { border-collapse: collapse; width: 100%; font-size: 13px; font-variant-numeric: tabular-nums; }
th, td { padding: 4px 8px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { background: var(--panel); font-weight: 600; white-space: nowrap; }
td.num, th.num { text-align: right; white-space: nowrap; }
tbody tr:nth-child(even) td { background: #fafbfc; }
details.long { margin-top: 18px; }
details summary { cursor: pointer; font-weight: 600; margin-bottom: 6px; }
pre { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; overflow: auto; max-height: 600px; }
.note, .none { color: var(--muted); font-size: 12px; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 6px; vertical-align: baseline; }
footer { margin-top: 36px; color: var(--muted); font-size: 12px; }
@media print { details { display: block; } body { max-width: none; } }
`
