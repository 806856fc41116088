package lake

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
)

// ObjectFS is an FS over an object store (S3 and S3-compatible stores).
// Object stores have no folders, no rename and no partial objects: an
// object appears whole when its upload completes, or not at all. So the
// lake publishes whole objects instead of temp file + link/rename:
//
//   - PutIfAbsent writes a commit or checkpoint with a conditional PUT
//     (If-None-Match: *); it fails with fs.ErrExist when the name is taken,
//     exactly as the local link does, so a writer that lost the race for
//     a version moves to the next one.
//   - Put replaces an object (the _last_checkpoint hint).
//   - RemoveAll deletes every object under a prefix (cleanup of abandoned
//     runs).
//
// MkdirAll and SyncDir are no-ops; CreateExcl buffers and uploads on Close
// (a multipart upload for large files), so a file that failed or whose
// writer died is never visible.
type ObjectFS interface {
	FS
	PutIfAbsent(name string, body []byte) error
	Put(name string, body []byte) error
	RemoveAll(name string) error
}

// asObjectFS returns fsys as an ObjectFS when it (or the FS a FaultFS
// wraps) is one.
func asObjectFS(fsys FS) (ObjectFS, bool) {
	if ff, ok := fsys.(*FaultFS); ok {
		if _, ok := asObjectFS(ff.FS); !ok {
			return nil, false
		}
	}
	o, ok := fsys.(ObjectFS)
	return o, ok
}

// IsObjectFS reports whether fsys stores objects (no rename, no local
// paths): data must be fetched before DuckDB can read it.
func IsObjectFS(fsys FS) bool {
	_, ok := asObjectFS(fsys)
	return ok
}

// RemoveAll removes dir and everything under it. A missing dir is not an
// error.
func RemoveAll(fsys FS, dir string) error {
	if o, ok := asObjectFS(fsys); ok {
		return o.RemoveAll(dir)
	}
	if _, ok := fsys.(OSFS); ok {
		return os.RemoveAll(dir)
	}
	ents, err := fsys.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range ents {
		p := JoinPath(dir, e.Name())
		if e.IsDir() {
			err = RemoveAll(fsys, p)
		} else {
			err = fsys.Remove(p)
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	if err := fsys.Remove(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// FSFor returns the FS that serves location: the process's object store
// for s3:// URLs (configured from the standard AWS environment, see
// LoadS3FS), the operating system's otherwise.
func FSFor(location string) (FS, error) {
	if !IsObjectPath(location) {
		return OSFS{}, nil
	}
	return defaultObjectFS()
}

var objectFSOnce struct {
	sync.Once
	fs  *S3FS
	err error
}

func defaultObjectFS() (FS, error) {
	objectFSOnce.Do(func() {
		objectFSOnce.fs, objectFSOnce.err = LoadS3FS()
		if objectFSOnce.err != nil {
			objectFSOnce.err = fmt.Errorf("lake: object store: %w", objectFSOnce.err)
		}
	})
	if objectFSOnce.err != nil {
		return nil, objectFSOnce.err
	}
	return objectFSOnce.fs, nil
}
