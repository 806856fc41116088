package sim

import (
	"context"
	"io"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/optionsrisk/backtest/feeds"
	"github.com/optionsrisk/backtest/risk"
)

// scripted is a feed of hand-written quotes, one batch per call.
type scripted struct {
	contracts *feeds.Contracts
	batches   [][]feeds.Quote
	next      int
}

func (s *scripted) Contracts() *feeds.Contracts  { return s.contracts }
func (s *scripted) Close() error                 { return nil }
func (s *scripted) Quality() feeds.QualityCounts { return nil }
func (s *scripted) Next(context.Context) (*feeds.Batch, error) {
	if s.next >= len(s.batches) {
		return nil, io.EOF
	}
	s.next++
	return &feeds.Batch{Quotes: s.batches[s.next-1]}, nil
}

var ny, _ = time.LoadLocation("America/New_York")

func at(day, hh, mm, ss int) time.Time { return time.Date(2024, 3, day, hh, mm, ss, 0, ny) }

// oneContract quotes a single SPY put (strike 100, expiring 2024-03-06
// 16:00 ET) every minute from 09:30 to 16:00 on March 4–6, bid 2.00 ask 2.20,
// underlying 101, delta -0.3; price(t) may override bid/ask.
func oneContract(price func(t time.Time) (bid, ask, spot float64)) *scripted {
	cs := feeds.NewContracts()
	id := cs.Intern(feeds.Contract{Symbol: "SPY240306P00100000", Underlying: "SPY", Expiry: at(6, 16, 0, 0).UTC(), Strike: 100, Right: feeds.Put, Multiplier: 100})
	s := &scripted{contracts: cs}
	for day := 4; day <= 6; day++ {
		var b []feeds.Quote
		for t := at(day, 9, 30, 0); !t.After(at(day, 16, 0, 0)); t = t.Add(time.Minute) {
			bid, ask, spot := 2.0, 2.2, 101.0
			if price != nil {
				bid, ask, spot = price(t)
			}
			b = append(b, feeds.Quote{Time: t.UnixMicro(), Contract: id, Bid: bid, Ask: ask, UnderlyingPrice: spot, IV: 0.2, Delta: -0.3, Gamma: 0.05})
		}
		s.batches = append(s.batches, b)
	}
	return s
}

func baseConfig() Config {
	return Config{
		Start: at(4, 0, 0, 0), End: at(7, 0, 0, 0), Capital: 10000,
		Strategy: StrategyConfig{Entry: EntryConfig{
			Times: []time.Time{at(4, 10, 0, 0)}, Right: "put", Side: "short", DTE: [2]int{0, 10}, Qty: 2, MaxOpen: 5,
		}},
		Broker: BrokerConfig{Latency: 90 * time.Second, Fill: FillConfig{Model: "natural"}, Slippage: SlippageConfig{Model: "ticks", Ticks: 1, TickSize: 0.05}, CommissionPerContract: 0.5},
	}
}

func runScripted(t *testing.T, cfg Config, src *scripted, rs risk.Settings) (Result, *MemoryRecorder, []risk.Event) {
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
	res, err := e.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return res, rec, sink.Events
}

func TestFillAtFirstQuoteAfterLatency(t *testing.T) {
	res, rec, _ := runScripted(t, baseConfig(), oneContract(nil), risk.Settings{})
	if len(rec.Fills) == 0 {
		t.Fatal("no orders")
	}
	f := rec.Fills[0]
	// Sent at 10:00:00, broker answers at 10:01:30, first quote at or after
	// that is 10:02:00. A sell fills at the bid less one tick.
	if got, want := feeds.MicrosTime(f.FillTime), at(4, 10, 2, 0).UTC(); !got.Equal(want) || f.Status != StatusFilled {
		t.Fatalf("fill %s at %s, want filled at %s", f.Status, got, want)
	}
	if f.FillPrice != 1.95 || f.Slippage != 0.05 || f.Commission != 1.0 || f.Side != "sell" || f.Qty != 2 {
		t.Fatalf("fill %+v, want sell 2 at 1.95, slippage 0.05, commission 1.00", f)
	}
	// Held to expiry with spot 101 > strike 100: the put expires worthless;
	// P&L = premium 1.95 × 2 × 100 − commission 1.00.
	if len(res.Trades) != 1 || res.Trades[0].ExitReason != "expiry" {
		t.Fatalf("trades %+v, want one closed at expiry", res.Trades)
	}
	if got := res.Trades[0].PnL; math.Abs(got-389.0) > 1e-9 {
		t.Fatalf("P&L %v, want 389", got)
	}
	if math.Abs(res.Final.Equity-10389) > 1e-9 || res.Final.Open != 0 {
		t.Fatalf("final %+v, want equity 10389 and no open position", res.Final)
	}
}

func TestExpirySettlesAtIntrinsic(t *testing.T) {
	// Spot falls to 95 on the last day: the short put settles at 100 − 95 = 5.
	src := oneContract(func(tm time.Time) (float64, float64, float64) {
		if tm.Day() == 6 {
			return 5.0, 5.2, 95
		}
		return 2.0, 2.2, 101
	})
	res, _, _ := runScripted(t, baseConfig(), src, risk.Settings{})
	want := 1.95*200 - 1.0 - 5*200
	if len(res.Trades) != 1 || math.Abs(res.Trades[0].PnL-want) > 1e-9 || res.Trades[0].ExitPremium != 5 {
		t.Fatalf("trades %+v, want P&L %v, exit premium 5", res.Trades, want)
	}
}

func TestOutageRejectsAndBreakerWakesOnTime(t *testing.T) {
	cfg := baseConfig()
	cfg.Strategy.Entry.Times = []time.Time{at(4, 10, 0, 0), at(4, 10, 20, 0), at(4, 11, 0, 0)}
	cfg.Broker.Faults.Outages = []Outage{{Start: at(4, 10, 0, 0), End: at(4, 10, 45, 0)}}
	rs := risk.Settings{CircuitBreaker: risk.BreakerSettings{FailureThreshold: 1, Cooldown: 30 * time.Minute, HalfOpenTrials: 1}}
	_, rec, events := runScripted(t, cfg, oneContract(nil), rs)
	// 10:00 order fails in the outage at 10:01:30 and trips the breaker; the
	// 10:20 entry is blocked; half_open at exactly 10:31:30; the 11:00 entry
	// passes as the one trial and fills, closing the breaker.
	want := []string{StatusRejected, StatusBlocked, StatusFilled}
	if len(rec.Fills) < 3 {
		t.Fatalf("fills %+v", rec.Fills)
	}
	for i, w := range want {
		if rec.Fills[i].Status != w {
			t.Fatalf("order %d: %s (%s), want %s", i, rec.Fills[i].Status, rec.Fills[i].Reason, w)
		}
	}
	var changes []string
	for _, e := range events {
		if e.Type == risk.EventStateChange {
			changes = append(changes, e.StateFrom+">"+e.StateTo+"@"+e.Time.In(ny).Format("15:04:05.000"))
		}
	}
	wantChanges := []string{"closed>open@10:01:30.000", "open>half_open@10:31:30.000", "half_open>closed@11:02:00.000"}
	if len(changes) != 3 || changes[0] != wantChanges[0] || changes[1] != wantChanges[1] || changes[2] != wantChanges[2] {
		t.Fatalf("state changes %v, want %v", changes, wantChanges)
	}
}

func TestTrailingStopExitGoesThroughBroker(t *testing.T) {
	// The short put's premium falls from 2.10 mid to 1.00 (a 50% gain arms
	// a 20%-activation stop), then jumps to 3.00: a gap through the stop.
	src := oneContract(func(tm time.Time) (float64, float64, float64) {
		switch {
		case tm.Before(at(4, 12, 0, 0)):
			return 2.0, 2.2, 101
		case tm.Before(at(4, 13, 0, 0)):
			return 0.95, 1.05, 103
		default:
			return 2.9, 3.1, 99
		}
	})
	rs := risk.Settings{TrailingStop: risk.StopSettings{ActivationPct: 20, TrailPct: 25}}
	res, rec, events := runScripted(t, baseConfig(), src, rs)
	if len(res.Trades) != 1 || res.Trades[0].ExitReason != "trailing_stop" {
		t.Fatalf("trades %+v, want one closed by the trailing stop", res.Trades)
	}
	exit := rec.Fills[len(rec.Fills)-1]
	// Triggered by the 13:00 quote (ask 3.10 ≥ stop 1.05 × 1.25); bought back
	// at the first quote after latency, 13:02, at the ask plus a tick.
	if !feeds.MicrosTime(exit.FillTime).Equal(at(4, 13, 2, 0).UTC()) || exit.FillPrice != 3.15 || exit.Intent != "exit" || exit.Side != "buy" {
		t.Fatalf("exit %+v", exit)
	}
	var trig *risk.Event
	for i := range events {
		if events[i].Type == risk.EventTrigger {
			trig = &events[i]
		}
	}
	if trig == nil || trig.Value != 3.1 || math.Abs(trig.Threshold-1.05*1.25) > 1e-12 || !trig.Time.Equal(at(4, 13, 0, 0).UTC()) {
		t.Fatalf("trigger event %+v", trig)
	}
}

// An AM-settled option (SPX monthlies) settles against the expiry
// morning's opening price, not the close: spot opens at 97 on the last day
// and falls to 95 by the close; the short put settles at 100 − 97 = 3. The
// same contract PM-settled settles at 5.
func TestAMSettlementUsesTheOpeningPrice(t *testing.T) {
	price := func(tm time.Time) (float64, float64, float64) {
		if tm.Day() == 6 {
			if tm.Hour() == 9 && tm.Minute() == 30 {
				return 3.0, 3.2, 97
			}
			return 5.0, 5.2, 95
		}
		return 2.0, 2.2, 101
	}
	for _, tc := range []struct {
		style feeds.Settlement
		exit  float64
	}{{feeds.SettleAM, 3}, {feeds.SettlePM, 5}} {
		src := oneContract(price)
		src.contracts.Get(0).Settlement = tc.style
		res, rec, _ := runScripted(t, baseConfig(), src, risk.Settings{})
		want := 1.95*200 - 1.0 - tc.exit*200
		if len(res.Trades) != 1 || math.Abs(res.Trades[0].PnL-want) > 1e-9 || res.Trades[0].ExitPremium != tc.exit {
			t.Fatalf("%v: trades %+v, want P&L %v, exit premium %v", tc.style, res.Trades, want, tc.exit)
		}
		last := rec.Fills[len(rec.Fills)-1]
		if last.Status != StatusSettled || (tc.style == feeds.SettleAM) != strings.Contains(last.Reason, "opening price") {
			t.Errorf("%v: settlement row %s %q", tc.style, last.Status, last.Reason)
		}
	}
}
