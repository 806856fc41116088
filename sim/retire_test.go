package sim_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/optionsrisk/backtest/feeds"
	"github.com/optionsrisk/backtest/risk"
	"github.com/optionsrisk/backtest/scenarios"
	"github.com/optionsrisk/backtest/sim"
)

// retireRun is one run's every output as text, and what its contract
// table retired.
type retireRun struct {
	rows                     string // result, fills, equity, events
	res                      sim.Result
	retired, listed, chunks  int
	mostAlive, sampledRetire int              // most contracts not retired at a day's end; days sampled with some retired
	markChunks, modelChunks  int              // chunks the engine's own tables hold at the end
	table                    *feeds.Contracts // the table the engine read
}

// runRetiring runs cfg over src read through a Tee reader (as the runner
// reads every feed), with the engine retiring its contract table or not.
func runRetiring(t *testing.T, cfg sim.Config, rs risk.Settings, src feeds.Source, seed uint64, retire bool) retireRun {
	t.Helper()
	rd := feeds.DecodeAhead(src)
	defer rd.Close()
	sink := &risk.MemorySink{}
	rm, err := risk.NewManager(rs, sink)
	if err != nil {
		t.Fatal(err)
	}
	rec := &sim.MemoryRecorder{}
	e, err := sim.New(cfg, rd, rm, rec, rand.New(rand.NewPCG(seed, 7)))
	if err != nil {
		t.Fatal(err)
	}
	e.EventSeq = func() int64 { return int64(len(sink.Events)) }
	if !retire {
		e.KeepContracts()
	}
	var out retireRun
	day := int64(-1)
	e.AfterInstant(func() {
		// Once a day: the contracts the table still holds.
		if d := len(rec.Points); int64(d) != day {
			day = int64(d)
			r, n, _ := e.ContractsRetired()
			out.mostAlive = max(out.mostAlive, n-r)
			if r > 0 {
				out.sampledRetire++
			}
		}
	})
	res, err := e.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out.res, out.table = res, rd.Contracts()
	out.retired, out.listed, out.chunks = e.ContractsRetired()
	out.markChunks, out.modelChunks = e.TableChunks()
	out.rows = fmt.Sprintf("%+v\n%+v\n%+v\n%+v", res, rec.Fills, rec.Points, sink.Events)
	return out
}

// longChainScenario is longScenario with a dense chain (strikes 1 apart,
// ±15 %, four weeklies and two monthlies): some 6,000 contracts a year,
// so a two-year run lists a dozen chunks of the contract table.
func longChainScenario(t *testing.T, days int, seed uint64) *scenarios.Loaded {
	l := longScenario(t, days, seed)
	syn := l.Feed.Synthetic
	syn.Every = time.Hour
	syn.Strikes = feeds.StrikeConfig{AroundSpotPct: 15, Step: 1}
	return l
}

func synthSource(t *testing.T, l *scenarios.Loaded) feeds.Source {
	t.Helper()
	src, err := feeds.NewSynthetic(*l.Feed.Synthetic, l.Seed)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func loadedConfig(t *testing.T, l *scenarios.Loaded) sim.Config {
	t.Helper()
	cfg, err := l.SimConfig()
	if err != nil {
		t.Fatal(err)
	}
	days := l.Feed.Synthetic.Days
	first, _ := time.Parse(time.DateOnly, days[0].Date)
	last, _ := time.Parse(time.DateOnly, days[len(days)-1].Date)
	cfg.Start, cfg.End = first, last.AddDate(0, 0, 1)
	return cfg
}

// TestRetireContractsSameRows: over two years of a weekly chain (calm_2019's
// short put spreads with stops, limit refusals, breaker blocks and their
// attribution shadows), the engine retiring its contract table gives the
// same rows in every table and the same summary as keeping every contract,
// while the table it reads retires most of what the feed listed.
func TestRetireContractsSameRows(t *testing.T) {
	days := 520
	if testing.Short() {
		days = 300
	}
	l := longChainScenario(t, days, 11)
	cfg := loadedConfig(t, l)
	on := runRetiring(t, cfg, l.Risk, synthSource(t, l), l.Seed, true)
	off := runRetiring(t, cfg, l.Risk, synthSource(t, l), l.Seed, false)
	t.Logf("%d days, %d quotes, %d trades, %d decisions: %d of %d contracts retired (%d chunks), at most %d held at a day's end (%d without retiring)",
		days, on.res.Quotes, len(on.res.Trades), len(on.res.Attribution), on.retired, on.listed, on.chunks, on.mostAlive, off.mostAlive)
	if len(on.res.Trades) < 100 || len(on.res.Attribution) == 0 {
		t.Fatalf("premise: %d trades, %d decisions", len(on.res.Trades), len(on.res.Attribution))
	}
	if on.rows != off.rows {
		t.Fatal("the rows differ with the contract table retired and kept")
	}
	if off.retired != 0 || off.chunks != 0 {
		t.Fatalf("retiring off retired %d contracts", off.retired)
	}
	if on.chunks < 5 || on.retired != on.chunks*1024 || on.sampledRetire == 0 {
		t.Fatalf("retired %d contracts in %d chunks (%d days sampled with some retired): want most of the %d listed",
			on.retired, on.chunks, on.sampledRetire, on.listed)
	}
	// What the table holds follows the chain alive, not the feed's length.
	if on.mostAlive*2 > on.listed || on.listed-on.retired > on.listed/2 {
		t.Errorf("the table held up to %d of %d contracts, %d at the end", on.mostAlive, on.listed, on.listed-on.retired)
	}
	// So do the engine's own tables by ID: they free the chunks the table
	// retires, and keep every chunk when it retires nothing.
	all := (on.listed + 1023) / 1024
	if off.markChunks != all || off.modelChunks == 0 {
		t.Fatalf("retiring off: the engine holds %d chunks of quotes (%d of model marks), want all %d", off.markChunks, off.modelChunks, all)
	}
	if on.markChunks > all-on.chunks || on.modelChunks > all-on.chunks || on.markChunks*2 > all {
		t.Errorf("the engine holds %d chunks of quotes and %d of model marks, of %d listed and %d retired", on.markChunks, on.modelChunks, all, on.chunks)
	}
}

// TestRetireContractsRandom: seeded random strategies (structure, side,
// exits, broker faults, limits) over a long feed give the same rows with
// the contract table retired and kept.
func TestRetireContractsRandom(t *testing.T) {
	seeds := 3
	if testing.Short() {
		seeds = 2
	}
	for i := range seeds {
		seed := uint64(7100 + i)
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 0))
			l := randomScenario(t, rng)
			long := longChainScenario(t, 300, seed)
			l.Feed.Synthetic = long.Feed.Synthetic
			if i%2 == 1 { // no limits: positions open all through
				l.Risk.Limits = risk.LimitsSettings{}
			}
			cfg := loadedConfig(t, l)
			on := runRetiring(t, cfg, l.Risk, synthSource(t, l), l.Seed, true)
			off := runRetiring(t, cfg, l.Risk, synthSource(t, l), l.Seed, false)
			t.Logf("seed %d: %d trades, %d decisions, %d of %d contracts retired", seed, len(on.res.Trades), len(on.res.Attribution), on.retired, on.listed)
			if on.chunks == 0 {
				t.Fatalf("premise: nothing retired of %d contracts", on.listed)
			}
			if on.rows != off.rows {
				t.Fatal("the rows differ with the contract table retired and kept")
			}
		})
	}
}
