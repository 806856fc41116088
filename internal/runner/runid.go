package runner

// Run ids and their reservation. One validator (CheckRunID) serves every
// path that makes a run id: --run-id, the default NAME-HASH8 of run and
// sweep, and validate's preview. A run id is reserved for the time its run
// is built by an exclusive lock on OUT/.staging/ID.lock (flock where the OS
// has it): the kernel drops the lock when its process dies, so a killed run
// never blocks its id, and two processes can never build the same id. The
// owner publishes, then unlinks the lock file, then closes it; a process
// that locks a file somebody unlinked meanwhile notices (the path names
// another file) and retries.

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	"github.com/optionsrisk/backtest/scenarios"
)

// MaxRunIDLen bounds a run id (a folder name on every file system).
const MaxRunIDLen = 128

var runIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// Errors of run id reservation; both wrap ErrBadInput (exit 2).
var (
	// ErrRunIDBusy: another live process is building a run with this id.
	ErrRunIDBusy = errors.New("is being written by another process")
	// ErrRunIDPublished: a run with this id is already published.
	ErrRunIDPublished = errors.New("is already published")
)

// CheckRunID returns nil when id is a usable run id: 1 to 128 of
// [A-Za-z0-9._-], not starting with '.' or '_' (those name the runs
// folder's own entries) and not "." or "..".
func CheckRunID(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("%w: run id is empty", ErrBadInput)
	case len(id) > MaxRunIDLen:
		return fmt.Errorf("%w: run id %.40q... is %d characters; at most %d", ErrBadInput, id, len(id), MaxRunIDLen)
	case !runIDPattern.MatchString(id) || id[0] == '.' || id[0] == '_':
		return fmt.Errorf("%w: run id %q: use only letters, digits, '.', '_' and '-', not starting with '.' or '_'", ErrBadInput, id)
	}
	return nil
}

// ValidRunID reports whether CheckRunID accepts id.
func ValidRunID(id string) bool { return CheckRunID(id) == nil }

// DefaultRunID is the id a run gets without --run-id: NAME-HASH8, NAME the
// scenario's name and HASH8 the first 8 hex digits of its config hash. A
// name that cannot make a run id is refused with what to do instead. l must
// be Prepared (the hash covers replayed trades).
func DefaultRunID(l *scenarios.Loaded) (string, error) {
	hash, err := ConfigHash(l)
	if err != nil {
		return "", fmt.Errorf("runner: %w", err)
	}
	id := l.Name + "-" + hash[:8]
	if err := CheckRunID(id); err != nil {
		return "", fmt.Errorf("%w: %s: name %q does not make a run id (NAME-CONFIGHASH): use only letters, digits, '.', '_' and '-' in the name (not starting with '.' or '_'), or give --run-id",
			ErrBadInput, l.File, l.Name)
	}
	return id, nil
}

// reservation is a run id held by this process until release.
type reservation struct {
	id, final string
	lock      *idLock
}

func (r *reservation) release() {
	if r != nil && r.lock != nil {
		r.lock.unlock()
		r.lock = nil
	}
}

func lockPath(outDir, id string) string { return filepath.Join(outDir, StagingDir, id+".lock") }

func published(outDir, id string) bool {
	_, err := os.Lstat(filepath.Join(outDir, id))
	return !errors.Is(err, fs.ErrNotExist)
}

// reserveID takes id in outDir. When wait is set and another process holds
// it, it waits for that process (polling) and then reports
// ErrRunIDPublished if it published.
func reserveID(ctx context.Context, outDir, id string, wait bool) (*reservation, error) {
	if err := CheckRunID(id); err != nil {
		return nil, err
	}
	final := filepath.Join(outDir, id)
	if published(outDir, id) {
		return nil, fmt.Errorf("%w: run id %s %w (%s)", ErrBadInput, id, ErrRunIDPublished, final)
	}
	delay := 20 * time.Millisecond
	for {
		l, err := tryLock(lockPath(outDir, id))
		if err == nil {
			if published(outDir, id) {
				l.unlock()
				return nil, fmt.Errorf("%w: run id %s %w (%s)", ErrBadInput, id, ErrRunIDPublished, final)
			}
			return &reservation{id: id, final: final, lock: l}, nil
		}
		if !errors.Is(err, errLocked) {
			return nil, fmt.Errorf("runner: reserving run id %s: %w", id, err)
		}
		if !wait {
			return nil, fmt.Errorf("%w: run id %s %w", ErrBadInput, id, ErrRunIDBusy)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, 500*time.Millisecond)
	}
}

// reserveDefault takes the first free id of base, base.2, base.3 ...:
// unique across processes.
func reserveDefault(ctx context.Context, outDir, base string) (*reservation, error) {
	for n := 1; n < 10000; n++ {
		id := base
		if n > 1 {
			id = base + "." + strconv.Itoa(n)
		}
		r, err := reserveID(ctx, outDir, id, false)
		if errors.Is(err, ErrRunIDBusy) || errors.Is(err, ErrRunIDPublished) {
			continue
		}
		return r, err
	}
	return nil, fmt.Errorf("%w: %s: 10000 runs with this id already", ErrBadInput, base)
}
