package risk

import (
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Data-driven timelines, in the style of pebble's datadriven package (our
// own tiny parser). A file is a sequence of blocks:
//
//	# comment
//	command key=value key="quoted value"
//	----
//	expected output, one or more lines
//	<blank line>
//
// Run with -rewrite to regenerate the expected output from the code.
var rewrite = flag.Bool("rewrite", false, "rewrite the expected output of risk/testdata/*.txt")

// baseDay is the date of a bare "HH:MM:SS" time in a script.
var baseDay = time.Date(2024, 3, 4, 0, 0, 0, 0, time.UTC)

type ddCmd struct {
	pos  string // file:line
	name string
	args map[string]string
	keys []string // in order, to detect typos
	used map[string]bool
}

func (c *ddCmd) has(k string) bool { _, ok := c.args[k]; return ok }

func (c *ddCmd) str(k, def string) string {
	c.used[k] = true
	if v, ok := c.args[k]; ok {
		return v
	}
	return def
}

func (c *ddCmd) float(t *testing.T, k string, def float64) float64 {
	t.Helper()
	s := c.str(k, "")
	if s == "" {
		return def
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("%s: %s=%q: %v", c.pos, k, s, err)
	}
	return v
}

func (c *ddCmd) int(t *testing.T, k string) int {
	t.Helper()
	return int(c.float(t, k, 0))
}

func (c *ddCmd) dur(t *testing.T, k string) time.Duration {
	t.Helper()
	s := c.str(k, "0s")
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatalf("%s: %s=%q: %v", c.pos, k, s, err)
	}
	return d
}

func (c *ddCmd) time(t *testing.T) time.Time {
	t.Helper()
	s := c.str("t", "00:00:00")
	if strings.Contains(s, "T") {
		v, err := time.Parse("2006-01-02T15:04:05", s)
		if err != nil {
			t.Fatalf("%s: t=%q: %v", c.pos, s, err)
		}
		return v
	}
	v, err := time.Parse("15:04:05", s)
	if err != nil {
		t.Fatalf("%s: t=%q: %v", c.pos, s, err)
	}
	return baseDay.Add(time.Duration(v.Hour())*time.Hour + time.Duration(v.Minute())*time.Minute + time.Duration(v.Second())*time.Second)
}

// splitArgs splits a command line on spaces, keeping "quoted values" whole.
func splitArgs(line string) []string {
	var out []string
	var cur strings.Builder
	quoted := false
	for _, r := range line {
		switch {
		case r == '"':
			quoted = !quoted
		case r == ' ' && !quoted:
			if cur.Len() > 0 {
				out = append(out, cur.String())
				cur.Reset()
			}
		default:
			cur.WriteRune(r)
		}
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

type ddBlock struct {
	line     int
	command  string
	expected []string
	blankEnd bool
}

// parseDD splits a script into verbatim lines (comments, blank lines) and
// blocks. Each element of the result is either a block or a verbatim line.
func parseDD(t *testing.T, path string, data string) []any {
	lines := strings.Split(strings.TrimSuffix(data, "\n"), "\n")
	var out []any
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if l == "" || strings.HasPrefix(l, "#") {
			out = append(out, l)
			continue
		}
		b := &ddBlock{line: i + 1, command: l}
		i++
		if i >= len(lines) || lines[i] != "----" {
			t.Fatalf("%s:%d: command without ---- separator", path, b.line)
		}
		for i++; i < len(lines); i++ {
			if lines[i] == "" {
				b.blankEnd = true
				break
			}
			b.expected = append(b.expected, lines[i])
		}
		out = append(out, b)
	}
	return out
}

func runDD(t *testing.T, path string) {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	env := &ddEnv{t: t}
	items := parseDD(t, path, string(data))
	var re strings.Builder
	for _, it := range items {
		b, ok := it.(*ddBlock)
		if !ok {
			re.WriteString(it.(string) + "\n")
			continue
		}
		fields := splitArgs(b.command)
		c := &ddCmd{pos: fmt.Sprintf("%s:%d", filepath.Base(path), b.line), name: fields[0], args: map[string]string{}, used: map[string]bool{}}
		for _, f := range fields[1:] {
			k, v, _ := strings.Cut(f, "=")
			c.args[k] = v
			c.keys = append(c.keys, k)
		}
		got := strings.TrimRight(env.run(c), "\n")
		for _, k := range c.keys {
			if !c.used[k] {
				t.Fatalf("%s: unknown argument %q for %s", c.pos, k, c.name)
			}
		}
		if strings.Contains(got, "\n\n") || got == "" {
			t.Fatalf("%s: output must be non-empty without blank lines:\n%s", c.pos, got)
		}
		if *rewrite {
			re.WriteString(b.command + "\n----\n" + got + "\n")
			if b.blankEnd {
				re.WriteString("\n")
			}
			continue
		}
		if want := strings.Join(b.expected, "\n"); got != want {
			t.Errorf("%s: %s\n got:\n%s\nwant:\n%s", c.pos, b.command, got, want)
		}
	}
	if *rewrite {
		if err := os.WriteFile(path, []byte(re.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestDataDriven(t *testing.T) {
	paths, err := filepath.Glob("testdata/*.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatal("no testdata scripts")
	}
	for _, p := range paths {
		t.Run(strings.TrimSuffix(filepath.Base(p), ".txt"), func(t *testing.T) { runDD(t, p) })
	}
}

// ddEnv is the state a script builds up.
type ddEnv struct {
	t     *testing.T
	sink  *MemorySink
	seen  int
	b     *CircuitBreaker
	stops *Stops
	lim   *LimitsChecker
	ex    *testExposure
}

// newEvents prints the events emitted since the last call.
func (e *ddEnv) newEvents(w *strings.Builder) {
	if e.sink == nil {
		return
	}
	for _, ev := range e.sink.Events[e.seen:] {
		w.WriteString(fmtEvent(ev) + "\n")
	}
	e.seen = len(e.sink.Events)
}

func (e *ddEnv) reset() {
	e.sink = &MemorySink{}
	e.seen = 0
}

func (e *ddEnv) run(c *ddCmd) string {
	t := e.t
	var w strings.Builder
	switch c.name {
	// circuit breaker
	case "breaker":
		e.reset()
		s := BreakerSettings{
			FailureThreshold: c.int(t, "failure_threshold"),
			Cooldown:         c.dur(t, "cooldown"),
			HalfOpenTrials:   c.int(t, "half_open_trials"),
			MaxTrips:         c.int(t, "max_trips"),
		}
		if c.has("failure_window") {
			s.FailureWindow = new(c.dur(t, "failure_window"))
		}
		b, err := NewCircuitBreaker(s, e.sink)
		if err != nil {
			return "error: " + err.Error()
		}
		e.b = b
		return "state=" + b.State().String()
	case "allow":
		ok, reason := e.b.Allow(c.time(t))
		e.newEvents(&w)
		if ok {
			w.WriteString("allowed")
		} else {
			w.WriteString("refused: " + reason)
		}
		w.WriteString(" state=" + e.b.State().String())
	case "fail":
		e.b.RecordFailure(c.time(t), c.str("reason", "order rejected"))
		e.newEvents(&w)
		w.WriteString("state=" + e.b.State().String())
	case "success":
		e.b.RecordSuccess(c.time(t))
		e.newEvents(&w)
		w.WriteString("state=" + e.b.State().String())
	case "wake":
		woke := e.b.Wake(c.time(t))
		e.newEvents(&w)
		fmt.Fprintf(&w, "woke=%t state=%s", woke, e.b.State())
	case "reset":
		e.b.Reset(c.time(t), c.str("reason", "manual reset"))
		e.newEvents(&w)
		w.WriteString("state=" + e.b.State().String())
	case "next-wakeup":
		if at, ok := e.b.NextWakeup(); ok {
			w.WriteString("wakeup=" + fmtTime(at))
		} else {
			w.WriteString("wakeup=none")
		}

	// trailing stops
	case "stops":
		e.reset()
		var p PriceChoice
		if err := p.UnmarshalText([]byte(c.str("price", ""))); err != nil {
			return "error: " + err.Error()
		}
		s := StopSettings{
			ActivationPct: c.float(t, "activation_pct", 0),
			TrailPct:      c.float(t, "trail_pct", 0),
			StopLossPct:   c.float(t, "stop_loss_pct", 0),
			Price:         p,
		}
		m, err := NewStops(s, e.sink)
		if err != nil {
			return "error: " + err.Error()
		}
		e.stops = m
		return "ok"
	case "add":
		side := map[string]Side{"long": Long, "short": Short}[c.str("side", "long")]
		err := e.stops.Add(c.time(t), Position{
			ExecutionID: c.str("id", ""), Symbol: c.str("sym", "SPY"), Contract: c.str("contract", ""),
			Side: side, EntryPremium: c.float(t, "entry", 0),
		})
		e.newEvents(&w)
		if err != nil {
			w.WriteString("error: " + err.Error())
		} else {
			w.WriteString("ok")
		}
	case "quote":
		bid, ask := c.float(t, "bid", math.NaN()), c.float(t, "ask", math.NaN())
		if c.has("p") {
			bid = c.float(t, "p", 0)
			ask = bid
		}
		id := c.str("id", "")
		a, err := e.stops.Update(id, bid, ask, c.time(t))
		e.newEvents(&w)
		if err != nil {
			w.WriteString("error: " + err.Error())
			break
		}
		st, _ := e.stops.Get(id)
		fmt.Fprintf(&w, "%s state=%s level=%s", a, st.State(), pf(st.Level()))
	case "remove":
		err := e.stops.Remove(c.time(t), c.str("id", ""), c.str("reason", "position closed"))
		e.newEvents(&w)
		if err != nil {
			w.WriteString("error: " + err.Error())
		} else {
			w.WriteString("ok")
		}
	case "show":
		for _, s := range e.stops.Snapshot() {
			fmt.Fprintf(&w, "%s %s %s entry=%s best=%s level=%s\n", s.ExecutionID, s.Side, s.State, pf(s.EntryPremium), pf(s.Best), pf(s.Level))
		}
		if e.stops.Len() == 0 {
			w.WriteString("no stops")
		}

	// portfolio limits
	case "limits":
		e.reset()
		s := LimitsSettings{
			MaxPortfolioDelta: c.float(t, "max_portfolio_delta", 0),
			MaxPortfolioGamma: c.float(t, "max_portfolio_gamma", 0),
			MaxSymbolDelta:    c.float(t, "max_symbol_delta", 0),
			MaxPositionPct:    c.float(t, "max_position_pct", 0),
			MaxCorrelatedPct:  c.float(t, "max_correlated_pct", 0),
			MaxTotalExposure:  c.float(t, "max_total_exposure", 0),
			WarnPct:           c.float(t, "warn_pct", 0),
		}
		if g := c.str("groups", ""); g != "" {
			s.CorrelationGroups = map[string][]string{}
			for _, grp := range strings.Split(g, ";") {
				name, members, _ := strings.Cut(grp, ":")
				s.CorrelationGroups[name] = strings.Split(members, ",")
			}
		}
		l, err := NewLimitsChecker(s, e.sink)
		if err != nil {
			return "error: " + err.Error()
		}
		e.lim = l
		e.ex = &testExposure{equity: c.float(t, "equity", 100_000)}
		return "ok"
	case "equity":
		e.ex.equity = c.float(t, "v", 0)
		return "equity=" + pf(e.ex.equity)
	case "position":
		e.ex.add(testPos{id: c.str("id", ""), symbol: c.str("sym", "SPY"),
			delta: c.float(t, "delta", 0), gamma: c.float(t, "gamma", 0), value: c.float(t, "value", 0)})
		return fmt.Sprintf("positions=%d delta=%s gamma=%s total=%s", len(e.ex.pos), pf(e.ex.PortfolioDelta()), pf(e.ex.PortfolioGamma()), pf(e.ex.TotalValue()))
	case "check":
		req := EntryRequest{ExecutionID: c.str("id", ""), Symbol: c.str("sym", "SPY"), Contract: c.str("contract", ""),
			Delta: c.float(t, "delta", 0), Gamma: c.float(t, "gamma", 0), Value: c.float(t, "value", 0)}
		d := e.lim.CheckEntry(c.time(t), e.ex, req)
		e.newEvents(&w)
		fmt.Fprintf(&w, "allowed=%t rule=%s value=%s limit=%s", d.Allowed, d.Rule, pf(d.Value), pf(d.Limit))
		if d.Allowed && c.str("fill", "") == "true" {
			e.ex.add(testPos{id: req.ExecutionID, symbol: req.Symbol, delta: req.Delta, gamma: req.Gamma, value: req.Value})
		}
	case "health":
		ws := e.lim.CheckHealth(c.time(t), e.ex)
		e.newEvents(&w)
		fmt.Fprintf(&w, "warnings=%d", len(ws))
	default:
		t.Fatalf("%s: unknown command %q", c.pos, c.name)
	}
	return w.String()
}

func fmtTime(t time.Time) string {
	if t.Truncate(24 * time.Hour).Equal(baseDay) {
		return t.Format("15:04:05")
	}
	return t.Format("2006-01-02T15:04:05")
}

// pf prints a float for a script: NaN and ±Inf spelled out.
func pf(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(v, 'g', 10, 64)
}

func fmtEvent(e Event) string {
	parts := []string{fmtTime(e.Time), e.Type.String()}
	add := func(k, v string) {
		if v != "" {
			parts = append(parts, k+"="+v)
		}
	}
	if e.Type.Component() != e.Component {
		parts = append(parts, "COMPONENT-MISMATCH="+e.Component.String())
	}
	add("id", e.ExecutionID)
	add("sym", e.Symbol)
	add("contract", e.Contract)
	if e.StateFrom != "" || e.StateTo != "" {
		parts = append(parts, e.StateFrom+"->"+e.StateTo)
	}
	add("rule", e.Rule)
	if !math.IsNaN(e.Value) {
		add("value", pf(e.Value))
	}
	if !math.IsNaN(e.Threshold) {
		add("threshold", pf(e.Threshold))
	}
	add("reason", strconv.Quote(e.Reason))
	add("details", e.Details)
	return strings.Join(parts, " ")
}

// testPos and testExposure are a simple Exposure for tests: every method
// recomputes from the position list.
type testPos struct {
	id, symbol          string
	delta, gamma, value float64
}

type testExposure struct {
	pos    []testPos
	equity float64
}

var _ Exposure = (*testExposure)(nil)

func (x *testExposure) add(p testPos) { x.pos = append(x.pos, p) }

func (x *testExposure) sum(f func(p testPos) float64) float64 {
	s := 0.0
	for _, p := range x.pos {
		s += f(p)
	}
	return s
}

func (x *testExposure) PortfolioDelta() float64 {
	return x.sum(func(p testPos) float64 { return p.delta })
}
func (x *testExposure) PortfolioGamma() float64 {
	return x.sum(func(p testPos) float64 { return p.gamma })
}
func (x *testExposure) SymbolDelta(s string) float64 {
	return x.sum(func(p testPos) float64 { return cond(p.symbol == s, p.delta) })
}
func (x *testExposure) SymbolValue(s string) float64 {
	return x.sum(func(p testPos) float64 { return cond(p.symbol == s, p.value) })
}
func (x *testExposure) TotalValue() float64 { return x.sum(func(p testPos) float64 { return p.value }) }
func (x *testExposure) MaxPositionValue() float64 {
	return maxOf(x.pos)
}
func (x *testExposure) Equity() float64 { return x.equity }
func (x *testExposure) Symbols() []string {
	var out []string
	for _, p := range x.pos {
		if !slices.Contains(out, p.symbol) {
			out = append(out, p.symbol)
		}
	}
	slices.Sort(out)
	return out
}

func cond(ok bool, v float64) float64 {
	if ok {
		return v
	}
	return 0
}

func maxOf(ps []testPos) float64 {
	m := 0.0
	for _, p := range ps {
		m = max(m, p.value)
	}
	return m
}
