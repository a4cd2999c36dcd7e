package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"testing"
)

// BenchmarkDev measures PUT and GET through the whole dev cluster as a client sees
// it: the official COS Go SDK (signing, CRC-64 check) over loopback HTTP to the
// gateway, which encrypts, erasure-codes 4+2 and writes six shards over mutual TLS to
// six storage nodes (each fsyncing) and commits through the Raft voter. One object
// per iteration, run serially, so ns/op is latency and MB/s is single-stream
// throughput.
func BenchmarkDev(b *testing.B) {
	d := startDev(b, b.TempDir(), noEnv)
	tr := &http.Transport{MaxIdleConnsPerHost: 8}
	defer tr.CloseIdleConnections()
	cl := cosClient(b, d.ready.HTTPURL, "bench-1250000000", d.ready.Credentials, tr)
	ctx := context.Background()
	if _, err := cl.Bucket.Put(ctx, nil); err != nil {
		b.Fatal(err)
	}
	for _, size := range []struct {
		name  string
		bytes int
	}{{"64KiB", 64 << 10}, {"1MiB", 1 << 20}} {
		body := make([]byte, size.bytes)
		if _, err := rand.Read(body); err != nil {
			b.Fatal(err)
		}
		key := "obj-" + size.name
		b.Run("PUT/"+size.name, func(b *testing.B) {
			b.SetBytes(int64(size.bytes))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := cl.Object.Put(ctx, key, bytes.NewReader(body), nil); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("GET/"+size.name, func(b *testing.B) {
			b.SetBytes(int64(size.bytes))
			b.ReportAllocs()
			for b.Loop() {
				resp, err := cl.Object.Get(ctx, key, nil)
				if err != nil {
					b.Fatal(err)
				}
				n, err := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err != nil || n != int64(size.bytes) {
					b.Fatal(fmt.Errorf("GET read %d bytes: %v", n, err))
				}
			}
		})
	}
}
