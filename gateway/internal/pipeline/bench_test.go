package pipeline

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"hash/crc64"
	"io"
	"testing"

	"github.com/klauspost/reedsolomon"

	"github.com/coffer-io/coffer/erasure"
	"github.com/coffer-io/coffer/sse"
)

var benchSizes = []int{64 << 10, 1 << 20, 8 << 20}

// BenchmarkPut runs the whole PUT pipeline on one goroutine's worth of work with
// shards discarded: hashing, encryption, erasure coding and block hashing.
func BenchmarkPut(b *testing.B) {
	for _, size := range benchSizes {
		g := erasure.DefaultGeometry
		b.Run(fmt.Sprintf("%s/%dKiB", g, size>>10), func(b *testing.B) {
			p := newPipeline(b, g, discardShards{})
			data := make([]byte, size)
			rand.Read(data)
			req := PutRequest{Size: int64(size), Nodes: nodes(g.TotalShards())}
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				req.Body = bytes.NewReader(data)
				if _, err := p.Put(context.Background(), req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkGet reads whole objects back from memory shards: block verification,
// decoding and decryption.
func BenchmarkGet(b *testing.B) {
	for _, size := range benchSizes {
		g := erasure.DefaultGeometry
		b.Run(fmt.Sprintf("%s/%dKiB", g, size>>10), func(b *testing.B) {
			ms := newMemShards()
			p := newPipeline(b, g, ms)
			data := make([]byte, size)
			rand.Read(data)
			req := PutRequest{Body: bytes.NewReader(data), Size: int64(size), Nodes: nodes(g.TotalShards())}
			if _, err := p.Put(context.Background(), req); err != nil {
				b.Fatal(err)
			}
			get := GetRequest{Geometry: g, Nodes: req.Nodes, PlainSize: int64(size), N: int64(size)}
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := p.Get(context.Background(), io.Discard, get); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPrimitives runs the PUT pipeline's primitives back to back on the same
// bytes, with no streaming, pipes or goroutines: MD5 and CRC-64 of the plaintext,
// AES-256-GCM in 64 KiB packages, Reed–Solomon encoding of each stripe and SHA-256
// of every shard block. The pipeline's speed divided by this one is the share of
// the primitives' speed it reaches (DESIGN.md section 9).
func BenchmarkPrimitives(b *testing.B) {
	for _, size := range benchSizes {
		g := erasure.DefaultGeometry
		b.Run(fmt.Sprintf("%s/%dKiB", g, size>>10), func(b *testing.B) {
			data := make([]byte, size)
			rand.Read(data)
			block, _ := aes.NewCipher(make([]byte, 32))
			aead, _ := cipher.NewGCM(block)
			nonce := make([]byte, aead.NonceSize())
			ct := make([]byte, 0, sse.CiphertextSize(int64(size)))
			enc, err := reedsolomon.New(g.DataShards, g.ParityShards)
			if err != nil {
				b.Fatal(err)
			}
			stripe := int(g.StripeSize())
			shards := make([][]byte, g.TotalShards())
			for i := range shards {
				shards[i] = make([]byte, g.BlockSize)
			}
			crcTab := crc64.MakeTable(crc64.ECMA)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				md5.Sum(data)
				crc64.Checksum(data, crcTab)
				ct = ct[:0]
				for off := 0; off < size; off += sse.PackagePlainBytes {
					end := min(off+sse.PackagePlainBytes, size)
					ct = aead.Seal(ct, nonce, data[off:end], nil)
				}
				for off := 0; off < len(ct); off += stripe {
					chunk := ct[off:min(off+stripe, len(ct))]
					// A short last stripe has short blocks, as in the shard format.
					blockLen := (len(chunk) + g.DataShards - 1) / g.DataShards
					blocks := make([][]byte, len(shards))
					for i := range shards {
						blocks[i] = shards[i][:blockLen]
					}
					for i := 0; i < g.DataShards; i++ {
						lo := min(i*blockLen, len(chunk))
						hi := min(lo+blockLen, len(chunk))
						n := copy(blocks[i], chunk[lo:hi])
						clear(blocks[i][n:])
					}
					if err := enc.Encode(blocks); err != nil {
						b.Fatal(err)
					}
					for _, s := range blocks {
						sha256.Sum256(s)
					}
				}
			}
		})
	}
}
