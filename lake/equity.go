package lake

import (
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// EquityRow is one row of the equity table: a portfolio snapshot. NaN
// values are nulls.
type EquityRow struct {
	RunID          string
	Time           time.Time
	Equity         float64
	Cash           float64
	RealizedPnL    float64
	UnrealizedPnL  float64
	PortfolioDelta float64
	PortfolioGamma float64
	Drawdown       float64
	OpenPositions  int64
	// UnderlyingPrice is the last underlying price quoted (of the first
	// underlying the run quoted), for charts.
	UnderlyingPrice float64
	// ModelMarks is the number of open legs marked by the pricing model in
	// this snapshot because they had no fresh quote.
	ModelMarks int64
}

// NewEquityWriter opens (or creates) an equity table in dir.
func NewEquityWriter(dir string, opts WriterOptions) (*Writer[EquityRow], error) {
	return newWriter(dir, EquitySchema(), func(b *array.RecordBuilder) func(*EquityRow) {
		run := b.Field(0).(*array.StringBuilder)
		at := b.Field(1).(*array.TimestampBuilder)
		vals := make([]*array.Float64Builder, 7)
		for i := range vals {
			vals[i] = b.Field(2 + i).(*array.Float64Builder)
		}
		open := b.Field(9).(*array.Int64Builder)
		under := b.Field(10).(*array.Float64Builder)
		marks := b.Field(11).(*array.Int64Builder)
		return func(r *EquityRow) {
			run.Append(r.RunID)
			at.Append(arrow.Timestamp(r.Time.UnixMicro()))
			for i, v := range [...]float64{r.Equity, r.Cash, r.RealizedPnL, r.UnrealizedPnL, r.PortfolioDelta, r.PortfolioGamma, r.Drawdown} {
				appendF64(vals[i], v)
			}
			open.Append(r.OpenPositions)
			appendF64(under, r.UnderlyingPrice)
			marks.Append(r.ModelMarks)
		}
	}, opts)
}
