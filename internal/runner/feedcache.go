package runner

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/optionsrisk/backtest/feeds"
	"github.com/optionsrisk/backtest/lake"
)

// Feeds at s3:// paths (a Parquet file, a glob of Parquet files, or a
// Delta table's folder) are read from a bounded local cache: the feed
// reader (DuckDB) needs files, and its httpfs extension cannot be
// installed offline. The cache is one folder per process in the local
// staging area ($TMPDIR/backtest-staging/feeds.HOST.PID.N), shared by the
// runs of a sweep, so each object is fetched once per process; it is
// removed when the process ends (RemoveCaches) or, after a crash, by the
// next process on the host. BACKTEST_CACHE_BYTES bounds it (default
// lake.DefaultCacheLimit, 16 GiB): a feed that does not fit fails the run
// instead of filling the disk.

// LocalStagingRoot is where runs for an object-store runs folder are built
// and object feeds are cached: $TMPDIR/backtest-staging.
func LocalStagingRoot() string { return filepath.Join(os.TempDir(), "backtest-staging") }

var feedCache struct {
	sync.Mutex
	c *lake.Cache
}

func cacheLimit() int64 {
	n, err := strconv.ParseInt(os.Getenv("BACKTEST_CACHE_BYTES"), 10, 64)
	if err != nil || n <= 0 {
		return lake.DefaultCacheLimit
	}
	return n
}

func objectFeedCache() (*lake.Cache, error) {
	feedCache.Lock()
	defer feedCache.Unlock()
	if feedCache.c != nil {
		return feedCache.c, nil
	}
	root := LocalStagingRoot()
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("runner: feed cache: %w", err)
	}
	cleanStale(root)
	dir, err := os.MkdirTemp(root, "feeds."+hostTag()+"."+strconv.Itoa(os.Getpid())+".")
	if err != nil {
		return nil, fmt.Errorf("runner: feed cache: %w", err)
	}
	c, err := lake.NewCache(dir, cacheLimit())
	if err != nil {
		return nil, err
	}
	feedCache.c = c
	return c, nil
}

// RemoveCaches removes this process's feed cache. The CLI calls it before
// exiting.
func RemoveCaches() {
	feedCache.Lock()
	defer feedCache.Unlock()
	if feedCache.c != nil {
		_ = feedCache.c.Remove()
		feedCache.c = nil
	}
}

// localFeed returns cfg with an s3:// Path replaced by the path of its
// local copy in the feed cache.
func localFeed(ctx context.Context, cfg feeds.FileConfig) (feeds.FileConfig, error) {
	if !lake.IsObjectPath(cfg.Path) {
		return cfg, nil
	}
	fsys, err := lake.FSFor(cfg.Path)
	if err != nil {
		return cfg, err
	}
	c, err := objectFeedCache()
	if err != nil {
		return cfg, err
	}
	p := lake.CleanPath(cfg.Path)
	format := strings.ToLower(cfg.Format)
	if format == "" && !strings.HasSuffix(strings.ToLower(p), ".parquet") && !strings.HasSuffix(strings.ToLower(p), ".csv") &&
		!strings.ContainsAny(lake.BasePath(p), "*?[") {
		format = "delta" // a folder: only a Delta table is one
	}
	switch {
	case format == "delta":
		local, err := c.FetchTable(ctx, fsys, p)
		if err != nil {
			return cfg, err
		}
		cfg.Path = local
		if cfg.Format == "" {
			cfg.Format = "delta"
		}
	case strings.ContainsAny(lake.BasePath(p), "*?["):
		dir, pattern := lake.DirPath(p), lake.BasePath(p)
		ents, err := fsys.ReadDir(dir)
		if err != nil {
			return cfg, err
		}
		n := 0
		for _, e := range ents {
			if ok, _ := path.Match(pattern, e.Name()); !ok || e.IsDir() {
				continue
			}
			info, err := e.Info()
			if err != nil {
				return cfg, err
			}
			if _, err := c.Fetch(ctx, fsys, lake.JoinPath(dir, e.Name()), info.Size()); err != nil {
				return cfg, err
			}
			n++
		}
		if n == 0 {
			return cfg, fmt.Errorf("%s: %w: no object matches", p, fs.ErrNotExist)
		}
		cfg.Path = filepath.Join(c.LocalPath(dir), pattern)
	default:
		info, err := fsys.Stat(p)
		if err != nil {
			return cfg, err
		}
		local, err := c.Fetch(ctx, fsys, p, info.Size())
		if err != nil {
			return cfg, err
		}
		cfg.Path = local
	}
	return cfg, nil
}
