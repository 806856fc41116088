package lake

import (
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
)

// FillRow is one row of the fills table: an order and what became of it.
// Zero times, empty strings and NaN prices are nulls.
type FillRow struct {
	RunID          string
	Seq            int64
	OrderTime      time.Time
	FillTime       time.Time
	ExecutionID    string
	Symbol         string
	Contract       string
	Side           string // "buy" or "sell"
	Intent         string // "entry" or "exit"
	Qty            int64
	RequestedPrice float64
	FillPrice      float64
	Slippage       float64
	Commission     float64
	Status         string // "filled", "rejected", "blocked", "expired", "settled" …
	Reason         string
	Multiplier     float64 // shares per contract
	MidPrice       float64 // net mid at the fill; NaN (null) when not filled
}

// NewFillWriter opens (or creates) a fills table in dir.
func NewFillWriter(dir string, opts WriterOptions) (*Writer[FillRow], error) {
	return newWriter(dir, FillsSchema(), func(b *array.RecordBuilder) func(*FillRow) {
		run := b.Field(0).(*array.StringBuilder)
		seq := b.Field(1).(*array.Int64Builder)
		ot := b.Field(2).(*array.TimestampBuilder)
		ft := b.Field(3).(*array.TimestampBuilder)
		exec := b.Field(4).(*array.StringBuilder)
		sym := b.Field(5).(*array.StringBuilder)
		contract := b.Field(6).(*array.StringBuilder)
		side := b.Field(7).(*array.StringBuilder)
		intent := b.Field(8).(*array.StringBuilder)
		qty := b.Field(9).(*array.Int64Builder)
		req := b.Field(10).(*array.Float64Builder)
		fill := b.Field(11).(*array.Float64Builder)
		slip := b.Field(12).(*array.Float64Builder)
		comm := b.Field(13).(*array.Float64Builder)
		status := b.Field(14).(*array.StringBuilder)
		reason := b.Field(15).(*array.StringBuilder)
		mult := b.Field(16).(*array.Float64Builder)
		midPx := b.Field(17).(*array.Float64Builder)
		return func(r *FillRow) {
			run.Append(r.RunID)
			seq.Append(r.Seq)
			appendTime(ot, r.OrderTime)
			appendTime(ft, r.FillTime)
			appendStr(exec, r.ExecutionID)
			appendStr(sym, r.Symbol)
			appendStr(contract, r.Contract)
			appendStr(side, r.Side)
			appendStr(intent, r.Intent)
			qty.Append(r.Qty)
			appendF64(req, r.RequestedPrice)
			appendF64(fill, r.FillPrice)
			appendF64(slip, r.Slippage)
			appendF64(comm, r.Commission)
			appendStr(status, r.Status)
			appendStr(reason, r.Reason)
			appendF64(mult, r.Multiplier)
			appendF64(midPx, r.MidPrice)
		}
	}, opts)
}
