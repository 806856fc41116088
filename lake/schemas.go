package lake

import (
	"math"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// TimestampType returns the Arrow type of every timestamp column:
// microseconds, UTC (Parquet INT64 TIMESTAMP(MICROS, isAdjustedToUTC=true),
// Delta "timestamp").
func TimestampType() *arrow.TimestampType {
	return &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
}

func col(name string, t arrow.DataType, nullable bool) arrow.Field {
	return arrow.Field{Name: name, Type: t, Nullable: nullable}
}

// Table folder names inside a run folder (DESIGN.md, "Lake layout").
const (
	RiskEventsTable = "risk_events"
	FillsTable      = "fills"
	EquityTable     = "equity"
)

// RiskEventsSchema is the risk_events table (DESIGN.md, "Events").
func RiskEventsSchema() *arrow.Schema {
	str, i64, f64, ts := arrow.BinaryTypes.String, arrow.PrimitiveTypes.Int64, arrow.PrimitiveTypes.Float64, TimestampType()
	return arrow.NewSchema([]arrow.Field{
		col("run_id", str, false),
		col("seq", i64, false),
		col("event_time", ts, false),
		col("component", str, false),
		col("event_type", str, false),
		col("execution_id", str, true),
		col("symbol", str, true),
		col("contract", str, true),
		col("state_from", str, true),
		col("state_to", str, true),
		col("rule", str, true),
		col("value", f64, true),
		col("threshold", f64, true),
		col("reason", str, true),
		col("details", str, true),
	}, nil)
}

// FillsSchema is the fills table: one row per order outcome.
func FillsSchema() *arrow.Schema {
	str, i64, f64, ts := arrow.BinaryTypes.String, arrow.PrimitiveTypes.Int64, arrow.PrimitiveTypes.Float64, TimestampType()
	return arrow.NewSchema([]arrow.Field{
		col("run_id", str, false),
		col("seq", i64, false),
		col("order_time", ts, true),
		col("fill_time", ts, true),
		col("execution_id", str, true),
		col("symbol", str, true),
		col("contract", str, true),
		col("side", str, true),
		col("intent", str, true),
		col("qty", i64, false),
		col("requested_price", f64, true),
		col("fill_price", f64, true),
		col("slippage", f64, true),
		col("commission", f64, true),
		col("status", str, true),
		col("reason", str, true),
		col("multiplier", f64, true),
		col("mid_price", f64, true),
	}, nil)
}

// EquitySchema is the equity table: portfolio snapshots.
func EquitySchema() *arrow.Schema {
	str, i64, f64, ts := arrow.BinaryTypes.String, arrow.PrimitiveTypes.Int64, arrow.PrimitiveTypes.Float64, TimestampType()
	return arrow.NewSchema([]arrow.Field{
		col("run_id", str, false),
		col("time", ts, false),
		col("equity", f64, true),
		col("cash", f64, true),
		col("realized_pnl", f64, true),
		col("unrealized_pnl", f64, true),
		col("portfolio_delta", f64, true),
		col("portfolio_gamma", f64, true),
		col("drawdown", f64, true),
		col("open_positions", i64, false),
		col("underlying_price", f64, true),
		col("model_marks", i64, false),
	}, nil)
}

// Appenders: "" and NaN and the zero time are nulls.

func appendStr(b *array.StringBuilder, s string) {
	if s == "" {
		b.AppendNull()
		return
	}
	b.Append(s)
}

func appendF64(b *array.Float64Builder, v float64) {
	if math.IsNaN(v) {
		b.AppendNull()
		return
	}
	b.Append(v)
}

func appendTime(b *array.TimestampBuilder, t time.Time) {
	if t.IsZero() {
		b.AppendNull()
		return
	}
	b.Append(arrow.Timestamp(t.UnixMicro()))
}
