package risk

import "testing"

func BenchmarkTrailingStopUpdateNoChange(b *testing.B) {
	st, err := NewTrailingStop(t0, StopSettings{ActivationPct: 2, TrailPct: 10}, Position{ExecutionID: "x", Side: Long, EntryPremium: 100}, &MemorySink{})
	if err != nil {
		b.Fatal(err)
	}
	st.Update(120, t0) // active, best 120, stop 108
	b.ReportAllocs()
	for b.Loop() {
		if st.Update(115, t0) != Hold {
			b.Fatal("exit")
		}
	}
}

func BenchmarkAllowClosed(b *testing.B) {
	br, err := NewCircuitBreaker(BreakerSettings{}, &MemorySink{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if ok, _ := br.Allow(t0); !ok {
			b.Fatal("blocked")
		}
	}
}

// benchExposure is an Exposure with precomputed aggregates, like the
// simulator's portfolio, so the benchmark measures the checker.
type benchExposure struct {
	delta, gamma, total, maxPos, equity float64
	symDelta, symValue                  map[string]float64
	symbols                             []string
}

func (x *benchExposure) PortfolioDelta() float64      { return x.delta }
func (x *benchExposure) PortfolioGamma() float64      { return x.gamma }
func (x *benchExposure) SymbolDelta(s string) float64 { return x.symDelta[s] }
func (x *benchExposure) SymbolValue(s string) float64 { return x.symValue[s] }
func (x *benchExposure) TotalValue() float64          { return x.total }
func (x *benchExposure) MaxPositionValue() float64    { return x.maxPos }
func (x *benchExposure) Equity() float64              { return x.equity }
func (x *benchExposure) Symbols() []string            { return x.symbols }

func BenchmarkCheckEntry100Positions(b *testing.B) {
	syms := []string{"IWM", "QQQ", "SPX", "SPY", "TLT"}
	ex := &benchExposure{equity: 1_000_000, symDelta: map[string]float64{}, symValue: map[string]float64{}, symbols: syms}
	for i := range 100 {
		s := syms[i%len(syms)]
		d, v := -0.3*float64(i%3), 1000+float64(i)
		ex.delta += d
		ex.gamma += 0.01
		ex.symDelta[s] += d
		ex.symValue[s] += v
		ex.total += v
		ex.maxPos = max(ex.maxPos, v)
	}
	c, err := NewLimitsChecker(LimitsSettings{MaxPortfolioDelta: 500, MaxPortfolioGamma: 50, MaxSymbolDelta: 200,
		MaxPositionPct: 10, MaxCorrelatedPct: 60, MaxTotalExposure: 900_000,
		CorrelationGroups: map[string][]string{"us_equity": {"SPY", "SPX", "QQQ", "IWM"}}}, &discardSink{})
	if err != nil {
		b.Fatal(err)
	}
	req := EntryRequest{ExecutionID: "e", Symbol: "SPY", Contract: "SPY240419P00500000", Delta: -3, Gamma: 0.1, Value: 5000}
	b.ReportAllocs()
	for b.Loop() {
		if !c.CheckEntry(t0, ex, req).Allowed {
			b.Fatal("rejected")
		}
	}
}

type discardSink struct{ n int }

func (d *discardSink) Emit(Event) { d.n++ }

// TestNoChangeUpdateAllocs pins the hot paths at zero allocations, so that a
// regression fails `go test`, not just a benchmark nobody reads.
func TestNoChangeUpdateAllocs(t *testing.T) {
	st, _ := NewTrailingStop(t0, StopSettings{ActivationPct: 2, TrailPct: 10}, Position{ExecutionID: "x", Side: Short, EntryPremium: 100}, nil)
	pending := testing.AllocsPerRun(100, func() { st.Update(99, t0) })
	st.Update(50, t0)
	active := testing.AllocsPerRun(100, func() { st.Update(52, t0) })
	br, _ := NewCircuitBreaker(BreakerSettings{}, nil)
	allow := testing.AllocsPerRun(100, func() { br.Allow(t0) })
	if pending != 0 || active != 0 || allow != 0 {
		t.Fatalf("allocs: pending update %v, active update %v, allow %v; want 0", pending, active, allow)
	}
}
