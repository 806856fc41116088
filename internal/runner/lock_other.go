//go:build !unix

package runner

import "errors"

var errLocked = errors.New("locked")

// idLock is an exclusively created lock file (lock_excl.go; no flock: a
// crashed process's lock file must be removed by hand).
type idLock = exclLock

func tryLock(path string) (*idLock, error) { return tryExclLock(path) }
