package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/optionsrisk/backtest/feeds"
)

// The worked examples in scenarios/examples run on small samples written here in the vendors'
// layouts (never vendor data in the repository).

var ny, _ = time.LoadLocation("America/New_York")

// spot is a deterministic SPX path: a gentle drift with a wiggle.
func spot(t time.Time) float64 {
	d := t.Sub(time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)).Hours() / 24
	return 3250 + 2*d + 20*math.Sin(d/3)
}

type sampleOpt struct {
	root   string
	expiry time.Time // the day
	strike float64
	right  feeds.Right
}

func (o sampleOpt) price(at time.Time, S float64) (feeds.Greeks, float64) {
	T := feeds.ExpiryAt(o.expiry.Date()).Sub(at).Hours() / 24 / 365
	sigma := 0.16 + 0.5*math.Max(0, (S-o.strike)/S) // a put skew
	p := feeds.BlackScholes(S, o.strike, 0, 0, sigma, T)
	if o.right == feeds.Put {
		return p.Put, sigma
	}
	return p.Call, sigma
}

// chain lists SPX options expiring after day: SPXW Fridays and the SPX third-Friday monthly.
func chain(day time.Time, expiries []time.Time, strikes []float64) []sampleOpt {
	var out []sampleOpt
	for _, e := range expiries {
		if !e.After(day) {
			continue
		}
		roots := []string{"SPXW"}
		if e.Day() >= 15 && e.Day() <= 21 {
			roots = append(roots, "SPX")
		}
		for _, r := range roots {
			for _, k := range strikes {
				out = append(out, sampleOpt{r, e, k, feeds.Put}, sampleOpt{r, e, k, feeds.Call})
			}
		}
	}
	return out
}

func strikes(lo, hi, step float64) []float64 {
	var out []float64
	for k := lo; k <= hi; k += step {
		out = append(out, k)
	}
	return out
}

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// writeDeltaNeutral writes one DeltaNeutral CSV per trading day of February 2020 (the 17th,
// Presidents' Day, is a holiday: no file).
func writeDeltaNeutral(t *testing.T, dir string) {
	exps := []time.Time{date(2020, 2, 7), date(2020, 2, 14), date(2020, 2, 21), date(2020, 2, 28), date(2020, 3, 6), date(2020, 3, 13), date(2020, 3, 20)}
	for d := date(2020, 2, 3); d.Month() == 2; d = d.AddDate(0, 0, 1) {
		if d.Weekday() == time.Saturday || d.Weekday() == time.Sunday || d.Day() == 17 {
			continue
		}
		at := feeds.ExpiryAt(d.Date())
		S := spot(at)
		var b strings.Builder
		b.WriteString("underlying,underlying_last, exchange,optionroot,optionext,type,expiration,quotedate,strike,last,bid,ask,volume,openinterest,impliedvol,delta,gamma,theta,vega,optionalias\n")
		for _, o := range chain(d, exps, strikes(2900, 3500, 25)) {
			g, sigma := o.price(at, S)
			bid, ask := math.Round(g.Price*0.97*100)/100, math.Round((g.Price*1.03+0.05)*100)/100
			sym, _ := feeds.OCCSymbol(o.root, feeds.ExpiryAt(o.expiry.Date()), o.right, o.strike)
			typ := "put"
			if o.right == feeds.Call {
				typ = "call"
			}
			// The vendor's units: vega per 1.00 of vol, theta per year.
			fmt.Fprintf(&b, "SPX,%.2f,*,%s,,%s,%s,%s,%v,%.2f,%.2f,%.2f,10,100,%.4f,%.4f,%.6f,%.4f,%.4f,%s\n",
				S, sym, typ, o.expiry.Format("01/02/2006"), d.Format("01/02/2006"), o.strike, g.Price, bid, ask, sigma, g.Delta, g.Gamma, g.Theta, g.Vega, sym)
		}
		if err := os.WriteFile(filepath.Join(dir, d.Format("2006-01-02")+".csv"), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// writeCboe writes Cboe one-minute interval files (the plain quotes product: no greek
// columns) for 2020-03-02 and 03-03.
func writeCboe(t *testing.T, dir string) {
	exps := []time.Time{date(2020, 3, 6), date(2020, 3, 13), date(2020, 3, 20)}
	for _, d := range []time.Time{date(2020, 3, 2), date(2020, 3, 3)} {
		var b strings.Builder
		b.WriteString("underlying_symbol,quote_datetime,root,expiration,strike,option_type,open,high,low,close,trade_volume,bid_size,bid,ask_size,ask,underlying_bid,underlying_ask\n")
		opts := chain(d, exps, strikes(3000, 3350, 25))
		for m := 1; m <= 390; m++ {
			wall := time.Date(d.Year(), d.Month(), d.Day(), 9, 30+m, 0, 0, ny)
			S := spot(wall)
			for _, o := range opts {
				if o.right != feeds.Put {
					continue
				}
				g, _ := o.price(wall, S)
				bid, ask := math.Round(g.Price*0.98*100)/100, math.Round((g.Price*1.02+0.05)*100)/100
				fmt.Fprintf(&b, "^SPX,%s,%s,%s,%.3f,P,0,0,0,0,0,10,%.2f,10,%.2f,%.2f,%.2f\n",
					wall.Format("2006-01-02 15:04:05"), o.root, o.expiry.Format("2006-01-02"), o.strike, bid, ask, S-0.1, S+0.1)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, "UnderlyingOptionsIntervals_60sec_"+d.Format("2006-01-02")+".csv"), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestExamples(t *testing.T) {
	for _, c := range []struct {
		scenario string
		write    func(*testing.T, string)
		glob     string
		// fills: the end-of-day example does not fill yet (an order waits for a later quote
		// of its legs, the next day's, past the order timeout): the simulator's end-of-day
		// fills are another piece of work. Until then it checks quotes and orders.
		fills bool
	}{
		{"../../scenarios/examples/eod_deltaneutral.yaml", writeDeltaNeutral, "*.csv", false},
		{"../../scenarios/examples/minute_cboe.yaml", writeCboe, "*.csv", true},
	} {
		t.Run(filepath.Base(c.scenario), func(t *testing.T) {
			dir := t.TempDir()
			c.write(t, dir)
			set := "feed.file.path=" + filepath.Join(dir, c.glob)
			if code, stdout, stderr := cli(t, "validate", c.scenario, "--set", set); code != 0 || !strings.Contains(stdout, "feed: ok") {
				t.Fatalf("validate: exit %d %s %s", code, stdout, stderr)
			}
			code, stdout, stderr := cli(t, "run", c.scenario, "--set", set, "--out", filepath.Join(dir, "runs"), "--json", "-q")
			if code != 0 {
				t.Fatalf("run: exit %d: %s", code, stderr)
			}
			var j runJSON
			if err := json.Unmarshal([]byte(stdout), &j); err != nil {
				t.Fatal(err)
			}
			t.Logf("quotes %d orders %d filled %d trades %d quality %v", j.Quotes, j.Orders, j.Filled, j.Trades, j.Quality)
			if j.Quotes == 0 || j.Orders == 0 || (c.fills && (j.Filled == 0 || j.Trades == 0)) {
				t.Errorf("no activity: %+v", j)
			}
			if j.Quality["zero_bid"] == 0 || len(j.Quality) != 1 {
				t.Errorf("data quality %v: want only zero bids (far strikes) skipped", j.Quality)
			}
		})
	}
}
