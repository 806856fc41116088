package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/optionsrisk/backtest/feeds"
)

// The hot paths of the event loop (markRun, legMarks' inlined fresh
// check, bounds computed once) must give exactly what the plain code
// gives: these tests compare them on seeded random inputs.

// randomRuns is n quotes over contracts of two underlyings, in runs of
// equal times (instants), some contracts first quoted mid-stream, their
// IDs spread over three chunks of the tables by ID.
func randomRuns(seed uint64, cs *feeds.Contracts, n int) []feeds.Quote {
	r := rand.New(rand.NewPCG(seed, 1))
	var ids []feeds.ContractID
	for i := range 40 {
		for cs.Len() < i*70 { // never quoted
			cs.Intern(feeds.Contract{Symbol: fmt.Sprintf("X%05d", cs.Len()), Underlying: "X", Expiry: at(20, 16, 0, 0).UTC(), Strike: 1, Right: feeds.Call, Multiplier: 100})
		}
		u := []string{"SPY", "QQQ"}[i%2]
		ids = append(ids, cs.Intern(feeds.Contract{Symbol: fmt.Sprintf("%s%03d", u, i), Underlying: u,
			Expiry: at(20, 16, 0, 0).UTC(), Strike: float64(90 + i), Right: feeds.Put, Multiplier: 100}))
	}
	t := at(4, 9, 30, 0).UnixMicro()
	var qs []feeds.Quote
	for len(qs) < n {
		if r.IntN(4) == 0 {
			t += int64(r.IntN(3)+1) * 60e6
		}
		id := ids[r.IntN(len(ids)-r.IntN(2)*20)] // the last 20 appear later on average
		qs = append(qs, feeds.Quote{Time: t, Contract: id, Bid: r.Float64(), Ask: 1 + r.Float64(),
			UnderlyingPrice: 100 + r.Float64(), IV: r.Float64(), Delta: -r.Float64(), Gamma: r.Float64(), Vega: 9, Theta: -9})
	}
	return qs
}

func TestMarkRunIsMarkOnEachQuote(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3, 4, 5} {
		cs := feeds.NewContracts()
		qs := randomRuns(seed, cs, 2000)
		want, got, keep := newPortfolio(cs, 1), newPortfolio(cs, 1), newPortfolio(cs, 1)
		// The second chunk retired: its quotes move their underlying's
		// spot only (as in keep, which retires nothing).
		want.marks.free(feeds.ContractChunk)
		got.marks.free(feeds.ContractChunk)
		for i := range qs {
			want.mark(&qs[i])
			keep.mark(&qs[i])
		}
		for _, f := range []string{"underOf", "unders", "spots", "spotAt", "moved", "movedList"} {
			a, b := reflect.ValueOf(want).Elem().FieldByName(f), reflect.ValueOf(keep).Elem().FieldByName(f)
			if !reflect.DeepEqual(fmt.Sprint(a), fmt.Sprint(b)) {
				t.Fatalf("seed %d: Portfolio.%s differs with a chunk retired: %v, kept %v", seed, f, a, b)
			}
		}
		if keep.marks.held() != 3 {
			t.Fatalf("seed %d: a portfolio that retires nothing holds %d chunks, want 3", seed, keep.marks.held())
		}
		runs := 0
		for i := 0; i < len(qs); {
			n := got.markRun(qs[i:])
			if n < 1 || qs[i+n-1].Time != qs[i].Time || (i+n < len(qs) && qs[i+n].Time == qs[i].Time) {
				t.Fatalf("seed %d: markRun at %d marked %d quotes, not one instant's run", seed, i, n)
			}
			i += n
			runs++
		}
		if runs < 100 {
			t.Fatalf("seed %d: only %d instants: the input does not exercise runs", seed, runs)
		}
		// The moved lists differ only by when they are cleared (never here).
		for id := range cs.Len() {
			a, b := want.marks.get(feeds.ContractID(id)), got.marks.get(feeds.ContractID(id))
			if (a == nil) != (b == nil) || a != nil && *a != *b {
				t.Fatalf("seed %d: contract %d's mark differs: mark %v, markRun %v", seed, id, a, b)
			}
		}
		if want.marks.held() != 2 || got.marks.held() != 2 || !reflect.DeepEqual(want.marks.gone, got.marks.gone) {
			t.Fatalf("seed %d: the marks hold %d and %d chunks, want 2 (the second retired)", seed, want.marks.held(), got.marks.held())
		}
		for _, f := range []string{"underOf", "unders", "spots", "spotAt", "moved", "movedList", "openSpot", "openDay"} {
			a, b := reflect.ValueOf(want).Elem().FieldByName(f), reflect.ValueOf(got).Elem().FieldByName(f)
			if !reflect.DeepEqual(fmt.Sprint(a), fmt.Sprint(b)) {
				t.Fatalf("seed %d: Portfolio.%s differs: mark %v, markRun %v", seed, f, a, b)
			}
		}
	}
}

func TestMidnightOfIsDayMidnight(t *testing.T) {
	e, err := New(Config{Start: at(1, 0, 0, 0), End: at(30, 0, 0, 0)}, &scripted{contracts: feeds.NewContracts()}, newBenchManager(t), &MemoryRecorder{}, newTestRand())
	if err != nil {
		t.Fatal(err)
	}
	for _, ts := range []int64{
		at(4, 0, 0, 0).UnixMicro(), at(4, 0, 0, 0).UnixMicro() - 1, at(4, 23, 59, 59).UnixMicro(),
		at(5, 12, 0, 0).UnixMicro(), at(3, 12, 0, 0).UnixMicro(), at(10, 2, 30, 0).UnixMicro(), // DST starts on March 10
		at(10, 12, 0, 0).UnixMicro(), at(11, 0, 0, 0).UnixMicro(),
	} {
		want := e.dayFor(ts).midnight
		if got := e.midnightOf(ts); got != want {
			t.Errorf("midnightOf(%v) = %v, want %v", utc(ts), utc(got), utc(want))
		}
		if e.dayCache.midnight != want {
			t.Errorf("midnightOf(%v) left the day cache at %v", utc(ts), utc(e.dayCache.midnight))
		}
	}
}

func TestBoundsOfPutStructuresAreSpotFree(t *testing.T) {
	cs := feeds.NewContracts()
	e, err := New(Config{Start: at(1, 0, 0, 0), End: at(30, 0, 0, 0)}, &scripted{contracts: cs}, newBenchManager(t), &MemoryRecorder{}, newTestRand())
	if err != nil {
		t.Fatal(err)
	}
	put := func(k float64) feeds.ContractID {
		return cs.Intern(feeds.Contract{Symbol: fmt.Sprintf("SPYP%v", k), Underlying: "SPY", Expiry: at(20, 16, 0, 0).UTC(), Strike: k, Right: feeds.Put, Multiplier: 100})
	}
	call := func(k float64) feeds.ContractID {
		return cs.Intern(feeds.Contract{Symbol: fmt.Sprintf("SPYC%v", k), Underlying: "SPY", Expiry: at(20, 16, 0, 0).UTC(), Strike: k, Right: feeds.Call, Multiplier: 100})
	}
	cases := []struct {
		name   string
		long   bool
		legs   []leg
		noCall bool
	}{
		{"short put vertical", false, []leg{{id: put(100), ratio: -1}, {id: put(95), ratio: 1}}, true},
		{"long put vertical", true, []leg{{id: put(100), ratio: 1}, {id: put(95), ratio: -1}}, true},
		{"short put", false, []leg{{id: put(90), ratio: -1}}, true},
		{"short put, long put above", false, []leg{{id: put(100), ratio: -1}, {id: put(150), ratio: 1}}, true},
		{"put ratio", true, []leg{{id: put(100), ratio: 1}, {id: put(95), ratio: -2}}, true},
		{"short call vertical", false, []leg{{id: call(100), ratio: -1}, {id: call(105), ratio: 1}}, false},
		{"iron condor", false, []leg{{id: put(90), ratio: 1}, {id: put(95), ratio: -1}, {id: call(105), ratio: -1}, {id: call(110), ratio: 1}}, false},
	}
	for _, c := range cases {
		pos := e.newPosition("x", "custom", c.long, 2, c.legs)
		if pos.noCall != c.noCall {
			t.Fatalf("%s: noCall %v, want %v", c.name, pos.noCall, c.noCall)
		}
		for _, s := range []float64{math.NaN(), 0, 50, 97.5, 100, 250} {
			wlo, whi := spotBounds(pos, s)
			e.pf.spots = []float64{s} // posSpot's fallback: SPY is the only underlying
			e.pf.unders = []string{"SPY"}
			lo, hi := e.bounds(pos)
			if math.Float64bits(lo) != math.Float64bits(wlo) || math.Float64bits(hi) != math.Float64bits(whi) {
				t.Errorf("%s at spot %v: bounds [%v, %v], want [%v, %v]", c.name, s, lo, hi, wlo, whi)
			}
		}
	}
}
