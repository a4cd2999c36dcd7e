// Package erasuretest provides helpers for tests of packages that store or read
// erasure-coded shards: in-memory shard sets, ReaderAts that count or fail, and
// deterministic damage. Like httptest it is for tests only.
//
// The helpers are safe for concurrent use where they say so; they never retain a
// slice the caller passes unless documented.
package erasuretest

import (
	"bytes"
	"encoding/binary"
	"io"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/coffer-io/coffer/erasure"
)

// Data returns n deterministic pseudo-random bytes for seed.
func Data(n int, seed uint64) []byte {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	b := make([]byte, n)
	_, _ = rand.NewChaCha8(key).Read(b) // never fails
	return b
}

// VersionID returns a deterministic version id for seed.
func VersionID(seed uint64) [16]byte {
	var id [16]byte
	copy(id[:], Data(16, seed))
	return id
}

// Encode encodes data with the Codec for g and returns the k+m stored shard streams.
// It fails the test on any error.
func Encode(tb testing.TB, g erasure.Geometry, versionID [16]byte, data []byte) [][]byte {
	tb.Helper()
	c, err := erasure.New(g)
	if err != nil {
		tb.Fatalf("erasure.New(%v): %v", g, err)
	}
	bufs := make([]bytes.Buffer, g.TotalShards())
	w := make([]io.Writer, len(bufs))
	for i := range bufs {
		w[i] = &bufs[i]
	}
	n, err := c.Encode(bytes.NewReader(data), versionID, w)
	if err != nil || n != int64(len(data)) {
		tb.Fatalf("Encode %v of %d bytes: n=%d, err=%v", g, len(data), n, err)
	}
	out := make([][]byte, len(bufs))
	for i := range bufs {
		out[i] = bufs[i].Bytes()
		if want := erasure.ShardSize(g, int64(len(data))); int64(len(out[i])) != want {
			tb.Fatalf("shard %d is %d bytes, ShardSize says %d", i, len(out[i]), want)
		}
	}
	return out
}

// Sources returns one ReaderAt per shard, nil for a nil shard.
func Sources(shards [][]byte) []io.ReaderAt {
	out := make([]io.ReaderAt, len(shards))
	for i, s := range shards {
		if s != nil {
			out[i] = bytes.NewReader(s)
		}
	}
	return out
}

// Read is one recorded ReadAt call.
type Read struct {
	Off int64
	Len int
}

// CountingReaderAt wraps R and records every ReadAt. It is safe for concurrent use.
type CountingReaderAt struct {
	R io.ReaderAt

	mu    sync.Mutex
	reads []Read // guarded by mu
}

// ReadAt records the call and forwards it to R.
func (c *CountingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	c.mu.Lock()
	c.reads = append(c.reads, Read{Off: off, Len: len(p)})
	c.mu.Unlock()
	return c.R.ReadAt(p, off)
}

// Reads returns a copy of the calls so far, in call order.
func (c *CountingReaderAt) Reads() []Read {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.reads)
}

// FailingReaderAt fails every ReadAt with Err.
type FailingReaderAt struct{ Err error }

// ReadAt returns 0, f.Err.
func (f FailingReaderAt) ReadAt([]byte, int64) (int, error) { return 0, f.Err }

// FlipBit returns a copy of b with bit (counted from the first byte's low bit) inverted.
func FlipBit(b []byte, bit int64) []byte {
	out := slices.Clone(b)
	out[bit/8] ^= 1 << (bit % 8)
	return out
}
