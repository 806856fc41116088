//go:build !unix

package runner

import (
	"errors"
	"io/fs"
	"os"
)

var errLocked = errors.New("locked")

// idLock is an exclusively created lock file (no flock: a crashed
// process's lock file must be removed by hand).
type idLock struct {
	f    *os.File
	path string
}

func tryLock(path string) (*idLock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return nil, errLocked
	}
	if err != nil {
		return nil, err
	}
	return &idLock{f: f, path: path}, nil
}

func (l *idLock) unlock() {
	_ = l.f.Close()
	_ = os.Remove(l.path)
}
