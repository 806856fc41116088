package lake

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// Whole folders between local disk and an object store: a run is built
// in a local staging folder and uploaded under its final prefix
// (UploadTree), and a published run is fetched whole for the commands
// that read it as files (Cache.FetchTree).

// WalkFiles returns the files under dir (relative slash paths, sorted),
// with their sizes, through fsys.
func WalkFiles(fsys FS, dir string) ([]string, map[string]int64, error) {
	var names []string
	sizes := map[string]int64{}
	var walk func(rel string) error
	walk = func(rel string) error {
		ents, err := fsys.ReadDir(JoinPath(dir, rel))
		if err != nil {
			return err
		}
		for _, e := range ents {
			r := e.Name()
			if rel != "" {
				r = rel + "/" + e.Name()
			}
			if e.IsDir() {
				if err := walk(r); err != nil {
					return err
				}
				continue
			}
			info, err := e.Info()
			if err != nil {
				return err
			}
			names = append(names, r)
			sizes[r] = info.Size()
		}
		return nil
	}
	if err := walk(""); err != nil {
		return nil, nil, err
	}
	slices.Sort(names)
	return names, sizes, nil
}

// uploadRank orders a tree's files for upload so that every prefix of the
// sequence is a consistent state: plain files and data files first, then
// each Delta log's JSON commits in version order, then its checkpoints,
// then the _last_checkpoint hint. (An object store shows objects one by
// one; a reader that lists a table mid-upload sees whole commits whose
// data files are already there.)
func uploadRank(rel string) int {
	base := rel[strings.LastIndexByte(rel, '/')+1:]
	if !strings.Contains("/"+rel, "/"+logDirName+"/") {
		return 0
	}
	switch {
	case base == lastCheckpointName:
		return 3
	case strings.Contains(base, ".checkpoint."):
		return 2
	}
	return 1
}

// UploadTree copies the local folder src to dst on fsys, in the order of
// uploadRank, replacing what is there, except the files named in last
// (relative slash paths), which it leaves out: the caller publishes them
// itself, afterwards. Uploads run a few at a time within a rank.
func UploadTree(ctx context.Context, fsys FS, src, dst string, last ...string) error {
	names, _, err := WalkFiles(OSFS{}, src)
	if err != nil {
		return fmt.Errorf("lake: upload %s: %w", src, err)
	}
	names = slices.DeleteFunc(names, func(n string) bool { return slices.Contains(last, n) })
	slices.SortStableFunc(names, func(a, b string) int { return cmp.Compare(uploadRank(a), uploadRank(b)) })
	for start := 0; start < len(names); {
		end := start
		for end < len(names) && uploadRank(names[end]) == uploadRank(names[start]) {
			end++
		}
		// Within a rank, data files may go in parallel; commits go in
		// version order, one at a time.
		par := fetchParallel
		if uploadRank(names[start]) != 0 {
			par = 1
		}
		if err := forEachParallel(ctx, names[start:end], par, func(rel string) error {
			return CopyFileTo(fsys, filepath.Join(src, filepath.FromSlash(rel)), JoinPath(dst, rel))
		}); err != nil {
			return err
		}
		start = end
	}
	return nil
}

// CopyFileTo writes the local file src to dst on fsys, replacing dst.
func CopyFileTo(fsys FS, src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if o, ok := asObjectFS(fsys); ok {
		if err := o.Put(dst, b); err != nil {
			return fmt.Errorf("lake: upload %s: %w", dst, err)
		}
		return nil
	}
	if err := fsys.MkdirAll(DirPath(dst)); err != nil {
		return err
	}
	if err := fsys.Remove(dst); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return writeFileSync(fsys, dst, b)
}

// forEachParallel calls f on every item, par at a time, and returns the
// errors joined.
func forEachParallel(ctx context.Context, items []string, par int, f func(string) error) error {
	errs := make([]error, len(items))
	sem := make(chan struct{}, max(par, 1))
	var wg sync.WaitGroup
	for i, it := range items {
		if err := ctx.Err(); err != nil {
			errs[i] = err
			break
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			errs[i] = f(it)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// FetchTree copies every file under dir on fsys into the cache and
// returns the local copy's folder (dir itself when fsys is local).
func (c *Cache) FetchTree(ctx context.Context, fsys FS, dir string) (string, error) {
	if !IsObjectFS(fsys) {
		return dir, nil
	}
	names, sizes, err := WalkFiles(fsys, dir)
	if err != nil {
		return "", fmt.Errorf("lake: fetch %s: %w", dir, err)
	}
	err = forEachParallel(ctx, names, fetchParallel, func(rel string) error {
		_, err := c.Fetch(ctx, fsys, JoinPath(dir, rel), sizes[rel])
		return err
	})
	if err != nil {
		return "", err
	}
	return c.LocalPath(CleanPath(dir)), nil
}
