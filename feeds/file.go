package feeds

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/duckdb/duckdb-go/v2"
)

// FileLister returns the active data files of a Delta table in the folder dir, in the order
// they should be read (time order). Relative paths are taken relative to dir. The caller
// injects it (the lake package's snapshot), so feeds does not replay Delta logs itself.
type FileLister func(dir string) ([]string, error)

// ErrNoFiles reports a path or glob that matches no file.
var ErrNoFiles = errors.New("feeds: no files")

// maxHeaderBytes bounds the CSV header line read to check a layout.
const maxHeaderBytes = 64 << 10

// OpenFile opens a file source: a CSV or Parquet file, a glob of them, or a Delta table (files
// from lister). Rows are streamed through DuckDB as Arrow batches in time order whatever their
// storage order (plan.go: files in order stream as stored, others are sorted), each instant's
// quotes in symbol order (Canonical). ctx bounds the life of the source's queries.
//
// Contract IDs are assigned in order of first appearance. Quotes are checked against dq (see
// QualityKind); under Reject the first bad row fails Next with a *RowError.
func OpenFile(ctx context.Context, cfg FileConfig, dq DataQuality, lister FileLister) (Source, error) {
	return OpenFileWith(ctx, cfg, dq, lister, ReadOptions{})
}

// OpenFileWith is OpenFile with DuckDB's resources set by opts (see ReadOptions).
func OpenFileWith(ctx context.Context, cfg FileConfig, dq DataQuality, lister FileLister, opts ReadOptions) (Source, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := dq.Validate(); err != nil {
		return nil, err
	}
	lay, err := resolveLayout(cfg)
	if err != nil {
		return nil, err
	}
	format := cfg.Format
	if format == "" {
		format = guessFormat(cfg.Path)
		if format == "" {
			return nil, &FieldError{Field: "format", Msg: fmt.Sprintf("cannot tell the format of %q; set csv, parquet or delta", cfg.Path)}
		}
	}
	if cfg.Preset == PresetDeltaNeutral && format != FormatCSV {
		return nil, &FieldError{Field: "preset", Msg: fmt.Sprintf("deltaneutral is a CSV layout; format is %s", format)}
	}
	files, err := listFiles(cfg.Path, format, lister)
	if err != nil {
		return nil, err
	}
	connector, err := duckdb.NewConnector("", nil)
	if err != nil {
		return nil, fmt.Errorf("feeds: duckdb: %w", err)
	}
	db := sql.OpenDB(connector)
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("feeds: duckdb: %w", err)
	}
	s := &fileSource{ctx: ctx, db: db, conn: conn, files: files, format: format, lay: lay,
		native: cfg.Preset == PresetNative, dq: dq.withDefault(), contracts: NewContracts(), counts: QualityCounts{}}
	if err := s.setupDuckDB(opts); err != nil {
		s.Close()
		return nil, err
	}
	if err := conn.Raw(func(dc any) error {
		var err error
		s.arrow, err = duckdb.NewArrowFromConn(dc.(driver.Conn))
		return err
	}); err != nil {
		s.Close()
		return nil, fmt.Errorf("feeds: duckdb arrow: %w", err)
	}
	s.tz = zoneCache{loc: lay.loc, add: lay.timeAdd.Microseconds()}
	s.ez = zoneCache{loc: lay.loc}
	return Canonical(s), nil
}

func guessFormat(path string) string {
	p := strings.ToLower(path)
	switch {
	case strings.HasSuffix(p, ".csv") || strings.HasSuffix(p, ".csv.gz"):
		return FormatCSV
	case strings.HasSuffix(p, ".parquet"):
		return FormatParquet
	}
	if st, err := os.Stat(filepath.Join(path, "_delta_log")); err == nil && st.IsDir() {
		return FormatDelta
	}
	return ""
}

func listFiles(path, format string, lister FileLister) ([]string, error) {
	if format == FormatDelta {
		if lister == nil {
			return nil, &FieldError{Field: "format", Msg: "delta needs a table file lister (none was given)"}
		}
		fs, err := lister(path)
		if err != nil {
			return nil, fmt.Errorf("feeds: delta table %s: %w", path, err)
		}
		out := make([]string, len(fs))
		for i, f := range fs {
			if !filepath.IsAbs(f) {
				f = filepath.Join(path, filepath.FromSlash(f))
			}
			out[i] = f
		}
		return out, checkGlobFree(out) // an empty table is an empty source
	}
	fs, err := filepath.Glob(path) // sorted
	if err != nil {
		return nil, &FieldError{Field: "path", Msg: fmt.Sprintf("bad glob %q: %v", path, err)}
	}
	if len(fs) == 0 {
		return nil, fmt.Errorf("%w: %s matches nothing", ErrNoFiles, path)
	}
	return fs, checkGlobFree(fs)
}

// checkGlobFree refuses file names with glob characters: DuckDB's readers
// expand globs again, so q[1].csv would read q1.csv.
func checkGlobFree(files []string) error {
	for _, f := range files {
		if strings.ContainsAny(filepath.Base(f), "*?[]{}") {
			return &FieldError{Field: "path", Msg: fmt.Sprintf("file %s has a glob character (*?[]{}) in its name; rename it", f)}
		}
	}
	return nil
}

type fileSource struct {
	// lastMeta[id] is the raw contract columns last accepted for contract
	// id (CSV path): a row with other values is checked against the
	// contract's first definition.
	lastMeta []rowMeta

	ctx       context.Context
	db        *sql.DB
	conn      *sql.Conn
	arrow     *duckdb.Arrow
	files     []string
	format    string
	lay       *layout
	native    bool
	dq        DataQuality
	contracts *Contracts
	counts    QualityCounts
	duck      duckState // streaming connection and temp folder (duckdb.go)
	order     orderCheck
	tz, ez    zoneCache
	batch     Batch
	closed    bool

	units []readUnit // the reading plan (order.go), made at the first Next
	fi    int        // index of the next unit in units
	cur   *fileCursor
	err   error // sticky error
}

type fileCursor struct {
	file   string   // for messages: the file, or the first of several
	files  []string // the files of the unit read by one query
	sorted bool     // read with ORDER BY (plan.go)
	from   string
	q      *query
	pf     *prefetch
	row    int64 // rows of this file consumed so far
	// Parquet fast path: the symbol arrives as an index into syms (see openFast).
	fast bool
	syms []symMeta
}

func (s *fileSource) Contracts() *Contracts  { return s.contracts }
func (s *fileSource) Quality() QualityCounts { return s.counts.clone() }

func (s *fileSource) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	if s.cur != nil && s.cur.pf != nil {
		s.cur.pf.close()
	}
	s.cur = nil
	var errs []error
	if s.conn != nil {
		errs = append(errs, s.conn.Close())
	}
	errs = append(errs, s.db.Close(), s.removeTemp())
	return errors.Join(errs...)
}

func (s *fileSource) Next(ctx context.Context) (*Batch, error) {
	if s.closed {
		return nil, errClosed
	}
	if s.err != nil {
		return nil, s.err
	}
	s.batch.Quotes = s.batch.Quotes[:0]
	for len(s.batch.Quotes) == 0 {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if s.cur == nil {
			if s.units == nil {
				if err := s.plan(); err != nil { // order.go's reading plan
					s.err = err
					return nil, err
				}
			}
			if s.fi >= len(s.units) {
				return nil, io.EOF
			}
			cur, err := s.openFile(s.units[s.fi])
			if err != nil {
				s.err = err
				return nil, err
			}
			s.fi++
			s.cur = cur
		}
		rec, err := s.cur.pf.next()
		if rec == nil {
			s.cur.pf.close()
			file := s.cur.file
			s.cur = nil
			if err != nil {
				s.err = fmt.Errorf("feeds: %s: %w", file, err)
				return nil, s.err
			}
			continue
		}
		if s.cur.fast {
			err = s.decodeFast(rec)
		} else {
			err = s.decode(rec)
		}
		rec.Release()
		if err != nil {
			s.err = err
			return nil, err
		}
	}
	return &s.batch, nil
}

// openFile checks the layout of a unit's files and starts its query.
func (s *fileSource) openFile(u readUnit) (*fileCursor, error) {
	cur := &fileCursor{file: u.name(), files: u.files}
	file := cur.file
	q, err := s.prepare(u.files)
	if err != nil {
		return nil, err
	}
	cur.q, cur.from = q, q.from
	sqlText := q.sql
	if s.format != FormatCSV && q.hasColumn[outSymbol] {
		if sqlText, err = s.openFast(cur); err != nil {
			return nil, err
		}
	}
	if !u.inOrder {
		n := outCount
		if cur.fast {
			n = fastCount
		}
		sqlText, cur.sorted = s.sorted(sqlText, q, n), true // plan.go
	}
	rr, err := s.query(sqlText)
	if err != nil {
		return nil, fmt.Errorf("feeds: %s: %w", file, err)
	}
	cur.pf = startPrefetch(rr)
	return cur, nil
}

// prepare checks the layout of files (read together by one query: same
// header, same columns) and builds their query.
func (s *fileSource) prepare(files []string) (*query, error) {
	file := files[0]
	quoted := make([]string, len(files))
	for i, f := range files {
		quoted[i] = sqlString(f)
	}
	list := quoted[0]
	if len(files) > 1 {
		list = "[" + strings.Join(quoted, ", ") + "]"
	}
	var from string
	switch s.format {
	case FormatCSV:
		var header []string
		for i, f := range files {
			h, err := readCSVHeader(f)
			if err != nil {
				return nil, err
			}
			if want := s.lay.csvHeader; want != nil && !equalStrings(h, want) {
				return nil, &RowError{File: f, Row: 0, Column: "", Kind: KindMalformed,
					Msg: fmt.Sprintf("header: want %s, found %s", strings.Join(want, ","), strings.Join(h, ","))}
			}
			if i > 0 && !equalStrings(h, header) {
				return nil, &RowError{File: f, Row: 0, Column: "", Kind: KindMalformed,
					Msg: fmt.Sprintf("header: %s has %s; files whose times overlap are read together and need one header", file, strings.Join(header, ","))}
			}
			header = h
		}
		var cols strings.Builder
		seen := map[string]bool{}
		for i, h := range header {
			if seen[h] {
				return nil, &RowError{File: file, Row: 0, Column: h, Kind: KindMalformed, Msg: "header: column name appears twice"}
			}
			seen[h] = true
			if i > 0 {
				cols.WriteString(", ")
			}
			cols.WriteString(sqlString(h) + ": 'VARCHAR'")
		}
		from = fmt.Sprintf("read_csv(%s, header=false, skip=1, delim=',', quote='\"', escape='\"', all_varchar=true, strict_mode=true, null_padding=false, columns={%s})",
			list, cols.String())
	default:
		from = "read_parquet(" + list + ")"
		if len(files) > 1 {
			from = "read_parquet(" + list + ", union_by_name=true)"
		}
	}
	types, err := s.describe(from)
	if err != nil {
		return nil, fmt.Errorf("feeds: %s: %w", file, err)
	}
	q, err := buildQuery(from, types, s.lay, s.native)
	if err != nil {
		var fe *FieldError
		if errors.As(err, &fe) {
			return nil, err
		}
		return nil, fmt.Errorf("feeds: %s: %w", file, err)
	}
	return q, nil
}

func (s *fileSource) describe(from string) (map[string]string, error) {
	rows, err := s.conn.QueryContext(s.ctx, "DESCRIBE SELECT * FROM "+from)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	types := map[string]string{}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		name, _ := vals[0].(string)
		typ, _ := vals[1].(string)
		types[name] = typ
	}
	return types, rows.Err()
}

// rawValue fetches the text of one cell for an error message (best effort).
func (s *fileSource) rawValue(cur *fileCursor, col string, row int64) string {
	if col == "" {
		return "?"
	}
	if cur.pf != nil {
		cur.pf.close() // the connection is needed; the read ends with this error anyway
	}
	var v sql.NullString
	err := s.conn.QueryRowContext(s.ctx, fmt.Sprintf("SELECT CAST(%s AS VARCHAR) FROM %s LIMIT 1 OFFSET %d", sqlIdent(col), cur.from, row-1)).Scan(&v)
	switch {
	case err != nil:
		return "?"
	case !v.Valid:
		return "nothing"
	}
	return fmt.Sprintf("%q", v.String)
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// readCSVHeader returns a CSV file's header names, trimmed of spaces, after a UTF-8 byte-order
// mark and without the line end (LF or CRLF).
func readCSVHeader(file string) ([]string, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("feeds: %w", err)
	}
	defer f.Close()
	br := bufio.NewReader(io.LimitReader(f, maxHeaderBytes))
	line, err := br.ReadBytes('\n')
	if err != nil && !(errors.Is(err, io.EOF) && len(line) > 0) {
		if errors.Is(err, io.EOF) {
			return nil, &RowError{File: file, Row: 0, Kind: KindMalformed, Msg: "header: the file is empty or the first line is longer than 64 KiB"}
		}
		return nil, fmt.Errorf("feeds: %s: %w", file, err)
	}
	line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))
	line = bytes.TrimRight(line, "\r\n")
	rec, err := csv.NewReader(bytes.NewReader(line)).Read()
	if err != nil {
		return nil, &RowError{File: file, Row: 0, Kind: KindMalformed, Msg: "header: " + err.Error()}
	}
	for i := range rec {
		rec[i] = strings.TrimSpace(rec[i])
		if rec[i] == "" {
			return nil, &RowError{File: file, Row: 0, Column: fmt.Sprintf("#%d", i+1), Kind: KindMalformed, Msg: "header: empty column name"}
		}
	}
	return rec, nil
}

// zoneCache converts wall-clock µs (read as if UTC) in loc to UTC µs, caching the offset of
// the last wall-clock hour (zone transitions fall on hour boundaries in the zones we serve).
type zoneCache struct {
	loc   *time.Location
	add   int64 // µs added to the wall clock first
	hour  int64
	off   int64
	valid bool
}

// instant turns a decoded time into UTC µs: values tagged with instantBias
// are instants already; others are wall clock in the zone.
func (z *zoneCache) instant(t int64) int64 {
	if t >= instantBias/2 {
		return t - instantBias
	}
	return z.toUTC(t)
}

func (z *zoneCache) toUTC(wall int64) int64 {
	wall += z.add
	if z.loc == time.UTC {
		return wall
	}
	h := wall / 3600e6
	if wall < 0 && wall%3600e6 != 0 {
		h--
	}
	if !z.valid || h != z.hour {
		t := time.UnixMicro(h * 3600e6).UTC()
		local := time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), 0, 0, 0, z.loc)
		z.hour, z.off, z.valid = h, h*3600e6-local.UnixMicro(), true
	}
	return wall - z.off
}

// strColumn is the part of Arrow's string arrays the decoder uses.
type strColumn interface {
	Value(i int) string
	IsNull(i int) bool
}

func (s *fileSource) decode(rec arrow.RecordBatch) error {
	cur := s.cur
	if int(rec.NumCols()) != outCount {
		return fmt.Errorf("feeds: %s: query returned %d columns, want %d", cur.file, rec.NumCols(), outCount)
	}
	var (
		cols   [outCount]arrow.Array
		f64    [outCount][]float64
		nulls  bool
		ok     bool
		timeV  []int64
		expV   []int64
		rightV []uint8
		sym    strColumn
		und    strColumn
	)
	for i := range cols {
		cols[i] = rec.Column(i)
		if cols[i].NullN() > 0 {
			nulls = true
		}
	}
	t, ok1 := cols[outTime].(*array.Int64)
	e, ok2 := cols[outExpiry].(*array.Int64)
	r, ok3 := cols[outRight].(*array.Uint8)
	sym, ok4 := cols[outSymbol].(strColumn)
	und, ok = cols[outUnderlying].(strColumn)
	if !(ok && ok1 && ok2 && ok3 && ok4) {
		return fmt.Errorf("feeds: %s: unexpected Arrow types %v", cur.file, rec.Schema())
	}
	timeV, expV, rightV = t.Int64Values(), e.Int64Values(), r.Uint8Values()
	for _, i := range []int{outStrike, outMultiplier, outBid, outAsk, outUnderlyingPrice, outIV, outDelta, outGamma, outVega, outTheta} {
		a, ok := cols[i].(*array.Float64)
		if !ok {
			return fmt.Errorf("feeds: %s: column %d is %s, want double", cur.file, i, cols[i].DataType())
		}
		f64[i] = a.Float64Values()
	}
	n := int(rec.NumRows())
	if cap(s.batch.Quotes)-len(s.batch.Quotes) < n {
		s.batch.Quotes = append(make([]Quote, 0, len(s.batch.Quotes)+max(n, 4096)), s.batch.Quotes...)
	}
	timeUTC := cur.q.timeUTC
	for i := 0; i < n; i++ {
		cur.row++
		if nulls {
			if out := s.nullColumn(&cols, i); out >= 0 {
				if err := s.bad(cur, out, badField{kind: KindMalformed, msg: "missing or unparseable"}); err != nil {
					return err
				}
				continue
			}
		}
		tm := timeV[i]
		if !timeUTC {
			tm = s.tz.instant(tm)
		}
		qt := Quote{
			Time: tm, Bid: f64[outBid][i], Ask: f64[outAsk][i], UnderlyingPrice: f64[outUnderlyingPrice][i],
			IV: f64[outIV][i], Delta: f64[outDelta][i], Gamma: f64[outGamma][i], Vega: f64[outVega][i], Theta: f64[outTheta][i],
		}
		symbol := sym.Value(i)
		id, known := s.contracts.Lookup(symbol)
		var c Contract
		var strike float64
		m := rowMeta{symbol: symbol, exp: expV[i], strike: f64[outStrike][i], right: rightV[i], mult: f64[outMultiplier][i]}
		if !und.IsNull(i) {
			m.und, m.undOK = und.Value(i), true
		}
		if known {
			k := s.contracts.Get(id)
			strike = k.Strike
			if int(id) >= len(s.lastMeta) || s.lastMeta[id] != m {
				// New raw values for a known symbol: they must define the
				// same contract (first definition wins, but never silently).
				c2, out, bf := s.newContract(cur.q, m)
				if bf.kind == "" && !sameContract(&c2, k) {
					out, bf = outSymbol, badField{kind: KindMalformed, field: ColSymbol,
						msg: fmt.Sprintf("%s is defined differently earlier (expiry %s, strike %g, right %s, multiplier %g)", symbol, k.Expiry.Format(time.RFC3339), k.Strike, k.Right, k.Multiplier)}
				}
				if bf.kind != "" {
					if err := s.bad(cur, out, bf); err != nil {
						return err
					}
					continue
				}
				s.rememberMeta(id, m)
			}
		} else {
			var bf badField
			var out int
			c, out, bf = s.newContract(cur.q, m)
			if bf.kind != "" {
				if err := s.bad(cur, out, bf); err != nil {
					return err
				}
				continue
			}
			strike = c.Strike
		}
		if bf, good := checkQuote(&qt, strike); !good {
			if err := s.bad(cur, roleOut(bf.field), bf); err != nil {
				return err
			}
			continue
		}
		if s.order.started && tm < s.order.last {
			bf, _ := s.order.check(tm, 0)
			if err := s.bad(cur, outTime, bf); err != nil {
				return err
			}
			continue
		}
		if !known {
			id = s.contracts.Intern(c)
			s.rememberMeta(id, m)
		}
		if bf, good := s.order.check(tm, id); !good {
			if err := s.bad(cur, outTime, bf); err != nil {
				return err
			}
			continue
		}
		s.order.accept(tm, id)
		qt.Contract = id
		s.batch.Quotes = append(s.batch.Quotes, qt)
	}
	return nil
}

// nullColumn returns the first output column that is null in row i and matters, or -1.
func (s *fileSource) nullColumn(cols *[outCount]arrow.Array, i int) int {
	for out := range cols {
		if !cols[out].IsNull(i) {
			continue
		}
		switch out {
		case outUnderlying:
			continue // the OCC root stands in
		case outExpiry, outStrike, outRight:
			if !s.cur.q.hasColumn[out] {
				continue // from the OCC symbol
			}
		case outSymbol:
			// A composed symbol is null when one of its parts is: report the part.
			for _, p := range []int{outStrike, outRight, outExpiry, outUnderlying} {
				if s.cur.q.hasColumn[p] && cols[p].IsNull(i) {
					return p
				}
			}
		}
		return out
	}
	return -1
}

// rowMeta is a row's contract columns.
// rememberMeta records the raw columns accepted for contract id (strings
// cloned: Arrow reuses their memory).
func (s *fileSource) rememberMeta(id ContractID, m rowMeta) {
	for int(id) >= len(s.lastMeta) {
		s.lastMeta = append(s.lastMeta, rowMeta{})
	}
	m.symbol, m.und = strings.Clone(m.symbol), strings.Clone(m.und)
	s.lastMeta[id] = m
}

// sameContract reports whether two definitions of a symbol agree.
func sameContract(a, b *Contract) bool {
	return a.Underlying == b.Underlying && a.Expiry.Equal(b.Expiry) && math.Abs(a.Strike-b.Strike) < 1e-9 &&
		a.Right == b.Right && a.Multiplier == b.Multiplier
}

type rowMeta struct {
	symbol string
	und    string
	undOK  bool
	exp    int64
	strike float64
	right  uint8
	mult   float64
}

// newContract builds the contract of an unseen symbol; on failure it returns the output
// column at fault and the verdict.
func (s *fileSource) newContract(q *query, m rowMeta) (Contract, int, badField) {
	c := Contract{Symbol: strings.Clone(m.symbol), Multiplier: m.mult}
	occ, occErr := ParseOCC(c.Symbol) // the clone: the root must not point into Arrow memory
	if q.hasColumn[outUnderlying] && m.undOK {
		c.Underlying = strings.Clone(m.und)
	} else if occErr == nil {
		c.Underlying = occ.Root
	} else {
		return c, outSymbol, badField{kind: KindMalformed, field: ColSymbol, msg: fmt.Sprintf("%q is not an OCC symbol and no underlying column is mapped", m.symbol)}
	}
	if q.hasColumn[outExpiry] {
		v := m.exp
		switch {
		case v%86400e6 == 0: // a date (also an instant at midnight UTC, as pandas writes dates): 16:00 New York that day
			d := MicrosTime(v)
			c.Expiry = ExpiryAt(d.Year(), d.Month(), d.Day())
		case q.expiryUTC:
			c.Expiry = MicrosTime(v)
		default:
			c.Expiry = MicrosTime(s.ez.toUTC(v))
		}
	} else if occErr == nil {
		c.Expiry = occ.Expiry
	}
	if q.hasColumn[outStrike] {
		c.Strike = m.strike
	} else if occErr == nil {
		c.Strike = occ.Strike
	}
	if q.hasColumn[outRight] {
		c.Right = Right(m.right)
	} else if occErr == nil {
		c.Right = occ.Right
	}
	if c.Right != Call && c.Right != Put {
		out := outRight
		if !q.hasColumn[outRight] {
			out = outSymbol
		}
		return c, out, badField{kind: KindMalformed, field: ColRight, msg: "want C, P, call or put"}
	}
	if c.Expiry.IsZero() {
		return c, outSymbol, badField{kind: KindMalformed, field: ColSymbol, msg: fmt.Sprintf("%q is not an OCC symbol and no expiry column is mapped", m.symbol)}
	}
	if !(c.Multiplier > 0) || !isFinite(c.Multiplier) {
		return c, outMultiplier, badField{kind: KindNonpositive, field: ColMultiplier, msg: fmt.Sprintf("want multiplier > 0, found %v", c.Multiplier)}
	}
	// An OCC symbol names its own expiry, right and strike: columns that
	// say otherwise make a contract that contradicts its name.
	if occErr == nil {
		ny := c.Expiry.In(newYork)
		switch {
		case ny.Format(time.DateOnly) != occ.Expiry.In(newYork).Format(time.DateOnly):
			return c, outExpiry, badField{kind: KindMalformed, field: ColExpiry, msg: fmt.Sprintf("symbol %s expires %s, the column says %s", c.Symbol, occ.Expiry.In(newYork).Format(time.DateOnly), ny.Format(time.DateOnly))}
		case c.Right != occ.Right:
			return c, outRight, badField{kind: KindMalformed, field: ColRight, msg: fmt.Sprintf("symbol %s is a %s, the column says %s", c.Symbol, occ.Right, c.Right)}
		case math.Abs(c.Strike-occ.Strike) > 0.0005:
			return c, outStrike, badField{kind: KindMalformed, field: ColStrike, msg: fmt.Sprintf("symbol %s has strike %g, the column says %g", c.Symbol, occ.Strike, c.Strike)}
		}
	}
	return c, -1, badField{}
}

func roleOut(role string) int {
	for i, r := range outRole {
		if r == role {
			return i
		}
	}
	return -1
}

// bad applies the policy to a bad row: under Skip it counts it and returns nil.
func (s *fileSource) bad(cur *fileCursor, out int, bf badField) error {
	if s.dq == Skip {
		s.counts[bf.kind]++
		return nil
	}
	col := ""
	if out >= 0 {
		col = cur.q.srcCol[out]
		if col == "" {
			col = outRole[out]
		}
	}
	msg := bf.msg
	if cur.sorted { // plan.go: the row number counts rows in time order
		return &RowError{File: cur.file, Row: cur.row, Column: col, Kind: bf.kind, Msg: msg + " (rows not stored in time order are read sorted: the row counts in time order)"}
	}
	if bf.kind == KindMalformed && out >= 0 && cur.q.srcCol[out] != "" {
		msg = fmt.Sprintf("%s: found %s", msg, s.rawValue(cur, cur.q.srcCol[out], cur.row))
	}
	return &RowError{File: cur.file, Row: cur.row, Column: col, Kind: bf.kind, Msg: msg}
}
