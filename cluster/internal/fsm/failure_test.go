package fsm

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"

	"github.com/coffer-io/coffer/cluster/meta"
)

// TestReadFaultIsSticky injects sstable read errors: reads return errors (no panic),
// and an Apply that cannot read its state refuses its whole batch and turns the FSM
// failed rather than answer differently from the other voters. The discarded batch
// is not persisted, so a restarted node replays it.
func TestReadFaultIsSticky(t *testing.T) {
	var failing atomic.Bool
	inj := errorfs.InjectorFunc(func(op errorfs.Op) error {
		if failing.Load() && strings.HasSuffix(op.Path, ".sst") && op.Kind.ReadOrWrite() == errorfs.OpIsRead {
			return errors.New("injected read failure")
		}
		return nil
	})
	fs := errorfs.Wrap(vfs.NewMem(), inj)
	x := newTesterCfg(t, Config{FS: fs})
	x.ok(bucket("b"))
	x.ok(&meta.CommitObject{Version: version("b", "k", id(1), 1, 1)})
	if err := x.f.h.db.Flush(); err != nil {
		t.Fatal(err)
	}
	applied := x.f.AppliedIndex()
	failing.Store(true)
	if _, err := x.f.GetObject("b", "k"); err == nil {
		t.Fatal("read through a failing disk succeeded")
	}
	logs := x.f.ApplyBatch(nil) // an empty batch is fine
	if len(logs) != 0 {
		t.Fatal(logs)
	}
	r := x.apply(&meta.CommitObject{Version: version("b", "k", id(2), 1, 1)})
	if r.Code != meta.CodeInternal || !errors.Is(x.f.Err(), ErrFailed) {
		t.Fatalf("result %+v, Err %v", r, x.f.Err())
	}
	if x.f.AppliedIndex() != applied {
		t.Errorf("applied index moved to %d", x.f.AppliedIndex())
	}
	failing.Store(false)
	if r := x.apply(bucket("d")); r.Code != meta.CodeInternal {
		t.Errorf("apply after the fault: %+v", r)
	}
	if v, err := x.f.GetObject("b", "k"); err != nil || v.VersionID != id(1) {
		t.Errorf("read after the fault: %v %v", v, err)
	}
	if _, err := x.f.GetBucket("d"); !errors.Is(err, meta.ErrBucketNotFound) {
		t.Errorf("refused command became visible: %v", err)
	}
	// Restarting clears the failure; raft would replay the refused entries.
	x.f.Close()
	f, err := Open(Config{Dir: "/fsm", FS: fs})
	if err != nil {
		t.Fatal(err)
	}
	x.f = f
	if f.Err() != nil || f.AppliedIndex() != applied {
		t.Errorf("after restart: Err %v applied %d", f.Err(), f.AppliedIndex())
	}
}
