package scenarios

import (
	"errors"
	"strings"
	"testing"
	"time"
)

const minimal = `name: t
period: {start: 2019-07-08, end: 2019-07-12}
feed:
  synthetic:
    underlying: SPY
    days:
      - {date: 2019-07-08, open: 298, high: 299, low: 297, close: 298.5, vix: 13}
risk:
  trailing_stop: {activation_pct: 20, trail_pct: 25}
`

func TestBuiltinsLoadAndValidate(t *testing.T) {
	names := map[string]bool{}
	for _, b := range Builtins() {
		names[b.Name] = true
		if b.Description == "" {
			t.Errorf("%s has no description", b.Name)
		}
		for _, arg := range []string{b.Name, b.Name + ".yaml", "scenarios/" + b.Name + ".yaml"} {
			l, err := Load(arg, nil)
			if err != nil {
				t.Fatalf("%s: %v", arg, err)
			}
			if l.Name != b.Name {
				t.Errorf("%s: name %q", arg, l.Name)
			}
		}
	}
	for _, want := range []string{"spy_crash", "volmageddon", "calm_2019", "broker_outage", "replay_fills", "iron_condor", "short_strangle"} {
		if !names[want] {
			t.Errorf("built-in %s missing", want)
		}
	}
}

func TestBuiltinDaysAreMarketFacts(t *testing.T) {
	// DESIGN.md and shared/data/README.md spot checks.
	l, err := Load("spy_crash", nil)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, d := range l.Feed.Synthetic.Days {
		if d.Date == "2020-03-16" {
			found = d.Open == 241.18 && d.High == 256.90 && d.Low == 237.36 && d.Close == 239.85 && d.VIX == 82.69
		}
	}
	if !found {
		t.Error("spy_crash lacks the real 2020-03-16 bar (241.18/256.90/237.36/239.85, VIX 82.69)")
	}
}

func TestErrorsNameFileLineColumnAndField(t *testing.T) {
	cases := []struct {
		name, yaml string
		sets       []string
		want       string
	}{
		{"unknown key", strings.Replace(minimal, "trail_pct: 25", "trail_pct: 25, trial: 1", 1), nil, `x.yaml:9:54: risk.trailing_stop.trial: unknown field "trial"`},
		{"wrong type", strings.Replace(minimal, "trail_pct: 25", "trail_pct: wide", 1), nil, "x.yaml:9:50: risk.trailing_stop.trail_pct: cannot unmarshal string into field of type float64"},
		{"bad value", strings.Replace(minimal, "trail_pct: 25", "trail_pct: 100", 1), nil, "x.yaml:9:50: risk.trailing_stop.trail_pct: must be < 100, got 100"},
		{"bad date", strings.Replace(minimal, "end: 2019-07-12", "end: 12/07/2019", 1), nil, `x.yaml:2:34: period.end: want a date YYYY-MM-DD, got "12/07/2019"`},
		{"end before start", strings.Replace(minimal, "end: 2019-07-12", "end: 2019-07-01", 1), nil, "x.yaml:2:34: period.end: must not be before start 2019-07-08"},
		{"no feed", "name: t\nperiod: {start: 2019-07-08, end: 2019-07-12}\n", nil, "x.yaml: feed: give a file or a synthetic feed"},
		{"set unknown", minimal, []string{"risk.trailing_stop.trial_pct=3"}, `risk.trailing_stop.trial_pct: unknown field "trial_pct" (known: activation_pct, enabled, price, stop_loss_pct, trail_pct) (from --set risk.trailing_stop.trial_pct=3)`},
		{"set bad value", minimal, []string{"risk.circuit_breaker.failure_threshold=-1"}, "risk.circuit_breaker.failure_threshold: must be >= 0, got -1 (from --set risk.circuit_breaker.failure_threshold=-1)"},
		{"set not a field", minimal, []string{"capital.x=1"}, `capital: is a float64 value, it has no field "x"`},
		{"set no equals", minimal, []string{"capital"}, "want path.to.field=value"},
		{"duplicate key", minimal + "name: u\n", nil, "x.yaml:10:1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("x.yaml", []byte(c.yaml), c.sets)
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error does not wrap ErrInvalid: %v", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error\n  %v\nlacks\n  %s", err, c.want)
			}
		})
	}
}

func TestSetOverrides(t *testing.T) {
	l, err := Parse("x.yaml", []byte(minimal), []string{
		"risk.trailing_stop.trail_pct=30",
		"risk.circuit_breaker.failure_window=0s",
		"risk.circuit_breaker.cooldown=90s",
		"risk.limits.correlation_groups.tech=[QQQ, XLK]",
		"broker.faults.outages.0={start: 2019-07-09T14:00:00Z, end: 2019-07-09T14:45:00Z}",
		"strategy.entry.dte=[5, 30]",
		"seed=99",
	})
	if err != nil {
		t.Fatal(err)
	}
	s := l.Scenario
	switch {
	case s.Risk.TrailingStop.TrailPct != 30:
		t.Errorf("trail_pct %v", s.Risk.TrailingStop.TrailPct)
	case s.Risk.CircuitBreaker.FailureWindow == nil || *s.Risk.CircuitBreaker.FailureWindow != 0:
		t.Errorf("failure_window %v, want an explicit 0 (consecutive mode)", s.Risk.CircuitBreaker.FailureWindow)
	case s.Risk.CircuitBreaker.Cooldown != 90*time.Second:
		t.Errorf("cooldown %v", s.Risk.CircuitBreaker.Cooldown)
	case len(s.Risk.Limits.CorrelationGroups["tech"]) != 2:
		t.Errorf("correlation groups %v", s.Risk.Limits.CorrelationGroups)
	case len(s.Broker.Faults.Outages) != 1 || s.Broker.Faults.Outages[0].End.Sub(s.Broker.Faults.Outages[0].Start) != 45*time.Minute:
		t.Errorf("outages %v", s.Broker.Faults.Outages)
	case s.Strategy.Entry.DTE != [2]int{5, 30}:
		t.Errorf("dte %v", s.Strategy.Entry.DTE)
	case s.Seed != 99:
		t.Errorf("seed %d", s.Seed)
	}
	// The resolved copy keeps every override and parses back to the same.
	b, err := l.Resolved()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse("resolved.yaml", b, nil)
	if err != nil {
		t.Fatalf("resolved scenario does not load: %v\n%s", err, b)
	}
	b2, _ := back.Resolved()
	if string(b) != string(b2) {
		t.Errorf("resolved scenario is not a fixed point:\n%s\n---\n%s", b, b2)
	}
}

func TestSimConfigPeriodIsInclusive(t *testing.T) {
	l, err := Parse("x.yaml", []byte(minimal), nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := l.SimConfig()
	if err != nil {
		t.Fatal(err)
	}
	ny, _ := time.LoadLocation("America/New_York")
	if !cfg.Start.Equal(time.Date(2019, 7, 8, 0, 0, 0, 0, ny)) || !cfg.End.Equal(time.Date(2019, 7, 13, 0, 0, 0, 0, ny)) {
		t.Errorf("period [%s, %s), want [2019-07-08, 2019-07-13) New York midnight", cfg.Start, cfg.End)
	}
}

// FuzzParse: any bytes give a scenario or an *Error, never a panic.
func FuzzParse(f *testing.F) {
	f.Add([]byte(minimal))
	f.Add([]byte("name: [\n"))
	f.Add([]byte("risk: {circuit_breaker: {failure_window: -1s}}"))
	b, _ := builtin.ReadFile("broker_outage.yaml")
	f.Add(b)
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := Parse("f.yaml", data, nil)
		if err != nil {
			var se *Error
			if !errors.As(err, &se) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		if l.Name == "" {
			t.Fatal("a scenario without a name validated")
		}
	})
}

// FuzzSet: any override gives a scenario or an *Error, never a panic.
func FuzzSet(f *testing.F) {
	for _, s := range []string{"risk.trailing_stop.trail_pct=30", "broker.faults.outages.0={start: 2019-07-09T14:00:00Z, end: 2019-07-09T15:00:00Z}",
		"risk.limits.correlation_groups.x=[A]", "feed.synthetic=null", "a.b.c.d=", "=", "strategy.entry.dte.5=3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, kv string) {
		_, err := Parse("f.yaml", []byte(minimal), []string{kv})
		var se *Error
		if err != nil && !errors.As(err, &se) {
			t.Fatalf("error of type %T: %v", err, err)
		}
	})
}

// A condition that does not compile is a scenario error at the line and
// column of the problem inside the expression, quoted or plain (column 26:
// the "i" of iv_rnk past `    when: "vix >= 16 and `, the "f" of foo).
func TestConditionErrorPosition(t *testing.T) {
	base, err := builtin.ReadFile("iron_condor.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ old, new, want string }{
		{`when: "vix >= 16 and iv_rank(20) >= 0.3 and open_positions < 8"`, `when: "vix >= 16 and iv_rnk(20) >= 0.3"`, ":87:26: strategy.entry.when: unknown name iv_rnk"},
		{`exit: {profit_target_pct: 50, loss_limit: 2, dte_floor: 10}`, "exit:\n    when: pos_dte < 3 or foo", ":91:26: strategy.exit.when: unknown name foo"},
	} {
		src := strings.Replace(string(base), tc.old, tc.new, 1)
		if src == string(base) {
			t.Fatalf("%q not in the scenario", tc.old)
		}
		_, err := Parse("ic.yaml", []byte(src), nil)
		if err == nil || !strings.Contains(err.Error(), "ic.yaml"+tc.want) {
			t.Errorf("error %v, want ic.yaml%s", err, tc.want)
		}
	}
}
