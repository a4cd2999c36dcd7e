package sse_test

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/coffer-io/coffer/sse"
)

// The SSE-COS write and read paths of one object version.
func Example() {
	root, _ := sse.GenerateDEK(rand.Reader) // in production: the root key file
	material, _ := sse.GenerateDEK(rand.Reader)
	ring, _ := sse.NewRing(rand.Reader, root, material, fixedNow)

	// PUT: a fresh DEK, sealed under the active master key for this object version.
	active := ring.Active()
	kek, _ := ring.Unseal(root, active.Version)
	dek, _ := sse.GenerateDEK(rand.Reader)
	bind := sse.Binding{Bucket: "photos", Key: "cat.jpg", VersionID: "v1", Mode: sse.ModeCOS, KeyVersion: active.Version}
	sealed, _ := sse.SealDEK(rand.Reader, kek, dek, bind)
	prefix, _ := sse.NewNoncePrefix(rand.Reader)
	body := strings.Repeat("meow", 50000) // 200,000 bytes
	var stored bytes.Buffer
	_, _ = io.Copy(&stored, sse.NewEncrypter(strings.NewReader(body), dek, prefix))
	fmt.Println("stored", stored.Len(), "bytes =", sse.CiphertextSize(int64(len(body))))

	// GET of a range: unseal the DEK, decrypt only the covering packages.
	kek, _ = ring.Unseal(root, bind.KeyVersion)
	dek, err := sse.UnsealDEK(kek, sealed, bind)
	if err != nil {
		panic(err)
	}
	r, _ := sse.MapRange(int64(len(body)), 131070, 8)
	fmt.Printf("read packages %d..%d at [%d, +%d), trim %d\n", r.First, r.First+r.Count-1, r.Offset, r.Length, r.Trim)
	var out bytes.Buffer
	if _, err := sse.DecryptRange(&out, bytes.NewReader(stored.Bytes()), dek, int64(len(body)), 131070, 8); err != nil {
		panic(err) // and discard out
	}
	fmt.Println(out.String())
	// Output:
	// stored 200076 bytes = 200076
	// read packages 1..2 at [65564, +131104), trim 65534
	// owmeowme
}

var fixedNow = mustTime("2026-11-23T13:00:00Z")

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}
