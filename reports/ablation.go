package reports

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// This file owns the whole-layer ablation table of `backtest sweep
// --ablate`: all layers on, each layer off alone, all off.

// AblationRow is one run of an ablation: its label ("all on", "no
// trailing_stop" …), run id and summary results.
type AblationRow struct {
	Label, RunID string
	Results      Object
}

// AblationMetrics are the ablation table's metrics, in column order.
var AblationMetrics = []string{"pnl.total", "drawdown.max_pct", "pnl.worst_day", "trades.total"}

// ablationValue reads one ablation metric (trades.total: closed + open).
func ablationValue(r Object, metric string) float64 {
	s := &Summary{Results: r}
	if metric == "trades.total" {
		return float64(resultI(s, "trades.closed") + resultI(s, "trades.open"))
	}
	return resultF(s, metric)
}

// WriteAblationTable writes one row per run: P&L, max drawdown, worst day
// and trades, then each one's difference from the first row (all on).
func WriteAblationTable(w io.Writer, rows []AblationRow) error {
	if len(rows) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(w, 2, 0, 2, ' ', tabwriter.AlignRight)
	head := []string{"layers", "run", "pnl", "max_dd%", "worst_day", "trades", "Δpnl", "Δmax_dd%", "Δworst_day", "Δtrades"}
	fmt.Fprintln(tw, strings.Join(head, "\t")+"\t")
	base := rows[0].Results
	for _, r := range rows {
		line := []string{r.Label, r.RunID}
		var diffs []string
		for _, m := range AblationMetrics {
			v := ablationValue(r.Results, m)
			line = append(line, ablationCell(m, v))
			diffs = append(diffs, signed(ablationCell(m, v-ablationValue(base, m))))
		}
		fmt.Fprintln(tw, strings.Join(append(line, diffs...), "\t")+"\t")
	}
	return tw.Flush()
}

func ablationCell(metric string, v float64) string {
	if metric == "trades.total" {
		return fmt.Sprintf("%d", int64(v))
	}
	if metric == "drawdown.max_pct" {
		return fmt.Sprintf("%.2f", v)
	}
	return cell("pnl.total", v)
}

// signed prefixes a positive difference with +.
func signed(s string) string {
	if s == "-" || strings.HasPrefix(s, "-") || strings.Trim(s, "0.,") == "" {
		return s
	}
	return "+" + s
}
