package risk

import (
	"errors"
	"math"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	neg := -time.Second
	for _, tc := range []struct {
		name string
		s    Settings
		want string // "" = valid
	}{
		{"zero value", Settings{}, ""},
		{"design example", Settings{
			CircuitBreaker: BreakerSettings{FailureThreshold: 5, FailureWindow: new(60 * time.Second), Cooldown: 5 * time.Minute, HalfOpenTrials: 3},
			TrailingStop:   StopSettings{ActivationPct: 20, TrailPct: 25, StopLossPct: 200, Price: PriceExitSide},
			Limits: LimitsSettings{MaxPortfolioDelta: 50, MaxPortfolioGamma: 10, MaxSymbolDelta: 40, MaxPositionPct: 10,
				MaxCorrelatedPct: 60, MaxTotalExposure: 250000, WarnPct: 80, HealthInterval: 5 * time.Minute,
				CorrelationGroups: map[string][]string{"us_equity": {"SPY", "SPX", "QQQ", "IWM"}}},
		}, ""},
		{"consecutive window", Settings{CircuitBreaker: BreakerSettings{FailureWindow: new(time.Duration(0))}}, ""},
		{"negative threshold", Settings{CircuitBreaker: BreakerSettings{FailureThreshold: -1}}, "risk: circuit_breaker.failure_threshold: must be >= 0, got -1"},
		{"huge threshold", Settings{CircuitBreaker: BreakerSettings{FailureThreshold: MaxFailureThreshold + 1}}, "risk: circuit_breaker.failure_threshold: must be <= 10000, got 10001"},
		{"negative window", Settings{CircuitBreaker: BreakerSettings{FailureWindow: &neg}}, "risk: circuit_breaker.failure_window: must be >= 0, got -1s"},
		{"negative cooldown", Settings{CircuitBreaker: BreakerSettings{Cooldown: -time.Minute}}, "risk: circuit_breaker.cooldown: must be >= 0, got -1m0s"},
		{"negative trials", Settings{CircuitBreaker: BreakerSettings{HalfOpenTrials: -2}}, "risk: circuit_breaker.half_open_trials: must be >= 0, got -2"},
		{"negative max_trips", Settings{CircuitBreaker: BreakerSettings{MaxTrips: -1}}, "risk: circuit_breaker.max_trips: must be >= 0, got -1"},
		{"negative activation", Settings{TrailingStop: StopSettings{ActivationPct: -1, TrailPct: 5}}, "risk: trailing_stop.activation_pct: must be >= 0, got -1"},
		{"NaN trail", Settings{TrailingStop: StopSettings{TrailPct: math.NaN()}}, "risk: trailing_stop.trail_pct: must be a finite number, got NaN"},
		{"trail 100", Settings{TrailingStop: StopSettings{TrailPct: 100}}, "risk: trailing_stop.trail_pct: must be < 100, got 100"},
		{"trail 150", Settings{TrailingStop: StopSettings{TrailPct: 150}}, "risk: trailing_stop.trail_pct: must be < 100, got 150"},
		{"activation without trail", Settings{TrailingStop: StopSettings{ActivationPct: 2}}, "risk: trailing_stop.trail_pct: must be > 0 when activation_pct is set (activation_pct 2, trail_pct 0)"},
		{"negative stop loss", Settings{TrailingStop: StopSettings{StopLossPct: -5}}, "risk: trailing_stop.stop_loss_pct: must be >= 0, got -5"},
		{"bad price", Settings{TrailingStop: StopSettings{Price: 7}}, "risk: trailing_stop.price: must be exit_side or mid, got PriceChoice(7)"},
		{"negative gamma", Settings{Limits: LimitsSettings{MaxPortfolioGamma: -1}}, "risk: limits.max_portfolio_gamma: must be >= 0, got -1"},
		{"inf exposure", Settings{Limits: LimitsSettings{MaxTotalExposure: math.Inf(1)}}, "risk: limits.max_total_exposure: must be a finite number, got +Inf"},
		{"warn over 100", Settings{Limits: LimitsSettings{WarnPct: 120}}, "risk: limits.warn_pct: must be <= 100, got 120"},
		{"negative health interval", Settings{Limits: LimitsSettings{HealthInterval: -time.Second}}, "risk: limits.health_interval: must be >= 0, got -1s"},
		{"empty group", Settings{Limits: LimitsSettings{CorrelationGroups: map[string][]string{"x": nil}}}, "risk: limits.correlation_groups.x: must list at least one symbol"},
		{"symbol in two groups (sorted: a first)", Settings{Limits: LimitsSettings{CorrelationGroups: map[string][]string{"z": {"SPY"}, "a": {"SPY"}}}}, "risk: limits.correlation_groups.z: SPY is already in group a"},
		{"first error wins", Settings{CircuitBreaker: BreakerSettings{Cooldown: -1}, Limits: LimitsSettings{WarnPct: -1}}, "risk: circuit_breaker.cooldown: must be >= 0, got -1ns"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.s.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				if _, err := NewManager(tc.s, nil); err != nil {
					t.Fatalf("NewManager: %v", err)
				}
				return
			}
			if err == nil || err.Error() != tc.want {
				t.Fatalf("Validate() = %v\nwant %s", err, tc.want)
			}
			var fe *FieldError
			if !errors.As(err, &fe) || !errors.Is(err, ErrInvalidSettings) {
				t.Fatalf("error %v is not a *FieldError wrapping ErrInvalidSettings", err)
			}
			if _, err := NewManager(tc.s, nil); err == nil || err.Error() != tc.want {
				t.Fatalf("NewManager error = %v, want %s", err, tc.want)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	m, err := NewManager(Settings{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := m.Settings()
	cb := s.CircuitBreaker
	if cb.FailureThreshold != 5 || *cb.FailureWindow != 60*time.Second || cb.Cooldown != 5*time.Minute || cb.HalfOpenTrials != 3 || cb.MaxTrips != 0 {
		t.Fatalf("breaker defaults %+v (window %v)", cb, *cb.FailureWindow)
	}
	if s.Limits.WarnPct != 80 || m.HealthInterval() != 5*time.Minute || s.TrailingStop.Price != PriceExitSide {
		t.Fatalf("defaults %+v", s)
	}
	// An explicit zero window survives defaults and does not alias the caller's pointer.
	w := time.Duration(0)
	in := BreakerSettings{FailureWindow: &w}
	out := in.withDefaults()
	if *out.FailureWindow != 0 || out.FailureWindow == &w {
		t.Fatalf("explicit zero window: got %v (aliased %t)", *out.FailureWindow, out.FailureWindow == &w)
	}
}

func TestPriceChoiceText(t *testing.T) {
	for in, want := range map[string]PriceChoice{"": PriceExitSide, "exit_side": PriceExitSide, "mid": PriceMid} {
		var c PriceChoice = 9
		if err := c.UnmarshalText([]byte(in)); err != nil || c != want {
			t.Errorf("UnmarshalText(%q) = %v, %v; want %v", in, c, err, want)
		}
		if b, err := want.MarshalText(); err != nil || (in != "" && string(b) != in) {
			t.Errorf("MarshalText(%v) = %q, %v", want, b, err)
		}
	}
	var c PriceChoice
	err := c.UnmarshalText([]byte("last"))
	if !errors.Is(err, ErrInvalidSettings) || err.Error() != `risk: trailing_stop.price: must be exit_side or mid, got "last"` {
		t.Fatalf("UnmarshalText(last) = %v", err)
	}
	if _, err := PriceChoice(5).MarshalText(); err == nil {
		t.Fatal("MarshalText(5) succeeded")
	}
}

func TestStrings(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{StateClosed.String(), "closed"}, {StateOpen.String(), "open"}, {StateHalfOpen.String(), "half_open"},
		{StateHalted.String(), "halted"}, {State(9).String(), "State(9)"},
		{StopPending.String(), "pending"}, {StopActive.String(), "active"}, {StopTriggered.String(), "triggered"},
		{StopRemoved.String(), "removed"}, {StopState(9).String(), "StopState(9)"},
		{Long.String(), "long"}, {Short.String(), "short"}, {Hold.String(), "hold"}, {Exit.String(), "exit"},
		{PriceMid.String(), "mid"},
		{fmtNum(1e21), "1e+21"}, {fmtNum(1e-7), "1e-07"}, {fmtNum(0), "0"}, {fmtNum(-2.5), "-2.5"}, {fmtNum(math.NaN()), "null"},
		{string(appendJSONString(nil, "a\"b\\c\n")), `"a\"b\\c\u000a"`},
		{plural(1, "success"), "1 success"}, {plural(2, "success"), "2 successes"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
