package node_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/coffer-io/coffer/node"
	"github.com/coffer-io/coffer/node/nodetest"
)

func openDisk(t *testing.T) *node.Store {
	s, err := node.Open(node.Config{Dir: t.TempDir(), FreeBytesMin: -1, CacheBytes: 8 << 20, MemTableBytes: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func openMem(t *testing.T) *node.Store {
	s, err := node.Open(node.Config{FS: vfs.NewMem(), FreeBytesMin: -1, CacheBytes: 8 << 20, MemTableBytes: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestStoreDisk(t *testing.T) { nodetest.TestStore(t, openDisk) }
func TestStoreMem(t *testing.T)  { nodetest.TestStore(t, openMem) }

// TestDiskReopen stores shards on a real directory, leaves a temp file and a file
// without a record behind, and reopens: data survives, leftovers go.
func TestDiskReopen(t *testing.T) {
	dir := t.TempDir()
	open := func() *node.Store {
		s, err := node.Open(node.Config{Dir: dir, FreeBytesMin: -1, CacheBytes: 8 << 20, MemTableBytes: 4 << 20})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := open()
	g := nodetest.Geometry
	small, large := nodetest.ID(1, 0, 0), nodetest.ID(2, 0, 1)
	sb, lb := nodetest.Shard(t, small, g, 100, 1), nodetest.Shard(t, large, g, 3*int64(g.BlockSize), 2)
	nodetest.Put(t, s, small, sb)
	nodetest.Put(t, s, large, lb)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	stray := nodetest.ID(3, 0, 0)
	strayDir := filepath.Join(dir, "shards", fmt.Sprintf("%02x", stray.Version[0]), fmt.Sprintf("%02x", stray.Version[1]))
	strayFile := filepath.Join(strayDir, fmt.Sprintf("%x-%08x-%04x", stray.Version[:], 0, 0))
	tempFile := filepath.Join(dir, "shards", fmt.Sprintf("%02x", large.Version[0]), fmt.Sprintf("%02x", large.Version[1]), fmt.Sprintf("%x-%08x-%04x.tmp", large.Version[:], 0, 1))
	if err := os.MkdirAll(strayDir, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{strayFile, tempFile} {
		if err := os.WriteFile(p, []byte("junk"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s = open()
	defer s.Close()
	if got := nodetest.Get(t, s, small, 0, -1); !bytes.Equal(got, sb) {
		t.Error("inline shard changed across reopen")
	}
	if got := nodetest.Get(t, s, large, 0, -1); !bytes.Equal(got, lb) {
		t.Error("file shard changed across reopen")
	}
	for _, p := range []string{strayFile, tempFile} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s survived Open: %v", p, err)
		}
	}
}
