package runner

import (
	"errors"
	"io/fs"
	"os"
)

// exclLock is a lock held by creating its file exclusively (O_EXCL): the
// lock of systems without flock (lock_other.go). Unlike flock, a crashed
// process's lock file stays and must be removed by hand. It builds on every
// system so that its tests run where the project's CI does.
type exclLock struct {
	f    *os.File
	path string
}

// tryExclLock takes the lock at path, or returns errLocked when its file
// exists.
func tryExclLock(path string) (*exclLock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return nil, errLocked
	}
	if err != nil {
		return nil, err
	}
	return &exclLock{f: f, path: path}, nil
}

func (l *exclLock) unlock() {
	_ = l.f.Close()
	_ = os.Remove(l.path)
}
