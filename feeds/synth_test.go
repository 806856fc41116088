package feeds

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"
)

// Put-call parity: the model prices (Black-Scholes at the quote's IV) satisfy
// C − P = S e^{−qτ} − K e^{−rτ} exactly, and the quoted mids within one tick wherever neither
// quote was moved off its model price by the arrangement bounds (deep in the money, cheap
// wing), which must stay a minority. An option whose pair was not quoted (below min_price)
// must have a parity-implied pair price below min_price.
func TestSyntheticPutCallParity(t *testing.T) {
	cfg := smallSynth()
	src, err := NewSynthetic(cfg, 42)
	if err != nil {
		t.Fatal(err)
	}
	qs := drain(t, src)
	cs := src.Contracts()
	type key struct {
		t      int64
		exp    int64
		strike float64
		right  Right
	}
	idx := map[key]*Quote{}
	for i := range qs {
		c := cs.Get(qs[i].Contract)
		idx[key{qs[i].Time, c.Expiry.UnixMicro(), c.Strike, c.Right}] = &qs[i]
	}
	const tick = 0.01
	theo := func(q *Quote, c *Contract) float64 {
		tau := float64(c.Expiry.UnixMicro()-q.Time) / microsPerYear
		g := BlackScholes(q.UnderlyingPrice, c.Strike, cfg.Rate, cfg.DividendYield, q.IV, tau)
		if c.Right == Call {
			return g.Call.Price
		}
		return g.Put.Price
	}
	paired, centred, moved := 0, 0, 0
	for i := range qs {
		q := &qs[i]
		c := cs.Get(q.Contract)
		tau := float64(c.Expiry.UnixMicro()-q.Time) / microsPerYear
		fwd := q.UnderlyingPrice*math.Exp(-cfg.DividendYield*tau) - c.Strike*math.Exp(-cfg.Rate*tau)
		if math.Abs(q.Mid()-theo(q, c)) > tick/2+1e-9 {
			moved++
		}
		other := Put
		if c.Right == Put {
			other = Call
		}
		o, ok := idx[key{q.Time, c.Expiry.UnixMicro(), c.Strike, other}]
		if !ok {
			implied := fwd - theo(q, c) // the missing put
			if c.Right == Put {
				implied = theo(q, c) + fwd // the missing call
			}
			if implied >= defaultMinPrice+1e-9 {
				t.Fatalf("%s at %v: pair missing but parity gives it %v >= min_price", c.Symbol, MicrosTime(q.Time), implied)
			}
			continue
		}
		if o.IV != q.IV {
			t.Fatalf("%s: call and put IV differ", c.Symbol)
		}
		call, put := q, o
		if c.Right == Put {
			call, put = o, q
		}
		cc, pc := cs.Get(call.Contract), cs.Get(put.Contract)
		if d := theo(call, cc) - theo(put, pc) - fwd; math.Abs(d) > 1e-9*max(1, q.UnderlyingPrice) {
			t.Fatalf("%s at %v: model C−P−(Se^−qτ − Ke^−rτ) = %g", c.Symbol, MicrosTime(q.Time), d)
		}
		if math.Abs(call.Mid()-theo(call, cc)) <= tick/2+1e-9 && math.Abs(put.Mid()-theo(put, pc)) <= tick/2+1e-9 {
			if d := call.Mid() - put.Mid() - fwd; math.Abs(d) > tick+1e-9 {
				t.Fatalf("%s at %v: mid C−P−(Se^−qτ − Ke^−rτ) = %g, beyond one tick", c.Symbol, MicrosTime(q.Time), d)
			}
			centred++
		}
		if !(q.Bid >= tick-1e-12 && q.Bid < q.Ask) {
			t.Fatalf("%s: bid %v ask %v", c.Symbol, q.Bid, q.Ask)
		}
		paired++
	}
	if paired < len(qs)/2 || centred < paired/2 {
		t.Fatalf("only %d of %d quotes paired, %d pairs centred", paired, len(qs), centred)
	}
	if moved > len(qs)/4 {
		t.Fatalf("%d of %d quotes moved more than half a tick off the model price", moved, len(qs))
	}
	t.Logf("%d quotes, %d paired, %d pair sides centred, %d moved off the model price", len(qs), paired, centred, moved)
}

// The bridge hits each day's open (first), close (last), high and low exactly and stays in
// [low, high], over every real SPY day 2017–2021 and many seeds.
func TestBridgeHitsAnchors(t *testing.T) {
	bars := realBars(t, "2017-01-01", "2021-12-31")
	cfg := SyntheticConfig{Underlying: "SPY", Days: bars, Strikes: StrikeConfig{AroundSpotPct: 1, Step: 5},
		Expiries: ExpiryConfig{Weekly: 1, Monthly: -1}}
	for _, seed := range []uint64{1, 2, 3} {
		src, err := NewSynthetic(cfg, seed)
		if err != nil {
			t.Fatal(err)
		}
		s := src.(*canonical).src.(*synthetic)
		for d := range bars {
			s.startDay(d)
			b := bars[d]
			sp := s.spot
			lo, hi := math.Inf(1), math.Inf(-1)
			for _, v := range sp {
				lo, hi = min(lo, v), max(hi, v)
			}
			if sp[0] != b.Open || sp[len(sp)-1] != b.Close || lo != b.Low || hi != b.High {
				t.Fatalf("seed %d %s: open %v close %v low %v high %v; want %+v", seed, b.Date, sp[0], sp[len(sp)-1], lo, hi, b)
			}
			want := 79 // 09:30..16:00 every 5m
			if IsEarlyClose(day(b.Date)) {
				want = 43 // 09:30..13:00
			}
			if len(sp) != want {
				t.Fatalf("%s: %d quote times, want %d", b.Date, len(sp), want)
			}
		}
	}
	// And the emitted quotes carry that path.
	src, _ := NewSynthetic(SyntheticConfig{Underlying: "SPY", Days: bars[:5], Expiries: ExpiryConfig{Weekly: 1, Monthly: -1}}, 9)
	qs := drain(t, src)
	day := map[string][2]float64{}
	for _, q := range qs {
		d := MicrosTime(q.Time).In(newYork).Format(time.DateOnly)
		r, ok := day[d]
		if !ok {
			r = [2]float64{math.Inf(1), math.Inf(-1)}
		}
		day[d] = [2]float64{min(r[0], q.UnderlyingPrice), max(r[1], q.UnderlyingPrice)}
	}
	for _, b := range bars[:5] {
		if r := day[b.Date]; r[0] != b.Low || r[1] != b.High {
			t.Errorf("%s: quotes span [%v, %v], want [%v, %v]", b.Date, r[0], r[1], b.Low, b.High)
		}
	}
}

func TestBridgeRandomDays(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	for trial := 0; trial < 2000; trial++ {
		n := 4 + rng.IntN(400)
		times := make([]int64, n)
		for i := range times {
			times[i] = int64(i) * 60e6
		}
		o := 100 * math.Exp(rng.NormFloat64()*0.01)
		c := 100 * math.Exp(rng.NormFloat64()*0.01)
		h := max(o, c) * (1 + rng.Float64()*0.02*float64(rng.IntN(2)))
		l := min(o, c) * (1 - rng.Float64()*0.02*float64(rng.IntN(2)))
		out, walk := make([]float64, n), make([]float64, n)
		bridgeDay(rng, times, o, h, l, c, out, walk)
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, v := range out {
			lo, hi = min(lo, v), max(hi, v)
		}
		if out[0] != o || out[n-1] != c || lo != l || hi != h {
			t.Fatalf("trial %d n=%d: o=%v c=%v l=%v h=%v; path o=%v c=%v lo=%v hi=%v", trial, n, o, c, l, h, out[0], out[n-1], lo, hi)
		}
	}
}

func TestSyntheticDeterminism(t *testing.T) {
	a := drain(t, must(NewSynthetic(smallSynth(), 7)))
	b := drain(t, must(NewSynthetic(smallSynth(), 7)))
	c := drain(t, must(NewSynthetic(smallSynth(), 8)))
	if len(a) != len(b) {
		t.Fatalf("same seed: %d vs %d quotes", len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("same seed differs at %d: %+v vs %+v", i, a[i], b[i])
		}
	}
	diff := len(a) != len(c)
	for i := 0; !diff && i < len(a); i++ {
		diff = a[i].UnderlyingPrice != c[i].UnderlyingPrice
	}
	if !diff {
		t.Fatal("seeds 7 and 8 give the same path")
	}
}

func must(s Source, err error) Source {
	if err != nil {
		panic(err)
	}
	return s
}

func TestSyntheticChainShape(t *testing.T) {
	cfg := smallSynth()
	src := must(NewSynthetic(cfg, 1))
	qs := drain(t, src)
	cs := src.Contracts()
	// 2020-03-09 (Monday): weeklies 03-13, 03-20, 03-27; monthlies 03-20 (dup), 04-17.
	want := map[string]bool{"2020-03-13": true, "2020-03-20": true, "2020-03-27": true, "2020-04-17": true}
	got := map[string]bool{}
	for _, q := range qs {
		c := cs.Get(q.Contract)
		if MicrosTime(q.Time).In(newYork).Format(time.DateOnly) != "2020-03-09" {
			continue
		}
		got[c.Expiry.In(newYork).Format(time.DateOnly)] = true
		if h, m := c.Expiry.In(newYork).Hour(), c.Expiry.In(newYork).Minute(); h != 16 || m != 0 {
			t.Fatalf("expiry %v is not 16:00 New York", c.Expiry)
		}
		if c.Multiplier != 100 || c.Underlying != "SPY" || math.Mod(c.Strike, 5) != 0 {
			t.Fatalf("contract %+v", c)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("expiries on 2020-03-09: %v, want %v", got, want)
	}
	for k := range want {
		if !got[k] {
			t.Fatalf("missing expiry %s (got %v)", k, got)
		}
	}
	for i := 1; i < len(qs); i++ {
		if qs[i].Time < qs[i-1].Time {
			t.Fatal("time goes back")
		}
	}
	// Quotes every 15 minutes in 09:30–16:00 New York only.
	for _, q := range qs {
		lt := MicrosTime(q.Time).In(newYork)
		mins := lt.Hour()*60 + lt.Minute()
		if mins < 9*60+30 || mins > 16*60 || (mins-(9*60+30))%15 != 0 {
			t.Fatalf("quote at %v", lt)
		}
	}
}

// Holidays: Good Friday 2020-04-10 is not an anchor, so that week's expiry is Thursday.
func TestSyntheticHolidayExpiry(t *testing.T) {
	cfg := SyntheticConfig{Underlying: "SPY", Expiries: ExpiryConfig{Weekly: 1, Monthly: -1}, Days: []DayBar{
		{Date: "2020-04-06", Open: 257.84, High: 267.00, Low: 257.84, Close: 264.86, VIX: 45.24},
		{Date: "2020-04-07", Open: 274.21, High: 275.03, Low: 264.89, Close: 265.13, VIX: 46.70},
		{Date: "2020-04-08", Open: 267.96, High: 276.00, Low: 265.25, Close: 274.03, VIX: 43.35},
		{Date: "2020-04-09", Open: 277.58, High: 281.20, Low: 275.47, Close: 278.20, VIX: 41.67},
		{Date: "2020-04-13", Open: 277.14, High: 277.51, Low: 271.41, Close: 275.66, VIX: 41.17},
	}}
	src := must(NewSynthetic(cfg, 1))
	qs := drain(t, src)
	c := src.Contracts().Get(qs[0].Contract)
	if d := c.Expiry.In(newYork).Format(time.DateOnly); d != "2020-04-09" {
		t.Fatalf("expiry %s, want 2020-04-09 (Good Friday moved back)", d)
	}
}

func TestSyntheticValidate(t *testing.T) {
	bad := func(mut func(*SyntheticConfig), field string) {
		t.Helper()
		cfg := smallSynth()
		mut(&cfg)
		_, err := NewSynthetic(cfg, 1)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != field {
			t.Errorf("want error on %s, got %v", field, err)
		}
	}
	bad(func(c *SyntheticConfig) { c.Underlying = "" }, "underlying")
	bad(func(c *SyntheticConfig) { c.Days = nil }, "days")
	bad(func(c *SyntheticConfig) { c.Days[1].Date = "2020-13-01" }, "days[1].date")
	bad(func(c *SyntheticConfig) { c.Days[2].Date = c.Days[1].Date }, "days[2].date")
	bad(func(c *SyntheticConfig) { c.Days[0].Low = 300 }, "days[0].low")
	bad(func(c *SyntheticConfig) { c.Days[0].High = 1 }, "days[0].high")
	bad(func(c *SyntheticConfig) { c.Days[0].VIX = -1 }, "days[0].vix")
	bad(func(c *SyntheticConfig) { c.Session = "9:30-16:00 America/New_York" }, "session")
	bad(func(c *SyntheticConfig) { c.Session = "09:30-16:00 Mars/Olympus" }, "session")
	bad(func(c *SyntheticConfig) { c.Every = 3 * time.Hour }, "every")
	bad(func(c *SyntheticConfig) { c.Strikes.Step = -1 }, "strikes.step")
	bad(func(c *SyntheticConfig) { c.Strikes.Step = 0.001 }, "strikes.step")
	bad(func(c *SyntheticConfig) { c.Expiries.Weekly = -1; c.Expiries.Monthly = -1 }, "expiries")
	bad(func(c *SyntheticConfig) { c.Rate = math.NaN() }, "rate")
	if err := smallSynth().Validate(); err != nil {
		t.Fatal(err)
	}
}

// WriteParquet then reading the native file gives the generator's quotes and contracts.
func TestParquetRoundTrip(t *testing.T) {
	ctx := context.Background()
	want := drain(t, must(NewSynthetic(smallSynth(), 3)))
	gen := must(NewSynthetic(smallSynth(), 3))
	path := filepath.Join(t.TempDir(), "gen.parquet")
	n, err := WriteParquet(ctx, gen, path)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(len(want)) {
		t.Fatalf("wrote %d, want %d", n, len(want))
	}
	fs, err := OpenFile(ctx, FileConfig{Path: path, Preset: PresetNative}, Reject, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	got := drain(t, fs)
	assertSameQuotes(t, want, gen.Contracts(), got, fs.Contracts())
	if q := fs.Quality(); q.Total() != 0 {
		t.Fatalf("quality %v", q)
	}
}

func assertSameQuotes(t *testing.T, want []Quote, wc *Contracts, got []Quote, gc *Contracts) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d quotes, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("quote %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	if gc.Len() != wc.Len() {
		t.Fatalf("%d contracts, want %d", gc.Len(), wc.Len())
	}
	for id := ContractID(0); int(id) < wc.Len(); id++ {
		a, b := *gc.Get(id), *wc.Get(id)
		if a.Symbol != b.Symbol || a.Underlying != b.Underlying || !a.Expiry.Equal(b.Expiry) || a.Strike != b.Strike ||
			a.Right != b.Right || a.Multiplier != b.Multiplier || a.ID != b.ID {
			t.Fatalf("contract %d: %+v, want %+v", id, a, b)
		}
	}
}
