package lake

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

const (
	logDirName         = "_delta_log"
	lastCheckpointName = "_last_checkpoint"
	// maxLogEntries bounds a _delta_log listing; a larger log is refused
	// rather than read without limit.
	maxLogEntries = 10_000_000
	// maxCommitBytes bounds one commit file.
	maxCommitBytes = 1 << 30
)

func commitName(v int64) string     { return fmt.Sprintf("%020d.json", v) }
func checkpointName(v int64) string { return fmt.Sprintf("%020d.checkpoint.parquet", v) }

// logListing is what a _delta_log folder holds, by version.
type logListing struct {
	commits     map[int64]bool
	checkpoints map[int64][]string // complete checkpoints: file names (one, or all parts)
}

// latest returns the highest version seen, or -1.
func (l logListing) latest() int64 {
	v := int64(-1)
	for c := range l.commits {
		v = max(v, c)
	}
	for c := range l.checkpoints {
		v = max(v, c)
	}
	return v
}

func listLog(fsys FS, logDir string) (logListing, error) {
	l := logListing{commits: map[int64]bool{}, checkpoints: map[int64][]string{}}
	ents, err := fsys.ReadDir(logDir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return l, fmt.Errorf("%w: %s has no %s", ErrNotTable, DirPath(logDir), logDirName)
		}
		return l, fmt.Errorf("lake: list %s: %w", logDir, err)
	}
	if len(ents) > maxLogEntries {
		return l, fmt.Errorf("lake: %s has %d entries (limit %d)", logDir, len(ents), maxLogEntries)
	}
	// Multi-part checkpoints by (version, part count): two attempts at one
	// version may have left parts of different counts, and only a set whose
	// part indices are exactly 1..n is a checkpoint.
	type partsKey struct {
		v int64
		n int
	}
	multi := map[partsKey]map[int]string{}
	for _, e := range ents {
		name := e.Name()
		if len(name) < 21 || name[20] != '.' {
			continue
		}
		v, err := strconv.ParseInt(name[:20], 10, 64)
		if err != nil || v < 0 {
			continue
		}
		rest := name[21:]
		switch {
		case rest == "json":
			l.commits[v] = true
		case rest == "checkpoint.parquet":
			l.checkpoints[v] = []string{name}
		case strings.HasPrefix(rest, "checkpoint.") && strings.HasSuffix(rest, ".parquet"):
			// Multi-part: checkpoint.%010d.%010d.parquet. V2 (UUID)
			// checkpoints are refused through the v2Checkpoint feature.
			f := strings.Split(strings.TrimSuffix(strings.TrimPrefix(rest, "checkpoint."), ".parquet"), ".")
			if len(f) != 2 || len(f[0]) != 10 || len(f[1]) != 10 {
				continue
			}
			i, err1 := strconv.Atoi(f[0])
			n, err2 := strconv.Atoi(f[1])
			if err1 != nil || err2 != nil || n <= 0 || i < 1 || i > n {
				continue
			}
			k := partsKey{v, n}
			if multi[k] == nil {
				multi[k] = map[int]string{}
			}
			multi[k][i] = name
		}
	}
	// A complete set; with several complete sets at one version (identical
	// content by the protocol), the one with fewest parts, for determinism.
	for _, k := range slices.SortedFunc(maps.Keys(multi), func(a, b partsKey) int {
		if a.v != b.v {
			return cmp.Compare(a.v, b.v)
		}
		return cmp.Compare(a.n, b.n)
	}) {
		got := multi[k]
		if _, ok := l.checkpoints[k.v]; ok || len(got) != k.n {
			continue
		}
		names := make([]string, k.n)
		for i := 1; i <= k.n; i++ {
			names[i-1] = got[i]
		}
		l.checkpoints[k.v] = names
	}
	return l, nil
}

// readCommit parses one JSON commit file.
func readCommit(fsys FS, logDir string, v int64) ([]action, error) {
	name := JoinPath(logDir, commitName(v))
	b, err := fsys.ReadFile(name)
	if err != nil {
		return nil, err
	}
	if len(b) > maxCommitBytes {
		return nil, fmt.Errorf("%w: %s is %d bytes (limit %d)", ErrCorrupt, name, len(b), maxCommitBytes)
	}
	return parseActions(b, name)
}

func parseActions(b []byte, name string) ([]action, error) {
	var out []action
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64<<10), maxCommitBytes)
	line := 0
	for sc.Scan() {
		line++
		t := bytes.TrimSpace(sc.Bytes())
		if len(t) == 0 {
			continue
		}
		var a action
		if err := json.Unmarshal(t, &a); err != nil {
			return nil, fmt.Errorf("%w: %s:%d: %v", ErrCorrupt, name, line, err)
		}
		out = append(out, a)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, name, err)
	}
	return out, nil
}

type lastCheckpoint struct {
	Version       int64  `json:"version"`
	Size          int64  `json:"size"`
	Parts         *int64 `json:"parts,omitempty"`
	SizeInBytes   int64  `json:"sizeInBytes,omitempty"`
	NumOfAddFiles int64  `json:"numOfAddFiles,omitempty"`
}

// readLastCheckpoint returns the _last_checkpoint hint, or -1 when it is
// missing or unreadable (the hint is optional: listing finds checkpoints).
func readLastCheckpoint(fsys FS, logDir string) int64 {
	b, err := fsys.ReadFile(JoinPath(logDir, lastCheckpointName))
	if err != nil {
		return -1
	}
	var lc lastCheckpoint
	if err := json.Unmarshal(b, &lc); err != nil {
		return -1
	}
	return lc.Version
}

// readCheckpoint reads the actions of a checkpoint (all parts).
func readCheckpoint(ctx context.Context, fsys FS, logDir string, names []string) ([]action, error) {
	var out []action
	for _, n := range names {
		acts, err := readCheckpointFile(ctx, fsys, JoinPath(logDir, n))
		if err != nil {
			return nil, err
		}
		out = append(out, acts...)
	}
	return out, nil
}

func readCheckpointFile(ctx context.Context, fsys FS, name string) ([]action, error) {
	rf, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer rf.Close()
	pf, err := file.NewParquetReader(rf)
	if err != nil {
		return nil, fmt.Errorf("%w: checkpoint %s: %v", ErrCorrupt, name, err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 64 << 10}, memory.DefaultAllocator)
	if err != nil {
		return nil, fmt.Errorf("%w: checkpoint %s: %v", ErrCorrupt, name, err)
	}
	tbl, err := fr.ReadTable(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: checkpoint %s: %v", ErrCorrupt, name, err)
	}
	defer tbl.Release()
	sc := tbl.Schema()
	// Only the actions a snapshot needs; stats_parsed and friends are skipped.
	want := []string{"add", "remove", "metaData", "protocol", "txn"}
	var cols []int
	var colNames []string
	for _, w := range want {
		if idx := sc.FieldIndices(w); len(idx) > 0 {
			cols = append(cols, idx[0])
			colNames = append(colNames, w)
		}
	}
	if len(cols) == 0 {
		return nil, fmt.Errorf("%w: checkpoint %s has no actions", ErrCorrupt, name)
	}
	// Columns are turned into actions through Arrow's JSON form, which
	// renders maps as key/value lists (decoded by stringMap and nullableMap).
	nrows := pf.NumRows()
	out := make([]action, nrows)
	for i, c := range cols {
		chunked := tbl.Column(c).Data()
		row := 0
		for _, arr := range chunked.Chunks() {
			js, err := arr.MarshalJSON()
			if err != nil {
				return nil, err
			}
			var raws []json.RawMessage
			if err := json.Unmarshal(js, &raws); err != nil {
				return nil, fmt.Errorf("%w: checkpoint %s: %v", ErrCorrupt, name, err)
			}
			for _, r := range raws {
				if row >= len(out) {
					break
				}
				if string(r) != "null" {
					wrapped := append(append([]byte(`{"`+colNames[i]+`":`), r...), '}')
					if err := json.Unmarshal(wrapped, &out[row]); err != nil {
						return nil, fmt.Errorf("%w: checkpoint %s row %d: %v", ErrCorrupt, name, row, err)
					}
				}
				row++
			}
		}
	}
	return out, nil
}
