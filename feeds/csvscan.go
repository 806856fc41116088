package feeds

// csvscan.go owns the Go pass over a CSV file before DuckDB reads it. DuckDB's CSV reader is
// fast but its errors are its own (no physical line, a state-machine message, a whole line of
// the file quoted) and it fails a file for a row that the "skip" policy should count. So every
// CSV file is first scanned here, once, as a stream:
//
//   - compression is told by magic bytes (gzip, zstd), not by the extension; archives and
//     other binary files (zip, bzip2, xz, Parquet) are refused with what they look like;
//   - the encoding must be UTF-8 (a UTF-8 byte-order mark is fine): UTF-16/32 and any byte
//     that is not UTF-8, wherever it is in the file, refuse the file with "convert to UTF-8"
//     and the encoding it looks like;
//   - every record is one physical line (LF, CRLF or a lone CR, mixed freely); a record whose
//     field count differs from the header's, a stray or unterminated quote, or a NUL is a
//     malformed row at that line; blank lines are not rows;
//   - the physical line (1-based, the header being line 1) of every data row is kept in a
//     compact map, so errors name the line an editor shows.
//
// When the file is clean (no bad or blank line, one line-end style) DuckDB reads it in place
// (with the compression named); otherwise a normalized copy with the good rows only is written
// to a temporary file, removed when the source closes.

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"unicode/utf8"

	"github.com/klauspost/compress/zstd"
)

// Bounds of the scan.
const (
	maxCSVLineBytes = 1 << 20 // a longer line is malformed (read in pieces, never held)
	maxCSVFields    = 4096    // header columns
	maxBadExamples  = 1       // structural bad rows kept for messages (all are counted)
)

// badLine is a structurally bad row found by the scan.
type badLine struct {
	line  int64  // physical line
	field int    // 1-based field at fault, 0 for the whole line
	msg   string // what was expected and what was found (no file content beyond 40 chars)
}

// csvPlan is the outcome of scanning one CSV file.
type csvPlan struct {
	header      []string // trimmed names
	read        string   // the file DuckDB reads: the original or the normalized copy
	compression string   // DuckDB's compression option for read: "none", "gzip" or "zstd"
	tmp         string   // the normalized copy to remove, or ""
	lines       lineMap  // data row → physical line
	badCount    int64    // structural bad rows (not in read)
	firstBad    *badLine // the first of them
	firstBadRow int64    // good data rows before firstBad
	rows        int64    // good data rows in read
}

// lineMap maps 1-based data rows to physical lines with breakpoints: from row
// bp.row on, line = row + bp.add (until the next breakpoint). A clean file has one.
type lineMap struct {
	bps []breakpoint
}

type breakpoint struct{ row, add int64 }

func (m *lineMap) set(row, line int64) {
	add := line - row
	if n := len(m.bps); n > 0 && m.bps[n-1].add == add {
		return
	}
	m.bps = append(m.bps, breakpoint{row, add})
}

// line returns the physical line of data row row (0 when unknown).
func (m *lineMap) line(row int64) int64 {
	if row <= 0 || len(m.bps) == 0 {
		return 0
	}
	lo, hi := 0, len(m.bps)
	for lo < hi {
		mid := (lo + hi) / 2
		if m.bps[mid].row <= row {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo == 0 {
		return row + 1
	}
	return row + m.bps[lo-1].add
}

// FileError is a problem with a whole file (its format, encoding or header), as opposed to
// one row (RowError). Line is 0 when the problem is not at one line.
type FileError struct {
	File string
	Line int64
	Msg  string
	err  error // the cause (e.g. the query engine's own message), never printed
}

func (e *FileError) Unwrap() error { return e.err }

func (e *FileError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("feeds: %s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("feeds: %s: %s", e.File, e.Msg)
}

// Magic bytes.
var (
	magicGzip    = []byte{0x1f, 0x8b}
	magicZstd    = []byte{0x28, 0xb5, 0x2f, 0xfd}
	magicZip     = []byte("PK\x03\x04")
	magicBzip2   = []byte("BZh")
	magicXz      = []byte{0xfd, '7', 'z', 'X', 'Z', 0}
	magicParquet = []byte("PAR1")
	bomUTF8      = []byte{0xef, 0xbb, 0xbf}
)

// sniffCompression reports the compression of a file's first bytes: "gzip", "zstd" or "".
func sniffCompression(head []byte) string {
	switch {
	case bytes.HasPrefix(head, magicGzip):
		return "gzip"
	case bytes.HasPrefix(head, magicZstd):
		return "zstd"
	}
	return ""
}

// sniffForeign names what decompressed content looks like when it cannot be UTF-8 CSV.
func sniffForeign(head []byte) string {
	switch {
	case bytes.HasPrefix(head, []byte{0xff, 0xfe, 0, 0}):
		return "is UTF-32LE text: convert to UTF-8"
	case bytes.HasPrefix(head, []byte{0, 0, 0xfe, 0xff}):
		return "is UTF-32BE text: convert to UTF-8"
	case bytes.HasPrefix(head, []byte{0xff, 0xfe}):
		return "is UTF-16LE text: convert to UTF-8"
	case bytes.HasPrefix(head, []byte{0xfe, 0xff}):
		return "is UTF-16BE text: convert to UTF-8"
	case bytes.HasPrefix(head, magicZip):
		return "is a zip archive: unzip it and name the CSV inside"
	case bytes.HasPrefix(head, magicBzip2):
		return "is bzip2-compressed: decompress it or recompress with gzip or zstd"
	case bytes.HasPrefix(head, magicXz):
		return "is xz-compressed: decompress it or recompress with gzip or zstd"
	case bytes.HasPrefix(head, magicParquet):
		return "is a Parquet file: set format: parquet"
	case bytes.HasPrefix(head, magicGzip) || bytes.HasPrefix(head, magicZstd):
		return "is compressed twice: decompress it once"
	}
	// UTF-16 without a byte-order mark: every other byte of ASCII text is NUL.
	if n := len(head) &^ 1; n >= 4 {
		even, odd := 0, 0
		for i := 0; i < n; i += 2 {
			if head[i] == 0 {
				even++
			}
			if head[i+1] == 0 {
				odd++
			}
		}
		switch {
		case odd > n/4 && even == 0:
			return "is UTF-16LE text (no byte-order mark): convert to UTF-8"
		case even > n/4 && odd == 0:
			return "is UTF-16BE text (no byte-order mark): convert to UTF-8"
		}
	}
	return ""
}

// guessEncoding names the likely encoding of a line that is not UTF-8.
func guessEncoding(line []byte) string {
	for _, c := range line {
		if c >= 0x80 && c <= 0x9f {
			return "Windows-1252"
		}
	}
	return "Windows-1252 or ISO-8859-1 (Latin-1)"
}

// openDecompressed opens file and returns a reader of its content (decompressed) and the
// compression found.
func openDecompressed(file string) (io.Reader, string, func(), error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, "", nil, &FileError{File: file, Msg: openMsg(err)}
	}
	br := bufio.NewReaderSize(f, 256<<10)
	head, _ := br.Peek(8)
	switch comp := sniffCompression(head); comp {
	case "gzip":
		zr, err := gzip.NewReader(br)
		if err != nil {
			f.Close()
			return nil, "", nil, &FileError{File: file, Msg: "starts like gzip but is not a valid gzip file"}
		}
		return zr, comp, func() { f.Close() }, nil
	case "zstd":
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(1<<30))
		if err != nil {
			f.Close()
			return nil, "", nil, &FileError{File: file, Msg: "starts like zstd but is not a valid zstd file"}
		}
		return zr, comp, func() { zr.Close(); f.Close() }, nil
	}
	return br, "", func() { f.Close() }, nil
}

// openMsg describes an open error without Go's "open PATH:" prefix (the caller names the file).
func openMsg(err error) string {
	switch {
	case errors.Is(err, os.ErrNotExist):
		return "no such file"
	case errors.Is(err, os.ErrPermission):
		return "permission denied: the file is not readable"
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// scanCSV scans file (see the file comment). tmpDir is where a normalized copy goes ("" is
// the system's temporary folder). The caller removes plan.tmp.
func scanCSV(file, tmpDir string) (plan *csvPlan, err error) {
	r, comp, closeFn, err := openDecompressed(file)
	if err != nil {
		return nil, err
	}
	defer closeFn()
	s := newScanner(r, file)
	for s.end < 512 && !s.eof {
		if err := s.fill(); err != nil {
			return nil, err
		}
	}
	if msg := sniffForeign(s.win[:min(s.end, 512)]); msg != "" {
		return nil, &FileError{File: file, Msg: "the file " + msg}
	}
	plan = &csvPlan{read: file, compression: "none"}
	if comp != "" {
		plan.compression = comp
	}
	// Header.
	hline, ok, err := s.nextLine()
	if err != nil {
		return nil, err
	}
	hline = bytes.TrimPrefix(hline, bomUTF8)
	if !ok || len(bytes.TrimSpace(hline)) == 0 {
		return nil, &FileError{File: file, Line: 1, Msg: "the file is empty: want a header line with column names"}
	}
	if !utf8.Valid(hline) {
		return nil, &FileError{File: file, Line: 1, Msg: fmt.Sprintf("the header is not UTF-8 (it looks like %s): convert the file to UTF-8", guessEncoding(hline))}
	}
	fields, bad := splitCSVLine(hline, -1)
	if bad != nil {
		return nil, &FileError{File: file, Line: 1, Msg: "header: " + bad.msg}
	}
	if len(fields) > maxCSVFields {
		return nil, &FileError{File: file, Line: 1, Msg: fmt.Sprintf("header: %d columns; at most %d", len(fields), maxCSVFields)}
	}
	seen := map[string]bool{}
	for i, f := range fields {
		name := string(bytes.TrimSpace(f))
		if name == "" {
			return nil, &FileError{File: file, Line: 1, Msg: fmt.Sprintf("header: column %d has no name", i+1)}
		}
		if seen[name] {
			return nil, &FileError{File: file, Line: 1, Msg: fmt.Sprintf("header: column %s appears twice", quoteValue(name))}
		}
		seen[name] = true
		plan.header = append(plan.header, name)
	}
	// Rows: this pass decides whether a copy is needed without holding the file; the copy
	// (rare: a bad or blank line, mixed line ends) is a second pass.
	var (
		nf          = len(plan.header)
		row         int64 // good data rows
		needCopy    bool
		endStyle    = s.endStyle
		blankOrMore bool
	)
	for {
		line, ok, err := s.nextLine()
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		ln := s.line
		if s.long {
			plan.addBad(&badLine{line: ln, msg: fmt.Sprintf("the line is longer than %d bytes", maxCSVLineBytes)}, row)
			needCopy = true
			continue
		}
		if len(line) == 0 {
			blankOrMore = true
			continue
		}
		if !utf8.Valid(line) {
			col := 0
			if fs, _ := splitCSVLine(line, -1); fs != nil {
				for i, f := range fs {
					if !utf8.Valid(f) {
						col = i + 1
						break
					}
				}
			}
			where := ""
			if col > 0 && col <= nf {
				where = fmt.Sprintf(", column %s (field %d)", quoteValue(plan.header[col-1]), col)
			}
			return nil, &FileError{File: file, Line: ln, Msg: fmt.Sprintf("text that is not UTF-8%s (it looks like %s): convert the file to UTF-8", where, guessEncoding(line))}
		}
		if _, bad := splitCSVLine(line, nf); bad != nil {
			bad.line = ln
			if s.eofNoNewline && bad.field == 0 {
				bad.msg += " (the last line is cut short: the file looks truncated)"
			}
			plan.addBad(bad, row)
			needCopy = true
			continue
		}
		row++
		plan.lines.set(row, ln)
		if s.endStyle != endStyle && endStyle != 0 {
			blankOrMore = true
		}
		if endStyle == 0 {
			endStyle = s.endStyle
		}
	}
	plan.rows = row
	if s.sawCR {
		blankOrMore = true // DuckDB does not take a lone CR as a line end
	}
	if needCopy || blankOrMore {
		if err := writeNormalized(file, tmpDir, plan); err != nil {
			return nil, err
		}
	}
	return plan, nil
}

func (p *csvPlan) addBad(b *badLine, goodBefore int64) {
	p.badCount++
	if p.firstBad == nil {
		p.firstBad, p.firstBadRow = b, goodBefore
	}
}

// writeNormalized writes the header and the good rows of file with LF line ends to a
// temporary file and points plan.read at it.
func writeNormalized(file, tmpDir string, plan *csvPlan) (err error) {
	r, _, closeFn, err := openDecompressed(file)
	if err != nil {
		return err
	}
	defer closeFn()
	if tmpDir != "" {
		if err := os.MkdirAll(tmpDir, 0o755); err != nil {
			return &FileError{File: file, Msg: "cannot write a normalized copy: " + openMsg(err)}
		}
	}
	out, err := os.CreateTemp(tmpDir, "feeds-*.csv")
	if err != nil {
		return &FileError{File: file, Msg: "cannot write a normalized copy: " + openMsg(err)}
	}
	defer func() {
		if err != nil {
			out.Close()
			os.Remove(out.Name())
		}
	}()
	w := bufio.NewWriterSize(out, 256<<10)
	s := newScanner(r, file)
	nf := len(plan.header)
	first := true
	for {
		line, ok, err := s.nextLine()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		if first {
			first = false
			w.Write(bytes.TrimPrefix(line, bomUTF8))
			w.WriteByte('\n')
			continue
		}
		if s.long || len(line) == 0 {
			continue
		}
		if _, bad := splitCSVLine(line, nf); bad != nil {
			continue
		}
		w.Write(line)
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		return &FileError{File: file, Msg: "cannot write a normalized copy: " + openMsg(err)}
	}
	if err := out.Close(); err != nil {
		return &FileError{File: file, Msg: "cannot write a normalized copy: " + openMsg(err)}
	}
	plan.read, plan.tmp, plan.compression = out.Name(), out.Name(), "none"
	return nil
}

// scanner splits a stream into physical lines: LF, CRLF or a lone CR end a line. It reads
// in large chunks into its own window and finds line ends with bytes.IndexByte.
type scanner struct {
	r            io.Reader
	file         string
	line         int64 // physical line of the last line returned
	win          []byte
	start, end   int
	eof          bool
	long         bool // the last line was longer than maxCSVLineBytes (content dropped)
	endStyle     int  // 1 LF, 3 CR or CRLF: of the last line
	sawCR        bool // a lone CR was seen
	eofNoNewline bool // the last line returned had no line end
}

const scanChunk = 1 << 20

func newScanner(r io.Reader, file string) *scanner {
	return &scanner{r: r, file: file, win: make([]byte, 2*scanChunk)}
}

// fill reads more into the window, keeping win[start:end].
func (s *scanner) fill() error {
	if s.start > 0 {
		n := copy(s.win, s.win[s.start:s.end])
		s.start, s.end = 0, n
	}
	if s.end == len(s.win) {
		s.win = append(s.win, make([]byte, scanChunk)...)
	}
	n, err := io.ReadAtLeast(s.r, s.win[s.end:], 1)
	s.end += n
	if err == io.EOF { // exactly io.EOF: a damaged gzip stream says io.ErrUnexpectedEOF
		s.eof = true
		return nil
	}
	if err != nil {
		return &FileError{File: s.file, Line: s.line + 1, Msg: "cannot read the file: " + readMsg(err), err: err}
	}
	return nil
}

// nextLine returns the next line without its end (valid until the next call); ok is false at
// the end of the stream.
func (s *scanner) nextLine() (line []byte, ok bool, err error) {
	s.long, s.eofNoNewline = false, false
	searched := 0 // bytes of the window already searched
	for {
		w := s.win[s.start+searched : s.end]
		i := bytes.IndexByte(w, '\n')
		cr := w
		if i >= 0 {
			cr = w[:i]
		}
		if j := bytes.IndexByte(cr, '\r'); j >= 0 {
			i = j
		}
		if i >= 0 {
			i += searched
			at := s.start + i
			if s.win[at] == '\r' {
				if at+1 == s.end && !s.eof {
					// A CR at the end of the window: is an LF next?
					if err := s.fill(); err != nil {
						return nil, false, err
					}
					searched = 0
					continue
				}
				s.endStyle = 3
				if at+1 < s.end && s.win[at+1] == '\n' {
					at++
				} else {
					s.sawCR = true
				}
			} else {
				s.endStyle = 1
			}
			line = s.win[s.start : s.start+i]
			s.start = at + 1
			s.line++
			if len(line) > maxCSVLineBytes {
				s.long = true
			}
			if s.long {
				line = line[:0]
			}
			return line, true, nil
		}
		searched = s.end - s.start
		if searched > maxCSVLineBytes {
			// Too long: drop what was read of it and look for its end.
			s.long = true
			s.start, s.end, searched = 0, 0, 0
		}
		if s.eof {
			if s.end > s.start || s.long {
				line = s.win[s.start:s.end]
				s.start = s.end
				s.line++
				s.eofNoNewline = true
				if s.long {
					line = line[:0]
				}
				return line, true, nil
			}
			return nil, false, nil
		}
		if err := s.fill(); err != nil {
			return nil, false, err
		}
		searched = 0
	}
}

func readMsg(err error) string {
	switch {
	case errors.Is(err, gzip.ErrChecksum), errors.Is(err, gzip.ErrHeader), errors.Is(err, io.ErrUnexpectedEOF):
		return "the compressed data is damaged or cut short"
	}
	return "the compressed data is damaged (" + truncate(err.Error(), 60) + ")"
}

// splitCSVLine splits one line into fields (RFC 4180 quoting within the line). want >= 0 is
// the field count required. bad is set when the line is not a valid record.
func splitCSVLine(line []byte, want int) (fields [][]byte, bad *badLine) {
	if bytes.IndexByte(line, 0) >= 0 {
		return nil, &badLine{msg: "want text, found a NUL byte (binary data)"}
	}
	if bytes.IndexByte(line, '"') < 0 {
		n := bytes.Count(line, []byte{','}) + 1
		if want >= 0 && n != want {
			return nil, fieldCountBad(want, n)
		}
		if want >= 0 {
			return nil, nil // the caller only checks
		}
		return bytes.Split(line, []byte{','}), nil
	}
	i := 0
	for {
		if i < len(line) && line[i] == '"' {
			// Quoted field.
			j := i + 1
			var f []byte
			for {
				k := bytes.IndexByte(line[j:], '"')
				if k < 0 {
					return nil, &badLine{field: len(fields) + 1, msg: "a quote opens a field and is never closed"}
				}
				f = append(f, line[j:j+k]...)
				j += k + 1
				if j < len(line) && line[j] == '"' {
					f = append(f, '"')
					j++
					continue
				}
				break
			}
			fields = append(fields, f)
			if j == len(line) {
				break
			}
			if line[j] != ',' {
				return nil, &badLine{field: len(fields), msg: "want a comma after a closing quote, found more text"}
			}
			i = j + 1
			if i == len(line) {
				fields = append(fields, nil)
				break
			}
			continue
		}
		k := bytes.IndexByte(line[i:], ',')
		end := len(line)
		if k >= 0 {
			end = i + k
		}
		if bytes.IndexByte(line[i:end], '"') >= 0 {
			return nil, &badLine{field: len(fields) + 1, msg: "a quote inside an unquoted field (quote the whole field and double the quote)"}
		}
		fields = append(fields, line[i:end])
		if k < 0 {
			break
		}
		i = end + 1
		if i == len(line) {
			fields = append(fields, nil)
			break
		}
	}
	if want >= 0 && len(fields) != want {
		return nil, fieldCountBad(want, len(fields))
	}
	return fields, nil
}

func fieldCountBad(want, n int) *badLine {
	if n < want {
		return &badLine{msg: fmt.Sprintf("want %d fields like the header, found %d (a short or cut line)", want, n)}
	}
	return &badLine{msg: fmt.Sprintf("want %d fields like the header, found %d (an extra comma, or a number written with a thousands separator)", want, n)}
}

// quoteValue quotes at most 40 characters of a value from a file, so that an error never
// echoes a whole line of a file that is not what it was taken for.
func quoteValue(s string) string {
	return fmt.Sprintf("%q", truncate(s, 40))
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i, k := 0, 0
	for i = range s {
		if k == n {
			break
		}
		k++
	}
	return s[:i] + "…"
}
