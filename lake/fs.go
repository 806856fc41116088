package lake

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// FS is the file-system seam. Every file the package writes or reads goes
// through it, so tests can inject failures at each step (pebble's errorfs).
// Paths are OS paths.
type FS interface {
	// CreateExcl creates name for writing; it fails with an error
	// satisfying errors.Is(err, fs.ErrExist) if name exists.
	CreateExcl(name string) (File, error)
	// Link publishes oldname as newname; it fails with fs.ErrExist if
	// newname exists. It never overwrites.
	Link(oldname, newname string) error
	// Rename replaces newname with oldname. Used only for the
	// _last_checkpoint hint, never for commits.
	Rename(oldname, newname string) error
	Remove(name string) error
	MkdirAll(name string) error
	// SyncDir makes the directory entries of dir durable.
	SyncDir(dir string) error
	ReadFile(name string) ([]byte, error)
	Open(name string) (ReadFile, error)
	ReadDir(name string) ([]fs.DirEntry, error)
	Stat(name string) (fs.FileInfo, error)
}

// File is a file open for writing.
type File interface {
	io.Writer
	Sync() error
	Close() error
}

// ReadFile is a file open for reading (Parquet needs random access).
type ReadFile interface {
	io.ReaderAt
	io.ReadSeeker
	io.Closer
	Stat() (fs.FileInfo, error)
}

// OSFS is the FS of the operating system.
type OSFS struct{}

var _ FS = OSFS{}

// CreateExcl implements FS.
func (OSFS) CreateExcl(name string) (File, error) {
	return os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
}

// Link implements FS.
func (OSFS) Link(oldname, newname string) error { return os.Link(oldname, newname) }

// Rename implements FS.
func (OSFS) Rename(oldname, newname string) error { return os.Rename(oldname, newname) }

// Remove implements FS.
func (OSFS) Remove(name string) error { return os.Remove(name) }

// MkdirAll implements FS.
func (OSFS) MkdirAll(name string) error { return os.MkdirAll(name, 0o755) }

// SyncDir implements FS.
func (OSFS) SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// ReadFile implements FS.
func (OSFS) ReadFile(name string) ([]byte, error) { return os.ReadFile(name) }

// Open implements FS.
func (OSFS) Open(name string) (ReadFile, error) { return os.Open(name) }

// ReadDir implements FS.
func (OSFS) ReadDir(name string) ([]fs.DirEntry, error) { return os.ReadDir(name) }

// Stat implements FS.
func (OSFS) Stat(name string) (fs.FileInfo, error) { return os.Stat(name) }

// Op names one file-system step, for fault injection.
type Op uint8

// The steps a FaultFS can fail.
const (
	OpCreate Op = iota + 1
	OpWrite
	OpSync
	OpClose
	OpLink
	OpRename
	OpRemove
	OpMkdir
	OpSyncDir
	OpRead
	OpPut // a whole-object write (ObjectFS.PutIfAbsent, Put)
)

// String returns the step's name.
func (o Op) String() string {
	switch o {
	case OpCreate:
		return "create"
	case OpWrite:
		return "write"
	case OpSync:
		return "sync"
	case OpClose:
		return "close"
	case OpLink:
		return "link"
	case OpRename:
		return "rename"
	case OpRemove:
		return "remove"
	case OpMkdir:
		return "mkdir"
	case OpSyncDir:
		return "syncdir"
	case OpRead:
		return "read"
	case OpPut:
		return "put"
	}
	return "unknown"
}

// ErrInjected is the error a FaultFS returns by default.
var ErrInjected = errors.New("lake: injected fault")

// FaultFS wraps an FS and asks Fault before each step. A non-nil error from
// Fault fails the step. For OpWrite, a fault tears the write: half of the
// buffer reaches the file before the error is returned.
type FaultFS struct {
	FS    FS
	Fault func(op Op, name string) error
}

var _ FS = (*FaultFS)(nil)

func (f *FaultFS) check(op Op, name string) error {
	if f.Fault == nil {
		return nil
	}
	return f.Fault(op, filepath.ToSlash(name))
}

// CreateExcl implements FS.
func (f *FaultFS) CreateExcl(name string) (File, error) {
	if err := f.check(OpCreate, name); err != nil {
		return nil, err
	}
	inner, err := f.FS.CreateExcl(name)
	if err != nil {
		return nil, err
	}
	return &faultFile{f: f, name: name, inner: inner}, nil
}

// Link implements FS.
func (f *FaultFS) Link(oldname, newname string) error {
	if err := f.check(OpLink, newname); err != nil {
		return err
	}
	return f.FS.Link(oldname, newname)
}

// Rename implements FS.
func (f *FaultFS) Rename(oldname, newname string) error {
	if err := f.check(OpRename, newname); err != nil {
		return err
	}
	return f.FS.Rename(oldname, newname)
}

// Remove implements FS.
func (f *FaultFS) Remove(name string) error {
	if err := f.check(OpRemove, name); err != nil {
		return err
	}
	return f.FS.Remove(name)
}

// MkdirAll implements FS.
func (f *FaultFS) MkdirAll(name string) error {
	if err := f.check(OpMkdir, name); err != nil {
		return err
	}
	return f.FS.MkdirAll(name)
}

// SyncDir implements FS.
func (f *FaultFS) SyncDir(dir string) error {
	if err := f.check(OpSyncDir, dir); err != nil {
		return err
	}
	return f.FS.SyncDir(dir)
}

// ReadFile implements FS.
func (f *FaultFS) ReadFile(name string) ([]byte, error) {
	if err := f.check(OpRead, name); err != nil {
		return nil, err
	}
	return f.FS.ReadFile(name)
}

// Open implements FS.
func (f *FaultFS) Open(name string) (ReadFile, error) {
	if err := f.check(OpRead, name); err != nil {
		return nil, err
	}
	return f.FS.Open(name)
}

// ReadDir implements FS.
func (f *FaultFS) ReadDir(name string) ([]fs.DirEntry, error) {
	if err := f.check(OpRead, name); err != nil {
		return nil, err
	}
	return f.FS.ReadDir(name)
}

// Stat implements FS.
func (f *FaultFS) Stat(name string) (fs.FileInfo, error) { return f.FS.Stat(name) }

// PutIfAbsent implements ObjectFS when the wrapped FS is one.
func (f *FaultFS) PutIfAbsent(name string, body []byte) error {
	o, err := f.object(name)
	if err != nil {
		return err
	}
	return o.PutIfAbsent(name, body)
}

// Put implements ObjectFS when the wrapped FS is one.
func (f *FaultFS) Put(name string, body []byte) error {
	o, err := f.object(name)
	if err != nil {
		return err
	}
	return o.Put(name, body)
}

// RemoveAll implements ObjectFS when the wrapped FS is one.
func (f *FaultFS) RemoveAll(name string) error {
	if err := f.check(OpRemove, name); err != nil {
		return err
	}
	if o, ok := asObjectFS(f.FS); ok {
		return o.RemoveAll(name)
	}
	return RemoveAll(f.FS, name)
}

func (f *FaultFS) object(name string) (ObjectFS, error) {
	o, ok := asObjectFS(f.FS)
	if !ok {
		return nil, &fs.PathError{Op: "put", Path: name, Err: errors.ErrUnsupported}
	}
	if err := f.check(OpPut, name); err != nil {
		return nil, err
	}
	return o, nil
}

type faultFile struct {
	f     *FaultFS
	name  string
	inner File
}

func (w *faultFile) Write(p []byte) (int, error) {
	if err := w.f.check(OpWrite, w.name); err != nil {
		n, _ := w.inner.Write(p[:len(p)/2])
		return n, err
	}
	return w.inner.Write(p)
}

func (w *faultFile) Sync() error {
	if err := w.f.check(OpSync, w.name); err != nil {
		return err
	}
	return w.inner.Sync()
}

func (w *faultFile) Close() error {
	if err := w.f.check(OpClose, w.name); err != nil {
		_ = w.inner.Close()
		return err
	}
	return w.inner.Close()
}
