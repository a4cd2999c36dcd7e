package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coffer-io/coffer/erasure"
	"github.com/coffer-io/coffer/gateway/gatewaytest"
	"github.com/coffer-io/coffer/node"
	"github.com/coffer-io/coffer/node/nodetest"
	cos "github.com/tencentyun/cos-go-sdk-v5"
)

// uploadPart uploads one part and returns its ETag.
func uploadPart(t *testing.T, cl *cos.Client, key, uploadID string, n int, data []byte) string {
	t.Helper()
	resp, err := cl.Object.UploadPart(context.Background(), key, uploadID, n, bytes.NewReader(data), nil)
	if err != nil {
		t.Fatalf("upload part %d of %s: %v", n, key, err)
	}
	return resp.Header.Get("ETag")
}

// orphanShard puts a well-formed shard that no metadata references into s.
func orphanShard(t *testing.T, s *node.Store, seed uint64) node.ShardID {
	t.Helper()
	id := nodetest.ID(seed, 0, 1)
	nodetest.Put(t, s, id, nodetest.Shard(t, id, erasure.Geometry{DataShards: 4, ParityShards: 2, BlockSize: 64 << 10}, 200<<10, seed))
	return id
}

// TestSweepKeepsCommittedShards writes a simple object, a multipart object, an upload
// in progress and a deleted object (its shards still queued as garbage) through a
// gateway, plus an orphan shard straight into one store; then every storage node
// sweeps with a tiny grace, asking the metadata cluster through shardsOwners. The
// orphan and the deleted object's shards go, everything else stays: the objects read
// back whole and the upload completes.
func TestSweepKeepsCommittedShards(t *testing.T) {
	c := gatewaytest.Start(t)
	ctx := t.Context()
	const bucket = "sweep-1250000000"
	cl := cosClient(t, c.URL, bucket, credentials{gatewaytest.AccessKey, gatewaytest.SecretKey}, nil)
	if _, err := cl.Bucket.Put(ctx, nil); err != nil {
		t.Fatalf("create bucket: %v", err)
	}
	simple := markerObject("simple", 300<<10)
	part1, part2 := markerObject("part-1", 5<<20), markerObject("part-2", 100<<10)
	pending1, pending2 := markerObject("pending-1", 5<<20), markerObject("pending-2", 70<<10)
	for key, data := range map[string][]byte{"simple": simple, "gone": markerObject("gone", 200<<10)} {
		if _, err := cl.Object.Put(ctx, key, bytes.NewReader(data), nil); err != nil {
			t.Fatalf("PUT %s: %v", key, err)
		}
	}
	if _, err := cl.Object.Delete(ctx, "gone"); err != nil {
		t.Fatalf("DELETE gone: %v", err)
	}
	init, _, err := cl.Object.InitiateMultipartUpload(ctx, "multi", nil)
	if err != nil {
		t.Fatal(err)
	}
	e1 := uploadPart(t, cl, "multi", init.UploadID, 1, part1)
	e2 := uploadPart(t, cl, "multi", init.UploadID, 2, part2)
	if _, _, err := cl.Object.CompleteMultipartUpload(ctx, "multi", init.UploadID, &cos.CompleteMultipartUploadOptions{
		Parts: []cos.Object{{PartNumber: 1, ETag: e1}, {PartNumber: 2, ETag: e2}},
	}); err != nil {
		t.Fatalf("complete multi: %v", err)
	}
	open, _, err := cl.Object.InitiateMultipartUpload(ctx, "open", nil)
	if err != nil {
		t.Fatal(err)
	}
	p1 := uploadPart(t, cl, "open", open.UploadID, 1, pending1)

	owners := &shardsOwners{c: c.MetaCluster().Client()}
	for i, dir := range c.StorageDirs() {
		c.StopStorage(i)
		s, err := node.Open(node.Config{Dir: dir, FreeBytesMin: -1, SweepGrace: time.Nanosecond})
		if err != nil {
			t.Fatal(err)
		}
		var orphan node.ShardID
		if i == 0 {
			orphan = orphanShard(t, s, 7)
		}
		time.Sleep(time.Millisecond) // past the grace by the store's clock
		st, err := s.Sweep(ctx, owners)
		if err != nil {
			t.Fatalf("node %d: sweep: %v", i, err)
		}
		// Every node holds one shard of each object (4+2 over 6 nodes): the
		// deleted object's shard set goes, and on node 0 the orphan's.
		wantOrphans := 1
		if i == 0 {
			wantOrphans = 2
			if _, err := s.Stat(orphan); !errors.Is(err, node.ErrNotFound) {
				t.Errorf("orphan shard after the sweep: %v, want ErrNotFound", err)
			}
		}
		// simple, gone, 2 parts of multi, 1 part of open (+ the orphan on node 0)
		if st.Orphans != wantOrphans || st.Versions != 4+wantOrphans || st.Errors != 0 {
			t.Errorf("node %d: sweep = %+v, want %d orphans of %d versions", i, st, wantOrphans, 4+wantOrphans)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		c.StartStorage(i)
	}

	// Every node was swept: the committed objects and the pending part must still be
	// whole.
	if got := getObject(t, cl, "simple"); !bytes.Equal(got, simple) {
		t.Error("simple object changed after the sweep")
	}
	if got := getObject(t, cl, "multi"); !bytes.Equal(got, append(append([]byte(nil), part1...), part2...)) {
		t.Error("multipart object changed after the sweep")
	}
	p2 := uploadPart(t, cl, "open", open.UploadID, 2, pending2)
	if _, _, err := cl.Object.CompleteMultipartUpload(ctx, "open", open.UploadID, &cos.CompleteMultipartUploadOptions{
		Parts: []cos.Object{{PartNumber: 1, ETag: p1}, {PartNumber: 2, ETag: p2}},
	}); err != nil {
		t.Fatalf("complete the upload that was in progress: %v", err)
	}
	if got := getObject(t, cl, "open"); !bytes.Equal(got, append(append([]byte(nil), pending1...), pending2...)) {
		t.Error("upload in progress during the sweep lost bytes")
	}
	// The garbage collector finds the deleted object's shards already gone and
	// still empties its queue.
	if _, err := c.Gateway.CollectGarbage(ctx); err != nil {
		t.Fatalf("collect garbage after the sweep: %v", err)
	}
	if g, err := c.Meta.GarbageList(ctx, 0, 100); err != nil || len(g) != 0 {
		t.Errorf("garbage queue after collection: %d items, %v", len(g), err)
	}
}

// TestSweeperWiring runs startSweeper on a store with a short interval: it removes
// an orphan on its own, logs counts only, and the stack stops and joins it.
func TestSweeperWiring(t *testing.T) {
	c := gatewaytest.Start(t)
	c.StopStorage(0)
	s, err := node.Open(node.Config{Dir: c.StorageDirs()[0], FreeBytesMin: -1, SweepGrace: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	orphan := orphanShard(t, s, 9)
	var logBuf syncBuffer
	log := slog.New(slog.NewTextHandler(&logBuf, nil))
	st := &stack{log: log}
	startSweeper(st, &storagePart{id: "storage-0", store: s}, c.MetaCluster().Client(), 10*time.Millisecond, log)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := s.Stat(orphan); errors.Is(err, node.ErrNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the sweeper did not remove the orphan")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := st.stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	out := logBuf.String()
	if !strings.Contains(out, "sweep removed orphans") || !strings.Contains(out, "orphans=1") {
		t.Errorf("sweeper log lacks the counts:\n%s", out)
	}
	// After Stop no run is in progress or starts: the log stays as it is.
	time.Sleep(50 * time.Millisecond)
	if logBuf.String() != out {
		t.Error("the sweeper logged after Stop")
	}
}

// TestShardsOwnersFailFast checks that once metadata fails sweepFailuresMax times in
// a row, the rest of the run skips its questions, and a new run asks again.
func TestShardsOwnersFailFast(t *testing.T) {
	c := gatewaytest.Start(t)
	cl := c.MetaCluster().Client()
	if err := cl.Close(); err != nil {
		t.Fatal(err)
	}
	o := &shardsOwners{c: cl}
	for i := range sweepFailuresMax + 2 {
		known, err := o.Known(t.Context(), [16]byte{byte(i)})
		if known || err == nil {
			t.Fatalf("question %d on a closed client: %v, %v", i, known, err)
		}
		if skipped := errors.Is(err, errMetaDown); skipped != (i >= sweepFailuresMax) {
			t.Errorf("question %d: %v, skipped %v", i, err, skipped)
		}
	}
	o.failures.Store(0) // what a run's report does
	if _, err := o.Known(t.Context(), [16]byte{}); errors.Is(err, errMetaDown) {
		t.Error("a new run still skips its questions")
	}
}

// syncBuffer is a bytes.Buffer safe for a logger on another goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
