package feeds

import (
	"fmt"
	"time"
)

// deltaNeutralHeader is the vendor's header, in order. Files have " exchange" with a leading
// space; names are compared after trimming spaces.
var deltaNeutralHeader = []string{"underlying", "underlying_last", "exchange", "optionroot", "optionext", "type",
	"expiration", "quotedate", "strike", "last", "bid", "ask", "volume", "openinterest", "impliedvol", "delta",
	"gamma", "theta", "vega", "optionalias"}

// layout is a resolved column mapping with its time conventions.
type layout struct {
	cols         map[string]string // role → source column
	timeFormat   string            // strptime format of a text time column
	expiryFormat string            // strptime format of a text expiry column
	timeAdd      time.Duration     // added to wall-clock times (deltaneutral: dates stamped 16:00)
	loc          *time.Location    // zone of wall-clock times
	multiplier   float64
	// symbolFromRoot: the symbol role names a column holding either an OCC symbol or a bare
	// root (deltaneutral's optionroot); a bare root is composed into an OCC symbol.
	symbolFromRoot bool
	csvHeader      []string // for CSV presets: the required header (trimmed), nil for any
}

// resolveLayout merges the preset with cfg.Columns and the time settings.
func resolveLayout(cfg FileConfig) (*layout, error) {
	l := &layout{cols: map[string]string{}, timeFormat: cfg.TimeFormat, expiryFormat: cfg.ExpiryFormat}
	zone := cfg.Timezone
	switch cfg.Preset {
	case PresetDeltaNeutral:
		for role, col := range map[string]string{
			ColTime: "quotedate", ColSymbol: "optionroot", ColUnderlying: "underlying", ColExpiry: "expiration",
			ColStrike: "strike", ColRight: "type", ColBid: "bid", ColAsk: "ask", ColUnderlyingPrice: "underlying_last",
			ColIV: "impliedvol", ColDelta: "delta", ColGamma: "gamma", ColVega: "vega", ColTheta: "theta",
		} {
			l.cols[role] = col
		}
		// The preset's rows are end-of-day quotes stamped 16:00 New York:
		// a time_format with a time of day would be shifted by 16 hours.
		if l.timeFormat != "" && l.timeFormat != "%m/%d/%Y" {
			return nil, &FieldError{Field: "time_format", Msg: fmt.Sprintf("the deltaneutral preset reads dates (%%m/%%d/%%Y) and stamps them 16:00 New York; found %q", l.timeFormat)}
		}
		l.timeFormat = "%m/%d/%Y"
		if l.expiryFormat == "" {
			l.expiryFormat = "%m/%d/%Y"
		}
		if zone == "" {
			zone = "America/New_York"
		}
		l.timeAdd = 16 * time.Hour
		l.symbolFromRoot = true
		l.csvHeader = deltaNeutralHeader
	case PresetNative:
		for _, f := range NativeSchema().Fields() {
			l.cols[f.Name] = f.Name
		}
	}
	for _, role := range sortedKeys(cfg.Columns) {
		l.cols[role] = cfg.Columns[role]
	}
	loc, err := loadZone(zone)
	if err != nil {
		return nil, &FieldError{Field: "timezone", Msg: err.Error()}
	}
	l.loc = loc
	l.multiplier = cfg.Multiplier
	if l.multiplier == 0 {
		l.multiplier = DefaultMultiplier
	}
	return l, nil
}
