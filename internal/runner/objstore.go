package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/optionsrisk/backtest/lake"
	"github.com/optionsrisk/backtest/scenarios"
)

// Publishing runs on an object store (an s3:// runs folder), where there is
// no folder rename: a run is built in a local staging folder, then uploaded
// under its final prefix OUT/RUN_ID/ and becomes visible when its marker
// lands:
//
//  1. claim: a conditional PUT of OUT/RUN_ID/_publishing.json (host, pid,
//     start time). Only one process uploads a run id at a time.
//  2. upload: every file but run.json, tables' data files before their
//     commits (lake.UploadTree).
//  3. marker: a conditional PUT of OUT/RUN_ID/run.json. From this instant
//     the run is published; readers (query, report, compare, sweep) ignore
//     a prefix without it.
//  4. the claim is deleted, then the catalog row is appended (a Delta
//     commit by conditional PUT in OUT/_catalog).
//
// A process that dies between 1 and 3 leaves an abandoned prefix: it has
// a claim but no marker, and its claim is stale (its process is gone, when
// it is on this host, or it is older than ClaimStaleAfter). The next run
// or sweep into OUT removes abandoned prefixes (CleanAbandoned), and a
// publish of the same run id takes the place of an abandoned one.

// MarkerFile is the object whose presence makes a run published.
const MarkerFile = "run.json"

// ClaimFile is the publishing claim under a run's prefix.
const ClaimFile = "_publishing.json"

// ClaimStaleAfter is how old a claim of another host must be before its
// run counts as abandoned. Uploading a run takes seconds to minutes; the
// default leaves a wide margin. BACKTEST_CLAIM_STALE_AFTER (a Go duration)
// overrides it.
var ClaimStaleAfter = time.Hour

func claimStaleAfter() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("BACKTEST_CLAIM_STALE_AFTER")); err == nil && d > 0 {
		return d
	}
	return ClaimStaleAfter
}

// RunState is where a run id stands in a runs folder.
type RunState string

// The states of a run id.
const (
	StatePublished  RunState = "published"   // its marker is there
	StateMissing    RunState = "missing"     // nothing under its prefix
	StateInProgress RunState = "in progress" // a live claim, no marker yet
	StateAbandoned  RunState = "abandoned"   // objects or a stale claim, no marker
)

type claim struct {
	Host    string `json:"host"`
	PID     int    `json:"pid"`
	Started string `json:"started"`
	Token   string `json:"token"`
}

// heldClaims are the claim tokens this process holds (a retried pod can
// have the same host name and pid as the one that died).
var heldClaims sync.Map

// StateOf returns the state of the run at runDir (OUT/RUN_ID) on fsys, and
// for a claimed run a description of the claim.
func StateOf(fsys lake.FS, runDir string, now time.Time) (RunState, string, error) {
	if _, err := fsys.Stat(lake.JoinPath(runDir, MarkerFile)); err == nil {
		return StatePublished, "", nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", "", err
	}
	b, err := fsys.ReadFile(lake.JoinPath(runDir, ClaimFile))
	if errors.Is(err, fs.ErrNotExist) {
		if _, err := fsys.Stat(runDir); errors.Is(err, fs.ErrNotExist) {
			return StateMissing, "", nil
		} else if err != nil {
			return "", "", err
		}
		return StateAbandoned, "objects without a claim or marker", nil
	}
	if err != nil {
		return "", "", err
	}
	var c claim
	if err := json.Unmarshal(b, &c); err != nil {
		return StateAbandoned, "unreadable claim", nil
	}
	desc := fmt.Sprintf("claimed by %s pid %d at %s", c.Host, c.PID, c.Started)
	if claimStale(c, now) {
		return StateAbandoned, desc, nil
	}
	return StateInProgress, desc, nil
}

func claimStale(c claim, now time.Time) bool {
	if c.Host == hostTag() {
		if c.PID == os.Getpid() {
			_, held := heldClaims.Load(c.Token)
			return !held
		}
		if !processAlive(c.PID) {
			return true
		}
	}
	started, err := time.Parse(time.RFC3339Nano, c.Started)
	return err != nil || now.Sub(started) > claimStaleAfter()
}

func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	return !errors.Is(p.Signal(syscall.Signal(0)), os.ErrProcessDone)
}

// ErrRunExists: the run id is published (or being published) already.
var ErrRunExists = errors.New("run exists")

// PublishObject uploads the staged run folder stage to final (OUT/RUN_ID
// on an object store) as described above. It fails with ErrRunExists when
// final is published or claimed by a live process; an abandoned final is
// removed first.
func PublishObject(ctx context.Context, fsys lake.FS, stage, final string, now func() time.Time) error {
	marker, err := os.ReadFile(lake.JoinPath(stage, MarkerFile))
	if err != nil {
		return fmt.Errorf("runner: publish %s: %w", final, err)
	}
	st, desc, err := StateOf(fsys, final, now())
	if err != nil {
		return fmt.Errorf("runner: publish %s: %w", final, err)
	}
	switch st {
	case StatePublished:
		return fmt.Errorf("%w: %s is published", ErrRunExists, final)
	case StateInProgress:
		return fmt.Errorf("%w: %s is being published (%s)", ErrRunExists, final, desc)
	case StateAbandoned:
		if err := lake.RemoveAll(fsys, final); err != nil {
			return fmt.Errorf("runner: remove abandoned %s: %w", final, err)
		}
	}
	token := fmt.Sprintf("%d-%d", os.Getpid(), now().UnixNano())
	c, _ := json.Marshal(claim{Host: hostTag(), PID: os.Getpid(), Started: now().UTC().Format(time.RFC3339Nano), Token: token})
	heldClaims.Store(token, true)
	defer heldClaims.Delete(token)
	claimPath := lake.JoinPath(final, ClaimFile)
	if err := putIfAbsent(fsys, claimPath, c); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%w: %s: another process claimed it first", ErrRunExists, final)
		}
		return fmt.Errorf("runner: claim %s: %w", final, err)
	}
	fail := func(err error) error {
		_ = lake.RemoveAll(fsys, final) // best effort: else it is abandoned, cleaned later
		return err
	}
	if err := lake.UploadTree(ctx, fsys, stage, final, MarkerFile); err != nil {
		return fail(fmt.Errorf("runner: upload %s: %w", final, err))
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	if err := putIfAbsent(fsys, lake.JoinPath(final, MarkerFile), marker); err != nil {
		return fail(fmt.Errorf("runner: publish marker of %s: %w", final, err))
	}
	_ = fsys.Remove(claimPath) // a published run's leftover claim is harmless
	return nil
}

func putIfAbsent(fsys lake.FS, name string, body []byte) error {
	o, ok := fsys.(lake.ObjectFS)
	if !ok {
		return fmt.Errorf("runner: %s: not an object store", name)
	}
	return o.PutIfAbsent(name, body)
}

// RunEntry is one run id found in a runs folder.
type RunEntry struct {
	ID     string
	State  RunState
	Detail string
}

// ListRuns returns the run ids under outDir with their states, sorted by
// id. Folders starting with "_" or "." (catalog, staging) are not runs.
// States are read in parallel (one or two requests per run on an object
// store).
func ListRuns(ctx context.Context, fsys lake.FS, outDir string, now time.Time) ([]RunEntry, error) {
	ents, err := fsys.ReadDir(outDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []RunEntry
	for _, e := range ents {
		if e.IsDir() && !strings.HasPrefix(e.Name(), "_") && !strings.HasPrefix(e.Name(), ".") {
			out = append(out, RunEntry{ID: e.Name()})
		}
	}
	slices.SortFunc(out, func(a, b RunEntry) int { return strings.Compare(a.ID, b.ID) })
	errs := make([]error, len(out))
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for i := range out {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			out[i].State, out[i].Detail, errs[i] = StateOf(fsys, lake.JoinPath(outDir, out[i].ID), now)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// publishedObjectRuns returns the ids of the published runs under outDir
// on an object store (readers ignore the others).
func publishedObjectRuns(ctx context.Context, fsys lake.FS, outDir string, now time.Time) ([]string, error) {
	runs, err := ListRuns(ctx, fsys, outDir, now)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, r := range runs {
		if r.State == StatePublished && CheckRunID(r.ID) == nil {
			ids = append(ids, r.ID)
		}
	}
	return ids, nil
}

// CleanAbandoned removes the abandoned runs under outDir on an object
// store and returns their ids. Local runs folders have nothing to clean
// (their runs are published by rename; see cleanStale for staging).
func CleanAbandoned(ctx context.Context, fsys lake.FS, outDir string, now time.Time) ([]string, error) {
	if !lake.IsObjectFS(fsys) {
		return nil, nil
	}
	runs, err := ListRuns(ctx, fsys, outDir, now)
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, r := range runs {
		if r.State != StateAbandoned {
			continue
		}
		if err := lake.RemoveAll(fsys, lake.JoinPath(outDir, r.ID)); err != nil {
			return removed, fmt.Errorf("runner: remove abandoned run %s: %w", r.ID, err)
		}
		removed = append(removed, r.ID)
	}
	return removed, nil
}

// catalogRowAt is catalogRowOf for a run folder that may be on an object
// store: its run.json and summary.json are read into a temporary folder.
func catalogRowAt(dir string) (CatalogRow, error) {
	if !lake.IsObjectPath(dir) {
		return catalogRowOf(dir)
	}
	fsys, err := lake.FSFor(dir)
	if err != nil {
		return CatalogRow{}, err
	}
	tmp, err := os.MkdirTemp("", "backtest-row-")
	if err != nil {
		return CatalogRow{}, err
	}
	defer os.RemoveAll(tmp)
	for _, n := range []string{MarkerFile, "summary.json"} {
		b, err := fsys.ReadFile(lake.JoinPath(dir, n))
		if err != nil {
			return CatalogRow{}, err
		}
		if err := os.WriteFile(filepath.Join(tmp, n), b, 0o644); err != nil {
			return CatalogRow{}, err
		}
	}
	return catalogRowOf(tmp)
}

// reserveObject picks the run id of a run into an object-store runs
// folder: o.RunID, refused when published or (unless o.WaitForRunID, which
// waits for it) being published; else the first of NAME-HASH8, .2, .3 ...
// that is neither. The id is taken for good by PublishObject's claim: two
// processes that pick the same id both run, and the second to publish is
// refused.
func reserveObject(ctx context.Context, fsys lake.FS, l *scenarios.Loaded, o Options) (*reservation, error) {
	check := func(id string) (RunState, error) {
		st, _, err := StateOf(fsys, lake.JoinPath(o.OutDir, id), o.Now())
		return st, err
	}
	if o.RunID != "" {
		id := o.RunID
		if err := CheckRunID(id); err != nil {
			return nil, err
		}
		final := lake.JoinPath(o.OutDir, id)
		delay := 100 * time.Millisecond
		for {
			st, err := check(id)
			if err != nil {
				return nil, fmt.Errorf("runner: %w", err)
			}
			switch {
			case st == StatePublished:
				return nil, fmt.Errorf("%w: run id %s %w (%s)", ErrBadInput, id, ErrRunIDPublished, final)
			case st == StateInProgress && !o.WaitForRunID:
				return nil, fmt.Errorf("%w: run id %s %w", ErrBadInput, id, ErrRunIDBusy)
			case st != StateInProgress:
				return &reservation{id: id, final: final}, nil
			}
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(delay):
			}
			delay = min(2*delay, 2*time.Second)
		}
	}
	base, err := DefaultRunID(l)
	if err != nil {
		return nil, err
	}
	for n := 1; n < 10000; n++ {
		id := base
		if n > 1 {
			id = base + "." + strconv.Itoa(n)
		}
		st, err := check(id)
		if err != nil {
			return nil, fmt.Errorf("runner: %w", err)
		}
		if st == StateMissing || st == StateAbandoned {
			return &reservation{id: id, final: lake.JoinPath(o.OutDir, id)}, nil
		}
	}
	return nil, fmt.Errorf("%w: %s: 10000 runs with this id already", ErrBadInput, base)
}

// publishObjectRun publishes the staged run (PublishObject) and catalogs
// it, as Run does after its rename.
func publishObjectRun(ctx context.Context, o Options, fsys lake.FS, stage, final, id string, out *Outcome) (*Outcome, error) {
	if err := PublishObject(ctx, fsys, stage, final, o.Now); err != nil {
		if errors.Is(err, ErrRunExists) {
			if st, _, _ := StateOf(fsys, final, o.Now()); st == StatePublished {
				return nil, fmt.Errorf("%w: run id %s %w (%s)", ErrBadInput, id, ErrRunIDPublished, final)
			}
			return nil, fmt.Errorf("%w: run id %s %w", ErrBadInput, id, ErrRunIDBusy)
		}
		return nil, err
	}
	catalogPublished(ctx, o, out, id, final)
	return out, nil
}

// CatalogedRuns returns the run ids the catalog of outDir holds (from its
// txn actions: no data is read). Empty when there is no catalog.
func CatalogedRuns(ctx context.Context, outDir string) (map[string]bool, error) {
	snap, err := catalogSnapshot(outDir, nil)
	if err != nil || snap == nil {
		return map[string]bool{}, err
	}
	out := map[string]bool{}
	for _, x := range snap.Txns {
		if x.Version != 0 {
			out[x.AppID] = true
		}
	}
	return out, nil
}

// readRunFile reads OUT/ID/name, local or on an object store.
func readRunFile(outDir, id, name string) ([]byte, error) {
	p := lake.JoinPath(outDir, id, name)
	if !lake.IsObjectPath(p) {
		return os.ReadFile(p)
	}
	fsys, err := lake.FSFor(p)
	if err != nil {
		return nil, err
	}
	return fsys.ReadFile(p)
}
