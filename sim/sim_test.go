package sim_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/optionsrisk/backtest/feeds"
	"github.com/optionsrisk/backtest/risk"
	"github.com/optionsrisk/backtest/scenarios"
	"github.com/optionsrisk/backtest/sim"
)

type runOut struct {
	res    sim.Result
	events []risk.Event
	rec    *sim.MemoryRecorder
	quotes map[string]map[int64]feeds.Quote // OCC → time → quote (only when asked)
	marks  []string                         // invariant violations of position marks (only when quotes are kept)
}

// simulate runs a loaded scenario on its synthetic feed, in memory.
func simulate(t *testing.T, l *scenarios.Loaded, keepQuotes bool) runOut {
	return simulateDropping(t, l, keepQuotes, 0)
}

// simulateDropping is simulate with quote gaps: with dropMod > 0, a
// contract whose (id + local day) is divisible by dropMod does not quote
// that day, so legs go stale, exits meet no market and marks come from the
// model.
func simulateDropping(t *testing.T, l *scenarios.Loaded, keepQuotes bool, dropMod int) runOut {
	t.Helper()
	src, err := feeds.NewSynthetic(*l.Feed.Synthetic, l.Seed)
	if err != nil {
		t.Fatal(err)
	}
	var out runOut
	var s feeds.Source = src
	if keepQuotes {
		out.quotes = map[string]map[int64]feeds.Quote{}
		s = &tapSource{Source: src, quotes: out.quotes, dropMod: int64(dropMod)}
	}
	sink := &risk.MemorySink{}
	rm, err := risk.NewManager(l.Risk, sink)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := l.SimConfig()
	if err != nil {
		t.Fatal(err)
	}
	out.rec = &sim.MemoryRecorder{}
	e, err := sim.New(cfg, s, rm, out.rec, rand.New(rand.NewPCG(l.Seed, 7)))
	if err != nil {
		t.Fatal(err)
	}
	if keepQuotes {
		e.OnInstant(func(now int64, ms []sim.PositionMark) {
			for _, m := range ms {
				if bad := markViolation(m); bad != "" && len(out.marks) < 10 {
					out.marks = append(out.marks, fmt.Sprintf("%s at %s: %s", m.ExecID, feeds.MicrosTime(now), bad))
				}
			}
		})
	}
	out.res, err = e.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out.events = sink.Events
	return out
}

// tapSource records every quote by contract and time.
type tapSource struct {
	feeds.Source
	quotes  map[string]map[int64]feeds.Quote
	dropMod int64
	buf     feeds.Batch
}

func (s *tapSource) Next(ctx context.Context) (*feeds.Batch, error) {
	b, err := s.Source.Next(ctx)
	if err != nil {
		return b, err
	}
	if s.dropMod > 0 {
		s.buf.Quotes = s.buf.Quotes[:0]
		for _, q := range b.Quotes {
			if day := (q.Time - 5*3600e6) / 86400e6; (int64(q.Contract)+day)%s.dropMod != 0 {
				s.buf.Quotes = append(s.buf.Quotes, q)
			}
		}
		b = &s.buf
	}
	for _, q := range b.Quotes {
		occ := s.Contracts().Get(q.Contract).Symbol
		m := s.quotes[occ]
		if m == nil {
			m = map[int64]feeds.Quote{}
			s.quotes[occ] = m
		}
		m[q.Time] = q
	}
	return b, nil
}

func load(t *testing.T, name string, sets ...string) *scenarios.Loaded {
	t.Helper()
	l, err := scenarios.Load(name, sets)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestDeterministic(t *testing.T) {
	a := simulate(t, load(t, "spy_crash"), false)
	b := simulate(t, load(t, "spy_crash"), false)
	if len(a.events) == 0 || len(a.rec.Fills) == 0 || len(a.rec.Points) == 0 {
		t.Fatalf("empty run: %d events, %d fills, %d points", len(a.events), len(a.rec.Fills), len(a.rec.Points))
	}
	if !reflect.DeepEqual(eventsComparable(a.events), eventsComparable(b.events)) {
		t.Fatal("risk events differ between two runs of the same scenario")
	}
	if !reflect.DeepEqual(fillsComparable(a.rec.Fills), fillsComparable(b.rec.Fills)) || !reflect.DeepEqual(a.rec.Points, b.rec.Points) {
		t.Fatal("fills or equity differ between two runs of the same scenario")
	}
	// And the comparison can fail: another seed gives another run.
	c := simulate(t, load(t, "spy_crash", "seed=7"), false)
	if reflect.DeepEqual(fillsComparable(a.rec.Fills), fillsComparable(c.rec.Fills)) {
		t.Fatal("a different seed gave identical fills")
	}
}

// NaN != NaN, so compare through a textual form.
func eventsComparable(ev []risk.Event) []string {
	out := make([]string, len(ev))
	for i, e := range ev {
		out[i] = fmt.Sprintf("%+v", e)
	}
	return out
}

func fillsComparable(fs []sim.Fill) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = fmt.Sprintf("%+v", f)
	}
	return out
}

func TestBuiltinsExerciseAllComponents(t *testing.T) {
	for _, b := range scenarios.Builtins() {
		t.Run(b.Name, func(t *testing.T) {
			r := simulate(t, load(t, b.Name), false)
			seen := map[risk.Component]bool{}
			for _, e := range r.events {
				seen[e.Component] = true
			}
			for _, c := range []risk.Component{risk.CircuitBreakerComponent, risk.TrailingStopComponent, risk.PortfolioLimitsComponent} {
				if !seen[c] {
					t.Errorf("%s emitted no %s events", b.Name, c)
				}
			}
		})
	}
}

// randomScenario draws a small scenario: a few days of calm_2019, random
// strategy, broker faults and risk settings.
func randomScenario(t *testing.T, rng *rand.Rand) *scenarios.Loaded {
	return randomScenarioOf(t, rng, "")
}

// randomScenarioOf is randomScenario; a non-empty structure type forces
// that structure (with random side and parameters).
func randomScenarioOf(t *testing.T, rng *rand.Rand, forced string) *scenarios.Loaded {
	l := load(t, "calm_2019")
	s := &l.Scenario
	startDay := rng.IntN(40)
	days := s.Feed.Synthetic.Days[startDay : startDay+3+rng.IntN(6)]
	s.Feed.Synthetic.Days = days
	s.Feed.Synthetic.Strikes.AroundSpotPct = 8
	s.Period.Start.Time, _ = time.Parse(time.DateOnly, days[0].Date)
	s.Period.End.Time, _ = time.Parse(time.DateOnly, days[len(days)-1].Date)
	s.Seed = rng.Uint64()
	s.Strategy.Entry.Every = time.Duration(5+rng.IntN(4)*5) * time.Minute
	s.Strategy.Entry.Side = []string{"short", "long"}[rng.IntN(2)]
	s.Strategy.Entry.Right = []string{"put", "call"}[rng.IntN(2)]
	s.Strategy.Entry.SpreadWidth = float64(rng.IntN(3)) * 5
	side := s.Strategy.Entry.Side
	if rng.IntN(2) == 0 || forced != "" { // a random structure instead of the shorthand
		e := &s.Strategy.Entry
		st := &sim.StructureConfig{Side: e.Side, Right: e.Right, Width: float64(1+rng.IntN(3)) * 5}
		e.Right, e.Side, e.SpreadWidth, e.TargetDelta = "", "", 0, 0
		types := []string{"single", "vertical", "straddle", "strangle", "iron_condor", "iron_butterfly", "butterfly", "calendar", "diagonal", "ratio", "custom"}
		st.Type = types[rng.IntN(len(types))]
		if forced != "" {
			st.Type = forced
		}
		switch st.Type {
		case "calendar", "diagonal":
			st.DTE, st.FarDTE = [2]int{3, 20}, [2]int{21, 60}
		case "custom": // a broken-wing condor: wings at different widths
			st.Width = 0
			st.Legs = []sim.LegSpec{
				{Right: "put", Qty: 1, Delta: 0.2}, {Right: "put", Qty: -1, Offset: -5},
				{Right: "call", Qty: 1, Delta: 0.2}, {Right: "call", Qty: -1, Offset: 10, From: "leg3"},
			}
		}
		e.Structure = st
	}
	s.Strategy.Entry.Qty = 1 + rng.IntN(5)
	s.Strategy.Entry.MaxOpen = 1 + rng.IntN(15)
	s.Broker.Slippage = sim.SlippageConfig{Model: []string{"none", "ticks", "spread_fraction"}[rng.IntN(3)], Ticks: 2, Fraction: 0.2}
	s.Broker.Fill = sim.FillConfig{Model: []string{"natural", "mid", "mid_plus", ""}[rng.IntN(4)]}
	if s.Broker.Fill.Model == "mid_plus" {
		s.Broker.Fill.Fraction = rng.Float64()
	}
	s.Broker.ClosedMarket = []string{"wait", "reject"}[rng.IntN(2)]
	s.Broker.Marks.StaleAfter = time.Duration(5+rng.IntN(60)) * time.Minute
	s.Strategy.Exit.DTEFloor = rng.IntN(4)
	if rng.IntN(3) == 0 { // a limit near the typical price: some orders expire unfilled
		if side == "short" {
			s.Strategy.Entry.Limit = &sim.EntryLimit{MinCredit: 0.5 + rng.Float64()*2}
		} else {
			s.Strategy.Entry.Limit = &sim.EntryLimit{MaxDebit: 0.5 + rng.Float64()*2}
		}
	}
	s.Broker.Faults.RejectProb = rng.Float64() * 0.4
	s.Broker.Latency = time.Duration(rng.IntN(10)) * time.Minute
	s.Risk.CircuitBreaker.FailureThreshold = 1 + rng.IntN(4)
	s.Risk.CircuitBreaker.HalfOpenTrials = 1 + rng.IntN(3)
	s.Risk.TrailingStop.ActivationPct = float64(rng.IntN(40))
	s.Risk.TrailingStop.TrailPct = 5 + float64(rng.IntN(40))
	s.Risk.Limits.MaxPortfolioDelta = 150 + rng.Float64()*1500 // share equivalents
	s.Risk.Limits.MaxSymbolDelta = 150 + rng.Float64()*1500
	s.Risk.Limits.MaxPortfolioGamma = 10 + rng.Float64()*300
	s.Risk.Limits.MaxTotalExposure = 20000 + rng.Float64()*200000 // max loss or margin, dollars
	s.Risk.Limits.MaxPositionPct = 10 + rng.Float64()*40
	s.Risk.Limits.MaxCorrelatedPct = 50 + rng.Float64()*200
	if err := s.Validate(); err != nil {
		t.Fatalf("random scenario invalid: %v", err)
	}
	return l
}

// TestInvariantsRandomStructures runs the invariants over every structure
// type, both sides, with loose limits so that structures do trade.
func TestInvariantsRandomStructures(t *testing.T) {
	traded := map[string]int{}
	for i, typ := range []string{"single", "vertical", "straddle", "strangle", "iron_condor", "iron_butterfly", "butterfly", "calendar", "diagonal", "ratio", "custom"} {
		for k := range 3 {
			seed := uint64(5000 + 10*i + k)
			t.Run(fmt.Sprintf("%s/%d", typ, seed), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(seed, 0))
				l := randomScenarioOf(t, rng, typ)
				l.Risk.Limits = risk.LimitsSettings{}
				l.Strategy.Entry.Structure.Side = []string{"short", "long"}[k%2]
				l.Strategy.Entry.Limit = nil
				l.Broker.Faults.RejectProb = 0
				r := simulateDropping(t, l, true, []int{0, 5}[k%2])
				checkFillsWithinQuotes(t, l, r)
				if len(r.marks) > 0 {
					t.Fatalf("marks outside their bounds: %v", r.marks)
				}
				checkSignalsAccounted(t, r.res.Signals)
				checkFailuresInSession(t, r)
				checkLossWithinMaxLoss(t, r)
				checkNoOrderWhileOpen(t, r)
				checkEquityIdentity(t, r)
				for _, tr := range r.res.Trades {
					traded[tr.Structure+"/"+map[bool]string{true: "long", false: "short"}[tr.Long]]++
				}
			})
		}
	}
	t.Logf("trades by structure: %v", traded)
	if len(traded) < 16 {
		t.Fatalf("only %d structure/side pairs traded: %v", len(traded), traded)
	}
}

func TestInvariantsRandomScenarios(t *testing.T) {
	seeds := 12
	if testing.Short() {
		seeds = 4
	}
	for i := range seeds {
		seed := uint64(1000 + i)
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 0))
			l := randomScenario(t, rng)
			r := simulateDropping(t, l, true, []int{0, 3, 7}[seed%3])
			rules := map[string]int{}
			for _, e := range r.events {
				if e.Type == risk.EventRejected {
					rules[e.Rule]++
				}
			}
			t.Logf("seed %d: limits rejected %v", seed, rules)
			modelMarks := 0
			for _, p := range r.rec.Points {
				modelMarks += int(p.ModelMarks)
			}
			t.Logf("seed %d: %d quotes, %d orders, %d events, %d no_market, %d model-marked legs in snapshots, signals %+v", seed, r.res.Quotes, r.res.Orders, len(r.events), r.res.NoMarket, modelMarks, r.res.Signals)
			checkFillsWithinQuotes(t, l, r)
			if len(r.marks) > 0 {
				t.Fatalf("marks outside their bounds: %v", r.marks)
			}
			checkSignalsAccounted(t, r.res.Signals)
			checkFailuresInSession(t, r)
			checkLossWithinMaxLoss(t, r)
			checkNoOrderWhileOpen(t, r)
			checkAllowedWithinLimits(t, r)
			checkEquityIdentity(t, r)
			for i, f := range r.rec.Fills {
				if f.Seq != int64(i+1) {
					t.Fatalf("fills seq %d at row %d", f.Seq, i)
				}
			}
		})
	}
}

func checkFillsWithinQuotes(t *testing.T, l *scenarios.Loaded, r runOut) {
	slip := l.Broker.Slippage
	for _, f := range r.rec.Fills {
		if f.Status != sim.StatusFilled {
			continue
		}
		tr := tradeOf(r, f.ExecutionID)
		var vBid, vAsk, sl float64
		legs := splitContract(f.Contract)
		for k, occ := range legs {
			q, ok := r.quotes[occ][f.FillTime]
			if !ok {
				t.Fatalf("fill of %s at %s has no quote at that time", occ, feeds.MicrosTime(f.FillTime))
			}
			s := 0.0
			switch slip.Model {
			case "ticks":
				s = slip.Ticks * 0.01
			case "spread_fraction":
				s = slip.Fraction * (q.Ask - q.Bid)
			}
			n := float64(tr.Legs[k].Qty) // signed contracts per unit, as held
			if n > 0 {
				vBid, vAsk = vBid+n*q.Bid, vAsk+n*q.Ask
			} else {
				vBid, vAsk = vBid+n*q.Ask, vAsk+n*q.Bid
			}
			sl += math.Abs(n) * s
		}
		lo, hi := vBid-sl, vAsk+sl
		if !tr.Long {
			lo, hi = -vAsk-sl, -vBid+sl
		}
		// The fill model prices inside the natural market (plus slippage);
		// only the structure's bounds may move a price outside it.
		blo, bhi := sim.TradeBounds(tr)
		if f.FillPrice < lo-1e-9 || f.FillPrice > hi+1e-9 {
			if !atBound(f, blo, bhi) {
				t.Fatalf("fill %s %s %s at %.4f outside [%.4f, %.4f] and not at a bound [%g, %g]", f.ExecutionID, tr.Structure, f.Contract, f.FillPrice, lo, hi, blo, bhi)
			}
		}
		if f.FillPrice < blo-1e-9 || f.FillPrice > bhi+1e-9 {
			t.Fatalf("fill %s %s at %.4f outside its structure's bounds [%g, %g]", f.ExecutionID, f.Contract, f.FillPrice, blo, bhi)
		}
	}
}

func tradeOf(r runOut, id string) sim.Trade {
	for _, tr := range r.res.Trades {
		if tr.ExecutionID == id {
			return tr
		}
	}
	panic("no trade " + id)
}

func splitContract(c string) []string { return strings.Split(c, "/") }

func checkNoOrderWhileOpen(t *testing.T, r runOut) {
	blockedEvents := 0
	type change struct {
		at time.Time
		to string
	}
	var changes []change
	for _, e := range r.events {
		if e.Type == risk.EventBlocked {
			blockedEvents++
		}
		if e.Type == risk.EventStateChange {
			changes = append(changes, change{e.Time, e.StateTo})
		}
	}
	blockedFills := 0
	for _, f := range r.rec.Fills {
		if f.Status == sim.StatusBlocked {
			blockedFills++
			continue
		}
		if f.Status == sim.StatusSettled || f.Status == sim.StatusNoMarket || f.Status == sim.StatusRejected && strings.HasPrefix(f.Reason, "market closed") {
			continue // expiry, or an order never sent to the broker
		}
		state := "closed"
		at := feeds.MicrosTime(f.OrderTime)
		for _, c := range changes {
			if c.at.After(at) {
				break
			}
			state = c.to
		}
		if state == "open" || state == "halted" {
			t.Fatalf("order %s sent at %s while the breaker was %s", f.ExecutionID, at, state)
		}
	}
	if blockedEvents != blockedFills {
		t.Fatalf("%d blocked events but %d blocked orders", blockedEvents, blockedFills)
	}
}

func checkAllowedWithinLimits(t *testing.T, r runOut) {
	for _, e := range r.events {
		if e.Type != risk.EventAllowed {
			continue
		}
		var d map[string]struct {
			Value float64 `json:"value"`
			Limit float64 `json:"limit"`
		}
		if err := json.Unmarshal([]byte(e.Details), &d); err != nil {
			t.Fatalf("allowed event details %q: %v", e.Details, err)
		}
		for rule, v := range d {
			if v.Limit > 0 && math.Abs(v.Value) > v.Limit+1e-9 {
				t.Fatalf("entry %s allowed with %s %.4f over limit %.4f", e.ExecutionID, rule, v.Value, v.Limit)
			}
		}
	}
}

func checkEquityIdentity(t *testing.T, r runOut) {
	for _, p := range r.rec.Points {
		want := r.res.Capital + p.RealizedPnL + p.UnrealizedPnL
		if math.Abs(p.Equity-want) > 1e-6*math.Max(1, math.Abs(want)) {
			t.Fatalf("at %s equity %.6f != capital + realized + unrealized %.6f", feeds.MicrosTime(p.Time), p.Equity, want)
		}
		if p.Drawdown < 0 || p.Drawdown > 1 {
			t.Fatalf("drawdown %g outside [0, 1]", p.Drawdown)
		}
	}
}

// atBound reports whether a fill's net price is a bound of its structure
// (0 counts: a call's spot bound is never reached here).
func atBound(f sim.Fill, lo, hi float64) bool {
	return math.Abs(f.FillPrice) < 1e-9 || math.Abs(f.FillPrice-lo) < 1e-9 || math.Abs(f.FillPrice-hi) < 1e-9
}

// markViolation checks one position's mark against its no-arbitrage bounds
// ([0, width] per share for a vertical's net, >= 0 for a single option) and
// a model-marked leg against its intrinsic value (a tick of tolerance).
func markViolation(m sim.PositionMark) string {
	for _, v := range []float64{m.Bid, m.Ask, m.Mid} {
		if math.IsNaN(v) || v < m.Lo-1e-9 || v > m.Hi+1e-9 || v < 0 && m.Legs == 1 {
			return fmt.Sprintf("net mark %g outside [%g, %g]", v, m.Lo, m.Hi)
		}
	}
	if m.Structure == "vertical" && (m.Lo != 0 || m.Hi != m.Width || m.Width <= 0) {
		return fmt.Sprintf("vertical bounds [%g, %g] are not [0, width %g]", m.Lo, m.Hi, m.Width)
	}
	models := 0
	for _, l := range m.LegMarks {
		if l.Model {
			models++
			if l.Mid < l.Intrinsic-0.01 {
				return fmt.Sprintf("model mark %g below intrinsic %g", l.Mid, l.Intrinsic)
			}
		}
		if l.Mid < 0 {
			return fmt.Sprintf("leg mark %g < 0", l.Mid)
		}
	}
	if models != m.Models {
		return fmt.Sprintf("%d model legs counted, %d flagged", m.Models, models)
	}
	return ""
}

// checkSignalsAccounted: every entry signal has exactly one outcome.
func checkSignalsAccounted(t *testing.T, s sim.SignalOutcomes) {
	t.Helper()
	sum := s.Opened + s.NoQuote + s.NoContract + s.MaxOpen + s.Limits + s.Breaker + s.Broker + s.Condition
	var by int64
	for _, n := range s.NoContractBy {
		by += n
	}
	if sum != s.Total || by != s.NoContract || s.Total == 0 {
		t.Fatalf("signal outcomes %+v: sum %d, by filter %d", s, sum, by)
	}
}

// checkFailuresInSession: the breaker hears failures only while the market
// is open (the closing instant included).
func checkFailuresInSession(t *testing.T, r runOut) {
	t.Helper()
	for _, e := range r.events {
		if e.Type != risk.EventFailure {
			continue
		}
		ny := e.Time.In(nyLoc)
		day := time.Date(ny.Year(), ny.Month(), ny.Day(), 0, 0, 0, 0, nyLoc)
		date := time.Date(ny.Year(), ny.Month(), ny.Day(), 0, 0, 0, 0, time.UTC)
		open, cls := day.Add(9*time.Hour+30*time.Minute), day.Add(feeds.SessionClose(date))
		if !feeds.IsTradingDay(date) || ny.Before(open) || ny.After(cls) {
			t.Fatalf("breaker failure outside the session at %s: %s", ny, e.Reason)
		}
	}
}

var nyLoc, _ = time.LoadLocation("America/New_York")

// checkLossWithinMaxLoss: no trade loses more than its structure's maximum
// loss plus its commissions.
func checkLossWithinMaxLoss(t *testing.T, r runOut) {
	t.Helper()
	comm := map[string]float64{}
	for _, f := range r.rec.Fills {
		if f.Status == sim.StatusFilled {
			comm[f.ExecutionID] += f.Commission
		}
	}
	for _, tr := range r.res.Trades {
		if tr.ClosedAt == 0 {
			continue
		}
		if -tr.PnL > tr.MaxLoss+comm[tr.ExecutionID]+1e-6 {
			t.Fatalf("trade %s %s lost %.2f, beyond its max loss %.2f plus commissions %.2f", tr.ExecutionID, tr.Structure, -tr.PnL, tr.MaxLoss, comm[tr.ExecutionID])
		}
		if lo, hi := sim.TradeBounds(tr); tr.EntryPremium < lo-1e-9 || tr.EntryPremium > hi+1e-9 {
			t.Fatalf("trade %s %s entered at %g outside its bounds [%g, %g]", tr.ExecutionID, tr.Structure, tr.EntryPremium, lo, hi)
		}
		if tr.Structure == "vertical" && (len(tr.Legs) != 2 || tr.Width <= 0) || tr.Structure == "single" && len(tr.Legs) != 1 || tr.Multiplier != 100 {
			t.Fatalf("trade %+v: structure fields inconsistent", tr)
		}
	}
}

// The structure built-ins replay deterministically, trade their structure,
// refuse signals by their condition and close by their exit rules.
func TestStructureBuiltins(t *testing.T) {
	for _, tc := range []struct{ name, structure string }{{"iron_condor", sim.StructIronCondor}, {"short_strangle", sim.StructStrangle}} {
		t.Run(tc.name, func(t *testing.T) {
			a := simulate(t, load(t, tc.name), false)
			b := simulate(t, load(t, tc.name), false)
			if !reflect.DeepEqual(fillsComparable(a.rec.Fills), fillsComparable(b.rec.Fills)) || !reflect.DeepEqual(a.rec.Points, b.rec.Points) {
				t.Fatal("two runs differ")
			}
			reasons := map[string]int{}
			for _, tr := range a.res.Trades {
				if tr.Structure != tc.structure || tr.Long {
					t.Fatalf("trade %+v: want a short %s", tr, tc.structure)
				}
				reasons[tr.ExitReason]++
			}
			t.Logf("%d trades, exits %v, signals %+v", len(a.res.Trades), reasons, a.res.Signals)
			// The trailing stop follows the structure's net premium.
			if len(a.res.Trades) < 5 || reasons["profit_target"] == 0 || reasons["trailing_stop"] == 0 || a.res.Signals.Condition == 0 {
				t.Fatalf("trades %d, exits %v, signals %+v: want trades closed at their profit target and signals refused by the condition", len(a.res.Trades), reasons, a.res.Signals)
			}
			checkSignalsAccounted(t, a.res.Signals)
			checkLossWithinMaxLoss(t, a)
			checkEquityIdentity(t, a)
		})
	}
}
