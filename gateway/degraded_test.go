package gateway_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	cos "github.com/tencentyun/cos-go-sdk-v5"

	"github.com/coffer-io/coffer/cluster/meta"
	"github.com/coffer-io/coffer/gateway/gatewaytest"
	"github.com/coffer-io/coffer/node"
)

func getBytes(t *testing.T, cl *cos.Client, key string) []byte {
	t.Helper()
	resp, err := cl.Object.Get(context.Background(), key, nil)
	if err != nil {
		t.Fatalf("get %q: %v", key, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("get %q: %v", key, err)
	}
	return b
}

// With m = 2 storage nodes down every object still reads back; with one down writes
// still succeed (the shard that could not be placed is recorded as missing), and the
// object reads back once the node returns.
func TestDegradedStorage(t *testing.T) {
	c := gatewaytest.Start(t)
	ctx := context.Background()
	cl := cosClient(c, "degraded-1250000000")
	if _, err := cl.Bucket.Put(ctx, nil); err != nil {
		t.Fatal(err)
	}
	data := map[string][]byte{"small": randomBytes(5000), "large": randomBytes(900 << 10)}
	for k, v := range data {
		if _, err := cl.Object.Put(ctx, k, bytes.NewReader(v), nil); err != nil {
			t.Fatal(err)
		}
	}
	c.StopStorage(1)
	c.StopStorage(4)
	for k, v := range data {
		if got := getBytes(t, cl, k); !bytes.Equal(got, v) {
			t.Fatalf("%s with 2 nodes down: %d bytes", k, len(got))
		}
	}
	// Two nodes down leaves 4 of 6 shards: below the write quorum of k+1.
	if _, err := cl.Object.Put(ctx, "refused", bytes.NewReader([]byte("x")), nil); err == nil {
		t.Fatal("a write with 2 of 6 nodes down succeeded")
	}
	c.StartStorage(4)
	written := randomBytes(300 << 10)
	if _, err := cl.Object.Put(ctx, "written-degraded", bytes.NewReader(written), nil); err != nil {
		t.Fatalf("write with 1 node down: %v", err)
	}
	v, err := c.Meta.GetObject(ctx, "degraded-1250000000", "written-degraded")
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Layout.Missing) != 1 || v.Layout.Nodes[v.Layout.Missing[0]] != "storage-1" {
		t.Fatalf("layout of a degraded write: nodes %v missing %v", v.Layout.Nodes, v.Layout.Missing)
	}
	c.StartStorage(1)
	if got := getBytes(t, cl, "written-degraded"); !bytes.Equal(got, written) {
		t.Fatal("degraded write reads back wrong")
	}
}

// Replaced and deleted versions are collected from the storage nodes.
func TestGarbageCollection(t *testing.T) {
	c := gatewaytest.Start(t)
	ctx := context.Background()
	cl := cosClient(c, "garbage-1250000000")
	if _, err := cl.Bucket.Put(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Object.Put(ctx, "k", bytes.NewReader(randomBytes(200<<10)), nil); err != nil {
		t.Fatal(err)
	}
	old, err := c.Meta.GetObject(ctx, "garbage-1250000000", "k")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Object.Put(ctx, "k", bytes.NewReader(randomBytes(1000)), nil); err != nil {
		t.Fatal(err)
	}
	shardsOf := func(vid meta.ID) int {
		n := 0
		for i := range c.StorageDirs() {
			ids, err := c.Store(i).ListVersion(vid)
			if err != nil {
				t.Fatal(err)
			}
			n += len(ids)
		}
		return n
	}
	if n := shardsOf(old.VersionID); n != 6 {
		t.Fatalf("replaced version has %d shards before collection, want 6", n)
	}
	removed, err := c.Gateway.CollectGarbage(ctx)
	if err != nil || removed == 0 {
		t.Fatalf("collect: %d, %v", removed, err)
	}
	if n := shardsOf(old.VersionID); n != 0 {
		t.Fatalf("replaced version still has %d shards", n)
	}
	items, err := c.Meta.GarbageList(ctx, 0, 10)
	if err != nil || len(items) != 0 {
		t.Fatalf("garbage queue after collection: %v, %v", items, err)
	}
	if _, err := c.Store(0).Stat(node.ShardID{Version: old.VersionID}); !errors.Is(err, node.ErrNotFound) {
		t.Fatalf("stat of a collected shard: %v", err)
	}
}
