package feeds

import (
	"context"
	"io"
	"math"
	"math/rand/v2"
	"time"
)

// synthBatchQuotes is the size a synthetic batch fills up to (whole quote times only).
const synthBatchQuotes = 8192

const (
	microsPerYear   = 365 * 24 * 3600 * 1e6
	tau30           = 30.0 / 365
	minTauIV        = 1.0 / 365
	minIV, maxGenIV = 0.01, 5.0
	noContract      = ContractID(math.MaxUint32)
	// seedStream separates the per-day PCG streams of the bridge from other uses of the seed.
	seedStream = 0x9e3779b97f4a7c15
)

// NewSynthetic returns a source of synthetic option quotes (see SyntheticConfig for the
// implied-vol and spread models). The seed (the scenario's) drives the intraday path only;
// the same configuration and seed give the same quotes, value for value.
//
// The underlying on each anchor day follows a Brownian bridge in log price through four pinned
// quote times: the open (first quote time) at Open, the close (last) at Close, and in between
// the High and the Low at two distinct quote times drawn uniformly from the seed, with the
// order (high first or low first) a fair coin from the seed. Each of the three legs is a
// Brownian bridge whose volatility per √second is ln(High/Low)/(1.6·√session) (a Brownian
// path's expected range is about 1.6σ√T); the path is then folded (reflected) into
// [ln Low, ln High], which leaves the pinned points where they are and keeps the path
// continuous, so the day's path hits Open, High, Low and Close exactly and never leaves
// [Low, High]. Every day draws from its own PCG stream (seed, day index), so a day's path does
// not depend on how earlier days were consumed.
//
// Quotes: at each quote time, for each listed expiry later than that time (ascending), each
// strike (ascending), the call then the put, skipping an option whose price is below MinPrice.
// Time to expiry is calendar time (ACT/365) to the expiry instant (16:00 America/New_York).
// Contract IDs are assigned at a contract's first quote.
func NewSynthetic(cfg SyntheticConfig, seed uint64) (Source, error) {
	c, err := cfg.withDefaults().compile()
	if err != nil {
		return nil, err
	}
	return Canonical(&synthetic{c: c, seed: seed, contracts: NewContracts(), anchorSet: anchorIndex(c.dates)}), nil // order.go
}

type synthetic struct {
	c         *compiled
	seed      uint64
	contracts *Contracts
	anchorSet map[string]int // date → day index (holiday lookup for expiries)
	batch     Batch
	closed    bool

	day     int // index of the day in times/spot (-1 before the first)
	ti      int // next quote time within the day
	started bool

	times    []int64   // quote times of the day, µs UTC
	spot     []float64 // underlying at each quote time
	vix      []float64 // VIX/100 at each quote time
	expiries []expiryInfo
	strikes  []float64
	ids      []ContractID // [expiry][strike][right] → ID, noContract until first quoted
	pcg      rand.PCG
	rng      *rand.Rand
	walk     []float64
}

type expiryInfo struct {
	at   int64     // µs UTC
	date time.Time // calendar day (for the OCC symbol)
}

func anchorIndex(dates []time.Time) map[string]int {
	m := make(map[string]int, len(dates))
	for i, d := range dates {
		m[d.Format(time.DateOnly)] = i
	}
	return m
}

func (s *synthetic) Contracts() *Contracts  { return s.contracts }
func (s *synthetic) Quality() QualityCounts { return QualityCounts{} }
func (s *synthetic) Close() error           { s.closed = true; return nil }

func (s *synthetic) Next(ctx context.Context) (*Batch, error) {
	if s.closed {
		return nil, errClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !s.started {
		s.started = true
		s.day = -1
		s.ti = 0
	}
	s.batch.Quotes = s.batch.Quotes[:0]
	for len(s.batch.Quotes) < synthBatchQuotes {
		if s.day < 0 || s.ti >= len(s.times) {
			if s.day+1 >= len(s.c.dates) {
				break
			}
			s.day++
			s.startDay(s.day)
		}
		s.emitTime(s.ti)
		s.ti++
	}
	if len(s.batch.Quotes) == 0 {
		return nil, io.EOF
	}
	return &s.batch, nil
}

// startDay lays out the day's quote times, path, expiries and strikes.
func (s *synthetic) startDay(d int) {
	cfg, sess := &s.c.cfg, s.c.sess
	date := s.c.dates[d]
	bar := cfg.Days[d]
	y, m, dd := date.Date()
	openT := time.Date(y, m, dd, 0, 0, 0, 0, sess.loc).Add(sess.open)
	closeT := time.Date(y, m, dd, 0, 0, 0, 0, sess.loc).Add(sess.close)
	s.times = s.times[:0]
	for t := openT; !t.After(closeT); t = t.Add(cfg.Every) {
		s.times = append(s.times, t.UnixMicro())
	}
	if last := s.times[len(s.times)-1]; last < closeT.UnixMicro() {
		s.times = append(s.times, closeT.UnixMicro())
	}
	n := len(s.times)

	s.pcg.Seed(s.seed, seedStream^uint64(d))
	if s.rng == nil {
		s.rng = rand.New(&s.pcg)
	}
	s.spot = growFloats(s.spot, n)
	s.walk = growFloats(s.walk, n)
	bridgeDay(s.rng, s.times, bar.Open, bar.High, bar.Low, bar.Close, s.spot, s.walk)

	prev := bar.VIX
	if d > 0 {
		prev = cfg.Days[d-1].VIX
	}
	s.vix = growFloats(s.vix, n)
	span := float64(s.times[n-1] - s.times[0])
	for i, t := range s.times {
		s.vix[i] = (prev + (bar.VIX-prev)*float64(t-s.times[0])/span) / 100
	}

	s.expiries = s.listExpiries(date, s.expiries[:0])
	p := cfg.Strikes.AroundSpotPct / 100
	step := cfg.Strikes.Step
	lo := math.Ceil(bar.Open*(1-p)/step) * step
	hi := math.Floor(bar.Open*(1+p)/step) * step
	s.strikes = s.strikes[:0]
	for i := 0; ; i++ {
		k := lo + float64(i)*step
		if k > hi+step/1e6 {
			break
		}
		k = math.Round(k*1000) / 1000 // OCC precision; no 0.30000000000000004 strikes
		if k > 0 && k <= maxOCCStrike {
			s.strikes = append(s.strikes, k)
		}
	}
	need := len(s.expiries) * len(s.strikes) * 2
	if cap(s.ids) < need {
		s.ids = make([]ContractID, need)
	}
	s.ids = s.ids[:need]
	for i := range s.ids {
		s.ids[i] = noContract
	}
	s.ti = 0
}

func growFloats(b []float64, n int) []float64 {
	if cap(b) < n {
		return make([]float64, n)
	}
	return b[:n]
}

// bridgeDay fills out[i] with the underlying at times[i] (see NewSynthetic). walk is scratch.
func bridgeDay(rng *rand.Rand, times []int64, open, high, low, cls float64, out, walk []float64) {
	n := len(times)
	a := 1 + rng.IntN(n-2)
	b := 1 + rng.IntN(n-3)
	if b >= a {
		b++
	}
	if a > b {
		a, b = b, a
	}
	first, second := high, low
	if rng.IntN(2) == 1 {
		first, second = low, high
	}
	lnL, lnH := math.Log(low), math.Log(high)
	width := lnH - lnL
	pins := [4]int{0, a, b, n - 1}
	vals := [4]float64{math.Log(open), math.Log(first), math.Log(second), math.Log(cls)}
	volPerSqrtSec := width / 1.6 / math.Sqrt(float64(times[n-1]-times[0])/1e6)
	for seg := 0; seg < 3; seg++ {
		i0, i1 := pins[seg], pins[seg+1]
		x0, x1 := vals[seg], vals[seg+1]
		walk[i0] = 0
		for i := i0 + 1; i <= i1; i++ {
			dt := float64(times[i]-times[i-1]) / 1e6
			walk[i] = walk[i-1] + volPerSqrtSec*math.Sqrt(dt)*rng.NormFloat64()
		}
		t0, t1 := float64(times[i0]), float64(times[i1])
		gap := walk[i1] - (x1 - x0)
		for i := i0; i <= i1; i++ {
			out[i] = x0 + walk[i] - (float64(times[i])-t0)/(t1-t0)*gap
		}
	}
	for i := range out[:n] {
		y := out[i] - lnL
		if width > 0 {
			y = math.Mod(y, 2*width)
			if y < 0 {
				y += 2 * width
			}
			if y > width {
				y = 2*width - y
			}
		} else {
			y = 0
		}
		out[i] = min(max(math.Exp(lnL+y), low), high)
	}
	out[0], out[a], out[b], out[n-1] = open, first, second, cls
}

// listExpiries returns the day's listed expiries, ascending and distinct.
func (s *synthetic) listExpiries(day time.Time, out []expiryInfo) []expiryInfo {
	cfg := &s.c.cfg
	var fridays []time.Time
	// Weeklies: the next Fridays on or after the day.
	f := day
	for f.Weekday() != time.Friday {
		f = f.AddDate(0, 0, 1)
	}
	for i := 0; i < cfg.Expiries.Weekly; i++ {
		fridays = append(fridays, f.AddDate(0, 0, 7*i))
	}
	// Monthlies: third Fridays on or after the day.
	y, m, _ := day.Date()
	for n := 0; n < cfg.Expiries.Monthly; m++ {
		tf := thirdFriday(y, m, day.Location())
		if tf.Before(day) {
			continue
		}
		fridays = append(fridays, tf)
		n++
	}
	for _, f := range fridays {
		e := s.holidayAdjust(f)
		if e.Before(day) {
			continue
		}
		at := ExpiryAt(e.Year(), e.Month(), e.Day()).UnixMicro()
		i := 0
		for i < len(out) && out[i].at < at {
			i++
		}
		if i < len(out) && out[i].at == at {
			continue
		}
		out = append(out, expiryInfo{})
		copy(out[i+1:], out[i:])
		out[i] = expiryInfo{at: at, date: e}
	}
	return out
}

func thirdFriday(y int, m time.Month, loc *time.Location) time.Time {
	d := time.Date(y, m, 1, 0, 0, 0, 0, loc)
	for d.Weekday() != time.Friday {
		d = d.AddDate(0, 0, 1)
	}
	return d.AddDate(0, 0, 14)
}

// holidayAdjust moves a Friday expiry that falls on a holiday inside the anchor range (a date
// with no anchor) to the previous anchor day of the same week, as exchanges do (Good Friday).
func (s *synthetic) holidayAdjust(f time.Time) time.Time {
	first, last := s.c.dates[0], s.c.dates[len(s.c.dates)-1]
	if f.Before(first) || f.After(last) {
		return f
	}
	for back := 0; back < 5; back++ {
		d := f.AddDate(0, 0, -back)
		if _, ok := s.anchorSet[d.Format(time.DateOnly)]; ok {
			return d
		}
	}
	return f
}

// emitTime appends the chain's quotes at quote time ti.
func (s *synthetic) emitTime(ti int) {
	cfg := &s.c.cfg
	t := s.times[ti]
	S := s.spot[ti]
	v := s.vix[ti]
	r, q := cfg.Rate, cfg.DividendYield
	sp := cfg.Spread
	ns := len(s.strikes)
	for ei, e := range s.expiries {
		if e.at <= t {
			continue
		}
		tau := float64(e.at-t) / microsPerYear
		tauIV := max(tau, minTauIV)
		atm := v * math.Pow(tau30/tauIV, cfg.TermSlope)
		skewScale := cfg.Skew / math.Sqrt(tauIV/tau30)
		F := S * math.Exp((r-q)*tau)
		sqrtTau := math.Sqrt(tau)
		for ki, K := range s.strikes {
			lnKF := math.Log(K / F)
			sigma := min(max(atm*(1-skewScale*lnKF), minIV), maxGenIV)
			bs := BlackScholes(S, K, r, q, sigma, tau)
			m := math.Abs(lnKF) / (sigma * sqrtTau)
			rel := sp.RelWidth * (1 + sp.VolCoef*sigma) * (1 + sp.MoneyCoef*m)
			base := (ei*ns + ki) * 2
			s.emit(t, ei, ki, base, Call, &bs.Call, S, sigma, sp.MinWidth, rel)
			s.emit(t, ei, ki, base+1, Put, &bs.Put, S, sigma, sp.MinWidth, rel)
		}
	}
}

func (s *synthetic) emit(t int64, ei, ki, slot int, right Right, g *Greeks, S, sigma, minWidth, rel float64) {
	theo := g.Price
	if !(theo >= s.c.cfg.MinPrice) {
		return
	}
	id := s.ids[slot]
	if id == noContract {
		id = s.intern(ei, ki, right)
		s.ids[slot] = id
	}
	half := min(minWidth+theo*rel, 1.8*theo) / 2
	s.batch.Quotes = append(s.batch.Quotes, Quote{
		Time:            t,
		Contract:        id,
		Bid:             theo - half,
		Ask:             theo + half,
		UnderlyingPrice: S,
		IV:              sigma,
		Delta:           g.Delta,
		Gamma:           g.Gamma,
		Vega:            g.Vega / 100,
		Theta:           g.Theta / 365,
	})
}

func (s *synthetic) intern(ei, ki int, right Right) ContractID {
	cfg := &s.c.cfg
	e := s.expiries[ei]
	k := s.strikes[ki]
	exp := MicrosTime(e.at)
	sym, err := OCCSymbol(cfg.Underlying, exp, right, k)
	if err != nil {
		panic("feeds: synthetic contract has no OCC symbol: " + err.Error()) // strikes and roots are validated
	}
	return s.contracts.Intern(Contract{Symbol: sym, Underlying: cfg.Underlying, Expiry: exp, Strike: k, Right: right, Multiplier: cfg.Multiplier})
}
