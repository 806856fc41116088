package sim

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/optionsrisk/backtest/risk"
)

// runAttr runs a scripted feed with attribution and event seqs.
func runAttr(t *testing.T, cfg Config, src *scripted, rs risk.Settings) (Result, []risk.Event) {
	t.Helper()
	res, _, events := runAttrRec(t, cfg, src, rs)
	return res, events
}

// Price paths of the one short put (strike 100, sold at 1.95 on March 4 at
// 10:02, 2 contracts, commission 0.50 each, one tick 0.05 of slippage).
func dipThen(after func(tm time.Time) (float64, float64, float64)) func(time.Time) (float64, float64, float64) {
	return func(tm time.Time) (float64, float64, float64) {
		switch {
		case tm.Before(at(4, 12, 0, 0)):
			return 2.0, 2.2, 101
		case tm.Day() == 4:
			return 2.9, 3.1, 99 // the dip: ask 3.10 ≥ 1.95 × 1.5 fires the hard stop
		}
		return after(tm)
	}
}

func crash(time.Time) (float64, float64, float64)   { return 9.9, 10.1, 90 }
func rebound(time.Time) (float64, float64, float64) { return 2.0, 2.2, 101 }

type wantDecision struct {
	component, event, rule, ending string
	actual, cf                     float64
}

func checkDecisions(t *testing.T, res Result, events []risk.Event, want []wantDecision) {
	t.Helper()
	got := res.Attribution
	if len(got) != len(want) {
		t.Fatalf("%d decisions %+v, want %d", len(got), got, len(want))
	}
	for i, w := range want {
		d := got[i]
		if d.Component != w.component || d.Event != w.event || d.Rule != w.rule || d.Ending != w.ending {
			t.Errorf("decision %d: %s/%s/%s ending %s, want %s/%s/%s ending %s", i, d.Component, d.Event, d.Rule, d.Ending, w.component, w.event, w.rule, w.ending)
		}
		if math.Abs(d.Actual-w.actual) > 1e-9 || math.Abs(d.Counterfactual-w.cf) > 1e-9 || math.Abs(d.Saved-(w.actual-w.cf)) > 1e-9 {
			t.Errorf("decision %d: actual %v cf %v saved %v, want %v %v %v", i, d.Actual, d.Counterfactual, d.Saved, w.actual, w.cf, w.actual-w.cf)
		}
		// The seq names the risk event that made the decision.
		if d.Seq < 1 || int(d.Seq) > len(events) {
			t.Fatalf("decision %d: seq %d outside the %d events", i, d.Seq, len(events))
		}
		ev := events[d.Seq-1]
		if ev.Component.String() != d.Component || ev.Type.String() != d.Event || ev.Time.UnixMicro() != d.Time {
			t.Errorf("decision %d: seq %d is %s/%s at %s", i, d.Seq, ev.Component, ev.Type, ev.Time)
		}
	}
}

func TestAttributionKnownAnswers(t *testing.T) {
	hard := risk.Settings{TrailingStop: risk.StopSettings{StopLossPct: 50}}
	credit := 1.95*200 - 1 // the entry's cash: premium less commission
	// The stop's exit: bought back at 12:02 at ask 3.10 + one tick.
	stopped := credit - 3.15*200 - 1
	refuse := risk.Settings{Limits: risk.LimitsSettings{MaxTotalExposure: 1}}
	for _, tc := range []struct {
		name string
		cfg  func(*Config)
		path func(time.Time) (float64, float64, float64)
		rs   risk.Settings
		want []wantDecision
	}{{
		// Held, the put settles at intrinsic 10 after the crash: the stop
		// saved the later loss, (10 − 3.15) × 200 less the exit's commission.
		name: "stop before a crash saves the later loss",
		path: dipThen(crash), rs: hard,
		want: []wantDecision{{"trailing_stop", "trigger", "stop_loss", EndExpiry, stopped, credit - 10*200}},
	}, {
		// Held, the put expires worthless: the stop cost the give-back.
		name: "stop on a dip that recovers costs the give-back",
		path: dipThen(rebound), rs: hard,
		want: []wantDecision{{"trailing_stop", "trigger", "stop_loss", EndExpiry, stopped, credit}},
	}, {
		// Refused at 10:00; opened then at 1.95 it expires worthless.
		name: "refused entry that would have won costs its P&L",
		rs:   refuse,
		want: []wantDecision{{"portfolio_limits", "rejected", "total_exposure_cap", EndExpiry, 0, credit}},
	}, {
		name: "refused entry ends at the dte_floor",
		cfg:  func(c *Config) { c.Strategy.Exit.DTEFloor = 1 },
		rs:   refuse,
		// March 5 09:30 is one day to expiry: bought back at ask + tick.
		want: []wantDecision{{"portfolio_limits", "rejected", "total_exposure_cap", EndDTEFloor, 0, credit - 2.25*200 - 1}},
	}, {
		name: "refused entry marked at the end of the run",
		cfg:  func(c *Config) { c.End = at(6, 0, 0, 0) },
		rs:   refuse,
		want: []wantDecision{{"portfolio_limits", "rejected", "total_exposure_cap", EndOfRun, 0, credit - 2.1*200}},
	}, {
		name: "refused entry stopped by the same stop settings",
		path: dipThen(crash),
		rs:   risk.Settings{TrailingStop: hard.TrailingStop, Limits: refuse.Limits},
		// The shadow's stop fires at 12:00 and fills at once: ask 3.10 + tick.
		want: []wantDecision{{"portfolio_limits", "rejected", "total_exposure_cap", EndStopLoss, 0, credit - 3.15*200 - 1}},
	}, {
		name: "refused entry whose price misses the limit never opens",
		cfg:  func(c *Config) { c.Strategy.Entry.Limit = &EntryLimit{MinCredit: 3} },
		rs:   refuse,
		want: []wantDecision{{"portfolio_limits", "rejected", "total_exposure_cap", EndNotFilled, 0, 0}},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := baseConfig()
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			res, events := runAttr(t, cfg, oneContract(tc.path), tc.rs)
			checkDecisions(t, res, events, tc.want)
		})
	}
}

// TestAttributionBlockedExit: the breaker trips on a failed entry at 11:01:30
// (open 30 minutes); the stop fires at 11:10 and its exit is blocked until
// the half_open trial at 11:32, which fills at 11:34 after the premium rose
// a dollar. The blocked exit cost the move while it waited.
func TestAttributionBlockedExit(t *testing.T) {
	cfg := baseConfig()
	cfg.Strategy.Entry.Times = []time.Time{at(4, 10, 0, 0), at(4, 11, 0, 0)}
	cfg.Broker.Faults.Outages = []Outage{{Start: at(4, 11, 0, 0), End: at(4, 11, 5, 0)}}
	rs := risk.Settings{
		CircuitBreaker: risk.BreakerSettings{FailureThreshold: 1, Cooldown: 30 * time.Minute, HalfOpenTrials: 1},
		TrailingStop:   risk.StopSettings{StopLossPct: 50},
	}
	path := func(tm time.Time) (float64, float64, float64) {
		switch {
		case tm.Before(at(4, 11, 10, 0)):
			return 2.0, 2.2, 101
		case tm.Before(at(4, 11, 20, 0)):
			return 2.9, 3.1, 98
		}
		return 3.9, 4.1, 96
	}
	res, events := runAttr(t, cfg, oneContract(path), rs)
	credit := 1.95*200 - 1
	actual := credit - 4.15*200 - 1
	checkDecisions(t, res, events, []wantDecision{
		// Held instead, it settles at intrinsic 100 − 96 = 4.
		{"trailing_stop", "trigger", "stop_loss", EndExpiry, actual, credit - 4*200},
		// Filled when first asked, at 11:10: ask 3.10 + tick.
		{"circuit_breaker", "blocked", "exit", EndFilledAtAsk, actual, credit - 3.15*200 - 1},
	})
	if d := res.Attribution[1]; math.Abs(d.Saved-(-200)) > 1e-9 {
		t.Fatalf("blocked exit saved %v, want -200 (a dollar's move on 200 shares)", d.Saved)
	}
}

// TestAttributionBlockedEntry: the 10:20 entry is blocked by the open
// breaker; opened then at 1.95 it would have expired worthless.
func TestAttributionBlockedEntry(t *testing.T) {
	cfg := baseConfig()
	cfg.Strategy.Entry.Times = []time.Time{at(4, 10, 0, 0), at(4, 10, 20, 0), at(4, 11, 0, 0)}
	cfg.Broker.Faults.Outages = []Outage{{Start: at(4, 10, 0, 0), End: at(4, 10, 45, 0)}}
	rs := risk.Settings{CircuitBreaker: risk.BreakerSettings{FailureThreshold: 1, Cooldown: 30 * time.Minute, HalfOpenTrials: 1}}
	res, events := runAttr(t, cfg, oneContract(nil), rs)
	checkDecisions(t, res, events, []wantDecision{
		{"circuit_breaker", "blocked", "entry", EndExpiry, 0, 1.95*200 - 1},
	})
}

// TestAttributionOffChangesNothing: the actual run is the same with
// attribution on and off, and off computes nothing.
func TestAttributionOffChangesNothing(t *testing.T) {
	cfg := baseConfig()
	cfg.Strategy.Entry.Times = []time.Time{at(4, 10, 0, 0), at(4, 11, 0, 0)}
	cfg.Broker.Faults.Outages = []Outage{{Start: at(4, 11, 0, 0), End: at(4, 11, 5, 0)}}
	rs := risk.Settings{
		CircuitBreaker: risk.BreakerSettings{FailureThreshold: 1, Cooldown: 30 * time.Minute, HalfOpenTrials: 1},
		TrailingStop:   risk.StopSettings{StopLossPct: 50},
	}
	path := dipThen(crash)
	on, onRec, onEv := runScripted(t, cfg, oneContract(path), rs)
	cfg.NoAttribution = true
	off, offRec, offEv := runScripted(t, cfg, oneContract(path), rs)
	if len(on.Attribution) == 0 || len(off.Attribution) != 0 {
		t.Fatalf("attribution on: %d decisions, off: %d", len(on.Attribution), len(off.Attribution))
	}
	on.Attribution, on.ShadowsMax = nil, 0
	if a, b := sprint(on, onRec.Fills, onRec.Points, onEv), sprint(off, offRec.Fills, offRec.Points, offEv); a != b {
		t.Fatalf("actual run differs with attribution on and off:\n%s\n%s", a, b)
	}
}

func sprint(v ...any) string { return fmt.Sprintf("%+v", v) }
