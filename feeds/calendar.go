package feeds

import (
	"time"
)

// The exchange calendar of US equity options (NYSE and Cboe share it): trading days, holidays
// and 13:00 early closes. It is computed by rule, with no table to keep up to date beyond the
// one-off closures below, and no state (safe for concurrent use, deterministic).
//
// Regular holidays (the exchange is closed on the observed weekday):
//   - New Year's Day, January 1; on a Sunday the Monday after; on a Saturday no holiday at all
//     (NYSE Rule 7.2: Friday December 31 stays a trading day, as in 2004, 2010 and 2021).
//   - Martin Luther King Jr. Day, third Monday of January, from 1998.
//   - Presidents' Day (Washington's Birthday), third Monday of February.
//   - Good Friday, two days before Western Easter (anonymous Gregorian computus).
//   - Memorial Day, last Monday of May.
//   - Juneteenth, June 19, from 2022 (it was a trading day in 2021).
//   - Independence Day, July 4.
//   - Labor Day, first Monday of September.
//   - Thanksgiving Day, fourth Thursday of November.
//   - Christmas Day, December 25.
//
// Juneteenth, Independence Day and Christmas on a Saturday are observed the Friday before,
// on a Sunday the Monday after.
//
// One-off closures 2000–2030: 2001-09-11 to 2001-09-14 (September 11 attacks), 2004-06-11
// (Ronald Reagan), 2007-01-02 (Gerald Ford), 2012-10-29 and 2012-10-30 (Hurricane Sandy),
// 2018-12-05 (George H. W. Bush), 2025-01-09 (Jimmy Carter).
//
// Early closes at 13:00 New York (options on equities and ETFs close with the stocks):
//   - July 3 on a Monday, Tuesday or Thursday; on a Wednesday from 2013 (2013-07-03 was the
//     first); before 2013, July 5 on a Friday instead (2002-07-05). A July 3 that is the
//     observed Independence Day is a holiday, and when July 4 is a Saturday there is no early
//     close that week (2015, 2020, 2026).
//   - The day after Thanksgiving.
//   - December 24 on a Monday to Thursday (on a Friday it is the observed Christmas).
//   - One-off: 2003-12-26.
//
// These rules reproduce the NYSE's published holiday and early-close lists for 2000–2030 (the
// same as the XNYS calendars of pandas_market_calendars and exchange_calendars). Outside
// 2000–2030 the calendar applies the same rules (weekends and the rule-based holidays and early
// closes) and knows no one-off closure or early close.
//
// Every function takes a calendar date: only d.Date() (year, month, day in d's own location)
// is used; the clock and the zone are ignored.

// SessionOpen is the regular open of a trading day as an offset from local midnight in New York.
const SessionOpen = 9*time.Hour + 30*time.Minute

// Regular and early session closes, offsets from local midnight in New York.
const (
	RegularClose = 16 * time.Hour
	EarlyClose   = 13 * time.Hour
)

// Calendar range with one-off events; outside it the rules alone apply.
const (
	CalendarFirstYear = 2000
	CalendarLastYear  = 2030
)

type civilDate struct {
	y int
	m time.Month
	d int
}

func dateOf(t time.Time) civilDate {
	y, m, d := t.Date()
	return civilDate{y, m, d}
}

// weekday of a civil date (computed in UTC: independent of any zone's transitions).
func (c civilDate) weekday() time.Weekday {
	return time.Date(c.y, c.m, c.d, 0, 0, 0, 0, time.UTC).Weekday()
}

func (c civilDate) utc() time.Time { return time.Date(c.y, c.m, c.d, 0, 0, 0, 0, time.UTC) }

func (c civilDate) addDays(n int) civilDate { return dateOf(c.utc().AddDate(0, 0, n)) }

// oneOffClosures are the unscheduled full-day closures of 2000–2030.
var oneOffClosures = [...]struct {
	date civilDate
	name string
}{
	{civilDate{2001, time.September, 11}, "September 11 attacks"},
	{civilDate{2001, time.September, 12}, "September 11 attacks"},
	{civilDate{2001, time.September, 13}, "September 11 attacks"},
	{civilDate{2001, time.September, 14}, "September 11 attacks"},
	{civilDate{2004, time.June, 11}, "National Day of Mourning for Ronald Reagan"},
	{civilDate{2007, time.January, 2}, "National Day of Mourning for Gerald Ford"},
	{civilDate{2012, time.October, 29}, "Hurricane Sandy"},
	{civilDate{2012, time.October, 30}, "Hurricane Sandy"},
	{civilDate{2018, time.December, 5}, "National Day of Mourning for George H. W. Bush"},
	{civilDate{2025, time.January, 9}, "National Day of Mourning for Jimmy Carter"},
}

// oneOffEarlyCloses are the unscheduled 13:00 closes of 2000–2030.
var oneOffEarlyCloses = [...]civilDate{
	{2003, time.December, 26},
}

// nthWeekday is the n-th (1-based) weekday wd of month m; n = -1 is the last.
func nthWeekday(y int, m time.Month, wd time.Weekday, n int) civilDate {
	if n < 0 {
		last := time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC)
		back := (int(last.Weekday()) - int(wd) + 7) % 7
		return dateOf(last.AddDate(0, 0, -back))
	}
	first := time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
	fwd := (int(wd) - int(first.Weekday()) + 7) % 7
	return civilDate{y, m, 1 + fwd + 7*(n-1)}
}

// easter is Western (Gregorian) Easter Sunday: the anonymous Gregorian algorithm
// (Meeus/Jones/Butcher).
func easter(y int) civilDate {
	a := y % 19
	b, c := y/100, y%100
	d, e := b/4, b%4
	f := (b + 8) / 25
	g := (b - f + 1) / 3
	h := (19*a + b - d - g + 15) % 30
	i, k := c/4, c%4
	l := (32 + 2*e + 2*i - h - k) % 7
	m := (a + 11*h + 22*l) / 451
	month := (h + l - 7*m + 114) / 31
	day := (h+l-7*m+114)%31 + 1
	return civilDate{y, time.Month(month), day}
}

// observedFixed is the weekday a fixed-date holiday is observed on: Saturday → Friday,
// Sunday → Monday.
func observedFixed(c civilDate) civilDate {
	switch c.weekday() {
	case time.Saturday:
		return c.addDays(-1)
	case time.Sunday:
		return c.addDays(1)
	}
	return c
}

// ruleHoliday names the regular holiday observed on weekday c, if any.
func ruleHoliday(c civilDate) (string, bool) {
	y := c.y
	switch c.m {
	case time.January:
		// New Year's Day: Sunday → Monday; Saturday → none.
		ny := civilDate{y, time.January, 1}
		switch ny.weekday() {
		case time.Saturday:
		case time.Sunday:
			if c == ny.addDays(1) {
				return "New Year's Day (observed)", true
			}
		default:
			if c == ny {
				return "New Year's Day", true
			}
		}
		if y >= 1998 && c == nthWeekday(y, time.January, time.Monday, 3) {
			return "Martin Luther King Jr. Day", true
		}
	case time.February:
		if c == nthWeekday(y, time.February, time.Monday, 3) {
			return "Presidents' Day", true
		}
	case time.May:
		if c == nthWeekday(y, time.May, time.Monday, -1) {
			return "Memorial Day", true
		}
	case time.September:
		if c == nthWeekday(y, time.September, time.Monday, 1) {
			return "Labor Day", true
		}
	case time.November:
		if c == nthWeekday(y, time.November, time.Thursday, 4) {
			return "Thanksgiving Day", true
		}
	}
	if c.m == time.March || c.m == time.April {
		if c == easter(y).addDays(-2) {
			return "Good Friday", true
		}
	}
	for _, f := range [...]struct {
		m    time.Month // the observed day is in the same month (June 18–20, July 3–5, December 24–26)
		d    int
		from int
		name string
	}{
		{time.June, 19, 2022, "Juneteenth"},
		{time.July, 4, 0, "Independence Day"},
		{time.December, 25, 0, "Christmas Day"},
	} {
		if c.m != f.m || y < f.from {
			continue
		}
		day := civilDate{y, f.m, f.d}
		if obs := observedFixed(day); obs == c {
			if obs != day {
				return f.name + " (observed)", true
			}
			return f.name, true
		}
	}
	return "", false
}

// Holiday reports whether the exchange is closed on weekday d for a holiday or a one-off
// closure, and names it ("Good Friday", "Juneteenth", "Christmas Day (observed)",
// "Hurricane Sandy", ...). Weekends are not holidays: a Saturday or Sunday gives ("", false)
// even when it is, say, July 4 (see IsTradingDay).
func Holiday(d time.Time) (name string, ok bool) {
	c := dateOf(d)
	if wd := c.weekday(); wd == time.Saturday || wd == time.Sunday {
		return "", false
	}
	if c.y >= CalendarFirstYear && c.y <= CalendarLastYear {
		for _, o := range oneOffClosures {
			if o.date == c {
				return o.name, true
			}
		}
	}
	return ruleHoliday(c)
}

// IsTradingDay reports whether the exchange is open on date d: a weekday that is not a holiday.
func IsTradingDay(d time.Time) bool {
	c := dateOf(d)
	if wd := c.weekday(); wd == time.Saturday || wd == time.Sunday {
		return false
	}
	_, hol := Holiday(d)
	return !hol
}

// IsEarlyClose reports whether date d is a trading day that closes at 13:00 New York.
func IsEarlyClose(d time.Time) bool {
	if !IsTradingDay(d) {
		return false
	}
	c := dateOf(d)
	wd := c.weekday()
	switch {
	case c.m == time.July && c.d == 3:
		return wd == time.Monday || wd == time.Tuesday || wd == time.Thursday || (wd == time.Wednesday && c.y >= 2013)
	case c.m == time.July && c.d == 5:
		return wd == time.Friday && c.y < 2013
	case c.m == time.November && c.d >= 23:
		return c == nthWeekday(c.y, time.November, time.Thursday, 4).addDays(1)
	case c.m == time.December && c.d == 24:
		return wd >= time.Monday && wd <= time.Thursday
	}
	if c.y >= CalendarFirstYear && c.y <= CalendarLastYear {
		for _, o := range oneOffEarlyCloses {
			if o == c {
				return true
			}
		}
	}
	return false
}

// SessionClose is the regular close of a trading day as an offset from local midnight in New
// York: 16:00, or 13:00 on early closes. It does not check that d is a trading day.
func SessionClose(d time.Time) time.Duration {
	if IsEarlyClose(d) {
		return EarlyClose
	}
	return RegularClose
}

// TradingDayOnOrBefore is the last trading day on or before date d, at midnight UTC.
func TradingDayOnOrBefore(d time.Time) time.Time {
	t := dateOf(d).utc()
	for !IsTradingDay(t) {
		t = t.AddDate(0, 0, -1)
	}
	return t
}

// NextTradingDay is the first trading day strictly after date d, at midnight UTC.
func NextTradingDay(d time.Time) time.Time {
	t := dateOf(d).utc().AddDate(0, 0, 1)
	for !IsTradingDay(t) {
		t = t.AddDate(0, 0, 1)
	}
	return t
}

// ExpiryOnTradingDay moves an expiry instant onto the exchange calendar. The expiry's date is
// its date in New York. When that date is not a trading day (a Good Friday weekly, a Juneteenth
// Friday, a Christmas-observed Friday) the expiry moves to the previous trading day, keeping
// its New York clock time, as the exchanges list such series. Then, on an early-close day, a
// clock time after 13:00 becomes 13:00 New York: the options stop trading and settle at that
// day's close (the Friday after Thanksgiving weekly, for one). An expiry already on a
// full-session trading day is returned unchanged (in UTC).
func ExpiryOnTradingDay(expiry time.Time) time.Time {
	ny := expiry.In(newYork)
	y, m, d := ny.Date()
	clock := ny.Sub(time.Date(y, m, d, 0, 0, 0, 0, newYork))
	day := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	moved := false
	if !IsTradingDay(day) {
		day = TradingDayOnOrBefore(day)
		moved = true
	}
	if cl := SessionClose(day); clock > cl {
		clock = cl
		moved = true
	}
	if !moved {
		return expiry.UTC()
	}
	y, m, d = day.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, newYork).Add(clock).UTC()
}
