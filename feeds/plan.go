package feeds

import (
	"cmp"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
)

// This file owns a file source's reading plan: which files are read by one
// query and whether that query must sort.
//
// Time order is the reader's job, not the file's. Before the first quote,
// every file's time column is scanned once (only that column) for its
// first and last instant and whether its rows are already in time order.
// Files are then taken by first instant; files whose time ranges overlap
// form one unit read by a single query. A unit of one file already in order
// streams in file order (the fast path); any other unit is read with
// ORDER BY (instant first, then every output column, so ties are broken
// the same way on every read), which DuckDB executes as an external sort:
// it spills to the temp folder beyond its memory limit, so memory stays
// bounded whatever the size. Canonical (order.go) then puts each instant's
// quotes in symbol order.
//
// Every CSV file is scanned in Go first (csvscan.go), once, by the plan: a
// sorted unit reads each file through its own source (the scanned copy when
// one was written, its compression, a Parquet file's Hive columns), the
// sources joined by UNION ALL BY NAME (the files need the same columns).
// Each row carries its file's index and its row in that file (a streaming
// row_number), so a bad row is still reported as file:line:column; under
// reject, a scan's structural bad line fails the unit before it is read.

// sorted wraps a unit's query (n output columns, the time first) in the
// sort: by instant, then every column, so ties are broken the same way on
// every read. Wall-clock times are ordered by their instant in the layout's
// zone (DuckDB's ICU does the conversion the decoder does in Go).
func (s *fileSource) sorted(inner string, q *query, n int) string {
	key := "c0"
	if !q.timeUTC {
		// The decoder's tags (sqlbuild.go): instants; dates, stamped 16:00 New York;
		// else wall clock in the layout's zone.
		wall := "c0"
		if s.lay.loc != time.UTC {
			wall = fmt.Sprintf("epoch_us(timezone(%s, make_timestamp(c0)))", sqlString(s.lay.loc.String()))
		}
		date := fmt.Sprintf("epoch_us(timezone('America/New_York', make_timestamp(c0 - %d + 57600000000)))", dateBias)
		key = fmt.Sprintf("CASE WHEN c0 >= %d THEN c0 - %d WHEN c0 >= %d THEN %s ELSE %s END", instantBias/2, instantBias, dateBias/2, date, wall)
	}
	var b strings.Builder
	b.WriteString("SELECT * FROM (" + inner + ") ORDER BY " + key)
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, ", %d", i)
	}
	return b.String()
}

// readUnit is files read by one query.
type readUnit struct {
	files    []string
	inOrder  bool // one file whose rows are already in time order
	declared bool // ... as its footer declares (footer.go), checked while reading
}

func (u readUnit) name() string {
	if len(u.files) == 1 {
		return u.files[0]
	}
	return fmt.Sprintf("%s (and %d more files whose times overlap)", u.files[0], len(u.files)-1)
}

// fileSpan is what the check pass learns of one file.
type fileSpan struct {
	file     string
	min, max int64
	rows     int64 // rows with a time
	inOrder  bool
	declared bool // from the footer's declared order, not a scan (footer.go)
}

// plan scans the files' time columns and builds s.units.
func (s *fileSource) plan() error {
	spans := make([]fileSpan, 0, len(s.files))
	for _, f := range s.files {
		sp, err := s.span(f)
		if err != nil {
			return err
		}
		spans = append(spans, sp)
	}
	// Files without rows keep their place at the front (they yield nothing
	// but their bad rows); the others go by first instant, then name.
	slices.SortStableFunc(spans, func(a, b fileSpan) int {
		switch {
		case a.rows == 0 || b.rows == 0:
			return cmp.Compare(min(a.rows, 1), min(b.rows, 1))
		}
		if c := cmp.Compare(a.min, b.min); c != 0 {
			return c
		}
		return cmp.Compare(filepath.ToSlash(a.file), filepath.ToSlash(b.file))
	})
	units := []readUnit{}
	var unitMax int64
	open := false // the last unit has rows and may take overlapping files
	for _, sp := range spans {
		if open && sp.rows > 0 && sp.min < unitMax {
			u := &units[len(units)-1]
			u.files, u.inOrder, u.declared = append(u.files, sp.file), false, false
			unitMax = max(unitMax, sp.max)
			continue
		}
		units = append(units, readUnit{files: []string{sp.file}, inOrder: sp.inOrder, declared: sp.declared})
		unitMax, open = sp.max, sp.rows > 0
	}
	s.units = units
	return nil
}

// span reads one file's time column in file order.
func (s *fileSource) span(file string) (fileSpan, error) {
	sp := fileSpan{file: file, inOrder: true}
	from, types, _, err := s.source(file)
	if err != nil || from == "" {
		return sp, err // no good row: nothing to place
	}
	q, err := buildQuery(from, types, s.lay, s.native)
	if err != nil {
		var fe *FieldError
		if errors.As(err, &fe) {
			return sp, err
		}
		return sp, &FileError{File: file, Msg: err.Error()}
	}
	if sp, ok := s.declaredSpan(file, q); ok {
		return sp, nil
	}
	rr, err := s.query("SELECT " + q.exprs[outTime] + " FROM " + q.from)
	if err != nil {
		return sp, engineError(s.ctx, file, s.format, err)
	}
	defer rr.Release()
	tz := s.tz
	last := int64(0)
	for rr.Next() {
		col, ok := rr.RecordBatch().Column(0).(*array.Int64)
		if !ok {
			return sp, fmt.Errorf("feeds: %s: time column is %s, want int64", file, rr.RecordBatch().Column(0).DataType())
		}
		vals := col.Int64Values()
		nulls := col.NullN() > 0
		for i, t := range vals {
			if nulls && col.IsNull(i) {
				continue
			}
			if !q.timeUTC {
				t = tz.instant(t)
			}
			if sp.rows == 0 {
				sp.min, sp.max = t, t
			} else {
				if t < last {
					sp.inOrder = false
				}
				sp.min, sp.max = min(sp.min, t), max(sp.max, t)
			}
			last = t
			sp.rows++
		}
	}
	if err := rr.Err(); err != nil {
		return sp, engineError(s.ctx, file, s.format, err)
	}
	return sp, nil
}

// declaredSpan is a Parquet file's span from its footer when the file
// declares its rows sorted by an instant time column (footer.go).
func (s *fileSource) declaredSpan(file string, q *query) (fileSpan, bool) {
	if s.format == FormatCSV || !q.timeUTC {
		return fileSpan{}, false
	}
	col := q.srcCol[outTime] // read as is: an instant column
	if col == "" || q.exprs[outTime] != "epoch_us("+sqlIdent(col)+")" {
		return fileSpan{}, false
	}
	f, err := s.footer(file)
	if err != nil {
		return fileSpan{}, false // DuckDB's scan reports what is wrong with the file
	}
	d := f.declared(col)
	if d == nil {
		return fileSpan{}, false
	}
	sp := *d
	sp.declared = true
	return sp, true
}
