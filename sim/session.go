package sim

import (
	"time"

	"github.com/optionsrisk/backtest/feeds"
)

// This file owns session time: the scenario's daily session intersected
// with the exchange calendar (feeds.IsTradingDay, feeds.SessionClose). A
// day that is not a trading day has no session; an early close ends the
// session at 13:00 New York even when the scenario's session runs later.

// sessDay is one local calendar day of the session's zone.
type sessDay struct {
	midnight, next int64 // [midnight, next) is the local day, µs
	open, close    int64 // the session; open == close when there is none
	trading        bool
}

// newYork is the exchange's zone, for the calendar's closes.
var newYork = func() *time.Location {
	l, err := time.LoadLocation("America/New_York")
	if err != nil {
		panic("sim: no America/New_York zone: " + err.Error())
	}
	return l
}()

// dayOf computes the local day y-m-d.
func (e *Engine) dayOf(y int, m time.Month, d int) sessDay {
	loc := e.cfg.Session.Loc
	mid := time.Date(y, m, d, 0, 0, 0, 0, loc)
	s := sessDay{midnight: mid.UnixMicro(), next: time.Date(y, m, d+1, 0, 0, 0, 0, loc).UnixMicro()}
	date := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	s.open, s.close = s.midnight, s.midnight
	if !feeds.IsTradingDay(date) {
		return s
	}
	open := mid.Add(e.cfg.Session.Open).UnixMicro()
	cls := mid.Add(e.cfg.Session.Close).UnixMicro()
	exch := time.Date(y, m, d, 0, 0, 0, 0, newYork).Add(feeds.SessionClose(date)).UnixMicro()
	cls = min(cls, exch)
	if open < cls {
		s.open, s.close, s.trading = open, cls, true
	}
	return s
}

// day is the local day containing t (cached: one day at a time).
func (e *Engine) day(t int64) sessDay {
	if c := &e.dayCache; c.next != 0 && t >= c.midnight && t < c.next {
		return *c
	}
	y, m, d := utc(t).In(e.cfg.Session.Loc).Date()
	e.dayCache = e.dayOf(y, m, d)
	return e.dayCache
}

// midnightOf is day(t).midnight, the cached day read in place.
func (e *Engine) midnightOf(t int64) int64 {
	if c := &e.dayCache; c.next != 0 && t >= c.midnight && t < c.next {
		return c.midnight
	}
	return e.day(t).midnight
}

// dayFor is the local day containing t, without touching the cache (for
// walks over days).
func (e *Engine) dayFor(t int64) sessDay {
	y, m, d := utc(t).In(e.cfg.Session.Loc).Date()
	return e.dayOf(y, m, d)
}

// nextDay is the local day after s.
func (e *Engine) nextDay(s sessDay) sessDay { return e.dayFor(s.next) }

// inSession reports whether the market is open at t: a trading day, at or
// after the open and before the close.
func (e *Engine) inSession(t int64) bool {
	d := e.day(t)
	return d.trading && t >= d.open && t < d.close
}

// inSessionOrClose is inSession, the closing instant included: a quote
// stamped at the close still belongs to its session.
func (e *Engine) inSessionOrClose(t int64) bool {
	d := e.day(t)
	return d.trading && t >= d.open && t <= d.close
}

// maxDays bounds every walk over days (ten years).
const maxDays = 3660

// nextOpen is t when the market is open at t, else the next session open.
func (e *Engine) nextOpen(t int64) int64 {
	d := e.dayFor(t)
	for range maxDays {
		if d.trading && t < d.close {
			return max(t, d.open)
		}
		d = e.nextDay(d)
	}
	return 1<<63 - 1
}

// addSessionTime is the instant at which dur of session time has passed
// since t: nights, weekends and holidays do not count.
func (e *Engine) addSessionTime(t int64, dur time.Duration) int64 {
	left := dur.Microseconds()
	t = e.nextOpen(t)
	for range maxDays {
		d := e.dayFor(t)
		if room := d.close - t; left <= room {
			return t + left
		} else {
			left -= room
		}
		t = e.nextOpen(d.close)
	}
	return 1<<63 - 1
}

// noteInstant records whether the quotes of instant t are a closing print:
// the first quotes at or after the session close of a trading day (an
// end-of-day feed's daily quotes, or an intraday feed's 16:00 quotes).
func (e *Engine) noteInstant(t int64) {
	d := e.day(t)
	if d.trading && t >= d.close && e.closePrintDay != d.midnight {
		e.closePrintDay, e.closePrintAt = d.midnight, t
	}
}

// closingPrint reports whether the quotes of the current instant are a
// closing print. An order sent on them is a market-on-close order (see send).
func (e *Engine) closingPrint() bool {
	return e.now == e.closePrintAt && e.lastQuote == e.now
}
