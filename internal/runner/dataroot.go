package runner

// The data root. Scenarios can arrive from pull requests, and their feed
// and replay paths name files the run reads (and error messages may quote).
// With a data root set (--data-root, BACKTEST_DATA_ROOT), every such path,
// and every baseline file, must resolve (symlinks followed) inside it: a
// glob's matches one by one, a Delta table's folder and each of its active
// data files. The check runs before a feed or a replay log is opened.

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/optionsrisk/backtest/lake"
	"github.com/optionsrisk/backtest/scenarios"
)

// ErrOutsideDataRoot marks a path outside the data root (wraps
// ErrBadInput).
var ErrOutsideDataRoot = errors.New("outside the data root")

// CheckDataRoot refuses the scenario's feed and replay paths that resolve
// outside root. An empty root allows everything.
func CheckDataRoot(root string, l *scenarios.Loaded) error {
	if root == "" {
		return nil
	}
	real, err := lake.RealDir(root)
	if err != nil {
		return fmt.Errorf("%w: --data-root %s: %v", ErrBadInput, root, err)
	}
	if f := l.Feed.File; f != nil && f.Path != "" {
		if err := checkTree(real, root, "feed.file.path", resolvePath(l, f.Path)); err != nil {
			return fmt.Errorf("%s: %w", l.File, err)
		}
	}
	if r := l.Strategy.Replay; r != nil && r.Path != "" {
		if err := checkTree(real, root, "strategy.replay.path", resolvePath(l, r.Path)); err != nil {
			return fmt.Errorf("%s: %w", l.File, err)
		}
	}
	return nil
}

// CheckPathInDataRoot refuses a single file (a baseline) outside root.
func CheckPathInDataRoot(root, what, path string) error {
	if root == "" {
		return nil
	}
	real, err := lake.RealDir(root)
	if err != nil {
		return fmt.Errorf("%w: --data-root %s: %v", ErrBadInput, root, err)
	}
	return checkOne(real, root, what, path)
}

// checkTree checks a feed or replay path: a file, a glob, or a Delta table
// with its data files.
func checkTree(real, root, what, p string) error {
	if st, err := os.Stat(filepath.Join(p, "_delta_log")); err == nil && st.IsDir() {
		if err := checkOne(real, root, what, p); err != nil {
			return err
		}
		snap, err := lake.Snapshot(p, -1)
		if err != nil {
			return nil // the feed reports a broken table
		}
		for _, f := range snap.Paths() {
			if err := checkOne(real, root, what+" (data file)", f); err != nil {
				return err
			}
		}
		return nil
	}
	matches, err := filepath.Glob(p)
	if err != nil || len(matches) == 0 {
		return checkOne(real, root, what, p) // a missing file: its folder must be inside
	}
	for _, m := range matches {
		if err := checkOne(real, root, what, m); err != nil {
			return err
		}
	}
	return nil
}

// checkOne resolves p (its longest existing prefix when p does not exist)
// and refuses it outside real.
func checkOne(real, root, what, p string) error {
	abs, err := filepath.Abs(p)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrBadInput, what, err)
	}
	resolved, err := filepath.EvalSymlinks(abs)
	for rest := ""; errors.Is(err, fs.ErrNotExist); {
		rest = filepath.Join(filepath.Base(abs), rest)
		parent := filepath.Dir(abs)
		if parent == abs {
			break
		}
		abs = parent
		resolved, err = filepath.EvalSymlinks(abs)
		if err == nil {
			resolved = filepath.Join(resolved, rest)
		}
	}
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrBadInput, what, err)
	}
	if !lake.Within(real, resolved) {
		return fmt.Errorf("%w: %s %s is %w %s", ErrBadInput, what, p, ErrOutsideDataRoot, root)
	}
	return nil
}
