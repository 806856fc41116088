package runner

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/optionsrisk/backtest/reports"
)

// CatalogDir is the runs folder's catalog table: one row per published run.
const CatalogDir = "_catalog"

// CatalogSchema is the catalog's columns. Nothing wall-clock: a sweep gives
// the same rows whatever its workers did.
func CatalogSchema() *arrow.Schema {
	str, i64, f64 := arrow.BinaryTypes.String, arrow.PrimitiveTypes.Int64, arrow.PrimitiveTypes.Float64
	f := func(n string, t arrow.DataType, null bool) arrow.Field {
		return arrow.Field{Name: n, Type: t, Nullable: null}
	}
	return arrow.NewSchema([]arrow.Field{
		f("run_id", str, false),
		f("scenario", str, true),
		f("config_hash", str, true),
		f("seed", i64, true),
		f("overrides", str, true), // JSON array of the --set/--grid settings
		f("pnl", f64, true),
		f("return_pct", f64, true),
		f("max_drawdown_pct", f64, true),
		f("sharpe", f64, true),
		f("sortino", f64, true),
		f("trades", i64, true),
		f("win_rate", f64, true),
		f("stop_triggers", i64, true),
		f("breaker_trips", i64, true),
		f("orders_blocked", i64, true),
		f("limit_rejections", i64, true),
		f("risk_events", i64, true),
	}, nil)
}

// CatalogRow is one catalog row.
type CatalogRow struct {
	RunID, Scenario, ConfigHash string
	Seed                        uint64
	Overrides                   []string
	Results                     reports.Object
}

// appendCatalogRow appends r to a builder of CatalogSchema.
func appendCatalogRow(b *array.RecordBuilder, r CatalogRow) {
	m := reports.Flatten(r.Results)
	ov, _ := json.Marshal(r.Overrides)
	if r.Overrides == nil {
		ov = []byte("[]")
	}
	b.Field(0).(*array.StringBuilder).Append(r.RunID)
	b.Field(1).(*array.StringBuilder).Append(r.Scenario)
	b.Field(2).(*array.StringBuilder).Append(r.ConfigHash)
	b.Field(3).(*array.Int64Builder).Append(int64(r.Seed))
	b.Field(4).(*array.StringBuilder).Append(string(ov))
	floats := []string{"pnl.total", "pnl.return_pct", "drawdown.max_pct", "ratios.sharpe", "ratios.sortino"}
	for i, k := range floats {
		appendFloat(b.Field(5+i).(*array.Float64Builder), m[k])
	}
	appendInt(b.Field(10).(*array.Int64Builder), m["trades.closed"])
	appendFloat(b.Field(11).(*array.Float64Builder), m["trades.win_rate"])
	appendInt(b.Field(12).(*array.Int64Builder), m["trailing_stop.triggered"])
	appendInt(b.Field(13).(*array.Int64Builder), m["circuit_breaker.trips"])
	appendInt(b.Field(14).(*array.Int64Builder), m["circuit_breaker.blocked"])
	var rej, events int64
	for k, v := range m {
		n, _ := v.(int64)
		switch {
		case strings.HasPrefix(k, "portfolio_limits.rejections."):
			rej += n
		case strings.HasPrefix(k, "events."):
			events += n
		}
	}
	b.Field(15).(*array.Int64Builder).Append(rej)
	b.Field(16).(*array.Int64Builder).Append(events)
}

// catalogRowOf reads a published run's catalog row from its folder.
func catalogRowOf(dir string) (CatalogRow, error) {
	var meta reports.RunMeta
	b, err := os.ReadFile(filepath.Join(dir, "run.json"))
	if err != nil {
		return CatalogRow{}, err
	}
	if err := json.Unmarshal(b, &meta); err != nil {
		return CatalogRow{}, err
	}
	results, _, err := reports.ReadResults(filepath.Join(dir, "summary.json"))
	if err != nil {
		return CatalogRow{}, err
	}
	return CatalogRow{RunID: meta.RunID, Scenario: meta.Scenario, ConfigHash: meta.ConfigHash, Seed: meta.Seed,
		Overrides: meta.Overrides, Results: results}, nil
}

func appendFloat(b *array.Float64Builder, v any) {
	switch x := v.(type) {
	case float64:
		b.Append(x)
	case int64:
		b.Append(float64(x))
	default:
		b.AppendNull()
	}
}

func appendInt(b *array.Int64Builder, v any) {
	if x, ok := v.(int64); ok {
		b.Append(x)
		return
	}
	b.AppendNull()
}
