// Package scenarios defines the scenario file: its Go type, strict YAML
// loading with file:line:column errors, --set overrides, validation, and the
// built-in scenarios embedded in the binary.
package scenarios

import (
	"fmt"
	"time"

	"github.com/optionsrisk/backtest/feeds"
	"github.com/optionsrisk/backtest/risk"
	"github.com/optionsrisk/backtest/sim"
)

// Scenario is one scenario file. Section names follow DESIGN.md
// ("Scenarios"); zero values mean each section's documented defaults.
type Scenario struct {
	Name        string             `yaml:"name"`
	Description string             `yaml:"description,omitempty"`
	Seed        uint64             `yaml:"seed"`
	Period      Period             `yaml:"period"`
	Capital     float64            `yaml:"capital"` // dollars; default 100000
	Feed        Feed               `yaml:"feed"`
	Strategy    sim.StrategyConfig `yaml:"strategy"`
	Broker      sim.BrokerConfig   `yaml:"broker"`
	Risk        risk.Settings      `yaml:"risk"`
	Report      Report             `yaml:"report"`
}

// Period is the simulated span: Start and End are trading dates, both
// included.
type Period struct {
	Start   Date   `yaml:"start"`
	End     Date   `yaml:"end"`
	Session string `yaml:"session,omitempty"` // default "09:30-16:00 America/New_York"
}

// Feed is where quotes come from: exactly one of File and Synthetic.
type Feed struct {
	File        *feeds.FileConfig      `yaml:"file,omitempty"`
	Synthetic   *feeds.SyntheticConfig `yaml:"synthetic,omitempty"`
	DataQuality feeds.DataQuality      `yaml:"data_quality,omitempty"` // reject (default) or skip
}

// Report holds output options.
type Report struct {
	EquityEvery time.Duration `yaml:"equity_every,omitempty"` // default 15m
	// Attribution false skips risk attribution (the attribution table is
	// then empty); the run's other rows do not change. Default on.
	Attribution *bool `yaml:"attribution,omitempty"`
}

// Date is a calendar date written 2006-01-02.
type Date struct{ time.Time }

// UnmarshalText reads 2006-01-02.
func (d *Date) UnmarshalText(b []byte) error {
	t, err := time.Parse(time.DateOnly, string(b))
	if err != nil {
		return fmt.Errorf("want a date YYYY-MM-DD, got %q", string(b))
	}
	d.Time = t
	return nil
}

// MarshalText writes 2006-01-02.
func (d Date) MarshalText() ([]byte, error) { return []byte(d.Format(time.DateOnly)), nil }

// SimConfig turns the scenario into the simulator's configuration. The
// period runs from the session's midnight of Start to the midnight after End,
// in the session's zone.
func (s *Scenario) SimConfig() (sim.Config, error) {
	sess, err := sim.ParseSession(s.Period.Session)
	if err != nil {
		return sim.Config{}, &Error{Field: "period.session", Msg: err.Error()}
	}
	loc := sess.Loc
	start := time.Date(s.Period.Start.Year(), s.Period.Start.Month(), s.Period.Start.Day(), 0, 0, 0, 0, loc)
	end := time.Date(s.Period.End.Year(), s.Period.End.Month(), s.Period.End.Day()+1, 0, 0, 0, 0, loc)
	cfg := sim.Config{
		Start: start, End: end, Session: sess, Capital: s.Capital,
		Strategy: s.Strategy, Broker: s.Broker,
		EquityEvery: s.Report.EquityEvery, HealthEvery: s.Risk.Limits.HealthInterval,
		NoAttribution: s.Report.Attribution != nil && !*s.Report.Attribution,
	}
	return cfg, nil
}
