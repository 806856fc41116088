package lake

import (
	"path"
	"path/filepath"
	"strings"
)

// Locations: a table, run or runs folder is named either by an OS path or
// by an object-store URL, s3://bucket/key. Object URLs always use "/" and
// keep their scheme through JoinPath and CleanPath (filepath.Join would
// fold "s3://" into "s3:/", which every function here also accepts and
// repairs, so callers that used filepath.Join still reach the object).

// ObjectScheme is the URL scheme of object-store locations.
const ObjectScheme = "s3://"

// IsObjectPath reports whether p names an object-store location
// ("s3://bucket/key", or "s3:/bucket/key" as filepath.Join leaves it).
func IsObjectPath(p string) bool {
	return strings.HasPrefix(p, "s3:/")
}

// CleanPath is filepath.Clean for OS paths; for object URLs it cleans the
// key with "/" separators and keeps "s3://".
func CleanPath(p string) string {
	if !IsObjectPath(p) {
		return filepath.Clean(p)
	}
	rest := strings.TrimLeft(strings.TrimPrefix(p, "s3:"), "/")
	rest = path.Clean("/" + rest)[1:]
	return ObjectScheme + rest
}

// JoinPath is filepath.Join for OS paths; for object URLs it joins with
// "/" and keeps "s3://".
func JoinPath(dir string, elem ...string) string {
	if !IsObjectPath(dir) {
		return filepath.Join(append([]string{dir}, elem...)...)
	}
	parts := make([]string, 0, len(elem)+1)
	parts = append(parts, strings.TrimPrefix(CleanPath(dir), ObjectScheme))
	for _, e := range elem {
		parts = append(parts, filepath.ToSlash(e))
	}
	return CleanPath(ObjectScheme + path.Join(parts...))
}

// BasePath is filepath.Base that also understands object URLs.
func BasePath(p string) string {
	if !IsObjectPath(p) {
		return filepath.Base(p)
	}
	return path.Base(strings.TrimPrefix(CleanPath(p), ObjectScheme))
}

// DirPath is filepath.Dir that also understands object URLs; the parent
// of a bucket root is the bucket root.
func DirPath(p string) string {
	if !IsObjectPath(p) {
		return filepath.Dir(p)
	}
	rest := strings.TrimPrefix(CleanPath(p), ObjectScheme)
	i := strings.LastIndexByte(rest, '/')
	if i < 0 {
		return ObjectScheme + rest
	}
	return ObjectScheme + rest[:i]
}

// splitObjectPath returns the bucket and key of an object URL; the key of
// a bucket root is "".
func splitObjectPath(p string) (bucket, key string) {
	rest := strings.TrimPrefix(CleanPath(p), ObjectScheme)
	bucket, key, _ = strings.Cut(rest, "/")
	if key == "." {
		key = ""
	}
	return bucket, key
}
