package feeds

import (
	"strings"
	"testing"
	"time"
)

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

// Holidays from the NYSE's published lists (and pandas_market_calendars' XNYS), with a word
// of the expected name.
func TestCalendarHolidays(t *testing.T) {
	cases := []struct{ date, name string }{
		{"2000-01-17", "Martin Luther King"},
		{"2000-04-21", "Good Friday"},
		{"2001-09-11", "September 11"},
		{"2001-09-12", "September 11"},
		{"2001-09-13", "September 11"},
		{"2001-09-14", "September 11"},
		{"2002-07-04", "Independence Day"},
		{"2004-06-11", "Reagan"},
		{"2004-12-24", "Christmas Day (observed)"},
		{"2006-01-02", "New Year's Day (observed)"},
		{"2007-01-02", "Ford"},
		{"2009-07-03", "Independence Day (observed)"},
		{"2010-12-24", "Christmas Day (observed)"},
		{"2012-10-29", "Hurricane Sandy"},
		{"2012-10-30", "Hurricane Sandy"},
		{"2015-07-03", "Independence Day (observed)"},
		{"2016-12-26", "Christmas Day (observed)"},
		{"2017-01-02", "New Year's Day (observed)"},
		{"2018-12-05", "Bush"},
		{"2019-04-19", "Good Friday"},
		{"2020-01-20", "Martin Luther King"},
		{"2020-02-17", "Presidents' Day"},
		{"2020-04-10", "Good Friday"},
		{"2020-05-25", "Memorial Day"},
		{"2020-07-03", "Independence Day (observed)"},
		{"2020-09-07", "Labor Day"},
		{"2020-11-26", "Thanksgiving Day"},
		{"2020-12-25", "Christmas Day"},
		{"2021-07-05", "Independence Day (observed)"},
		{"2021-12-24", "Christmas Day (observed)"},
		{"2022-06-20", "Juneteenth (observed)"},
		{"2022-12-26", "Christmas Day (observed)"},
		{"2023-01-02", "New Year's Day (observed)"},
		{"2023-06-19", "Juneteenth"},
		{"2024-03-29", "Good Friday"},
		{"2025-01-09", "Carter"},
		{"2025-04-18", "Good Friday"},
		{"2026-07-03", "Independence Day (observed)"},
		{"2027-06-18", "Juneteenth (observed)"},
		{"2027-12-24", "Christmas Day (observed)"},
		{"2028-12-25", "Christmas Day"},
		{"2030-04-19", "Good Friday"},
	}
	for _, c := range cases {
		name, ok := Holiday(day(c.date))
		if !ok || !strings.Contains(name, c.name) {
			t.Errorf("Holiday(%s) = %q, %v; want a holiday containing %q", c.date, name, ok, c.name)
		}
		if IsTradingDay(day(c.date)) {
			t.Errorf("IsTradingDay(%s) = true on %s", c.date, c.name)
		}
		if IsEarlyClose(day(c.date)) {
			t.Errorf("IsEarlyClose(%s) = true on a holiday", c.date)
		}
	}
}

// Weekdays that look like holidays but are trading days.
func TestCalendarTradingDaysNearHolidays(t *testing.T) {
	for _, d := range []string{
		"2004-12-31", // New Year's Day 2005 is a Saturday: no Friday holiday
		"2010-12-31", // same, 2011
		"2021-12-31", // same, 2022
		"2021-06-18", // Juneteenth starts in 2022
		"2021-06-21",
		"2001-09-17", // reopened after September 11
		"2001-09-10",
		"2012-10-31", // reopened after Sandy
		"2025-01-10",
		"2025-12-26", // Friday after a Thursday Christmas: a full day
		"2014-12-26",
		"2008-12-26",
		"2020-04-09", // the Thursday before Good Friday
		"2026-07-02", // no early close nor holiday the Thursday before the observed July 3
		"2020-10-12", // Columbus Day: the exchange is open
		"2020-11-11", // Veterans Day: open
	} {
		if !IsTradingDay(day(d)) {
			name, _ := Holiday(day(d))
			t.Errorf("IsTradingDay(%s) = false (%q); want a trading day", d, name)
		}
	}
}

func TestCalendarEarlyCloses(t *testing.T) {
	early := []string{
		"2000-07-03", "2000-11-24",
		"2001-07-03", "2001-12-24",
		"2002-07-05", // Friday after a Thursday July 4, before 2013
		"2002-12-24",
		"2003-07-03", "2003-12-24", "2003-12-26",
		"2006-07-03", "2008-07-03", "2009-11-27", "2009-12-24",
		"2012-07-03", "2013-07-03", "2013-11-29", "2013-12-24",
		"2017-07-03", "2018-07-03", "2018-12-24",
		"2019-07-03", "2019-11-29", "2019-12-24",
		"2020-11-27", "2020-12-24",
		"2021-11-26",
		"2022-11-25",
		"2023-07-03", "2023-11-24",
		"2024-07-03", "2024-11-29", "2024-12-24",
		"2025-07-03", "2025-11-28", "2025-12-24",
		"2026-11-27", "2026-12-24",
		"2030-07-03",
	}
	for _, d := range early {
		if !IsEarlyClose(day(d)) {
			t.Errorf("IsEarlyClose(%s) = false; want a 13:00 close", d)
		}
		if got := SessionClose(day(d)); got != 13*time.Hour {
			t.Errorf("SessionClose(%s) = %v; want 13h", d, got)
		}
	}
	for _, d := range []string{
		"2002-07-03", // a Wednesday before 2013: full day (the early close was July 5)
		"2007-07-05", "2013-07-05",
		"2008-12-26", "2014-12-26", "2025-12-26",
		"2020-07-02", "2015-07-02", "2026-07-02", // July 4 on a Saturday: no early close
		"2021-12-23", "2022-12-23", "2021-12-31",
		"2020-03-16",
	} {
		if IsEarlyClose(day(d)) {
			t.Errorf("IsEarlyClose(%s) = true; want a full session", d)
		}
		if got := SessionClose(day(d)); got != 16*time.Hour {
			t.Errorf("SessionClose(%s) = %v; want 16h", d, got)
		}
	}
	// Observed holidays on a July 3 / December 24 are not early closes.
	for _, d := range []string{"2020-07-03", "2021-12-24", "2027-12-24", "2015-07-03"} {
		if IsEarlyClose(day(d)) {
			t.Errorf("IsEarlyClose(%s) = true on an observed holiday", d)
		}
	}
}

// Trading days per year against the published counts.
func TestCalendarTradingDaysPerYear(t *testing.T) {
	want := map[int]int{2001: 248, 2012: 250, 2016: 252, 2018: 251, 2019: 252, 2020: 253, 2021: 252, 2022: 251, 2023: 250, 2024: 252}
	for _, y := range []int{2001, 2012, 2016, 2018, 2019, 2020, 2021, 2022, 2023, 2024} {
		n := 0
		for d := time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() == y; d = d.AddDate(0, 0, 1) {
			if IsTradingDay(d) {
				n++
			}
		}
		if n != want[y] {
			t.Errorf("%d: %d trading days; want %d", y, n, want[y])
		}
	}
}

// Every weekend day of 1990–2040 is closed; every weekday is either a trading day or a
// named holiday; holidays per year stay within the rule set's bounds.
func TestCalendarProperties(t *testing.T) {
	for d := time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() <= 2040; d = d.AddDate(0, 0, 1) {
		wd := d.Weekday()
		weekend := wd == time.Saturday || wd == time.Sunday
		name, hol := Holiday(d)
		switch {
		case weekend && (IsTradingDay(d) || hol || IsEarlyClose(d)):
			t.Fatalf("%s (%v): trading %v, holiday %v, early %v", d.Format(time.DateOnly), wd, IsTradingDay(d), hol, IsEarlyClose(d))
		case !weekend && IsTradingDay(d) == hol:
			t.Fatalf("%s: trading %v and holiday %q %v", d.Format(time.DateOnly), IsTradingDay(d), name, hol)
		case hol && name == "":
			t.Fatalf("%s: unnamed holiday", d.Format(time.DateOnly))
		}
		next := NextTradingDay(d)
		if !next.After(d) || !IsTradingDay(next) || next.Sub(d) > 7*24*time.Hour {
			t.Fatalf("NextTradingDay(%s) = %s", d.Format(time.DateOnly), next.Format(time.DateOnly))
		}
		for x := d.AddDate(0, 0, 1); x.Before(next); x = x.AddDate(0, 0, 1) {
			if IsTradingDay(x) {
				t.Fatalf("NextTradingDay(%s) = %s skips %s", d.Format(time.DateOnly), next.Format(time.DateOnly), x.Format(time.DateOnly))
			}
		}
		prev := TradingDayOnOrBefore(d)
		if prev.After(d) || !IsTradingDay(prev) || (IsTradingDay(d) && !prev.Equal(d)) {
			t.Fatalf("TradingDayOnOrBefore(%s) = %s", d.Format(time.DateOnly), prev.Format(time.DateOnly))
		}
	}
	for y := 1990; y <= 2040; y++ {
		hols := 0
		for d := time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() == y; d = d.AddDate(0, 0, 1) {
			if _, ok := Holiday(d); ok {
				hols++
			}
		}
		lo, hi := 8, 10 // 9 or 10 rule holidays, one fewer when New Year's Day is a Saturday
		if y < 1998 {
			lo, hi = 7, 9 // no Martin Luther King Jr. Day
		}
		if y == 2001 {
			hi = 14
		}
		if y == 2012 || y == 2004 || y == 2007 || y == 2018 || y == 2025 {
			hi = 12
		}
		if hols < lo || hols > hi {
			t.Errorf("%d: %d holidays; want %d to %d", y, hols, lo, hi)
		}
	}
}

// Only the date counts: the clock and the zone are ignored, and results are midnight UTC.
func TestCalendarIgnoresClockAndZone(t *testing.T) {
	tokyo := time.FixedZone("JST", 9*3600)
	gf := time.Date(2020, 4, 10, 23, 59, 0, 0, tokyo) // Good Friday in its own zone
	if IsTradingDay(gf) {
		t.Error("Good Friday 23:59 JST is a trading day")
	}
	got := TradingDayOnOrBefore(gf)
	if want := time.Date(2020, 4, 9, 0, 0, 0, 0, time.UTC); !got.Equal(want) || got.Location() != time.UTC {
		t.Errorf("TradingDayOnOrBefore = %v; want %v", got, want)
	}
	if got, want := NextTradingDay(gf), time.Date(2020, 4, 13, 0, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("NextTradingDay = %v; want %v", got, want)
	}
}

func TestEasterComputus(t *testing.T) {
	for y, want := range map[int]string{2000: "2000-04-23", 2008: "2008-03-23", 2011: "2011-04-24", 2019: "2019-04-21",
		2020: "2020-04-12", 2024: "2024-03-31", 2025: "2025-04-20", 2038: "2038-04-25"} {
		e := easter(y)
		if got := e.utc().Format(time.DateOnly); got != want {
			t.Errorf("easter(%d) = %s; want %s", y, got, want)
		}
	}
}

func TestExpiryOnTradingDay(t *testing.T) {
	cases := []struct{ in, want string }{
		{"2020-04-10T16:00:00-04:00", "2020-04-09T16:00:00-04:00"}, // Good Friday weekly
		{"2020-04-17T16:00:00-04:00", "2020-04-17T16:00:00-04:00"}, // a plain Friday
		{"2022-06-17T16:00:00-04:00", "2022-06-17T16:00:00-04:00"}, // Juneteenth observed Monday
		{"2027-06-18T16:00:00-04:00", "2027-06-17T16:00:00-04:00"}, // Juneteenth observed Friday
		{"2021-12-24T16:00:00-05:00", "2021-12-23T16:00:00-05:00"}, // Christmas observed
		{"2020-11-27T16:00:00-05:00", "2020-11-27T13:00:00-05:00"}, // early close: 13:00
		{"2020-07-03T16:00:00-04:00", "2020-07-02T16:00:00-04:00"}, // July 3 observed
		{"2020-11-27T11:00:00-05:00", "2020-11-27T11:00:00-05:00"}, // before the early close
		{"2020-04-11T16:00:00-04:00", "2020-04-09T16:00:00-04:00"}, // Saturday → Thursday
	}
	for _, c := range cases {
		in, _ := time.Parse(time.RFC3339, c.in)
		want, _ := time.Parse(time.RFC3339, c.want)
		if got := ExpiryOnTradingDay(in); !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("ExpiryOnTradingDay(%s) = %s; want %s", c.in, got, want)
		}
	}
}
