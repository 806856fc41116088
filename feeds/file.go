package feeds

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
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
// QualityKind); under Reject the first bad row fails Next with a *RowError naming the file,
// the physical line (CSV) and the column. A CSV file is scanned in Go first (csvscan.go):
// problems with the whole file (encoding, compression, header) are a *FileError; lines
// that are not records are malformed rows. Under Skip, a source that read rows and kept none
// ends with an *AllSkippedError (counts by kind, most likely cause) instead of io.EOF. The
// query engine's own messages never reach the caller: they are translated (engineError).
//
// Greeks: when the file has none (FileConfig.Greeks) they are computed from the mid
// (iv.go); quotes where no volatility fits are "no_iv". Roots map to underlyings and
// settlement styles (roots.go).
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
	if lay.needsUnderlying {
		return nil, &FieldError{Field: "underlying_prices", Msg: fmt.Sprintf("%s files carry no underlying price: give underlying_prices (a CSV of time,price or daily bars) or columns.underlying_price", cfg.Preset)}
	}
	files, err := listFiles(cfg.Path, format, lister)
	if err != nil {
		return nil, err
	}
	var series *priceSeries
	if cfg.UnderlyingPrices != nil {
		if series, err = loadUnderlying(cfg.UnderlyingPrices); err != nil {
			return nil, err
		}
	}
	connector, err := duckdb.NewConnector("", nil)
	if err != nil {
		return nil, fmt.Errorf("feeds: starting the query engine: %w", err)
	}
	db := sql.OpenDB(connector)
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("feeds: starting the query engine: %w", err)
	}
	s := &fileSource{ctx: ctx, db: db, conn: conn, files: files, format: format, lay: lay,
		native: cfg.Preset == PresetNative, dq: dq.withDefault(), contracts: NewContracts(), counts: QualityCounts{},
		roots: newRootMap(cfg), series: series, greeks: cfg.Greeks, rate: cfg.Rate, div: cfg.DividendYield,
		skips: map[skipKey]*skipStat{}, scans: map[string]*csvPlan{}}
	if st, err := os.Stat(cfg.Path); err == nil && st.IsDir() && format == FormatParquet {
		s.hiveRoot = cfg.Path
	}
	// Memory, threads, spills, and offline (no extension fetched or autoloaded): duckdb.go.
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
		return nil, fmt.Errorf("feeds: starting the query engine: %w", err)
	}
	s.tz = zoneCache{loc: lay.loc}
	s.ez = zoneCache{loc: lay.loc}
	return Canonical(s), nil
}

// csvSuffixes and parquetSuffixes are the data file names guessFormat and folder listing
// know (compression is told by magic bytes, not by the name).
var (
	csvSuffixes     = []string{".csv", ".csv.gz", ".csv.gzip", ".csv.zst", ".csv.zstd", ".txt", ".txt.gz"}
	parquetSuffixes = []string{".parquet", ".pq", ".parq"}
)

func hasSuffix(p string, sufs []string) bool {
	p = strings.ToLower(p)
	for _, s := range sufs {
		if strings.HasSuffix(p, s) {
			return true
		}
	}
	return false
}

// guessFormat tells the format from the name, a folder's content (a Delta log, or data
// files, Hive-partitioned or not) or a file's first bytes.
func guessFormat(path string) string {
	switch {
	case hasSuffix(path, csvSuffixes):
		return FormatCSV
	case hasSuffix(path, parquetSuffixes):
		return FormatParquet
	}
	if st, err := os.Stat(filepath.Join(path, "_delta_log")); err == nil && st.IsDir() {
		return FormatDelta
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		if fs := folderFiles(path); len(fs) > 0 {
			return guessFormat(fs[0])
		}
		return ""
	}
	if f, err := os.Open(path); err == nil {
		var head [4]byte
		n, _ := io.ReadFull(f, head[:])
		f.Close()
		if bytes.Equal(head[:n], magicParquet) {
			return FormatParquet
		}
		if n > 0 {
			return FormatCSV // the scan refuses what is not text
		}
	}
	if m, _ := filepath.Glob(path); len(m) > 0 && m[0] != path {
		return guessFormat(m[0])
	}
	return ""
}

// withHiveColumns adds the key=value folders between a Parquet folder
// feed's root and file as text columns, for keys the file does not have
// itself (a Hive-partitioned folder such as right=P/date=2020-03-16/). Only
// folders below the root the user named count.
func withHiveColumns(from, root, file string, types map[string]string) string {
	if root == "" {
		return from
	}
	rel, err := filepath.Rel(root, filepath.Dir(file))
	if err != nil || rel == "." || strings.HasPrefix(rel, "..") {
		return from
	}
	var extra []string
	for _, seg := range strings.Split(filepath.ToSlash(rel), "/") {
		k, v, ok := strings.Cut(seg, "=")
		if !ok || k == "" {
			continue
		}
		if _, has := types[k]; has {
			continue
		}
		types[k] = "VARCHAR"
		extra = append(extra, sqlString(v)+" AS "+sqlIdent(k))
	}
	if len(extra) == 0 {
		return from
	}
	return "(SELECT *, " + strings.Join(extra, ", ") + " FROM " + from + ")"
}

// maxFolderFiles bounds the files of a folder feed.
const maxFolderFiles = 100_000

// folderFiles lists the data files under dir (recursively, for Hive partitions such as
// date=2020-03-16/part-0.parquet) in lexical order of their paths; hidden files and folders
// (.x, _x) are left out.
func folderFiles(dir string) []string {
	var out []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || len(out) >= maxFolderFiles {
			return filepath.SkipDir
		}
		name := d.Name()
		if p != dir && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.IsDir() && (hasSuffix(name, csvSuffixes) || hasSuffix(name, parquetSuffixes)) {
			out = append(out, p)
		}
		return nil
	})
	return out // WalkDir visits in lexical order
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
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		fs := folderFiles(path)
		if len(fs) == 0 {
			return nil, fmt.Errorf("%w: folder %s holds no .csv, .csv.gz, .csv.zst or .parquet file", ErrNoFiles, path)
		}
		return fs, checkGlobFree(fs)
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
	retire retirer // forgets the contracts that expired long ago
	// lastMeta[id] is the raw contract columns last accepted for contract
	// id (CSV path): a row with other values is checked against the
	// contract's first definition.
	lastMeta []rowMeta

	ctx      context.Context
	db       *sql.DB
	conn     *sql.Conn
	arrow    *duckdb.Arrow
	files    []string
	hiveRoot string // a Parquet folder feed: key=value folders below it are columns
	// described is a one-file feed's column types (DESCRIBE parses the whole
	// footer: the plan's and the read's source share one).
	described  map[string]string
	lastFooter *parquetFooter // footer.go
	format     string
	lay        *layout
	native     bool
	dq         DataQuality
	contracts  *Contracts
	counts     QualityCounts
	duck       duckState // streaming connection and temp folder (duckdb.go)
	order      orderCheck
	tz, ez     zoneCache
	batch      Batch
	closed     bool

	units []readUnit // the reading plan (plan.go), made at the first Next
	fi    int        // index of the next unit in units
	cur   *fileCursor
	err   error // sticky error
	// scans holds each CSV file's scan (csvscan.go), made once by the plan and reused by the read.
	scans map[string]*csvPlan

	roots    rootMap
	series   *priceSeries // underlying prices, when the files carry none
	greeks   string       // FileConfig.Greeks
	rate     float64
	div      float64
	tmps     []string // normalized CSV copies, removed by Close
	accepted int64    // quotes returned
	// headerOnly counts CSV files with a header and no row at all (a holiday's empty file
	// in a folder is fine; a feed of nothing else is an error).
	headerOnly int
	skips      map[skipKey]*skipStat
}

// skipKey and skipStat summarise skipped rows by kind and column, for the message when every
// row was skipped.
type skipKey struct {
	kind QualityKind
	col  string
}

type skipStat struct {
	n    int64
	role string
	msg  string
	from string // the first example: query source and row
	row  int64
}

type fileCursor struct {
	file   string   // for messages: the file, or the first of several
	files  []string // the files of the unit read by one query
	sorted bool     // read with ORDER BY (plan.go): rows carry their file and row (posFile, posRow)
	// declared: one file whose footer declares its time order (footer.go); a row
	// out of that order fails the read.
	declared bool
	from     string
	q        *query
	pf       *prefetch
	row      int64    // rows of this unit consumed so far
	plan     *csvPlan // CSV, one file in order: the scan's outcome (lines, structural bad rows)
	// A sorted unit: each file's query source and scan, and the current record's
	// file index and row (1-based, in its file) columns.
	froms  []string
	plans  []*csvPlan
	fiV    []int32
	rnV    []int64
	recRow int // the current row's index in the record
	// compute: greeks are computed from the mid (iv.go); slow: every row takes the full checks.
	compute, slow bool
	// Parquet fast path: the symbol arrives as a code, an index into ids
	// (the contract ID, noContract until a row is accepted) and into syms
	// (see openFast) or, for a native file, into native (nativetable.go).
	fast    bool
	ids     []ContractID
	syms    []symMeta
	native  *nativeTable
	lazy    map[uint32]*symMeta
	scratch symMeta // acceptCode's, for a code with an ID
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
	errs = append(errs, s.db.Close())
	for _, t := range s.tmps {
		os.Remove(t)
	}
	errs = append(errs, s.removeTemp())
	return errors.Join(errs...)
}

func (s *fileSource) Next(ctx context.Context) (*Batch, error) {
	if s.closed {
		return nil, errClosed
	}
	if s.err != nil {
		return nil, s.err
	}
	if n := len(s.batch.Quotes); n > 0 {
		// The previous batch is handed on: retire what expired long
		// before it (retire.go).
		if gone := s.retire.step(s.contracts, s.batch.Quotes[n-1].Time, s.order.seen); len(gone) > 0 {
			s.forget(gone)
		}
	}
	s.batch.Quotes = s.batch.Quotes[:0]
	for len(s.batch.Quotes) == 0 {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if s.cur == nil {
			if s.units == nil {
				if err := s.plan(); err != nil { // plan.go's reading plan
					s.err = err
					return nil, err
				}
			}
			if s.fi >= len(s.units) {
				if s.dq == Skip && s.accepted == 0 && s.counts.Total() > 0 {
					s.err = s.allSkipped()
					return nil, s.err
				}
				if s.headerOnly > 0 && s.headerOnly == len(s.files) {
					msg := "the file has a header line and no data rows"
					if len(s.files) > 1 {
						msg = fmt.Sprintf("none of the %d files has data rows (header lines only)", len(s.files))
					}
					s.err = &FileError{File: s.files[0], Msg: msg}
					return nil, s.err
				}
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
		var rec arrow.RecordBatch
		var err error
		if s.cur.pf != nil {
			rec, err = s.cur.pf.next()
		}
		if rec == nil {
			if s.cur.pf != nil {
				s.cur.pf.close()
			}
			cur := s.cur
			s.cur = nil
			if err != nil {
				s.err = engineError(s.ctx, cur.file, s.format, err)
				return nil, s.err
			}
			if err := s.scanBadDue(cur); err != nil {
				s.err = err
				return nil, err
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
	s.accepted += int64(len(s.batch.Quotes))
	return &s.batch, nil
}

// openFile checks the layout of a unit's files and starts its query.
func (s *fileSource) openFile(u readUnit) (*fileCursor, error) {
	cur := &fileCursor{file: u.name(), files: u.files, sorted: !u.inOrder, declared: u.declared}
	file := cur.file
	q, err := s.prepare(cur)
	if err != nil {
		return nil, err
	}
	if q == nil {
		// No good row in any file: no query (DuckDB refuses a header-only file); the
		// scan's bad rows are reported as for any file.
		cur.q = &query{}
		s.dropFooter()
		return cur, nil
	}
	cur.q = q
	switch s.greeks {
	case GreeksCompute:
		cur.compute = true
	case "":
		cur.compute = !q.hasColumn[outIV] && !q.hasColumn[outDelta]
	}
	cur.slow = cur.compute || s.series != nil
	sqlText := q.sql
	if s.format != FormatCSV && q.hasColumn[outSymbol] {
		if sqlText, err = s.openFast(cur); err != nil {
			return nil, err
		}
	}
	if cur.sorted {
		n := outCount
		if cur.fast {
			n = fastCount
		}
		// The file index and row travel with each row, for messages (plan.go).
		tail := " FROM " + q.from
		if !strings.HasSuffix(sqlText, tail) {
			return nil, fmt.Errorf("feeds: %s: internal: the query does not end with its source", file)
		}
		sqlText = strings.TrimSuffix(sqlText, tail) + ", " + posFileCol + ", " + posRowCol + tail
		sqlText = s.sorted(sqlText, q, n+2) // plan.go
		if s.dq != Skip {
			// Under reject, a structural bad line of any of the unit's files fails
			// the unit before it is read (time order mixes the files' rows).
			for i, p := range cur.plans {
				if p != nil && p.firstBad != nil {
					return nil, scanBadError(cur.files[i], p)
				}
			}
		}
	}
	rr, err := s.query(sqlText)
	if err != nil {
		return nil, engineError(s.ctx, file, s.format, err)
	}
	cur.pf = startPrefetch(rr)
	s.dropFooter() // footer.go: not kept while the unit is read
	return cur, nil
}

// Columns a sorted unit's query adds: the file's index in the unit and the row in the file.
const (
	posFileCol = "__feeds_file"
	posRowCol  = "__feeds_row"
)

// scan returns file's CSV scan, made once.
func (s *fileSource) scan(file string) (*csvPlan, error) {
	if p, ok := s.scans[file]; ok {
		return p, nil
	}
	// The normalized copy (a file of good lines, when the file has bad or
	// mixed line ends) goes where DuckDB spills: inside a run's staging
	// folder, so a crash leaves it where the next run cleans up.
	plan, err := scanCSV(file, s.duck.temp)
	if err != nil {
		return nil, err
	}
	if plan.tmp != "" {
		s.tmps = append(s.tmps, plan.tmp)
	}
	s.scans[file] = plan
	return plan, nil
}

// source checks one file's layout and returns its query source and column types; a CSV
// file's scan too. from is "" when the file has no good row.
func (s *fileSource) source(file string) (from string, types map[string]string, plan *csvPlan, err error) {
	switch s.format {
	case FormatCSV:
		if plan, err = s.scan(file); err != nil {
			return "", nil, nil, err
		}
		types = map[string]string{}
		var cols strings.Builder
		for i, h := range plan.header {
			if i > 0 {
				cols.WriteString(", ")
			}
			cols.WriteString(sqlString(h) + ": 'VARCHAR'")
			types[h] = "VARCHAR"
		}
		from = fmt.Sprintf("read_csv(%s, header=false, skip=1, delim=',', quote='\"', escape='\"', all_varchar=true, strict_mode=true, null_padding=false, compression=%s, columns={%s})",
			sqlString(plan.read), sqlString(plan.compression), cols.String())
	default:
		// DuckDB's own Hive partitioning is off: it would read key=value
		// folders anywhere in the path (above the user's folder too) and
		// let them override the file's columns. A Delta table's partition
		// values come from its log.
		from = "read_parquet(" + sqlString(file) + ", hive_partitioning=false)"
		if types = maps.Clone(s.described); types == nil { // a copy: withHiveColumns adds to it
			if s.native {
				if f, err := s.footer(file); err == nil {
					types, _ = f.nativeTypes()
				}
			}
		}
		if types == nil {
			if types, err = s.describe(from); err != nil {
				return "", nil, nil, engineError(s.ctx, file, s.format, err)
			}
			if len(s.files) == 1 {
				s.described = maps.Clone(types)
			}
		}
		from = withHiveColumns(from, s.hiveRoot, file, types)
	}
	has := func(c string) bool { _, ok := types[c]; return ok }
	if missing := s.lay.requiredMissing(has); len(missing) > 0 {
		what := "the mapping needs"
		if s.lay.preset != "" {
			what = "the " + s.lay.preset + " preset needs"
		}
		names := make([]string, len(missing))
		for i, m := range missing {
			names[i] = quoteValue(m)
		}
		plural := ""
		if len(names) > 1 {
			plural = "s"
		}
		// The file's own header is not echoed: it may not be a data file at all.
		found := fmt.Sprintf("the file has %d columns", len(types))
		if len(types) == 1 && plan != nil {
			switch h := plan.header[0]; {
			case strings.Contains(h, ";"):
				found = "the first line has semicolons and no comma: write the file comma-separated"
			case strings.Contains(h, "\t"):
				found = "the first line has tabs and no comma: write the file comma-separated"
			case strings.Contains(h, ":") || strings.Contains(h, "[") || strings.Contains(h, "="):
				found = "the first line has one field: this does not look like a CSV data file"
			}
		}
		fe := &FileError{File: file, Msg: fmt.Sprintf("header: %s column%s %s, not in the file (%s)", what, plural, strings.Join(names, ", "), found)}
		if plan != nil {
			fe.Line = 1
		}
		return "", nil, nil, fe
	}
	if plan != nil && plan.rows == 0 {
		from = ""
	}
	return from, types, plan, nil
}

// countScanBad counts, under skip, the structural bad rows of a CSV file's scan.
func (s *fileSource) countScanBad(plan *csvPlan) {
	if plan == nil || plan.badCount == 0 || s.dq != Skip {
		return
	}
	s.counts[KindMalformed] += plan.badCount
	s.skipStat(KindMalformed, "", "", plan.firstBad.msg).n += plan.badCount
}

// prepare checks the layout of a unit's files and builds their query (nil when no file
// has a good row). Files read together by one sorted query need the same columns; each
// keeps its own source (its scanned copy, compression, Hive columns), and the rows
// carry the file's index and their row in the file (posFileCol, posRowCol).
func (s *fileSource) prepare(cur *fileCursor) (*query, error) {
	files := cur.files
	var (
		types    map[string]string
		branches []string
	)
	cur.froms = make([]string, len(files))
	cur.plans = make([]*csvPlan, len(files))
	for i, f := range files {
		from, ty, plan, err := s.source(f)
		if err != nil {
			return nil, err
		}
		cur.froms[i], cur.plans[i] = from, plan
		if plan != nil && plan.rows == 0 && plan.badCount == 0 {
			s.headerOnly++
		}
		s.countScanBad(plan)
		if from == "" {
			continue
		}
		if types == nil {
			types = ty
		} else if !sameColumns(types, ty) {
			return nil, &FileError{File: f, Msg: fmt.Sprintf("its columns differ from %s's; files whose times overlap are read together and need the same columns", filepath.Base(files[0]))}
		}
		branches = append(branches, fmt.Sprintf("SELECT *, CAST(%d AS INTEGER) AS %s, row_number() OVER () AS %s FROM %s", i, posFileCol, posRowCol, from))
	}
	if !cur.sorted {
		cur.plan = cur.plans[0]
	}
	if types == nil {
		return nil, nil
	}
	from := cur.froms[0]
	if cur.sorted {
		from = "(" + strings.Join(branches, " UNION ALL BY NAME ") + ")"
	}
	q, err := buildQuery(from, types, s.lay, s.native)
	if err != nil {
		var fe *FieldError
		if errors.As(err, &fe) {
			return nil, err
		}
		return nil, &FileError{File: cur.file, Msg: err.Error()}
	}
	cur.from = q.from
	return q, nil
}

func sameColumns(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			return false
		}
	}
	return true
}

// scanBadError is the error of a CSV scan's first structural bad row.
func scanBadError(file string, p *csvPlan) error {
	b := p.firstBad
	re := &RowError{File: file, Line: b.line, Row: p.firstBadRow + 1, Kind: KindMalformed, Msg: b.msg}
	if b.field > 0 && b.field <= len(p.header) {
		re.Field, re.Column = b.field, p.header[b.field-1]
	}
	return re
}

// Greeks settings (FileConfig.Greeks).
const (
	GreeksFile    = "file"
	GreeksCompute = "compute"
)

// engineError turns a query engine error into the package's error: the file and what is
// wrong with it in our words. The engine's text is kept for errors.Unwrap, never printed.
func engineError(ctx context.Context, file, format string, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	t := err.Error()
	msg := fmt.Sprintf("cannot be read as %s: the file is damaged, cut short or in another format", format)
	switch {
	case strings.Contains(t, "magic bytes") || strings.Contains(t, "too small to be a Parquet file") || strings.Contains(t, "No magic"):
		msg = "is not a Parquet file (no PAR1 marker): check the file or set format"
	case strings.Contains(t, "ermission denied"):
		msg = "permission denied: the file is not readable"
	case strings.Contains(t, "No files found") || strings.Contains(t, "No such file"):
		msg = "no such file"
	case strings.Contains(t, "Conversion Error") || strings.Contains(t, "Could not convert"):
		msg = "a value cannot be converted to its column's type"
	}
	return &FileError{File: file, Msg: msg, err: err}
}

// scanBadDue returns, under reject, the scan's first structural bad row once the rows before
// it were read (so the first bad row of a file is the one reported, wherever it is).
func (s *fileSource) scanBadDue(cur *fileCursor) error {
	if s.dq == Skip || cur.sorted || cur.plan == nil || cur.plan.firstBad == nil || cur.row < cur.plan.firstBadRow {
		return nil
	}
	return scanBadError(cur.file, cur.plan)
}

// positions checks a record's columns (want, plus the position columns of a sorted unit)
// and takes the position columns.
func (cur *fileCursor) positions(rec arrow.RecordBatch, want int) error {
	extra := 0
	if cur.sorted {
		extra = 2
	}
	if int(rec.NumCols()) != want+extra {
		return fmt.Errorf("feeds: %s: query returned %d columns, want %d", cur.file, rec.NumCols(), want+extra)
	}
	if !cur.sorted {
		return nil
	}
	f, ok1 := rec.Column(want).(*array.Int32)
	r, ok2 := rec.Column(want + 1).(*array.Int64)
	if !ok1 || !ok2 {
		return fmt.Errorf("feeds: %s: unexpected Arrow types %v", cur.file, rec.Schema())
	}
	cur.fiV, cur.rnV = f.Int32Values(), r.Int64Values()
	return nil
}

// at returns the current row's file, row in that file, query source and scan: a sorted
// unit's rows carry them; otherwise the unit is one file read in order.
func (cur *fileCursor) at() (file string, row int64, from string, plan *csvPlan) {
	if !cur.sorted || cur.recRow >= len(cur.fiV) {
		return cur.file, cur.row, cur.from, cur.plan
	}
	i := cur.fiV[cur.recRow]
	return cur.files[i], cur.rnV[cur.recRow], cur.froms[i], cur.plans[i]
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
func (s *fileSource) rawValue(cur *fileCursor, from, col string, row int64) string {
	if col == "" {
		return "?"
	}
	if cur.pf != nil {
		cur.pf.close() // the connection is needed; the read ends with this error anyway
	}
	var v sql.NullString
	err := s.conn.QueryRowContext(s.ctx, fmt.Sprintf("SELECT CAST(%s AS VARCHAR) FROM %s LIMIT 1 OFFSET %d", sqlIdent(col), from, row-1)).Scan(&v)
	switch {
	case err != nil:
		return "?"
	case !v.Valid || strings.TrimSpace(v.String) == "":
		return "nothing"
	}
	return quoteValue(v.String)
}

// zoneCache converts wall-clock µs (read as if UTC) in loc to UTC µs, caching the offset of
// the last wall-clock hour (zone transitions fall on hour boundaries in the zones we serve).
type zoneCache struct {
	loc   *time.Location
	hour  int64
	off   int64
	valid bool
	day   int64 // last date tagged with dateBias, and its 16:00 New York in UTC µs
	close int64
}

// instant turns a decoded time into UTC µs: values tagged with instantBias
// are instants already; values tagged with dateBias are dates (16:00 New
// York); others are wall clock in the zone.
func (z *zoneCache) instant(t int64) int64 {
	switch {
	case t >= instantBias/2:
		return t - instantBias
	case t >= dateBias/2:
		d := t - dateBias
		if d != z.day || z.close == 0 {
			u := MicrosTime(d)
			z.day, z.close = d, ExpiryAt(u.Year(), u.Month(), u.Day()).UnixMicro()
		}
		return z.close
	}
	return z.toUTC(t)
}

func (z *zoneCache) toUTC(wall int64) int64 {
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
	if err := cur.positions(rec, outCount); err != nil {
		return err
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
		if err := s.scanBadDue(cur); err != nil {
			return err
		}
		cur.row++
		cur.recRow = i
		if nulls {
			if out := s.nullColumn(&cols, i); out >= 0 {
				if err := s.bad(cur, out, badField{kind: KindMalformed, msg: msgUnparseable}); err != nil {
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
		if cur.slow {
			kc := &c
			if known {
				kc = s.contracts.Get(id)
			}
			if out, bf := s.enrich(cur, &qt, kc); bf.kind != "" {
				if err := s.bad(cur, out, bf); err != nil {
					return err
				}
				continue
			}
		} else if bf, good := checkQuote(&qt, strike); !good {
			if err := s.bad(cur, roleOut(bf.field), bf); err != nil {
				return err
			}
			continue
		}
		if s.order.started && tm < s.order.last {
			if cur.declared {
				return declaredOrderError(cur.file, cur.row)
			}
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
	occ, occErr := ParseOCC(m.symbol)
	if occErr == nil {
		c.Root = strings.Clone(occ.Root) // occ.Root points into Arrow's memory
	}
	if q.hasColumn[outUnderlying] && m.undOK {
		c.Underlying = s.roots.underlying(strings.Clone(m.und))
	} else if occErr == nil {
		c.Underlying = s.roots.underlying(c.Root)
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
	root := c.Root
	if root == "" {
		root = c.Underlying
	}
	c.Settlement = s.roots.settlement(root, c.Expiry)
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

// msgUnparseable marks a null output cell: the message becomes "want …, found …".
const msgUnparseable = "missing or unparseable"

// enrich completes a quote of a slow-path row: the underlying price from the series, the
// value checks, then the computed greeks. It returns the verdict and the column at fault.
func (s *fileSource) enrich(cur *fileCursor, q *Quote, c *Contract) (int, badField) {
	if s.series != nil && !cur.q.hasColumn[outUnderlyingPrice] {
		p, ok := s.series.at(q.Time)
		if !ok {
			return outTime, badField{kind: KindMalformed, field: ColUnderlyingPrice,
				msg: fmt.Sprintf("no underlying price at or before %s in %s", MicrosTime(q.Time).Format(time.RFC3339), s.series.file)}
		}
		q.UnderlyingPrice = p
	}
	if bf, good := checkQuote(q, c.Strike); !good {
		return roleOut(bf.field), bf
	}
	if cur.compute && !computedGreeks(q, c, s.rate, s.div) {
		return outBid, badField{kind: KindNoIV, field: ColBid,
			msg: fmt.Sprintf("no volatility in [%v, %v] gives the mid %v (underlying %v, strike %v, %s, expiry %s): below intrinsic value or above the no-arbitrage bound",
				MinIV, MaxIV, q.Mid(), q.UnderlyingPrice, c.Strike, c.Right, c.Expiry.Format(time.DateOnly))}
	}
	return -1, badField{}
}

// bad applies the policy to a bad row: under Skip it counts it and returns nil.
func (s *fileSource) bad(cur *fileCursor, out int, bf badField) error {
	col, role := "", ""
	if out >= 0 {
		role = outRole[out]
		col = cur.q.srcCol[out]
		if col == "" {
			col = role
		}
	}
	// A sorted unit's row names its own file and row (plan.go).
	file, row, from, plan := cur.at()
	if s.dq == Skip {
		s.counts[bf.kind]++
		st := s.skipStat(bf.kind, col, role, bf.msg)
		if st.n == 0 && out >= 0 && cur.q.srcCol[out] != "" {
			st.from, st.row = from, row
		}
		st.n++
		return nil
	}
	msg := bf.msg
	if bf.kind == KindMalformed && out >= 0 && cur.q.srcCol[out] != "" {
		found := s.rawValue(cur, from, cur.q.srcCol[out], row)
		if msg == msgUnparseable {
			msg = fmt.Sprintf("want %s, found %s", s.lay.expectFor(role), found)
		} else {
			msg = fmt.Sprintf("%s (found %s)", msg, found)
		}
	} else if msg == msgUnparseable {
		msg = "want " + s.lay.expectFor(role) + ", found nothing"
	}
	re := &RowError{File: file, Row: row, Column: col, Kind: bf.kind, Msg: msg}
	if plan != nil {
		re.Line = plan.lines.line(row)
		for i, h := range plan.header {
			if h == col {
				re.Field = i + 1
			}
		}
	}
	return re
}

func (s *fileSource) skipStat(kind QualityKind, col, role, msg string) *skipStat {
	k := skipKey{kind, col}
	st := s.skips[k]
	if st == nil {
		st = &skipStat{role: role, msg: msg}
		s.skips[k] = st
	}
	return st
}

var (
	thousandsRe = regexp.MustCompile(`^-?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]*)?$`)
	isoDateRe   = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}`)
	usDateRe    = regexp.MustCompile(`^[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}`)
)

// allSkipped explains a source whose every row was skipped: counts by kind and column, and
// the most likely cause from the commonest one's first value.
func (s *fileSource) allSkipped() error {
	keys := make([]skipKey, 0, len(s.skips))
	for k := range s.skips {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b skipKey) int {
		if d := s.skips[b].n - s.skips[a].n; d != 0 {
			if d > 0 {
				return 1
			}
			return -1
		}
		return strings.Compare(string(a.kind)+"\x00"+a.col, string(b.kind)+"\x00"+b.col)
	})
	var parts []string
	for _, k := range keys {
		st := s.skips[k]
		what := string(k.kind)
		if k.col != "" {
			what += " " + k.col
		} else {
			what += " lines"
		}
		parts = append(parts, thousands(st.n)+" "+what)
	}
	top, st := keys[0], s.skips[keys[0]]
	example := ""
	if st.from != "" && top.col != "" {
		var v sql.NullString
		if s.conn.QueryRowContext(s.ctx, fmt.Sprintf("SELECT CAST(%s AS VARCHAR) FROM %s LIMIT 1 OFFSET %d", sqlIdent(top.col), st.from, st.row-1)).Scan(&v) == nil && v.Valid {
			example = v.String
		}
	}
	cause := st.msg
	if cause == msgUnparseable {
		cause = "want " + s.lay.expectFor(st.role)
	}
	switch {
	case top.col == "":
		// Lines the scan refused: its message says what was expected and found.
	case top.kind == KindMalformed && example == "":
		cause = fmt.Sprintf("%s is empty; want %s", top.col, s.lay.expectFor(st.role))
	case top.kind == KindMalformed && thousandsRe.MatchString(strings.TrimSpace(example)):
		cause = fmt.Sprintf("%s values look like %s: numbers with a thousands separator; remove the commas", top.col, quoteValue(example))
	case top.kind == KindMalformed && (st.role == ColTime || st.role == ColExpiry) && isoDateRe.MatchString(example) && strings.Contains(s.lay.formatOf(st.role), "%m"):
		cause = fmt.Sprintf("%s values look like %s (ISO dates) but the layout reads %s; set %s_format: \"%%Y-%%m-%%d\"", top.col, quoteValue(example), s.lay.formatOf(st.role), st.role)
	case top.kind == KindMalformed && (st.role == ColTime || st.role == ColExpiry) && usDateRe.MatchString(example) && !strings.Contains(s.lay.formatOf(st.role), "%m"):
		cause = fmt.Sprintf("%s values look like %s (month/day/year) but the layout reads ISO dates; set %s_format: \"%%m/%%d/%%Y\"", top.col, quoteValue(example), st.role)
	case top.kind == KindMalformed && example != "":
		cause = fmt.Sprintf("%s values look like %s; want %s", top.col, quoteValue(example), s.lay.expectFor(st.role))
	case top.kind == KindZeroBid:
		cause = "every quote has a zero bid (nobody bidding): check the bid column"
	case top.kind == KindNoIV:
		cause = "no volatility fits the quotes' mids: check the underlying price, the strike units and the expiry"
	}
	return &AllSkippedError{Rows: s.counts.Total(), Counts: s.counts.clone(), Cause: strings.Join(parts, ", ") + "; most likely cause: " + cause}
}
