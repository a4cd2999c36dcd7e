package node_test

import (
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
