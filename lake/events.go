package lake

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/optionsrisk/backtest/risk"
)

// EventWriter persists risk events to a run's risk_events table. It
// implements risk.Sink: Emit assigns seq 1, 2, 3 … in call order and never
// fails; a write failure is returned by Err, Flush and Close.
type EventWriter struct {
	runID string
	seq   int64
	w     *Writer[eventRow]
}

var _ risk.Sink = (*EventWriter)(nil)

type eventRow struct {
	seq int64
	ev  risk.Event
}

// NewEventWriter opens (or creates) the risk_events Delta table in dir —
// the table folder itself, e.g. runs/<run_id>/risk_events.
func NewEventWriter(dir, runID string, opts WriterOptions) (*EventWriter, error) {
	if opts.CommitInfo.UserMetadata == "" {
		opts.CommitInfo.UserMetadata = runID
	}
	w, err := newWriter(CleanPath(dir), RiskEventsSchema(), func(b *array.RecordBuilder) func(*eventRow) {
		run := b.Field(0).(*array.StringBuilder)
		seq := b.Field(1).(*array.Int64Builder)
		at := b.Field(2).(*array.TimestampBuilder)
		comp := b.Field(3).(*array.StringBuilder)
		typ := b.Field(4).(*array.StringBuilder)
		exec := b.Field(5).(*array.StringBuilder)
		sym := b.Field(6).(*array.StringBuilder)
		contract := b.Field(7).(*array.StringBuilder)
		from := b.Field(8).(*array.StringBuilder)
		to := b.Field(9).(*array.StringBuilder)
		rule := b.Field(10).(*array.StringBuilder)
		value := b.Field(11).(*array.Float64Builder)
		thr := b.Field(12).(*array.Float64Builder)
		reason := b.Field(13).(*array.StringBuilder)
		details := b.Field(14).(*array.StringBuilder)
		return func(r *eventRow) {
			e := &r.ev
			run.Append(runID)
			seq.Append(r.seq)
			at.Append(arrow.Timestamp(e.Time.UnixMicro()))
			comp.Append(e.Component.String())
			typ.Append(e.Type.String())
			appendStr(exec, e.ExecutionID)
			appendStr(sym, e.Symbol)
			appendStr(contract, e.Contract)
			appendStr(from, e.StateFrom)
			appendStr(to, e.StateTo)
			appendStr(rule, e.Rule)
			appendF64(value, e.Value)
			appendF64(thr, e.Threshold)
			appendStr(reason, e.Reason)
			appendStr(details, e.Details)
		}
	}, opts)
	if err != nil {
		return nil, err
	}
	return &EventWriter{runID: runID, w: w}, nil
}

// Emit queues e as the next row. It blocks only on back-pressure. After a
// failure events are not written; Err says why.
func (ew *EventWriter) Emit(e risk.Event) {
	ew.seq++
	_ = ew.w.Write(eventRow{seq: ew.seq, ev: e}) // the failure stays in Err
}

// Seq returns the seq of the last emitted event.
func (ew *EventWriter) Seq() int64 { return ew.seq }

// Err returns the first write failure, if any.
func (ew *EventWriter) Err() error { return ew.w.Err() }

// Flush writes and commits every event emitted so far.
func (ew *EventWriter) Flush() error { return ew.w.Flush() }

// Close flushes, commits and stops the writer; it returns the first
// failure, if any.
func (ew *EventWriter) Close() error { return ew.w.Close() }

// Table returns the underlying table.
func (ew *EventWriter) Table() *Table { return ew.w.Table() }
