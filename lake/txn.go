package lake

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
)

// Planned commits: idempotent, read-modify-write changes to a table.
//
// Commit is for blind appends. CommitPlanned is for changes that depend on
// the table's state (upsert a row keyed by an application id, remove the
// files holding some rows): the caller's plan looks at the latest snapshot
// and says what to add, remove and record as application transactions
// (Delta's txn action, one per application id). When another writer takes
// the version first, the log is replayed again and the plan asked again, so
// the commit that lands was planned against exactly the state it follows
// (serializable, like a compare-and-swap loop). A plan that finds nothing to
// do ends the loop without a commit: that is how a retry after a crash, or
// two processes doing the same work, leave one copy.

// Plan is what one planned commit changes. Txns record per-application
// versions (Snapshot.Txns), which plans use as idempotency keys.
type Plan struct {
	Adds    []Add
	Removes []Remove
	Txns    []Txn
}

// Empty reports whether the plan changes nothing.
func (p Plan) Empty() bool { return len(p.Adds) == 0 && len(p.Removes) == 0 && len(p.Txns) == 0 }

// TxnVersion returns the version of application appID in the snapshot,
// and whether it has one.
func (s *TableSnapshot) TxnVersion(appID string) (int64, bool) {
	i, ok := slices.BinarySearchFunc(s.Txns, appID, func(x Txn, id string) int {
		switch {
		case x.AppID < id:
			return -1
		case x.AppID > id:
			return 1
		}
		return 0
	})
	if !ok {
		return 0, false
	}
	return s.Txns[i].Version, true
}

// CommitPlanned asks plan what to change given the table's latest snapshot
// and commits it as the next version, which it returns (or the snapshot's
// version and committed=false when the plan is empty). Data files the plan
// adds must be written (WriteFile) before plan returns them; plan may be
// called several times and should reuse files it already wrote. Removes of
// files that are no longer active when the commit lands cannot happen: each
// attempt is planned on the snapshot it will follow.
func (t *Table) CommitPlanned(ctx context.Context, plan func(*TableSnapshot) (Plan, error), info CommitInfo) (version int64, committed bool, err error) {
	// t.mu is not held while plan runs: plans write data files
	// (WriteFile takes it).
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return -1, false, err
		}
		snap, err := snapshotAt(ctx, t.opts.fs, t.dir, -1)
		if err != nil {
			return -1, false, err
		}
		t.mu.Lock()
		id := t.meta.ID
		t.version = max(t.version, snap.Version)
		t.mu.Unlock()
		if snap.Metadata.ID != id {
			return -1, false, fmt.Errorf("%w: %s was replaced by another table", ErrConflict, t.dir)
		}
		p, err := plan(snap)
		if err != nil {
			return -1, false, err
		}
		if p.Empty() {
			return snap.Version, false, nil
		}
		acts := make([]action, 0, 1+len(p.Txns)+len(p.Removes)+len(p.Adds))
		for i := range p.Txns {
			acts = append(acts, action{Txn: &p.Txns[i]})
		}
		for i := range p.Removes {
			if _, err := localPath(p.Removes[i].Path); err != nil {
				return -1, false, err
			}
			acts = append(acts, action{Remove: &p.Removes[i]})
		}
		for i := range p.Adds {
			if _, err := localPath(p.Adds[i].Path); err != nil {
				return -1, false, err
			}
			acts = append(acts, action{Add: &p.Adds[i]})
		}
		if len(p.Adds) > 0 {
			if err := t.opts.fs.SyncDir(t.dir); err != nil {
				return -1, false, fmt.Errorf("lake: commit to %s: sync data dir: %w", t.dir, err)
			}
		}
		v := snap.Version + 1
		ci := commitInfoLine(t.opts, info, snap.Version, p.Adds, t.opts.clock().UnixMilli())
		body, err := encodeLines(append([]action{ci}, acts...)...)
		if err != nil {
			return -1, false, err
		}
		err = t.publish(v, body)
		if err == nil {
			t.mu.Lock()
			t.version = max(t.version, v)
			if v%t.opts.checkpointInterval == 0 {
				t.cpErr = t.checkpointLocked(ctx, v)
			}
			t.mu.Unlock()
			return v, true, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return -1, false, fmt.Errorf("lake: commit %d to %s: %w", v, t.dir, err)
		}
		if attempt >= t.opts.maxRetries {
			return -1, false, fmt.Errorf("%w: %s: gave up after %d retries (version %d taken)", ErrConflict, t.dir, attempt, v)
		}
	}
}

// RemoveOf is the remove action that deletes the active file a from the
// table at deletion time ms.
func RemoveOf(a Add, ms int64) Remove {
	ext := true
	size := a.Size
	return Remove{Path: a.Path, DeletionTimestamp: &ms, DataChange: true, ExtendedFileMetadata: &ext,
		PartitionValues: a.PartitionValues, Size: &size}
}
