package conformance

import (
	"bytes"
	"io"
	"testing"
)

// TestReadDuringOverwrite: a GET that started before an overwrite returns the old
// object whole (S3 read-after-write semantics), even when the garbage collector
// runs in between; it never returns a mix of versions.
func TestReadDuringOverwrite(t *testing.T) {
	e := start(t)
	const bucket = "consistency-1250000000"
	cl := e.mkBucket(t, bucket, nil)
	old, next := randomBytes(6<<20), randomBytes(1<<10)
	e.put(t, cl, "obj", old)

	resp, err := cl.Object.Get(e.ctx, "obj", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	head := make([]byte, 64<<10)
	if _, err := io.ReadFull(resp.Body, head); err != nil {
		t.Fatal(err)
	}
	e.put(t, cl, "obj", next)
	n, err := e.c.Gateway.CollectGarbage(e.ctx)
	if err != nil {
		t.Fatalf("collect garbage: %v", err)
	}
	if n == 0 {
		t.Fatal("the garbage collector removed nothing: the old version's shards are still there, the test proves nothing")
	}
	rest, err := io.ReadAll(resp.Body)
	got := append(head, rest...)
	if err != nil {
		t.Fatalf("GET begun before the overwrite failed after %d of %d bytes: %v", len(got), len(old), err)
	}
	if !bytes.Equal(got, old) {
		t.Fatalf("GET begun before the overwrite returned %d bytes that are not the old object", len(got))
	}
	if now := e.get(t, cl, "obj"); !bytes.Equal(now, next) {
		t.Fatal("GET after the overwrite does not return the new object")
	}
}
