package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/coffer-io/coffer/cluster"
	"github.com/coffer-io/coffer/cluster/meta"
	"github.com/google/go-cmp/cmp"
)

func sn(id, zone, addr string) meta.StorageNode {
	return meta.StorageNode{ID: id, Zone: zone, Addrs: []string{addr}, State: meta.NodeActive}
}

func TestMergeLayout(t *testing.T) {
	base := meta.ClusterLayout{Nodes: []meta.StorageNode{sn("b", "z1", "h:2"), sn("d", "z2", "h:4")}, DefaultK: 4, DefaultM: 2, Epoch: 7}
	dead := sn("d", "z2", "h:4")
	dead.State = meta.NodeDead
	tests := []struct {
		name    string
		add     []meta.StorageNode
		want    []meta.StorageNode
		changed bool
	}{
		{"nothing", nil, base.Nodes, false},
		{"same again", []meta.StorageNode{sn("b", "z1", "h:2")}, base.Nodes, false},
		{"new sorted in", []meta.StorageNode{sn("c", "z3", "h:3"), sn("a", "z1", "h:1")},
			[]meta.StorageNode{sn("a", "z1", "h:1"), sn("b", "z1", "h:2"), sn("c", "z3", "h:3"), sn("d", "z2", "h:4")}, true},
		{"moved address", []meta.StorageNode{sn("d", "z2", "h:40")}, []meta.StorageNode{sn("b", "z1", "h:2"), sn("d", "z2", "h:40")}, true},
		{"new zone", []meta.StorageNode{sn("b", "z9", "h:2")}, []meta.StorageNode{sn("b", "z9", "h:2"), sn("d", "z2", "h:4")}, true},
		{"revived", []meta.StorageNode{sn("d", "z2", "h:4")}, []meta.StorageNode{sn("b", "z1", "h:2"), sn("d", "z2", "h:4")}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, changed := mergeLayout(base, tt.add)
			if changed != tt.changed {
				t.Errorf("changed = %v", changed)
			}
			if d := cmp.Diff(tt.want, got.Nodes); d != "" {
				t.Errorf("nodes (-want +got):\n%s", d)
			}
			if got.Epoch != base.Epoch || got.DefaultK != 4 || got.DefaultM != 2 {
				t.Errorf("epoch or defaults changed: %+v", got)
			}
		})
	}
	// A dead node that registers again becomes active.
	withDead := meta.ClusterLayout{Nodes: []meta.StorageNode{dead}}
	if got, changed := mergeLayout(withDead, []meta.StorageNode{sn("d", "z2", "h:4")}); !changed || got.Nodes[0].State != meta.NodeActive {
		t.Errorf("dead node not revived: %+v", got)
	}
	// The input layout is not modified.
	if base.Nodes[1].Addrs[0] != "h:4" || len(base.Nodes) != 2 {
		t.Errorf("mergeLayout modified its input: %+v", base)
	}
}

// fakeLayout is a layout store whose SetLayout fails as scripted, then applies.
type fakeLayout struct {
	l        meta.ClusterLayout
	failures []error // returned by the next SetLayout calls, in order
	sets     int
}

func (f *fakeLayout) Layout(context.Context, cluster.ReadOptions) (meta.ClusterLayout, error) {
	return f.l, nil
}

func (f *fakeLayout) SetLayout(_ context.Context, l meta.ClusterLayout, expect uint64) (uint64, error) {
	f.sets++
	if len(f.failures) > 0 {
		err := f.failures[0]
		f.failures = f.failures[1:]
		if errors.Is(err, meta.ErrConflict) {
			// Someone else registered meanwhile.
			f.l, _ = mergeLayout(f.l, []meta.StorageNode{sn("other", "z", "o:1")})
			f.l.Epoch++
		}
		return 0, err
	}
	if expect != f.l.Epoch {
		return 0, meta.ErrConflict
	}
	l.Epoch = f.l.Epoch + 1
	f.l = l
	return l.Epoch, nil
}

func TestRegisterStorage(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx := context.Background()
	f := &fakeLayout{failures: []error{meta.ErrConflict, cluster.ErrUnavailable}}
	if err := registerStorage(ctx, f, []meta.StorageNode{sn("me", "z1", "m:1")}, log); err != nil {
		t.Fatal(err)
	}
	want := []meta.StorageNode{sn("me", "z1", "m:1"), sn("other", "z", "o:1")}
	if d := cmp.Diff(want, f.l.Nodes); d != "" {
		t.Fatalf("layout (-want +got):\n%s", d)
	}
	if f.sets != 3 {
		t.Errorf("%d SetLayout calls, want 3 (conflict, unavailable, success)", f.sets)
	}
	// Registered already: no write at all.
	sets := f.sets
	if err := registerStorage(ctx, f, []meta.StorageNode{sn("me", "z1", "m:1")}, log); err != nil || f.sets != sets {
		t.Errorf("re-registering the same node wrote the layout (%v)", err)
	}
	// An invalid layout is not retried.
	f2 := &fakeLayout{failures: []error{meta.ErrInvalidArgument}}
	if err := registerStorage(ctx, f2, []meta.StorageNode{sn("me", "z1", "m:1")}, log); !errors.Is(err, meta.ErrInvalidArgument) || f2.sets != 1 {
		t.Errorf("invalid layout: %v after %d calls", err, f2.sets)
	}
	// An unreachable cluster is retried until the context ends.
	f3 := &fakeLayout{failures: []error{cluster.ErrUnavailable, cluster.ErrUnavailable, cluster.ErrUnavailable, cluster.ErrUnavailable, cluster.ErrUnavailable}}
	cctx, cancel := context.WithTimeout(ctx, 250*time.Millisecond)
	defer cancel()
	if err := registerStorage(cctx, f3, []meta.StorageNode{sn("me", "z1", "m:1")}, log); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("unreachable cluster: %v", err)
	}
}

func TestDisplayURL(t *testing.T) {
	for _, tt := range []struct{ scheme, addr, want string }{
		{"http", "127.0.0.1:8080", "http://127.0.0.1:8080"},
		{"http", "0.0.0.0:8080", "http://127.0.0.1:8080"},
		{"https", "[::]:8443", "https://127.0.0.1:8443"},
		{"https", ":8443", "https://127.0.0.1:8443"},
		{"http", "[::1]:1", "http://[::1]:1"},
		{"http", "host.example:80", "http://host.example:80"},
	} {
		if got := displayURL(tt.scheme, tt.addr); got != tt.want {
			t.Errorf("displayURL(%q, %q) = %q, want %q", tt.scheme, tt.addr, got, tt.want)
		}
	}
}
