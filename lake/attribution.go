package lake

import (
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// AttributionTable is the folder of the attribution table inside a run
// folder.
const AttributionTable = "attribution"

// AttributionSchema is the attribution table: one row per risk decision
// that changed what the portfolio held (a stop trigger, an entry refused
// by the limits or blocked by the breaker, an exit blocked by the breaker),
// with what actually happened and its first-order counterfactual, in
// decision order. seq is the risk_events seq of the deciding event.
func AttributionSchema() *arrow.Schema {
	str, i64, f64, ts := arrow.BinaryTypes.String, arrow.PrimitiveTypes.Int64, arrow.PrimitiveTypes.Float64, TimestampType()
	return arrow.NewSchema([]arrow.Field{
		col("run_id", str, false),
		col("seq", i64, false),
		col("event_time", ts, false),
		col("component", str, false),
		col("event_type", str, false),
		col("rule", str, true),
		col("execution_id", str, true),
		col("contract", str, true),
		col("actual_pnl", f64, true),
		col("counterfactual_pnl", f64, true),
		col("saved", f64, true),
		col("counterfactual_end", str, true),
	}, nil)
}

// AttributionRow is one row of the attribution table. Money is dollars for
// the whole position, commissions included; saved = actual − counterfactual
// (positive: the layer helped).
type AttributionRow struct {
	RunID             string
	Seq               int64
	EventTime         time.Time
	Component         string
	EventType         string
	Rule              string
	ExecutionID       string
	Contract          string
	ActualPnL         float64
	CounterfactualPnL float64
	Saved             float64
	CounterfactualEnd string
}

// NewAttributionWriter opens (or creates) an attribution table in dir.
func NewAttributionWriter(dir string, opts WriterOptions) (*Writer[AttributionRow], error) {
	return newWriter(dir, AttributionSchema(), func(b *array.RecordBuilder) func(*AttributionRow) {
		run := b.Field(0).(*array.StringBuilder)
		seq := b.Field(1).(*array.Int64Builder)
		at := b.Field(2).(*array.TimestampBuilder)
		s := make([]*array.StringBuilder, 5)
		for i, j := range [...]int{3, 4, 5, 6, 7} {
			s[i] = b.Field(j).(*array.StringBuilder)
		}
		f := make([]*array.Float64Builder, 3)
		for i := range f {
			f[i] = b.Field(8 + i).(*array.Float64Builder)
		}
		end := b.Field(11).(*array.StringBuilder)
		return func(r *AttributionRow) {
			run.Append(r.RunID)
			seq.Append(r.Seq)
			at.Append(arrow.Timestamp(r.EventTime.UnixMicro()))
			for i, v := range [...]string{r.Component, r.EventType, r.Rule, r.ExecutionID, r.Contract} {
				appendStr(s[i], v)
			}
			for i, v := range [...]float64{r.ActualPnL, r.CounterfactualPnL, r.Saved} {
				appendF64(f[i], v)
			}
			appendStr(end, r.CounterfactualEnd)
		}
	}, opts)
}
