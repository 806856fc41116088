package risk

import (
	"maps"
	"slices"
	"time"
)

// Portfolio-limit defaults (DESIGN.md, "Portfolio limits").
const (
	DefaultWarnPct        = 80.0
	DefaultHealthInterval = 5 * time.Minute
)

// LimitsSettings configure a LimitsChecker. Every limit's zero value means
// "off"; the zero value of the struct checks nothing and warns at 80%.
type LimitsSettings struct {
	// Enabled switches the layer off when false (nil or true: on). An off
	// layer makes no decisions and emits no events: the whole-layer
	// ablation of a sweep.
	Enabled *bool `yaml:"enabled,omitempty"`

	// MaxPortfolioDelta caps |Σ qty × delta| after an entry. 0 = off.
	MaxPortfolioDelta float64 `yaml:"max_portfolio_delta"`
	// MaxPortfolioGamma caps |Σ qty × gamma| after an entry. 0 = off.
	MaxPortfolioGamma float64 `yaml:"max_portfolio_gamma"`
	// MaxSymbolDelta caps |delta| of one underlying after an entry. 0 = off.
	MaxSymbolDelta float64 `yaml:"max_symbol_delta"`
	// MaxPositionPct caps one position's value as % of equity. 0 = off.
	MaxPositionPct float64 `yaml:"max_position_pct"`
	// MaxCorrelatedPct caps the value of one correlation group as % of
	// equity. A symbol in no group is a group of its own. 0 = off.
	MaxCorrelatedPct float64 `yaml:"max_correlated_pct"`
	// MaxTotalExposure caps Σ position value, in dollars. 0 = off.
	MaxTotalExposure float64 `yaml:"max_total_exposure"`
	// WarnPct is the utilisation, in % of a limit, at which CheckHealth
	// warns. 0 means DefaultWarnPct (80); at most 100.
	WarnPct float64 `yaml:"warn_pct"`
	// CorrelationGroups names groups of underlyings, e.g.
	// us_equity: [SPY, SPX, QQQ, IWM]. A symbol may be in one group only.
	CorrelationGroups map[string][]string `yaml:"correlation_groups"`
	// HealthInterval is how often, in simulated time, the event loop runs
	// CheckHealth. 0 means DefaultHealthInterval (5m).
	HealthInterval time.Duration `yaml:"health_interval"`
}

// Validate reports the first invalid field as a *FieldError. Correlation
// groups are checked in sorted name order.
func (s LimitsSettings) Validate() error {
	const p = "limits."
	for _, f := range []struct {
		name string
		v    float64
	}{
		{"max_portfolio_delta", s.MaxPortfolioDelta},
		{"max_portfolio_gamma", s.MaxPortfolioGamma},
		{"max_symbol_delta", s.MaxSymbolDelta},
		{"max_position_pct", s.MaxPositionPct},
		{"max_correlated_pct", s.MaxCorrelatedPct},
		{"max_total_exposure", s.MaxTotalExposure},
		{"warn_pct", s.WarnPct},
	} {
		if err := checkFloatNonNeg(p+f.name, f.v); err != nil {
			return err
		}
	}
	if s.WarnPct > 100 {
		return fieldErr(p+"warn_pct", "must be <= 100, got %g", s.WarnPct)
	}
	owner := map[string]string{}
	for _, g := range slices.Sorted(maps.Keys(s.CorrelationGroups)) {
		field := p + "correlation_groups." + g
		if g == "" {
			return fieldErr(p+"correlation_groups", "group name must not be empty")
		}
		members := s.CorrelationGroups[g]
		if len(members) == 0 {
			return fieldErr(field, "must list at least one symbol")
		}
		for _, sym := range members {
			if sym == "" {
				return fieldErr(field, "symbol must not be empty")
			}
			if prev, dup := owner[sym]; dup {
				if prev == g {
					return fieldErr(field, "lists %s twice", sym)
				}
				return fieldErr(field, "%s is already in group %s", sym, prev)
			}
			owner[sym] = g
		}
	}
	return checkDurNonNeg(p+"health_interval", s.HealthInterval)
}

// withDefaults fills zero fields.
func (s LimitsSettings) withDefaults() LimitsSettings {
	if s.WarnPct == 0 {
		s.WarnPct = DefaultWarnPct
	}
	if s.HealthInterval == 0 {
		s.HealthInterval = DefaultHealthInterval
	}
	return s
}
