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
// Calendar: on an exchange early-close day (see IsEarlyClose) the day's quotes end at 13:00
// New York (the bridge pins the close there). Weekly (Friday) and monthly (third Friday)
// expiries that are not trading days move to the previous trading day, for any date (see
// ExpiryOnTradingDay); an expiry on an early-close day is at 13:00 New York.
//
// Strikes: each day lists the strikes within ±around_spot_pct of the day's open; an expiry
// keeps every strike it listed on earlier days until it expires (up to retainFactor times the
// day's fresh range; beyond that the strikes farthest from the open are delisted), so legs do
// not stop quoting after a large move.
//
// Quotes: at each quote time, for each listed expiry later than that time (ascending), each
// strike (ascending), the call then the put, skipping an option whose price is below MinPrice.
// Bid and ask follow SpreadConfig (tick grid, bounds against intrinsic value and verticals).
// Time to expiry is calendar time (ACT/365) to the expiry instant (the session close in
// America/New_York). Contract IDs are assigned at a contract's first quote.
func NewSynthetic(cfg SyntheticConfig, seed uint64) (Source, error) {
	c, err := cfg.withDefaults().compile()
	if err != nil {
		return nil, err
	}
	return Canonical(&synthetic{c: c, seed: seed, contracts: NewContracts(), w: newWidthModel(c.cfg.Spread)}), nil // order.go
}

type synthetic struct {
	c         *compiled
	seed      uint64
	contracts *Contracts
	retire    retirer // expired contracts leave the table (retire.go)
	batch     Batch
	closed    bool

	day     int // index of the day in times/spot (-1 before the first)
	ti      int // next quote time within the day
	started bool

	times    []int64   // quote times of the day, µs UTC
	spot     []float64 // underlying at each quote time
	vix      []float64 // VIX/100 at each quote time
	expiries []expiryInfo
	strikes  []float64    // the day's strikes: a contiguous grid, index i is strike (nMin+i)×step
	ids      []ContractID // [expiry][strike][right] → ID, noContract until first quoted
	listed   []listedRange
	col      [2][]legQuote // scratch: the call and put columns of one expiry at one quote time
	pcg      rand.PCG
	rng      *rand.Rand
	walk     []float64
	w        widthModel
}

type expiryInfo struct {
	at       int64     // µs UTC
	date     time.Time // calendar day (for the OCC symbol)
	kLo, kHi int       // the expiry's listed strikes: s.strikes[kLo..kHi]
}

// listedRange is the strike range an expiry has listed so far, in grid units (strike/step).
type listedRange struct {
	at     int64
	lo, hi int
}

// retainFactor bounds the strikes a live expiry keeps listing: at most this many times the
// day's fresh range (and maxChainStrikes); beyond it the strikes farthest from the day's open
// are delisted.
const retainFactor = 3

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
	if n := len(s.batch.Quotes); n > 0 {
		// Only listed contracts are quoted: an expired one never comes back.
		s.retire.step(s.contracts, s.batch.Quotes[n-1].Time, nil)
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
	if IsEarlyClose(date) {
		// The exchange closes at 13:00 New York: so does the chain.
		if early := time.Date(y, m, dd, 0, 0, 0, 0, newYork).Add(EarlyClose); early.Before(closeT) && early.After(openT) {
			closeT = early
		}
	}
	s.times = s.times[:0]
	for t := openT; !t.After(closeT); t = t.Add(cfg.Every) {
		s.times = append(s.times, t.UnixMicro())
	}
	if last := s.times[len(s.times)-1]; last < closeT.UnixMicro() {
		s.times = append(s.times, closeT.UnixMicro())
	}
	if len(s.times) < minSessionPoints { // a short early-close session: four even quote times
		span := closeT.Sub(openT)
		s.times = s.times[:0]
		for i := range minSessionPoints {
			s.times = append(s.times, openT.Add(span*time.Duration(i)/(minSessionPoints-1)).UnixMicro())
		}
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
	s.layoutStrikes(bar.Open)
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

// layoutStrikes lists each expiry's strikes for the day: the strikes within ±around_spot_pct
// of the day's open, plus every strike the expiry listed on earlier days (exchanges do not
// delist strikes of a live expiry after a move), bounded by retainFactor.
func (s *synthetic) layoutStrikes(open float64) {
	cfg := &s.c.cfg
	p := cfg.Strikes.AroundSpotPct / 100
	step := cfg.Strikes.Step
	lo := int(math.Ceil(open * (1 - p) / step))
	hi := int(math.Floor(open * (1 + p) / step))
	lo = max(lo, 1) // strikes > 0
	hi = min(hi, int(math.Floor(maxOCCStrike/step)))
	if hi < lo {
		hi = lo
	}
	limit := min(retainFactor*(hi-lo+1), maxChainStrikes)
	prev := s.listed
	next := make([]listedRange, 0, len(s.expiries))
	nMin, nMax := lo, hi
	for i := range s.expiries {
		e := &s.expiries[i]
		r := listedRange{at: e.at, lo: lo, hi: hi}
		for _, old := range prev {
			if old.at == e.at {
				r.lo, r.hi = min(r.lo, old.lo), max(r.hi, old.hi)
			}
		}
		for r.hi-r.lo+1 > limit { // delist the strike farthest from the day's fresh range
			if lo-r.lo > r.hi-hi {
				r.lo++
			} else {
				r.hi--
			}
		}
		next = append(next, r)
		nMin, nMax = min(nMin, r.lo), max(nMax, r.hi)
	}
	s.listed = next
	s.strikes = s.strikes[:0]
	for n := nMin; n <= nMax; n++ {
		s.strikes = append(s.strikes, math.Round(float64(n)*step*1000)/1000) // OCC precision
	}
	for i := range s.expiries {
		s.expiries[i].kLo, s.expiries[i].kHi = next[i].lo-nMin, next[i].hi-nMin
	}
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

// listExpiries returns the day's listed expiries, ascending and distinct. A Friday that is not
// a trading day moves to the previous trading day, and on an early-close day the expiry is at
// 13:00 New York (see ExpiryOnTradingDay).
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
		exp := ExpiryOnTradingDay(ExpiryAt(f.Year(), f.Month(), f.Day()))
		ey, em, ed := exp.In(newYork).Date()
		e := time.Date(ey, em, ed, 0, 0, 0, 0, day.Location())
		if e.Before(day) {
			continue
		}
		at := exp.UnixMicro()
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

// emitTime appends the chain's quotes at quote time ti: for each live expiry, both columns
// are priced, arranged (see widthModel.arrange) and emitted strike by strike, call then put.
func (s *synthetic) emitTime(ti int) {
	cfg := &s.c.cfg
	t := s.times[ti]
	S := s.spot[ti]
	v := s.vix[ti]
	r, q := cfg.Rate, cfg.DividendYield
	L := s.w.stress(v * 100)
	ns := len(s.strikes)
	for ei, e := range s.expiries {
		if e.at <= t {
			continue
		}
		tau := float64(e.at-t) / microsPerYear
		tauIV := max(tau, minTauIV)
		atm := v * math.Pow(tau30/tauIV, cfg.TermSlope)
		skewScale := cfg.Skew / math.Sqrt(tauIV/tau30)
		dq, dr := math.Exp(-q*tau), math.Exp(-r*tau)
		F := S * dq / dr
		sqrtTau := math.Sqrt(tau)
		strikes := s.strikes[e.kLo : e.kHi+1]
		nk := len(strikes)
		for side := range s.col {
			if cap(s.col[side]) < nk {
				s.col[side] = make([]legQuote, nk)
			}
			s.col[side] = s.col[side][:nk]
		}
		calls, puts := s.col[0], s.col[1]
		for i, K := range strikes {
			lnKF := math.Log(K / F)
			sigma := min(max(atm*(1-skewScale*lnKF), minIV), maxGenIV)
			bs := bsCore(S, K, -lnKF-(r-q)*tau, r, q, sigma, tau, sqrtTau, dq, dr) // τ > 0, σ ≥ minIV, S, K > 0
			c, p := &calls[i], &puts[i]
			c.g, p.g = bs.Call, bs.Put
			c.sigma, p.sigma = sigma, sigma
			c.quoted = bs.Call.Price >= cfg.MinPrice
			p.quoted = bs.Put.Price >= cfg.MinPrice
			if c.quoted {
				s.w.initial(c, bs.Call.Price, max(S-K, 0), bs.Call.Vega/100, L)
			}
			if p.quoted {
				s.w.initial(p, bs.Put.Price, max(K-S, 0), bs.Put.Vega/100, L)
			}
		}
		s.w.arrange(calls, strikes, false)
		s.w.arrange(puts, strikes, true)
		for i := range strikes {
			ki := e.kLo + i
			base := (ei*ns + ki) * 2
			if calls[i].quoted {
				s.emit(t, ei, ki, base, Call, &calls[i], S)
			}
			if puts[i].quoted {
				s.emit(t, ei, ki, base+1, Put, &puts[i], S)
			}
		}
	}
}

func (s *synthetic) emit(t int64, ei, ki, slot int, right Right, l *legQuote, S float64) {
	id := s.ids[slot]
	if id == noContract {
		id = s.intern(ei, ki, right)
		s.ids[slot] = id
	}
	s.batch.Quotes = append(s.batch.Quotes, Quote{
		Time:            t,
		Contract:        id,
		Bid:             s.w.price(l.bid),
		Ask:             s.w.price(l.ask),
		UnderlyingPrice: S,
		IV:              l.sigma,
		Delta:           l.g.Delta,
		Gamma:           l.g.Gamma,
		Vega:            l.g.Vega / 100,
		Theta:           l.g.Theta / 365,
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
