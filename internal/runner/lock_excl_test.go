package runner

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// The lock of systems without flock: one holder at a time, released by
// unlock (its file removed), and an error that is not errLocked when the
// file cannot be made at all.
func TestExclLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.lock")
	l, err := tryExclLock(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tryExclLock(path); !errors.Is(err, errLocked) {
		t.Fatalf("second lock: %v, want errLocked", err)
	}
	l.unlock()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("the lock file outlived unlock: %v", err)
	}
	l2, err := tryExclLock(path)
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	l2.unlock()
	if _, err := tryExclLock(filepath.Join(t.TempDir(), "missing", "run.lock")); err == nil || errors.Is(err, errLocked) {
		t.Fatalf("lock in a missing folder: %v, want an error other than errLocked", err)
	}
}
