package lake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
)

// Cache is a bounded local folder of copies of object-store files, for the
// readers that need local paths (DuckDB: its httpfs extension cannot be
// installed offline, so object tables are fetched and queried locally).
// Files keep their layout under the cache folder (dir/<bucket>/<key>), so
// a fetched table is a readable Delta table folder. A Cache refuses to
// grow past its limit (ErrCacheFull) rather than fill the disk; it never
// evicts, since every file it holds may be in use by an open view.
type Cache struct {
	dir   string
	limit int64

	mu    sync.Mutex
	used  int64
	files map[string]string
}

// DefaultCacheLimit bounds a Cache when no limit is given: 16 GiB.
const DefaultCacheLimit = 16 << 30

// ErrCacheFull: fetching a file would take the cache past its limit.
var ErrCacheFull = errors.New("lake: local cache limit reached")

// NewCache makes a cache in dir (created if needed) holding at most limit
// bytes (<= 0: DefaultCacheLimit).
func NewCache(dir string, limit int64) (*Cache, error) {
	if limit <= 0 {
		limit = DefaultCacheLimit
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("lake: cache: %w", err)
	}
	return &Cache{dir: dir, limit: limit, files: map[string]string{}}, nil
}

// Dir returns the cache folder.
func (c *Cache) Dir() string { return c.dir }

// Used returns the bytes fetched so far.
func (c *Cache) Used() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.used
}

// Remove deletes the cache folder and everything in it.
func (c *Cache) Remove() error { return os.RemoveAll(c.dir) }

// LocalPath returns where the copy of the object at name lives in the
// cache (fetched or not).
func (c *Cache) LocalPath(name string) string {
	bucket, key := splitObjectPath(name)
	return filepath.Join(c.dir, bucket, filepath.FromSlash(key))
}

// Fetch copies the file name (of size bytes, -1 if unknown) from fsys into
// the cache once and returns its local path. Local files are not copied:
// their own path is returned.
func (c *Cache) Fetch(ctx context.Context, fsys FS, name string, size int64) (string, error) {
	if !IsObjectFS(fsys) {
		return name, nil
	}
	name = CleanPath(name)
	local := c.LocalPath(name)
	if !strings.HasPrefix(local, filepath.Clean(c.dir)+string(filepath.Separator)) {
		return "", fmt.Errorf("%w: %s leaves the cache", ErrBadPath, name)
	}
	c.mu.Lock()
	if p, ok := c.files[name]; ok {
		c.mu.Unlock()
		return p, nil
	}
	if size >= 0 && c.used+size > c.limit {
		c.mu.Unlock()
		return "", fmt.Errorf("%w: %s (%d bytes) on top of %d of %d", ErrCacheFull, name, size, c.used, c.limit)
	}
	if size > 0 {
		c.used += size // reserved while downloading
	}
	c.mu.Unlock()
	n, err := c.download(ctx, fsys, name, local)
	c.mu.Lock()
	defer c.mu.Unlock()
	if size > 0 {
		c.used -= size
	}
	if err != nil {
		return "", err
	}
	if size >= 0 && n != size {
		_ = os.Remove(local)
		return "", fmt.Errorf("%w: %s is %d bytes, its table says %d", ErrCorrupt, name, n, size)
	}
	c.used += n
	c.files[name] = local
	return local, nil
}

func (c *Cache) download(ctx context.Context, fsys FS, name, local string) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := os.MkdirAll(filepath.Dir(local), 0o755); err != nil {
		return 0, fmt.Errorf("lake: cache: %w", err)
	}
	src, err := fsys.Open(name)
	if err != nil {
		return 0, fmt.Errorf("lake: fetch %s: %w", name, err)
	}
	defer src.Close()
	tmp, err := os.CreateTemp(filepath.Dir(local), "."+filepath.Base(local)+".*.tmp")
	if err != nil {
		return 0, fmt.Errorf("lake: cache: %w", err)
	}
	n, err := io.Copy(tmp, src)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), local)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return 0, fmt.Errorf("lake: fetch %s: %w", name, err)
	}
	return n, nil
}

// fetchParallel is how many files a snapshot fetches at once.
const fetchParallel = 8

// Local returns the snapshot with its active files on local disk: s
// itself for a local table; for an object-store table, a copy whose Dir
// is the table's folder in the cache, with every active file fetched (in
// parallel) at its relative path. SelectSQL, CreateView and ReadArrow of
// the copy read the local files; the copy's log is not fetched.
func (s *TableSnapshot) Local(ctx context.Context, c *Cache) (*TableSnapshot, error) {
	if !IsObjectFS(s.fsys) {
		return s, nil
	}
	cp := *s
	cp.Dir = c.LocalPath(s.Dir)
	cp.fsys = OSFS{}
	cp.real = nil
	remote := s.Paths()
	errs := make([]error, len(remote))
	sem := make(chan struct{}, fetchParallel)
	var wg sync.WaitGroup
	for i, p := range remote {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			_, errs[i] = c.Fetch(ctx, s.fsys, p, s.Files[i].Size)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &cp, nil
}

// readArrowObject is ReadArrow for an object-store snapshot: the active
// files are fetched into a temporary cache that is removed afterwards.
func (s *TableSnapshot) readArrowObject(ctx context.Context) (_ arrow.Table, err error) {
	dir, err := os.MkdirTemp("", "lake-fetch-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	c, err := NewCache(dir, 0)
	if err != nil {
		return nil, err
	}
	local, err := s.Local(ctx, c)
	if err != nil {
		return nil, err
	}
	return local.ReadArrow(ctx)
}

// FetchTable copies the latest snapshot of the Delta table at dir into
// the cache: the log files a replay needs (the newest checkpoint and the
// commits after it) and the active data files. It returns the local
// table's folder, which Snapshot reads as the same version with the same
// files (dir itself when fsys is local).
func (c *Cache) FetchTable(ctx context.Context, fsys FS, dir string) (string, error) {
	if !IsObjectFS(fsys) {
		return dir, nil
	}
	dir = CleanPath(dir)
	snap, err := snapshotAt(ctx, fsys, dir, -1)
	if err != nil {
		return "", err
	}
	logDir := JoinPath(dir, logDirName)
	l, err := listLog(fsys, logDir)
	if err != nil {
		return "", err
	}
	var names []string
	if cv := snap.CheckpointVersion; cv >= 0 {
		names = append(names, l.checkpoints[cv]...)
	}
	for v := snap.CheckpointVersion + 1; v <= snap.Version; v++ {
		names = append(names, commitName(v))
	}
	if err := forEachParallel(ctx, names, fetchParallel, func(n string) error {
		_, err := c.Fetch(ctx, fsys, JoinPath(logDir, n), -1)
		return err
	}); err != nil {
		return "", err
	}
	if _, err := snap.Local(ctx, c); err != nil {
		return "", err
	}
	return c.LocalPath(dir), nil
}
