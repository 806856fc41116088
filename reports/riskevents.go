package reports

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// The summary and the charts read the same few facts of risk_events, which
// can hold millions of rows: each query is a scan of the table's Parquet
// files, so the facts are read by two queries, once per loaded Run, and
// shared.

// riskCount is a group of risk_events: component, event type and, for
// portfolio_limits, the rule (the other components' rows are not split by
// rule).
type riskCount struct {
	Component, Type string
	Rule            string // portfolio_limits only: coalesce(rule, '')
	N               int64
}

// riskCounts is the GROUP BY behind results.events and
// results.portfolio_limits.
func (r *Run) riskCounts(ctx context.Context) ([]riskCount, error) {
	if r.counts != nil {
		return *r.counts, nil
	}
	rows, err := r.DB.QueryContext(ctx, `SELECT component, event_type,
		CASE WHEN component = 'portfolio_limits' THEN coalesce(rule, '') ELSE '' END, count(*)
		FROM risk_events GROUP BY ALL`)
	if err != nil {
		return nil, fmt.Errorf("reports: events: %w", err)
	}
	defer rows.Close()
	out := []riskCount{}
	for rows.Next() {
		var c riskCount
		if err := rows.Scan(&c.Component, &c.Type, &c.Rule, &c.N); err != nil {
			return nil, fmt.Errorf("reports: events: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reports: events: %w", err)
	}
	r.counts = &out
	return out, nil
}

// riskStep is a circuit breaker state change or a trailing stop trigger.
type riskStep struct {
	Component string
	At        time.Time // UTC
	To        sql.NullString
}

// riskSteps are the breaker's state changes and the stops' triggers, in
// seq order: the breaker's metrics and chart and the stop markers.
func (r *Run) riskSteps(ctx context.Context) ([]riskStep, error) {
	if r.steps != nil {
		return *r.steps, nil
	}
	rows, err := r.DB.QueryContext(ctx, `SELECT component, event_time, state_to FROM risk_events
		WHERE (component = 'circuit_breaker' AND event_type = 'state_change')
		   OR (component = 'trailing_stop' AND event_type = 'trigger')
		ORDER BY seq`)
	if err != nil {
		return nil, fmt.Errorf("reports: breaker states and stop triggers: %w", err)
	}
	defer rows.Close()
	out := []riskStep{}
	for rows.Next() {
		var s riskStep
		if err := rows.Scan(&s.Component, &s.At, &s.To); err != nil {
			return nil, fmt.Errorf("reports: breaker states and stop triggers: %w", err)
		}
		s.At = s.At.UTC()
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reports: breaker states and stop triggers: %w", err)
	}
	r.steps = &out
	return out, nil
}
