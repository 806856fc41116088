package reports

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"time"
)

// Summary is summary.json: Results is everything `check` compares; Run
// holds wall-clock facts that are never compared.
type Summary struct {
	Results Object
	Run     Object
}

// Object is a JSON object whose values are int64, float64 (NaN and ±Inf
// encode as null), string, []any or Object. It encodes with sorted keys.
type Object map[string]any

// JSON encodes the summary byte-stably.
func (s *Summary) JSON() []byte {
	return Encode(Object{"results": s.Results, "run": s.Run})
}

// Summarize computes a run's summary from its tables and metadata.
func Summarize(ctx context.Context, r *Run) (*Summary, error) {
	res := Object{}
	final := r.Capital
	if n := len(r.Equity); n > 0 {
		final = r.Equity[n-1].Equity
	}
	days := Daily(r.Equity, r.Capital, r.Loc)
	rets := make([]float64, len(days))
	daily := Object{}
	best, worst := math.NaN(), math.NaN()
	for i, d := range days {
		rets[i] = d.Return
		daily[d.Date] = d.PnL
		if i == 0 || d.PnL > best {
			best = d.PnL
		}
		if i == 0 || d.PnL < worst {
			worst = d.PnL
		}
	}
	res["pnl"] = Object{
		"total": final - r.Capital, "return_pct": (final - r.Capital) / r.Capital * 100, "final_equity": final,
		"capital": r.Capital, "days": int64(len(days)), "best_day": best, "worst_day": worst,
	}
	res["daily_pnl"] = daily
	dd := MaxDrawdown(r.Equity, r.Capital)
	res["drawdown"] = Object{"max_pct": dd.MaxPct * 100, "max_dollars": dd.MaxDollars, "longest_days": dd.Longest.Hours() / 24}
	res["ratios"] = Object{"sharpe": Sharpe(rets), "sortino": Sortino(rets)}

	trades := Trades(r.Fills)
	ts := Stats(trades)
	res["trades"] = Object{
		"closed": ts.Closed, "open": ts.Open, "wins": ts.Wins, "losses": ts.Losses, "win_rate": ts.WinRate,
		"profit_factor": ts.ProfitFactor, "avg_win": ts.AvgWin, "avg_loss": ts.AvgLoss,
		"exposure_time_pct": exposureTime(r.Equity) * 100,
	}
	orders := Object{}
	for _, st := range []string{"filled", "rejected", "blocked", "expired", "cancelled", "settled"} {
		orders[st] = int64(0)
	}
	for _, f := range r.Fills {
		n, _ := orders[f.Status].(int64) // a status of another engine counts too
		orders[f.Status] = n + 1
	}
	res["orders"] = orders

	events, err := r.eventCounts(ctx)
	if err != nil {
		return nil, err
	}
	res["events"] = events
	count := func(comp, typ string) int64 {
		if m, ok := events[comp].(Object); ok {
			if n, ok := m[typ].(int64); ok {
				return n
			}
		}
		return 0
	}
	stops, err := r.stopMetrics(ctx, trades)
	if err != nil {
		return nil, err
	}
	stops["added"], stops["armed"], stops["triggered"], stops["removed"] = count("trailing_stop", "add"), count("trailing_stop", "activate"), count("trailing_stop", "trigger"), count("trailing_stop", "remove")
	res["trailing_stop"] = stops
	breaker, err := r.breakerMetrics(ctx)
	if err != nil {
		return nil, err
	}
	breaker["failures"], breaker["blocked"], breaker["resets"] = count("circuit_breaker", "failure"), count("circuit_breaker", "blocked"), count("circuit_breaker", "reset")
	res["circuit_breaker"] = breaker
	limits, err := r.limitsMetrics(ctx)
	if err != nil {
		return nil, err
	}
	res["portfolio_limits"] = limits
	dq := Object{}
	for k, v := range r.Meta.DataQuality {
		dq[k] = v
	}
	res["data_quality"] = dq
	if sc := r.Meta.Signals; sc != nil {
		sig := Object{}
		for _, o := range sc.outcomes() {
			sig[o.Key] = o.N
		}
		sig["total"] = sc.Total
		by := Object{}
		for k, v := range sc.NoContractBy {
			by[k] = v
		}
		sig["no_contract_by"] = by
		res["signals"] = sig
	}
	var marked, maxMarked int64
	for _, p := range r.Equity {
		if p.ModelMarks > 0 {
			marked++
		}
		maxMarked = max(maxMarked, p.ModelMarks)
	}
	res["marks"] = Object{"model_marked_snapshots": marked, "snapshots": int64(len(r.Equity)), "max_model_marked_legs": maxMarked}
	res["costs"] = costs(r.Fills)
	if r.HasAttribution {
		res["attribution"] = attributionResults(r.Attribution)
	}

	run := Object{
		"run_id": r.Meta.RunID, "scenario": r.Meta.Scenario, "config_hash": r.Meta.ConfigHash, "seed": int64(r.Meta.Seed),
		"started": r.Meta.Started, "finished": r.Meta.Finished, "quotes": r.Meta.Quotes,
		"quotes_per_second": math.Round(r.Meta.QuotesPerSecond), "version": r.Meta.Version,
	}
	if s, err1 := time.Parse(time.RFC3339Nano, r.Meta.Started); err1 == nil {
		if f, err2 := time.Parse(time.RFC3339Nano, r.Meta.Finished); err2 == nil {
			run["duration_s"] = f.Sub(s).Seconds()
		}
	}
	return &Summary{Results: res, Run: run}, nil
}

// eventCounts is count(*) of risk_events by component and event_type.
func (r *Run) eventCounts(ctx context.Context) (Object, error) {
	counts, err := r.riskCounts(ctx)
	if err != nil {
		return nil, err
	}
	out := Object{}
	for _, c := range counts {
		m, _ := out[c.Component].(Object)
		if m == nil {
			m = Object{}
			out[c.Component] = m
		}
		n, _ := m[c.Type].(int64)
		m[c.Type] = n + c.N
	}
	return out, nil
}

// stopMetrics: the average give-back from the best premium to the exit fill
// over stops that armed and triggered, and the average stop slippage (level
// vs fill) over every triggered stop with an exit fill.
func (r *Run) stopMetrics(ctx context.Context, trades []Trade) (Object, error) {
	rows, err := r.DB.QueryContext(ctx, `
		SELECT execution_id,
		       arg_max(value, seq) FILTER (WHERE event_type IN ('activate', 'update')) AS best,
		       arg_max(threshold, seq) FILTER (WHERE event_type = 'trigger') AS level
		FROM risk_events WHERE component = 'trailing_stop'
		GROUP BY execution_id
		HAVING count(*) FILTER (WHERE event_type = 'trigger') > 0
		ORDER BY execution_id`)
	if err != nil {
		return nil, fmt.Errorf("reports: stops: %w", err)
	}
	defer rows.Close()
	byID := map[string]*Trade{}
	for i := range trades {
		byID[trades[i].ExecutionID] = &trades[i]
	}
	var give, slip []float64
	for rows.Next() {
		var id string
		var best, level sql.NullFloat64
		if err := rows.Scan(&id, &best, &level); err != nil {
			return nil, err
		}
		t := byID[id]
		if t == nil || !t.Closed() || math.IsNaN(t.ExitPrice) || t.ExitReason == "expiry" {
			continue
		}
		if best.Valid {
			give = append(give, GiveBack(best.Float64, t.ExitPrice, t.Short))
		}
		if level.Valid {
			slip = append(slip, StopSlippage(level.Float64, t.ExitPrice, t.Short))
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return Object{"avg_give_back_pct": meanOf(give), "avg_stop_slippage": meanOf(slip)}, nil
}

// breakerMetrics: trips, halts and the time spent open and half_open, from
// the state changes (an interval still running ends at the last snapshot).
func (r *Run) breakerMetrics(ctx context.Context) (Object, error) {
	steps, err := r.riskSteps(ctx)
	if err != nil {
		return nil, err
	}
	var trips, halts int64
	var inOpen, inHalf time.Duration
	state, since := "closed", time.Time{}
	account := func(until time.Time) {
		switch state {
		case "open":
			inOpen += until.Sub(since)
		case "half_open":
			inHalf += until.Sub(since)
		}
	}
	for _, s := range steps {
		if s.Component != "circuit_breaker" {
			continue
		}
		if !s.To.Valid {
			return nil, fmt.Errorf("reports: breaker: a state_change at %s has no state_to", s.At.Format(time.RFC3339Nano))
		}
		at, to := s.At, s.To.String
		account(at)
		state, since = to, at
		switch to {
		case "open":
			trips++
		case "halted":
			halts++
		}
	}
	if n := len(r.Equity); n > 0 && r.Equity[n-1].Time.After(since) {
		account(r.Equity[n-1].Time)
	}
	return Object{"trips": trips, "halts": halts, "time_open_hours": inOpen.Hours(), "time_half_open_hours": inHalf.Hours(), "final_state": state}, nil
}

// limitsMetrics: checks, and rejections and warnings by rule.
func (r *Run) limitsMetrics(ctx context.Context) (Object, error) {
	counts, err := r.riskCounts(ctx)
	if err != nil {
		return nil, err
	}
	rej, warn := Object{}, Object{}
	var allowed, rejected int64
	for _, c := range counts {
		if c.Component != "portfolio_limits" {
			continue
		}
		switch c.Type {
		case "allowed":
			allowed += c.N
		case "rejected":
			rejected += c.N
			rej[c.Rule] = c.N
		case "warning":
			warn[c.Rule] = c.N
		}
	}
	return Object{"checks": allowed + rejected, "allowed": allowed, "rejections": rej, "warnings": warn}, nil
}
