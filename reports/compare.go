package reports

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/goccy/go-yaml"
)

// Headline is the default set of metrics compare shows, in order.
var Headline = []string{
	"pnl.total", "pnl.return_pct", "drawdown.max_pct", "ratios.sharpe", "ratios.sortino",
	"trades.closed", "trades.win_rate", "trades.profit_factor",
	"trailing_stop.triggered", "trailing_stop.avg_give_back_pct",
	"circuit_breaker.trips", "circuit_breaker.blocked", "portfolio_limits.checks", "portfolio_limits.rejected",
	"attribution.trailing_stop.saved", "attribution.portfolio_limits.saved", "attribution.circuit_breaker.saved",
}

// Compared is one run in a comparison.
type Compared struct {
	RunID    string
	Settings map[string]string // dotted scenario key → YAML value
	Metrics  map[string]any    // flattened results, plus portfolio_limits.rejected
}

// NewCompared flattens a run's scenario and results for comparison.
func NewCompared(runID string, scenario map[string]any, results Object) Compared {
	c := Compared{RunID: runID, Settings: map[string]string{}, Metrics: Flatten(normalizeObject(results))}
	flattenYAML("", scenario, c.Settings)
	var rej int64
	for k, v := range c.Metrics {
		if strings.HasPrefix(k, "portfolio_limits.rejections.") {
			if n, ok := v.(int64); ok {
				rej += n
			}
		}
	}
	c.Metrics["portfolio_limits.rejected"] = rej
	return c
}

// flattenYAML records scalar leaves by dotted path; the feed's day bars
// and replay logs are summarised (they are data, not settings).
func flattenYAML(prefix string, v any, out map[string]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			flattenYAML(p, e, out)
		}
	case []any:
		if strings.HasSuffix(prefix, ".days") || strings.HasSuffix(prefix, ".fills") {
			out[prefix] = fmt.Sprintf("%d rows", len(x))
			return
		}
		b, _ := yaml.MarshalWithOptions(x, yaml.Flow(true))
		out[prefix] = strings.TrimSpace(string(b))
	default:
		out[prefix] = fmt.Sprint(x)
	}
}

// DifferingSettings lists the scenario keys whose values are not the same
// in every run, sorted. A key absent from a run counts as different.
func DifferingSettings(runs []Compared) []string {
	keys := map[string]bool{}
	for _, r := range runs {
		for k := range r.Settings {
			keys[k] = true
		}
	}
	var out []string
	for k := range keys {
		if k == "name" || k == "description" {
			continue
		}
		first, ok0 := runs[0].Settings[k]
		for _, r := range runs[1:] {
			if v, ok := r.Settings[k]; ok != ok0 || v != first {
				out = append(out, k)
				break
			}
		}
	}
	slices.Sort(out)
	return out
}

// SortRuns orders runs by a metric: descending, or ascending with a
// leading '+'. Ties and missing values keep run-id order (missing last).
func SortRuns(runs []Compared, metric string) error {
	asc := strings.HasPrefix(metric, "+")
	metric = strings.TrimPrefix(strings.TrimPrefix(metric, "+"), "-")
	found := false
	for _, r := range runs {
		if _, ok := r.Metrics[metric]; ok {
			found = true
		}
	}
	if !found && len(runs) > 0 {
		return fmt.Errorf("reports: no run has metric %q (e.g. %s)", metric, strings.Join(Headline[:4], ", "))
	}
	slices.SortStableFunc(runs, func(a, b Compared) int {
		x, xok := numeric(a.Metrics[metric])
		y, yok := numeric(b.Metrics[metric])
		xok, yok = xok && !math.IsNaN(x), yok && !math.IsNaN(y)
		switch {
		case xok && !yok:
			return -1
		case !xok && yok:
			return 1
		case !xok && !yok:
			return cmp.Compare(a.RunID, b.RunID)
		}
		if c := cmp.Compare(x, y); c != 0 {
			if asc {
				return c
			}
			return -c
		}
		return cmp.Compare(a.RunID, b.RunID)
	})
	return nil
}

// TableHeadline is the default metric set of the terminal table: the most
// telling columns, narrow enough for a 120-column terminal next to a run id
// and a few differing settings.
var TableHeadline = []string{
	"pnl.total", "drawdown.max_pct", "ratios.sharpe", "trades.closed",
	"trailing_stop.triggered", "circuit_breaker.trips", "portfolio_limits.rejected",
}

// moneyMetric reports whether a metric is dollars.
func moneyMetric(m string) bool {
	switch m {
	case "pnl.total", "pnl.final_equity", "pnl.capital", "pnl.best_day", "pnl.worst_day",
		"drawdown.max_dollars", "trades.avg_win", "trades.avg_loss":
		return true
	}
	return strings.HasPrefix(m, "costs.") || strings.HasPrefix(m, "daily_pnl.") ||
		strings.HasPrefix(m, "attribution.") && strings.Contains(m, "saved")
}

// cell formats one metric for people: money with thousands separators and
// cents (-86,750.12), percentages and ratios with two decimals, counts as
// integers, never in exponent notation.
func cell(metric string, v any) string {
	switch x := v.(type) {
	case nil:
		return "-"
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return "-"
		}
		switch {
		case moneyMetric(metric):
			return strings.Replace(fmtMoney(x), "$", "", 1)
		case math.Abs(x) >= 1000:
			return strings.Replace(fmtMoney(x), "$", "", 1)
		case x == math.Trunc(x) && math.Abs(x) < 1e15:
			return strconv.FormatFloat(x, 'f', -1, 64)
		case math.Abs(x) < 0.01:
			return strconv.FormatFloat(x, 'f', 4, 64)
		}
		return strconv.FormatFloat(x, 'f', 2, 64)
	}
	return fmt.Sprint(v)
}

// shortName is a metric's column header in the terminal table: the last
// part of its path, with the section where the last part alone is vague.
func shortName(m string) string {
	switch m {
	case "pnl.total":
		return "pnl"
	case "drawdown.max_pct":
		return "max_dd%"
	case "trades.closed":
		return "trades"
	case "trailing_stop.triggered":
		return "stops"
	case "circuit_breaker.trips":
		return "trips"
	case "circuit_breaker.blocked":
		return "blocked"
	case "portfolio_limits.rejected":
		return "refused"
	case "portfolio_limits.checks":
		return "checks"
	case "attribution.trailing_stop.saved":
		return "stop_saved"
	case "attribution.portfolio_limits.saved":
		return "limits_saved"
	case "attribution.circuit_breaker.saved":
		return "breaker_saved"
	case "attribution.total.saved":
		return "saved"
	}
	if i := strings.LastIndexByte(m, '.'); i >= 0 && !strings.HasPrefix(m, "attribution.") {
		return m[i+1:]
	}
	return m
}

// WriteCompareTable writes the comparison as aligned text.
func WriteCompareTable(w io.Writer, runs []Compared, settings, metrics []string) error {
	tw := tabwriter.NewWriter(w, 2, 0, 2, ' ', tabwriter.AlignRight)
	// Short headers, except where two columns would share one.
	keys := slices.Concat(settings, metrics)
	names := make([]string, len(keys))
	seen := map[string]int{}
	for i, k := range keys {
		names[i] = shortName(k)
		seen[names[i]]++
	}
	for i, k := range keys {
		if seen[names[i]] > 1 {
			names[i] = k
		}
	}
	cols := append([]string{"run"}, names...)
	fmt.Fprintln(tw, strings.Join(cols, "\t")+"\t")
	for _, r := range runs {
		row := []string{r.RunID}
		for _, s := range settings {
			row = append(row, cmp.Or(r.Settings[s], "-"))
		}
		for _, m := range metrics {
			row = append(row, cell(m, r.Metrics[m]))
		}
		fmt.Fprintln(tw, strings.Join(row, "\t")+"\t")
	}
	return tw.Flush()
}

// WriteCompareMarkdown writes the comparison as a Markdown table.
func WriteCompareMarkdown(w io.Writer, runs []Compared, settings, metrics []string) error {
	cols := append(append([]string{"run"}, settings...), metrics...)
	head := make([]string, len(cols))
	for i, c := range cols {
		head[i] = mdCell(c)
	}
	fmt.Fprintf(w, "| %s |\n", strings.Join(head, " | "))
	fmt.Fprintf(w, "|%s\n", strings.Repeat("---|", len(cols)))
	for _, r := range runs {
		row := []string{mdEscape(r.RunID)}
		for _, s := range settings {
			row = append(row, mdEscape(cmp.Or(r.Settings[s], "-")))
		}
		for _, m := range metrics {
			row = append(row, cell(m, r.Metrics[m]))
		}
		if _, err := fmt.Fprintf(w, "| %s |\n", strings.Join(row, " | ")); err != nil {
			return err
		}
	}
	return nil
}

// mdEscape escapes a compare cell (every user string: run ids, --set
// values).
func mdEscape(s string) string { return mdCell(s) }

// CompareJSON is the comparison as a byte-stable JSON document.
func CompareJSON(runs []Compared, settings, metrics []string) []byte {
	var rows []any
	for _, r := range runs {
		s, m := Object{}, Object{}
		for _, k := range settings {
			s[k] = r.Settings[k]
		}
		for _, k := range metrics {
			m[k] = r.Metrics[k]
		}
		rows = append(rows, Object{"run_id": r.RunID, "settings": s, "metrics": m})
	}
	return Encode(Object{"runs": rows})
}
