package risk

import "fmt"

// PriceChoice selects which quote price a trailing stop follows.
type PriceChoice uint8

const (
	// PriceExitSide follows the side an exit would trade at: the bid for a
	// long position, the ask for a short one. It is the zero value and the
	// default.
	PriceExitSide PriceChoice = iota
	// PriceMid follows (bid + ask) / 2.
	PriceMid
)

// String returns "exit_side" or "mid".
func (c PriceChoice) String() string {
	switch c {
	case PriceExitSide:
		return "exit_side"
	case PriceMid:
		return "mid"
	}
	return fmt.Sprintf("PriceChoice(%d)", uint8(c))
}

// MarshalText returns the YAML spelling.
func (c PriceChoice) MarshalText() ([]byte, error) {
	if c > PriceMid {
		return nil, fieldErr("trailing_stop.price", "must be exit_side or mid, got %s", c)
	}
	return []byte(c.String()), nil
}

// UnmarshalText accepts "exit_side", "mid" and "" (the default, exit_side).
func (c *PriceChoice) UnmarshalText(b []byte) error {
	switch string(b) {
	case "", "exit_side":
		*c = PriceExitSide
	case "mid":
		*c = PriceMid
	default:
		return fieldErr("trailing_stop.price", "must be exit_side or mid, got %q", b)
	}
	return nil
}

// StopSettings configure trailing stops. The zero value is valid and means
// "no trailing, no hard stop": every stop then holds until removed.
type StopSettings struct {
	// Enabled switches the layer off when false (nil or true: on). An off
	// layer makes no decisions and emits no events: the whole-layer
	// ablation of a sweep.
	Enabled *bool `yaml:"enabled,omitempty"`

	// ActivationPct is the gain, in % of the entry premium, at which a stop
	// arms. 0 means the stop arms at once when it is added (best = entry
	// premium), provided TrailPct is set.
	ActivationPct float64 `yaml:"activation_pct"`

	// TrailPct is the stop's distance from the best premium seen since
	// arming, in % of that premium; it must be below 100. 0 means no
	// trailing stop (then ActivationPct must be 0 too).
	TrailPct float64 `yaml:"trail_pct"`

	// StopLossPct is the hard stop: a loss, in % of the entry premium, that
	// exits a position whose stop has not armed yet. It does not apply once
	// armed (DESIGN: "hard stop before activation"). 0 means off. Values
	// above 100 are meaningful only for short positions.
	StopLossPct float64 `yaml:"stop_loss_pct"`

	// Price selects the quote price the stop follows (default exit_side).
	Price PriceChoice `yaml:"price"`
}

// Validate reports the first invalid field as a *FieldError.
func (s StopSettings) Validate() error {
	const p = "trailing_stop."
	if err := checkFloatNonNeg(p+"activation_pct", s.ActivationPct); err != nil {
		return err
	}
	if err := checkFloatNonNeg(p+"trail_pct", s.TrailPct); err != nil {
		return err
	}
	if s.TrailPct >= 100 {
		return fieldErr(p+"trail_pct", "must be < 100, got %g", s.TrailPct)
	}
	if s.ActivationPct > 0 && s.TrailPct == 0 {
		return fieldErr(p+"trail_pct", "must be > 0 when activation_pct is set (activation_pct %g, trail_pct 0)", s.ActivationPct)
	}
	if err := checkFloatNonNeg(p+"stop_loss_pct", s.StopLossPct); err != nil {
		return err
	}
	if s.Price > PriceMid {
		return fieldErr(p+"price", "must be exit_side or mid, got %s", s.Price)
	}
	return nil
}

// withDefaults fills zero fields. Every zero here is already its default
// (price's zero value is exit_side); the method exists so that all three
// settings types are resolved the same way.
func (s StopSettings) withDefaults() StopSettings { return s }
