package lake

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// goldenDir is where the shared reference data sits relative to the
// package folder (shared/ beside the repository).
const goldenDir = "../../shared/data/delta-golden"

func TestGoldenConformance(t *testing.T) {
	if _, err := os.Stat(goldenDir); err != nil {
		t.Skipf("golden tables absent (%v)", err)
	}
	// From ../shared/data/README.md ("delta-golden: what a correct reader sees").
	cases := []struct {
		table      string
		version    int64
		checkpoint int64
		files      int
		rows       int64 // -1: data files not shipped, check the log only
	}{
		{"delta-0.8-empty", 1, -1, 0, 0},
		{"delta-0.8.0", 1, -1, 2, 4},
		{"delta-2.2.0-partitioned-types", 0, -1, 3, 3},
		{"simple_table", 4, -1, 5, 3},
		{"simple_table_with_checkpoint", 10, 10, 11, 11},
		{"table_with_edge_timestamps", 0, -1, 2, 2},
		{"with_checkpoint_no_last_checkpoint", 3, 2, 1, -1},
	}
	ctx := context.Background()
	db, err := OpenDuckDB()
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, c := range cases {
		t.Run(c.table, func(t *testing.T) {
			snap, err := Snapshot(filepath.Join(goldenDir, c.table), -1)
			if err != nil {
				t.Fatal(err)
			}
			if snap.Version != c.version || snap.CheckpointVersion != c.checkpoint || len(snap.Files) != c.files {
				t.Fatalf("version %d checkpoint %d files %d; want %d %d %d",
					snap.Version, snap.CheckpointVersion, len(snap.Files), c.version, c.checkpoint, c.files)
			}
			if c.rows < 0 {
				return
			}
			sel, err := snap.SelectSQL()
			if err != nil {
				t.Fatal(err)
			}
			var n int64
			if err := db.QueryRowContext(ctx, "SELECT count(*) FROM ("+sel+")").Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != c.rows {
				t.Fatalf("rows %d, want %d", n, c.rows)
			}
		})
	}
}

func TestGoldenOlderVersion(t *testing.T) {
	if _, err := os.Stat(goldenDir); err != nil {
		t.Skipf("golden tables absent (%v)", err)
	}
	// Version 9 is before the checkpoint: a pure JSON replay.
	snap, err := Snapshot(filepath.Join(goldenDir, "simple_table_with_checkpoint"), 9)
	if err != nil {
		t.Fatal(err)
	}
	if snap.CheckpointVersion != -1 || len(snap.Files) != 10 {
		t.Fatalf("checkpoint %d files %d; want -1, 10", snap.CheckpointVersion, len(snap.Files))
	}
}
