package feeds

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Formats of FileConfig.Format.
const (
	FormatCSV     = "csv"
	FormatParquet = "parquet"
	FormatDelta   = "delta"
)

// Presets of FileConfig.Preset.
const (
	PresetDeltaNeutral = "deltaneutral" // DeltaNeutral end-of-day layout, CSV or Parquet (layout.go)
	PresetCboe         = "cboe"         // Cboe DataShop option quotes and interval files (layout.go)
	PresetOCCQuotes    = "occ-quotes"   // one quote per row with an OCC ticker, no underlying (layout.go)
	PresetNative       = "native"       // the layout WriteParquet writes (see native.go)
)

// Column roles: the keys of FileConfig.Columns.
const (
	ColTime            = "time"             // required: quote time
	ColSymbol          = "symbol"           // OCC symbol; or give underlying+expiry+strike+right
	ColUnderlying      = "underlying"       // underlying symbol (default: the OCC root)
	ColExpiry          = "expiry"           // expiry date or timestamp
	ColStrike          = "strike"           //
	ColRight           = "right"            // C/P or call/put, any case
	ColMultiplier      = "multiplier"       // default FileConfig.Multiplier
	ColBid             = "bid"              // required
	ColAsk             = "ask"              // required
	ColUnderlyingPrice = "underlying_price" // required
	ColIV              = "iv"               // absent: 0
	ColDelta           = "delta"            // absent: 0
	ColGamma           = "gamma"            // absent: 0
	ColVega            = "vega"             // absent: 0 (per vol point)
	ColTheta           = "theta"            // absent: 0 (per day)
)

// columnRoles lists every role in a fixed order.
var columnRoles = [...]string{ColTime, ColSymbol, ColUnderlying, ColExpiry, ColStrike, ColRight, ColMultiplier,
	ColBid, ColAsk, ColUnderlyingPrice, ColIV, ColDelta, ColGamma, ColVega, ColTheta}

// FileConfig describes a file source. Decode it straight from the scenario's `feed.file`.
type FileConfig struct {
	// Path is a file, a glob, or a folder (files are read one after another in lexical
	// order; a folder's .csv, .csv.gz, .csv.zst and .parquet files are found at any depth,
	// so Hive-partitioned folders such as date=2020-03-16/part-0.parquet work), or for format
	// "delta" the table's folder. CSV files may be gzip- or zstd-compressed (told by their
	// first bytes, not their name) and must be UTF-8, with or without a byte-order mark.
	Path string `yaml:"path"`
	// Format is "csv", "parquet" or "delta" (a Delta table of Parquet files). Default: from
	// the name of Path (.csv, .csv.gz, .csv.zst, .txt, .parquet), a folder's files, a folder
	// with _delta_log ("delta"), or a file's first bytes (PAR1: parquet; else csv).
	Format string `yaml:"format"`
	// Preset is "deltaneutral", "cboe", "occ-quotes", "native" or "" (custom: Columns is
	// required). See the README, "Vendor files".
	Preset string `yaml:"preset"`
	// Columns maps roles (time, symbol, underlying, expiry, strike, right, multiplier, bid, ask,
	// underlying_price, iv, delta, gamma, vega, theta) to column names in the file. With a preset
	// it overrides single entries. time, bid, ask and underlying_price are required, and either
	// symbol (an OCC symbol) or all of underlying, expiry, strike and right.
	Columns map[string]string `yaml:"columns"`
	// TimeFormat is a strptime format (DuckDB's, e.g. "%Y-%m-%d %H:%M:%S") for the time column
	// of a CSV file. Default: ISO 8601 (DuckDB's timestamp cast), where a value with a UTC
	// offset ("2020-03-20T10:00:00-04:00", "…Z") is that instant and a value without one is
	// wall clock in Timezone. A format with %z or %Z reads every value as an instant; any other
	// format gives wall-clock times. Ignored for typed (Parquet) columns.
	TimeFormat string `yaml:"time_format"`
	// ExpiryFormat is the strptime format of a text expiry column. Default: ISO date. A date
	// (no time of day) means 16:00 America/New_York of that day.
	ExpiryFormat string `yaml:"expiry_format"`
	// Timezone is the zone of wall-clock (zone-less) times, e.g. "America/New_York".
	// Default "UTC". Parquet timestamps marked UTC are read as such.
	Timezone string `yaml:"timezone"`
	// Multiplier is the shares per contract when no multiplier column is mapped. Default 100.
	Multiplier float64 `yaml:"multiplier"`
	// Roots maps OCC roots to their underlying, added to (or overriding) the built-in map
	// (roots.go: SPXW→SPX, NDXP→NDX, RUTW→RUT, …), e.g. {XSPW: XSP}.
	Roots map[string]string `yaml:"roots,omitempty"`
	// Settlement overrides the settlement style per root: "AM" (the expiry morning's opening
	// price) or "PM" (the expiry day's close), e.g. {SPX: PM}. Default: roots.go.
	Settlement map[string]string `yaml:"settlement,omitempty"`
	// Greeks: "file" (the file's columns; absent ones are 0), "compute" (implied vol solved
	// from the mid, greeks from it: iv.go) or "" (auto: compute when the file has no iv and
	// no delta column).
	Greeks string `yaml:"greeks,omitempty"`
	// VegaUnit and ThetaUnit say what the file's vega and theta columns are per, to convert
	// them to the package's units: vega "point" (per 1 vol point, 0.01) or "vol" (per 1.00
	// of volatility: divided by 100); theta "day" (per calendar day) or "year" (divided by
	// 365). Default: the preset's (deltaneutral: vol and year; cboe: point and day), else
	// point and day.
	VegaUnit  string `yaml:"vega_unit,omitempty"`
	ThetaUnit string `yaml:"theta_unit,omitempty"`
	// Rate and DividendYield are the continuous rates used to compute greeks. Default 0.
	Rate          float64 `yaml:"rate,omitempty"`
	DividendYield float64 `yaml:"dividend_yield,omitempty"`
	// UnderlyingPrices is the underlying's price series for files that carry none
	// (occ-quotes): see UnderlyingPrices.
	UnderlyingPrices *UnderlyingPrices `yaml:"underlying_prices,omitempty"`
}

// Validate checks the configuration and names the offending field.
func (c FileConfig) Validate() error {
	if strings.TrimSpace(c.Path) == "" {
		return &FieldError{Field: "path", Msg: "want a file, glob or table folder, found nothing"}
	}
	switch c.Format {
	case "", FormatCSV, FormatParquet, FormatDelta:
	default:
		return &FieldError{Field: "format", Msg: fmt.Sprintf("want csv, parquet or delta, found %q", c.Format)}
	}
	switch c.Preset {
	case "", PresetDeltaNeutral, PresetCboe, PresetOCCQuotes, PresetNative:
	default:
		return &FieldError{Field: "preset", Msg: fmt.Sprintf("want deltaneutral, cboe, occ-quotes, native or nothing, found %q", c.Preset)}
	}
	switch c.Greeks {
	case "", GreeksFile, GreeksCompute:
	default:
		return &FieldError{Field: "greeks", Msg: fmt.Sprintf("want file, compute or nothing (auto), found %q", c.Greeks)}
	}
	switch c.VegaUnit {
	case "", "point", "vol":
	default:
		return &FieldError{Field: "vega_unit", Msg: fmt.Sprintf("want point (per vol point) or vol (per 1.00 of volatility), found %q", c.VegaUnit)}
	}
	switch c.ThetaUnit {
	case "", "day", "year":
	default:
		return &FieldError{Field: "theta_unit", Msg: fmt.Sprintf("want day or year, found %q", c.ThetaUnit)}
	}
	for _, nv := range []namedValue{{"rate", c.Rate}, {"dividend_yield", c.DividendYield}} {
		if math.IsNaN(nv.v) || math.Abs(nv.v) > 1 {
			return &FieldError{Field: nv.name, Msg: fmt.Sprintf("want a continuous rate in [-1, 1], found %v", nv.v)}
		}
	}
	for _, k := range sortedKeys(c.Roots) {
		if !validRoot(k) || !validRoot(c.Roots[k]) {
			return &FieldError{Field: "roots." + k, Msg: fmt.Sprintf("want ROOT: UNDERLYING, 1 to 6 letters, digits or dots each, found %q: %q", k, c.Roots[k])}
		}
	}
	for _, k := range sortedKeys(c.Settlement) {
		if _, err := parseSettlement(c.Settlement[k]); err != nil || !validRoot(k) {
			return &FieldError{Field: "settlement." + k, Msg: fmt.Sprintf("want AM or PM for a root, found %q", c.Settlement[k])}
		}
	}
	if c.UnderlyingPrices != nil {
		if err := c.UnderlyingPrices.validate(); err != nil {
			return err
		}
	}
	for _, k := range sortedKeys(c.Columns) {
		if !slices.Contains(columnRoles[:], k) {
			return &FieldError{Field: "columns." + k, Msg: fmt.Sprintf("unknown role; want one of %s", strings.Join(columnRoles[:], ", "))}
		}
		if strings.TrimSpace(c.Columns[k]) == "" {
			return &FieldError{Field: "columns." + k, Msg: "want a column name, found nothing"}
		}
	}
	if c.Preset == "" {
		for _, k := range []string{ColTime, ColBid, ColAsk, ColUnderlyingPrice} {
			if c.Columns[k] == "" && !(k == ColUnderlyingPrice && c.UnderlyingPrices != nil) {
				return &FieldError{Field: "columns." + k, Msg: "required without a preset"}
			}
		}
		if c.Columns[ColSymbol] == "" {
			for _, k := range []string{ColUnderlying, ColExpiry, ColStrike, ColRight} {
				if c.Columns[k] == "" {
					return &FieldError{Field: "columns." + k, Msg: "required when columns.symbol is not given"}
				}
			}
		}
	}
	if c.Timezone != "" {
		if _, err := loadZone(c.Timezone); err != nil {
			return &FieldError{Field: "timezone", Msg: err.Error()}
		}
	}
	if c.Multiplier < 0 || math.IsNaN(c.Multiplier) || math.IsInf(c.Multiplier, 0) {
		return &FieldError{Field: "multiplier", Msg: fmt.Sprintf("want > 0 (0 = default 100), found %v", c.Multiplier)}
	}
	for _, nf := range [...]struct{ name, f string }{{"time_format", c.TimeFormat}, {"expiry_format", c.ExpiryFormat}} {
		name, f := nf.name, nf.f
		if strings.ContainsAny(f, "'\x00") {
			return &FieldError{Field: name, Msg: fmt.Sprintf("quotes and NUL are not allowed, found %q", f)}
		}
	}
	return nil
}

// DayBar is one trading day's anchors: the underlying's open, high, low and close and the VIX
// close. Days not listed are holidays.
type DayBar struct {
	Date  string  `yaml:"date"` // 2006-01-02
	Open  float64 `yaml:"open"`
	High  float64 `yaml:"high"`
	Low   float64 `yaml:"low"`
	Close float64 `yaml:"close"`
	VIX   float64 `yaml:"vix"` // VIX close, in points (20 = 20% annualised)
}

// StrikeConfig lays out the chain's strikes.
type StrikeConfig struct {
	// AroundSpotPct: strikes from open×(1-p/100) to open×(1+p/100), fixed for the day from the
	// day's open. Default 10.
	AroundSpotPct float64 `yaml:"around_spot_pct"`
	// Step between strikes, in dollars. Default 5.
	Step float64 `yaml:"step"`
}

// ExpiryConfig picks the listed expiries.
type ExpiryConfig struct {
	// Weekly is the number of Friday expiries listed (the nearest first). Default 4; -1 = none.
	Weekly int `yaml:"weekly"`
	// Monthly is the number of third-Friday expiries listed. Default 2; -1 = none. A monthly
	// that is also one of the weeklies is listed once.
	Monthly int `yaml:"monthly"`
}

// SpreadConfig is the bid/ask model of the synthetic chain. A zero field takes its default.
// With vega the option's vega per vol point (dollars per share), tv its time value (price
// minus intrinsic value at the spot, never the intrinsic value itself), VIX the volatility
// level at the quote time (points) and tick the option's tick:
//
//	stress = (VIX / VolRef)^VolExp
//	width  = tick × (MinTicks + round(stress × (VolWidth × vega + TimeValuePct/100 × tv) / tick))
//	bid    = theo − width/2 rounded to the tick grid, ask = bid + width
//
// then each expiry's columns are arranged (see arrange in spread.go): every bid is at least
// intrinsic value minus one tick and at least one tick, ask ≥ bid + 1 tick, and no adjacent
// same-expiry vertical has a natural price (buying it: ask of the more valuable leg minus bid
// of the other) above its strike width; its natural selling price is ≥ 0 except in the cheap
// wing, where it can be −1 tick. So mid = theo within half a tick except where those bounds
// move a quote (deep in the money, where the bounds pin quotes near intrinsic value, and in
// the cheap wing).
//
// Defaults are calibrated to SPY (see the README): at VIX 14 a near-the-money weekly is
// 1–2 cents wide and a 30-day at-the-money option 2–3 cents; at VIX 40 about 10 cents; at
// VIX 80 tens of cents.
type SpreadConfig struct {
	// Tick is the quoting increment, dollars. Default 0.01 (SPY, QQQ and IWM options quote in
	// pennies at every price since 2010; most other penny classes use 0.05 from $3).
	Tick float64 `yaml:"tick"`
	// TickAbove3 is the increment for options priced at $3 or more: a multiple of Tick.
	// Default Tick.
	TickAbove3 float64 `yaml:"tick_above_3"`
	// MinTicks is the narrowest quote, in ticks. Default 1.
	MinTicks int `yaml:"min_ticks"`
	// VolWidth is the width in implied-vol points at stress 1, applied to vega. Default 0.04.
	VolWidth float64 `yaml:"vol_width"`
	// TimeValuePct is the width as a percentage of time value at stress 1. Default 0.2.
	TimeValuePct float64 `yaml:"time_value_pct"`
	// VolRef is the VIX level (points) at which stress is 1. Default 15.
	VolRef float64 `yaml:"vol_ref"`
	// VolExp is the exponent of the stress factor. Default 1.5.
	VolExp float64 `yaml:"vol_exp"`
}

// SyntheticConfig describes a synthetic chain anchored to real daily bars. Decode it from the
// scenario's `feed.synthetic`; the seed is the scenario's and is passed to NewSynthetic.
//
// Implied vol (τ the time to expiry in years, τ30 = 30/365, v = VIX/100 interpolated intraday
// linearly from the previous day's close to the day's close, F the forward, K the strike):
//
//	atm(τ) = v × (τ30 / max(τ, 1/365))^TermSlope
//	σ(K,τ) = clamp(atm(τ) × (1 − Skew × ln(K/F) / √(max(τ,1/365)/τ30)), 0.01, 5)
//
// so TermSlope > 0 lifts short-dated vol (the inverted curve of a sell-off) and Skew > 0
// lifts puts' vol more the shorter the expiry. Zero means flat for both (that zero is not a
// default). Typical SPX values: skew 0.8–1.2, term_slope 0.05–0.2.
type SyntheticConfig struct {
	Underlying string   `yaml:"underlying"` // required, e.g. SPY; also the OCC root
	Days       []DayBar `yaml:"days"`       // required, strictly increasing dates
	// Every is the quote interval. Default 5m. The session's close is always quoted.
	Every time.Duration `yaml:"every"`
	// Session is "HH:MM-HH:MM Zone". Default "09:30-16:00 America/New_York".
	Session       string       `yaml:"session"`
	Strikes       StrikeConfig `yaml:"strikes"`
	Expiries      ExpiryConfig `yaml:"expiries"`
	Rate          float64      `yaml:"rate"`           // continuous risk-free rate; 0 is zero
	DividendYield float64      `yaml:"dividend_yield"` // continuous yield; 0 is zero
	Skew          float64      `yaml:"skew"`           // see above; 0 = flat
	TermSlope     float64      `yaml:"term_slope"`     // see above; 0 = flat
	Spread        SpreadConfig `yaml:"spread"`
	// MinPrice: options whose Black-Scholes price is below it are not quoted (real chains
	// show them with a zero bid). Default 0.01.
	MinPrice float64 `yaml:"min_price"`
	// Multiplier is the shares per contract. Default 100.
	Multiplier float64 `yaml:"multiplier"`
}

// Defaults.
const (
	defaultEvery         = 5 * time.Minute
	defaultSession       = "09:30-16:00 America/New_York"
	defaultAroundSpotPct = 10
	defaultStrikeStep    = 5
	defaultWeekly        = 4
	defaultMonthly       = 2
	defaultTick          = 0.01
	defaultMinTicks      = 1
	defaultVolWidth      = 0.04
	defaultTimeValuePct  = 0.2
	defaultVolRef        = 15
	defaultVolExp        = 1.5
	defaultMinPrice      = 0.01
	maxChainStrikes      = 2000 // bound per day and expiry: a tiny step must not explode memory
	maxExpiries          = 60
)

func (c SyntheticConfig) withDefaults() SyntheticConfig {
	if c.Every == 0 {
		c.Every = defaultEvery
	}
	if c.Session == "" {
		c.Session = defaultSession
	}
	if c.Strikes.AroundSpotPct == 0 {
		c.Strikes.AroundSpotPct = defaultAroundSpotPct
	}
	if c.Strikes.Step == 0 {
		c.Strikes.Step = defaultStrikeStep
	}
	if c.Expiries.Weekly == 0 {
		c.Expiries.Weekly = defaultWeekly
	}
	if c.Expiries.Monthly == 0 {
		c.Expiries.Monthly = defaultMonthly
	}
	sp := &c.Spread
	if sp.Tick == 0 {
		sp.Tick = defaultTick
	}
	if sp.TickAbove3 == 0 {
		sp.TickAbove3 = sp.Tick
	}
	if sp.MinTicks == 0 {
		sp.MinTicks = defaultMinTicks
	}
	if sp.VolWidth == 0 {
		sp.VolWidth = defaultVolWidth
	}
	if sp.TimeValuePct == 0 {
		sp.TimeValuePct = defaultTimeValuePct
	}
	if sp.VolRef == 0 {
		sp.VolRef = defaultVolRef
	}
	if sp.VolExp == 0 {
		sp.VolExp = defaultVolExp
	}
	if c.MinPrice == 0 {
		c.MinPrice = defaultMinPrice
	}
	if c.Multiplier == 0 {
		c.Multiplier = DefaultMultiplier
	}
	return c
}

// session is a parsed SyntheticConfig.Session.
type session struct {
	open, close time.Duration // since local midnight
	loc         *time.Location
}

func parseSession(s string) (session, error) {
	hours, zone, ok := strings.Cut(strings.TrimSpace(s), " ")
	if !ok {
		return session{}, fmt.Errorf("want \"HH:MM-HH:MM Zone\", found %q", s)
	}
	a, b, ok := strings.Cut(hours, "-")
	if !ok {
		return session{}, fmt.Errorf("want \"HH:MM-HH:MM Zone\", found %q", s)
	}
	open, err1 := parseClock(a)
	cl, err2 := parseClock(b)
	if err1 != nil || err2 != nil {
		return session{}, fmt.Errorf("want \"HH:MM-HH:MM Zone\", found %q", s)
	}
	if cl <= open {
		return session{}, fmt.Errorf("close %s is not after open %s", b, a)
	}
	loc, err := loadZone(strings.TrimSpace(zone))
	if err != nil {
		return session{}, err
	}
	return session{open: open, close: cl, loc: loc}, nil
}

func parseClock(s string) (time.Duration, error) {
	h, m, ok := strings.Cut(s, ":")
	if !ok || len(h) != 2 || len(m) != 2 {
		return 0, fmt.Errorf("bad clock %q", s)
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hh < 0 || hh > 23 || mm < 0 || mm > 59 {
		return 0, fmt.Errorf("bad clock %q", s)
	}
	return time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute, nil
}

func loadZone(name string) (*time.Location, error) {
	if name == "" || name == "UTC" {
		return time.UTC, nil
	}
	if name == "Local" {
		return nil, fmt.Errorf("zone %q depends on the host; name a zone", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q", name)
	}
	return loc, nil
}

// Validate checks the configuration (after defaults) and names the offending field.
func (c SyntheticConfig) Validate() error {
	_, err := c.withDefaults().compile()
	return err
}

// minSessionPoints: open, two extremes and close need four distinct quote times.
const minSessionPoints = 4

// compiled is a validated configuration with parsed dates.
type compiled struct {
	cfg   SyntheticConfig
	sess  session
	dates []time.Time // local midnight of each day, in sess.loc
}

func (c SyntheticConfig) compile() (*compiled, error) {
	if strings.TrimSpace(c.Underlying) == "" || len(c.Underlying) > 6 || strings.ContainsAny(c.Underlying, " \t") {
		return nil, &FieldError{Field: "underlying", Msg: fmt.Sprintf("want 1 to 6 characters without spaces (the OCC root), found %q", c.Underlying)}
	}
	sess, err := parseSession(c.Session)
	if err != nil {
		return nil, &FieldError{Field: "session", Msg: err.Error()}
	}
	if c.Every < time.Second {
		return nil, &FieldError{Field: "every", Msg: fmt.Sprintf("want at least 1s, found %v", c.Every)}
	}
	if n := int((sess.close-sess.open)/c.Every) + 1; n < minSessionPoints {
		return nil, &FieldError{Field: "every", Msg: fmt.Sprintf("%v gives %d quote times in the session; want at least %d", c.Every, n, minSessionPoints)}
	}
	if !(c.Strikes.AroundSpotPct > 0 && c.Strikes.AroundSpotPct < 100) {
		return nil, &FieldError{Field: "strikes.around_spot_pct", Msg: fmt.Sprintf("want in (0, 100), found %v", c.Strikes.AroundSpotPct)}
	}
	if !(c.Strikes.Step > 0) || math.IsInf(c.Strikes.Step, 0) {
		return nil, &FieldError{Field: "strikes.step", Msg: fmt.Sprintf("want > 0, found %v", c.Strikes.Step)}
	}
	if c.Expiries.Weekly < -1 || c.Expiries.Weekly > maxExpiries {
		return nil, &FieldError{Field: "expiries.weekly", Msg: fmt.Sprintf("want -1 (none) to %d, found %d", maxExpiries, c.Expiries.Weekly)}
	}
	if c.Expiries.Monthly < -1 || c.Expiries.Monthly > maxExpiries {
		return nil, &FieldError{Field: "expiries.monthly", Msg: fmt.Sprintf("want -1 (none) to %d, found %d", maxExpiries, c.Expiries.Monthly)}
	}
	if c.Expiries.Weekly < 0 && c.Expiries.Monthly < 0 {
		return nil, &FieldError{Field: "expiries", Msg: "no expiries listed"}
	}
	for _, nv := range []namedValue{{"rate", c.Rate}, {"dividend_yield", c.DividendYield}, {"skew", c.Skew}, {"term_slope", c.TermSlope}} {
		name, v := nv.name, nv.v
		if math.IsNaN(v) || math.Abs(v) > 10 {
			return nil, &FieldError{Field: name, Msg: fmt.Sprintf("want a number in [-10, 10], found %v", v)}
		}
	}
	sp := c.Spread
	for _, nv := range []namedValue{{"spread.tick", sp.Tick}, {"spread.tick_above_3", sp.TickAbove3}, {"spread.min_ticks", float64(sp.MinTicks)},
		{"spread.vol_width", sp.VolWidth}, {"spread.time_value_pct", sp.TimeValuePct}, {"spread.vol_ref", sp.VolRef}, {"spread.vol_exp", sp.VolExp},
		{"min_price", c.MinPrice}, {"multiplier", c.Multiplier}} {
		name, v := nv.name, nv.v
		if !(v > 0) || math.IsInf(v, 0) {
			return nil, &FieldError{Field: name, Msg: fmt.Sprintf("want > 0, found %v", v)}
		}
	}
	if per := 1 / sp.Tick; sp.Tick > 1 || math.Abs(per-math.Round(per)) > 1e-6 {
		return nil, &FieldError{Field: "spread.tick", Msg: fmt.Sprintf("want a whole fraction of a dollar (0.01, 0.05, 0.1, ...), found %v", sp.Tick)}
	}
	if m := sp.TickAbove3 / sp.Tick; m < 1 || math.Abs(m-math.Round(m)) > 1e-6 {
		return nil, &FieldError{Field: "spread.tick_above_3", Msg: fmt.Sprintf("want a multiple of spread.tick %v, found %v", sp.Tick, sp.TickAbove3)}
	}
	if sp.VolWidth > 100 || sp.TimeValuePct > 100 || sp.VolRef > 1000 || sp.VolExp > 10 || sp.MinTicks > 1000 {
		return nil, &FieldError{Field: "spread", Msg: fmt.Sprintf("want vol_width ≤ 100, time_value_pct ≤ 100, vol_ref ≤ 1000, vol_exp ≤ 10, min_ticks ≤ 1000, found %+v", sp)}
	}
	if c.Strikes.Step < 2*sp.TickAbove3 {
		return nil, &FieldError{Field: "strikes.step", Msg: fmt.Sprintf("want at least two ticks (%v), found %v", 2*sp.TickAbove3, c.Strikes.Step)}
	}
	if len(c.Days) == 0 {
		return nil, &FieldError{Field: "days", Msg: "want at least one day"}
	}
	out := &compiled{cfg: c, sess: sess, dates: make([]time.Time, len(c.Days))}
	for i, d := range c.Days {
		f := fmt.Sprintf("days[%d]", i)
		t, err := time.ParseInLocation(time.DateOnly, d.Date, sess.loc)
		if err != nil {
			return nil, &FieldError{Field: f + ".date", Msg: fmt.Sprintf("want YYYY-MM-DD, found %q", d.Date)}
		}
		if i > 0 && !t.After(out.dates[i-1]) {
			return nil, &FieldError{Field: f + ".date", Msg: fmt.Sprintf("%s is not after %s", d.Date, c.Days[i-1].Date)}
		}
		out.dates[i] = t
		for _, nv := range []namedValue{{"open", d.Open}, {"high", d.High}, {"low", d.Low}, {"close", d.Close}, {"vix", d.VIX}} {
			name, v := nv.name, nv.v
			if !(v > 0) || math.IsInf(v, 0) {
				return nil, &FieldError{Field: f + "." + name, Msg: fmt.Sprintf("want > 0, found %v", v)}
			}
		}
		if d.Low > math.Min(d.Open, d.Close) {
			return nil, &FieldError{Field: f + ".low", Msg: fmt.Sprintf("low %v is above open %v or close %v", d.Low, d.Open, d.Close)}
		}
		if d.High < math.Max(d.Open, d.Close) {
			return nil, &FieldError{Field: f + ".high", Msg: fmt.Sprintf("high %v is below open %v or close %v", d.High, d.Open, d.Close)}
		}
		if n := d.Open * c.Strikes.AroundSpotPct / 100 * 2 / c.Strikes.Step; n > maxChainStrikes {
			return nil, &FieldError{Field: "strikes.step", Msg: fmt.Sprintf("%v gives %.0f strikes on %s; at most %d", c.Strikes.Step, n, d.Date, maxChainStrikes)}
		}
	}
	return out, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// namedValue keeps validation in a fixed field order (a map would pick the reported field at
// random when several are bad).
type namedValue struct {
	name string
	v    float64
}
