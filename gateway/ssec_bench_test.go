package gateway_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"

	cos "github.com/tencentyun/cos-go-sdk-v5"

	"github.com/coffer-io/coffer/gateway/gatewaytest"
)

// BenchmarkObjectMode is PUT and GET through the COS Go SDK per SSE mode, on the
// in-process cluster (4+2, 64 KiB blocks, loopback): the gap between modes is the
// per-object key work (master-key seal, or SSE-C HKDF + HMAC). Allocations count the
// whole in-process cluster.
func BenchmarkObjectMode(b *testing.B) {
	c := gatewaytest.Start(b)
	ctx := context.Background()
	const bucket = "bench-1250000000"
	cl := cosClient(c, bucket)
	if _, err := cl.Bucket.Put(ctx, nil); err != nil {
		b.Fatal(err)
	}
	k := newCustomerKey(32)
	modes := []struct {
		name string
		put  *cos.ObjectPutHeaderOptions
		get  *cos.ObjectGetOptions
	}{
		{"none", nil, nil},
		{"sse-cos", &cos.ObjectPutHeaderOptions{XCosServerSideEncryption: "AES256"}, nil},
		{"sse-c", k.put(), k.get()},
	}
	for _, size := range []int{64 << 10, 1 << 20} {
		data := randomBytes(size)
		for _, m := range modes {
			key := fmt.Sprintf("%s-%d", m.name, size)
			put := func() {
				opt := &cos.ObjectPutOptions{ObjectPutHeaderOptions: m.put}
				if _, err := cl.Object.Put(ctx, key, bytes.NewReader(data), opt); err != nil {
					b.Fatal(err)
				}
			}
			b.Run(fmt.Sprintf("4+2/put/%s/%dKiB", m.name, size>>10), func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(size))
				for b.Loop() {
					put()
				}
			})
			b.Run(fmt.Sprintf("4+2/get/%s/%dKiB", m.name, size>>10), func(b *testing.B) {
				put()
				b.ReportAllocs()
				b.SetBytes(int64(size))
				for b.Loop() {
					resp, err := cl.Object.Get(ctx, key, m.get)
					if err != nil {
						b.Fatal(err)
					}
					n, err := io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if err != nil || n != int64(size) {
						b.Fatalf("get: %d bytes, %v", n, err)
					}
				}
			})
		}
	}
}
