package lake

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// tableWith25Commits makes a table with checkpoints at 10 and 20.
func tableWith25Commits(t *testing.T) (dir, logDir string) {
	t.Helper()
	dir = t.TempDir()
	tbl, err := Create(dir, testSchema())
	if err != nil {
		t.Fatal(err)
	}
	for i := range 25 {
		appendRows(t, tbl, int64(i*10), 10)
	}
	return dir, filepath.Join(dir, "_delta_log")
}

// A stale _last_checkpoint (pointing at 10 while 20 exists) must not make
// the reader start from 10 after log cleanup removed commits 0..19: the
// listing is authoritative, as in delta-rs.
func TestStaleLastCheckpointHint(t *testing.T) {
	dir, logDir := tableWith25Commits(t)
	if err := os.WriteFile(filepath.Join(logDir, "_last_checkpoint"), []byte(`{"version":10,"size":13}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for v := range int64(20) {
		os.Remove(filepath.Join(logDir, commitName(v)))
	}
	snap, err := Snapshot(dir, -1)
	if err != nil {
		t.Fatalf("stale hint after cleanup: %v", err)
	}
	if snap.Version != 25 || snap.CheckpointVersion != 20 || countRows(t, snap) != 250 {
		t.Fatalf("version %d from checkpoint %d, %d rows; want 25 from 20, 250 rows", snap.Version, snap.CheckpointVersion, countRows(t, snap))
	}
	// Create refuses a folder whose early log was cleaned up.
	if _, err := Create(dir, testSchema()); !errors.Is(err, ErrExists) {
		t.Fatalf("Create over a cleaned-up table: %v, want ErrExists", err)
	}
	if _, err := os.Stat(filepath.Join(logDir, commitName(0))); !os.IsNotExist(err) {
		t.Fatal("Create wrote a foreign commit 0")
	}
}

// Parts of two checkpoint attempts with different part counts never make a
// checkpoint together.
func TestMultiPartCheckpointNeedsOneCompleteSet(t *testing.T) {
	logDir := t.TempDir()
	for _, n := range []string{
		"00000000000000000004.checkpoint.0000000001.0000000002.parquet",
		"00000000000000000004.checkpoint.0000000001.0000000003.parquet",
		"00000000000000000007.checkpoint.0000000002.0000000002.parquet",
		"00000000000000000007.checkpoint.0000000001.0000000002.parquet",
	} {
		if err := os.WriteFile(filepath.Join(logDir, n), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	l, err := listLog(OSFS{}, logDir)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := l.checkpoints[4]; ok {
		t.Error("parts 1/2 and 1/3 were taken for a complete checkpoint")
	}
	if got := l.checkpoints[7]; len(got) != 2 || got[0] != "00000000000000000007.checkpoint.0000000001.0000000002.parquet" {
		t.Errorf("complete 2-part checkpoint at 7: %v", got)
	}
}

// Application transactions (txn) survive checkpoints.
func TestCheckpointKeepsTxn(t *testing.T) {
	dir := t.TempDir()
	tbl, err := Create(dir, testSchema())
	if err != nil {
		t.Fatal(err)
	}
	appendRows(t, tbl, 0, 1)
	logDir := filepath.Join(dir, "_delta_log")
	// Another engine's commit 2 with an app transaction.
	if err := os.WriteFile(filepath.Join(logDir, commitName(2)), []byte(`{"txn":{"appId":"stream-1","version":7,"lastUpdated":1700000000000}}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tbl, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 8 { // to version 10: a checkpoint
		appendRows(t, tbl, int64(10+i), 1)
	}
	if err := tbl.CheckpointErr(); err != nil {
		t.Fatal(err)
	}
	for v := range int64(10) {
		os.Remove(filepath.Join(logDir, commitName(v)))
	}
	snap, err := Snapshot(dir, -1)
	if err != nil {
		t.Fatal(err)
	}
	if snap.CheckpointVersion != 10 || len(snap.Txns) != 1 || snap.Txns[0].AppID != "stream-1" || snap.Txns[0].Version != 7 {
		t.Fatalf("from checkpoint %d: txns %+v, want stream-1 at 7", snap.CheckpointVersion, snap.Txns)
	}
}

// An event emitted after Close is an error, not a silent loss.
func TestEmitAfterCloseIsAnError(t *testing.T) {
	w, err := NewEventWriter(filepath.Join(t.TempDir(), "risk_events"), "r", WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w.Emit(sampleEvent(1))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w.Emit(sampleEvent(2))
	if err := w.Err(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Err after Emit-after-Close = %v, want ErrClosed", err)
	}
	if _, err := NewEventWriter(filepath.Join(t.TempDir(), "x"), "r", WriterOptions{FlushInterval: 1, NewTicker: nil, ChunkSize: 8}); err == nil {
		t.Error("FlushInterval with a chunk size > 1 accepted")
	}
}
