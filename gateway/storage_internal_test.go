package gateway

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/coffer-io/coffer/cluster/meta"
	"github.com/coffer-io/coffer/node"
)

// layoutMeta answers Layout with a fixed layout; nothing else is called.
type layoutMeta struct {
	Meta
	layout meta.ClusterLayout
}

func (m layoutMeta) Layout(context.Context) (meta.ClusterLayout, error) { return m.layout, nil }

func TestNodeSetDownMemory(t *testing.T) {
	var l meta.ClusterLayout
	for i := range 7 {
		l.Nodes = append(l.Nodes, meta.StorageNode{ID: fmt.Sprintf("s%d", i), Addrs: []string{"127.0.0.1:1"}, State: meta.NodeActive})
	}
	now := time.Unix(1000, 0)
	n := newNodeSet(layoutMeta{layout: l}, func() time.Time { return now }, node.ClientConfig{})
	ctx := context.Background()
	var vid meta.ID
	n.noteErr("s0", fmt.Errorf("dial: %w", node.ErrUnavailable))
	n.noteErr("s1", node.ErrNotFound) // a missing shard says nothing about the node
	for v := range 50 {
		vid[0] = byte(v)
		ids, err := n.place(ctx, vid, 6)
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(ids, "s0") {
			t.Fatalf("placement used a node that just failed: %v", ids)
		}
	}
	if !n.isDown("s0") || n.isDown("s1") {
		t.Fatal("down memory wrong")
	}
	// With too few healthy nodes, placement falls back to all of them.
	n.markDown("s2")
	if ids, err := n.place(ctx, vid, 6); err != nil || len(ids) != 6 {
		t.Fatalf("fallback placement: %v %v", ids, err)
	}
	now = now.Add(downTTL)
	if n.isDown("s0") || n.isDown("s2") {
		t.Fatal("down memory outlived downTTL")
	}
}
