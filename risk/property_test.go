package risk

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// Seeded property tests. A failure names its seed; rerun just that one with
// -seed=N.
var seedFlag = flag.Uint64("seed", 0, "run the property tests with this seed only")

func forSeeds(t *testing.T, n int, f func(t *testing.T, seed uint64, rng *rand.Rand)) {
	seeds := make([]uint64, 0, n)
	if *seedFlag != 0 {
		seeds = append(seeds, *seedFlag)
	} else {
		for i := range n {
			seeds = append(seeds, uint64(i+1))
		}
	}
	for _, s := range seeds {
		rng := rand.New(rand.NewPCG(s, s^0x9e3779b97f4a7c15))
		ok := t.Run(fmt.Sprint("seed=", s), func(t *testing.T) { f(t, s, rng) })
		if !ok {
			t.Fatalf("failed with seed %d (rerun: go test ./risk/ -run %s -seed=%d)", s, t.Name(), s)
		}
	}
}

// replayed is the state reconstructed from an event log alone.
type replayed struct {
	breaker string
	stops   map[string]*replayedStop
}

type replayedStop struct {
	state       string
	best, level float64
}

func replay(evs []Event) replayed {
	r := replayed{breaker: StateClosed.String(), stops: map[string]*replayedStop{}}
	for _, e := range evs {
		switch e.Type {
		case EventStateChange, EventReset:
			r.breaker = e.StateTo
		case EventAdd:
			r.stops[e.ExecutionID] = &replayedStop{state: "pending", best: NoValue, level: e.Threshold}
		case EventActivate, EventUpdate:
			s := r.stops[e.ExecutionID]
			if e.StateTo != "" {
				s.state = e.StateTo
			}
			s.best, s.level = e.Value, e.Threshold
		case EventTrigger, EventRemove:
			s := r.stops[e.ExecutionID]
			s.state = e.StateTo
			if e.Type == EventTrigger {
				s.level = e.Threshold
			}
		}
	}
	return r
}

func sameFloat(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) }

func randSettings(rng *rand.Rand) Settings {
	s := Settings{
		CircuitBreaker: BreakerSettings{
			FailureThreshold: 1 + rng.IntN(5),
			Cooldown:         time.Duration(1+rng.IntN(10)) * time.Minute,
			HalfOpenTrials:   1 + rng.IntN(4),
			MaxTrips:         rng.IntN(4),
		},
		TrailingStop: StopSettings{
			ActivationPct: float64(rng.IntN(30)),
			TrailPct:      1 + float64(rng.IntN(50)),
			StopLossPct:   float64(rng.IntN(3)) * 50,
			Price:         PriceChoice(rng.IntN(2)),
		},
	}
	if rng.IntN(3) > 0 {
		s.CircuitBreaker.FailureWindow = new(time.Duration(rng.IntN(120)) * time.Second)
	}
	return s
}

// TestPropertyStopsAndReplay drives random quotes through random stops and
// checks that a long level never moves down, a short one never up, and that
// the event log alone reconstructs every stop's state, best and level.
func TestPropertyStopsAndReplay(t *testing.T) {
	forSeeds(t, 300, func(t *testing.T, seed uint64, rng *rand.Rand) {
		sink := &MemorySink{}
		m, err := NewManager(randSettings(rng), sink)
		if err != nil {
			t.Fatal(err)
		}
		now := t0
		type pos struct {
			id    string
			side  Side
			price float64
		}
		var open []*pos
		removed := map[string]bool{}
		for i := range 400 {
			now = now.Add(time.Duration(1+rng.IntN(60)) * time.Second)
			switch k := rng.IntN(20); {
			case k == 0 || len(open) == 0:
				p := &pos{id: fmt.Sprint("x", i), side: Side(1 + rng.IntN(2)), price: 0.5 + rng.Float64()*10}
				if err := m.AddStop(now, Position{ExecutionID: p.id, Symbol: "SPY", Side: p.side, EntryPremium: p.price}); err != nil {
					t.Fatal(err)
				}
				open = append(open, p)
			case k == 1:
				j := rng.IntN(len(open))
				if err := m.RemoveStop(now, open[j].id, "closed"); err != nil {
					t.Fatal(err)
				}
				removed[open[j].id] = true
				open = append(open[:j], open[j+1:]...)
			default:
				p := open[rng.IntN(len(open))]
				p.price = math.Max(0.01, p.price*(1+rng.NormFloat64()*0.08))
				if rng.IntN(30) == 0 { // a gap
					p.price *= 0.2 + rng.Float64()*3
				}
				spread := p.price * rng.Float64() * 0.05
				st, _ := m.Stops().Get(p.id)
				before := st.Level()
				wasActive := st.State() == StopActive
				a, err := m.UpdateStop(p.id, p.price-spread/2, p.price+spread/2, now)
				if err != nil {
					t.Fatal(err)
				}
				after := st.Level()
				if wasActive {
					if p.side == Long && after < before || p.side == Short && after > before {
						t.Fatalf("%s stop %s moved the wrong way: %v → %v", p.side, p.id, before, after)
					}
				}
				if (a == Exit) != (st.State() == StopTriggered) {
					t.Fatalf("action %s in state %s", a, st.State())
				}
			}
		}
		r := replay(sink.Events)
		for _, s := range m.Stops().Snapshot() {
			got := r.stops[s.ExecutionID]
			if got == nil || got.state != s.State.String() || !sameFloat(got.level, s.Level) || !sameFloat(got.best, s.Best) {
				t.Fatalf("replay of %s = %+v, want state %s best %v level %v", s.ExecutionID, got, s.State, s.Best, s.Level)
			}
		}
		for id := range removed {
			if r.stops[id].state != "removed" {
				t.Fatalf("replay of removed %s = %+v", id, r.stops[id])
			}
		}
		if len(r.stops) != len(removed)+m.Stops().Len() {
			t.Fatalf("replay knows %d stops, want %d", len(r.stops), len(removed)+m.Stops().Len())
		}
	})
}

// TestPropertyBreaker checks that half_open never admits more than
// half_open_trials orders per spell, that NextWakeup is exactly open time
// + cooldown, and that replaying the events gives the final state.
func TestPropertyBreaker(t *testing.T) {
	forSeeds(t, 300, func(t *testing.T, seed uint64, rng *rand.Rand) {
		sink := &MemorySink{}
		s := randSettings(rng)
		b, err := NewCircuitBreaker(s.CircuitBreaker, sink)
		if err != nil {
			t.Fatal(err)
		}
		trials := b.trials
		now := t0
		admitted, seen := 0, 0
		var openedAt time.Time
		scan := func() {
			for _, e := range sink.Events[seen:] {
				if e.Type == EventStateChange && e.StateTo == "half_open" {
					admitted = 0
				}
				if e.Type == EventStateChange && e.StateTo == "open" {
					openedAt = e.Time
				}
			}
			seen = len(sink.Events)
		}
		for range 1000 {
			now = now.Add(time.Duration(rng.IntN(90)) * time.Second)
			if rng.IntN(200) == 0 {
				now = now.Add(20 * time.Hour)
			}
			switch k := rng.IntN(10); {
			case k < 4:
				// CanAdmit predicts Allow, and asking changes nothing.
				n := len(sink.Events)
				st := b.State()
				can := b.CanAdmit(now)
				if len(sink.Events) != n || b.State() != st {
					t.Fatal("CanAdmit had a side effect")
				}
				ok, _ := b.Allow(now)
				if ok != can {
					t.Fatalf("CanAdmit %t but Allow %t in %s", can, ok, st)
				}
				scan()
				if ok && b.State() == StateHalfOpen {
					admitted++
					if admitted > trials {
						t.Fatalf("half_open admitted %d > %d", admitted, trials)
					}
				}
			case k < 6:
				b.RecordFailure(now, "x")
			case k < 9:
				b.RecordSuccess(now)
			case k == 9:
				if at, ok := b.NextWakeup(); ok && rng.IntN(2) == 0 {
					now = at
					b.Wake(now)
				} else if b.State() == StateHalted {
					b.Reset(now, "ops")
				}
			}
			scan()
			if at, ok := b.NextWakeup(); ok != (b.State() == StateOpen) || ok && !at.Equal(openedAt.Add(b.cooldown)) {
				t.Fatalf("NextWakeup = %v %t in %s, opened %v", at, ok, b.State(), openedAt)
			}
		}
		if r := replay(sink.Events); r.breaker != b.State().String() {
			t.Fatalf("replayed state %s, want %s", r.breaker, b.State())
		}
		for i := 1; i < len(sink.Events); i++ {
			if sink.Events[i].Time.Before(sink.Events[i-1].Time) {
				t.Fatalf("event %d goes back in time", i)
			}
		}
	})
}

// TestPropertyAllowedEntryWithinLimits checks that no sequence of allowed
// entries ever leaves a limit exceeded, measured independently.
func TestPropertyAllowedEntryWithinLimits(t *testing.T) {
	symbols := []string{"SPY", "QQQ", "IWM", "TLT", "GLD"}
	forSeeds(t, 300, func(t *testing.T, seed uint64, rng *rand.Rand) {
		lim := func(v float64) float64 { return float64(rng.IntN(2)) * v }
		s := LimitsSettings{
			MaxPortfolioDelta: lim(50 + float64(rng.IntN(100))),
			MaxPortfolioGamma: lim(5 + float64(rng.IntN(20))),
			MaxSymbolDelta:    lim(20 + float64(rng.IntN(50))),
			MaxPositionPct:    lim(2 + float64(rng.IntN(20))),
			MaxCorrelatedPct:  lim(10 + float64(rng.IntN(50))),
			MaxTotalExposure:  lim(20_000 + float64(rng.IntN(100_000))),
			CorrelationGroups: map[string][]string{"us_equity": {"SPY", "QQQ", "IWM"}},
		}
		c, err := NewLimitsChecker(s, &MemorySink{})
		if err != nil {
			t.Fatal(err)
		}
		ex := &testExposure{equity: 100_000}
		for i := range 300 {
			req := EntryRequest{ExecutionID: fmt.Sprint("e", i), Symbol: symbols[rng.IntN(len(symbols))],
				Delta: rng.NormFloat64() * 15, Gamma: rng.NormFloat64() * 3, Value: rng.Float64() * 15_000}
			if !c.CheckEntry(t0, ex, req).Allowed {
				continue
			}
			ex.add(testPos{id: req.ExecutionID, symbol: req.Symbol, delta: req.Delta, gamma: req.Gamma, value: req.Value})
			check := func(name string, v, limit float64) {
				if limit > 0 && v > limit*(1+1e-12) {
					t.Fatalf("after allowed %+v: %s %v > %v", req, name, v, limit)
				}
			}
			check("portfolio delta", math.Abs(ex.PortfolioDelta()), s.MaxPortfolioDelta)
			check("portfolio gamma", math.Abs(ex.PortfolioGamma()), s.MaxPortfolioGamma)
			group := 0.0
			for _, sym := range symbols {
				check(sym+" delta", math.Abs(ex.SymbolDelta(sym)), s.MaxSymbolDelta)
				if sym == "SPY" || sym == "QQQ" || sym == "IWM" {
					group += ex.SymbolValue(sym)
				} else {
					check(sym+" correlated", ex.SymbolValue(sym)/ex.equity*100, s.MaxCorrelatedPct)
				}
			}
			check("us_equity correlated", group/ex.equity*100, s.MaxCorrelatedPct)
			check("concentration", ex.MaxPositionValue()/ex.equity*100, s.MaxPositionPct)
			check("total", ex.TotalValue(), s.MaxTotalExposure)
		}
	})
}
