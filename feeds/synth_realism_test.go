package feeds

import (
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
)

// spyCrashConfig is the synthetic section of the built-in spy_crash scenario.
func spyCrashConfig(t testing.TB) SyntheticConfig {
	t.Helper()
	b, err := os.ReadFile("../scenarios/spy_crash.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Feed struct {
			Synthetic SyntheticConfig `yaml:"synthetic"`
		} `yaml:"feed"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	cfg := doc.Feed.Synthetic
	if len(cfg.Days) < 30 || cfg.Underlying != "SPY" {
		t.Fatalf("spy_crash synthetic section not read: %d days", len(cfg.Days))
	}
	return cfg
}

// chainAt is one quote time's chain, by expiry, right and strike.
type chainLeg struct {
	q *Quote
	c *Contract
}

// TestSpyCrashChainRealism checks the generated spy_crash chain against what real SPY chains
// (and the no-arbitrage rules) never show: expiries on weekends or holidays, bids more than a
// tick below intrinsic value, adjacent verticals buyable above their width, quotes off the
// penny grid; and that a strike listed once keeps quoting until its expiry.
func TestSpyCrashChainRealism(t *testing.T) {
	if testing.Short() {
		t.Skip("generates the whole spy_crash chain")
	}
	cfg := spyCrashConfig(t)
	src := must(NewSynthetic(cfg, 20200220))
	qs := drain(t, src)
	cs := src.Contracts()
	const tick = 0.01
	const eps = 1e-9

	// Expiries: every listed one is a trading day; the Good Friday weekly moved to Thursday.
	sawApr9 := false
	for id := ContractID(0); int(id) < cs.Len(); id++ {
		c := cs.Get(id)
		ny := c.Expiry.In(newYork)
		if !IsTradingDay(ny) {
			name, _ := Holiday(ny)
			t.Fatalf("%s expires on %s (%v, %q)", c.Symbol, ny.Format(time.DateOnly), ny.Weekday(), name)
		}
		if want := SessionClose(ny); time.Duration(ny.Hour())*time.Hour+time.Duration(ny.Minute())*time.Minute != want {
			t.Fatalf("%s expires at %v, want the session close %v", c.Symbol, ny, want)
		}
		sawApr9 = sawApr9 || ny.Format(time.DateOnly) == "2020-04-09"
	}
	if !sawApr9 {
		t.Error("no expiry on 2020-04-09 (the Good Friday weekly)")
	}

	var (
		belowIntrinsic, offGrid, verticals, natAskOver, natBidNeg, natBidWing int
		legs                                                                  []chainLeg
	)
	checkTime := func(legs []chainLeg) {
		// Sort by expiry, right, strike; then walk adjacent strikes.
		slices.SortFunc(legs, func(a, b chainLeg) int {
			if x := a.c.Expiry.Compare(b.c.Expiry); x != 0 {
				return x
			}
			if a.c.Right != b.c.Right {
				return int(a.c.Right) - int(b.c.Right)
			}
			switch {
			case a.c.Strike < b.c.Strike:
				return -1
			case a.c.Strike > b.c.Strike:
				return 1
			}
			return 0
		})
		for i := 1; i < len(legs); i++ {
			lo, hi := legs[i-1], legs[i]
			if !lo.c.Expiry.Equal(hi.c.Expiry) || lo.c.Right != hi.c.Right {
				continue
			}
			width := hi.c.Strike - lo.c.Strike
			rich, cheap := hi, lo // puts: the higher strike is worth more
			if lo.c.Right == Call {
				rich, cheap = lo, hi
			}
			verticals++
			if natAsk := rich.q.Ask - cheap.q.Bid; natAsk > width+eps {
				natAskOver++
				if natAskOver <= 5 {
					t.Errorf("%s/%s at %v: natural ask %.2f above width %v", rich.c.Symbol, cheap.c.Symbol, MicrosTime(rich.q.Time), natAsk, width)
				}
			}
			if natBid := rich.q.Bid - cheap.q.Ask; natBid < -eps {
				if rich.q.Bid > tick+eps || natBid < -tick-eps {
					natBidNeg++
					if natBidNeg <= 5 {
						t.Errorf("%s/%s at %v: natural bid %.2f < 0 with the rich leg bid %.2f", rich.c.Symbol, cheap.c.Symbol, MicrosTime(rich.q.Time), natBid, rich.q.Bid)
					}
				} else {
					natBidWing++
				}
			}
		}
	}
	for i := range qs {
		q := &qs[i]
		c := cs.Get(q.Contract)
		intr := max(q.UnderlyingPrice-c.Strike, 0)
		if c.Right == Put {
			intr = max(c.Strike-q.UnderlyingPrice, 0)
		}
		if q.Bid < intr-tick-eps {
			belowIntrinsic++
			if belowIntrinsic <= 5 {
				t.Errorf("%s at %v: bid %.2f below intrinsic %.4f − 1 tick", c.Symbol, MicrosTime(q.Time), q.Bid, intr)
			}
		}
		for _, p := range [...]float64{q.Bid, q.Ask} {
			if math.Abs(p*100-math.Round(p*100)) > 1e-6 {
				offGrid++
			}
		}
		if q.Bid < tick-eps || q.Ask < q.Bid+tick-eps {
			t.Fatalf("%s: bid %v ask %v", c.Symbol, q.Bid, q.Ask)
		}
		if len(legs) > 0 && legs[0].q.Time != q.Time {
			checkTime(legs)
			legs = legs[:0]
		}
		legs = append(legs, chainLeg{q, c})
	}
	checkTime(legs)
	if belowIntrinsic+offGrid+natAskOver+natBidNeg > 0 {
		t.Errorf("%d quotes: %d bids below intrinsic − 1 tick, %d prices off the penny grid; %d verticals: %d natural asks above the width, %d natural bids below 0",
			len(qs), belowIntrinsic, offGrid, verticals, natAskOver, natBidNeg)
	}
	t.Logf("%d quotes, %d contracts, %d adjacent verticals (%d cheap-wing verticals with a −1 tick natural bid)", len(qs), cs.Len(), verticals, natBidWing)

	// A strike listed once keeps quoting until its expiry: a contract whose quotes stop before
	// its expiry and the end of the data must have become worth less than min_price (priced at
	// the IV of its pair, still quoted at the next quote time).
	lastIdx := make([]int, cs.Len())
	for i := range qs {
		lastIdx[qs[i].Contract] = i
	}
	endTime := qs[len(qs)-1].Time
	nextTime := func(i int) int64 { // the first quote time after quote i's
		j, _ := slices.BinarySearchFunc(qs, qs[i].Time+1, func(q Quote, t int64) int { return int(q.Time - t) })
		if j >= len(qs) {
			return -1
		}
		return qs[j].Time
	}
	type slot struct {
		t, exp int64
		k      float64
		r      Right
	}
	need := map[slot]ContractID{}
	for id, i := range lastIdx {
		c := cs.Get(ContractID(id))
		nt := nextTime(i)
		if nt < 0 || nt >= c.Expiry.UnixMicro() || qs[i].Time == endTime {
			continue
		}
		other := Put
		if c.Right == Put {
			other = Call
		}
		need[slot{nt, c.Expiry.UnixMicro(), c.Strike, other}] = ContractID(id)
	}
	stopped, worthless := 0, 0
	for i := range qs {
		c := cs.Get(qs[i].Contract)
		id, ok := need[slot{qs[i].Time, c.Expiry.UnixMicro(), c.Strike, c.Right}]
		if !ok {
			continue
		}
		delete(need, slot{qs[i].Time, c.Expiry.UnixMicro(), c.Strike, c.Right})
		tau := float64(c.Expiry.UnixMicro()-qs[i].Time) / microsPerYear
		g := BlackScholes(qs[i].UnderlyingPrice, c.Strike, cfg.Rate, cfg.DividendYield, qs[i].IV, tau)
		price := g.Call.Price
		if cs.Get(id).Right == Put {
			price = g.Put.Price
		}
		if price >= defaultMinPrice {
			stopped++
			if stopped <= 5 {
				t.Errorf("%s stopped quoting at %v while worth %.3f", cs.Get(id).Symbol, MicrosTime(qs[i].Time), price)
			}
		} else {
			worthless++
		}
	}
	stopped += len(need) // neither leg quoted any more
	if stopped > 0 {
		t.Errorf("%d contracts stopped quoting before expiry while worth ≥ min_price", stopped)
	}
	t.Logf("%d contracts stopped quoting before expiry, all worth less than min_price", worthless)
	// The 385 puts listed on 2020-02-14 (open 337.51, +15 %) still quote at the end of March.
	found := false
	for i := len(qs) - 1; i >= 0 && !found; i-- {
		c := cs.Get(qs[i].Contract)
		found = c.Right == Put && c.Strike == 385 && MicrosTime(qs[i].Time).Format(time.DateOnly) >= "2020-03-20"
	}
	if !found {
		t.Error("no 385 put quoted after 2020-03-20: strikes were delisted after the crash")
	}
}

// atmNearWidth is the mean bid/ask width of the at-the-money put of the nearest expiry with
// 5 to 20 calendar days left, over the day's quote times.
func atmNearWidths(t *testing.T, cfg SyntheticConfig) map[string]float64 {
	src := must(NewSynthetic(cfg, 1))
	qs := drain(t, src)
	cs := src.Contracts()
	type best struct {
		dist, width float64
		exp         int64
	}
	perTime := map[int64]best{}
	for i := range qs {
		q := &qs[i]
		c := cs.Get(q.Contract)
		dte := float64(c.Expiry.UnixMicro()-q.Time) / 86400e6
		if c.Right != Put || dte < 5 || dte > 20 {
			continue
		}
		d := math.Abs(c.Strike - q.UnderlyingPrice)
		b, ok := perTime[q.Time]
		if !ok || c.Expiry.UnixMicro() < b.exp || (c.Expiry.UnixMicro() == b.exp && d < b.dist) {
			perTime[q.Time] = best{d, q.Ask - q.Bid, c.Expiry.UnixMicro()}
		}
	}
	sum, n := map[string]float64{}, map[string]int{}
	for tm, b := range perTime {
		d := MicrosTime(tm).In(newYork).Format(time.DateOnly)
		sum[d] += b.width
		n[d]++
	}
	out := map[string]float64{}
	for d := range sum {
		out[d] = sum[d] / float64(n[d])
	}
	return out
}

// Calibration: near-the-money, near-term SPY puts are a cent or two wide in a calm market
// (VIX 13.7–15.6 in mid-February 2020) and several cents to tens of cents in the crash
// (VIX 40–83), widening with the VIX.
func TestSyntheticSpreadCalibration(t *testing.T) {
	cfg := spyCrashConfig(t)
	cfg.Every = 30 * time.Minute
	w := atmNearWidths(t, cfg)
	vix := map[string]float64{}
	for _, d := range cfg.Days {
		vix[d.Date] = d.VIX
	}
	for _, d := range []string{"2020-02-14", "2020-02-18", "2020-02-19", "2020-02-20"} {
		if got := w[d]; got < 0.01-1e-9 || got > 0.03+1e-9 {
			t.Errorf("%s (VIX %v): ATM near-term put %.3f wide; want 0.01–0.03", d, vix[d], got)
		}
	}
	for _, d := range []string{"2020-03-12", "2020-03-16", "2020-03-17"} {
		if got := w[d]; got < 0.05 || got > 0.60 {
			t.Errorf("%s (VIX %v): ATM near-term put %.3f wide; want 0.05–0.60", d, vix[d], got)
		}
	}
	// Widths grow with the VIX: the mean width per VIX bucket increases.
	buckets := [...]float64{0, 20, 35, 50, 1000}
	var sum [4]float64
	var n [4]int
	for d, wd := range w {
		for b := 0; b < 4; b++ {
			if vix[d] >= buckets[b] && vix[d] < buckets[b+1] {
				sum[b] += wd
				n[b]++
			}
		}
	}
	prev := 0.0
	for b := range sum {
		if n[b] == 0 {
			t.Fatalf("no day with VIX in [%v, %v)", buckets[b], buckets[b+1])
		}
		m := sum[b] / float64(n[b])
		t.Logf("VIX [%v, %v): %d days, mean ATM near-term put width %.3f", buckets[b], buckets[b+1], n[b], m)
		if m <= prev {
			t.Errorf("VIX bucket %d: mean width %.3f not above the calmer bucket's %.3f", b, m, prev)
		}
		prev = m
	}
}

// arrange keeps its bounds on random columns: bids ≥ max(1 tick, intrinsic − 1 tick),
// ask ≥ bid + 1 tick, natural ask ≤ width, natural bid ≥ 0 unless the rich leg bids 1 tick.
func TestArrangeRandomColumns(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 9))
	for trial := 0; trial < 3000; trial++ {
		cfg := SpreadConfig{Tick: 0.01, TickAbove3: []float64{0.01, 0.05}[rng.IntN(2)], MinTicks: 1 + rng.IntN(3),
			VolWidth: 0.04, TimeValuePct: 0.2, VolRef: 15, VolExp: 1.5}
		w := newWidthModel(cfg)
		S := 50 + 400*rng.Float64()
		step := []float64{0.5, 1, 2.5, 5, 10}[rng.IntN(5)]
		n := 2 + rng.IntN(60)
		k0 := math.Round(S*(0.6+0.3*rng.Float64())/step) * step
		strikes := make([]float64, n)
		for i := range strikes {
			strikes[i] = k0 + float64(i)*step
		}
		sig, tau := 0.05+1.5*rng.Float64(), (1+60*rng.Float64())/365
		L := w.stress(10 + 80*rng.Float64())
		for _, put := range []bool{false, true} {
			col := make([]legQuote, n)
			for i, K := range strikes {
				g := BlackScholes(S, K, 0.02, 0, sig, tau)
				gr, intr := g.Call, max(S-K, 0)
				if put {
					gr, intr = g.Put, max(K-S, 0)
				}
				col[i].quoted = gr.Price >= 0.01
				if col[i].quoted {
					w.initial(&col[i], gr.Price, intr, gr.Vega/100, L)
				}
			}
			w.arrange(col, strikes, put)
			prev := -1
			for idx := range n {
				j := idx
				if put {
					j = n - 1 - idx
				}
				c := col[j]
				if !c.quoted {
					continue
				}
				K := strikes[j]
				intr := max(S-K, 0)
				if put {
					intr = max(K-S, 0)
				}
				if w.price(c.bid) < intr-w.price(c.tick)-1e-9 || c.bid < c.tick || c.ask < c.bid+c.tick || c.bid%c.tick != 0 || c.ask%c.tick != 0 {
					t.Fatalf("trial %d put=%v K=%v: bid %d ask %d tick %d intrinsic %v", trial, put, K, c.bid, c.ask, c.tick, intr)
				}
				if prev >= 0 {
					p := col[prev]
					wU := int64(math.Round(math.Abs(K-strikes[prev]) * w.perDollar))
					if p.ask-c.bid > wU {
						t.Fatalf("trial %d put=%v K=%v: natural ask %d > width %d", trial, put, K, p.ask-c.bid, wU)
					}
					if p.bid-c.ask < 0 && p.bid > c.tick {
						t.Fatalf("trial %d put=%v K=%v: natural bid %d with rich bid %d", trial, put, K, p.bid-c.ask, p.bid)
					}
				}
				prev = j
			}
		}
	}
}

// Expiries follow the calendar for any date, not only the anchors: a weekly on a holiday
// Friday outside the anchor days moves back, and the Friday after Thanksgiving expires at its
// 13:00 close, with the chain's last quote at 13:00.
func TestSyntheticCalendarExpiries(t *testing.T) {
	cfg := SyntheticConfig{Underlying: "SPY", Expiries: ExpiryConfig{Weekly: 3, Monthly: -1}, Days: []DayBar{
		{Date: "2020-11-20", Open: 357.5, High: 358, Low: 355, Close: 355.3, VIX: 23.7},
		{Date: "2020-11-27", Open: 363.8, High: 364.2, Low: 362.6, Close: 363.7, VIX: 20.8},
		{Date: "2021-12-20", Open: 454.5, High: 455.4, Low: 451.1, Close: 454.98, VIX: 22.9},
	}}
	src := must(NewSynthetic(cfg, 1))
	qs := drain(t, src)
	exp := map[string]string{}
	lastQuote := map[string]int64{}
	for _, q := range qs {
		c := src.Contracts().Get(q.Contract)
		e := c.Expiry.In(newYork)
		exp[e.Format(time.DateOnly)] = e.Format("15:04")
		d := MicrosTime(q.Time).In(newYork).Format(time.DateOnly)
		lastQuote[d] = max(lastQuote[d], q.Time)
	}
	for d, hm := range map[string]string{"2020-11-27": "13:00", "2020-12-04": "16:00", "2021-12-23": "16:00", "2021-12-31": "16:00"} {
		if exp[d] != hm {
			t.Errorf("expiry on %s at %q; want %s (all: %v)", d, exp[d], hm, exp)
		}
	}
	if _, ok := exp["2021-12-24"]; ok {
		t.Error("an expiry on 2021-12-24 (Christmas observed)")
	}
	if got := MicrosTime(lastQuote["2020-11-27"]).In(newYork).Format("15:04"); got != "13:00" {
		t.Errorf("last quote on the early close at %s; want 13:00", got)
	}
	if got := MicrosTime(lastQuote["2020-11-20"]).In(newYork).Format("15:04"); got != "16:00" {
		t.Errorf("last quote on a full day at %s; want 16:00", got)
	}
}
