package fsm

import (
	"bytes"
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// TestSnapshotGolden pins the snapshot stream and the stored record formats: the
// snapshot of a fixed command sequence stays byte-identical, and the golden stream
// still restores to the state that sequence produces. Run with -update only for a
// deliberate, versioned format change.
func TestSnapshotGolden(t *testing.T) {
	x := newTester(t)
	populate(x)
	got := snapshotBytes(t, x.f)
	path := filepath.Join("testdata", "snapshot.golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	golden, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(golden, got) {
		t.Errorf("snapshot of the fixed sequence changed: %d bytes, golden %d", len(got), len(golden))
	}
	y := newTester(t)
	if err := y.f.Restore(io.NopCloser(bytes.NewReader(golden))); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(dump(t, x.f), dump(t, y.f)); diff != "" {
		t.Errorf("golden snapshot restores to a different state:\n%s", diff)
	}
	if err := y.f.Check(); err != nil {
		t.Error(err)
	}
}
