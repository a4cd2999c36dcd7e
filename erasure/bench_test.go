package erasure_test

import (
	"bytes"
	stdsha256 "crypto/sha256"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/klauspost/reedsolomon"
	"github.com/minio/sha256-simd"

	"github.com/coffer-io/coffer/erasure"
	"github.com/coffer-io/coffer/erasure/erasuretest"
)

// benchGeometries are the geometries the benchmarks are named by: k+m x block size.
var benchGeometries = []erasure.Geometry{
	{DataShards: 4, ParityShards: 2, BlockSize: 256 << 10},
	{DataShards: 8, ParityShards: 4, BlockSize: 256 << 10},
	{DataShards: 12, ParityShards: 4, BlockSize: 256 << 10},
	{DataShards: 4, ParityShards: 2, BlockSize: 1 << 20},
	{DataShards: 8, ParityShards: 4, BlockSize: 1 << 20},
	{DataShards: 12, ParityShards: 4, BlockSize: 1 << 20},
}

func benchName(g erasure.Geometry) string {
	return fmt.Sprintf("%d+%dx%dKiB", g.DataShards, g.ParityShards, g.BlockSize>>10)
}

// BenchmarkEncodeStripe is the Reed–Solomon parity computation of one stripe in
// aligned buffers; bytes are the stripe's data bytes.
func BenchmarkEncodeStripe(b *testing.B) {
	for _, g := range benchGeometries {
		b.Run(benchName(g), func(b *testing.B) {
			c := codec(b, g)
			shards := reedsolomon.AllocAligned(g.TotalShards(), g.BlockSize)
			for i := range g.DataShards {
				copy(shards[i], erasuretest.Data(g.BlockSize, uint64(i)))
			}
			b.SetBytes(g.StripeSize())
			b.ReportAllocs()
			for b.Loop() {
				if err := c.EncodeStripe(shards); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

const streamSize = 16 << 20

// BenchmarkEncode is the streaming encode of a 16 MiB object to k+m discarding
// writers: read, parity and both digest halves of every block.
func BenchmarkEncode(b *testing.B) {
	for _, g := range benchGeometries[:3] {
		b.Run(benchName(g)+"/16MiB", func(b *testing.B) {
			c := codec(b, g)
			data := erasuretest.Data(streamSize, 1)
			w := make([]io.Writer, g.TotalShards())
			for i := range w {
				w[i] = io.Discard
			}
			id := erasuretest.VersionID(1)
			b.SetBytes(streamSize)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Encode(bytes.NewReader(data), id, w); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEncodeStripes is the same 16 MiB encode through the callback API, which
// hashes the k+m blocks one after another on the caller's goroutine (no pipelining).
func BenchmarkEncodeStripes(b *testing.B) {
	for _, g := range benchGeometries[:3] {
		b.Run(benchName(g)+"/16MiB", func(b *testing.B) {
			c := codec(b, g)
			data := erasuretest.Data(streamSize, 1)
			id := erasuretest.VersionID(1)
			b.SetBytes(streamSize)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.EncodeStripes(bytes.NewReader(data), id, func(*erasure.Stripe) error { return nil }); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecode reads a whole 16 MiB object back from in-memory shards with 0, 1 or
// 2 data shards missing (reconstruction through ReconstructSome).
func BenchmarkDecode(b *testing.B) {
	for _, g := range benchGeometries[:3] {
		data := erasuretest.Data(streamSize, 2)
		id := erasuretest.VersionID(2)
		shards := erasuretest.Encode(b, g, id, data)
		for _, missing := range []int{0, 1, 2} {
			b.Run(fmt.Sprintf("%s/16MiB/missing%d", benchName(g), missing), func(b *testing.B) {
				c := codec(b, g)
				src := erasuretest.Sources(shards)
				for i := range missing {
					src[i] = nil
				}
				b.SetBytes(streamSize)
				b.ReportAllocs()
				for b.Loop() {
					if _, err := c.Decode(io.Discard, erasure.Source{VersionID: id, Size: streamSize, Shards: src}, 0, streamSize); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkRebuild heals one lost data shard of a 16 MiB object: reads k shards,
// verifies, reconstructs and hashes the rebuilt blocks. Bytes are the object's.
func BenchmarkRebuild(b *testing.B) {
	for _, g := range benchGeometries[:3] {
		b.Run(benchName(g)+"/16MiB/1lost", func(b *testing.B) {
			c := codec(b, g)
			id := erasuretest.VersionID(4)
			src := erasuretest.Sources(erasuretest.Encode(b, g, id, erasuretest.Data(streamSize, 4)))
			dst := make([]io.Writer, g.TotalShards())
			dst[0] = io.Discard
			b.SetBytes(streamSize)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Rebuild(dst, erasure.Source{VersionID: id, Size: streamSize, Shards: src}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkReconstructStripe is the bare Reed–Solomon part of a degraded read: one
// stripe's data rebuilt with 1 or 2 data shards missing, buffers reused.
func BenchmarkReconstructStripe(b *testing.B) {
	for _, g := range benchGeometries[:3] {
		for _, missing := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/missing%d", benchName(g), missing), func(b *testing.B) {
				enc, err := reedsolomon.New(g.DataShards, g.ParityShards)
				if err != nil {
					b.Fatal(err)
				}
				shards := reedsolomon.AllocAligned(g.TotalShards(), g.BlockSize)
				for i := range g.DataShards {
					copy(shards[i], erasuretest.Data(g.BlockSize, uint64(i)))
				}
				if err := enc.Encode(shards); err != nil {
					b.Fatal(err)
				}
				b.SetBytes(g.StripeSize())
				b.ReportAllocs()
				for b.Loop() {
					for i := range missing {
						shards[i] = shards[i][:0]
					}
					if err := enc.ReconstructData(shards); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkVerifyFrame checks one frame: the bare content check and the full check
// with the identity half.
func BenchmarkVerifyFrame(b *testing.B) {
	for _, size := range []int{256 << 10, 1 << 20} {
		g := erasure.Geometry{DataShards: 4, ParityShards: 2, BlockSize: size}
		h := erasure.Header{Geometry: g, ShardIndex: 1, VersionID: erasuretest.VersionID(1)}
		frame := h.AppendFrame(nil, 3, erasuretest.Data(size, 3))
		b.Run(fmt.Sprintf("bare/%dKiB", size>>10), func(b *testing.B) {
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := erasure.VerifyFrame(frame); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("identity/%dKiB", size>>10), func(b *testing.B) {
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := h.VerifyFrame(3, frame); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkHashStripe hashes the k+m blocks of one stripe: one after another with
// sha256-simd's Sum256 (SHA-NI) and with crypto/sha256 for reference, and through
// sha256-simd's 16-lane AVX-512 server (NewAvx512Server), which needs AVX-512 and is
// skipped without it.
func BenchmarkHashStripe(b *testing.B) {
	for _, g := range benchGeometries[:3] {
		blocks := make([][]byte, g.TotalShards())
		for i := range blocks {
			blocks[i] = erasuretest.Data(g.BlockSize, uint64(i))
		}
		size := int64(g.TotalShards() * g.BlockSize)
		b.Run(benchName(g)+"/Sum256", func(b *testing.B) {
			b.SetBytes(size)
			b.ReportAllocs()
			sums := make([][32]byte, len(blocks))
			for b.Loop() {
				for i, blk := range blocks {
					sums[i] = sha256.Sum256(blk)
				}
			}
		})
		b.Run(benchName(g)+"/stdlib", func(b *testing.B) {
			b.SetBytes(size)
			b.ReportAllocs()
			sums := make([][32]byte, len(blocks))
			for b.Loop() {
				for i, blk := range blocks {
					sums[i] = stdsha256.Sum256(blk)
				}
			}
		})
		b.Run(benchName(g)+"/Avx512Server", func(b *testing.B) {
			if !hasAVX512() {
				b.Skip("no AVX-512 (avx512f/dq/bw/vl) on this CPU")
			}
			srv := sha256.NewAvx512Server() // its goroutine never stops: benchmark only
			hashers := make([]interface {
				io.Writer
				Sum([]byte) []byte
				Reset()
			}, len(blocks))
			for i := range hashers {
				hashers[i] = sha256.NewAvx512(srv)
			}
			b.SetBytes(size)
			b.ReportAllocs()
			var wg sync.WaitGroup
			for b.Loop() {
				for i := range blocks {
					wg.Go(func() {
						hashers[i].Reset()
						hashers[i].Write(blocks[i])
						hashers[i].Sum(nil)
					})
				}
				wg.Wait()
			}
		})
	}
}

// hasAVX512 reads the CPU flags the AVX-512 server needs from /proc/cpuinfo (Linux);
// the package may import nothing but the stdlib, reedsolomon and sha256-simd.
func hasAVX512() bool {
	info, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(info), "\n") {
		if name, flags, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(name) == "flags" {
			have := strings.Fields(flags)
			for _, need := range []string{"avx512f", "avx512dq", "avx512bw", "avx512vl"} {
				found := false
				for _, f := range have {
					found = found || f == need
				}
				if !found {
					return false
				}
			}
			return true
		}
	}
	return false
}
