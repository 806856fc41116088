package sim

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/optionsrisk/backtest/feeds"
	"github.com/optionsrisk/backtest/risk"
)

// chainFeed quotes contracts every 5 minutes 09:30–16:00 on the March 2024
// days given; quote says, for contract k at t, whether it quotes and how.
func chainFeed(cs []feeds.Contract, days []int, quote func(k int, t time.Time) (feeds.Quote, bool)) *scripted {
	return instantFeed(cs, sessionTimes(days), quote)
}

func put(strike float64, expDay int) feeds.Contract {
	return feeds.Contract{Symbol: occ(strike, expDay, "P"), Underlying: "SPY", Expiry: at(expDay, 16, 0, 0).UTC(), Strike: strike, Right: feeds.Put, Multiplier: 100}
}

func call(strike float64, expDay int) feeds.Contract {
	return feeds.Contract{Symbol: occ(strike, expDay, "C"), Underlying: "SPY", Expiry: at(expDay, 16, 0, 0).UTC(), Strike: strike, Right: feeds.Call, Multiplier: 100}
}

func occ(strike float64, expDay int, r string) string {
	right := feeds.Put
	if r == "C" {
		right = feeds.Call
	}
	s, err := feeds.OCCSymbol("SPY", at(expDay, 16, 0, 0), right, strike)
	if err != nil {
		panic(err)
	}
	return s
}

// A short put vertical whose wing stops quoting after a crash: the wing is
// marked by the model (flagged in equity), the vertical's value stays
// inside [−width, 0], the stop still fires, the exit meets no market once
// (no breaker failure) and fills when the wing quotes again, at a net price
// no worse than the width.
func TestStaleWingModelMarkedAndExitWaitsForMarket(t *testing.T) {
	crash := at(5, 10, 0, 0)
	back := at(6, 10, 0, 0)
	src := chainFeed([]feeds.Contract{put(100, 15), put(95, 15), call(110, 15)}, []int{4, 5, 6, 7}, func(k int, tm time.Time) (feeds.Quote, bool) {
		calm := tm.Before(crash)
		spot := 101.0
		if !calm {
			spot = 90
		}
		switch k {
		case 0: // the short 100 put: quoted throughout, absurdly wide after the crash
			if calm {
				return feeds.Quote{Bid: 1.0, Ask: 1.1, UnderlyingPrice: spot, IV: 0.2, Delta: -0.30, Gamma: 0.05}, true
			}
			return feeds.Quote{Bid: 9, Ask: 16, UnderlyingPrice: spot, IV: 0.9, Delta: -0.9, Gamma: 0.01}, true
		case 1: // the long 95 wing: no quote between the crash and March 6 10:00
			if calm {
				return feeds.Quote{Bid: 0.4, Ask: 0.5, UnderlyingPrice: spot, IV: 0.22, Delta: -0.15, Gamma: 0.03}, true
			}
			if tm.Before(back) {
				return feeds.Quote{}, false
			}
			return feeds.Quote{Bid: 5.5, Ask: 6.0, UnderlyingPrice: spot, IV: 0.5, Delta: -0.7, Gamma: 0.02}, true
		}
		return feeds.Quote{Bid: 0.1, Ask: 0.2, UnderlyingPrice: spot, IV: 0.2, Delta: 0.05, Gamma: 0.01}, true
	})
	cfg := baseConfig()
	cfg.End = at(8, 0, 0, 0)
	// Every contract quotes at every instant here, so a leg that missed
	// the latest instant is stale at once.
	cfg.Broker.Marks.StaleAfter = time.Minute
	cfg.Strategy.Entry = EntryConfig{Times: []time.Time{at(4, 10, 0, 0)}, Right: "put", Side: "short", SpreadWidth: 5, DTE: [2]int{0, 30}, Qty: 2, MaxOpen: 5}
	one := time.Duration(0)
	rs := risk.Settings{TrailingStop: risk.StopSettings{StopLossPct: 100}, CircuitBreaker: risk.BreakerSettings{FailureThreshold: 1, FailureWindow: &one}}
	res, rec, events := runScripted(t, cfg, src, rs)

	// Entry: natural credit 1.0 − 0.5 less a 0.05 tick per leg = 0.40.
	if len(res.Trades) != 1 {
		t.Fatalf("trades %+v", res.Trades)
	}
	tr := res.Trades[0]
	if tr.Structure != "vertical" || tr.Width != 5 || len(tr.Legs) != 2 || tr.Legs[0].Qty != -1 || tr.Legs[1].Qty != 1 ||
		tr.Legs[1].Strike != 95 || !almost(tr.EntryPremium, 0.40) || !almost(tr.MaxLoss, (5-0.40)*200) || tr.Multiplier != 100 {
		t.Fatalf("trade %+v, want a 100/95 short vertical, credit 0.40, max loss 920", tr)
	}
	// Marks while the wing is stale: one model-marked leg, value in bounds.
	stale := 0
	for _, p := range rec.Points {
		tm := feeds.MicrosTime(p.Time)
		if !tm.Before(crash) && tm.Before(back) && p.OpenPositions == 1 {
			stale++
			if p.ModelMarks != 1 {
				t.Fatalf("at %s %d model marks, want 1 (the wing)", tm.In(ny), p.ModelMarks)
			}
			value := p.Equity - p.Cash
			if value > 1e-9 || value < -5*200-1e-9 {
				t.Fatalf("at %s the short vertical is worth %.2f, outside [−1000, 0]", tm.In(ny), value)
			}
		}
	}
	if stale == 0 {
		t.Fatal("no equity snapshot while the wing was stale")
	}
	// Exit: one no_market row, then filled once the wing quotes, at most 5.
	var noMarket, exits int
	for _, f := range rec.Fills {
		if f.Intent != "exit" {
			continue
		}
		switch f.Status {
		case StatusNoMarket:
			noMarket++
			if !feeds.MicrosTime(f.OrderTime).Equal(crash.UTC()) {
				t.Errorf("no_market at %s, want the crash instant (the position is monitored though its wing is silent)", feeds.MicrosTime(f.OrderTime).In(ny))
			}
		case StatusFilled:
			exits++
			if f.FillPrice > 5+1e-9 || feeds.MicrosTime(f.FillTime).Before(back.UTC()) {
				t.Errorf("exit filled at %.4f at %s, want <= width 5 after the wing quotes again", f.FillPrice, feeds.MicrosTime(f.FillTime).In(ny))
			}
		default:
			t.Errorf("exit row %s: %s", f.Status, f.Reason)
		}
	}
	if noMarket != 1 || exits != 1 || tr.ExitReason != "stop_loss" {
		t.Fatalf("%d no_market rows, %d filled exits, exit reason %q; want 1, 1, stop_loss", noMarket, exits, tr.ExitReason)
	}
	if comm := 4 * 0.5 * 2.0; tr.PnL < -(tr.MaxLoss + comm + 1e-9) {
		t.Fatalf("P&L %.2f beyond max loss %.2f plus commissions", tr.PnL, tr.MaxLoss)
	}
	for _, e := range events {
		if e.Type == risk.EventFailure {
			t.Fatalf("breaker failure %s at %s: no market is not a broker failure", e.Reason, e.Time.In(ny))
		}
	}
}

// A single put that stops quoting is still monitored on every move of its
// underlying: dte_floor fires on schedule, the exit waits for the market,
// and the equity marks the put by the model at the new spot (not at its
// last quote).
func TestDTEFloorFiresOnSilentLeg(t *testing.T) {
	src := chainFeed([]feeds.Contract{put(100, 8), call(110, 15)}, []int{4, 5, 6, 7, 8}, func(k int, tm time.Time) (feeds.Quote, bool) {
		spot := 101.0
		if tm.Day() >= 5 {
			spot = 95
		}
		if k == 0 {
			if tm.Day() == 4 || tm.Day() == 7 && tm.Hour() >= 12 {
				return feeds.Quote{Bid: 1.0 + 100 - math.Min(spot, 100) - 1, Ask: 1.1 + 100 - math.Min(spot, 100), UnderlyingPrice: spot, IV: 0.2, Delta: -0.3, Gamma: 0.05}, true
			}
			return feeds.Quote{}, false
		}
		return feeds.Quote{Bid: 0.1, Ask: 0.2, UnderlyingPrice: spot, IV: 0.2, Delta: 0.05, Gamma: 0.01}, true
	})
	cfg := baseConfig()
	cfg.End = at(9, 0, 0, 0)
	cfg.Strategy.Entry.Times = []time.Time{at(4, 10, 0, 0)}
	cfg.Strategy.Exit.DTEFloor = 2
	res, rec, _ := runScripted(t, cfg, src, risk.Settings{})
	var rows []string
	for _, f := range rec.Fills {
		if f.Intent == "exit" {
			rows = append(rows, f.Status+"@"+feeds.MicrosTime(f.OrderTime).In(ny).Format("01-02 15:04"))
		}
	}
	want := []string{StatusNoMarket + "@03-06 09:30", StatusFilled + "@03-07 12:00"}
	if len(rows) != 2 || rows[0] != want[0] || rows[1] != want[1] {
		t.Fatalf("exit rows %v, want %v", rows, want)
	}
	if len(res.Trades) != 1 || res.Trades[0].ExitReason != "dte_floor" {
		t.Fatalf("trades %+v, want closed by dte_floor", res.Trades)
	}
	// On March 5 the put (last quoted 1.05 at spot 101) is marked at spot 95:
	// at least its intrinsic value 5, and model-marked.
	for _, p := range rec.Points {
		if tm := feeds.MicrosTime(p.Time).In(ny); tm.Day() == 5 && tm.Hour() == 12 && tm.Minute() == 0 {
			if p.ModelMarks != 1 || p.Equity-p.Cash > -5*200+1e-9 {
				t.Fatalf("March 5 12:00: %d model marks, short put valued %.2f; want 1 and at most −1000", p.ModelMarks, p.Equity-p.Cash)
			}
			if p.Delta < 150 {
				t.Fatalf("delta %.2f, want the share equivalents of 2 deep in-the-money short puts (about +200)", p.Delta)
			}
			return
		}
	}
	t.Fatal("no equity snapshot at March 5 12:00")
}

// The fill model: one net price for the structure, between mid and the
// natural side, inside the structure's bounds, slippage on top.
func TestFillModel(t *testing.T) {
	type legQ struct{ bid, ask float64 }
	for _, tc := range []struct {
		name     string
		model    FillConfig
		slip     SlippageConfig
		main     legQ
		wing     *legQ // nil: a single put
		long     bool
		exit     bool
		want     float64
		wantSlip float64
	}{
		{"natural sell single", FillConfig{Model: "natural"}, SlippageConfig{}, legQ{2, 2.2}, nil, false, false, 2.0, 0},
		{"mid sell single", FillConfig{Model: "mid"}, SlippageConfig{}, legQ{2, 2.2}, nil, false, false, 2.1, 0},
		{"default: mid_plus 0.5", FillConfig{}, SlippageConfig{}, legQ{2, 2.2}, nil, false, false, 2.05, 0},
		{"mid_plus buy back a single", FillConfig{Model: "mid_plus", Fraction: 0.25}, SlippageConfig{}, legQ{2, 2.2}, nil, false, true, 2.125, 0},
		{"ticks on top", FillConfig{Model: "mid"}, SlippageConfig{Model: "ticks", Ticks: 1}, legQ{2, 2.2}, nil, false, false, 2.09, 0.01},
		{"sell vertical at mid_plus", FillConfig{Model: "mid_plus", Fraction: 0.5}, SlippageConfig{}, legQ{1, 1.1}, &legQ{0.4, 0.5}, false, false, 0.6 - 0.05, 0},
		{"buy back vertical beyond its width", FillConfig{Model: "natural"}, SlippageConfig{}, legQ{9, 16}, &legQ{0.5, 1}, false, true, 5, 0},
		{"sell vertical below zero", FillConfig{Model: "natural"}, SlippageConfig{Model: "ticks", Ticks: 2}, legQ{0.05, 0.1}, &legQ{0.05, 0.2}, false, false, 0, 0},
		{"buy long vertical", FillConfig{Model: "mid_plus", Fraction: 1}, SlippageConfig{}, legQ{1, 1.1}, &legQ{0.4, 0.5}, true, false, 0.7, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{Start: at(4, 0, 0, 0), End: at(7, 0, 0, 0), Broker: BrokerConfig{Fill: tc.model, Slippage: tc.slip}}
			e := engineFor(t, cfg)
			cs := e.pf.contracts
			m := cs.Intern(put(100, 15))
			sign := -1.0
			if tc.long {
				sign = 1
			}
			legs := []leg{{id: m, ratio: sign}}
			e.now = at(4, 10, 0, 0).UnixMicro()
			e.pf.mark(&feeds.Quote{Time: e.now, Contract: m, Bid: tc.main.bid, Ask: tc.main.ask, UnderlyingPrice: 99})
			if tc.wing != nil {
				w := cs.Intern(put(95, 15))
				legs = append(legs, leg{id: w, ratio: -sign})
				e.pf.mark(&feeds.Quote{Time: e.now, Contract: w, Bid: tc.wing.bid, Ask: tc.wing.ask, UnderlyingPrice: 99})
			}
			pos := e.newPosition("E1", "test", tc.long, 1, legs)
			got, slip := e.fillPrice(pos, pos.Long != tc.exit)
			if !almost(got, tc.want) || !almost(slip, tc.wantSlip) {
				t.Fatalf("fill %.4f slippage %.4f, want %.4f and %.4f", got, slip, tc.want, tc.wantSlip)
			}
		})
	}
}

// Greeks are share equivalents and position values follow the documented
// basis: debit paid, a short vertical's maximum loss, a naked short's
// margin-like notional.
func TestUnitsAndRiskValue(t *testing.T) {
	e := engineFor(t, Config{Start: at(4, 0, 0, 0), End: at(7, 0, 0, 0)})
	cs := e.pf.contracts
	m, w := cs.Intern(put(100, 15)), cs.Intern(put(95, 15))
	e.now = at(4, 10, 0, 0).UnixMicro()
	e.pf.mark(&feeds.Quote{Time: e.now, Contract: m, Bid: 2, Ask: 2.2, UnderlyingPrice: 102, Delta: -0.3, Gamma: 0.05})
	e.pf.mark(&feeds.Quote{Time: e.now, Contract: w, Bid: 0.9, Ask: 1.1, UnderlyingPrice: 102, Delta: -0.1, Gamma: 0.03})
	vertical := e.newPosition("V", StructVertical, false, 2, []leg{{id: m, ratio: -1}, {id: w, ratio: 1}})
	vertical.EntryPremium = 1.2
	naked := e.newPosition("N", StructSingle, false, 3, []leg{{id: m, ratio: -1}})
	naked.EntryPremium = 2
	long := e.newPosition("L", StructSingle, true, 1, []leg{{id: m, ratio: 1}})
	long.EntryPremium = 2.2
	for _, tc := range []struct {
		name                       string
		pos                        *Position
		delta, gamma, value, maxLo float64
	}{
		// −2 × 100 × −0.3 + 2 × 100 × −0.1 = 40 shares.
		{"short vertical", vertical, 40, -4, (5 - 1.2) * 200, (5 - 1.2) * 200},
		// mark 2.1 + max(20 % × 102 − 2 OTM, 10 % × 100) = 2.1 + 18.4, × 300.
		{"naked short put", naked, 90, -15, (2.1 + 18.4) * 300, (100 - 2) * 300},
		{"long put", long, -30, 5, 220, 220},
	} {
		d, g := e.greeks(tc.pos)
		v := e.riskValue(tc.pos, tc.pos.EntryPremium)
		if !almost(d, tc.delta) || !almost(g, tc.gamma) || !almost(v, tc.value) || !almost(e.maxLoss(tc.pos), tc.maxLo) {
			t.Errorf("%s: delta %g gamma %g value %g max loss %g; want %g %g %g %g", tc.name, d, g, v, e.maxLoss(tc.pos), tc.delta, tc.gamma, tc.value, tc.maxLo)
		}
	}
}

// A signal that finds no contract names the first filter nothing passed.
func TestNoContractNamesTheFilter(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(*EntryConfig)
		wantq string
	}{
		{"underlying", func(e *EntryConfig) { e.Underlying = "QQQ" }, "underlying"},
		{"right", func(e *EntryConfig) { e.Right = "call" }, "right"},
		{"dte", func(e *EntryConfig) { e.DTE = [2]int{30, 60} }, "dte"},
		{"wing", func(e *EntryConfig) { e.SpreadWidth = 7 }, "wing"},
	} {
		cfg := baseConfig()
		tc.edit(&cfg.Strategy.Entry)
		res, _, _ := runScripted(t, cfg, oneContract(nil), risk.Settings{})
		if s := res.Signals; s.Total != 1 || s.NoContract != 1 || s.NoContractBy[tc.wantq] != 1 {
			t.Errorf("%s: signals %+v, want one no-contract signal by %q", tc.name, s, tc.wantq)
		}
	}
}

// The new broker and entry knobs refuse nonsense, naming the field.
func TestFidelityConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(*Config)
		field string // "" = valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"closed market", func(c *Config) { c.Broker.ClosedMarket = "queue" }, "broker.closed_market"},
		{"fill model", func(c *Config) { c.Broker.Fill.Model = "vwap" }, "broker.fill.model"},
		{"fraction without mid_plus", func(c *Config) { c.Broker.Fill = FillConfig{Model: "mid", Fraction: 0.3} }, "broker.fill.fraction"},
		{"fraction above 1", func(c *Config) { c.Broker.Fill = FillConfig{Model: "mid_plus", Fraction: 1.5} }, "broker.fill.fraction"},
		{"mid_plus", func(c *Config) { c.Broker.Fill = FillConfig{Model: "mid_plus", Fraction: 0.3} }, ""},
		{"stale_after", func(c *Config) { c.Broker.Marks.StaleAfter = -time.Minute }, "broker.marks"},
		{"short limit", func(c *Config) { c.Strategy.Entry.Limit = &EntryLimit{MinCredit: 0.5} }, ""},
		{"short with max_debit", func(c *Config) { c.Strategy.Entry.Limit = &EntryLimit{MaxDebit: 0.5} }, "strategy.entry.limit"},
		{"long with min_credit", func(c *Config) {
			c.Strategy.Entry.Side = "long"
			c.Strategy.Entry.Limit = &EntryLimit{MinCredit: 0.5}
		}, "strategy.entry.limit"},
	} {
		cfg := baseConfig()
		tc.edit(&cfg)
		err := cfg.Validate()
		var fe *FieldError
		switch {
		case tc.field == "" && err != nil:
			t.Errorf("%s: %v, want valid", tc.name, err)
		case tc.field != "" && (!errors.As(err, &fe) || fe.Field != tc.field):
			t.Errorf("%s: %v, want an error on %s", tc.name, err, tc.field)
		}
	}
}

// An entry with a limit works until the market meets it, then fills at the
// fill model's price (never worse than the limit).
func TestEntryLimitFillsWhenMet(t *testing.T) {
	src := oneContract(func(tm time.Time) (float64, float64, float64) {
		if tm.Before(at(4, 10, 10, 0)) {
			return 2.0, 2.2, 101 // natural credit 2.00 − a 0.05 tick = 1.95 < 2.05
		}
		return 2.2, 2.3, 100
	})
	cfg := baseConfig()
	cfg.Strategy.Entry.Limit = &EntryLimit{MinCredit: 2.05}
	res, rec, _ := runScripted(t, cfg, src, risk.Settings{})
	f := rec.Fills[0]
	if f.Status != StatusFilled || !feeds.MicrosTime(f.FillTime).Equal(at(4, 10, 10, 0).UTC()) || !almost(f.FillPrice, 2.15) || res.Signals.Opened != 1 {
		t.Fatalf("fill %+v, want filled at 10:10 at 2.15 once the bid meets the limit", f)
	}
}
