package wire

import (
	"bytes"
	"crypto/md5"
	"fmt"
	"net/http"
	"testing"
	"time"
)

func BenchmarkParseRange(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, _, ok, err := ParseRange("bytes=1048576-2097151", 64<<20); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

func BenchmarkDecodeComplete(b *testing.B) {
	for _, n := range []int{10, 1000, PartNumberMax} {
		body := completeBody(n, false)
		b.Run(fmt.Sprintf("parts=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := DecodeCompleteMultipartUpload(bytes.NewReader(body)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkParseSSE(b *testing.B) {
	for name, h := range map[string]http.Header{
		"mode=none":    hdr("Content-Type", "application/octet-stream", "x-cos-meta-a", "b"),
		"mode=sse-kms": hdr("x-cos-server-side-encryption", "cos/kms", "x-cos-server-side-encryption-context", testCtx),
		"mode=sse-c":   hdr(ssec("x-cos-server-side-encryption-customer-")...),
	} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ParseSSE(h, SSEOpPut); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkMultipartETag(b *testing.B) {
	etags := make([]string, 1000)
	for i := range etags {
		etags[i] = ETagFromMD5(md5.Sum([]byte{byte(i), byte(i >> 8)}))
	}
	b.Run("parts=1000", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := MultipartETag(etags); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkMarshalListBucket(b *testing.B) {
	r := ListBucketResult{Name: "examplebucket-1250000000", MaxKeys: ListMaxKeysMax}
	for i := range ListMaxKeysMax {
		r.Contents = append(r.Contents, ObjectEntry{Key: fmt.Sprintf("dir/object-%06d.bin", i),
			LastModified: Time(time.Unix(1700000000, 0)), ETag: `"b62e10bcab55a88240bd9c436cffdcf9"`, Size: 1 << 20, StorageClass: "STANDARD"})
	}
	b.Run("keys=1000", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := MarshalXML(r); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkEvaluateConditions(b *testing.B) {
	lm := time.Unix(1700000000, 0)
	c := ParseConditions(hdr("If-None-Match", `"x", "y"`, "If-Modified-Since", FormatHTTPTime(lm)))
	b.ReportAllocs()
	for b.Loop() {
		_ = c.Evaluate(`"b62e10bcab55a88240bd9c436cffdcf9"`, lm)
	}
}
