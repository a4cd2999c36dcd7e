package clustertest_test

import (
	"testing"

	"github.com/coffer-io/coffer/cluster/clustertest"
	"github.com/coffer-io/coffer/cluster/meta"
)

func TestStartStopRestart(t *testing.T) {
	c := clustertest.Start(t, 1)
	cl := c.Client()
	ctx := t.Context()
	b := meta.Bucket{Name: "kept", Owner: "1250000000", ACL: meta.ACL{Canned: "private"}, Created: 1}
	if err := cl.CreateBucket(ctx, b); err != nil {
		t.Fatal(err)
	}
	c.Stop(0)
	if c.Node(0) != nil {
		t.Fatal("stopped voter still listed")
	}
	c.Restart(0)
	c.WaitLeader()
	got, err := cl.GetBucket(ctx, "kept")
	if err != nil || got.Name != "kept" {
		t.Fatalf("after restart GetBucket = %+v, %v", got, err)
	}
	if len(c.Addrs()) != 1 || c.Size() != 1 || c.Config(0).ID == "" {
		t.Errorf("cluster description: addrs %v size %d id %q", c.Addrs(), c.Size(), c.Config(0).ID)
	}
}
