package sim

import (
	"testing"
	"time"

	"github.com/optionsrisk/backtest/feeds"
	"github.com/optionsrisk/backtest/risk"
)

// Each exit rule fires on its own condition and names the exit; when two
// would fire, the first in ExitConfig's order wins. The short put sells at
// 10:01:30 for 1.95 (bid 2.00 less a 0.05 tick); from 11:00 on March 4 the
// market is `after` (the fill comes at 10:02, after the 90 s latency).
func TestExitRules(t *testing.T) {
	calm := func(time.Time) (float64, float64, float64) { return 2.0, 2.2, 101 }
	var afterAt func(from time.Time, bid, ask, spot float64) func(time.Time) (float64, float64, float64)
	after := func(bid, ask, spot float64) func(time.Time) (float64, float64, float64) {
		return afterAt(at(4, 11, 0, 0), bid, ask, spot)
	}
	afterAt = func(from time.Time, bid, ask, spot float64) func(time.Time) (float64, float64, float64) {
		return func(tm time.Time) (float64, float64, float64) {
			if tm.Before(from) {
				return 2.0, 2.2, 101
			}
			return bid, ask, spot
		}
	}
	for _, tc := range []struct {
		name   string
		exit   ExitConfig
		price  func(time.Time) (float64, float64, float64)
		reason string
		sent   time.Time // the exit order's time
	}{
		// Buying back at ask 0.90 keeps more than half of 1.95.
		{"profit target", ExitConfig{ProfitTargetPct: 50}, after(0.8, 0.9, 104), "profit_target", at(4, 11, 0, 0)},
		{"profit target not reached", ExitConfig{ProfitTargetPct: 60}, after(0.8, 0.9, 104), "expiry", at(6, 16, 0, 0)},
		// Buying back at ask 4.00 loses more than the 1.95 credit.
		{"loss limit", ExitConfig{LossLimit: 1}, after(3.9, 4.0, 97), "loss_limit", at(4, 11, 0, 0)},
		{"max hold", ExitConfig{MaxHold: 2 * time.Hour}, calm, "max_hold", at(4, 12, 2, 0)},
		{"time of day", ExitConfig{At: "15:00"}, calm, "time_of_day", at(4, 15, 0, 0)},
		{"condition", ExitConfig{When: "pos_pnl_pct >= 40 and minute >= 11 * 60 + 30"}, after(0.9, 1.0, 104), "condition", at(4, 11, 30, 0)},
		{"condition on the market", ExitConfig{When: "price > 103"}, after(1.9, 2.0, 104), "condition", at(4, 11, 0, 0)},
		{"dte floor before the others", ExitConfig{DTEFloor: 2, ProfitTargetPct: 10}, after(0.8, 0.9, 104), "dte_floor", at(4, 10, 2, 0)},
		// Both fire at 11:30 (held 88 minutes since 10:02): max_hold comes first.
		{"max hold before the profit target", ExitConfig{MaxHold: 88 * time.Minute, ProfitTargetPct: 50}, afterAt(at(4, 11, 30, 0), 0.8, 0.9, 104), "max_hold", at(4, 11, 30, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := baseConfig()
			cfg.Strategy.Exit = tc.exit
			res, rec, _ := runScripted(t, cfg, oneContract(tc.price), risk.Settings{})
			if len(res.Trades) != 1 || res.Trades[0].ExitReason != tc.reason {
				t.Fatalf("trades %+v, want one closed by %s", res.Trades, tc.reason)
			}
			var exit *Fill
			for i := range rec.Fills {
				if rec.Fills[i].Intent == "exit" {
					exit = &rec.Fills[i]
				}
			}
			if exit == nil || !feeds.MicrosTime(exit.OrderTime).Equal(tc.sent.UTC()) {
				t.Fatalf("exit %+v, want one sent at %s", exit, tc.sent)
			}
			if tc.reason != "expiry" && exit.Reason != tc.reason {
				t.Errorf("exit fill reason %q, want %q", exit.Reason, tc.reason)
			}
		})
	}
}

// A false entry condition is its own signal outcome; the condition sees
// the book (open_positions) and the clock.
func TestEntryCondition(t *testing.T) {
	cfg := baseConfig()
	cfg.Strategy.Entry.Times = nil
	cfg.Strategy.Entry.Every = 30 * time.Minute
	cfg.Strategy.Entry.When = "open_positions < 2 and minute >= 600 and weekday == 1"
	res, _, _ := runScripted(t, cfg, oneContract(nil), risk.Settings{})
	s := res.Signals
	// March 4 (a Monday): 13 signals 09:30–15:30; 09:30 (waits for no quote:
	// the feed quotes then) and 10:00 … open while fewer than 2 are open.
	if s.Opened != 2 || s.Condition != s.Total-2 || s.Total == 0 {
		t.Fatalf("signals %+v: want 2 opened and the rest refused by the condition", s)
	}
}
