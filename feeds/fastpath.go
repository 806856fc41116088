package feeds

import (
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// symMeta is one distinct symbol of a Parquet file with its contract columns.
type symMeta struct {
	meta rowMeta
	c    Contract
	id   ContractID // noContract until the first accepted row
	out  int        // column at fault when bad.kind != ""
	bad  badField
}

// openFast prepares the Parquet fast path and returns the main query. Strings are what make
// DuckDB's Arrow export slow (a symbol column halves the rows/s), so the symbol is sent as a
// small integer instead:
//  1. one aggregate pass lists the distinct symbols with their contract columns (Parquet keeps
//     those dictionary-encoded: the pass is cheap);
//  2. an ENUM type of the sorted symbols is created, and the main query sends
//     enum_code(symbol) (a UINTEGER) with the time and the eight numbers only.
//
// A symbol with two different definitions in one file is an error.
func (s *fileSource) openFast(cur *fileCursor) (string, error) {
	q := cur.q
	e := &q.exprs
	if sqlText, ok, err := s.openNative(cur); ok || err != nil {
		return sqlText, err
	}
	// Rows with a missing contract column define nothing: the symbol's
	// definition comes from its complete rows (a single bad cell must not
	// read as a second, conflicting definition and fail the whole file).
	where := "s IS NOT NULL"
	for _, c := range []struct {
		out  int
		name string
	}{{outUnderlying, "u"}, {outExpiry, "e"}, {outStrike, "k"}, {outRight, "r"}, {outMultiplier, "m"}} {
		if q.hasColumn[c.out] {
			where += " AND " + c.name + " IS NOT NULL"
		}
	}
	metaSQL := fmt.Sprintf("SELECT s, u, e, k, r, m FROM (SELECT %s AS s, %s AS u, %s AS e, %s AS k, %s AS r, %s AS m FROM %s) WHERE %s GROUP BY ALL ORDER BY ALL",
		e[outSymbol], e[outUnderlying], e[outExpiry], e[outStrike], e[outRight], e[outMultiplier], q.from, where)
	rows, err := s.conn.QueryContext(s.ctx, metaSQL)
	if err != nil {
		return "", engineError(s.ctx, cur.file, s.format, err)
	}
	defer rows.Close()
	var list []symMeta
	for rows.Next() {
		var (
			sym  string
			und  sql.NullString
			exp  sql.NullInt64
			k, m sql.NullFloat64
			r    sql.NullInt16
		)
		if err := rows.Scan(&sym, &und, &exp, &k, &r, &m); err != nil {
			return "", engineError(s.ctx, cur.file, s.format, err)
		}
		if n := len(list); n > 0 && list[n-1].meta.symbol == sym {
			return "", &RowError{File: cur.file, Column: q.srcCol[outSymbol], Kind: KindMalformed,
				Msg: fmt.Sprintf("symbol %s has two definitions (underlying, expiry, strike, right or multiplier differ)", sym)}
		}
		sm := symMeta{id: noContract, meta: rowMeta{symbol: sym, und: und.String, undOK: und.Valid, exp: exp.Int64,
			strike: k.Float64, right: uint8(r.Int16), mult: m.Float64}}
		for _, p := range []struct {
			out   int
			valid bool
		}{{outStrike, k.Valid}, {outRight, r.Valid}, {outExpiry, exp.Valid}, {outMultiplier, m.Valid}} {
			if q.hasColumn[p.out] && !p.valid && sm.bad.kind == "" {
				sm.out, sm.bad = p.out, badField{kind: KindMalformed, field: outRole[p.out], msg: msgUnparseable}
			}
		}
		if sm.bad.kind == "" {
			sm.c, sm.out, sm.bad = s.newContract(q, sm.meta)
		}
		list = append(list, sm)
	}
	if err := rows.Err(); err != nil {
		return "", engineError(s.ctx, cur.file, s.format, err)
	}
	cur.fast, cur.syms = true, list
	cur.ids = make([]ContractID, len(list))
	for i := range cur.ids {
		cur.ids[i] = noContract
	}
	if len(list) == 0 {
		// No symbol at all: every row is malformed; the slow path reports them.
		cur.fast = false
		return q.sql, nil
	}
	typ := fmt.Sprintf("feeds_syms_%d", s.fi)
	var b strings.Builder
	b.WriteString("CREATE TYPE " + typ + " AS ENUM (")
	for i, sm := range list {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(sqlString(sm.meta.symbol))
	}
	b.WriteString(")")
	if _, err := s.conn.ExecContext(s.ctx, b.String()); err != nil {
		return "", engineError(s.ctx, cur.file, s.format, err)
	}
	// A row missing a contract column gets a NULL code: malformed, counted
	// (or rejected) like the same row of a CSV file.
	complete := "TRUE"
	for _, out := range []int{outUnderlying, outExpiry, outStrike, outRight, outMultiplier} {
		if q.hasColumn[out] {
			complete += " AND (" + e[out] + ") IS NOT NULL"
		}
	}
	return fmt.Sprintf("SELECT %s AS c0, CASE WHEN %s THEN enum_code(TRY_CAST((%s) AS %s))::UINTEGER END AS c1, %s, %s, %s, %s, %s, %s, %s, %s FROM %s",
		e[outTime], complete, e[outSymbol], typ, e[outBid], e[outAsk], e[outUnderlyingPrice], e[outIV], e[outDelta], e[outGamma],
		e[outVega], e[outTheta], q.from), nil
}

// Columns of the fast query.
const (
	fastTime = iota
	fastCode
	fastBid   // then ask, underlying_price, iv, delta, gamma, vega, theta
	fastCount = fastBid + 8
)

func (s *fileSource) decodeFast(rec arrow.RecordBatch) error {
	cur := s.cur
	if err := cur.positions(rec, fastCount); err != nil {
		return err
	}
	tA, ok1 := rec.Column(fastTime).(*array.Int64)
	cA, ok2 := rec.Column(fastCode).(*array.Uint32)
	if !ok1 || !ok2 {
		return fmt.Errorf("feeds: %s: unexpected Arrow types %v", cur.file, rec.Schema())
	}
	var f [8][]float64
	nulls := tA.NullN() > 0 || cA.NullN() > 0
	for j := range f {
		a, ok := rec.Column(fastBid + j).(*array.Float64)
		if !ok {
			return fmt.Errorf("feeds: %s: unexpected Arrow types %v", cur.file, rec.Schema())
		}
		nulls = nulls || a.NullN() > 0
		f[j] = a.Float64Values()
	}
	if nulls {
		return s.decodeFastNulls(rec)
	}
	timeV, codeV := tA.Int64Values(), cA.Uint32Values()
	n := int(rec.NumRows())
	bid, ask, up, iv, delta, gamma, vega, theta := f[0][:n], f[1][:n], f[2][:n], f[3][:n], f[4][:n], f[5][:n], f[6][:n], f[7][:n]
	timeV, codeV = timeV[:n], codeV[:n]
	ids := cur.ids
	out := s.batch.Quotes
	if cap(out)-len(out) < n {
		out = append(make([]Quote, 0, len(out)+max(n, 4096)), out...)
	}
	timeUTC := cur.q.timeUTC
	for i := range n {
		cur.row++
		cur.recRow = i
		code := codeV[i]
		if int(code) >= len(ids) {
			s.batch.Quotes = out
			return fmt.Errorf("feeds: %s: row %d: symbol code %d out of range", cur.file, cur.row, code)
		}
		tm := timeV[i]
		if !timeUTC {
			tm = s.tz.instant(tm)
		}
		q := Quote{Time: tm, Bid: bid[i], Ask: ask[i], UnderlyingPrice: up[i], IV: iv[i], Delta: delta[i],
			Gamma: gamma[i], Vega: vega[i], Theta: theta[i]}
		// Fast accept: every check of checkQuote and orderCheck, in one branch.
		id := ids[code]
		sum := q.Bid + q.Ask + q.UnderlyingPrice + q.IV + q.Delta + q.Gamma + q.Vega + q.Theta
		if id != noContract && !cur.slow && sum-sum == 0 && q.Bid > 0 && q.Bid <= q.Ask && q.UnderlyingPrice > 0 &&
			q.Delta >= -1 && q.Delta <= 1 && q.Gamma >= 0 && q.Vega >= 0 && q.IV >= 0 && q.IV <= maxIV &&
			tm >= s.order.last && s.order.lastBy[id] != tm {
			s.order.last, s.order.started = tm, true
			s.order.lastBy[id] = tm
			q.Contract = id
			out = append(out, q)
			continue
		}
		s.batch.Quotes = out
		if err := s.acceptCode(cur, code, &q); err != nil {
			return err
		}
		out = s.batch.Quotes
	}
	s.batch.Quotes = out
	return nil
}

// acceptSlow runs the full checks on one fast-path row and appends it when good.
func (s *fileSource) acceptSlow(cur *fileCursor, sm *symMeta, q *Quote) error {
	if sm.bad.kind != "" {
		return s.bad(cur, sm.out, sm.bad)
	}
	if cur.slow {
		if out, bf := s.enrich(cur, q, &sm.c); bf.kind != "" {
			return s.bad(cur, out, bf)
		}
	} else if bf, good := checkQuote(q, sm.c.Strike); !good {
		return s.bad(cur, roleOut(bf.field), bf)
	}
	if s.order.started && q.Time < s.order.last {
		if cur.declared {
			return declaredOrderError(cur.file, cur.row)
		}
		bf, _ := s.order.check(q.Time, 0)
		return s.bad(cur, outTime, bf)
	}
	if sm.id == noContract {
		if id, ok := s.contracts.Lookup(sm.c.Symbol); ok { // seen in an earlier file
			if k := s.contracts.Get(id); !sameContract(&sm.c, k) {
				sm.out, sm.bad = outSymbol, badField{kind: KindMalformed, field: ColSymbol,
					msg: fmt.Sprintf("%s is defined differently in an earlier file (expiry %s, strike %g, right %s, multiplier %g)", sm.c.Symbol, k.Expiry.Format(time.RFC3339), k.Strike, k.Right, k.Multiplier)}
				return s.bad(cur, sm.out, sm.bad)
			}
			sm.id = id
		} else {
			sm.id = s.contracts.Intern(sm.c)
		}
	}
	if bf, good := s.order.check(q.Time, sm.id); !good {
		return s.bad(cur, outTime, bf)
	}
	s.order.accept(q.Time, sm.id)
	q.Contract = sm.id
	s.batch.Quotes = append(s.batch.Quotes, *q)
	return nil
}

// decodeFastNulls is the row-by-row path for a record with nulls.
func (s *fileSource) decodeFastNulls(rec arrow.RecordBatch) error {
	cur := s.cur
	roles := [fastCount]int{outTime, outSymbol, outBid, outAsk, outUnderlyingPrice, outIV, outDelta, outGamma, outVega, outTheta}
	tA := rec.Column(fastTime).(*array.Int64)
	cA := rec.Column(fastCode).(*array.Uint32)
	n := int(rec.NumRows())
	for i := range n {
		cur.row++
		cur.recRow = i
		bad := -1
		for j := 0; j < fastCount && bad < 0; j++ {
			if rec.Column(j).IsNull(i) {
				bad = roles[j]
			}
		}
		if bad >= 0 {
			if err := s.bad(cur, bad, badField{kind: KindMalformed, msg: msgUnparseable}); err != nil {
				return err
			}
			continue
		}
		code := cA.Value(i)
		if int(code) >= len(cur.ids) {
			return fmt.Errorf("feeds: %s: row %d: symbol code %d out of range", cur.file, cur.row, code)
		}
		tm := tA.Value(i)
		if !cur.q.timeUTC {
			tm = s.tz.instant(tm)
		}
		v := func(j int) float64 { return rec.Column(fastBid + j).(*array.Float64).Value(i) }
		q := Quote{Time: tm, Bid: v(0), Ask: v(1), UnderlyingPrice: v(2), IV: v(3), Delta: v(4), Gamma: v(5), Vega: v(6), Theta: v(7)}
		if err := s.acceptCode(cur, code, &q); err != nil {
			return err
		}
	}
	return nil
}

// openNative uses a native file's footer contract table (see NativeSchema): the main query
// then reads no string column at all.
func (s *fileSource) openNative(cur *fileCursor) (string, bool, error) {
	q := cur.q
	if !s.native || q.srcCol[outSymbol] != "symbol" || len(cur.files) > 1 { // the footer table is one file's
		return "", false, nil
	}
	// The contract table comes from the footer read in Go (footer.go), not
	// from DuckDB's parquet_kv_metadata (one more parse of the whole footer).
	f, err := s.footer(cur.file)
	s.dropFooter() // its last use
	if err != nil {
		return "", false, nil // arrow-go cannot read it: the generic path (DuckDB) reads the file
	}
	raw, v1 := f.contracts()
	if raw == nil {
		return "", false, nil
	}
	table, err := newNativeTable(*raw, v1)
	if err != nil {
		key := NativeContractsKey
		if v1 {
			key = nativeContractsKeyV1
		}
		return "", false, fmt.Errorf("feeds: %s: footer %s: %w", cur.file, key, err)
	}
	cur.fast, cur.native = true, table
	cur.ids = make([]ContractID, table.len())
	for i := range cur.ids {
		cur.ids[i] = noContract
	}
	e := &q.exprs
	return fmt.Sprintf("SELECT %s AS c0, \"contract\"::UINTEGER AS c1, %s, %s, %s, %s, %s, %s, %s, %s FROM %s",
		e[outTime], e[outBid], e[outAsk], e[outUnderlyingPrice], e[outIV], e[outDelta], e[outGamma],
		e[outVega], e[outTheta], q.from), true, nil
}
