package feeds

import (
	"fmt"
	"strings"
)

// Output columns of every file query, in this order.
const (
	outTime = iota
	outSymbol
	outUnderlying
	outExpiry
	outStrike
	outRight
	outMultiplier
	outBid
	outAsk
	outUnderlyingPrice
	outIV
	outDelta
	outGamma
	outVega
	outTheta
	outCount
)

// outRole is the role of each output column (for error messages and the mapping).
var outRole = [outCount]string{ColTime, ColSymbol, ColUnderlying, ColExpiry, ColStrike, ColRight, ColMultiplier,
	ColBid, ColAsk, ColUnderlyingPrice, ColIV, ColDelta, ColGamma, ColVega, ColTheta}

func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func sqlIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

type typeClass int

const (
	tcOther typeClass = iota
	tcText
	tcNumber
	tcDate
	tcTimestamp   // wall clock, no zone
	tcTimestampTZ // an instant
)

func classify(duckType string) typeClass {
	t := strings.ToUpper(duckType)
	switch {
	case t == "VARCHAR":
		return tcText
	case t == "DATE":
		return tcDate
	case t == "TIMESTAMP WITH TIME ZONE":
		return tcTimestampTZ
	case strings.HasPrefix(t, "TIMESTAMP"):
		return tcTimestamp
	case t == "DOUBLE" || t == "FLOAT" || strings.HasPrefix(t, "DECIMAL") || strings.HasSuffix(t, "INT") ||
		t == "TINYINT" || t == "SMALLINT" || t == "INTEGER" || t == "BIGINT" || t == "HUGEINT" ||
		t == "UTINYINT" || t == "USMALLINT" || t == "UINTEGER" || t == "UBIGINT":
		return tcNumber
	}
	return tcOther
}

// offsetPattern matches ISO time text that ends in a UTC offset after a
// time of day ("…10:00:00-04:00", "…10:00Z"), not a bare date's "-20".
const offsetPattern = `[0-9]:[0-9]{2}(:[0-9]{2}([.][0-9]*)?)? ?([Zz]|[+-][0-9]{2}(:?[0-9]{2})?)$`

// instantBias tags, in a wall-clock time column, the values that are
// already instants (text with an offset): 2^61 µs is 73,000 years, far
// beyond any real time, so the decoder tells them apart with one compare.
const instantBias = int64(1) << 61

// dateBias tags, likewise, the values that are dates (a date column, ISO text of a date alone,
// a strptime format without a time of day, an end-of-day preset's midnight): the decoder
// stamps them 16:00 New York, the close, whatever the layout's zone.
const dateBias = int64(1) << 59

// epochExpr turns a numeric epoch in s, ms, µs or ns (told by magnitude) into µs.
func epochExpr(x string) string {
	return fmt.Sprintf("(CASE WHEN abs(%[1]s) >= 1e17 THEN CAST(%[1]s AS HUGEINT) // 1000 WHEN abs(%[1]s) >= 1e14 THEN CAST(%[1]s AS HUGEINT) "+
		"WHEN abs(%[1]s) >= 1e11 THEN CAST(%[1]s AS HUGEINT) * 1000 ELSE CAST(round(%[1]s * 1e6) AS HUGEINT) END)::BIGINT", x)
}

// query is a built file query.
type query struct {
	sql       string
	timeUTC   bool             // the time column is an instant (else wall clock in layout.loc)
	expiryUTC bool             // likewise for expiry
	srcCol    [outCount]string // source column of each output ("" = constant / derived)
	exprs     [outCount]string // the SELECT expression of each output
	from      string
	hasColumn [outCount]bool
}

// buildQuery builds the SELECT that normalises a file's columns (types from DESCRIBE) into the
// outCount output columns. preserve_insertion_order keeps the file's row order.
func buildQuery(from string, types map[string]string, l *layout, native bool) (*query, error) {
	q := &query{}
	exprs := make([]string, outCount)
	col := func(out int) (string, typeClass, bool, error) {
		name, mapped := l.resolveColumn(outRole[out], func(c string) bool { _, ok := types[c]; return ok })
		if !mapped {
			return "", tcOther, false, nil
		}
		if name == "" {
			if l.optional[outRole[out]] {
				return "", tcOther, false, nil
			}
			return "", tcOther, false, fmt.Errorf("column %s (columns.%s) is not in the file", quoteValue(strings.ReplaceAll(l.cols[outRole[out]], "|", " or ")), outRole[out])
		}
		t := types[name]
		q.srcCol[out], q.hasColumn[out] = name, true
		return sqlIdent(name), classify(t), true, nil
	}
	badType := func(out int, want string) error {
		return fmt.Errorf("column %q (columns.%s) has type %s; want %s", q.srcCol[out], outRole[out], types[q.srcCol[out]], want)
	}
	strptime := func(c, format string) string {
		if format == "" {
			return "TRY_CAST(" + c + " AS TIMESTAMP)"
		}
		return "try_strptime(" + c + ", " + sqlString(format) + ")"
	}
	// time
	{
		c, tc, ok, err := col(outTime)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, &FieldError{Field: "columns.time", Msg: "required"}
		}
		midnightDate := func(ts string) string {
			// An end-of-day preset's timestamp at midnight is a date: 16:00 New York.
			return fmt.Sprintf("CASE WHEN epoch_us(%s) %% 86400000000 = 0 THEN epoch_us(%s) + %d ELSE epoch_us(%s) END", ts, ts, dateBias, ts)
		}
		switch tc {
		case tcTimestampTZ:
			if l.eod {
				exprs[outTime] = fmt.Sprintf("CASE WHEN epoch_us(%s) %% 86400000000 = 0 THEN epoch_us(%s) + %d ELSE epoch_us(%s) + %d END", c, c, dateBias, c, instantBias)
			} else {
				exprs[outTime], q.timeUTC = "epoch_us("+c+")", true
			}
		case tcDate:
			exprs[outTime] = fmt.Sprintf("epoch_us(%s::TIMESTAMP) + %d", c, dateBias)
		case tcTimestamp:
			if l.eod {
				exprs[outTime] = midnightDate(c + "::TIMESTAMP")
			} else {
				exprs[outTime] = "epoch_us(" + c + "::TIMESTAMP)"
			}
		case tcNumber:
			exprs[outTime] = fmt.Sprintf("%s + %d", epochExpr(c), instantBias)
		case tcText:
			switch {
			case strings.Contains(l.timeFormat, "%z") || strings.Contains(l.timeFormat, "%Z"):
				// The format reads the offset: every value is an instant.
				exprs[outTime], q.timeUTC = "epoch_us("+strptime(c, l.timeFormat)+")", true
			case l.timeFormat == "":
				// ISO text: a value with a UTC offset (Z, +hh:mm) is an instant, tagged with
				// instantBias for the decoder; a date alone is tagged dateBias (16:00 New
				// York); digits alone are an epoch number; anything else is wall clock in
				// the layout's zone.
				t := "trim(" + c + ")"
				exprs[outTime] = fmt.Sprintf("CASE WHEN regexp_full_match(%s, '-?[0-9]{9,19}') THEN %s + %d "+
					"WHEN regexp_full_match(%s, '[0-9]{4}-[0-9]{2}-[0-9]{2}') THEN epoch_us(TRY_CAST(%s AS DATE)::TIMESTAMP) + %d "+
					"WHEN regexp_matches(%s, %s) THEN epoch_us(TRY_CAST(%s AS TIMESTAMPTZ)) + %d ELSE epoch_us(TRY_CAST(%s AS TIMESTAMP)) END",
					t, epochExpr("TRY_CAST("+t+" AS BIGINT)"), instantBias, t, t, dateBias, t, sqlString(offsetPattern), t, instantBias, t)
			case !hasTimeOfDay(l.timeFormat):
				exprs[outTime] = fmt.Sprintf("epoch_us(%s) + %d", strptime(c, l.timeFormat), dateBias)
			default:
				exprs[outTime] = "epoch_us(" + strptime(c, l.timeFormat) + ")"
			}
		default:
			return nil, badType(outTime, "a timestamp, a date, an epoch number or text")
		}
	}
	// expiry: also a wall-clock TIMESTAMP expression for composing OCC symbols.
	expTS := ""
	{
		c, tc, ok, err := col(outExpiry)
		if err != nil {
			return nil, err
		}
		switch {
		case !ok:
			exprs[outExpiry] = "NULL::BIGINT"
		case tc == tcTimestampTZ:
			exprs[outExpiry], q.expiryUTC = "epoch_us("+c+")", true
			expTS = "make_timestamp(epoch_us(" + c + "))"
		case tc == tcTimestamp || tc == tcDate:
			expTS = c + "::TIMESTAMP"
			exprs[outExpiry] = "epoch_us(" + expTS + ")"
		case tc == tcText:
			expTS = strptime(c, l.expiryFormat)
			exprs[outExpiry] = "epoch_us(" + expTS + ")"
		default:
			return nil, badType(outExpiry, "a timestamp, a date or text")
		}
	}
	// numbers
	for _, out := range []int{outStrike, outMultiplier, outBid, outAsk, outUnderlyingPrice, outIV, outDelta, outGamma, outVega, outTheta} {
		c, tc, ok, err := col(out)
		if err != nil {
			return nil, err
		}
		switch {
		case !ok && out == outMultiplier:
			exprs[out] = fmt.Sprintf("%v::DOUBLE", l.multiplier)
		case !ok && out == outStrike:
			exprs[out] = "NULL::DOUBLE"
		case !ok && out == outUnderlyingPrice && l.underlyingMid[0] != "" && types[l.underlyingMid[0]] != "" && types[l.underlyingMid[1]] != "":
			num := func(n string) string { return "TRY_CAST(trim(CAST(" + sqlIdent(n) + " AS VARCHAR)) AS DOUBLE)" }
			exprs[out] = "((" + num(l.underlyingMid[0]) + " + " + num(l.underlyingMid[1]) + ") / 2)"
			q.srcCol[out], q.hasColumn[out] = l.underlyingMid[1], true
		case !ok && out == outUnderlyingPrice:
			exprs[out] = "'NaN'::DOUBLE" // from the underlying series, or the underlying column's error
		case !ok:
			exprs[out] = "0.0::DOUBLE"
		case tc == tcNumber:
			exprs[out] = c + "::DOUBLE"
		case tc == tcText:
			exprs[out] = "TRY_CAST(trim(" + c + ") AS DOUBLE)"
		default:
			return nil, badType(out, "a number")
		}
		if f, scaled := l.scale[outRole[out]]; scaled && ok {
			exprs[out] = fmt.Sprintf("(%s * %v)", exprs[out], f)
		}
	}
	// right
	{
		c, tc, ok, err := col(outRight)
		if err != nil {
			return nil, err
		}
		switch {
		case !ok:
			exprs[outRight] = "NULL::UTINYINT"
		case tc == tcText:
			exprs[outRight] = "(CASE upper(trim(" + c + ")) WHEN 'C' THEN 1 WHEN 'CALL' THEN 1 WHEN 'P' THEN 2 WHEN 'PUT' THEN 2 END)::UTINYINT"
		default:
			return nil, badType(outRight, "text (C, P, call or put)")
		}
	}
	// underlying
	{
		c, tc, ok, err := col(outUnderlying)
		if err != nil {
			return nil, err
		}
		switch {
		case !ok:
			exprs[outUnderlying] = "NULL::VARCHAR"
		case tc == tcText && native:
			exprs[outUnderlying] = c
		case tc == tcText:
			exprs[outUnderlying] = "NULLIF(ltrim(upper(trim(" + c + ")), '^'), '')" // Cboe writes ^SPX
		default:
			return nil, badType(outUnderlying, "text")
		}
	}
	// symbol: given, or composed from root, expiry, right and strike.
	compose := func(root string) string {
		if expTS == "" || !q.hasColumn[outStrike] || !q.hasColumn[outRight] {
			return "NULL::VARCHAR"
		}
		k := exprs[outStrike]
		return "(" + root + " || strftime(" + expTS + ", '%y%m%d') || CASE " + exprs[outRight] +
			" WHEN 1 THEN 'C' WHEN 2 THEN 'P' END || CASE WHEN " + k + " > 0 AND " + k + " <= 99999.999 THEN lpad(CAST(CAST(round(" +
			k + " * 1000) AS BIGINT) AS VARCHAR), 8, '0') END)"
	}
	{
		c, tc, ok, err := col(outSymbol)
		if err != nil {
			return nil, err
		}
		if ok && tc != tcText {
			return nil, badType(outSymbol, "text")
		}
		und := exprs[outUnderlying]
		switch {
		case !ok:
			exprs[outSymbol] = compose(und)
		case native:
			exprs[outSymbol] = c
		case l.symbolFromRoot:
			// An OCC symbol, or a bare root composed with the other columns; empty: the
			// underlying is the root. Anything else is malformed (never replaced silently).
			r := "regexp_replace(upper(trim(" + c + ")), '^O:', '')"
			exprs[outSymbol] = "(CASE WHEN regexp_full_match(" + r + ", '[A-Z0-9.]{1,6} *[0-9]{6}[CP][0-9]{8}') THEN replace(" + r +
				", ' ', '') WHEN regexp_full_match(" + r + ", '[A-Z0-9.]{1,6}') THEN " + compose(r) + " WHEN coalesce(" + r + ", '') = '' THEN " + compose(und) + " END)"
		default:
			exprs[outSymbol] = "NULLIF(replace(regexp_replace(upper(trim(" + c + ")), '^O:', ''), ' ', ''), '')"
		}
	}
	var b strings.Builder
	b.WriteString("SELECT ")
	for i, e := range exprs {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s AS c%d", e, i)
	}
	b.WriteString(" FROM ")
	b.WriteString(from)
	q.sql = b.String()
	copy(q.exprs[:], exprs)
	q.from = from
	return q, nil
}
