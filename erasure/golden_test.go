package erasure_test

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/coffer-io/coffer/erasure"
	"github.com/coffer-io/coffer/erasure/erasuretest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// goldenObject is the object behind the golden shards: 2+1 with 64-byte blocks, 150
// bytes (one full stripe and a short one with 11-byte blocks), bytes i%251, version
// id 00 01 .. 0f. FORMAT.md walks through shard 0.
func goldenObject() (erasure.Geometry, [16]byte, []byte) {
	g := erasure.Geometry{DataShards: 2, ParityShards: 1, BlockSize: 64}
	var id [16]byte
	for i := range id {
		id[i] = byte(i)
	}
	data := make([]byte, 150)
	for i := range data {
		data[i] = byte(i % 251)
	}
	return g, id, data
}

// TestGoldenShards pins the stored bytes of every shard of the golden object and
// decodes the object from the files. A difference means the on-disk format changed:
// that needs a new FormatVersion, never a silent -update.
func TestGoldenShards(t *testing.T) {
	g, id, data := goldenObject()
	c := codec(t, g)
	shards := make([]bytes.Buffer, g.TotalShards())
	w := make([]io.Writer, len(shards))
	for i := range shards {
		w[i] = &shards[i]
	}
	if _, err := c.Encode(bytes.NewReader(data), id, w); err != nil {
		t.Fatal(err)
	}
	files := make([][]byte, len(shards))
	for i := range shards {
		path := filepath.Join("testdata", "golden", fmt.Sprintf("2+1-64-150.shard%d", i))
		if *update {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, shards[i].Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(shards[i].Bytes(), want) {
			t.Errorf("shard %d differs from %s:\n got %x\nwant %x", i, path, shards[i].Bytes(), want)
		}
		files[i] = want
	}
	files[0] = nil // decode through parity as well
	got, _, err := decode(t, c, erasuretest.Sources(files), id, int64(len(data)), 0, int64(len(data)))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("decode golden files: %v", err)
	}
}
