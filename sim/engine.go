// Package sim is the deterministic event loop: quotes streamed from a feed
// and scheduled events (entries, broker answers, breaker wake-ups, health
// checks, expiries, equity snapshots) in one priority queue over simulated
// time, driving the entry, monitoring and execution workflows through
// risk.Manager. Nothing here reads the wall clock; all randomness comes from
// the one PRNG the caller passes in.
package sim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/optionsrisk/backtest/feeds"
	"github.com/optionsrisk/backtest/risk"
)

// ErrFeed wraps every error that comes from the quote feed (bad or
// unreadable data), as opposed to the run's own outputs.
var ErrFeed = errors.New("sim: feed")

// Engine runs one simulation. It is single-threaded and used once.
type Engine struct {
	cfg   Config
	src   feeds.Source
	rm    *risk.Manager
	rec   Recorder
	rng   *rand.Rand
	pf    *Portfolio
	sched schedule

	start, end int64 // µs
	now        int64 // current simulated time, µs
	lastQuote  int64 // time of the latest quote applied
	entryAt    time.Duration

	pending    []*order    // accepted by the broker, waiting for quotes
	scratch    []*Position // positions being monitored in this instant
	nextExec   int64
	fillSeq    int64
	posSeq     int64
	opening    int // entry orders in flight
	wakeAt     int64
	peak       float64
	snapQ      int64 // lastQuote at the previous equity snapshot
	healthQ    int64 // lastQuote at the previous health check
	lastSnap   int64 // time of the previous equity snapshot
	lastChange int64 // time a position last opened or closed

	res      Result
	feedDone bool         // the feed has ended; only the period's remaining events run
	replay   *replayState // nil unless the strategy replays a log

	dayCache      sessDay          // the local day of the latest day() call
	closePrintDay int64            // local midnight of the latest closing print
	closePrintAt  int64            // instant of the latest closing print
	staleAfter    int64            // broker.marks.stale_after, µs
	models        byID[modelCache] // model marks of this instant
	waitSig       bool             // an entry signal waits for the day's first quote
	waitDay       int64            // local midnight of the waiting signal's day
	plan          structPlan       // the entry's structure
	cond          *condState       // conditions; nil without any
	strat         Strategy         // Declarative unless UseStrategy
	declarative   bool             // strat is the engine's own Declarative
	mkt           Market           // the Strategy's view of the engine
	posView       PositionView     // reused for Strategy.Exit
	lastStruct    *StructureConfig
	lastPlan      structPlan // plan of lastStruct
	todayMid      int64      // dte's cache: local midnight of today…
	todayOrd      int64      // …and its date ordinal
	ordMemo       [16]ordMemo
	ordNext       int
	exitAt        int64       // strategy.exit.at, µs after local midnight; -1 without
	legBuf        []leg       // choose's scratch
	expo          exposure    // exposure's reused value
	ret           retireState // forgetting contracts no longer needed (retire.go)

	// Progress, if set, is called every few batches with the simulated time
	// and the number of quotes applied so far.
	Progress func(now time.Time, quotes int64)

	afterInstant func() // test hook: after each instant's workflows

	// EventSeq, if set, returns the seq of the last risk event the sink
	// received: attribution stamps each decision with its event's seq.
	EventSeq func() int64
	attr     *attribution // nil: attribution switched off

	// OnDecision, if set, receives each attributed decision's row as soon
	// as it is final (its counterfactual ended and its actual P&L known),
	// in decision order: Result.Attribution then stays empty. An error
	// stops the run.
	OnDecision func(Decision) error
	// OnTrade, if set, receives each trades row as soon as its place in
	// the table is known (trades.go), in table order: Result.Trades then
	// stays empty (Result.TradeCount counts them). An error stops the run.
	OnTrade func(Trade) error
}

// Result summarises a run.
type Result struct {
	Capital     float64 // starting cash
	Quotes      int64
	FirstQuote  int64 // µs
	LastQuote   int64 // µs
	Orders      int64 // orders sent to the broker
	Filled      int64
	Rejected    int64
	Blocked     int64
	Expired     int64
	Cancelled   int64
	NoMarket    int64 // orders not priced: a leg had no fresh quote
	Signals     SignalOutcomes
	Final       Snapshot
	PeakEquity  float64
	MaxDrawdown float64     // fraction of peak
	Trades      []Trade     // sorted by OpenedAt; empty when Engine.OnTrade receives them
	TradeCount  int64       // trades rows, handed on or in Trades
	Replay      ReplayStats // replay strategy only
	// Attribution is every attributed risk decision in decision order
	// (attribution.go); empty when Config.NoAttribution or when
	// Engine.OnDecision receives them.
	Attribution []Decision
	ShadowsMax  int64 // most counterfactual positions alive at once
}

// order is one order in flight.
type order struct {
	pos       *Position
	exit      bool
	reason    string
	placed    int64
	ready     int64
	requested float64
	done      bool
	moc       bool // sent on a closing print: fills on those quotes
}

// New prepares a run. rm carries the risk settings and the event sink; rec
// receives fills and equity snapshots; rng is the run's only randomness.
func New(cfg Config, src feeds.Source, rm *risk.Manager, rec Recorder, rng *rand.Rand) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if src == nil || rm == nil || rec == nil || rng == nil {
		return nil, errors.New("sim: New needs a source, a risk manager, a recorder and a PRNG")
	}
	d := cfg.withDefaults()
	e := &Engine{cfg: d, src: src, rm: rm, rec: rec, rng: rng}
	e.pf = newPortfolio(src.Contracts(), d.Capital)
	e.initRetire(src)
	e.peak = d.Capital
	e.res.Capital = d.Capital
	e.res.Signals.NoContractBy = map[string]int64{}
	e.staleAfter = d.Broker.Marks.StaleAfter.Microseconds()
	if !d.Start.IsZero() {
		e.start = d.Start.UnixMicro()
	}
	e.end = 1<<63 - 1
	if !d.End.IsZero() {
		e.end = d.End.UnixMicro()
	}
	if d.Strategy.Entry.At != "" {
		e.entryAt, _ = parseClock(d.Strategy.Entry.At)
	}
	if !d.NoAttribution {
		e.attr = newAttribution(rm)
	}
	e.plan, _ = d.Strategy.Entry.plan()
	e.cond = newCondState(&d.Strategy)
	e.strat = Declarative{e}
	e.declarative = true
	e.mkt = Market{e}
	e.exitAt = -1
	if d.Strategy.Exit.At != "" {
		at, _ := parseClock(d.Strategy.Exit.At)
		e.exitAt = at.Microseconds()
	}
	return e, nil
}

func utc(us int64) time.Time { return time.UnixMicro(us).UTC() }

// Run replays the feed to its end (or the period's end) and returns the
// summary. Errors from the feed, the recorder or ctx stop the run.
func (e *Engine) Run(ctx context.Context) (Result, error) {
	e.scheduleFirst()
	var (
		batch   *feeds.Batch
		i       int
		group   int64 = -1
		batches int
	)
	for {
		if batch == nil || i >= len(batch.Quotes) {
			if err := ctx.Err(); err != nil {
				return e.res, err
			}
			b, err := e.src.Next(ctx)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				if ctx.Err() != nil {
					return e.res, ctx.Err() // interrupted, not bad data
				}
				return e.res, fmt.Errorf("%w: %w", ErrFeed, err)
			}
			batch, i = b, 0
			if batches++; e.Progress != nil && batches%16 == 0 {
				e.Progress(utc(e.now), e.res.Quotes)
			}
			continue
		}
		q := &batch.Quotes[i]
		i++
		if q.Time < e.start {
			continue
		}
		if q.Time >= e.end {
			break
		}
		if q.Time != group {
			if q.Time < group {
				return e.res, fmt.Errorf("%w: went back in time: %s after %s", ErrFeed, utc(q.Time), utc(group))
			}
			if group >= 0 {
				if err := e.afterQuotes(); err != nil {
					return e.res, err
				}
			}
			if e.cond != nil {
				e.noteDay(q.Time)
			}
			if err := e.runScheduled(q.Time, true); err != nil {
				return e.res, err
			}
			e.settleShadows(q.Time)
			if err := e.flushDecisions(); err != nil {
				return e.res, err
			}
			if err := e.flushTrades(); err != nil {
				return e.res, err
			}
			group = q.Time
			e.now = q.Time
			e.noteInstant(q.Time)
			if q.Time >= e.ret.next {
				e.retireContracts() // once a local day
			}
			if e.res.Quotes == 0 {
				e.res.FirstQuote = q.Time
			}
		}
		// q and the quotes after it at the same instant, in one loop: each
		// would pass the checks above as q did.
		n := e.pf.markRun(batch.Quotes[i-1:])
		i += n - 1
		e.res.Quotes += int64(n)
		e.lastQuote = q.Time
		e.res.LastQuote = q.Time
	}
	if group >= 0 {
		if err := e.afterQuotes(); err != nil {
			return e.res, err
		}
		// The rest of the period still happens without market data:
		// options expire (settling at the last spot), orders time out.
		// No new trades start (entries and replayed rows stop with the
		// data), and health checks and snapshots need new quotes. Events
		// at the last quotes' instant still see them (an entry at the
		// close of an end-of-day feed's last day).
		if err := e.runScheduled(group+1, false); err != nil {
			return e.res, err
		}
		e.feedDone = true
		if err := e.runScheduled(e.end, false); err != nil {
			return e.res, err
		}
	}
	if err := e.finish(); err != nil {
		return e.res, err
	}
	if e.Progress != nil {
		e.Progress(utc(e.now), e.res.Quotes)
	}
	return e.res, nil
}

// runScheduled runs every scheduled event due before the quotes at t (or,
// with beforeQuotes false, every event before t).
func (e *Engine) runScheduled(t int64, beforeQuotes bool) error {
	for {
		it, ok := e.sched.peek()
		if !ok || !(it.at < t || (beforeQuotes && it.before(t))) {
			return nil
		}
		e.sched.pop()
		e.now = it.at
		var err error
		switch it.class {
		case classWake:
			if it.at == e.wakeAt {
				e.wakeAt = 0
				e.rm.Wake(utc(it.at))
				e.scheduleWake()
			}
		case classBroker:
			err = e.brokerAnswer(it.order)
		case classTimeout:
			err = e.timeout(it.order)
		case classExpiry:
			err = e.expire()
		case classEntry:
			if e.feedDone {
				break // no market data: nothing to trade on
			}
			if e.replay != nil {
				err = e.replayRow()
			} else {
				err = e.entrySignal()
			}
		case classHealth:
			e.healthCheck()
		case classEquity:
			err = e.equitySnapshot()
		}
		if err != nil {
			return err
		}
	}
}

// afterQuotes runs once all quotes of an instant are applied: the execution
// workflow fills orders waiting for those quotes, the monitoring workflow
// looks at every open position of each underlying that quoted (once per
// instant, in underlying then open order), and an entry signal waiting for
// the day's first quote runs.
func (e *Engine) afterQuotes() error {
	if len(e.pending) > 0 && e.inSessionOrClose(e.now) {
		kept := e.pending[:0]
		for _, o := range e.pending {
			if o.done {
				continue
			}
			if !e.quotedSince(o.pos, o.ready) || !e.allFresh(o.pos) {
				kept = append(kept, o)
				continue
			}
			done, err := e.fill(o)
			if err != nil {
				return err
			}
			if !done {
				kept = append(kept, o)
			}
		}
		clear(e.pending[len(kept):])
		e.pending = kept
	}
	moved := e.pf.movedList
	slices.Sort(moved)
	today := e.day(e.now)
	for _, u := range moved {
		e.pf.moved[u] = false
		if today.trading && e.now >= today.open && e.pf.openDay[u] != today.midnight {
			e.pf.openDay[u], e.pf.openSpot[u] = today.midnight, e.pf.spots[u]
		}
		e.scratch = append(e.scratch[:0], e.pf.byUnder[u]...)
		for _, pos := range e.scratch {
			if err := e.monitor(pos); err != nil {
				return err
			}
		}
		e.monitorShadows(u)
	}
	clear(e.scratch)
	e.pf.movedList = moved[:0]
	if e.waitSig && !e.feedDone {
		e.waitSig = false
		if e.day(e.now).midnight != e.waitDay {
			e.res.Signals.NoQuote++ // its day passed without a quote
		} else if err := e.enter(); err != nil {
			return err
		}
	}
	if err := e.flushDecisions(); err != nil {
		return err
	}
	if err := e.flushTrades(); err != nil {
		return err
	}
	if e.afterInstant != nil {
		e.afterInstant()
	}
	return nil
}

// quotedSince reports whether every leg of pos has a quote at or after t.
func (e *Engine) quotedSince(pos *Position, t int64) bool {
	for _, l := range pos.Legs() {
		if e.pf.quote(l.id).Time < t {
			return false
		}
	}
	return true
}

// monitor is the monitoring workflow for one open position: it runs on
// every instant its underlying quotes, whether or not its own legs did
// (a leg without a fresh quote is marked by the model).
func (e *Engine) monitor(pos *Position) error {
	if pos.state != posOpen {
		return nil
	}
	now := utc(e.now)
	if pos.exitWanted != "" {
		// Waiting for the breaker (one blocked row when it refused, then a
		// retry only once it can admit an order), for a market in every leg
		// (one no_market row until then) or for the open (closed_market:
		// reject, one rejected row per closed spell).
		if e.now >= pos.closedUntil && e.rm.CanAdmit(now) {
			return e.sendExit(pos, pos.exitWanted)
		}
		return nil
	}
	var (
		bid, ask float64
		why      string
		err      error
	)
	if e.declarative {
		// Declarative.Exit without filling a PositionView it never reads.
		bid, ask = e.netQuote(pos)
		why, err = e.exitRule(pos, bid, ask)
	} else {
		v := e.view(pos)
		bid, ask = v.Bid, v.Ask
		why, err = e.strat.Exit(&e.mkt, v)
	}
	if err != nil || why != "" {
		if err != nil {
			return fmt.Errorf("sim: strategy exit: %w", err)
		}
		return e.sendExit(pos, why)
	}
	var act risk.Action
	if pos.stop != nil { // looked up once, when the stop was added
		act = e.rm.Stops().UpdateStop(pos.stop, bid, ask, now)
	} else {
		if act, err = e.rm.UpdateStop(pos.ExecID, bid, ask, now); err != nil {
			return fmt.Errorf("sim: %w", err)
		}
	}
	if act != risk.Exit {
		return nil
	}
	pos.stopTriggered = true
	reason := "trailing_stop"
	if t := pos.stop; t != nil && math.IsNaN(t.Best()) {
		reason = "stop_loss" // fired before arming: the hard stop
	}
	e.attrStop(pos, reason)
	return e.sendExit(pos, reason)
}

// dte is the number of calendar days from now to expiry in the session's zone.
func (e *Engine) dte(expiry int64) int {
	if d := e.day(e.now); d.midnight != e.todayMid {
		e.todayMid, e.todayOrd = d.midnight, e.dateOrd(e.now)
	}
	return int(e.expiryOrd(expiry) - e.todayOrd)
}

// dateOrd is the local calendar date of t as days since 1970-01-01.
func (e *Engine) dateOrd(t int64) int64 {
	y, m, d := utc(t).In(e.cfg.Session.Loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
}

// expiryOrd is dateOrd of an expiry, memoized (a run sees few expiries).
func (e *Engine) expiryOrd(t int64) int64 {
	for i := range e.ordMemo {
		if m := &e.ordMemo[i]; m.t == t && m.ok {
			return m.ord
		}
	}
	o := e.dateOrd(t)
	e.ordMemo[e.ordNext%len(e.ordMemo)] = ordMemo{t: t, ord: o, ok: true}
	e.ordNext++
	return o
}

type ordMemo struct {
	t, ord int64
	ok     bool
}

func (e *Engine) record(f Fill) error {
	e.fillSeq++
	f.Seq = e.fillSeq
	switch f.Status {
	case StatusFilled:
		e.res.Filled++
	case StatusRejected:
		e.res.Rejected++
	case StatusBlocked:
		e.res.Blocked++
	case StatusExpired:
		e.res.Expired++
	case StatusCancelled:
		e.res.Cancelled++
	case StatusNoMarket:
		e.res.NoMarket++
	}
	if err := e.rec.Fill(f); err != nil {
		return fmt.Errorf("sim: recording fill: %w", err)
	}
	return nil
}

// orderRow is the fills row of an order in its current state.
func (e *Engine) orderRow(pos *Position, exit bool, placed int64, status, reason string, requested float64) Fill {
	side := "sell"
	if pos.Long != exit {
		side = "buy"
	}
	intent := "entry"
	if exit {
		intent = "exit"
	}
	return Fill{
		OrderTime: placed, ExecutionID: pos.ExecID, Symbol: pos.Symbol, Contract: pos.Contract, Multiplier: pos.Mult,
		Side: side, Intent: intent, Qty: pos.Qty, RequestedPrice: requested,
		FillPrice: nan, Slippage: nan, Commission: nan, Status: status, Reason: reason, MidPrice: nan,
	}
}

// sendExit sends a closing order for pos when every leg has a market, the
// market will be open (closed_market: reject) and the breaker allows it.
// Otherwise the exit stays wanted and monitor retries it.
func (e *Engine) sendExit(pos *Position, reason string) error {
	pos.exitWanted = reason
	buy := !pos.Long
	if !e.allFresh(pos) {
		if pos.noMarket {
			return nil // one row per spell without a market
		}
		pos.noMarket = true
		px, _ := e.fillPrice(pos, buy)
		return e.record(e.orderRow(pos, true, e.now, StatusNoMarket, "no fresh quote of every leg: exit waits for the market", px))
	}
	pos.noMarket = false
	requested, _ := e.fillPrice(pos, buy)
	if e.refuseClosed() {
		pos.closedUntil = e.nextOpen(e.now + e.cfg.Broker.Latency.Microseconds())
		return e.record(e.orderRow(pos, true, e.now, StatusRejected, "market closed (broker.closed_market: reject)", requested))
	}
	now := utc(e.now)
	ok, why := e.rm.Allow(now)
	e.scheduleWake()
	if !ok {
		e.attrBlockedExit(pos)
		return e.record(e.orderRow(pos, true, e.now, StatusBlocked, why, requested))
	}
	pos.state = posClosing
	e.send(&order{pos: pos, exit: true, reason: reason, requested: requested})
	return nil
}

// refuseClosed reports whether an order sent now would reach a closed
// market and broker.closed_market is reject. A closing print is not
// closed: an order on it is a market-on-close order.
func (e *Engine) refuseClosed() bool {
	return e.cfg.Broker.ClosedMarket == "reject" && !e.closingPrint() &&
		!e.inSession(e.now+e.cfg.Broker.Latency.Microseconds())
}

// send puts o on its way to the broker: after the latency, or at once for
// a market-on-close order (sent on a closing print whose quotes include
// every leg), which fills on those quotes.
func (e *Engine) send(o *order) {
	o.pos.inflight = o
	o.placed = e.now
	o.ready = e.now + e.cfg.Broker.Latency.Microseconds()
	if e.closingPrint() && e.quotedSince(o.pos, e.now) {
		o.moc, o.ready = true, e.now
	}
	e.res.Orders++
	e.sched.add(item{at: o.ready, class: classBroker, order: o})
}

// brokerAnswer is the execution workflow's first step. An order reaching a
// closed market waits for the next open (closed_market: wait; reject was
// refused before sending); in session the broker rejects (outage or random
// reject) or accepts. A market-on-close order fills on the closing print;
// an accepted order fills on the first fresh quotes of every leg at or
// after this instant, within its limit, and expires after order_timeout of
// session time.
func (e *Engine) brokerAnswer(o *order) error {
	if o.done {
		return nil
	}
	if !o.moc && !e.inSession(e.now) {
		o.ready = e.nextOpen(e.now)
		e.sched.add(item{at: o.ready, class: classBroker, order: o})
		return nil
	}
	if !o.exit && e.now >= o.pos.Expiry {
		return e.unfilled(o, StatusExpired, "options expired before the order reached the market", true)
	}
	reason := ""
	if e.inOutage(e.now) {
		reason = "broker outage: order failed"
	} else if p := e.cfg.Broker.Faults.rejectProb(e.pf.quote(o.pos.legs[0].id).IV); p > 0 && e.rng.Float64() < p {
		reason = fmt.Sprintf("broker rejected the order (reject probability %.3f)", p)
	}
	if reason != "" {
		return e.unfilled(o, StatusRejected, reason, true)
	}
	if o.moc && e.allFresh(o.pos) {
		done, err := e.fill(o)
		if err != nil || done {
			return err
		}
	}
	e.pending = append(e.pending, o)
	e.sched.add(item{at: e.addSessionTime(e.now, e.cfg.Broker.OrderTimeout), class: classTimeout, order: o})
	return nil
}

// timeout ends an accepted order still working after order_timeout of
// session time: expired (a broker answer, a breaker failure) when every leg
// had a fresh quote, so the price or the limit was the obstacle; no_market
// (no breaker failure) when a leg never quoted.
func (e *Engine) timeout(o *order) error {
	if o.done {
		return nil
	}
	if e.quotedSince(o.pos, o.ready) && e.allFresh(o.pos) {
		return e.unfilled(o, StatusExpired, fmt.Sprintf("not filled within its limit in order_timeout %s of session time", e.cfg.Broker.OrderTimeout), true)
	}
	return e.unfilled(o, StatusNoMarket, fmt.Sprintf("no fresh quote of every leg within order_timeout %s of session time", e.cfg.Broker.OrderTimeout), false)
}

// unfilled ends an order the breaker admitted but that did not fill
// (rejected, timed out, without a market, or overtaken by expiry). A broker
// answer (failure true) is a breaker failure. Without one the breaker hears
// nothing, except in half_open, where it is told of a failure so that its
// trial never waits forever (the breaker has no other way to learn that the
// trial ended). An exit is retried on the position's next monitoring once
// the breaker admits orders again.
func (e *Engine) unfilled(o *order, status, reason string, failure bool) error {
	o.done = true
	if failure || e.rm.BreakerState() == risk.StateHalfOpen {
		e.rm.RecordFailure(utc(e.now), reason)
		e.scheduleWake()
	}
	pos := o.pos
	if o.exit {
		if pos.state == posClosing {
			pos.state = posOpen
		}
	} else {
		e.opening--
		e.res.Signals.Broker++
	}
	return e.record(e.orderRow(pos, o.exit, o.placed, status, reason, o.requested))
}

func (e *Engine) inOutage(t int64) bool {
	for _, w := range e.cfg.Broker.Faults.Outages {
		if t >= w.Start.UnixMicro() && t < w.End.UnixMicro() {
			return true
		}
	}
	return false
}

// fill executes o at the fill model's net price on the latest quotes
// (slippage against the order, inside the structure's bounds), commission
// per contract and leg. An entry whose price misses its limit keeps
// working: done is false.
func (e *Engine) fill(o *order) (done bool, err error) {
	pos := o.pos
	if !o.exit && e.now >= pos.Expiry {
		return true, e.unfilled(o, StatusExpired, "options expired before the fill", true)
	}
	buy := pos.Long != o.exit
	price, slip := e.fillPrice(pos, buy)
	if !o.exit && !e.withinLimit(pos, price) {
		return false, nil
	}
	o.done = true
	var contracts int64
	for _, l := range pos.Legs() {
		contracts += abs(l.qty)
	}
	commission := e.cfg.Broker.CommissionPerContract * float64(contracts)
	amount := price * pos.units()
	if buy {
		amount = -amount
	}
	e.pf.flow(pos, amount-commission)
	row := e.orderRow(pos, o.exit, o.placed, StatusFilled, o.reason, o.requested)
	row.FillTime, row.FillPrice, row.Slippage, row.Commission = e.now, price, slip, commission
	row.MidPrice = e.netMid(pos)
	if !o.exit {
		e.opening--
	}
	return true, e.filled(pos, o.exit, price, o.reason, row)
}

// filled books a fill of pos at net premium: the exit closes the position,
// the entry opens it with its trailing stop and expiry; then the breaker
// hears of the success, the row is recorded and limits health is checked
// (DESIGN.md: after every fill).
func (e *Engine) filled(pos *Position, exit bool, net float64, reason string, row Fill) error {
	now := utc(e.now)
	if exit {
		if err := e.close(pos, net, reason); err != nil {
			return err
		}
	} else {
		e.lastChange = e.now
		pos.state = posOpen
		pos.EntryPremium = net
		pos.OpenedAt = e.now
		e.pf.add(pos)
		side := risk.Short
		if pos.Long {
			side = risk.Long
		}
		if err := e.rm.AddStop(now, risk.Position{
			ExecutionID: pos.ExecID, Symbol: pos.Symbol, Contract: pos.Contract,
			Side: side, EntryPremium: max(net, minPremium),
		}); err != nil {
			return fmt.Errorf("sim: %w", err)
		}
		pos.stop, _ = e.rm.Stops().Get(pos.ExecID) // nil: the layer is off
		e.sched.add(item{at: pos.Expiry, class: classExpiry})
		e.res.Signals.Opened++
	}
	e.rm.RecordSuccess(now)
	e.scheduleWake()
	if err := e.record(row); err != nil {
		return err
	}
	e.rm.CheckHealth(now, e.exposure())
	e.healthQ = e.lastQuote
	return nil
}

// close books a position's exit.
func (e *Engine) close(pos *Position, exitPremium float64, reason string) error {
	e.lastChange = e.now
	pos.state = posClosed
	pos.ClosedAt = e.now
	pos.ExitPremium = exitPremium
	pos.ExitReason = reason
	pos.exitWanted = ""
	e.pf.realized += pos.cash
	e.pf.remove(pos)
	if !pos.stopTriggered {
		if err := e.rm.RemoveStop(utc(e.now), pos.ExecID, "position closed: "+reason); err != nil {
			return fmt.Errorf("sim: %w", err)
		}
	} else {
		e.rm.ForgetStop(pos.ExecID) // its trigger was its last event
	}
	pos.stop = nil
	return nil
}

// expire settles every position whose options expire now at intrinsic value,
// using the underlying price of the last quote.
func (e *Engine) expire() error {
	var due []*Position
	for _, pos := range e.pf.open {
		if pos.Expiry <= e.now {
			due = append(due, pos)
		}
	}
	for _, pos := range due {
		if o := pos.inflight; o != nil && !o.done {
			if err := e.unfilled(o, StatusExpired, "options expired before the fill", true); err != nil {
				return err
			}
		}
		spot, how := e.settlementSpot(pos)
		net := 0.0
		reason := "expired: settled at intrinsic value"
		for _, l := range pos.Legs() {
			v := e.settleLeg(pos, l, spot)
			if l.expiry > pos.Expiry {
				reason = "expired: front legs settled at intrinsic value, later legs at their mark"
			}
			e.pf.flow(pos, float64(l.qty)*v*pos.Mult)
			net += l.ratio * v
		}
		net *= pos.sign()
		row := e.orderRow(pos, true, e.now, StatusSettled, reason+" against "+how, nan)
		row.FillTime, row.FillPrice, row.Slippage, row.Commission = e.now, net, 0, 0
		if err := e.record(row); err != nil {
			return err
		}
		if err := e.close(pos, net, "expiry"); err != nil {
			return err
		}
	}
	return nil
}

// settlementSpot is the underlying price pos settles against, and how it
// was taken. PM-settled options settle at the latest price (the close);
// AM-settled ones (feeds.SettleAM: SPX, NDX, RUT monthlies) at the first
// price at or after the open of the expiry day, or at the latest price
// when the feed had none that morning (said in the reason).
func (e *Engine) settlementSpot(pos *Position) (float64, string) {
	spot := e.pf.spot(pos.Symbol)
	if e.pf.contract(pos.frontLeg().id).Settlement != feeds.SettleAM {
		return spot, "the closing price"
	}
	u := slices.Index(e.pf.unders, pos.Symbol)
	if u >= 0 && e.pf.openDay[u] == e.day(pos.Expiry).midnight {
		return e.pf.openSpot[u], "the opening price (AM settlement)"
	}
	return spot, "the latest price (AM settlement, no quote after the open that day)"
}

// frontLeg is a leg of pos's first expiry: its settlement style decides
// the settlement price.
func (p *Position) frontLeg() leg {
	for _, l := range p.Legs() {
		if l.expiry == p.Expiry {
			return l
		}
	}
	return p.legs[0]
}

// settleLeg is leg l's value per share when pos's first expiry settles at
// spot: intrinsic value, or, for a later leg of a calendar or diagonal
// (sold or bought back then), its mark.
func (e *Engine) settleLeg(pos *Position, l leg, spot float64) float64 {
	if l.expiry > pos.Expiry {
		return e.markLeg(l.id).mid
	}
	return intrinsic(e.pf.contract(l.id), spot)
}

func (e *Engine) healthCheck() {
	if d := e.cfg.HealthEvery; e.now+d.Microseconds() < e.end {
		e.sched.add(item{at: e.now + d.Microseconds(), class: classHealth})
	}
	if e.lastQuote == e.healthQ || len(e.pf.open) == 0 {
		return // market closed since the last check, or nothing to check
	}
	e.healthQ = e.lastQuote
	e.rm.CheckHealth(utc(e.now), e.exposure())
}

func (e *Engine) equitySnapshot() error {
	if d := e.cfg.EquityEvery; e.now+d.Microseconds() < e.end {
		e.sched.add(item{at: e.now + d.Microseconds(), class: classEquity})
	}
	if e.lastQuote == e.snapQ {
		return nil
	}
	return e.snapshot()
}

func (e *Engine) snapshot() error {
	e.snapQ = e.lastQuote
	e.lastSnap = e.now
	s := e.portfolioSnapshot()
	e.peak = max(e.peak, s.Equity)
	dd := 0.0
	if e.peak > 0 {
		dd = (e.peak - s.Equity) / e.peak
	}
	e.res.MaxDrawdown = max(e.res.MaxDrawdown, dd)
	e.res.PeakEquity = e.peak
	p := EquityPoint{
		Time: e.now, Equity: s.Equity, Cash: s.Cash, RealizedPnL: s.Realized, UnrealizedPnL: s.Unrealized,
		Delta: s.Delta, Gamma: s.Gamma, Drawdown: dd, OpenPositions: int64(s.Open),
		UnderlyingPrice: e.pf.underlyingPrice(), ModelMarks: int64(s.ModelMarks),
	}
	if err := e.rec.Equity(p); err != nil {
		return fmt.Errorf("sim: recording equity: %w", err)
	}
	return nil
}

// finish cancels orders still in flight, takes the closing snapshot and
// collects the trades.
func (e *Engine) finish() error {
	for _, it := range e.sched.items {
		if it.class == classBroker && !it.order.done {
			e.pending = append(e.pending, it.order)
		}
	}
	slices.SortStableFunc(e.pending, func(a, b *order) int { return cmpInt(a.placed, b.placed) })
	for _, o := range e.pending {
		if o.done {
			continue
		}
		o.done = true
		if !o.exit {
			e.res.Signals.Broker++
		}
		if err := e.record(e.orderRow(o.pos, o.exit, o.placed, StatusCancelled, "end of data before the fill", o.requested)); err != nil {
			return err
		}
	}
	e.pending = nil
	if e.res.Quotes > 0 && (e.lastQuote != e.snapQ || e.lastChange > e.lastSnap) {
		e.now = max(e.lastQuote, e.lastChange)
		if err := e.snapshot(); err != nil {
			return err
		}
	}
	if rs := e.replay; rs != nil {
		e.res.Replay = ReplayStats{ExitsPreempted: rs.ExitsPreempted, Unquoted: rs.Unquoted, Refused: int64(len(rs.refused))}
	}
	if e.waitSig {
		e.waitSig = false
		e.res.Signals.NoQuote++
	}
	e.res.Final = e.portfolioSnapshot()
	e.res.PeakEquity = e.peak
	if err := e.finishTrades(); err != nil {
		return err
	}
	return e.finishAttribution()
}

func (e *Engine) scheduleWake() {
	w, ok := e.rm.NextWakeup()
	if !ok {
		return
	}
	if at := w.UnixMicro(); at != e.wakeAt {
		e.wakeAt = at
		e.sched.add(item{at: at, class: classWake})
	}
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
