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

// TestShardReaderAt is a conformance check for a store of shards, such as a storage
// node's shard files or its shard RPC client: store is called once per shard of a few
// encoded objects and returns a ReaderAt over the stored copy. TestShardReaderAt then
// decodes whole objects and ranges through those ReaderAts, also with m shards
// missing, and fails t on any wrong byte, fault or error. It also checks the
// io.ReaderAt contract at the end of a shard (a read past the end returns io.EOF).
func TestShardReaderAt(t testing.TB, store func(t testing.TB, shard []byte) io.ReaderAt) {
	t.Helper()
	g := erasure.Geometry{DataShards: 4, ParityShards: 2, BlockSize: 4096}
	c, err := erasure.New(g)
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{0, 1, 3*int(g.StripeSize()) + 1234} {
		id := VersionID(uint64(size) + 100)
		data := Data(size, uint64(size)+100)
		shards := Encode(t, g, id, data)
		src := make([]io.ReaderAt, len(shards))
		for i, s := range shards {
			src[i] = store(t, slices.Clone(s))
		}
		ranges := [][2]int64{{0, int64(size)}}
		if size > 0 {
			ranges = append(ranges, [2]int64{int64(size) - 1, 1}, [2]int64{int64(size) / 3, int64(size) / 2})
		}
		for _, lost := range []int{0, g.ParityShards} {
			s := slices.Clone(src)
			for i := range lost {
				s[i] = nil
			}
			for _, r := range ranges {
				var out bytes.Buffer
				rep, err := c.Decode(&out, erasure.Source{VersionID: id, Size: int64(size), Shards: s}, r[0], r[1])
				if err != nil || len(rep.Faults) > 0 {
					t.Fatalf("size %d, %d shards lost, range %v: err=%v faults=%v", size, lost, r, err, rep.Faults)
				}
				if !bytes.Equal(out.Bytes(), data[r[0]:r[0]+r[1]]) {
					t.Fatalf("size %d, %d shards lost, range %v: wrong bytes", size, lost, r)
				}
			}
		}
		end := int64(len(shards[0]))
		if n, err := src[0].ReadAt(make([]byte, 8), end-4); n != 4 || err != io.EOF {
			t.Fatalf("size %d: ReadAt across the end = %d, %v; want 4, io.EOF", size, n, err)
		}
	}
}
