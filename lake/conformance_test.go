package lake

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
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
