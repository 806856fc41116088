package lake

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
)

// CommitInfo describes a commit for the Delta commitInfo action. Zero
// values mean "WRITE" and {"mode":"Append","partitionBy":"[]"}.
type CommitInfo struct {
	Operation    string
	Parameters   map[string]string
	UserMetadata string
}

// commitInfoJSON is the commitInfo action; every parameter and metric is a
// string, as Spark writes them and delta-rs expects.
type commitInfoJSON struct {
	Timestamp           int64             `json:"timestamp"`
	Operation           string            `json:"operation"`
	OperationParameters map[string]string `json:"operationParameters"`
	ReadVersion         *int64            `json:"readVersion,omitempty"`
	IsolationLevel      string            `json:"isolationLevel"`
	IsBlindAppend       bool              `json:"isBlindAppend"`
	OperationMetrics    map[string]string `json:"operationMetrics,omitempty"`
	UserMetadata        string            `json:"userMetadata,omitempty"`
	EngineInfo          string            `json:"engineInfo"`
	TxnID               string            `json:"txnId"`
}

func commitInfoLine(o options, info CommitInfo, readVersion int64, adds []Add, nowMs int64) action {
	ci := commitInfoJSON{
		Timestamp:           nowMs,
		Operation:           info.Operation,
		OperationParameters: info.Parameters,
		IsolationLevel:      "Serializable",
		IsBlindAppend:       true,
		UserMetadata:        info.UserMetadata,
		EngineInfo:          o.engineInfo,
		TxnID:               newUUID(),
	}
	if ci.Operation == "" {
		ci.Operation = "WRITE"
	}
	if ci.OperationParameters == nil {
		ci.OperationParameters = map[string]string{"mode": "Append", "partitionBy": "[]"}
	}
	if readVersion >= 0 {
		ci.ReadVersion = &readVersion
	}
	if adds != nil {
		var rows, bytes int64
		for _, a := range adds {
			bytes += a.Size
			var st struct {
				NumRecords int64 `json:"numRecords"`
			}
			_ = json.Unmarshal([]byte(a.Stats), &st)
			rows += st.NumRecords
		}
		ci.OperationMetrics = map[string]string{
			"numFiles":       strconv.Itoa(len(adds)),
			"numOutputRows":  strconv.FormatInt(rows, 10),
			"numOutputBytes": strconv.FormatInt(bytes, 10),
		}
	}
	raw, err := json.Marshal(ci)
	if err != nil {
		panic("lake: commitInfo is always encodable: " + err.Error())
	}
	return action{CommitInfo: raw}
}

func encodeLines(acts ...action) ([]byte, error) {
	var buf bytes.Buffer
	for _, a := range acts {
		b, err := json.Marshal(a)
		if err != nil {
			return nil, err
		}
		buf.Write(b)
		buf.WriteByte('\n')
	}
	return buf.Bytes(), nil
}

// Commit publishes adds (files written by WriteFile) as the next version
// and returns it. If another writer took that version first, Commit reads
// the commits it missed and retries at the next version, up to the retry
// bound; a concurrent change of metaData or protocol is an ErrConflict.
// Every checkpoint interval it also writes a checkpoint (best effort, see
// CheckpointErr).
func (t *Table) Commit(ctx context.Context, adds []Add, info CommitInfo) (int64, error) {
	if len(adds) == 0 {
		return t.Version(), nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	// The data files' directory entries must be durable before a commit
	// names them.
	if err := t.opts.fs.SyncDir(t.dir); err != nil {
		return -1, fmt.Errorf("lake: commit to %s: sync data dir: %w", t.dir, err)
	}
	fileActs := make([]action, len(adds))
	for i := range adds {
		if _, err := localPath(adds[i].Path); err != nil {
			return -1, err
		}
		fileActs[i] = action{Add: &adds[i]}
	}
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return -1, err
		}
		v := t.version + 1
		ci := commitInfoLine(t.opts, info, t.version, adds, t.opts.clock().UnixMilli())
		body, err := encodeLines(append([]action{ci}, fileActs...)...)
		if err != nil {
			return -1, err
		}
		err = t.publish(v, body)
		if err == nil {
			t.version = v
			if v%t.opts.checkpointInterval == 0 {
				t.cpErr = t.checkpointLocked(ctx, v)
			}
			return v, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return -1, fmt.Errorf("lake: commit %d to %s: %w", v, t.dir, err)
		}
		if attempt >= t.opts.maxRetries {
			return -1, fmt.Errorf("%w: %s: gave up after %d retries (version %d taken)", ErrConflict, t.dir, attempt, v)
		}
		if err := t.catchUpLocked(); err != nil {
			return -1, err
		}
	}
}

// catchUpLocked reads the commits other writers published after
// t.version. Blind appends never conflict with appends; a concurrent
// metaData or protocol change does.
func (t *Table) catchUpLocked() error {
	logDir := JoinPath(t.dir, logDirName)
	l, err := listLog(t.opts.fs, logDir)
	if err != nil {
		return err
	}
	latest := l.latest()
	for v := t.version + 1; v <= latest; v++ {
		acts, err := readCommit(t.opts.fs, logDir, v)
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%w: %s: commit %d is missing", ErrCorrupt, t.dir, v)
		}
		if err != nil {
			return fmt.Errorf("lake: %s: read commit %d: %w", t.dir, v, err)
		}
		for _, a := range acts {
			if a.MetaData != nil || a.Protocol != nil {
				return fmt.Errorf("%w: %s: version %d changed the table's metadata or protocol", ErrConflict, t.dir, v)
			}
		}
		t.version = v
	}
	return nil
}

// publish writes body as commit v with put-if-absent: it fails with
// fs.ErrExist when the version is taken. Locally: a temp file in
// _delta_log, fsynced, then hard-linked to its final name (the temp file
// is removed either way); on an object store: one conditional PUT.
func (t *Table) publish(v int64, body []byte) error {
	logDir := JoinPath(t.dir, logDirName)
	final := JoinPath(logDir, commitName(v))
	return putIfAbsent(t.opts.fs, logDir, final, body)
}

func putIfAbsent(fsys FS, dir, final string, body []byte) error {
	if o, ok := asObjectFS(fsys); ok {
		return o.PutIfAbsent(final, body)
	}
	// Temp names start with "." and do not parse as versions: every Delta
	// reader skips them.
	tmp := filepath.Join(dir, "."+filepath.Base(final)+"."+newUUID()+".tmp")
	if err := writeFileSync(fsys, tmp, body); err != nil {
		return err
	}
	err := fsys.Link(tmp, final)
	_ = fsys.Remove(tmp)
	if err != nil {
		return err
	}
	if err := fsys.SyncDir(dir); err != nil {
		// The commit is visible; only its durability is in doubt.
		return fmt.Errorf("published %s but could not sync its folder: %w", filepath.Base(final), err)
	}
	return nil
}

func writeFileSync(fsys FS, name string, body []byte) error {
	f, err := fsys.CreateExcl(name)
	if err != nil {
		return err
	}
	_, err = f.Write(body)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = fsys.Remove(name)
	}
	return err
}

// sortedKeys is slices.Sorted(maps.Keys(m)) for string maps.
func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
