package cluster_test

import (
	"testing"

	"github.com/coffer-io/coffer/cluster"
	"github.com/coffer-io/coffer/cluster/clustertest"
	"github.com/coffer-io/coffer/cluster/meta"
)

// TestShardsOwner follows shard sets through their life — written under a simple
// version, a part of an open upload, the parts of a completed multipart object — and
// checks ShardsOwner through a remote client and a follower's in-process client:
// live with the right owner while referenced, not live once replaced, deleted,
// aborted or never committed.
func TestShardsOwner(t *testing.T) {
	c := clustertest.Start(t, 3)
	clients := map[string]*cluster.Client{"remote": c.Client(), "follower": c.Node(c.Follower()).Client()}
	w := c.Client()
	ctx := t.Context()
	const b = "shards"
	if err := w.CreateBucket(ctx, bucket(b)); err != nil {
		t.Fatal(err)
	}
	v1 := version(b, "simple", 1)
	if _, err := w.CommitObject(ctx, meta.CommitObject{Version: v1}); err != nil {
		t.Fatal(err)
	}
	up := vid(50)
	if err := w.InitiateUpload(ctx, meta.Upload{UploadID: up, Bucket: b, Key: "multi", SSE: v1.SSE}); err != nil {
		t.Fatal(err)
	}
	part := func(n int, sid meta.ID) meta.PutPart {
		return meta.PutPart{Bucket: b, Key: "multi", UploadID: up, Part: meta.Part{
			Number: n, ShardsID: sid, Size: 10, ETag: "p", Layout: v1.Layout, Stream: v1.Stream,
		}}
	}
	for n, sid := range map[int]meta.ID{1: vid(51), 2: vid(52)} {
		if err := w.PutPart(ctx, part(n, sid)); err != nil {
			t.Fatal(err)
		}
	}
	open := vid(60)
	if err := w.InitiateUpload(ctx, meta.Upload{UploadID: open, Bucket: b, Key: "open", SSE: v1.SSE}); err != nil {
		t.Fatal(err)
	}
	p := part(3, vid(61))
	p.Key, p.UploadID = "open", open
	if err := w.PutPart(ctx, p); err != nil {
		t.Fatal(err)
	}

	type want struct {
		live bool
		ref  meta.ShardsRef
	}
	check := func(stage string, cases map[meta.ID]want) {
		t.Helper()
		for name, cl := range clients {
			for id, wt := range cases {
				ref, live, err := cl.ShardsOwner(ctx, id)
				if err != nil {
					t.Fatalf("%s, %s: ShardsOwner(%v): %v", stage, name, id, err)
				}
				if live != wt.live || (live && ref != wt.ref) {
					t.Errorf("%s, %s: ShardsOwner(%v) = %+v, %v; want %+v, %v", stage, name, id, ref, live, wt.ref, wt.live)
				}
			}
		}
	}
	check("before complete", map[meta.ID]want{
		vid(1):  {true, meta.ShardsRef{Bucket: b, Key: "simple", VersionID: vid(1)}},
		vid(51): {true, meta.ShardsRef{Bucket: b, Key: "multi", VersionID: up, Upload: true, Part: 1}},
		vid(52): {true, meta.ShardsRef{Bucket: b, Key: "multi", VersionID: up, Upload: true, Part: 2}},
		vid(61): {true, meta.ShardsRef{Bucket: b, Key: "open", VersionID: open, Upload: true, Part: 3}},
		vid(99): {false, meta.ShardsRef{}}, // written by a PUT that never committed
	})

	// Complete the upload with part 2 only (part 1 becomes garbage), overwrite the
	// simple object, abort the open upload.
	if _, err := w.CompleteUpload(ctx, meta.CompleteUpload{
		Bucket: b, Key: "multi", UploadID: up, Parts: []meta.CompletePart{{Number: 2, ETag: "p"}},
		VersionID: vid(53), ETag: "m-1", Created: 1,
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.CommitObject(ctx, meta.CommitObject{Version: version(b, "simple", 2)}); err != nil {
		t.Fatal(err)
	}
	if err := w.AbortUpload(ctx, b, "open", open); err != nil {
		t.Fatal(err)
	}
	check("after complete", map[meta.ID]want{
		vid(1):  {false, meta.ShardsRef{}},
		vid(2):  {true, meta.ShardsRef{Bucket: b, Key: "simple", VersionID: vid(2)}},
		vid(51): {false, meta.ShardsRef{}},
		vid(52): {true, meta.ShardsRef{Bucket: b, Key: "multi", VersionID: vid(53), Part: 2}},
		vid(61): {false, meta.ShardsRef{}},
	})

	if _, err := w.DeleteObject(ctx, meta.DeleteObject{Bucket: b, Key: "multi"}); err != nil {
		t.Fatal(err)
	}
	check("after delete", map[meta.ID]want{
		vid(2):  {true, meta.ShardsRef{Bucket: b, Key: "simple", VersionID: vid(2)}},
		vid(52): {false, meta.ShardsRef{}},
	})
}
