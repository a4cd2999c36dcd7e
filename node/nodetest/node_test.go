package nodetest_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/coffer-io/coffer/erasure"
	"github.com/coffer-io/coffer/node"
	"github.com/coffer-io/coffer/node/nodetest"
)

func TestNodeLifecycle(t *testing.T) {
	n := nodetest.StartNode(t, nodetest.Options{Config: node.Config{InlineMaxBytes: -1}})
	c := n.Client(node.ClientConfig{})
	ctx := context.Background()
	id := nodetest.ID(1, 0, 2)
	b := nodetest.Shard(t, id, nodetest.Geometry, 3*int64(nodetest.Geometry.BlockSize), 1)
	if err := c.Put(ctx, id, int64(len(b)), bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	}
	n.Stop()
	if _, err := c.Stat(ctx, id); !errors.Is(err, node.ErrUnavailable) {
		t.Errorf("Stat of a stopped node: %v, want ErrUnavailable", err)
	}
	n.Start()
	info, err := c.Stat(ctx, id)
	if err != nil || info.Size != int64(len(b)) || info.Inline {
		t.Fatalf("Stat after Start = %+v, %v", info, err)
	}
	if err := n.Corrupt(id, erasure.FrameOffset(nodetest.Geometry, 0)+40); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(ctx, id, 0, -1); !erasure.IsCorrupt(err) {
		t.Errorf("Get of a corrupted shard: %v, want corruption", err)
	}
	r, err := c.Get(ctx, id, erasure.FrameOffset(nodetest.Geometry, 1), -1)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	r.Close()
	if err != nil || !bytes.Equal(got, b[erasure.FrameOffset(nodetest.Geometry, 1):]) {
		t.Errorf("intact frames: %v", err)
	}
}

func TestSizedShard(t *testing.T) {
	g := nodetest.Geometry
	for _, total := range []int64{0, 64, 96, 97, 200, 64<<10 + 96, 1 << 20} {
		b := nodetest.SizedShard(t, nodetest.ID(1, 0, 0), g, total, 1)
		if int64(len(b)) > max(total, erasure.HeaderSize) || int64(len(b)) < total-erasure.HashSize-1 {
			t.Errorf("SizedShard(%d) = %d bytes", total, len(b))
		}
		h, err := erasure.ParseHeader(b)
		if err != nil {
			t.Fatal(err)
		}
		frames, _, err := erasure.FrameLayout(g, int64(len(b)))
		if err != nil {
			t.Fatalf("SizedShard(%d): %v", total, err)
		}
		for i := int64(0); i < frames; i++ {
			end := min(erasure.FrameOffset(g, i+1), int64(len(b)))
			if _, err := h.VerifyFrame(i, b[erasure.FrameOffset(g, i):end]); err != nil {
				t.Errorf("SizedShard(%d) frame %d: %v", total, i, err)
			}
		}
	}
}
