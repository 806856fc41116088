//go:build unix

package runner

import (
	"errors"
	"os"
	"syscall"
)

var errLocked = errors.New("locked")

// idLock is an exclusive flock on a lock file.
type idLock struct {
	f    *os.File
	path string
}

// tryLock takes the lock at path without waiting, or fails with errLocked.
func tryLock(path string) (*idLock, error) {
	for range 16 {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, err
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			f.Close()
			if errors.Is(err, syscall.EWOULDBLOCK) {
				return nil, errLocked
			}
			return nil, err
		}
		// The previous owner unlinks the file before closing it: a lock
		// on an unlinked file guards nothing.
		st, err1 := f.Stat()
		cur, err2 := os.Stat(path)
		if err1 == nil && err2 == nil && os.SameFile(st, cur) {
			return &idLock{f: f, path: path}, nil
		}
		f.Close()
	}
	return nil, errLocked
}

func (l *idLock) unlock() {
	_ = os.Remove(l.path)
	_ = l.f.Close()
}
