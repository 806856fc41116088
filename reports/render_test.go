package reports_test

import (
	"bytes"
	"context"
	"flag"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/optionsrisk/backtest/internal/runner"
	"github.com/optionsrisk/backtest/reports"
	"github.com/optionsrisk/backtest/scenarios"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// fixedClock is the wall clock of fixture runs, so that run.json is the
// same on every run (the reports must not show it anyway).
func fixedClock() time.Time { return time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC) }

// fixtureRun replays testdata/small.yaml (one week, a broker that rejects
// often: every risk layer acts) into a temp folder and loads it.
func fixtureRun(t *testing.T, runID string, sets ...string) (*reports.Run, *reports.Summary) {
	t.Helper()
	ctx := context.Background()
	l, err := scenarios.Load("testdata/small.yaml", sets)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	o, err := runner.Run(ctx, runner.Options{Scenario: l, OutDir: out, RunID: runID, Now: fixedClock})
	if err != nil {
		t.Fatal(err)
	}
	r, err := reports.Load(ctx, o.RunDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	s, err := reports.Summarize(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	return r, s
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		for i := range max(len(gl), len(wl)) {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("%s differs from the output (-update rewrites it); first difference at line %d:\n got: %q\nwant: %q", path, i+1, g, w)
			}
		}
		t.Fatalf("%s differs from the output", path)
	}
}

func TestMarkdownGolden(t *testing.T) {
	r, s := fixtureRun(t, "golden")
	var b bytes.Buffer
	if err := reports.WriteMarkdown(&b, r, s); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	// The Markdown report is for pull requests: no wall-clock values.
	for _, wall := range []string{"2024-01-02", "03:04:05", r.Meta.Started, r.Meta.Version} {
		if wall != "" && strings.Contains(md, wall) {
			t.Errorf("report.md contains the wall-clock value %q", wall)
		}
	}
	golden(t, "report.golden.md", b.Bytes())
}

func TestSummaryResultsGolden(t *testing.T) {
	_, s := fixtureRun(t, "golden")
	golden(t, "summary_results.golden.json", reports.Encode(s.Results))
}

// The summary's events equal a GROUP BY on the run's risk_events table.
func TestSummaryEventCountsMatchTable(t *testing.T) {
	r, s := fixtureRun(t, "golden")
	rows, err := r.DB.QueryContext(context.Background(), `SELECT component, event_type, count(*) FROM risk_events GROUP BY ALL`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	sql := map[string]int64{}
	var total int64
	for rows.Next() {
		var comp, typ string
		var n int64
		if err := rows.Scan(&comp, &typ, &n); err != nil {
			t.Fatal(err)
		}
		sql[comp+"/"+typ] = n
		total += n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if total == 0 {
		t.Fatal("fixture run has no risk events")
	}
	got := map[string]int64{}
	events, ok := s.Results["events"].(reports.Object)
	if !ok {
		t.Fatalf("results.events is %T", s.Results["events"])
	}
	for comp, v := range events {
		m, ok := v.(reports.Object)
		if !ok {
			t.Fatalf("results.events.%s is %T", comp, v)
		}
		for typ, n := range m {
			got[comp+"/"+typ] = n.(int64)
		}
	}
	for k, n := range sql {
		if got[k] != n {
			t.Errorf("events %s: summary %d, table %d", k, got[k], n)
		}
	}
	for k, n := range got {
		if _, ok := sql[k]; !ok {
			t.Errorf("events %s: summary %d, not in the table", k, n)
		}
	}
}

// chartIDs are the charts every run report has.
var chartIDs = []string{"chart-equity", "chart-drawdown", "chart-underlying", "chart-breaker", "chart-limits", "chart-events", "chart-attribution"}

func renderHTML(t *testing.T, r *reports.Run, s *reports.Summary) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := reports.WriteHTML(context.Background(), &b, r, s); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// checkSelfContained fails on any network reference: only the SVG
// namespace may name a URL, and only data: links are allowed.
func checkSelfContained(t *testing.T, html string) {
	t.Helper()
	rest := strings.ReplaceAll(html, `xmlns="http://www.w3.org/2000/svg"`, "")
	for _, ref := range []string{"http://", "https://", "//fonts.", "@import", "<script", "<link rel=\"stylesheet\"", "<img", "<iframe"} {
		if i := strings.Index(rest, ref); i >= 0 {
			t.Errorf("report references %q: ...%s...", ref, rest[max(0, i-60):min(len(rest), i+60)])
		}
	}
	for _, m := range regexp.MustCompile(`(?:src|href)\s*=\s*"([^"]*)"`).FindAllStringSubmatch(rest, -1) {
		if !strings.HasPrefix(m[1], "data:") && !strings.HasPrefix(m[1], "#") {
			t.Errorf("report links to %q", m[1])
		}
	}
}

func checkCharts(t *testing.T, html string, ids []string) {
	t.Helper()
	for _, id := range ids {
		re := regexp.MustCompile(`<figure class="chart" id="` + id + `">\s*<figcaption>[^\n]*</figcaption>\s*<svg `)
		if !re.MatchString(html) {
			t.Errorf("no <figure class=\"chart\" id=%q> with an <svg>", id)
		}
	}
	if n := strings.Count(html, `<figure class="chart"`); n != len(ids) {
		t.Errorf("%d charts, want %d", n, len(ids))
	}
}

func TestHTMLReport(t *testing.T) {
	r, s := fixtureRun(t, "golden")
	first := renderHTML(t, r, s)
	html := string(first)
	if second := renderHTML(t, r, s); !bytes.Equal(first, second) {
		t.Fatal("two renders of the same run differ")
	}
	// A second load of the folder (a fresh DuckDB) gives the same bytes.
	r2, err := reports.Load(context.Background(), r.Dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	s2, err := reports.Summarize(context.Background(), r2)
	if err != nil {
		t.Fatal(err)
	}
	if third := renderHTML(t, r2, s2); !bytes.Equal(first, third) {
		t.Fatal("a fresh load of the run renders differently")
	}
	keep(t, "report.html", html)
	checkSelfContained(t, html)
	checkCharts(t, html, chartIDs)

	// Same headline numbers as report.md.
	var md bytes.Buffer
	if err := reports.WriteMarkdown(&md, r, s); err != nil {
		t.Fatal(err)
	}
	for _, row := range regexp.MustCompile(`(?m)^\| ([A-Z][^|]+) \| ([^|]+) \|$`).FindAllStringSubmatch(md.String(), -1) {
		label := strings.ReplaceAll(strings.TrimSpace(row[1]), "&", "&amp;")
		value := strings.TrimSpace(row[2])
		if !strings.Contains(html, `<div class="label">`+label+`</div><div class="value">`+value+`</div>`) {
			t.Errorf("headline %q = %q of report.md is not in report.html", label, value)
		}
	}
	if got := strings.Count(md.String(), "\n| "); got < 10 {
		t.Errorf("report.md has only %d table rows", got)
	}
	for _, want := range []string{"<pre>", "seed: 42", `id="table-trades"`, `id="headline"`, "Stop triggers", "Breaker trips", "Limit rejections"} {
		if !strings.Contains(html, want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	// No chart is bloated: every series is downsampled.
	if len(first) > 1<<20 {
		t.Errorf("report.html is %d bytes", len(first))
	}
}

// Everything from data is escaped, in both renderers.
func TestReportsEscapeData(t *testing.T) {
	r, s := fixtureRun(t, "escape")
	evil := `<script>alert("x")</script> & | pipes`
	r.Scenario["description"] = evil
	r.YAML = append(r.YAML, []byte("# </pre><script>bad()</script>\n")...)
	r.Fills[0].ExecutionID = "<b>id|x</b>"
	html := string(renderHTML(t, r, s))
	if strings.Contains(html, "<script") || strings.Contains(html, "<b>id") {
		t.Error("report.html does not escape data")
	}
	if !strings.Contains(html, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; | pipes") {
		t.Error("report.html lost the escaped description")
	}
	var md bytes.Buffer
	if err := reports.WriteMarkdown(&md, r, s); err != nil {
		t.Fatal(err)
	}
	// Outside the fenced YAML, no raw HTML from data and no unescaped pipe
	// in a table row.
	text, _, _ := strings.Cut(md.String(), "```yaml")
	if strings.Contains(text, "<script") || strings.Contains(text, "<b>") {
		t.Error("report.md does not escape HTML from data")
	}
	if !strings.Contains(text, `&lt;b&gt;id\|x&lt;/b&gt;`) {
		t.Error("report.md does not escape a table cell")
	}
}

func TestCompareHTML(t *testing.T) {
	ra, sa := fixtureRun(t, "trail-20")
	rb, sb := fixtureRun(t, "trail-5", "risk.trailing_stop.trail_pct=5")
	render := func() string {
		var b bytes.Buffer
		err := reports.WriteCompareHTML(context.Background(), &b, []*reports.Run{ra, rb}, []*reports.Summary{sa, sb}, []string{"risk.trailing_stop.trail_pct"})
		if err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	html := render()
	if html != render() {
		t.Fatal("two renders differ")
	}
	keep(t, "compare.html", html)
	checkSelfContained(t, html)
	checkCharts(t, html, []string{"chart-equity", "chart-drawdown", "chart-landscape-pnl-total", "chart-landscape-drawdown-max_pct",
		"chart-landscape-ratios-sharpe", "chart-landscape-attribution-trailing_stop-saved",
		"chart-landscape-attribution-portfolio_limits-saved", "chart-landscape-attribution-circuit_breaker-saved"})
	// One line per run in each chart, named in its legend.
	for _, id := range []string{"chart-equity", "chart-drawdown"} {
		_, fig, _ := strings.Cut(html, `id="`+id+`"`)
		fig, _, _ = strings.Cut(fig, "</figure>")
		for _, run := range []string{"trail-20", "trail-5"} {
			if !strings.Contains(fig, ">"+run+"<") {
				t.Errorf("%s has no legend entry for %s", id, run)
			}
		}
	}
	for _, want := range []string{"<th>risk.trailing_stop.trail_pct</th>", "<td>20</td>", "<td>5</td>"} {
		if !strings.Contains(html, want) {
			t.Errorf("compare table lacks %s", want)
		}
	}
	if err := reports.WriteCompareHTML(context.Background(), &bytes.Buffer{}, []*reports.Run{ra}, nil, nil); err == nil {
		t.Error("mismatched runs and summaries: no error")
	}
}

// A long run keeps its charts small: series are downsampled to at most
// ~2000 points, deterministically.
func TestHTMLDownsamplesLongSeries(t *testing.T) {
	r, s := fixtureRun(t, "long")
	base := r.Equity
	if len(base) < 2 {
		t.Fatal("fixture has no equity")
	}
	step := base[1].Time.Sub(base[0].Time)
	long := make([]reports.EquityPoint, 0, 50000)
	for i := range 50000 {
		p := base[i%len(base)]
		p.Time = base[0].Time.Add(time.Duration(i) * step)
		p.Equity = 50000 + 1000*math.Sin(float64(i)/300)
		if i == 31337 {
			p.Equity = 20000 // a spike that downsampling must keep
		}
		long = append(long, p)
	}
	r.Equity = long
	html := string(renderHTML(t, r, s))
	if html != string(renderHTML(t, r, s)) {
		t.Fatal("two renders differ")
	}
	_, fig, _ := strings.Cut(html, `id="chart-equity"`)
	fig, _, _ = strings.Cut(fig, "</figure>")
	var longest int
	for _, d := range regexp.MustCompile(` d="([^"]*)"`).FindAllStringSubmatch(fig, -1) {
		longest = max(longest, strings.Count(d[1], "L"))
	}
	if longest > 2100 || longest < 1000 {
		t.Errorf("longest equity path has %d segments, want about 2000", longest)
	}
	if len(html) > 2<<20 {
		t.Errorf("report.html is %d bytes for a 50000-point run", len(html))
	}
	// The spike to 20000 survives: the y axis reaches below 25000.
	if !slices.ContainsFunc([]string{">20,000<", ">22,500<", ">25,000<", ">21,000<"}, func(s string) bool { return strings.Contains(fig, s) }) {
		t.Logf("equity axis labels: %v", regexp.MustCompile(`>([\d,]+)<`).FindAllString(fig, -1))
		t.Error("the equity spike was dropped by downsampling")
	}
}

// keep writes a rendered page into $REPORT_HTML_DIR, when set, to look at.
func keep(t *testing.T, name, content string) {
	if d := os.Getenv("REPORT_HTML_DIR"); d != "" {
		if err := os.WriteFile(filepath.Join(d, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRenderRunDir renders the run folder $REPORT_RUN_DIR into
// $REPORT_HTML_DIR, to look at a real run's report (skipped when unset).
func TestRenderRunDir(t *testing.T) {
	dir, out := os.Getenv("REPORT_RUN_DIR"), os.Getenv("REPORT_HTML_DIR")
	if dir == "" || out == "" {
		t.Skip("set REPORT_RUN_DIR and REPORT_HTML_DIR")
	}
	r, err := reports.Load(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	s, err := reports.Summarize(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	html := renderHTML(t, r, s)
	t.Logf("report.html: %d bytes in %v", len(html), time.Since(start))
	keep(t, "run.html", string(html))
	var md bytes.Buffer
	if err := reports.WriteMarkdown(&md, r, s); err != nil {
		t.Fatal(err)
	}
	keep(t, "run.md", md.String())
}
