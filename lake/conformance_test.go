package lake

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestFSConformance: the contract every FS keeps, on every backend.
func TestFSConformance(t *testing.T) {
	forBackends(t, func(t *testing.T, b backend) {
		root := b.newRoot(t)
		fsys := b.fs
		body := []byte("0123456789abcdefghij")
		a := JoinPath(root, "d", "a.bin")
		writeTestFile(t, fsys, a, body)

		// Exclusive create never replaces: the refusal comes at create
		// (local) or when the object would land (object stores).
		f, err := fsys.CreateExcl(a)
		if err == nil {
			_, _ = f.Write([]byte("other"))
			err = f.Close()
		}
		if !errors.Is(err, fs.ErrExist) {
			t.Fatalf("second CreateExcl: %v", err)
		}
		if got, err := fsys.ReadFile(a); err != nil || !bytes.Equal(got, body) {
			t.Fatalf("ReadFile = %q, %v", got, err)
		}

		// Random and sequential reads.
		rf, err := fsys.Open(a)
		if err != nil {
			t.Fatal(err)
		}
		st, err := rf.Stat()
		if err != nil || st.Size() != int64(len(body)) || st.IsDir() {
			t.Fatalf("stat %v %v", st, err)
		}
		p := make([]byte, 5)
		for _, off := range []int64{0, 7, 15} {
			if n, err := rf.ReadAt(p, off); n != 5 || err != nil || !bytes.Equal(p, body[off:off+5]) {
				t.Fatalf("ReadAt(%d) = %d %q %v", off, n, p, err)
			}
		}
		if n, err := rf.ReadAt(p, 18); n != 2 || err != io.EOF || string(p[:2]) != "ij" {
			t.Fatalf("ReadAt past the end = %d %v", n, err)
		}
		if _, err := rf.Seek(10, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		if got := readAllFrom(t, rf); !bytes.Equal(got, body[10:]) {
			t.Fatalf("read after seek %q", got)
		}
		if pos, err := rf.Seek(-4, io.SeekEnd); err != nil || pos != 16 {
			t.Fatalf("seek end %d %v", pos, err)
		}
		if got := readAllFrom(t, rf); string(got) != "ghij" {
			t.Fatalf("tail %q", got)
		}
		rf.Close()

		// Missing names.
		missing := JoinPath(root, "d", "nope")
		if _, err := fsys.ReadFile(missing); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("ReadFile missing: %v", err)
		}
		if _, err := fsys.Open(missing); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("Open missing: %v", err)
		}
		if _, err := fsys.Stat(missing); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("Stat missing: %v", err)
		}
		if _, err := fsys.ReadDir(JoinPath(root, "nodir")); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("ReadDir missing: %v", err)
		}
		if err := fsys.Remove(missing); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("Remove missing: %v", err)
		}

		// Listing: sorted, folders marked.
		writeTestFile(t, fsys, JoinPath(root, "d", "0.bin"), []byte("x"))
		writeTestFile(t, fsys, JoinPath(root, "d", "sub", "z.bin"), []byte("yy"))
		ents, err := fsys.ReadDir(JoinPath(root, "d"))
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range ents {
			n := e.Name()
			if e.IsDir() {
				n += "/"
			}
			names = append(names, n)
		}
		if !slices.Equal(names, []string{"0.bin", "a.bin", "sub/"}) {
			t.Fatalf("ReadDir = %v", names)
		}
		if st, err := fsys.Stat(JoinPath(root, "d", "sub")); err != nil || !st.IsDir() {
			t.Fatalf("Stat folder %v %v", st, err)
		}

		// Put-if-absent publication, the commit primitive.
		c := JoinPath(root, "d", "_delta_log", commitName(0))
		if err := fsys.MkdirAll(DirPath(c)); err != nil {
			t.Fatal(err)
		}
		if err := putIfAbsent(fsys, DirPath(c), c, []byte("first")); err != nil {
			t.Fatal(err)
		}
		if err := putIfAbsent(fsys, DirPath(c), c, []byte("second")); !errors.Is(err, fs.ErrExist) {
			t.Fatalf("second put: %v", err)
		}
		if got, _ := fsys.ReadFile(c); string(got) != "first" {
			t.Fatalf("commit holds %q", got)
		}
		// No temp file is left beside it.
		if ents, _ := fsys.ReadDir(DirPath(c)); len(ents) != 1 {
			t.Fatalf("log holds %d entries", len(ents))
		}

		// Remove and RemoveAll.
		if err := fsys.Remove(JoinPath(root, "d", "0.bin")); err != nil {
			t.Fatal(err)
		}
		if _, err := fsys.Stat(JoinPath(root, "d", "0.bin")); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("removed file: %v", err)
		}
		if err := RemoveAll(fsys, JoinPath(root, "d")); err != nil {
			t.Fatal(err)
		}
		if _, err := fsys.Stat(JoinPath(root, "d")); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("after RemoveAll: %v", err)
		}
		if err := RemoveAll(fsys, JoinPath(root, "d")); err != nil {
			t.Fatalf("RemoveAll of nothing: %v", err)
		}
	})
}

// TestFSLargeFile: a file larger than an S3 part (a multipart upload) is
// written and read back exactly.
func TestFSLargeFile(t *testing.T) {
	forBackends(t, func(t *testing.T, b backend) {
		if s, ok := b.fs.(*S3FS); ok {
			s.PartSize = minS3PartSize
		}
		name := JoinPath(b.newRoot(t), "big.bin")
		body := make([]byte, 2*minS3PartSize+12345)
		for i := range body {
			body[i] = byte(i * 7)
		}
		if err := b.fs.MkdirAll(DirPath(name)); err != nil {
			t.Fatal(err)
		}
		f, err := b.fs.CreateExcl(name)
		if err != nil {
			t.Fatal(err)
		}
		for off := 0; off < len(body); off += 1 << 20 {
			if _, err := f.Write(body[off:min(off+1<<20, len(body))]); err != nil {
				t.Fatal(err)
			}
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		got, err := b.fs.ReadFile(name)
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("read back %d bytes (want %d): %v", len(got), len(body), err)
		}
		rf, err := b.fs.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		defer rf.Close()
		p := make([]byte, 100)
		off := int64(minS3PartSize - 50) // across the part boundary
		if _, err := rf.ReadAt(p, off); err != nil || !bytes.Equal(p, body[off:off+100]) {
			t.Fatalf("ReadAt across parts: %v", err)
		}
	})
}

// TestLocations: object URLs keep their scheme through the path helpers.
func TestLocations(t *testing.T) {
	cases := []struct{ got, want string }{
		{JoinPath("s3://b/p", "run", "risk_events"), "s3://b/p/run/risk_events"},
		{JoinPath("s3:/b/p/", "x"), "s3://b/p/x"},
		{CleanPath("s3://b//p/./q/"), "s3://b/p/q"},
		{DirPath("s3://b/p/q"), "s3://b/p"},
		{DirPath("s3://b"), "s3://b"},
		{BasePath("s3://b/p/q"), "q"},
		{JoinPath("/tmp/a", "b"), "/tmp/a/b"},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	if b, k := splitObjectPath("s3://bucket/a/b"); b != "bucket" || k != "a/b" {
		t.Errorf("split: %q %q", b, k)
	}
	if b, k := splitObjectPath("s3://bucket"); b != "bucket" || k != "" {
		t.Errorf("split root: %q %q", b, k)
	}
	if IsObjectPath("/tmp/s3") || !IsObjectPath("s3://x") {
		t.Error("IsObjectPath")
	}
}

// TestUploadAndFetchTree: a locally built folder with a Delta table is
// uploaded (the marker left for last), read in place, and fetched back
// byte for byte.
func TestUploadAndFetchTree(t *testing.T) {
	forBackends(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		src := t.TempDir()
		tbl, err := Create(filepath.Join(src, "events"), testSchema(), WithCheckpointInterval(2))
		if err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			appendRows(t, tbl, int64(i*10), 10)
		}
		if err := os.WriteFile(filepath.Join(src, "run.json"), []byte(`{"ok":true}`), 0o644); err != nil {
			t.Fatal(err)
		}
		dst := JoinPath(be.newRoot(t), "run-1")
		if err := UploadTree(ctx, be.fs, src, dst, "run.json"); err != nil {
			t.Fatal(err)
		}
		if _, err := be.fs.Stat(JoinPath(dst, "run.json")); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("the marker was uploaded: %v", err)
		}
		snap := checkTable(t, JoinPath(dst, "events"), be.opts()...)
		if snap.Version != 3 || snap.CheckpointVersion != 2 {
			t.Fatalf("uploaded table: version %d checkpoint %d", snap.Version, snap.CheckpointVersion)
		}
		if err := CopyFileTo(be.fs, filepath.Join(src, "run.json"), JoinPath(dst, "run.json")); err != nil {
			t.Fatal(err)
		}
		c := newTestCache(t)
		local, err := c.FetchTree(ctx, be.fs, dst)
		if err != nil {
			t.Fatal(err)
		}
		want, wantSizes, err := WalkFiles(OSFS{}, src)
		if err != nil {
			t.Fatal(err)
		}
		got, gotSizes, err := WalkFiles(OSFS{}, local)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) || !maps.Equal(gotSizes, wantSizes) {
			t.Fatalf("fetched %v, want %v", got, want)
		}
		if be.name == "s3" && c.Used() != sum(wantSizes) {
			t.Fatalf("cache holds %d bytes, want %d", c.Used(), sum(wantSizes))
		}
		checkTable(t, filepath.Join(local, "events"))
	})
}

func sum(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

// TestCacheLimit: a fetch past the limit is refused, nothing half-written
// is left.
func TestCacheLimit(t *testing.T) {
	be := s3Backend(t)
	if be.skip != "" {
		t.Skip(be.skip)
	}
	root := be.newRoot(t)
	for _, n := range []string{"a", "b"} {
		writeTestFile(t, be.fs, JoinPath(root, n), bytes.Repeat([]byte(n), 600))
	}
	c, err := NewCache(t.TempDir(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Fetch(context.Background(), be.fs, JoinPath(root, "a"), 600); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Fetch(context.Background(), be.fs, JoinPath(root, "b"), 600); !errors.Is(err, ErrCacheFull) {
		t.Fatalf("second fetch: %v", err)
	}
	if _, err := os.Stat(c.LocalPath(JoinPath(root, "b"))); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("refused file on disk: %v", err)
	}
	if c.Used() != 600 {
		t.Fatalf("used %d", c.Used())
	}
}

// TestFetchTable: a fetched table replays to the same version and files,
// with only what the replay needs.
func TestFetchTable(t *testing.T) {
	forBackends(t, func(t *testing.T, be backend) {
		dir := JoinPath(be.newRoot(t), "quotes")
		tbl, err := Create(dir, testSchema(), append(be.opts(), WithCheckpointInterval(4))...)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 6 {
			appendRows(t, tbl, int64(i*10), 10)
		}
		c := newTestCache(t)
		local, err := c.FetchTable(context.Background(), be.fs, dir)
		if err != nil {
			t.Fatal(err)
		}
		want := checkTable(t, dir, be.opts()...)
		got := checkTable(t, local)
		if got.Version != 6 || got.Version != want.Version || len(got.Files) != len(want.Files) {
			t.Fatalf("fetched version %d files %d, want %d %d", got.Version, len(got.Files), want.Version, len(want.Files))
		}
		if be.name == "s3" {
			if got.CheckpointVersion != 4 {
				t.Fatalf("fetched replay starts at %d", got.CheckpointVersion)
			}
			ents, _ := os.ReadDir(filepath.Join(local, logDirName))
			if len(ents) != 3 { // checkpoint 4, commits 5 and 6
				t.Fatalf("fetched log has %d files", len(ents))
			}
		}
	})
}
