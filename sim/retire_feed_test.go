package sim_test

import (
	"context"
	"fmt"
	"io"
	"math"
	"testing"
	"time"

	"github.com/optionsrisk/backtest/feeds"
	"github.com/optionsrisk/backtest/risk"
	"github.com/optionsrisk/backtest/sim"
)

// weeklyFeed is a hand-made feed of a SPY weekly chain over some two years
// (strikes 60-140 of the next three Friday expiries, quoted at 10:00 and
// 15:30 New York on weekdays), with what a long run meets besides: a
// LEAP-like call quoted every tenth day only, a QQQ contract quoted on one
// day only (day 25), and late quotes (long after expiry) of a SPY contract
// first listed before the run's period and of that QQQ contract. It
// retires nothing itself, so late quotes keep their IDs.
type weeklyFeed struct {
	cs    *feeds.Contracts
	days  []time.Time // weekdays, local midnight
	next  int
	batch feeds.Batch
	leap  feeds.Contract
	from  int // first day the LEAP is quoted
	late  map[int][]string
}

var nyc, _ = time.LoadLocation("America/New_York")

const weeklyWeeks = 110

func newWeeklyFeed() *weeklyFeed {
	f := &weeklyFeed{cs: feeds.NewContracts(), from: 40, late: map[int][]string{}}
	for d := time.Date(2021, 1, 4, 0, 0, 0, 0, nyc); len(f.days) < 5*weeklyWeeks; d = d.AddDate(0, 0, 1) {
		if wd := d.Weekday(); wd != time.Saturday && wd != time.Sunday {
			f.days = append(f.days, d)
		}
	}
	f.leap = weeklyContract("SPY", time.Date(2023, 1, 20, 0, 0, 0, 0, nyc), 100, feeds.Call)
	// Late quotes: the week-1 put at 100 (listed before the period) on
	// day 100, the QQQ call on day 200.
	f.late[100] = []string{weeklyContract("SPY", f.friday(1), 100, feeds.Put).Symbol}
	f.late[200] = []string{qqqCall().Symbol}
	return f
}

// friday is week w's expiry date.
func (f *weeklyFeed) friday(w int) time.Time { return f.days[0].AddDate(0, 0, 7*w+4) }

func weeklyContract(under string, exp time.Time, strike float64, r feeds.Right) feeds.Contract {
	sym := fmt.Sprintf("%s%s%s%08d", under, exp.Format("060102"), r, int(strike*1000))
	return feeds.Contract{Symbol: sym, Underlying: under, Expiry: exp.Add(16 * time.Hour).UTC(), Strike: strike, Right: r, Multiplier: 100}
}

func qqqCall() feeds.Contract {
	return weeklyContract("QQQ", time.Date(2021, 1, 8, 0, 0, 0, 0, nyc), 300, feeds.Call)
}

func (f *weeklyFeed) Contracts() *feeds.Contracts  { return f.cs }
func (f *weeklyFeed) Close() error                 { return nil }
func (f *weeklyFeed) Quality() feeds.QualityCounts { return nil }

func (f *weeklyFeed) spot(day int) float64 { return 100 + 8*math.Sin(float64(day)/23) }

// quote is c's quote at t: intrinsic value plus a time value that decays
// to expiry, a spread of 0.10.
func (f *weeklyFeed) quote(c feeds.Contract, t time.Time, spot float64) feeds.Quote {
	id := f.cs.Intern(c)
	yrs := max(c.Expiry.Sub(t).Hours()/24/365, 0)
	tv := spot * 0.2 * math.Sqrt(yrs) * 0.4 * math.Exp(-math.Abs(spot-c.Strike)/(1+spot*0.2*math.Sqrt(yrs)))
	in, delta := max(c.Strike-spot, 0), -0.5+math.Tanh((spot-c.Strike)/5)/2
	if c.Right == feeds.Call {
		in, delta = max(spot-c.Strike, 0), 0.5+math.Tanh((spot-c.Strike)/5)/2
	}
	mid := in + tv
	return feeds.Quote{Time: t.UnixMicro(), Contract: id, Bid: max(mid-0.05, 0), Ask: mid + 0.05,
		UnderlyingPrice: spot, IV: 0.2, Delta: delta, Gamma: 0.02}
}

func (f *weeklyFeed) Next(context.Context) (*feeds.Batch, error) {
	if f.next >= len(f.days) {
		return nil, io.EOF
	}
	d := f.next
	f.next++
	day, spot := f.days[d], f.spot(d)
	w := d / 5
	f.batch.Quotes = f.batch.Quotes[:0]
	for _, hm := range [][2]int{{10, 0}, {15, 30}} {
		t := day.Add(time.Duration(hm[0])*time.Hour + time.Duration(hm[1])*time.Minute)
		if d == 25 && hm[0] == 10 { // listed in the second chunk
			f.batch.Quotes = append(f.batch.Quotes, f.quote(qqqCall(), t, 310))
		}
		for k := range 3 {
			exp := f.friday(w + k)
			for strike := 60.0; strike <= 140; strike++ {
				f.batch.Quotes = append(f.batch.Quotes, f.quote(weeklyContract("SPY", exp, strike, feeds.Put), t, spot),
					f.quote(weeklyContract("SPY", exp, strike, feeds.Call), t, spot))
			}
		}
		if hm[0] == 10 && d >= f.from && d%10 == 0 {
			f.batch.Quotes = append(f.batch.Quotes, f.quote(f.leap, t, spot))
		}
		if hm[0] == 10 {
			for _, sym := range f.late[d] {
				id, _ := f.cs.Lookup(sym)
				c := *f.cs.Get(id)
				if c.Underlying == "QQQ" {
					f.batch.Quotes = append(f.batch.Quotes, f.quote(c, t, 320))
				} else {
					f.batch.Quotes = append(f.batch.Quotes, f.quote(c, t, spot))
				}
			}
		}
	}
	return &f.batch, nil
}

// TestRetireContractsReplayAndLongHolds: a replayed log that holds a
// LEAP-like call (quoted every tenth day, marked by the model between) for
// a year and a half while weekly puts come and go, some held through
// expiry, others sold, and one row naming a contract that expired months
// before, over a feed with late quotes: the rows are the same with the
// engine's contract table retired and kept, no contract the engine reads
// was retired (the engine panics on one), and the table did retire the
// weeklies once the LEAP's trade no longer held their trades rows back.
func TestRetireContractsReplayAndLongHolds(t *testing.T) {
	f := newWeeklyFeed()
	at := func(d, h, m int) time.Time {
		return f.days[d].Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute).UTC()
	}
	put := func(w int, strike float64) string {
		return weeklyContract("SPY", f.friday(w), strike, feeds.Put).Symbol
	}
	fill := func(tm time.Time, id, sym, side string, px float64) sim.RecordedFill {
		return sim.RecordedFill{Time: tm, ExecutionID: id, Contract: sym, Side: side, Qty: 1, Price: px, Status: sim.StatusFilled}
	}
	var rows []sim.RecordedFill
	rows = append(rows,
		fill(at(f.from, 10, 0), "LEAP", f.leap.Symbol, "buy", 12),
		fill(at(450, 10, 0), "LEAP", f.leap.Symbol, "sell", 14))
	for w := 9; w < weeklyWeeks-3; w += 2 {
		sym := put(w+1, 100)
		id := fmt.Sprintf("W%d", w)
		rows = append(rows, fill(at(5*w, 10, 0), id, sym, "buy", 2))
		if w%4 == 1 { // sold on Wednesday; the others settle at expiry
			rows = append(rows, fill(at(5*w+2, 15, 30), id, sym, "sell", 1.5))
		}
	}
	// Months after its expiry, a row names the week-88 put (which the
	// engine quoted): replay looks it up by symbol.
	rows = append(rows, fill(at(530, 15, 30), "STALE", put(88, 95), "buy", 0.1))
	cfg := sim.Config{
		Start: f.days[f.from-5].UTC(), End: f.days[len(f.days)-1].AddDate(0, 0, 1).UTC(), Capital: 1e6,
		Strategy: sim.StrategyConfig{Replay: &sim.ReplayConfig{Fills: rows}},
		Broker:   sim.BrokerConfig{Latency: time.Minute, Fill: sim.FillConfig{Model: "natural"}, CommissionPerContract: 0.5},
	}
	rs := risk.Settings{}
	on := runRetiring(t, cfg, rs, newWeeklyFeed(), 1, true)
	off := runRetiring(t, cfg, rs, newWeeklyFeed(), 1, false)
	t.Logf("%d quotes, %d trades, replay %+v: %d of %d contracts retired (%d chunks), at most %d held at a day's end",
		on.res.Quotes, len(on.res.Trades), on.res.Replay, on.retired, on.listed, on.chunks, on.mostAlive)
	if on.rows != off.rows {
		t.Fatal("the rows differ with the contract table retired and kept")
	}
	byReason := map[string]int{}
	for _, tr := range on.res.Trades {
		byReason[tr.ExitReason]++
	}
	leap := on.res.Trades[0]
	if leap.ExecutionID != "LEAP" || leap.ExitReason != "recorded_exit" || byReason["expiry"] < 10 || byReason["recorded_exit"] < 10 {
		t.Fatalf("premise: trades by exit %v, first %+v", byReason, leap)
	}
	if on.res.Replay.Unquoted != 0 || on.res.Signals.Opened != int64(len(on.res.Trades)) {
		t.Fatalf("premise: replay %+v, %d opened, %d trades", on.res.Replay, on.res.Signals.Opened, len(on.res.Trades))
	}
	// The late-quoted contracts were retired with their chunks (the SPY
	// put's before its late quote), the LEAP's chunk too.
	src := newWeeklyFeed()
	for src.Next(context.Background()); src.next < len(src.days); src.Next(context.Background()) {
	}
	for _, sym := range []string{src.late[100][0], src.late[200][0], f.leap.Symbol} {
		id, ok := src.cs.Lookup(sym)
		if !ok || on.table.Get(id) != nil || off.table.Get(id) == nil {
			t.Errorf("%s (id %d, listed %v) not retired", sym, id, ok)
		}
	}
	// The weeklies retire after the LEAP's exit (day 450 of 550): two
	// thirds of the table at least.
	if on.retired*3 < on.listed*2 || on.retired != on.chunks*1024 {
		t.Fatalf("retired %d of %d contracts (%d chunks)", on.retired, on.listed, on.chunks)
	}
}
