package feeds

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// DataQuality is the policy for bad quotes (DESIGN.md, "Bad input").
type DataQuality string

// Policies. The zero value ("") means Reject.
const (
	// Reject fails the read at the first bad row with a *RowError naming file, row and column.
	Reject DataQuality = "reject"
	// Skip drops bad rows and counts them by kind in Source.Quality.
	Skip DataQuality = "skip"
)

// Validate reports an unknown policy.
func (d DataQuality) Validate() error {
	switch d {
	case "", Reject, Skip:
		return nil
	}
	return &FieldError{Field: "data_quality", Msg: fmt.Sprintf("want %q or %q, found %q", Reject, Skip, string(d))}
}

func (d DataQuality) withDefault() DataQuality {
	if d == "" {
		return Reject
	}
	return d
}

// QualityKind names a kind of bad row.
type QualityKind string

// Kinds of bad rows. A row is counted once, under the first kind it fails in this order.
//
// Zero bid: a bid of exactly 0 with a positive ask means nobody is bidding (typical of deep
// out-of-the-money strikes in vendor end-of-day files). Such a quote has no exit price for a
// long position (a trailing stop priced at the bid would fire at 0) and no meaningful mid, so it
// is a bad quote: "skip" drops and counts it, "reject" fails the file. Vendor EOD files nearly
// always hold some, so use "skip" for them.
const (
	KindMalformed        QualityKind = "malformed"           // a required field is missing or does not parse
	KindNaN              QualityKind = "nan"                 // a price, IV or greek is NaN or infinite
	KindNonpositive      QualityKind = "nonpositive_price"   // bid < 0, ask <= 0, underlying <= 0 or strike <= 0
	KindZeroBid          QualityKind = "zero_bid"            // bid == 0 (and ask > 0)
	KindCrossed          QualityKind = "crossed"             // bid > ask
	KindGreeksOutOfRange QualityKind = "greeks_out_of_range" // |delta| > 1, gamma < 0, vega < 0, IV < 0 or IV > 10
	KindOutOfOrder       QualityKind = "out_of_order"        // time before the previous row's time
	KindDuplicate        QualityKind = "duplicate"           // same contract and time as an earlier row
	// KindNoIV: the greeks are computed (the file has none) and no volatility in
	// [MinIV, MaxIV] reproduces the mid: below intrinsic value or above the no-arbitrage bound.
	KindNoIV QualityKind = "no_iv"
)

// maxIV bounds implied vol: 1000% is past anything traded; larger values are data errors.
const maxIV = 10.0

// QualityCounts counts skipped rows by kind. Print it with String, which sorts the keys.
type QualityCounts map[QualityKind]int64

// Total returns the number of skipped rows.
func (q QualityCounts) Total() int64 {
	var n int64
	for _, k := range slices.Sorted(maps.Keys(q)) {
		n += q[k]
	}
	return n
}

// String returns "kind=n kind=n" in sorted key order, or "none".
func (q QualityCounts) String() string {
	if len(q) == 0 {
		return "none"
	}
	var b strings.Builder
	for i, k := range slices.Sorted(maps.Keys(q)) {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%d", k, q[k])
	}
	return b.String()
}

func (q QualityCounts) clone() QualityCounts {
	out := make(QualityCounts, len(q))
	maps.Copy(out, q)
	return out
}

// FieldError is a configuration error naming the offending field (YAML name).
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return "feeds: " + e.Field + ": " + e.Msg }

// RowError is a bad row in a file. Its message is the one error format of the package:
//
//	feeds: FILE:LINE:FIELD: column "NAME": KIND: want …, found "…"
//
// LINE is the physical line as an editor shows it (1-based, the header being line 1, blank
// lines and any line-end style counted); FIELD the 1-based position of the column in the CSV
// header. Parquet files have no lines: "FILE: row N". A value from the file is quoted with at
// most 40 characters.
type RowError struct {
	File   string
	Line   int64  // physical line (CSV); 0 when the file has no lines (Parquet)
	Row    int64  // 1-based data row (the header is not counted)
	Column string // source column name; "" for the whole row
	Field  int    // 1-based position of Column in the CSV header; 0 when unknown
	Kind   QualityKind
	Msg    string // what was expected and what was found
}

func (e *RowError) Error() string {
	var b strings.Builder
	b.WriteString("feeds: ")
	b.WriteString(e.File)
	switch {
	case e.Line > 0 && e.Field > 0:
		fmt.Fprintf(&b, ":%d:%d", e.Line, e.Field)
	case e.Line > 0:
		fmt.Fprintf(&b, ":%d", e.Line)
	case e.Row > 0:
		fmt.Fprintf(&b, ": row %d", e.Row)
	}
	if e.Column != "" {
		fmt.Fprintf(&b, ": column %q", e.Column)
	}
	fmt.Fprintf(&b, ": %s: %s", e.Kind, e.Msg)
	return b.String()
}

// AllSkippedError ends a source under "skip" that read rows but kept none: the counts by
// kind and the most likely cause, instead of an empty feed.
type AllSkippedError struct {
	Rows   int64
	Counts QualityCounts
	Cause  string
}

func (e *AllSkippedError) Error() string {
	return fmt.Sprintf("feeds: all %s rows were skipped: %s", thousands(e.Rows), e.Cause)
}

// thousands writes n with comma separators (14438 → "14,438").
func thousands(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// badField is the verdict of checkQuote: the kind and the quote field at fault.
type badField struct {
	kind  QualityKind
	field string // role name: "bid", "ask", "delta", ...
	msg   string
}

func isFinite(v float64) bool { return v-v == 0 }

// checkQuote applies the value checks that need no history (all but out_of_order and
// duplicate). strike is the contract's strike.
func checkQuote(q *Quote, strike float64) (badField, bool) {
	fs := [...]struct {
		name string
		v    float64
	}{
		{"bid", q.Bid}, {"ask", q.Ask}, {"underlying_price", q.UnderlyingPrice}, {"iv", q.IV},
		{"delta", q.Delta}, {"gamma", q.Gamma}, {"vega", q.Vega}, {"theta", q.Theta}, {"strike", strike},
	}
	for _, f := range fs {
		if !isFinite(f.v) {
			return badField{KindNaN, f.name, fmt.Sprintf("want a finite number, found %v", f.v)}, false
		}
	}
	switch {
	case q.Bid < 0:
		return badField{KindNonpositive, "bid", fmt.Sprintf("want bid >= 0, found %v", q.Bid)}, false
	case q.Ask <= 0:
		return badField{KindNonpositive, "ask", fmt.Sprintf("want ask > 0, found %v", q.Ask)}, false
	case q.UnderlyingPrice <= 0:
		return badField{KindNonpositive, "underlying_price", fmt.Sprintf("want > 0, found %v", q.UnderlyingPrice)}, false
	case strike <= 0:
		return badField{KindNonpositive, "strike", fmt.Sprintf("want > 0, found %v", strike)}, false
	case q.Bid == 0:
		return badField{KindZeroBid, "bid", fmt.Sprintf("want bid > 0, found 0 (ask %v)", q.Ask)}, false
	case q.Bid > q.Ask:
		return badField{KindCrossed, "bid", fmt.Sprintf("bid %v > ask %v", q.Bid, q.Ask)}, false
	case q.Delta < -1 || q.Delta > 1:
		return badField{KindGreeksOutOfRange, "delta", fmt.Sprintf("want delta in [-1, 1], found %v", q.Delta)}, false
	case q.Gamma < 0:
		return badField{KindGreeksOutOfRange, "gamma", fmt.Sprintf("want gamma >= 0, found %v", q.Gamma)}, false
	case q.Vega < 0:
		return badField{KindGreeksOutOfRange, "vega", fmt.Sprintf("want vega >= 0, found %v", q.Vega)}, false
	case q.IV < 0 || q.IV > maxIV:
		return badField{KindGreeksOutOfRange, "iv", fmt.Sprintf("want iv in [0, %v], found %v", maxIV, q.IV)}, false
	}
	return badField{}, true
}

// orderCheck finds out-of-order and duplicate rows in one stream without hashing: it keeps the
// last time and, per contract ID, the last time seen.
type orderCheck struct {
	last    int64
	started bool
	lastBy  []int64 // lastBy[id] = last time of contract id, or minInt64
}

const noTime = -1 << 63

func (o *orderCheck) check(t int64, id ContractID) (badField, bool) {
	if o.started && t < o.last {
		return badField{KindOutOfOrder, "time", fmt.Sprintf("time %s is before the previous row's %s", MicrosTime(t).Format(rfc3339Micro), MicrosTime(o.last).Format(rfc3339Micro))}, false
	}
	for int(id) >= len(o.lastBy) {
		o.lastBy = append(o.lastBy, noTime)
	}
	if o.lastBy[id] == t {
		return badField{KindDuplicate, "time", fmt.Sprintf("second quote for the same contract at %s", MicrosTime(t).Format(rfc3339Micro))}, false
	}
	return badField{}, true
}

// seen is the last time contract id was accepted (noTime if never).
func (o *orderCheck) seen(id ContractID) int64 {
	if int(id) < len(o.lastBy) {
		return o.lastBy[id]
	}
	return noTime
}

// accept records a row that passed.
func (o *orderCheck) accept(t int64, id ContractID) {
	o.last, o.started = t, true
	o.lastBy[id] = t
}

const rfc3339Micro = "2006-01-02T15:04:05.000000Z07:00"
