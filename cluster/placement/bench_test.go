package placement

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"testing"
)

// BenchmarkPlace measures one placement with a caller-supplied dst.
func BenchmarkPlace(b *testing.B) {
	for _, tc := range []struct{ nodes, zones, shards int }{
		{6, 0, 6}, {6, 3, 6}, {60, 0, 6}, {60, 3, 6}, {60, 6, 12},
	} {
		b.Run(fmt.Sprintf("nodes=%d/zones=%d/shards=%d", tc.nodes, tc.zones, tc.shards), func(b *testing.B) {
			nodes := makeNodes(tc.nodes, tc.zones)
			dst := make([]string, 0, tc.shards)
			var v [16]byte
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				binary.LittleEndian.PutUint64(v[:], uint64(i))
				var err error
				if dst, err = Place(dst[:0], v, tc.shards, nodes); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkScore compares the rendezvous hash used (FNV-1a 64 + fmix64) with the
// alternative the design allowed (SHA-256 truncated to 64 bits), per node.
func BenchmarkScore(b *testing.B) {
	var v [16]byte
	id := "storage-node-0042"
	b.Run("hash=fnv1a-fmix64", func(b *testing.B) {
		b.ReportAllocs()
		var sink uint64
		for i := 0; b.Loop(); i++ {
			v[0] = byte(i)
			sink += hashID(seedFor(v), id)
		}
		_ = sink
	})
	b.Run("hash=sha256-trunc64", func(b *testing.B) {
		b.ReportAllocs()
		var sink uint64
		buf := make([]byte, 0, 64)
		for i := 0; b.Loop(); i++ {
			v[0] = byte(i)
			buf = append(append(buf[:0], v[:]...), id...)
			sum := sha256.Sum256(buf)
			sink += binary.LittleEndian.Uint64(sum[:8])
		}
		_ = sink
	})
}
