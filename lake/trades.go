package lake

import (
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// TradesTable is the folder of the trades table inside a run folder.
const TradesTable = "trades"

// TradesSchema is the trades table: one row per position, opened or
// still open at the end of the run.
func TradesSchema() *arrow.Schema {
	str, i64, f64, ts := arrow.BinaryTypes.String, arrow.PrimitiveTypes.Int64, arrow.PrimitiveTypes.Float64, TimestampType()
	return arrow.NewSchema([]arrow.Field{
		col("run_id", str, false),
		col("execution_id", str, false),
		col("symbol", str, true),
		col("structure", str, true),
		col("side", str, true), // "long" or "short": the structure bought or sold
		col("contract", str, true),
		col("legs", str, true), // JSON array of {contract, qty, right, strike, expiry}
		col("width", f64, true),
		col("qty", i64, false),
		col("multiplier", f64, true),
		col("entry_premium", f64, true),
		col("exit_premium", f64, true),
		col("max_loss", f64, true),
		col("pnl", f64, true),
		col("exit_reason", str, true),
		col("opened_at", ts, true),
		col("closed_at", ts, true),
	}, nil)
}

// TradeRow is one row of the trades table. Premiums are net per share;
// MaxLoss and PnL are dollars for the whole position (P&L includes
// commissions; a still open position's P&L is marked at the end of the
// run). MaxLoss is +Inf for undefined risk; NaN, "" and zero times are
// nulls.
type TradeRow struct {
	RunID        string
	ExecutionID  string
	Symbol       string
	Structure    string
	Side         string
	Contract     string
	Legs         string
	Width        float64
	Qty          int64
	Multiplier   float64
	EntryPremium float64
	ExitPremium  float64
	MaxLoss      float64
	PnL          float64
	ExitReason   string
	OpenedAt     time.Time
	ClosedAt     time.Time
}

// NewTradeWriter opens (or creates) a trades table in dir.
func NewTradeWriter(dir string, opts WriterOptions) (*Writer[TradeRow], error) {
	return newWriter(dir, TradesSchema(), func(b *array.RecordBuilder) func(*TradeRow) {
		strs := func(i ...int) []*array.StringBuilder {
			out := make([]*array.StringBuilder, len(i))
			for k, j := range i {
				out[k] = b.Field(j).(*array.StringBuilder)
			}
			return out
		}
		run, exec := b.Field(0).(*array.StringBuilder), b.Field(1).(*array.StringBuilder)
		s := strs(2, 3, 4, 5, 6)
		width := b.Field(7).(*array.Float64Builder)
		qty := b.Field(8).(*array.Int64Builder)
		f := make([]*array.Float64Builder, 5)
		for i := range f {
			f[i] = b.Field(9 + i).(*array.Float64Builder)
		}
		reason := b.Field(14).(*array.StringBuilder)
		opened, closed := b.Field(15).(*array.TimestampBuilder), b.Field(16).(*array.TimestampBuilder)
		return func(r *TradeRow) {
			run.Append(r.RunID)
			exec.Append(r.ExecutionID)
			for i, v := range [...]string{r.Symbol, r.Structure, r.Side, r.Contract, r.Legs} {
				appendStr(s[i], v)
			}
			appendF64(width, r.Width)
			qty.Append(r.Qty)
			for i, v := range [...]float64{r.Multiplier, r.EntryPremium, r.ExitPremium, r.MaxLoss, r.PnL} {
				appendF64(f[i], v)
			}
			appendStr(reason, r.ExitReason)
			appendTime(opened, r.OpenedAt)
			appendTime(closed, r.ClosedAt)
		}
	}, opts)
}
