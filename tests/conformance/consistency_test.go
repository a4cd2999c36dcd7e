package conformance

import (
	"bytes"
	"fmt"
	"io"
	"sync"
	"testing"
)

// TestReadDuringOverwrite: a GET that started before an overwrite returns the old
// object whole (S3 read-after-write semantics), even when the garbage collector
// runs in between; it never returns a mix of versions.
func TestReadDuringOverwrite(t *testing.T) {
	e := start(t)
	const bucket = "consistency-1250000000"
	cl := e.mkBucket(t, bucket, nil)
	old, next := randomBytes(3<<20), randomBytes(1<<10)
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

// TestConcurrentOverwrites: while writers overwrite one key, every GET returns one
// whole version (its body matches its own ETag and CRC-64 headers and is one of
// the bodies written), and afterwards the key holds one of them, with exactly one
// listing entry.
func TestConcurrentOverwrites(t *testing.T) {
	e := start(t)
	const bucket = "overwrite-1250000000"
	cl := e.mkBucket(t, bucket, nil)
	const writers, writes = 3, 3
	bodies := map[string]bool{}
	var all [][]byte
	for range writers * writes {
		b := randomBytes(100 << 10)
		all = append(all, b)
		bodies[md5hex(b)] = true
	}
	e.put(t, cl, "hot", all[0])

	var wg sync.WaitGroup
	stop := make(chan struct{})
	errs := make(chan error, 64)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range writes {
				if _, err := cl.Object.Put(e.ctx, "hot", bytes.NewReader(all[w*writes+i]), nil); err != nil {
					errs <- fmt.Errorf("writer %d: %w", w, err)
					return
				}
			}
		}()
	}
	var rg sync.WaitGroup
	reads := 0
	rg.Add(1)
	go func() {
		defer rg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			resp, err := cl.Object.Get(e.ctx, "hot", nil)
			if err != nil {
				errs <- fmt.Errorf("reader: %w", err)
				return
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				errs <- fmt.Errorf("reader: body: %w", err)
				return
			}
			if !bodies[md5hex(b)] || resp.Header.Get("ETag") != etag(b) || resp.Header.Get("x-cos-hash-crc64ecma") != crc(b) {
				errs <- fmt.Errorf("reader: %d bytes that are not one version (ETag %s)", len(b), resp.Header.Get("ETag"))
				return
			}
			reads++ // read by the test after rg.Wait
		}
	}()
	wg.Wait()
	close(stop)
	rg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if reads == 0 {
		t.Error("no read completed while writing")
	}
	if got := e.get(t, cl, "hot"); !bodies[md5hex(got)] {
		t.Error("the key holds none of the bodies written")
	}
	res, _, err := cl.Bucket.Get(e.ctx, nil)
	if err != nil || len(res.Contents) != 1 {
		t.Errorf("listing after concurrent overwrites: %+v %v", res, err)
	}
}
