package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/optionsrisk/backtest/feeds"
	"github.com/optionsrisk/backtest/risk"
)

// fullScan is the reference contract choice: every contract the feed ever
// listed, in id order, under the same filters and tie-breaks as choose.
func fullScan(e *Engine) (main, wing feeds.ContractID, why string) {
	en := &e.cfg.Strategy.Entry
	right := feeds.Put
	if en.Right == "call" {
		right = feeds.Call
	}
	var best candidate
	var bestC *feeds.Contract
	var anyUnder, anyRight, anyDTE bool
	for id := range e.pf.contracts.Len() {
		c := e.pf.contracts.Get(feeds.ContractID(id))
		q := e.pf.quote(c.ID)
		if q.Time == 0 || c.Expiry.UnixMicro() <= e.now || en.Underlying != "" && c.Underlying != en.Underlying {
			continue
		}
		anyUnder = true
		if c.Right != right {
			continue
		}
		anyRight = true
		dte := e.dte(c.Expiry.UnixMicro())
		if dte < en.DTE[0] || dte > en.DTE[1] {
			continue
		}
		anyDTE = true
		if q.Bid <= 0 && q.Ask <= 0 || !e.fresh(c.ID) {
			continue
		}
		score := math.Abs(math.Abs(q.Delta) - en.TargetDelta)
		if en.Moneyness != 0 {
			score = math.Abs(c.Strike - q.UnderlyingPrice*(1+en.Moneyness/100))
		}
		cand := candidate{score: score, dte: dte, strike: c.Strike, id: c.ID}
		if bestC == nil || cand.better(best) {
			best, bestC = cand, c
		}
	}
	switch {
	case !anyUnder:
		return 0, 0, "underlying"
	case !anyRight:
		return 0, 0, "right"
	case !anyDTE:
		return 0, 0, "dte"
	case bestC == nil:
		return 0, 0, "quote"
	case en.SpreadWidth == 0:
		return best.id, best.id, ""
	}
	strike := bestC.Strike - en.SpreadWidth
	if right == feeds.Call {
		strike = bestC.Strike + en.SpreadWidth
	}
	var wings []*feeds.Contract
	for id := range e.pf.contracts.Len() {
		c := e.pf.contracts.Get(feeds.ContractID(id))
		if e.pf.quote(c.ID).Time != 0 && c.Right == right && c.Underlying == bestC.Underlying && c.Expiry.Equal(bestC.Expiry) && math.Abs(c.Strike-strike) < 1e-6 {
			wings = append(wings, c)
		}
	}
	slices.SortFunc(wings, func(a, b *feeds.Contract) int { return cmpInt(int64(a.ID), int64(b.ID)) })
	if len(wings) > 0 && e.fresh(wings[0].ID) {
		return best.id, wings[0].ID, ""
	}
	return 0, 0, "wing"
}

// The chain index chooses exactly what a scan of every contract ever
// listed chooses, on random chains, quotes, clocks and entry rules.
func TestIndexChoiceMatchesFullScan(t *testing.T) {
	outcomes := map[string]int{}
	for seed := range uint64(300) {
		rng := rand.New(rand.NewPCG(seed, 99))
		cfg := Config{Start: at(1, 0, 0, 0), End: at(40, 0, 0, 0)}
		en := &cfg.Strategy.Entry
		en.Right = []string{"put", "call"}[rng.IntN(2)]
		en.DTE = [2]int{rng.IntN(5), 5 + rng.IntN(20)}
		en.SpreadWidth = float64(rng.IntN(3))
		en.Underlying = []string{"", "SPY", "QQQ", "IWM"}[rng.IntN(4)]
		if rng.IntN(2) == 0 {
			en.Moneyness = float64(rng.IntN(11) - 5)
		} else {
			en.TargetDelta = 0.1 + 0.05*float64(rng.IntN(8))
		}
		e := engineFor(t, cfg)
		cs := e.pf.contracts
		unders := []string{"SPY", "QQQ"}
		var ids []feeds.ContractID
		for range 20 + rng.IntN(200) {
			u := unders[rng.IntN(2)]
			r := feeds.Right(1 + rng.IntN(2))
			exp := at(2+rng.IntN(30), 16, 0, 0)
			if rng.IntN(5) == 0 {
				exp = exp.Add(-3 * time.Hour) // a second expiry the same day
			}
			strike := float64(95 + rng.IntN(11))
			right := "P"
			if r == feeds.Call {
				right = "C"
			}
			sym := fmt.Sprintf("%s-%s-%s-%g", u, exp.Format("0102T1504"), right, strike)
			ids = append(ids, cs.Intern(feeds.Contract{Symbol: sym, Underlying: u, Expiry: exp.UTC(), Strike: strike, Right: r, Multiplier: 100}))
		}
		now := at(3+rng.IntN(10), 10+rng.IntN(5), 0, 0)
		// Quote a random subset at random times up to now, in time order.
		var qs []feeds.Quote
		for _, id := range ids {
			if rng.IntN(4) == 0 {
				continue
			}
			tm := now.Add(-time.Duration(rng.IntN(3*24*60)) * time.Minute)
			if rng.IntN(2) == 0 {
				tm = now
			}
			bid := float64(rng.IntN(3)) * 0.5
			qs = append(qs, feeds.Quote{Time: tm.UnixMicro(), Contract: id, Bid: bid, Ask: bid + 0.1*float64(rng.IntN(2)),
				UnderlyingPrice: 98 + float64(rng.IntN(5)), Delta: -float64(rng.IntN(10)) / 10})
		}
		slices.SortStableFunc(qs, func(a, b feeds.Quote) int { return cmpInt(a.Time, b.Time) })
		for i := range qs {
			e.pf.mark(&qs[i])
		}
		e.now = now.UnixMicro()
		m1, w1, why1 := chooseMainWing(e)
		m2, w2, why2 := fullScan(e)
		if m1 != m2 || w1 != w2 || why1 != why2 {
			t.Fatalf("seed %d: index chose (%d, %d, %q), full scan (%d, %d, %q); entry %+v", seed, m1, w1, why1, m2, w2, why2, *en)
		}
		outcomes[why1]++
	}
	t.Logf("outcomes %v", outcomes)
	if outcomes[""] < 50 || outcomes["wing"] == 0 || outcomes["quote"]+outcomes["dte"] == 0 {
		t.Fatalf("outcomes %v: the random chains do not exercise choices and refusals", outcomes)
	}
}

// BenchmarkChoose measures one contract choice with a live chain of 200
// contracts after the feed has listed (and expired) many more: the cost
// must not grow with the contracts ever listed.
func BenchmarkChoose(b *testing.B) {
	for _, expired := range []int{1000, 100000} {
		b.Run(fmt.Sprintf("expired=%d", expired), func(b *testing.B) {
			cfg := Config{Start: at(1, 0, 0, 0), End: at(40, 0, 0, 0)}
			cfg.Strategy.Entry = EntryConfig{Right: "put", DTE: [2]int{0, 30}, SpreadWidth: 5}
			rm := newBenchManager(b)
			e, err := New(cfg, &scripted{contracts: feeds.NewContracts()}, rm, &MemoryRecorder{}, newTestRand())
			if err != nil {
				b.Fatal(err)
			}
			cs := e.pf.contracts
			old := at(2, 10, 0, 0)
			for i := range expired {
				id := cs.Intern(feeds.Contract{Symbol: fmt.Sprintf("OLD%d", i), Underlying: "SPY", Expiry: at(2, 16, 0, 0).UTC(), Strike: float64(i), Right: feeds.Put, Multiplier: 100})
				e.pf.mark(&feeds.Quote{Time: old.UnixMicro(), Contract: id, Bid: 1, Ask: 1.1, UnderlyingPrice: 100, Delta: -0.3})
			}
			now := at(5, 10, 0, 0)
			for i := range 200 {
				id := cs.Intern(feeds.Contract{Symbol: fmt.Sprintf("NEW%d", i), Underlying: "SPY", Expiry: at(10+i%4*7, 16, 0, 0).UTC(), Strike: float64(50 + i%50*5/2), Right: feeds.Put, Multiplier: 100})
				e.pf.mark(&feeds.Quote{Time: now.UnixMicro(), Contract: id, Bid: 1, Ask: 1.1, UnderlyingPrice: 100, Delta: -float64(i%50) / 50})
			}
			e.now = now.UnixMicro()
			for b.Loop() {
				if _, why := e.choose(); why != "" {
					b.Fatal(why)
				}
			}
		})
	}
}

func newBenchManager(tb testing.TB) *risk.Manager {
	rm, err := risk.NewManager(risk.Settings{}, &risk.MemorySink{})
	if err != nil {
		tb.Fatal(err)
	}
	return rm
}

// chooseMainWing is choose's answer as (main, wing) like the full scan's.
func chooseMainWing(e *Engine) (main, wing feeds.ContractID, why string) {
	legs, why := e.choose()
	switch len(legs) {
	case 0:
		return 0, 0, why
	case 1:
		return legs[0].id, legs[0].id, why
	}
	return legs[0].id, legs[1].id, why
}
