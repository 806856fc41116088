package feeds

// underlying.go owns the underlying's price series for quote files that carry none
// (occ-quotes). The series is a small CSV file read once when the source opens:
//
//	time,price                      one price per instant (trades, minute bars' closes)
//	date,open,high,low,close,…      daily bars: the open stamped 09:30 and the close 16:00
//	                                New York (the scenario's day bars, e.g. spy-daily.csv)
//
// A quote gets the latest price at or before its time; a quote before the first price, or
// with a price older than MaxAge, is malformed (no underlying price).

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// UnderlyingPrices configures the series (FileConfig.UnderlyingPrices, YAML
// `feed.file.underlying_prices`).
type UnderlyingPrices struct {
	// Path of a CSV file (optionally gzip or zstd compressed).
	Path string `yaml:"path"`
	// Time is the time column. Default: the first of time, timestamp, datetime, date. Values
	// are ISO times (with or without offset), dates (daily bars) or epoch numbers (s, ms, µs
	// or ns, told by magnitude).
	Time string `yaml:"time,omitempty"`
	// Price is the price column. Default: price, else close, else last.
	Price string `yaml:"price,omitempty"`
	// Timezone of wall-clock times. Default America/New_York.
	Timezone string `yaml:"timezone,omitempty"`
	// MaxAge: a price older than this is not used (0: no limit).
	MaxAge time.Duration `yaml:"max_age,omitempty"`
}

// maxUnderlyingPoints bounds the series held in memory (16 bytes each).
const maxUnderlyingPoints = 50_000_000

func (u *UnderlyingPrices) validate() error {
	if strings.TrimSpace(u.Path) == "" {
		return &FieldError{Field: "underlying_prices.path", Msg: "want a CSV file of (time, price), found nothing"}
	}
	if u.Timezone != "" {
		if _, err := loadZone(u.Timezone); err != nil {
			return &FieldError{Field: "underlying_prices.timezone", Msg: err.Error()}
		}
	}
	if u.MaxAge < 0 {
		return &FieldError{Field: "underlying_prices.max_age", Msg: fmt.Sprintf("want >= 0, found %v", u.MaxAge)}
	}
	return nil
}

// priceSeries is a loaded series, in non-decreasing time.
type priceSeries struct {
	t      []int64 // UTC µs
	p      []float64
	maxAge int64 // µs, 0 = none
	file   string
	i      int // cursor of the last lookup (quotes come in time order)
}

// at returns the price at time t.
func (s *priceSeries) at(t int64) (float64, bool) {
	n := len(s.t)
	if s.i >= n || s.t[s.i] > t {
		s.i = 0
	}
	// Advance from the cursor; fall back to a binary search for a long jump.
	if s.i+8 < n && s.t[s.i+8] <= t {
		s.i = max(0, sortSearch(s.t, t)-1)
	}
	for s.i+1 < n && s.t[s.i+1] <= t {
		s.i++
	}
	if n == 0 || s.t[s.i] > t {
		return 0, false
	}
	if s.maxAge > 0 && t-s.t[s.i] > s.maxAge {
		return 0, false
	}
	return s.p[s.i], true
}

// sortSearch returns the first index with ts[i] > t.
func sortSearch(ts []int64, t int64) int {
	lo, hi := 0, len(ts)
	for lo < hi {
		m := (lo + hi) / 2
		if ts[m] <= t {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// loadUnderlying reads the series.
func loadUnderlying(u *UnderlyingPrices) (*priceSeries, error) {
	zone := u.Timezone
	if zone == "" {
		zone = "America/New_York"
	}
	loc, err := loadZone(zone)
	if err != nil {
		return nil, &FieldError{Field: "underlying_prices.timezone", Msg: err.Error()}
	}
	file := u.Path
	r, _, closeFn, err := openDecompressed(file)
	if err != nil {
		return nil, err
	}
	defer closeFn()
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return nil, &FileError{File: file, Line: 1, Msg: "want a header line (time,price or date,open,…,close), found nothing readable"}
	}
	idx := map[string]int{}
	for i, h := range header {
		idx[strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))] = i
	}
	pick := func(given string, alts ...string) int {
		if given != "" {
			alts = []string{strings.ToLower(given)}
		}
		for _, a := range alts {
			if i, ok := idx[a]; ok {
				return i
			}
		}
		return -1
	}
	ti := pick(u.Time, "time", "timestamp", "datetime", "date")
	pi := pick(u.Price, "price", "close", "last")
	oi := pick("", "open")
	if ti < 0 || pi < 0 {
		return nil, &FileError{File: file, Line: 1, Msg: "header: want a time column (time, timestamp, datetime or date) and a price column (price, close or last)"}
	}
	s := &priceSeries{maxAge: u.MaxAge.Microseconds(), file: file}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			return nil, &FileError{File: file, Line: int64(line), Msg: "not a CSV record (want time,price)"}
		}
		if len(s.t) >= maxUnderlyingPoints {
			return nil, &FileError{File: file, Msg: fmt.Sprintf("more than %d prices; split the file", maxUnderlyingPoints)}
		}
		if ti >= len(rec) || pi >= len(rec) {
			return nil, &FileError{File: file, Line: int64(line), Msg: "the line has fewer fields than the header"}
		}
		t, isDate, ok := parseAnyTime(strings.TrimSpace(rec[ti]), loc)
		if !ok {
			return nil, &FileError{File: file, Line: int64(line), Msg: fmt.Sprintf("column %q: want a time, found %s", header[ti], quoteValue(rec[ti]))}
		}
		price, perr := strconv.ParseFloat(strings.TrimSpace(rec[pi]), 64)
		if perr != nil || !(price > 0) || math.IsInf(price, 0) {
			return nil, &FileError{File: file, Line: int64(line), Msg: fmt.Sprintf("column %q: want a price > 0, found %s", header[pi], quoteValue(rec[pi]))}
		}
		if isDate {
			d := MicrosTime(t)
			if oi >= 0 && oi < len(rec) {
				if open, err := strconv.ParseFloat(strings.TrimSpace(rec[oi]), 64); err == nil && open > 0 {
					s.t = append(s.t, time.Date(d.Year(), d.Month(), d.Day(), 9, 30, 0, 0, newYork).UnixMicro())
					s.p = append(s.p, open)
				}
			}
			t = ExpiryAt(d.Year(), d.Month(), d.Day()).UnixMicro()
		}
		if n := len(s.t); n > 0 && t < s.t[n-1] {
			return nil, &FileError{File: file, Line: int64(line), Msg: fmt.Sprintf("column %q: time %s is before the previous line's; sort the file by time", header[ti], MicrosTime(t).Format(time.RFC3339))}
		}
		s.t = append(s.t, t)
		s.p = append(s.p, price)
	}
	if len(s.t) == 0 {
		return nil, &FileError{File: file, Msg: "no prices after the header"}
	}
	s.t, s.p = slices.Clip(s.t), slices.Clip(s.p)
	return s, nil
}

// parseAnyTime reads an ISO time (an offset makes an instant; none is wall clock in loc), a
// date (isDate: midnight UTC of that day is returned), MM/DD/YYYY, or an epoch number.
func parseAnyTime(v string, loc *time.Location) (us int64, isDate, ok bool) {
	if v == "" {
		return 0, false, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && len(v) >= 9 {
		return epochMicros(n), false, true
	}
	for _, f := range []string{time.DateOnly, "01/02/2006", "20060102"} {
		if t, err := time.Parse(f, v); err == nil {
			return t.UnixMicro(), true, true
		}
	}
	for _, f := range []string{time.RFC3339Nano, "2006-01-02 15:04:05Z07:00", "2006-01-02 15:04:05.999999999Z07:00"} {
		if t, err := time.Parse(f, v); err == nil {
			return t.UnixMicro(), false, true
		}
	}
	for _, f := range []string{"2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999", "2006-01-02 15:04", "2006-01-02T15:04"} {
		if t, err := time.ParseInLocation(f, v, loc); err == nil {
			return t.UnixMicro(), false, true
		}
	}
	return 0, false, false
}

// epochMicros reads an epoch number in s, ms, µs or ns by its magnitude (valid for dates
// from 1973 to 2286).
func epochMicros(n int64) int64 {
	a := n
	if a < 0 {
		a = -a
	}
	switch {
	case a >= 1e17:
		return n / 1000
	case a >= 1e14:
		return n
	case a >= 1e11:
		return n * 1000
	}
	return n * 1_000_000
}
