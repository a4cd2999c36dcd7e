package node

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// shardFS is the narrow filesystem seam for shard files. Names are slash-separated
// and relative to the shard root; implementations must not let a name escape it.
// Two implementations exist: rootFS (os.Root, the real disk) and memFS (any
// pebble vfs.FS: in-memory and fault-injecting filesystems in tests).
type shardFS interface {
	// Create creates name for writing, truncating an existing file.
	Create(name string) (shardFile, error)
	// Open opens name for reading.
	Open(name string) (shardFile, error)
	Rename(oldname, newname string) error
	// Remove removes a file; a missing file is an error wrapping fs.ErrNotExist.
	Remove(name string) error
	MkdirAll(dir string) error
	// SyncDir makes the directory's entries durable.
	SyncDir(dir string) error
	// List returns the names in dir.
	List(dir string) ([]string, error)
}

// shardFile is an open shard file. Write and Sync are called by one goroutine.
type shardFile interface {
	io.Reader
	io.ReaderAt
	io.Writer
	io.Closer
	Sync() error
}

// rootFS keeps every shard file inside an os.Root, so no name can escape it.
type rootFS struct{ root *os.Root }

func (r rootFS) Create(name string) (shardFile, error) {
	return r.root.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
}
func (r rootFS) Open(name string) (shardFile, error) { return r.root.Open(name) }
func (r rootFS) Rename(o, n string) error            { return r.root.Rename(o, n) }
func (r rootFS) Remove(name string) error            { return r.root.Remove(name) }
func (r rootFS) MkdirAll(dir string) error           { return r.root.MkdirAll(dir, 0o700) }
func (r rootFS) SyncDir(dir string) error {
	d, err := r.root.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
func (r rootFS) List(dir string) ([]string, error) {
	d, err := r.root.Open(dir)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.Readdirnames(-1)
}

// memFS adapts a pebble vfs.FS rooted at dir.
type memFS struct {
	fs  vfs.FS
	dir string
}

func (m memFS) full(name string) string { return m.fs.PathJoin(m.dir, path.Clean("/" + name)[1:]) }

func (m memFS) Create(name string) (shardFile, error) {
	return m.fs.Create(m.full(name), vfs.WriteCategoryUnspecified)
}
func (m memFS) Open(name string) (shardFile, error) { return m.fs.Open(m.full(name)) }
func (m memFS) Rename(o, n string) error            { return m.fs.Rename(m.full(o), m.full(n)) }
func (m memFS) Remove(name string) error {
	err := m.fs.Remove(m.full(name))
	if err != nil && errors.Is(err, os.ErrNotExist) {
		return &fs.PathError{Op: "remove", Path: name, Err: fs.ErrNotExist}
	}
	return err
}
func (m memFS) MkdirAll(dir string) error { return m.fs.MkdirAll(m.full(dir), 0o700) }
func (m memFS) SyncDir(dir string) error {
	d, err := m.fs.OpenDir(m.full(dir))
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
func (m memFS) List(dir string) ([]string, error) { return m.fs.List(m.full(dir)) }
