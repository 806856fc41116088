package lake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net/url"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
)

// TableSnapshot is the state of a table at one version: what replaying its
// log (newest usable checkpoint, then later JSON commits) gives.
type TableSnapshot struct {
	Dir      string
	Version  int64
	Protocol Protocol
	Metadata Metadata
	// Schema is the Arrow form of Metadata.SchemaString.
	Schema *arrow.Schema
	// Files are the active data files, sorted by path.
	Files []Add
	// Tombstones are the remove actions still in the log, sorted by path.
	Tombstones []Remove
	// Txns are the latest application transactions, by AppID.
	Txns []Txn
	// CheckpointVersion is the checkpoint the replay started from, or -1.
	CheckpointVersion int64

	fsys FS
	// real holds the files' real paths once confine checked them.
	real []string
}

// Snapshot replays the table in dir at version (-1 = latest). It refuses
// tables that need reader features this package lacks (ErrUnsupported) and
// data paths that are absolute or leave the table root (ErrBadPath).
func Snapshot(dir string, version int64, opts ...Option) (*TableSnapshot, error) {
	o := buildOptions(opts)
	return snapshotAt(context.Background(), o.fs, dir, version)
}

func snapshotAt(ctx context.Context, fsys FS, dir string, version int64) (*TableSnapshot, error) {
	logDir := filepath.Join(dir, logDirName)
	l, err := listLog(fsys, logDir)
	if err != nil {
		return nil, err
	}
	latest := l.latest()
	if latest < 0 {
		return nil, fmt.Errorf("%w: %s has no commits", ErrNotTable, logDir)
	}
	if version < 0 {
		version = latest
	}
	if version > latest {
		return nil, fmt.Errorf("lake: %s: version %d does not exist (latest %d)", dir, version, latest)
	}

	// Checkpoints at or before the version, newest first. The listing is
	// authoritative: _last_checkpoint is only a hint and can be stale (a
	// crash between publishing a checkpoint and renaming the hint, or two
	// writers racing), and starting from an older checkpoint would need
	// commits that log cleanup may have removed. An unreadable checkpoint
	// falls back to the next older one.
	var cps []int64
	for v := range l.checkpoints {
		if v <= version {
			cps = append(cps, v)
		}
	}
	slices.Sort(cps)
	slices.Reverse(cps)
	st := &replay{files: map[string]Add{}, tombs: map[string]Remove{}, txns: map[string]Txn{}}
	start := int64(0)
	cpUsed := int64(-1)
	var cpErr error
	for _, cv := range cps {
		acts, err := readCheckpoint(ctx, fsys, logDir, l.checkpoints[cv])
		if err != nil {
			cpErr = errors.Join(cpErr, err)
			continue
		}
		if err := st.apply(acts); err != nil {
			return nil, err
		}
		cpUsed, start = cv, cv+1
		break
	}
	if cpUsed < 0 && !l.commits[0] {
		return nil, errors.Join(fmt.Errorf("%w: %s: no usable checkpoint and no commit 0", ErrCorrupt, dir), cpErr)
	}
	for v := start; v <= version; v++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if !l.commits[v] {
			return nil, fmt.Errorf("%w: %s: commit %d is missing", ErrCorrupt, dir, v)
		}
		acts, err := readCommit(fsys, logDir, v)
		if err != nil {
			return nil, fmt.Errorf("lake: %s: read commit %d: %w", dir, v, err)
		}
		if err := st.apply(acts); err != nil {
			return nil, err
		}
	}
	if st.protocol == nil || st.metadata == nil {
		return nil, fmt.Errorf("%w: %s: no protocol or metaData at version %d", ErrCorrupt, dir, version)
	}
	if err := checkReadable(st.protocol, st.metadata); err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	snap := &TableSnapshot{
		Dir: dir, Version: version, Protocol: *st.protocol, Metadata: *st.metadata,
		CheckpointVersion: cpUsed, fsys: fsys,
	}
	for _, k := range slices.Sorted(maps.Keys(st.files)) {
		a := st.files[k]
		if hasDV(a.DeletionVector) {
			return nil, fmt.Errorf("%s: %w: deletion vector on %s", dir, ErrUnsupported, a.Path)
		}
		if _, err := localPath(a.Path); err != nil {
			return nil, fmt.Errorf("%s: %w", dir, err)
		}
		snap.Files = append(snap.Files, a)
	}
	for _, k := range slices.Sorted(maps.Keys(st.tombs)) {
		snap.Tombstones = append(snap.Tombstones, st.tombs[k])
	}
	for _, k := range slices.Sorted(maps.Keys(st.txns)) {
		snap.Txns = append(snap.Txns, st.txns[k])
	}
	if snap.Schema, err = parseSchema(st.metadata.SchemaString); err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	return snap, nil
}

func hasDV(raw json.RawMessage) bool {
	return len(raw) > 0 && string(raw) != "null"
}

type replay struct {
	protocol *Protocol
	metadata *Metadata
	files    map[string]Add
	tombs    map[string]Remove
	txns     map[string]Txn
}

func (r *replay) apply(acts []action) error {
	for _, a := range acts {
		switch {
		case a.Add != nil:
			r.files[a.Add.Path] = *a.Add
			delete(r.tombs, a.Add.Path)
		case a.Remove != nil:
			delete(r.files, a.Remove.Path)
			r.tombs[a.Remove.Path] = *a.Remove
		case a.MetaData != nil:
			md := *a.MetaData
			r.metadata = &md
		case a.Protocol != nil:
			p := *a.Protocol
			r.protocol = &p
		case a.Txn != nil:
			r.txns[a.Txn.AppID] = *a.Txn
		}
	}
	return nil
}

// localPath turns an add path (a URL-encoded path relative to the root)
// into a clean relative OS path, refusing absolute paths, URIs and paths
// that climb out of the root.
func localPath(p string) (string, error) {
	if strings.Contains(p, "://") || strings.HasPrefix(p, "file:") {
		return "", fmt.Errorf("%w: %q is absolute", ErrBadPath, p)
	}
	dec, err := url.PathUnescape(p)
	if err != nil {
		return "", fmt.Errorf("%w: %q: %v", ErrBadPath, p, err)
	}
	if dec == "" || path.IsAbs(dec) || filepath.IsAbs(dec) || strings.HasPrefix(dec, `\`) || filepath.VolumeName(dec) != "" {
		return "", fmt.Errorf("%w: %q is absolute", ErrBadPath, p)
	}
	clean := path.Clean(strings.ReplaceAll(dec, `\`, "/"))
	if clean == ".." || strings.HasPrefix(clean, "../") || clean == "." || strings.HasPrefix(clean, logDirName+"/") {
		return "", fmt.Errorf("%w: %q", ErrBadPath, p)
	}
	return filepath.FromSlash(clean), nil
}

// Paths returns the OS paths of the active files, in Files order.
func (s *TableSnapshot) Paths() []string {
	if s.real != nil {
		return slices.Clone(s.real)
	}
	out := make([]string, len(s.Files))
	for i, a := range s.Files {
		rel, _ := localPath(a.Path) // checked when the snapshot was built
		out[i] = filepath.Join(s.Dir, rel)
	}
	return out
}

// NumRecords sums numRecords from the files' stats; ok is false when a
// file has no stats.
func (s *TableSnapshot) NumRecords() (n int64, ok bool) {
	for _, a := range s.Files {
		var st struct {
			NumRecords *int64 `json:"numRecords"`
		}
		if a.Stats == "" || json.Unmarshal([]byte(a.Stats), &st) != nil || st.NumRecords == nil {
			return n, false
		}
		n += *st.NumRecords
	}
	return n, true
}

// missingFiles returns the active files that do not exist.
func (s *TableSnapshot) missingFiles() []string {
	var out []string
	for _, p := range s.Paths() {
		if _, err := s.fsys.Stat(p); errors.Is(err, fs.ErrNotExist) {
			out = append(out, p)
		}
	}
	return out
}
