// Command lakeinterop writes and dumps lake tables for the Python interop
// tests (tests/interop). It is a test tool, not part of the product.
//
//	lakeinterop write <dir> <commits> <rows-per-commit>  risk_events table, deterministic rows
//	lakeinterop forever <dir>                            append until killed
//	lakeinterop concurrent <dir> <writers> <appends>     writers append at once
//	lakeinterop log <dir>                                {"version":..,"files":[..]} as JSON
//	lakeinterop dump <dir>                               rows as JSON lines (timestamps in µs)
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/optionsrisk/backtest/lake"
	"github.com/optionsrisk/backtest/risk"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "lakeinterop:", err)
		os.Exit(1)
	}
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		fmt.Fprintf(os.Stderr, "lakeinterop: bad number %q\n", s)
		os.Exit(2)
	}
	return n
}

func run(args []string) error {
	if len(args) < 2 {
		return errors.New("usage: lakeinterop write|forever|concurrent|log|dump <dir> ...")
	}
	dir := args[1]
	switch {
	case args[0] == "write" && len(args) == 4:
		return write(dir, atoi(args[2]), atoi(args[3]))
	case args[0] == "forever":
		return forever(dir)
	case args[0] == "concurrent" && len(args) == 4:
		return concurrent(dir, atoi(args[2]), atoi(args[3]))
	case args[0] == "log":
		return logCmd(dir)
	case args[0] == "dump":
		return dump(dir)
	}
	return fmt.Errorf("unknown command %q", args)
}

func base() time.Time { return time.Date(2020, 3, 16, 13, 30, 0, 0, time.UTC) }

func event(i int) risk.Event {
	e := risk.Event{
		Time:        base().Add(time.Duration(i)*time.Second + time.Duration(i%1000)*time.Microsecond),
		Component:   risk.TrailingStopComponent,
		Type:        risk.EventUpdate,
		ExecutionID: "exec-" + strconv.Itoa(i%37),
		Symbol:      "SPY",
		Contract:    "SPY200417P00240000",
		Value:       1.25 + float64(i%100)/100,
		Threshold:   math.NaN(),
		Reason:      "stop moved with a new best premium",
	}
	switch i % 5 {
	case 0:
		e.Component, e.Type, e.StateFrom, e.StateTo = risk.CircuitBreakerComponent, risk.EventStateChange, "closed", "open"
		e.Details = `{"failures":5}`
	case 2:
		e.Component, e.Type, e.Rule, e.Threshold = risk.PortfolioLimitsComponent, risk.EventRejected, "portfolio_delta", 50
	case 3:
		e.Value = math.Inf(1) // stats must leave min/max out
	}
	return e
}

func write(dir string, commits, rows int) error {
	w, err := lake.NewEventWriter(dir, "interop-run", lake.WriterOptions{BatchSize: max(rows, 1)})
	if err != nil {
		return err
	}
	for i := range commits * rows {
		w.Emit(event(i))
	}
	return w.Close()
}

func forever(dir string) error {
	w, err := lake.NewEventWriter(dir, "killed-run", lake.WriterOptions{BatchSize: 200, ChunkSize: 50})
	if err != nil {
		return err
	}
	for i := 0; ; i++ {
		w.Emit(event(i))
		if err := w.Err(); err != nil {
			return err
		}
	}
}

func concurrent(dir string, writers, appends int) error {
	if _, err := lake.Create(dir, lake.RiskEventsSchema()); err != nil {
		return err
	}
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for g := range writers {
		wg.Go(func() {
			w, err := lake.NewEventWriter(dir, "writer-"+strconv.Itoa(g), lake.WriterOptions{BatchSize: 4})
			if err != nil {
				errs <- err
				return
			}
			for i := range appends * 4 {
				w.Emit(event(i))
			}
			errs <- w.Close()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func logCmd(dir string) error {
	snap, err := lake.Snapshot(dir, -1)
	if err != nil {
		return err
	}
	files := make([]string, len(snap.Files))
	for i, f := range snap.Files {
		files[i] = f.Path
	}
	n, _ := snap.NumRecords()
	return json.NewEncoder(os.Stdout).Encode(map[string]any{
		"version": snap.Version, "files": files, "rows": n, "checkpoint": snap.CheckpointVersion,
	})
}

func dump(dir string) error {
	snap, err := lake.Snapshot(dir, -1)
	if err != nil {
		return err
	}
	tbl, err := snap.ReadArrow(context.Background())
	if err != nil {
		return err
	}
	defer tbl.Release()
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	enc := json.NewEncoder(out)
	tr := array.NewTableReader(tbl, 1<<16)
	defer tr.Release()
	for tr.Next() {
		rec := tr.RecordBatch()
		for r := range int(rec.NumRows()) {
			row := make(map[string]any, rec.NumCols())
			for c, f := range rec.Schema().Fields() {
				row[f.Name] = value(rec.Column(c), r)
			}
			if err := enc.Encode(row); err != nil {
				return err
			}
		}
	}
	return nil
}

// value renders one cell for JSON: timestamps as µs since the epoch,
// non-finite floats as strings ("inf", "-inf", "nan").
func value(a arrow.Array, i int) any {
	if a.IsNull(i) {
		return nil
	}
	switch a := a.(type) {
	case *array.String:
		return a.Value(i)
	case *array.Int64:
		return a.Value(i)
	case *array.Int32:
		return a.Value(i)
	case *array.Float64:
		v := a.Value(i)
		switch {
		case math.IsNaN(v):
			return "nan"
		case math.IsInf(v, 1):
			return "inf"
		case math.IsInf(v, -1):
			return "-inf"
		}
		return v
	case *array.Timestamp:
		return int64(a.Value(i))
	case *array.Boolean:
		return a.Value(i)
	}
	return a.ValueStr(i)
}
