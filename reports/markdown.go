package reports

import (
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// maxTradeRows bounds the trades table of a report; the rest is counted in
// a note (the summary has the totals).
const maxTradeRows = 1000

// headMetric is one headline number, formatted for people.
type headMetric struct{ Label, Value string }

// reportTable is one table of a report. Markdown and HTML render the same Tables,
// so the two reports always show the same numbers.
type reportTable struct {
	ID      string // stable, for links and tests
	Title   string
	Head    []string
	Right   []bool // right-align the column (numbers)
	Rows    [][]string
	Note    string // under the table, e.g. rows left out
	Details bool   // long: folded by default
}

// reportContent is everything a run's report says, before rendering.
type reportContent struct {
	Title       string
	Description string
	Facts       []headMetric // run id, scenario, seed, config hash: no wall clock
	Headline    []headMetric
	Tables      []reportTable
	YAML        string
}

// WriteMarkdown writes report.md: the headline and tables of report.html
// (without charts), for pull requests. It holds no wall-clock values.
func WriteMarkdown(w io.Writer, r *Run, s *Summary) error {
	return writeMarkdown(w, buildReportContent(r, s))
}

func writeMarkdown(w io.Writer, c reportContent) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n", mdLine(c.Title))
	if c.Description != "" {
		fmt.Fprintf(&b, "%s\n\n", mdText(c.Description))
	}
	for _, f := range c.Facts {
		fmt.Fprintf(&b, "- %s: `%s`\n", f.Label, mdCode(f.Value))
	}
	b.WriteString("\n## Headline\n\n")
	mdTable(&b, reportTable{Head: []string{"metric", "value"}, Right: []bool{false, true}, Rows: metricRows(c.Headline)})
	for _, t := range c.Tables {
		fmt.Fprintf(&b, "\n## %s\n\n", mdLine(t.Title))
		if t.Details {
			fmt.Fprintf(&b, "<details><summary>%d rows</summary>\n\n", len(t.Rows))
		}
		mdTable(&b, t)
		if t.Details {
			b.WriteString("\n</details>\n")
		}
		if t.Note != "" {
			fmt.Fprintf(&b, "\n%s\n", mdText(t.Note))
		}
	}
	b.WriteString("\n## Settings\n\n<details><summary>resolved scenario</summary>\n\n")
	fence := "```"
	for strings.Contains(c.YAML, fence) {
		fence += "`"
	}
	fmt.Fprintf(&b, "%syaml\n%s", fence, c.YAML)
	if !strings.HasSuffix(c.YAML, "\n") {
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "%s\n\n</details>\n", fence)
	_, err := io.WriteString(w, b.String())
	return err
}

type inlineEscaper struct{ r *strings.Replacer }

func (e inlineEscaper) Replace(s string) string {
	s = e.r.Replace(s)
	if !strings.Contains(s, "_") {
		return s
	}
	alnum := func(i int) bool {
		if i < 0 || i >= len(s) {
			return false
		}
		c := s[i]
		return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '_' && !(alnum(i-1) && alnum(i+1)) {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// mdCode is a value for a one-line code span: no backticks, no line
// breaks.
func mdCode(s string) string {
	return strings.NewReplacer("`", "'", "\r\n", " ", "\n", " ", "\r", " ").Replace(s)
}

func metricRows(ms []headMetric) [][]string {
	rows := make([][]string, len(ms))
	for i, m := range ms {
		rows[i] = []string{m.Label, m.Value}
	}
	return rows
}

func mdTable(b *strings.Builder, t reportTable) {
	if len(t.Rows) == 0 {
		b.WriteString("(none)\n")
		return
	}
	b.WriteString("|")
	for _, h := range t.Head {
		b.WriteString(" " + mdCell(h) + " |")
	}
	b.WriteString("\n|")
	for i := range t.Head {
		if i < len(t.Right) && t.Right[i] {
			b.WriteString("---:|")
		} else {
			b.WriteString("---|")
		}
	}
	b.WriteString("\n")
	for _, row := range t.Rows {
		b.WriteString("|")
		for _, c := range row {
			b.WriteString(" " + mdCell(c) + " |")
		}
		b.WriteString("\n")
	}
}

// mdCell escapes a table cell: mdText's inline escapes on one line (a cell
// cannot open a block).
// The replacers are built once: a Replacer builds its tables on first use,
// which cost more than the replacing itself on every cell.
var (
	mdOneLine = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ")
	mdAngles  = strings.NewReplacer("<", "&lt;", ">", "&gt;")
)

func mdCell(s string) string {
	s = mdOneLine.Replace(s)
	s = mdEntity.ReplaceAllString(s, "&amp;$1")
	s = mdAngles.Replace(s)
	return mdInline.Replace(s)
}

// mdLine is mdText on one line: line breaks become spaces, so a value can
// never start a block (a heading, a list, a table) of its own.
func mdLine(s string) string {
	return mdText(mdOneLine.Replace(s))
}

// mdText makes a user string (a name, a description, a reason, a --set
// value) render as exactly its text in CommonMark/GFM: inline HTML and
// character references are escaped; the punctuation that makes links,
// images, emphasis, code spans and tables is backslash-escaped; each line
// is left-trimmed (no indented code) and its first character escaped when
// it could open a block (heading, quote, list, thematic break, setext
// underline). Line breaks are kept: a multi-line description stays
// multi-line, its lines plain paragraphs.
func mdText(s string) string {
	s = mdEntity.ReplaceAllString(s, "&amp;$1")
	s = mdAngles.Replace(s)
	s = mdInline.Replace(s)
	lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	for i, l := range lines {
		l = strings.TrimLeft(l, " \t\r")
		if l != "" && strings.ContainsRune("#-+=", rune(l[0])) {
			l = "\\" + l
		}
		lines[i] = mdOrdered.ReplaceAllString(l, "$1\\$2")
	}
	return strings.Join(lines, "\n")
}

var (
	// Escaping [ and ] is enough for links and images: "(" and "!"
	// mean nothing without them.
	// "_" inside a word (half_open) never makes emphasis and stays.
	mdInline = inlineEscaper{strings.NewReplacer(`\`, `\\`, "`", "\\`", "*", `\*`, "[", `\[`, "]", `\]`,
		"|", `\|`, "~", `\~`)}
	mdOrdered = regexp.MustCompile(`^([0-9]{1,9})([.)])`)
)

var mdEntity = regexp.MustCompile(`&([A-Za-z][A-Za-z0-9]*;|#[0-9]+;|#[xX][0-9A-Fa-f]+;)`)

// ---- the shared reportContent ----

// res reads a value of the summary's results by a dotted path.
func resultAt(s *Summary, path string) any {
	var cur any = s.Results
	for _, k := range strings.Split(path, ".") {
		m, ok := asObject(cur)
		if !ok {
			return nil
		}
		cur = m[k]
	}
	return cur
}

func asObject(v any) (Object, bool) {
	switch m := v.(type) {
	case Object:
		return m, true
	case map[string]any:
		return Object(m), true
	}
	return nil, false
}

func resultF(s *Summary, path string) float64 {
	switch x := resultAt(s, path).(type) {
	case float64:
		return x
	case int64:
		return float64(x)
	case int:
		return float64(x)
	}
	return math.NaN()
}

func resultI(s *Summary, path string) int64 {
	switch x := resultAt(s, path).(type) {
	case int64:
		return x
	case int:
		return int64(x)
	case float64:
		return int64(x)
	}
	return 0
}

func resultS(s *Summary, path string) string {
	if x, ok := resultAt(s, path).(string); ok {
		return x
	}
	return ""
}

// sumInts adds the integer values of a results object (e.g. rejections by
// rule).
func resultSum(s *Summary, path string) int64 {
	m, _ := asObject(resultAt(s, path))
	var n int64
	for _, k := range sortedKeysOf(m) {
		if v, ok := m[k].(int64); ok {
			n += v
		}
	}
	return n
}

func sortedKeysOf[M ~map[string]V, V any](m M) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

const naText = "n/a"

// money formats dollars with thousands separators and cents.
func fmtMoney(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return naText
	}
	s := strconv.FormatFloat(math.Abs(f), 'f', 2, 64)
	intPart, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	if f < 0 && s != "0.00" {
		b.WriteByte('-')
	}
	b.WriteByte('$')
	for i, d := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(d)
	}
	return b.String() + "." + frac
}

// fixed formats with d decimals; n/a for NaN and ±Inf.
func fmtFixed(f float64, d int) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return naText
	}
	s := strconv.FormatFloat(f, 'f', d, 64)
	if strings.Trim(s, "-0.") == "" {
		s = strings.TrimPrefix(s, "-")
	}
	return s
}

func fmtPct(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return naText
	}
	return fmtFixed(f, 2) + "%"
}

func fmtPrice(f float64) string { return fmtFixed(f, 2) }

func fmtCount(n int64) string { return strconv.FormatInt(n, 10) }

// headline is the report's headline, in order.
func headlineMetrics(s *Summary) []headMetric {
	closed, open := resultI(s, "trades.closed"), resultI(s, "trades.open")
	return []headMetric{
		{"P&L", fmtMoney(resultF(s, "pnl.total"))},
		{"Return", fmtPct(resultF(s, "pnl.return_pct"))},
		{"Max drawdown", fmtPct(resultF(s, "drawdown.max_pct")) + " (" + fmtMoney(resultF(s, "drawdown.max_dollars")) + ")"},
		{"Sharpe", fmtFixed(resultF(s, "ratios.sharpe"), 2)},
		{"Sortino", fmtFixed(resultF(s, "ratios.sortino"), 2)},
		{"Win rate", fmtPct(resultF(s, "trades.win_rate") * 100)},
		{"Trades", fmt.Sprintf("%d (%d closed, %d open)", closed+open, closed, open)},
		{"Breaker trips", fmtCount(resultI(s, "circuit_breaker.trips"))},
		{"Limit rejections", fmtCount(resultSum(s, "portfolio_limits.rejections"))},
		{"Stop triggers", fmtCount(resultI(s, "trailing_stop.triggered"))},
	}
}

func buildReportContent(r *Run, s *Summary) reportContent {
	c := reportContent{Title: r.Meta.Scenario, YAML: string(r.YAML)}
	if name, ok := lookup(r.Scenario, "name").(string); ok && name != "" {
		c.Title = name
	}
	if c.Title == "" {
		c.Title = r.Meta.RunID
	}
	if d, ok := lookup(r.Scenario, "description").(string); ok {
		c.Description = d
	}
	c.Facts = []headMetric{
		{"run", r.Meta.RunID},
		{"scenario", r.Meta.ScenarioFile},
		{"seed", strconv.FormatUint(r.Meta.Seed, 10)},
		{"config hash", r.Meta.ConfigHash},
	}
	if len(r.Meta.Overrides) > 0 {
		c.Facts = append(c.Facts, headMetric{"overrides", strings.Join(r.Meta.Overrides, " ")})
	}
	if len(r.Equity) > 0 {
		first, last := r.Equity[0].Time.In(r.Loc), r.Equity[len(r.Equity)-1].Time.In(r.Loc)
		c.Facts = append(c.Facts, headMetric{"period", first.Format("2006-01-02 15:04") + " to " + last.Format("2006-01-02 15:04 MST")})
	}
	c.Headline = headlineMetrics(s)
	if r.Meta.Signals != nil && resultI(s, "trades.closed")+resultI(s, "trades.open") == 0 {
		c.Headline = append([]headMetric{{"No trades", r.Meta.Signals.MainReason()}}, c.Headline...)
	}

	c.Tables = append(c.Tables, reportTable{
		ID: "pnl", Title: "P&L and trades", Head: []string{"metric", "value"}, Right: []bool{false, true},
		Rows: [][]string{
			{"capital", fmtMoney(resultF(s, "pnl.capital"))},
			{"final equity", fmtMoney(resultF(s, "pnl.final_equity"))},
			{"trading days", fmtCount(resultI(s, "pnl.days"))},
			{"best day", fmtMoney(resultF(s, "pnl.best_day"))},
			{"worst day", fmtMoney(resultF(s, "pnl.worst_day"))},
			{"longest drawdown (days)", fmtFixed(resultF(s, "drawdown.longest_days"), 1)},
			{"wins / losses", fmt.Sprintf("%d / %d", resultI(s, "trades.wins"), resultI(s, "trades.losses"))},
			{"profit factor", fmtFixed(resultF(s, "trades.profit_factor"), 2)},
			{"average win", fmtMoney(resultF(s, "trades.avg_win"))},
			{"average loss", fmtMoney(resultF(s, "trades.avg_loss"))},
			{"exposure time", fmtPct(resultF(s, "trades.exposure_time_pct"))},
			{"commissions", fmtMoney(resultF(s, "costs.commissions"))},
			{"spread crossing (fills vs mid, slippage included)", fmtMoney(resultF(s, "costs.spread_crossing"))},
			{"legs marked by the model (snapshots with any)", fmt.Sprintf("%d of %d", resultI(s, "marks.model_marked_snapshots"), resultI(s, "marks.snapshots"))},
		},
	})
	if sc := r.Meta.Signals; sc != nil {
		sig := reportTable{ID: "signals", Title: "Entry signals", Head: []string{"outcome", "signals"}, Right: []bool{false, true}}
		sig.Rows = append(sig.Rows, []string{"entry signals", fmtCount(sc.Total)})
		for _, o := range sc.outcomes() {
			sig.Rows = append(sig.Rows, []string{o.Label, fmtCount(o.N)})
			if o.Key == "no_contract" {
				for _, k := range sortedKeysOf(sc.NoContractBy) {
					sig.Rows = append(sig.Rows, []string{"  no contract passed the filter: " + k, fmtCount(sc.NoContractBy[k])})
				}
			}
		}
		c.Tables = append(c.Tables, sig)
	}
	c.Tables = append(c.Tables, reportTable{
		ID: "stops", Title: "Trailing stops", Head: []string{"metric", "value"}, Right: []bool{false, true},
		Rows: [][]string{
			{"added", fmtCount(resultI(s, "trailing_stop.added"))},
			{"armed", fmtCount(resultI(s, "trailing_stop.armed"))},
			{"triggered", fmtCount(resultI(s, "trailing_stop.triggered"))},
			{"removed", fmtCount(resultI(s, "trailing_stop.removed"))},
			{"average give-back from best premium", fmtPct(resultF(s, "trailing_stop.avg_give_back_pct"))},
			{"average stop slippage (per share)", fmtFixed(resultF(s, "trailing_stop.avg_stop_slippage"), 4)},
		},
	})
	c.Tables = append(c.Tables, reportTable{
		ID: "breaker", Title: "Circuit breaker", Head: []string{"metric", "value"}, Right: []bool{false, true},
		Rows: [][]string{
			{"failures", fmtCount(resultI(s, "circuit_breaker.failures"))},
			{"trips", fmtCount(resultI(s, "circuit_breaker.trips"))},
			{"halts", fmtCount(resultI(s, "circuit_breaker.halts"))},
			{"orders blocked", fmtCount(resultI(s, "circuit_breaker.blocked"))},
			{"resets", fmtCount(resultI(s, "circuit_breaker.resets"))},
			{"hours open", fmtFixed(resultF(s, "circuit_breaker.time_open_hours"), 2)},
			{"hours half_open", fmtFixed(resultF(s, "circuit_breaker.time_half_open_hours"), 2)},
			{"final state", resultS(s, "circuit_breaker.final_state")},
		},
	})
	lim := reportTable{ID: "limits", Title: "Portfolio limits", Head: []string{"rule", "rejections", "warnings"}, Right: []bool{false, true, true}}
	lim.Rows = append(lim.Rows, []string{"checks (allowed)", fmt.Sprintf("%d (%d)", resultI(s, "portfolio_limits.checks"), resultI(s, "portfolio_limits.allowed")), ""})
	rej, _ := asObject(resultAt(s, "portfolio_limits.rejections"))
	warn, _ := asObject(resultAt(s, "portfolio_limits.warnings"))
	rules := sortedKeysOf(rej)
	for _, k := range sortedKeysOf(warn) {
		if !slices.Contains(rules, k) {
			rules = append(rules, k)
		}
	}
	slices.Sort(rules)
	for _, k := range rules {
		n1, _ := rej[k].(int64)
		n2, _ := warn[k].(int64)
		lim.Rows = append(lim.Rows, []string{k, fmtCount(n1), fmtCount(n2)})
	}
	c.Tables = append(c.Tables, lim)
	c.Tables = append(c.Tables, attributionTables(r, s)...)

	ev := reportTable{ID: "events", Title: "Risk events", Head: []string{"component", "event type", "count"}, Right: []bool{false, false, true}}
	events, _ := asObject(resultAt(s, "events"))
	for _, comp := range sortedKeysOf(events) {
		m, _ := asObject(events[comp])
		for _, typ := range sortedKeysOf(m) {
			n, _ := m[typ].(int64)
			ev.Rows = append(ev.Rows, []string{comp, typ, fmtCount(n)})
		}
	}
	c.Tables = append(c.Tables, ev)

	ord := reportTable{ID: "orders", Title: "Orders", Head: []string{"status", "count"}, Right: []bool{false, true}}
	orders, _ := asObject(resultAt(s, "orders"))
	for _, k := range sortedKeysOf(orders) {
		n, _ := orders[k].(int64)
		ord.Rows = append(ord.Rows, []string{k, fmtCount(n)})
	}
	c.Tables = append(c.Tables, ord)

	dq := reportTable{ID: "data-quality", Title: "Data quality (rows skipped)", Head: []string{"kind", "rows"}, Right: []bool{false, true}}
	dqm, _ := asObject(resultAt(s, "data_quality"))
	for _, k := range sortedKeysOf(dqm) {
		n, _ := dqm[k].(int64)
		dq.Rows = append(dq.Rows, []string{k, fmtCount(n)})
	}
	c.Tables = append(c.Tables, dq)

	daily := reportTable{ID: "daily", Title: "Daily P&L", Head: []string{"date", "P&L"}, Right: []bool{false, true}, Details: true}
	dm, _ := asObject(resultAt(s, "daily_pnl"))
	for _, d := range sortedKeysOf(dm) {
		f, _ := dm[d].(float64)
		daily.Rows = append(daily.Rows, []string{d, fmtMoney(f)})
	}
	c.Tables = append(c.Tables, daily)
	c.Tables = append(c.Tables, tradesTable(r))
	return c
}

func tradesTable(r *Run) reportTable {
	t := reportTable{
		ID: "trades", Title: "Trades", Details: true,
		Head:  []string{"#", "execution id", "contract", "side", "qty", "entry", "entry price", "exit", "exit price", "exit reason", "P&L"},
		Right: []bool{true, false, false, false, true, false, true, false, true, false, true},
	}
	trades := Trades(r.Fills)
	ts := func(tm time.Time) string {
		if tm.IsZero() {
			return ""
		}
		return tm.In(r.Loc).Format("2006-01-02 15:04:05 MST")
	}
	for i, tr := range trades {
		if i == maxTradeRows {
			t.Note = fmt.Sprintf("%d more trades not shown (%d in all).", len(trades)-maxTradeRows, len(trades))
			break
		}
		side := "long"
		if tr.Short {
			side = "short"
		}
		exit, exitPx, reason, pnl := "open", "", "", ""
		if tr.Closed() {
			exit, exitPx, reason, pnl = ts(tr.Exit), fmtPrice(tr.ExitPrice), tr.ExitReason, fmtMoney(tr.PnL)
		}
		t.Rows = append(t.Rows, []string{
			strconv.Itoa(i + 1), tr.ExecutionID, tr.Contract, side, strconv.FormatInt(tr.Qty, 10),
			ts(tr.Entry), fmtPrice(tr.EntryPrice), exit, exitPx, reason, pnl,
		})
	}
	return t
}
