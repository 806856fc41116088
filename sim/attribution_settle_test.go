package sim

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/optionsrisk/backtest/feeds"
	"github.com/optionsrisk/backtest/risk"
)

// This file tests the counterfactuals of risk attribution at expiry
// settlement: a calendar whose front leg settles while its back leg is
// still quoted, and an AM-settled put. Every expected value is computed
// here from the quotes the feed is built from and the settlement rules
// (README "Marks, monitoring and expiry"), never copied from a run.

// instantFeed quotes contracts at the given instants (sorted here; a
// contract is not quoted after its expiry): quote says, for contract k at
// t, whether it quotes and how.
func instantFeed(cs []feeds.Contract, times []time.Time, quote func(k int, t time.Time) (feeds.Quote, bool)) *scripted {
	tab := feeds.NewContracts()
	ids := make([]feeds.ContractID, len(cs))
	for k, c := range cs {
		ids[k] = tab.Intern(c)
	}
	times = slices.Clone(times)
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	var qs []feeds.Quote
	for _, tm := range times {
		for k, id := range ids {
			if tm.After(cs[k].Expiry) {
				continue
			}
			if q, ok := quote(k, tm); ok {
				q.Time, q.Contract = tm.UnixMicro(), id
				qs = append(qs, q)
			}
		}
	}
	return &scripted{contracts: tab, batches: [][]feeds.Quote{qs}}
}

// sessionTimes is every 5 minutes from 09:30 to 16:00 New York on the
// March 2024 days given, plus extra instants.
func sessionTimes(days []int, extra ...time.Time) []time.Time {
	var ts []time.Time
	for _, d := range days {
		for tm := at(d, 9, 30, 0); !tm.After(at(d, 16, 0, 0)); tm = tm.Add(5 * time.Minute) {
			ts = append(ts, tm)
		}
	}
	return append(ts, extra...)
}

// bas is a scripted quote: bid, ask and the underlying's price.
type bas struct{ bid, ask, spot float64 }

func (q bas) mid() float64 { return (q.bid + q.ask) / 2 }

func (q bas) quote(delta float64) feeds.Quote {
	return feeds.Quote{Bid: q.bid, Ask: q.ask, UnderlyingPrice: q.spot, IV: 0.2, Delta: delta, Gamma: 0.05}
}

func putIntrinsic(strike, spot float64) float64 { return math.Max(strike-spot, 0) }

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9 }

// TestAttributionCalendarFrontExpiry: a long put calendar (sell the 100 put
// of March 6, buy the 100 put of March 15, 2 units) is cut by its hard stop
// on March 5; held instead, its front leg expires on March 6 at 16:00 and
// settles at intrinsic value against the underlying's price at the expiry
// (the 16:00 quote, PM settlement), while the back leg, still quoted on
// March 7, is valued at its mark (mid) at that expiry: not at the morning's
// or the next day's prices. A control run without the stop holds the real
// calendar through the same settlement and must end with the same P&L.
func TestAttributionCalendarFrontExpiry(t *testing.T) {
	const strike, tick, comm, qty, mult = 100.0, 0.05, 0.5, 2.0, 100.0
	// The path, per leg (0 front, 1 back): calm, then the spot rallies on
	// March 5 at 11:00 (the calendar's value collapses: the stop), then it
	// falls on March 6: 98 at the open, 97 until 15:00, 95 until 15:55,
	// 94 at the 16:00 expiry; on March 7 the back leg alone quotes, at 93.
	path := func(k int, tm time.Time) bas {
		switch {
		case tm.Before(at(5, 11, 0, 0)):
			return [2]bas{{1.0, 1.1, 100}, {2.5, 2.6, 100}}[k]
		case tm.Day() == 5:
			return [2]bas{{0.2, 0.3, 104}, {1.0, 1.1, 104}}[k]
		case tm.Day() == 6 && tm.Before(at(6, 9, 35, 0)):
			return [2]bas{{2.0, 2.1, 98}, {3.8, 4.0, 98}}[k]
		case tm.Day() == 6 && tm.Before(at(6, 15, 0, 0)):
			return [2]bas{{3.0, 3.1, 97}, {4.5, 4.7, 97}}[k]
		case tm.Day() == 6 && tm.Before(at(6, 16, 0, 0)):
			return [2]bas{{5.0, 5.1, 95}, {6.0, 6.2, 95}}[k]
		case tm.Day() == 6:
			return [2]bas{{6.0, 6.1, 94}, {6.7, 6.8, 94}}[k] // the expiry's quote
		}
		return [2]bas{{0, 0, 93}, {7.0, 7.2, 93}}[k]
	}
	cs := []feeds.Contract{put(strike, 6), put(strike, 15)}
	feed := func() *scripted {
		return instantFeed(cs, sessionTimes([]int{4, 5, 6, 7}), func(k int, tm time.Time) (feeds.Quote, bool) {
			return path(k, tm).quote(-0.5), true
		})
	}
	cfg := baseConfig()
	cfg.End = at(8, 0, 0, 0)
	cfg.Strategy.Entry = EntryConfig{
		Times: []time.Time{at(4, 10, 0, 0)}, DTE: [2]int{0, 5}, Qty: 2, MaxOpen: 5,
		Structure: &StructureConfig{Type: StructCalendar, Side: "long", FarDTE: [2]int{5, 15}},
	}
	hard := risk.Settings{TrailingStop: risk.StopSettings{StopLossPct: 50}}

	// By hand. The entry, sent at 10:00, fills after the 90 s latency at
	// 10:05: the back leg bought at its ask + a tick, the front sold at its
	// bid − a tick; commission on 2 × 2 contracts each way.
	fill := at(4, 10, 5, 0)
	debit := (path(1, fill).ask + tick) - (path(0, fill).bid - tick)
	entryCash := -debit*qty*mult - comm*4
	// The hard stop (50 % of the debit, on the structure's bid: what
	// closing it gets) fires on March 5 at 11:00; its exit fills at 11:05:
	// the back leg sold at its bid − a tick, the front bought at ask + tick.
	trig := at(5, 11, 0, 0)
	if b := path(1, trig).bid - path(0, trig).ask; b > debit*0.5 || path(1, trig.Add(-5*time.Minute)).bid-path(0, trig.Add(-5*time.Minute)).ask <= debit*0.5 {
		t.Fatalf("premise: the stop should fire first at %s (net bid %v, stop %v)", trig, b, debit*0.5)
	}
	exit := at(5, 11, 5, 0)
	credit := (path(1, exit).bid - tick) - (path(0, exit).ask + tick)
	actual := entryCash + credit*qty*mult - comm*4
	// Held: at the front expiry (March 6 16:00, PM) the front leg settles
	// at intrinsic value against the spot of the 16:00 quote, the back leg
	// at its mid then; no commission at settlement.
	expiry := at(6, 16, 0, 0)
	settle := -qty*putIntrinsic(strike, path(0, expiry).spot)*mult + qty*path(1, expiry).mid()*mult
	counterfactual := entryCash + settle

	t.Run("stop cuts the calendar", func(t *testing.T) {
		res, events := runAttr(t, cfg, feed(), hard)
		if len(res.Trades) != 1 || res.Trades[0].Structure != StructCalendar || len(res.Trades[0].Legs) != 2 {
			t.Fatalf("premise: trades %+v, want one calendar", res.Trades)
		}
		checkDecisions(t, res, events, []wantDecision{
			{"trailing_stop", "trigger", "stop_loss", EndExpiry, actual, counterfactual},
		})
		d := res.Attribution[0]
		if !near(d.Actual, res.Trades[0].PnL) {
			t.Errorf("actual %v, want the trade's P&L %v", d.Actual, res.Trades[0].PnL)
		}
		if d.Time != trig.UnixMicro() {
			t.Errorf("decision at %s, want %s", utc(d.Time), trig.UTC())
		}
		// README: saved = actual − counterfactual, positive when the layer
		// helped. Here the spot's fall after the stop made the calendar
		// worth more than the stop's exit: the stop cost money.
		if !near(d.Saved, actual-counterfactual) || !(d.Saved < 0) {
			t.Errorf("saved %v, want actual − counterfactual = %v (< 0: the stop cost)", d.Saved, actual-counterfactual)
		}
	})
	t.Run("control run settles the same way", func(t *testing.T) {
		res, rec, _ := runAttrRec(t, cfg, feed(), risk.Settings{})
		if len(res.Trades) != 1 || res.Trades[0].ExitReason != "expiry" {
			t.Fatalf("premise: trades %+v, want one calendar held to expiry", res.Trades)
		}
		last := rec.Fills[len(rec.Fills)-1]
		if last.Status != StatusSettled || last.FillTime != expiry.UnixMicro() ||
			!strings.Contains(last.Reason, "later legs at their mark") || !strings.Contains(last.Reason, "the closing price") {
			t.Errorf("settlement row %s at %s %q, want settled at %s, later legs at their mark", last.Status, utc(last.FillTime), last.Reason, expiry.UTC())
		}
		if got := res.Trades[0].PnL; !near(got, counterfactual) {
			t.Errorf("held calendar's P&L %v, want %v (front at intrinsic against %v, back at its mid %v)",
				got, counterfactual, path(0, expiry).spot, path(1, expiry).mid())
		}
		if len(res.Attribution) != 0 {
			t.Errorf("no risk decision, yet %d attributed", len(res.Attribution))
		}
	})
}

// TestAttributionAMSettledPut: an AM-settled short put (strike 100, 2
// contracts, expiring March 6) settles against the underlying's first price
// at or after the session open on its expiry day: 96 at 09:30, not 91 in a
// pre-open quote at 09:00, nor 98 at the previous close, nor 93 through the
// rest of the day (the PM price). Held to expiry it settles so in the real
// position of a control run and in every shadow that runs to expiry: a
// stop's (the stop cut it on March 5) and a refused entry's. When the feed
// has no quote on the expiry day at all, real and shadow positions alike
// settle against the latest price, the previous close.
func TestAttributionAMSettledPut(t *testing.T) {
	const strike, tick, comm, qty, mult = 100.0, 0.05, 0.5, 2.0, 100.0
	preOpen, open, prevClose := at(6, 9, 0, 0), at(6, 9, 30, 0), at(5, 16, 0, 0)
	path := func(tm time.Time) bas {
		switch {
		case tm.Before(at(5, 11, 0, 0)):
			return bas{2.0, 2.2, 101}
		case tm.Before(at(5, 15, 0, 0)):
			return bas{2.9, 3.1, 99} // ask 3.10 ≥ 1.95 × 1.5: the hard stop
		case tm.Day() == 5:
			return bas{2.4, 2.6, 98} // into the previous close
		case tm.Equal(preOpen):
			return bas{8.9, 9.1, 91}
		case tm.Equal(open):
			return bas{3.9, 4.1, 96} // the AM settlement price
		}
		return bas{6.9, 7.1, 93} // the rest of expiry day, 16:00 included
	}
	feed := func(days []int, extra ...time.Time) *scripted {
		c := put(strike, 6)
		c.Settlement = feeds.SettleAM
		return instantFeed([]feeds.Contract{c}, sessionTimes(days, extra...), func(_ int, tm time.Time) (feeds.Quote, bool) {
			return path(tm).quote(-0.3), true
		})
	}
	// Premise: the candidate prices all settle differently.
	seen := map[float64]time.Time{}
	for _, tm := range []time.Time{open, preOpen, prevClose, at(6, 16, 0, 0)} {
		v := putIntrinsic(strike, path(tm).spot)
		if prev, ok := seen[v]; ok {
			t.Fatalf("premise: the spots at %s and %s settle alike", prev, tm)
		}
		seen[v] = tm
	}
	// By hand: sold at 10:05 (sent 10:00, 90 s latency) at bid − a tick.
	entryCash := (path(at(4, 10, 5, 0)).bid-tick)*qty*mult - comm*qty
	// Refused at 10:00, the shadow opens on the 10:00 quote at bid − a tick.
	refusedCash := (path(at(4, 10, 0, 0)).bid-tick)*qty*mult - comm*qty
	// The stop fires on March 5 at 11:00; the buy-back fills at 11:05 at
	// ask + a tick.
	stopped := entryCash - (path(at(5, 11, 5, 0)).ask+tick)*qty*mult - comm*qty
	hard := risk.Settings{TrailingStop: risk.StopSettings{StopLossPct: 50}}
	refuse := risk.Settings{Limits: risk.LimitsSettings{MaxTotalExposure: 1}}

	for _, fc := range []struct {
		name   string
		src    func() *scripted
		settle time.Time // the quote whose underlying price settles the put
		how    string    // in the settlement row's reason
	}{
		{"expiry morning quoted", func() *scripted { return feed([]int{4, 5, 6}, preOpen) }, open, "the opening price (AM settlement)"},
		{"no quote on expiry day", func() *scripted { return feed([]int{4, 5}) }, prevClose, "the latest price (AM settlement"},
	} {
		// Settled at intrinsic value, no commission.
		settle := putIntrinsic(strike, path(fc.settle).spot)
		held := entryCash - qty*settle*mult
		for _, tc := range []struct {
			name   string
			rs     risk.Settings
			want   []wantDecision
			trades []float64 // the trades' P&L
		}{
			{name: "held to expiry (control)", trades: []float64{held}},
			{name: "stop cuts it, its shadow held to expiry", rs: hard, trades: []float64{stopped},
				want: []wantDecision{{"trailing_stop", "trigger", "stop_loss", EndExpiry, stopped, held}}},
			{name: "refused entry, its shadow held to expiry", rs: refuse,
				want: []wantDecision{{"portfolio_limits", "rejected", "total_exposure_cap", EndExpiry, 0, refusedCash - qty*settle*mult}}},
		} {
			t.Run(fc.name+"/"+tc.name, func(t *testing.T) {
				res, rec, events := runAttrRec(t, baseConfig(), fc.src(), tc.rs)
				if len(res.Trades) != len(tc.trades) {
					t.Fatalf("trades %+v, want %d", res.Trades, len(tc.trades))
				}
				for i, want := range tc.trades {
					if !near(res.Trades[i].PnL, want) {
						t.Errorf("trade %d P&L %v, want %v", i, res.Trades[i].PnL, want)
					}
				}
				if tc.want == nil { // the control run: its settlement row
					last := rec.Fills[len(rec.Fills)-1]
					if res.Trades[0].ExitPremium != settle || last.Status != StatusSettled || !strings.Contains(last.Reason, fc.how) {
						t.Errorf("exit premium %v, settlement row %s %q; want %v against %s", res.Trades[0].ExitPremium, last.Status, last.Reason, settle, fc.how)
					}
				}
				checkDecisions(t, res, events, tc.want)
			})
		}
	}
}

// runAttrRec is runAttr keeping the recorder's rows.
func runAttrRec(t *testing.T, cfg Config, src *scripted, rs risk.Settings) (Result, *MemoryRecorder, []risk.Event) {
	t.Helper()
	sink := &risk.MemorySink{}
	rm, err := risk.NewManager(rs, sink)
	if err != nil {
		t.Fatal(err)
	}
	rec := &MemoryRecorder{}
	e, err := New(cfg, src, rm, rec, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	e.EventSeq = func() int64 { return int64(len(sink.Events)) }
	res, err := e.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return res, rec, sink.Events
}
