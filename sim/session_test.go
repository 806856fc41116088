package sim

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/optionsrisk/backtest/feeds"
	"github.com/optionsrisk/backtest/risk"
)

func nyTime(y int, m time.Month, d, hh, mm int) time.Time {
	return time.Date(y, m, d, hh, mm, 0, 0, ny)
}

// engineFor builds an engine on an empty feed, for its clock functions.
func engineFor(t *testing.T, cfg Config) *Engine {
	t.Helper()
	rm, err := risk.NewManager(risk.Settings{}, &risk.MemorySink{})
	if err != nil {
		t.Fatal(err)
	}
	cs := feeds.NewContracts()
	e, err := New(cfg, &scripted{contracts: cs}, rm, &MemoryRecorder{}, newTestRand())
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// Session time skips nights, weekends, holidays and the hours after an
// early close.
func TestSessionTime(t *testing.T) {
	e := engineFor(t, Config{Start: nyTime(2024, 1, 1, 0, 0), End: nyTime(2025, 1, 1, 0, 0)})
	for _, tc := range []struct {
		name     string
		from     time.Time
		add      time.Duration
		want     time.Time
		wantOpen time.Time // nextOpen(from)
	}{
		{"inside the session", nyTime(2024, 3, 4, 10, 0), 30 * time.Minute, nyTime(2024, 3, 4, 10, 30), nyTime(2024, 3, 4, 10, 0)},
		{"over the night", nyTime(2024, 3, 4, 15, 50), 30 * time.Minute, nyTime(2024, 3, 5, 9, 50), nyTime(2024, 3, 4, 15, 50)},
		{"over a weekend", nyTime(2024, 3, 8, 15, 50), 30 * time.Minute, nyTime(2024, 3, 11, 9, 50), nyTime(2024, 3, 8, 15, 50)},
		{"from the close", nyTime(2024, 3, 8, 16, 0), 30 * time.Minute, nyTime(2024, 3, 11, 10, 0), nyTime(2024, 3, 11, 9, 30)},
		{"over Good Friday", nyTime(2024, 3, 28, 15, 45), 30 * time.Minute, nyTime(2024, 4, 1, 9, 45), nyTime(2024, 3, 28, 15, 45)},
		{"early close then Independence Day", nyTime(2024, 7, 3, 12, 50), 30 * time.Minute, nyTime(2024, 7, 5, 9, 50), nyTime(2024, 7, 3, 12, 50)},
		{"after an early close", nyTime(2024, 7, 3, 14, 0), 10 * time.Minute, nyTime(2024, 7, 5, 9, 40), nyTime(2024, 7, 5, 9, 30)},
		{"from a Saturday", nyTime(2024, 3, 9, 11, 0), 10 * time.Minute, nyTime(2024, 3, 11, 9, 40), nyTime(2024, 3, 11, 9, 30)},
		{"before the open", nyTime(2024, 3, 4, 7, 0), time.Hour, nyTime(2024, 3, 4, 10, 30), nyTime(2024, 3, 4, 9, 30)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := utc(e.addSessionTime(tc.from.UnixMicro(), tc.add)); !got.Equal(tc.want) {
				t.Errorf("addSessionTime(%s, %s) = %s, want %s", tc.from, tc.add, got.In(ny), tc.want)
			}
			if got := utc(e.nextOpen(tc.from.UnixMicro())); !got.Equal(tc.wantOpen) {
				t.Errorf("nextOpen(%s) = %s, want %s", tc.from, got.In(ny), tc.wantOpen)
			}
		})
	}
	if e.inSession(nyTime(2024, 3, 29, 10, 0).UnixMicro()) || e.inSession(nyTime(2024, 7, 3, 13, 0).UnixMicro()) || !e.inSession(nyTime(2024, 7, 3, 12, 59).UnixMicro()) {
		t.Error("Good Friday 10:00 or an early close's 13:00 counted in session, or 12:59 not")
	}
}

// Entry schedules fire on trading days within the session only.
func TestEntrySchedule(t *testing.T) {
	for _, tc := range []struct {
		name  string
		entry EntryConfig
		after time.Time
		want  []time.Time
	}{
		{"every skips the close, the weekend", EntryConfig{Every: 2 * time.Hour}, nyTime(2024, 3, 8, 14, 0),
			[]time.Time{nyTime(2024, 3, 8, 15, 30), nyTime(2024, 3, 11, 9, 30), nyTime(2024, 3, 11, 11, 30)}},
		{"every skips Good Friday", EntryConfig{Every: 3 * time.Hour}, nyTime(2024, 3, 28, 13, 0),
			[]time.Time{nyTime(2024, 3, 28, 15, 30), nyTime(2024, 4, 1, 9, 30)}},
		{"every stops at an early close", EntryConfig{Every: 90 * time.Minute}, nyTime(2024, 7, 3, 11, 0),
			[]time.Time{nyTime(2024, 7, 3, 12, 30), nyTime(2024, 7, 5, 9, 30)}},
		{"at the close fires at an early close", EntryConfig{At: "16:00"}, nyTime(2024, 7, 2, 17, 0),
			[]time.Time{nyTime(2024, 7, 3, 13, 0), nyTime(2024, 7, 5, 16, 0), nyTime(2024, 7, 8, 16, 0)}},
		{"at before the open fires at the open", EntryConfig{At: "08:00"}, nyTime(2024, 3, 28, 9, 0),
			[]time.Time{nyTime(2024, 3, 28, 9, 30), nyTime(2024, 4, 1, 9, 30)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{Start: nyTime(2024, 1, 1, 0, 0), End: nyTime(2025, 1, 1, 0, 0)}
			cfg.Strategy.Entry = tc.entry
			e := engineFor(t, cfg)
			at := tc.after.UnixMicro()
			for i, w := range tc.want {
				next, ok := e.nextEntry(at)
				if !ok || !utc(next).Equal(w) {
					t.Fatalf("entry %d after %s = %s (%v), want %s", i, utc(at).In(ny), utc(next).In(ny), ok, w)
				}
				at = next
			}
		})
	}
}

// An order that reaches the broker after the close waits for the next open
// (it neither times out overnight nor counts as a breaker failure), or is
// refused with closed_market: reject; an order sent on the closing quote
// fills on it (market on close).
func TestOrderAroundTheClose(t *testing.T) {
	for _, tc := range []struct {
		name     string
		sent     time.Time
		closed   string
		status   string
		fillTime time.Time
	}{
		{"reaches a closed market and waits", at(4, 15, 59, 0), "wait", StatusFilled, at(5, 9, 30, 0)},
		{"reaches a closed market and is refused", at(4, 15, 59, 0), "reject", StatusRejected, time.Time{}},
		{"sent on the closing quote", at(4, 16, 0, 0), "wait", StatusFilled, at(4, 16, 0, 0)},
		{"sent at night", at(4, 20, 0, 0), "wait", StatusFilled, at(5, 9, 30, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := baseConfig()
			cfg.Strategy.Entry.Times = []time.Time{tc.sent}
			cfg.Broker.ClosedMarket = tc.closed
			one := time.Duration(0)
			rs := risk.Settings{CircuitBreaker: risk.BreakerSettings{FailureThreshold: 1, FailureWindow: &one}}
			res, rec, events := runScripted(t, cfg, oneContract(nil), rs)
			f := rec.Fills[0]
			if f.Status != tc.status || tc.status == StatusFilled && !feeds.MicrosTime(f.FillTime).Equal(tc.fillTime.UTC()) {
				t.Fatalf("first order %s at %s (%s), want %s at %s", f.Status, feeds.MicrosTime(f.FillTime).In(ny), f.Reason, tc.status, tc.fillTime)
			}
			if tc.status == StatusRejected && !strings.Contains(f.Reason, "market closed") {
				t.Errorf("reason %q, want market closed", f.Reason)
			}
			for _, e := range events {
				if e.Type == risk.EventFailure {
					t.Errorf("breaker failure at %s: %s", e.Time.In(ny), e.Reason)
				}
			}
			s := res.Signals
			if s.Total != 1 || s.Opened+s.Broker != 1 || (tc.status == StatusFilled) != (s.Opened == 1) {
				t.Errorf("signals %+v", s)
			}
		})
	}
}

// endOfDay quotes one put (strike 100, expiring 2024-03-28) once a day at
// 16:00 on March 4–8.
func endOfDay() *scripted {
	cs := feeds.NewContracts()
	id := cs.Intern(feeds.Contract{Symbol: "SPY240328P00100000", Underlying: "SPY", Expiry: at(28, 16, 0, 0).UTC(), Strike: 100, Right: feeds.Put, Multiplier: 100})
	s := &scripted{contracts: cs}
	for day := 4; day <= 8; day++ {
		s.batches = append(s.batches, []feeds.Quote{{Time: at(day, 16, 0, 0).UnixMicro(), Contract: id, Bid: 2, Ask: 2.2, UnderlyingPrice: 101, IV: 0.2, Delta: -0.3, Gamma: 0.05}})
	}
	return s
}

// End-of-day feeds trade with the ordinary schedules: signals before the
// day's quote wait for it (one signal a day), and the order sent on the
// closing quote fills on it.
func TestEndOfDayFeedTrades(t *testing.T) {
	for _, entry := range []EntryConfig{{Every: 30 * time.Minute}, {At: "10:00"}, {At: "16:00"}} {
		cfg := baseConfig()
		cfg.End = at(9, 0, 0, 0)
		cfg.Strategy.Entry = EntryConfig{Every: entry.Every, At: entry.At, Right: "put", Side: "short", DTE: [2]int{0, 30}, MaxOpen: 10}
		res, rec, _ := runScripted(t, cfg, endOfDay(), risk.Settings{})
		if s := res.Signals; s.Total != 5 || s.Opened != 5 || res.Expired != 0 {
			t.Fatalf("every %s at %q: signals %+v, expired %d; want 5 signals, 5 opened", entry.Every, entry.At, s, res.Expired)
		}
		for _, f := range rec.Fills {
			if tm := feeds.MicrosTime(f.FillTime).In(ny); f.Status != StatusFilled || tm.Hour() != 16 || f.FillTime != f.OrderTime {
				t.Fatalf("every %s at %q: fill %s at %s sent %s, want filled on the closing quote", entry.Every, entry.At, f.Status, tm, feeds.MicrosTime(f.OrderTime).In(ny))
			}
		}
	}
}

// A signal on a day without any quote is counted as no quote, once.
func TestSignalWithoutQuoteCounted(t *testing.T) {
	cfg := baseConfig()
	cfg.Strategy.Entry.Times = nil
	cfg.Strategy.Entry.Every = time.Hour
	src := oneContract(nil)
	src.batches = [][]feeds.Quote{src.batches[0], src.batches[2]} // no quotes on March 5
	res, _, _ := runScripted(t, cfg, src, risk.Settings{})
	s := res.Signals
	if s.NoQuote != 1 || s.Total != s.Opened+s.NoQuote+s.NoContract+s.MaxOpen+s.Limits+s.Breaker+s.Broker {
		t.Fatalf("signals %+v, want March 5's coalesced signals counted once as no quote", s)
	}
}

func almost(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func newTestRand() *rand.Rand { return rand.New(rand.NewPCG(1, 2)) }
