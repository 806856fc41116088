package sim

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/optionsrisk/backtest/feeds"
	"github.com/optionsrisk/backtest/risk"
)

// everyFive quotes the contracts every 5 minutes from 09:30 to 16:00 on the
// March 2024 days given (none after a contract's expiry), in one batch.
func everyFive(cs *feeds.Contracts, days []int, ids []feeds.ContractID, delta []float64, spot func(day int, t time.Time) float64) *scripted {
	var qs []feeds.Quote
	for _, d := range days {
		for tm := at(d, 9, 30, 0); !tm.After(at(d, 16, 0, 0)); tm = tm.Add(5 * time.Minute) {
			for k, id := range ids {
				if tm.After(cs.Get(id).Expiry) {
					continue
				}
				qs = append(qs, feeds.Quote{Time: tm.UnixMicro(), Contract: id, Bid: 1, Ask: 1.1, UnderlyingPrice: spot(d, tm), IV: 0.2, Delta: delta[k], Gamma: 0.01})
			}
		}
	}
	return &scripted{contracts: cs, batches: [][]feeds.Quote{qs}}
}

func flat(int, time.Time) float64 { return 500 }

// An order admitted in half_open that never fills (its contract expires
// before a quote after the latency) must not hold the breaker's only trial
// forever: it expires, the breaker hears of a failure, and trading resumes.
func TestUnfilledOrderReleasesHalfOpen(t *testing.T) {
	cs := feeds.NewContracts()
	c1 := cs.Intern(feeds.Contract{Symbol: "SPY240311P00500000", Underlying: "SPY", Expiry: at(11, 16, 0, 0).UTC(), Strike: 500, Right: feeds.Put, Multiplier: 100})
	c2 := cs.Intern(feeds.Contract{Symbol: "SPY240412P00450000", Underlying: "SPY", Expiry: at(40, 16, 0, 0).UTC(), Strike: 450, Right: feeds.Put, Multiplier: 100})
	src := everyFive(cs, []int{11, 12, 13}, []feeds.ContractID{c1, c2}, []float64{-0.30, -0.10}, flat)
	cfg := Config{
		Start: at(11, 0, 0, 0), End: at(14, 0, 0, 0),
		Strategy: StrategyConfig{Entry: EntryConfig{Times: []time.Time{at(11, 10, 0, 0), at(11, 15, 55, 0), at(12, 10, 0, 0), at(13, 10, 0, 0)}, DTE: [2]int{0, 40}, MaxOpen: 10}},
		Broker:   BrokerConfig{Latency: 10 * time.Minute, Faults: FaultConfig{Outages: []Outage{{Start: at(11, 10, 5, 0), End: at(11, 10, 30, 0)}}}},
	}
	_, rec, events := runScripted(t, cfg, src, risk.Settings{CircuitBreaker: risk.BreakerSettings{FailureThreshold: 1, HalfOpenTrials: 1}})
	var statuses []string
	for _, f := range rec.Fills {
		statuses = append(statuses, f.Status)
		if f.Status == StatusBlocked && strings.Contains(f.Reason, "trial orders already sent") {
			t.Errorf("order at %s blocked by a half_open breaker whose trial never filled", feeds.MicrosTime(f.OrderTime))
		}
	}
	// 10:00 rejected in the outage (trip); 15:55 on the expiring contract is
	// the half_open trial and expires unfilled (a failure); the next days
	// trade once the breaker has recovered.
	want := []string{StatusRejected, StatusExpired, StatusFilled, StatusFilled}
	if strings.Join(statuses, ",") != strings.Join(want, ",") {
		t.Fatalf("orders %v, want %v", statuses, want)
	}
	failures := 0
	for _, e := range events {
		if e.Type == risk.EventFailure {
			failures++
		}
	}
	if failures != 2 {
		t.Errorf("%d breaker failures, want 2 (the reject and the unfilled trial)", failures)
	}
}

// An accepted order works at most order_timeout. Without a quote of its
// legs it ends no_market, which the breaker does not hear; with quotes but
// its limit never met it expires, a broker answer the breaker hears.
func TestOrderTimeout(t *testing.T) {
	for _, tc := range []struct {
		name     string
		limit    *EntryLimit
		gap      bool // no quotes between 10:01 and 11:00
		status   string
		failures int
	}{
		{"no quotes", nil, true, StatusNoMarket, 0},
		{"limit never met", &EntryLimit{MinCredit: 2.5}, false, StatusExpired, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := baseConfig()
			cfg.Broker.OrderTimeout = 20 * time.Minute
			cfg.Strategy.Entry.Limit = tc.limit
			src := oneContract(nil)
			if tc.gap {
				var kept []feeds.Quote
				for _, q := range src.batches[0] {
					if tm := feeds.MicrosTime(q.Time); tm.Before(at(4, 10, 1, 0).UTC()) || !tm.Before(at(4, 11, 0, 0).UTC()) {
						kept = append(kept, q)
					}
				}
				src.batches[0] = kept
			}
			res, rec, events := runScripted(t, cfg, src, risk.Settings{})
			// Sent 10:00, at the broker 10:01:30, expires 20 minutes later.
			if len(rec.Fills) == 0 || rec.Fills[0].Status != tc.status || !strings.Contains(rec.Fills[0].Reason, "order_timeout") {
				t.Fatalf("fills %+v, want the first order %s by order_timeout", rec.Fills, tc.status)
			}
			failures := 0
			for _, e := range events {
				if e.Type == risk.EventFailure {
					failures++
					if !e.Time.Equal(at(4, 10, 21, 30).UTC()) {
						t.Errorf("failure at %s, want 10:21:30", e.Time)
					}
				}
			}
			if failures != tc.failures || res.Signals.Broker != 1 || res.Signals.Total != 1 {
				t.Fatalf("%d failures, signals %+v; want %d failures and the signal counted as broker", failures, res.Signals, tc.failures)
			}
		})
	}
}

// Unsorted entry times still enter at each of them.
func TestUnsortedEntryTimes(t *testing.T) {
	for _, times := range [][]time.Time{{at(4, 10, 0, 0), at(5, 10, 0, 0)}, {at(5, 10, 0, 0), at(4, 10, 0, 0), at(5, 10, 0, 0)}} {
		cfg := baseConfig()
		cfg.Strategy.Entry.Times = times
		res, _, _ := runScripted(t, cfg, oneContract(nil), risk.Settings{})
		if res.Signals.Total != 2 || res.Signals.Opened != 2 {
			t.Errorf("times %v: signals %+v, want 2 opened", times, res.Signals)
		}
	}
}

// Expiry settles at the underlying's latest price from any contract, not
// the last quote of a leg that stopped being quoted.
func TestExpiryUsesLatestSpot(t *testing.T) {
	cs := feeds.NewContracts()
	a := cs.Intern(feeds.Contract{Symbol: "SPY240313P00450000", Underlying: "SPY", Expiry: at(13, 16, 0, 0).UTC(), Strike: 450, Right: feeds.Put, Multiplier: 100})
	b := cs.Intern(feeds.Contract{Symbol: "SPY240313P00300000", Underlying: "SPY", Expiry: at(13, 16, 0, 0).UTC(), Strike: 300, Right: feeds.Put, Multiplier: 100})
	var qs []feeds.Quote
	for _, d := range []int{11, 12, 13} {
		for tm := at(d, 9, 30, 0); tm.Before(at(d, 16, 0, 0)); tm = tm.Add(5 * time.Minute) {
			spot := 500.0
			if d > 11 {
				spot = 440
			}
			if d == 11 && tm.Hour() < 11 { // the 450 put is quoted only on the morning of day 11
				qs = append(qs, feeds.Quote{Time: tm.UnixMicro(), Contract: a, Bid: 1, Ask: 1.1, UnderlyingPrice: spot, IV: .2, Delta: -.3})
			}
			qs = append(qs, feeds.Quote{Time: tm.UnixMicro(), Contract: b, Bid: .05, Ask: .1, UnderlyingPrice: spot, IV: .2, Delta: -.01})
		}
	}
	cfg := Config{Start: at(11, 0, 0, 0), End: at(15, 0, 0, 0), Broker: BrokerConfig{Fill: FillConfig{Model: "natural"}},
		Strategy: StrategyConfig{Entry: EntryConfig{Times: []time.Time{at(11, 10, 0, 0)}, DTE: [2]int{0, 40}}}}
	res, rec, _ := runScripted(t, cfg, &scripted{contracts: cs, batches: [][]feeds.Quote{qs}}, risk.Settings{})
	var settled *Fill
	for i := range rec.Fills {
		if rec.Fills[i].Status == StatusSettled {
			settled = &rec.Fills[i]
		}
	}
	if settled == nil || settled.FillPrice != 10 {
		t.Fatalf("settlement %+v, want the short 450 put settled at 450 − 440 = 10", settled)
	}
	if len(res.Trades) != 1 || math.Abs(res.Trades[0].PnL-(1.0*100-10*100)) > 1e-9 {
		t.Fatalf("trades %+v, want P&L 100 − 1000", res.Trades)
	}
}

// A recorded exit that meets an open breaker is blocked, then sold through
// the simulated broker once the breaker admits orders; recorded rejects of
// an admitted order are breaker failures.
func TestReplayExitMeetsOpenBreaker(t *testing.T) {
	cfg := baseConfig()
	cfg.Strategy = StrategyConfig{Replay: &ReplayConfig{Fills: []RecordedFill{
		row(12, 0, "E1", "sell", 2.05, StatusRejected), // unsorted on purpose
		row(10, 0, "E1", "sell", 2.10, StatusFilled),
		row(10, 30, "R1", "sell", 0, StatusRejected),
		row(10, 31, "R2", "sell", 0, StatusRejected),
		row(10, 40, "E1", "buy", 1.50, StatusFilled),
	}}}
	window := 10 * time.Minute
	rs := risk.Settings{CircuitBreaker: risk.BreakerSettings{FailureThreshold: 2, FailureWindow: &window, Cooldown: 30 * time.Minute, HalfOpenTrials: 1}}
	_, rec, events := runScripted(t, cfg, oneContract(nil), rs)
	type r struct{ id, intent, status string }
	var got []r
	for _, f := range rec.Fills {
		got = append(got, r{f.ExecutionID, f.Intent, f.Status})
	}
	want := []r{{"E1", "entry", StatusFilled}, {"R1", "entry", StatusRejected}, {"R2", "entry", StatusRejected},
		{"E1", "exit", StatusBlocked}, {"E1", "exit", StatusFilled}}
	if len(got) != len(want) {
		t.Fatalf("fills %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("fill %d = %+v, want %+v (all: %+v)", i, got[i], want[i], got)
		}
	}
	exit := rec.Fills[4]
	// Half_open at 10:31 + 30m; the retry goes at the next quote (11:02)
	// through the broker (1.5 s latency → the 11:03 quote), buying at the
	// ask plus a tick — not at the recorded 1.50.
	if exit.Reason != "recorded_exit" || exit.FillPrice != 2.25 || !feeds.MicrosTime(exit.FillTime).Equal(at(4, 11, 3, 0).UTC()) {
		t.Fatalf("exit %+v, want the recorded exit sold through the broker at 11:03 for 2.25", exit)
	}
	failures := 0
	for _, e := range events {
		if e.Type == risk.EventFailure {
			failures++
		}
	}
	if failures != 2 { // R1, R2; the 12:00 reject of a closed position never happened here
		t.Fatalf("%d failures, want 2", failures)
	}
}

// truncated keeps oneContract's quotes before the given instant.
func truncated(before time.Time) *scripted {
	src := oneContract(nil)
	var kept []feeds.Quote
	for _, b := range src.batches {
		for _, q := range b {
			if feeds.MicrosTime(q.Time).Before(before.UTC()) {
				kept = append(kept, q)
			}
		}
	}
	src.batches = [][]feeds.Quote{kept}
	return src
}

// Once the feed ends, no new trade starts: no entry orders (which could
// only time out and trip the breaker) and no replayed rows.
func TestNothingTradesAfterTheFeedEnds(t *testing.T) {
	end := at(4, 12, 0, 0)
	cfg := baseConfig()
	cfg.Strategy.Entry.Times = nil
	cfg.Strategy.Entry.Every = 30 * time.Minute
	cfg.Strategy.Entry.MaxOpen = 100
	w := time.Duration(0)
	_, rec, events := runScripted(t, cfg, truncated(end), risk.Settings{CircuitBreaker: risk.BreakerSettings{FailureThreshold: 3, FailureWindow: &w}})
	for _, f := range rec.Fills {
		if f.OrderTime >= end.UnixMicro() && f.Status != StatusSettled {
			t.Errorf("order after the feed ended: %s %s %s", feeds.MicrosTime(f.OrderTime), f.Status, f.Reason)
		}
	}
	for _, e := range events {
		if e.Component == risk.CircuitBreakerComponent && !e.Time.Before(end) {
			t.Errorf("breaker event after the feed ended: %s %s", e.Time, e.Type)
		}
	}

	occ := "SPY240306P00100000"
	cfg = baseConfig()
	cfg.Strategy = StrategyConfig{Replay: &ReplayConfig{Fills: []RecordedFill{
		{Time: at(4, 10, 0, 0).UTC(), ExecutionID: "E1", Contract: occ, Side: "sell", Qty: 1, Price: 2.1, Status: StatusFilled},
		{Time: at(5, 10, 0, 0).UTC(), ExecutionID: "E2", Contract: occ, Side: "sell", Qty: 1, Price: 9.9, Status: StatusFilled},
		{Time: at(5, 11, 0, 0).UTC(), ExecutionID: "E1", Contract: occ, Side: "buy", Qty: 1, Price: 0.01, Status: StatusFilled},
	}}}
	src := oneContract(nil)
	src.batches = src.batches[:1] // March 4 only
	res, rec, _ := runScripted(t, cfg, src, risk.Settings{})
	if len(rec.Fills) != 2 || rec.Fills[0].ExecutionID != "E1" || rec.Fills[1].Status != StatusSettled {
		t.Fatalf("fills %+v, want E1's recorded entry then its settlement at expiry", rec.Fills)
	}
	if len(res.Trades) != 1 {
		t.Fatalf("trades %+v, want E1 only", res.Trades)
	}
}

// A single leg's stop works on quotes before the session open (EOD and
// pre-market feeds); only spreads need both legs quoted the same day.
func TestPreOpenQuotesStillStop(t *testing.T) {
	cfg := baseConfig()
	src := oneContract(nil)
	for bi := range src.batches {
		for i := range src.batches[bi] {
			q := &src.batches[bi][i]
			q.Time -= (2 * time.Hour).Microseconds() // 07:30 .. 14:00
			if tm := feeds.MicrosTime(q.Time).In(ny); tm.Day() == 5 && tm.Hour() < 9 {
				q.Bid, q.Ask = 8, 8.2
			}
		}
	}
	cfg.Strategy.Entry.Times = []time.Time{at(4, 10, 0, 0)}
	res, _, _ := runScripted(t, cfg, src, risk.Settings{TrailingStop: risk.StopSettings{StopLossPct: 50}})
	if len(res.Trades) != 1 || res.Trades[0].ExitReason != "stop_loss" || feeds.MicrosTime(res.Trades[0].ClosedAt).In(ny).Day() != 5 {
		t.Fatalf("trades %+v, want the hard stop to close the position pre-open on March 5", res.Trades)
	}
}

// A recorded exit that failed live (a reject) and meets a refusing breaker
// is a blocked attempt, not an order to exit later.
func TestBlockedRecordedRejectDoesNotExit(t *testing.T) {
	cfg := baseConfig()
	cfg.Strategy = StrategyConfig{Replay: &ReplayConfig{Fills: []RecordedFill{
		row(10, 0, "E1", "sell", 2.10, StatusFilled),
		row(10, 30, "R1", "sell", 0, StatusRejected),
		row(10, 31, "R2", "sell", 0, StatusRejected),
		row(10, 40, "E1", "buy", 0, StatusRejected),
	}}}
	window := 10 * time.Minute
	rs := risk.Settings{CircuitBreaker: risk.BreakerSettings{FailureThreshold: 2, FailureWindow: &window, Cooldown: 30 * time.Minute, HalfOpenTrials: 1}}
	res, rec, _ := runScripted(t, cfg, oneContract(nil), rs)
	for _, f := range rec.Fills {
		if f.ExecutionID == "E1" && f.Intent == "exit" && f.Status == StatusFilled {
			t.Fatalf("the simulator sold E1 though the live exit was a reject: %+v", f)
		}
	}
	if len(res.Trades) != 1 || res.Trades[0].ExitReason != "expiry" {
		t.Fatalf("trades %+v, want E1 held to expiry", res.Trades)
	}
}

// row is a recorded fill of one contract of oneContract on March 4.
func row(h, m int, id, side string, price float64, status string) RecordedFill {
	return RecordedFill{Time: at(4, h, m, 0).UTC(), ExecutionID: id, Contract: "SPY240306P00100000", Side: side, Qty: 1, Price: price, Status: status}
}
