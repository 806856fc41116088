package reports

import (
	"math"
	"time"

	"gonum.org/v1/gonum/stat"
)

// tradingDays annualises daily Sharpe and Sortino ratios.
const tradingDays = 252

// DayPnL is one trading day's close.
type DayPnL struct {
	Date   string  // YYYY-MM-DD in the session's zone
	Equity float64 // last snapshot of the day
	PnL    float64 // change from the previous day's close (the capital on day one)
	Return float64 // PnL / previous close
}

// Daily groups equity snapshots by local date: the last snapshot of each
// day closes it.
func Daily(points []EquityPoint, capital float64, loc *time.Location) []DayPnL {
	var days []DayPnL
	prev := capital
	for i, p := range points {
		d := p.Time.In(loc).Format(time.DateOnly)
		if i+1 < len(points) && points[i+1].Time.In(loc).Format(time.DateOnly) == d {
			continue
		}
		day := DayPnL{Date: d, Equity: p.Equity, PnL: p.Equity - prev}
		if prev != 0 {
			day.Return = day.PnL / prev
		}
		days = append(days, day)
		prev = p.Equity
	}
	return days
}

// Sharpe is the annualised Sharpe ratio of daily returns (risk-free rate 0,
// sample standard deviation); NaN with fewer than two days or no variance.
func Sharpe(rets []float64) float64 {
	if len(rets) < 2 {
		return math.NaN()
	}
	mean, sd := stat.MeanStdDev(rets, nil)
	if sd == 0 {
		return math.NaN()
	}
	return mean / sd * math.Sqrt(tradingDays)
}

// Sortino is the annualised Sortino ratio: mean daily return over the
// downside deviation (root mean square of the negative returns, over all
// days); NaN with fewer than two days or no losing day.
func Sortino(rets []float64) float64 {
	if len(rets) < 2 {
		return math.NaN()
	}
	var ss float64
	for _, r := range rets {
		if r < 0 {
			ss += r * r
		}
	}
	if ss == 0 {
		return math.NaN()
	}
	return stat.Mean(rets, nil) / math.Sqrt(ss/float64(len(rets))) * math.Sqrt(tradingDays)
}

// Drawdown describes the worst fall of equity from a running peak (the
// capital counts as the first peak).
type Drawdown struct {
	MaxPct     float64       // largest (peak − equity) / peak, as a fraction
	MaxDollars float64       // largest peak − equity
	Longest    time.Duration // longest time below a peak (to recovery, or the last snapshot)
}

// MaxDrawdown measures drawdowns over the equity snapshots.
func MaxDrawdown(points []EquityPoint, capital float64) Drawdown {
	var d Drawdown
	peak := capital
	var below time.Time // when equity first fell below the current peak
	for _, p := range points {
		if p.Equity >= peak {
			if !below.IsZero() {
				d.Longest = max(d.Longest, p.Time.Sub(below))
				below = time.Time{}
			}
			peak = p.Equity
			continue
		}
		if below.IsZero() {
			below = p.Time
		}
		d.MaxDollars = max(d.MaxDollars, peak-p.Equity)
		if peak > 0 {
			d.MaxPct = max(d.MaxPct, (peak-p.Equity)/peak)
		}
	}
	if !below.IsZero() && len(points) > 0 {
		d.Longest = max(d.Longest, points[len(points)-1].Time.Sub(below))
	}
	return d
}

// Trade is a position from its fills: an entry and, when closed, an exit
// (an order or a settlement at expiry).
type Trade struct {
	ExecutionID string
	Contract    string
	Short       bool
	Qty         int64
	Entry, Exit time.Time // Exit zero while open
	EntryPrice  float64
	ExitPrice   float64 // NaN while open
	ExitReason  string
	PnL         float64 // cash flows of the closed trade, commissions included
}

// Closed reports whether the trade has an exit.
func (t *Trade) Closed() bool { return !t.Exit.IsZero() }

// Trades pairs entry and exit fills by execution id, in entry order.
func Trades(fills []Fill) []Trade {
	n := 0 // entries: the trades, allocated once (a long run has tens of thousands)
	for i := range fills {
		if f := &fills[i]; f.Intent == "entry" && (f.Status == "filled" || f.Status == "settled") {
			n++
		}
	}
	idx := make(map[string]int, n)
	out := make([]Trade, 0, n)
	for _, f := range fills {
		filled := f.Status == "filled" || f.Status == "settled"
		if !filled {
			continue
		}
		cash := f.Price * float64(f.Qty) * f.Multiplier
		if f.Side == "buy" {
			cash = -cash
		}
		if !math.IsNaN(f.Commission) {
			cash -= f.Commission
		}
		switch f.Intent {
		case "entry":
			idx[f.ExecutionID] = len(out)
			out = append(out, Trade{
				ExecutionID: f.ExecutionID, Contract: f.Contract, Short: f.Side == "sell", Qty: f.Qty,
				Entry: f.FillTime, EntryPrice: f.Price, ExitPrice: math.NaN(), PnL: cash,
			})
		case "exit":
			i, ok := idx[f.ExecutionID]
			if !ok || out[i].Closed() {
				continue
			}
			t := &out[i]
			t.Exit, t.ExitPrice, t.PnL = f.FillTime, f.Price, t.PnL+cash
			t.ExitReason = f.Reason
			if f.Status == "settled" {
				t.ExitReason = "expiry"
			}
		}
	}
	return out
}

// TradeStats summarises closed trades.
type TradeStats struct {
	Closed, Open, Wins, Losses int64
	WinRate                    float64 // wins / closed; NaN with none closed
	ProfitFactor               float64 // gross wins / gross losses; NaN with no loss
	AvgWin, AvgLoss            float64 // NaN when none
	GrossWin, GrossLoss        float64
}

// Stats computes TradeStats; sums run in trade order.
func Stats(trades []Trade) TradeStats {
	var s TradeStats
	for _, t := range trades {
		if !t.Closed() {
			s.Open++
			continue
		}
		s.Closed++
		switch {
		case t.PnL > 0:
			s.Wins++
			s.GrossWin += t.PnL
		case t.PnL < 0:
			s.Losses++
			s.GrossLoss += -t.PnL
		}
	}
	s.WinRate, s.ProfitFactor, s.AvgWin, s.AvgLoss = math.NaN(), math.NaN(), math.NaN(), math.NaN()
	if s.Closed > 0 {
		s.WinRate = float64(s.Wins) / float64(s.Closed)
	}
	if s.GrossLoss > 0 {
		s.ProfitFactor = s.GrossWin / s.GrossLoss
	}
	if s.Wins > 0 {
		s.AvgWin = s.GrossWin / float64(s.Wins)
	}
	if s.Losses > 0 {
		s.AvgLoss = -s.GrossLoss / float64(s.Losses)
	}
	return s
}

// GiveBack is how much of the best premium a stopped position gave back by
// its exit fill, in % of the best premium: a short position gives back when
// it buys back above its best (lowest) premium, a long one when it sells
// below its best (highest).
func GiveBack(best, fill float64, short bool) float64 {
	if best <= 0 {
		return math.NaN()
	}
	if short {
		return (fill - best) / best * 100
	}
	return (best - fill) / best * 100
}

// StopSlippage is the exit fill's distance beyond the stop level, per
// share, against the position: positive is worse than the level.
func StopSlippage(level, fill float64, short bool) float64 {
	if short {
		return fill - level
	}
	return level - fill
}

// meanOf is the mean of xs, NaN when empty.
func meanOf(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	return stat.Mean(xs, nil)
}

// exposureTime is the share of snapshots with an open position.
func exposureTime(points []EquityPoint) float64 {
	if len(points) == 0 {
		return math.NaN()
	}
	n := 0
	for _, p := range points {
		if p.Open > 0 {
			n++
		}
	}
	return float64(n) / float64(len(points))
}

// costs is what trading cost the run, in dollars: commissions, and the
// distance of every fill from the net mid of its legs' quotes at that
// instant (crossing the spread, slippage included). Settlements at expiry
// cost nothing. Fills without a recorded mid (older runs) count in
// unpriced_fills.
func costs(fills []Fill) Object {
	var comm, cross float64
	var unpriced int64
	for _, f := range fills {
		if f.Status != "filled" {
			continue
		}
		if !math.IsNaN(f.Commission) {
			comm += f.Commission
		}
		if math.IsNaN(f.Mid) || math.IsNaN(f.Price) {
			unpriced++
			continue
		}
		cross += math.Abs(f.Price-f.Mid) * float64(f.Qty) * f.Multiplier
	}
	return Object{"commissions": comm, "spread_crossing": cross, "total": comm + cross, "unpriced_fills": unpriced}
}
