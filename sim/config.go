package sim

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

// ErrConfig is wrapped by every configuration error of this package.
var ErrConfig = errors.New("sim: invalid configuration")

// FieldError names the configuration field that is wrong.
type FieldError struct {
	Field string // dotted path, e.g. "strategy.entry.qty"
	Msg   string
	// ExprLine and ExprCol locate a problem inside a condition's text
	// (1-based line, 0-based column); 0 for other fields.
	ExprLine, ExprCol int
}

func (e *FieldError) Error() string {
	if e.ExprLine > 0 {
		return fmt.Sprintf("%s: %d:%d: %s", e.Field, e.ExprLine, e.ExprCol+1, e.Msg)
	}
	return e.Field + ": " + e.Msg
}

// Unwrap lets callers test for ErrConfig.
func (e *FieldError) Unwrap() error { return ErrConfig }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Config is everything the simulator needs besides the feed and the risk
// settings. Zero values mean the documented defaults.
type Config struct {
	Start, End time.Time // simulated period [Start, End); End exclusive
	// Session is the daily trading window. The market is open in it on
	// exchange trading days only (feeds.IsTradingDay), and closes at the
	// earlier of its close and the exchange's (13:00 New York on early
	// closes). Entry schedules, the broker and order_timeout use it.
	Session  Session
	Capital  float64 // starting cash, dollars; default 100000
	Strategy StrategyConfig
	Broker   BrokerConfig
	// EquityEvery is the interval of equity snapshots (default 15m). Snapshots
	// are taken only for intervals in which the market quoted.
	EquityEvery time.Duration
	// HealthEvery is the interval of scheduled limits health checks (default 5m).
	HealthEvery time.Duration
	// NoAttribution switches risk attribution off (attribution.go). It
	// changes no row of the actual run, only whether Result.Attribution is
	// computed.
	NoAttribution bool
}

// Session is the daily trading window in a time zone.
type Session struct {
	Open, Close time.Duration // offsets from local midnight
	Loc         *time.Location
}

// ParseSession reads "09:30-16:00 America/New_York". The zone defaults to
// America/New_York when omitted.
func ParseSession(s string) (Session, error) {
	if s == "" {
		s = "09:30-16:00 America/New_York"
	}
	var hours, zone string
	if n, _ := fmt.Sscanf(s, "%s %s", &hours, &zone); n < 1 {
		return Session{}, fmt.Errorf("session %q: want \"HH:MM-HH:MM Zone\"", s)
	}
	if zone == "" {
		zone = "America/New_York"
	}
	var oh, om, ch, cm int
	if n, err := fmt.Sscanf(hours, "%d:%d-%d:%d", &oh, &om, &ch, &cm); n != 4 || err != nil {
		return Session{}, fmt.Errorf("session %q: want \"HH:MM-HH:MM Zone\"", s)
	}
	open := time.Duration(oh)*time.Hour + time.Duration(om)*time.Minute
	cls := time.Duration(ch)*time.Hour + time.Duration(cm)*time.Minute
	if oh > 23 || ch > 24 || om > 59 || cm > 59 || open >= cls {
		return Session{}, fmt.Errorf("session %q: open must be before close within one day", s)
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return Session{}, fmt.Errorf("session %q: unknown time zone %q", s, zone)
	}
	return Session{Open: open, Close: cls, Loc: loc}, nil
}

// StrategyConfig says when to enter, what, how many, and how to exit.
type StrategyConfig struct {
	Entry EntryConfig `yaml:"entry"`
	Exit  ExitConfig  `yaml:"exit"`
	// Replay, when set, takes entries and exits from a recorded execution
	// log instead of Entry's rules (see ReplayConfig).
	Replay *ReplayConfig `yaml:"replay,omitempty"`
}

// ReplayConfig is a recorded execution log to replay through the risk
// layers: what would other risk settings have done to these trades?
//
// Rows of one execution id with the same time and status are one order:
// one row per leg, so a condor is four rows (at most 4 legs). Each
// execution id's first filled order is its entry: it passes the limits
// check and the breaker and, if both allow it, opens a position at the
// recorded prices and time. The first row's side sets the structure's side
// (buy: long), the legs' quantities its units (their greatest common
// divisor) and ratios, its net premium Σ ± price × ratio; the structure is
// named from its legs (single, vertical, straddle, strangle, calendar,
// diagonal, ratio, butterfly, iron_condor, iron_butterfly). A later filled
// order of the same id is the recorded exit, applied at its prices (a leg
// it does not list at its mark) if the position is still open (a trailing
// stop may have closed it first, through the simulated broker). Rows with
// status "rejected" count as broker failures for the breaker. Contracts
// are OCC symbols the feed quotes.
type ReplayConfig struct {
	// Path is a CSV or Parquet file or a Delta table with the columns time,
	// execution_id, contract, side (buy/sell), qty, price, status
	// (filled/rejected). Relative paths are relative to the scenario file.
	Path string `yaml:"path,omitempty"`
	// Fills is the log inline, for small logs and the built-in scenario.
	Fills []RecordedFill `yaml:"fills,omitempty"`
}

// RecordedFill is one row of an execution log.
type RecordedFill struct {
	Time        time.Time `yaml:"time"`
	ExecutionID string    `yaml:"execution_id"`
	Contract    string    `yaml:"contract"` // OCC symbol
	Side        string    `yaml:"side"`     // buy or sell
	Qty         int64     `yaml:"qty"`      // > 0
	Price       float64   `yaml:"price"`    // per share
	Status      string    `yaml:"status"`   // filled or rejected
}

// Validate checks one row; i is its index for the error.
func (r *RecordedFill) Validate(i int) error {
	f := fmt.Sprintf("strategy.replay.fills[%d]", i)
	switch {
	case r.Time.IsZero():
		return fieldErr(f+".time", "required")
	case r.ExecutionID == "":
		return fieldErr(f+".execution_id", "required")
	case r.Contract == "":
		return fieldErr(f+".contract", "required (an OCC symbol)")
	case r.Side != "buy" && r.Side != "sell":
		return fieldErr(f+".side", "want buy or sell, got %q", r.Side)
	case r.Qty <= 0:
		return fieldErr(f+".qty", "must be > 0, got %d", r.Qty)
	case r.Status != StatusFilled && r.Status != StatusRejected:
		return fieldErr(f+".status", "want filled or rejected, got %q", r.Status)
	case r.Status == StatusFilled && !(r.Price > 0):
		return fieldErr(f+".price", "a filled row needs a price > 0, got %g", r.Price)
	}
	return nil
}

// EntryConfig selects entries. Exactly one of At, Every, Times schedules
// them. What each entry opens is Structure (see StructureConfig) or the
// shorthand of a single leg or vertical (right, side, spread_width,
// target_delta, moneyness), which means exactly
// {type: single|vertical, side, right, delta: target_delta, width:
// spread_width}. When, if set, must hold for a signal to enter.
// A signal that fires before the day's first quote waits for it (signals
// meanwhile coalesce into it), so end-of-day feeds trade on their daily
// quote; one whose day ends without a quote counts as no quote.
type EntryConfig struct {
	// At is a daily local time "HH:MM" in the session's zone, on trading
	// days; a time outside the session fires at the open or the close
	// (an early close included).
	At string `yaml:"at,omitempty"`
	// Every enters every interval from the open, before the close, on
	// trading days.
	Every time.Duration `yaml:"every,omitempty"`
	// Times lists entry times (RFC 3339), fired as given.
	Times []time.Time `yaml:"times,omitempty"`

	Right string `yaml:"right"` // "put" or "call"
	Side  string `yaml:"side"`  // "short" (sell the premium) or "long"
	// SpreadWidth > 0 makes a vertical spread: the protective leg is this many
	// points further out of the money. 0 trades a single leg.
	SpreadWidth float64 `yaml:"spread_width,omitempty"`
	// TargetDelta picks the contract whose |delta| is closest (default 0.30
	// when Moneyness is 0).
	TargetDelta float64 `yaml:"target_delta,omitempty"`
	// Moneyness picks the strike closest to spot × (1 + Moneyness/100) instead.
	Moneyness float64 `yaml:"moneyness,omitempty"`
	DTE       [2]int  `yaml:"dte"`      // [min, max] days to expiry, inclusive; default [20, 45]
	Qty       int     `yaml:"qty"`      // contracts per entry; default 1
	MaxOpen   int     `yaml:"max_open"` // open positions cap; default 10
	// Underlying restricts selection to one underlying (default: any).
	Underlying string `yaml:"underlying,omitempty"`
	// Limit, when set, is the entry order's limit price (see EntryLimit).
	Limit *EntryLimit `yaml:"limit,omitempty"`
	// Structure, when set, is what each entry opens (see StructureConfig);
	// then right, side, spread_width, target_delta and moneyness, the
	// shorthand of a single leg or a vertical, must be left out.
	Structure *StructureConfig `yaml:"structure,omitempty"`
	// When, if set, is an entry condition (see Condition): a signal whose
	// condition is false does not enter (SignalOutcomes.Condition).
	When string `yaml:"when,omitempty"`
}

// plan is the entry's structure: Structure, or the shorthand's single leg
// or vertical. The config must have its defaults.
func (e *EntryConfig) plan() (structPlan, error) {
	if e.Structure != nil {
		return e.Structure.plan("strategy.entry.structure", e.DTE)
	}
	return legacyStructure(e).plan("strategy.entry", e.DTE)
}

// side is the entry's side, short or long.
func (e *EntryConfig) side() string {
	if e.Structure != nil {
		if e.Structure.Side == "" {
			return "short"
		}
		return e.Structure.Side
	}
	return e.Side
}

// EntryLimit is an entry order's limit price, net per share of the
// structure. A short entry (selling premium) fills only at a net credit of
// at least MinCredit; a long entry only at a net debit of at most MaxDebit.
// The fill model's price (slippage included) is compared with the limit on
// every quote of every leg while the order works; an order whose limit is
// never met expires at order_timeout (a broker outcome, so the breaker
// hears a failure).
type EntryLimit struct {
	MinCredit float64 `yaml:"min_credit,omitempty"` // short entries; > 0
	MaxDebit  float64 `yaml:"max_debit,omitempty"`  // long entries; > 0
}

// ExitConfig says when positions are closed other than by the trailing
// stops and expiry. Every open position is looked at on every instant its
// underlying quotes; the rules are checked in this order and the first
// that fires sends the exit, its name being the exit reason in fills,
// trades and the report: dte_floor, time_of_day, max_hold, profit_target,
// loss_limit, condition; then the trailing stop (trailing_stop,
// stop_loss). Prices are the structure's net premium on the side that
// closes it (the ask of a short structure, the bid of a long one), as the
// stops see it.
type ExitConfig struct {
	// DTEFloor closes a position when its days to expiry (of its first
	// expiry) fall to this value. 0 holds to expiry, where it settles at
	// intrinsic value (a later leg of a calendar at its mark).
	DTEFloor int `yaml:"dte_floor,omitempty"`
	// ProfitTargetPct closes once this % of the entry premium is gained: a
	// short structure when buying it back costs credit × (1 − pct/100) or
	// less (50 = half the credit kept), a long one when it sells for
	// debit × (1 + pct/100) or more.
	ProfitTargetPct float64 `yaml:"profit_target_pct,omitempty"`
	// LossLimit closes once the loss reaches this multiple of the entry
	// premium: a short structure when buying it back costs
	// credit × (1 + loss_limit) or more (2 = lose twice the credit), a long
	// one when it sells for debit × (1 − loss_limit) or less (< 1).
	LossLimit float64 `yaml:"loss_limit,omitempty"`
	// MaxHold closes a position held this long (time in trade, calendar time).
	MaxHold time.Duration `yaml:"max_hold,omitempty"`
	// At closes every position at or after this local time "HH:MM" of each
	// day, on its first monitoring then (a position opened after it that
	// day waits for the next day's).
	At string `yaml:"at,omitempty"`
	// When closes a position when this condition is true (see Env; the
	// pos_ variables are the position's).
	When string `yaml:"when,omitempty"`
}

// BrokerConfig is the fill model and its faults.
type BrokerConfig struct {
	Latency time.Duration `yaml:"latency"` // order → broker response; default 500ms
	// OrderTimeout is how much session time an accepted order works before
	// it expires (default 30m); nights, weekends and holidays do not count.
	// An order that expires with a fresh quote of every leg (its limit was
	// never met) is a failed order for the circuit breaker; one that expires
	// because a leg never quoted is "no_market", which is not.
	OrderTimeout          time.Duration  `yaml:"order_timeout,omitempty"`
	Slippage              SlippageConfig `yaml:"slippage"`
	CommissionPerContract float64        `yaml:"commission_per_contract"`
	Faults                FaultConfig    `yaml:"faults"`
	// ClosedMarket is what the broker does with an order that reaches it
	// while the market is closed (outside the session, on a weekend or an
	// exchange holiday, after an early close): "wait" (default) holds it
	// until the next session opens; "reject" refuses it at once. Neither
	// is a breaker failure.
	ClosedMarket string `yaml:"closed_market,omitempty"`
	// Fill is the price model of a fill (see FillConfig).
	Fill FillConfig `yaml:"fill,omitempty"`
	// Marks is how legs without a fresh quote are valued (see MarkConfig).
	Marks MarkConfig `yaml:"marks,omitempty"`
}

// FillConfig is the fill price model. Every order, single leg or spread,
// fills at one net price per share of the structure:
//
//	natural:  buy at Σ asks of bought legs − Σ bids of sold legs, sell at the reverse
//	mid:      the net mid, Σ signed leg mids
//	mid_plus: mid ± Fraction × half the natural width, against the trader
//
// Fraction 1 is natural, 0 is mid. The default is mid_plus with Fraction
// 0.5 (README: Muravyev & Pearson 2020 measure effective spreads of options
// at about three quarters of the quoted spread on average and under 40 %
// for traders who time their orders; a desk working a limit on a vertical
// sits between). Slippage then applies on top, and the net price is kept
// inside the structure's no-arbitrage bounds: [0, width] for a vertical,
// [0, strike] for a put, [0, spot] for a call.
type FillConfig struct {
	Model    string  `yaml:"model,omitempty"`
	Fraction float64 `yaml:"fraction,omitempty"`
}

// MarkConfig sets how legs are marked when their own quote is not fresh. A
// quote is fresh when it was stamped on the same local day as the latest
// quote of its underlying and at most StaleAfter before it. A leg without
// a fresh quote is marked by Black-Scholes (feeds.ModelQuote) at its last
// implied vol (the vol that reprices its last mid at its last underlying
// price and time, else the quote's IV), moved to the underlying's latest
// price and the current time, at Rate, no dividend, floored at intrinsic
// value; at or after expiry, or with no vol at all, intrinsic value.
type MarkConfig struct {
	Rate       float64       `yaml:"rate,omitempty"`        // annual, continuous; default 0
	StaleAfter time.Duration `yaml:"stale_after,omitempty"` // default 30m
}

// SlippageConfig: Model is "none" (default), "ticks" (Ticks × TickSize
// against the order) or "spread_fraction" (Fraction × (ask − bid)).
type SlippageConfig struct {
	Model    string  `yaml:"model"`
	Ticks    float64 `yaml:"ticks,omitempty"`
	TickSize float64 `yaml:"tick_size,omitempty"` // default 0.01
	Fraction float64 `yaml:"fraction,omitempty"`
}

// FaultConfig injects broker failures from the run's seeded PRNG.
type FaultConfig struct {
	// RejectProb is the base probability that the broker rejects an order.
	RejectProb float64 `yaml:"reject_prob"`
	// RejectProbPerVolPoint adds this much per implied-vol point (IV × 100)
	// above VolFloor, so rejects rise in a panic.
	RejectProbPerVolPoint float64 `yaml:"reject_prob_per_vol_point"`
	// VolFloor is the IV level in points (default 20) below which the vol
	// term adds nothing.
	VolFloor float64  `yaml:"vol_floor,omitempty"`
	Outages  []Outage `yaml:"outages"`
}

// Outage is a window [Start, End) in which every order fails.
type Outage struct {
	Start time.Time `yaml:"start"`
	End   time.Time `yaml:"end"`
}

// rejectProb is the reject probability for an order on a contract whose
// implied vol is iv (a fraction).
func (f *FaultConfig) rejectProb(iv float64) float64 {
	p := f.RejectProb
	if f.RejectProbPerVolPoint > 0 {
		if pts := iv*100 - f.volFloor(); pts > 0 {
			p += f.RejectProbPerVolPoint * pts
		}
	}
	return min(max(p, 0), 1)
}

func (f *FaultConfig) volFloor() float64 {
	if f.VolFloor == 0 {
		return 20
	}
	return f.VolFloor
}

func (c *Config) withDefaults() Config {
	d := *c
	if d.Capital == 0 {
		d.Capital = 100000
	}
	if d.EquityEvery == 0 {
		d.EquityEvery = 15 * time.Minute
	}
	if d.HealthEvery == 0 {
		d.HealthEvery = 5 * time.Minute
	}
	if d.Session.Loc == nil {
		d.Session, _ = ParseSession("")
	}
	e := &d.Strategy.Entry
	if e.TargetDelta == 0 && e.Moneyness == 0 {
		e.TargetDelta = 0.30
	}
	if e.DTE == [2]int{} {
		e.DTE = [2]int{20, 45}
	}
	if e.Qty == 0 {
		e.Qty = 1
	}
	if e.MaxOpen == 0 {
		e.MaxOpen = 10
	}
	if e.Side == "" {
		e.Side = "short"
	}
	if e.Right == "" {
		e.Right = "put"
	}
	if d.Broker.Latency == 0 {
		d.Broker.Latency = 500 * time.Millisecond
	}
	if d.Broker.OrderTimeout == 0 {
		d.Broker.OrderTimeout = 30 * time.Minute
	}
	if len(e.Times) > 0 { // entries fire in time order, each once
		e.Times = slices.SortedFunc(slices.Values(e.Times), time.Time.Compare)
		e.Times = slices.CompactFunc(e.Times, time.Time.Equal)
	}
	if d.Broker.Slippage.Model == "" {
		d.Broker.Slippage.Model = "none"
	}
	if d.Broker.Slippage.TickSize == 0 {
		d.Broker.Slippage.TickSize = 0.01
	}
	if d.Broker.ClosedMarket == "" {
		d.Broker.ClosedMarket = "wait"
	}
	switch d.Broker.Fill.Model {
	case "":
		d.Broker.Fill = FillConfig{Model: "mid_plus", Fraction: 0.5}
	case "natural":
		d.Broker.Fill.Fraction = 1
	case "mid":
		d.Broker.Fill.Fraction = 0
	case "mid_plus":
		if d.Broker.Fill.Fraction == 0 {
			d.Broker.Fill.Fraction = 0.5
		}
	}
	if d.Broker.Marks.StaleAfter == 0 {
		d.Broker.Marks.StaleAfter = 30 * time.Minute
	}
	return d
}

// Validate reports the first nonsensical setting, naming its field.
func (c *Config) Validate() error {
	d := c.withDefaults()
	e := d.Strategy.Entry
	switch {
	case c.Start.IsZero() || c.End.IsZero():
		return fieldErr("period", "start and end are required")
	case !c.Start.Before(c.End):
		return fieldErr("period", "start %s must be before end %s", c.Start.Format(time.DateOnly), c.End.Format(time.DateOnly))
	case d.Capital < 0:
		return fieldErr("capital", "must be > 0, got %g", d.Capital)
	case d.EquityEvery < 0:
		return fieldErr("report.equity_every", "must be > 0, got %s", d.EquityEvery)
	case d.HealthEvery < 0:
		return fieldErr("risk.limits.health_interval", "must be > 0, got %s", d.HealthEvery)
	}
	if r := c.Strategy.Replay; r != nil {
		if r.Path == "" && len(r.Fills) == 0 {
			return fieldErr("strategy.replay", "give a path or fills")
		}
		for i := range r.Fills {
			if err := r.Fills[i].Validate(i); err != nil {
				return err
			}
		}
	}
	x := d.Strategy.Exit
	if x.At != "" {
		if _, err := parseClock(x.At); err != nil {
			return fieldErr("strategy.exit.at", "%v", err)
		}
	}
	for _, w := range []struct{ field, src string }{{"strategy.entry.when", e.When}, {"strategy.exit.when", x.When}} {
		if w.src == "" {
			continue
		}
		if _, err := CompileCondition(w.src); err != nil {
			ee := err.(*ExprError)
			return &FieldError{Field: w.field, Msg: ee.Msg, ExprLine: ee.Line, ExprCol: ee.Col}
		}
	}
	n := 0
	if e.At != "" {
		n++
		if _, err := parseClock(e.At); err != nil {
			return fieldErr("strategy.entry.at", "%v", err)
		}
	}
	if e.Every != 0 {
		n++
		if e.Every < time.Minute {
			return fieldErr("strategy.entry.every", "must be at least 1m, got %s", e.Every)
		}
	}
	if len(e.Times) > 0 {
		n++
	}
	if raw := c.Strategy.Entry; raw.Structure != nil && (raw.Right != "" || raw.Side != "" || raw.SpreadWidth != 0 || raw.TargetDelta != 0 || raw.Moneyness != 0) {
		return fieldErr("strategy.entry.structure", "give a structure or the shorthand right/side/spread_width/target_delta/moneyness, not both")
	}
	switch {
	case n > 1:
		return fieldErr("strategy.entry", "give only one of at, every, times")
	case e.Right != "put" && e.Right != "call":
		return fieldErr("strategy.entry.right", "want put or call, got %q", e.Right)
	case e.Side != "short" && e.Side != "long":
		return fieldErr("strategy.entry.side", "want short or long, got %q", e.Side)
	case e.SpreadWidth < 0:
		return fieldErr("strategy.entry.spread_width", "must be >= 0, got %g", e.SpreadWidth)
	case e.TargetDelta < 0 || e.TargetDelta >= 1:
		return fieldErr("strategy.entry.target_delta", "want |delta| in (0, 1), got %g", e.TargetDelta)
	case e.TargetDelta != 0 && c.Strategy.Entry.Moneyness != 0:
		return fieldErr("strategy.entry", "give target_delta or moneyness, not both")
	case e.DTE[0] < 0 || e.DTE[1] < e.DTE[0]:
		return fieldErr("strategy.entry.dte", "want [min, max] with 0 <= min <= max, got %v", e.DTE)
	case e.Qty < 0:
		return fieldErr("strategy.entry.qty", "must be > 0, got %d", e.Qty)
	case e.MaxOpen < 0:
		return fieldErr("strategy.entry.max_open", "must be > 0, got %d", e.MaxOpen)
	case d.Strategy.Exit.DTEFloor < 0:
		return fieldErr("strategy.exit.dte_floor", "must be >= 0, got %d", d.Strategy.Exit.DTEFloor)
	case x.ProfitTargetPct < 0 || x.ProfitTargetPct > 100 && d.Strategy.Entry.side() == "short":
		return fieldErr("strategy.exit.profit_target_pct", "want a %% in (0, 100] for a short structure (more for a long one), got %g", x.ProfitTargetPct)
	case x.LossLimit < 0 || x.LossLimit >= 1 && d.Strategy.Entry.side() == "long" && d.Strategy.Replay == nil:
		return fieldErr("strategy.exit.loss_limit", "want a multiple of the premium > 0 (< 1 for a long structure), got %g", x.LossLimit)
	case x.MaxHold < 0:
		return fieldErr("strategy.exit.max_hold", "must be > 0, got %s", x.MaxHold)
	case d.Broker.Latency < 0:
		return fieldErr("broker.latency", "must be >= 0, got %s", d.Broker.Latency)
	case d.Broker.OrderTimeout < 0:
		return fieldErr("broker.order_timeout", "must be >= 0 (0 = 30m), got %s", d.Broker.OrderTimeout)
	case d.Broker.CommissionPerContract < 0:
		return fieldErr("broker.commission_per_contract", "must be >= 0, got %g", d.Broker.CommissionPerContract)
	}
	if _, err := e.plan(); err != nil { // after the shorthand's checks, which name its fields
		return err
	}
	switch d.Broker.ClosedMarket {
	case "wait", "reject":
	default:
		return fieldErr("broker.closed_market", "want wait or reject, got %q", d.Broker.ClosedMarket)
	}
	switch fm := c.Broker.Fill; fm.Model {
	case "", "natural", "mid":
		if fm.Fraction != 0 {
			return fieldErr("broker.fill.fraction", "only the mid_plus model takes a fraction")
		}
	case "mid_plus":
		if fm.Fraction < 0 || fm.Fraction > 1 {
			return fieldErr("broker.fill.fraction", "want a fraction in [0, 1], got %g", fm.Fraction)
		}
	default:
		return fieldErr("broker.fill.model", "want natural, mid or mid_plus, got %q", fm.Model)
	}
	if m := d.Broker.Marks; m.StaleAfter < 0 || math.IsNaN(m.Rate) || m.Rate < -1 || m.Rate > 1 {
		return fieldErr("broker.marks", "want stale_after >= 0 and a rate in [-1, 1]")
	}
	if l := e.Limit; l != nil {
		switch {
		case l.MinCredit < 0 || l.MaxDebit < 0:
			return fieldErr("strategy.entry.limit", "prices must be >= 0")
		case e.side() == "short" && (l.MaxDebit != 0 || l.MinCredit == 0):
			return fieldErr("strategy.entry.limit", "a short entry takes min_credit (> 0), not max_debit")
		case e.side() == "long" && (l.MinCredit != 0 || l.MaxDebit == 0):
			return fieldErr("strategy.entry.limit", "a long entry takes max_debit (> 0), not min_credit")
		}
	}
	s := d.Broker.Slippage
	switch s.Model {
	case "none":
	case "ticks":
		if s.Ticks < 0 || s.TickSize <= 0 {
			return fieldErr("broker.slippage", "ticks model needs ticks >= 0 and tick_size > 0")
		}
	case "spread_fraction":
		if s.Fraction < 0 || s.Fraction > 1 {
			return fieldErr("broker.slippage.fraction", "want a fraction in [0, 1], got %g", s.Fraction)
		}
	default:
		return fieldErr("broker.slippage.model", "want none, ticks or spread_fraction, got %q", s.Model)
	}
	f := d.Broker.Faults
	switch {
	case f.RejectProb < 0 || f.RejectProb > 1:
		return fieldErr("broker.faults.reject_prob", "want a probability in [0, 1], got %g", f.RejectProb)
	case f.RejectProbPerVolPoint < 0:
		return fieldErr("broker.faults.reject_prob_per_vol_point", "must be >= 0, got %g", f.RejectProbPerVolPoint)
	case f.VolFloor < 0:
		return fieldErr("broker.faults.vol_floor", "must be >= 0, got %g", f.VolFloor)
	}
	for i, o := range f.Outages {
		if !o.Start.Before(o.End) {
			return fieldErr(fmt.Sprintf("broker.faults.outages[%d]", i), "start %s must be before end %s", o.Start.Format(time.RFC3339), o.End.Format(time.RFC3339))
		}
	}
	return nil
}

// parseClock reads "HH:MM" as an offset from midnight.
func parseClock(s string) (time.Duration, error) {
	var h, m int
	if n, err := fmt.Sscanf(s, "%d:%d", &h, &m); n != 2 || err != nil || h < 0 || h > 23 || m < 0 || m > 59 || len(s) != 5 {
		return 0, fmt.Errorf("want a time of day HH:MM, got %q", s)
	}
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute, nil
}
