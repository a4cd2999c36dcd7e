package erasure_test

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"testing"

	"github.com/coffer-io/coffer/erasure"
	"github.com/coffer-io/coffer/erasure/erasuretest"
)

// TestRebuild rebuilds every set of at most m shards of small geometries and
// compares the result with what Encode wrote.
func TestRebuild(t *testing.T) {
	for _, g := range []erasure.Geometry{
		{DataShards: 2, ParityShards: 1, BlockSize: 64},
		{DataShards: 2, ParityShards: 2, BlockSize: 64},
		{DataShards: 4, ParityShards: 2, BlockSize: 128},
	} {
		c := codec(t, g)
		for _, size := range []int{0, 1, 3*int(g.StripeSize()) + 17} {
			id := erasuretest.VersionID(uint64(size))
			shards := erasuretest.Encode(t, g, id, erasuretest.Data(size, uint64(size)))
			n := g.TotalShards()
			for mask := 1; mask < 1<<n; mask++ {
				if popcount(mask) > g.ParityShards {
					continue
				}
				dst := make([]io.Writer, n)
				bufs := make([]bytes.Buffer, n)
				src := slices.Clone(shards)
				for i := range n {
					if mask&(1<<i) != 0 {
						dst[i] = &bufs[i]
						src[i] = bytes.Repeat([]byte{0xee}, len(shards[i])) // ignored
					}
				}
				rep, err := c.Rebuild(dst, erasure.Source{VersionID: id, Size: int64(size), Shards: erasuretest.Sources(src)})
				if err != nil || len(rep.Faults) != 0 {
					t.Fatalf("%v size %d rebuild %b: %v %v", g, size, mask, err, rep.Faults)
				}
				for i := range n {
					if dst[i] != nil && !bytes.Equal(bufs[i].Bytes(), shards[i]) {
						t.Fatalf("%v size %d rebuild %b: shard %d differs", g, size, mask, i)
					}
				}
			}
		}
	}
}

func TestRebuildFaults(t *testing.T) {
	g := erasure.Geometry{DataShards: 4, ParityShards: 2, BlockSize: 64}
	c := codec(t, g)
	size := 5 * int(g.StripeSize())
	id := erasuretest.VersionID(1)
	shards := erasuretest.Encode(t, g, id, erasuretest.Data(size, 1))
	src := slices.Clone(shards)
	src[2] = erasuretest.FlipBit(src[2], 8*(erasure.FrameOffset(g, 3)+40))
	var out bytes.Buffer
	dst := make([]io.Writer, 6)
	dst[0] = &out
	rep, err := c.Rebuild(dst, erasure.Source{VersionID: id, Size: int64(size), Shards: erasuretest.Sources(src)})
	if err != nil || !bytes.Equal(out.Bytes(), shards[0]) || !slices.Equal(rep.BadShards(), []int{2}) {
		t.Fatalf("err=%v equal=%v bad=%v", err, bytes.Equal(out.Bytes(), shards[0]), rep.BadShards())
	}
	src[5] = nil
	src[4] = nil
	dst[1] = io.Discard
	_, err = c.Rebuild(dst, erasure.Source{VersionID: id, Size: int64(size), Shards: erasuretest.Sources(src)})
	if !errors.Is(err, erasure.ErrTooFewShards) {
		t.Fatalf("rebuild 2 of 4+2 with 2 more missing: %v", err)
	}
	boom := errors.New("boom")
	dst = make([]io.Writer, 6)
	dst[3] = &failAfter{n: 2, err: boom}
	_, err = c.Rebuild(dst, erasure.Source{VersionID: id, Size: int64(size), Shards: erasuretest.Sources(shards)})
	var se *erasure.ShardError
	if !errors.As(err, &se) || se.Shard != 3 || se.Block != 1 || !errors.Is(err, boom) {
		t.Fatalf("failing writer: %v", err)
	}
	if _, err := c.Rebuild(dst[:5], erasure.Source{Shards: erasuretest.Sources(shards)}); !errors.Is(err, erasure.ErrShardCount) {
		t.Fatalf("5 writers: %v", err)
	}
	if _, err := c.Rebuild(dst, erasure.Source{Size: -1, Shards: erasuretest.Sources(shards)}); !errors.Is(err, erasure.ErrInvalidRange) {
		t.Fatalf("negative size: %v", err)
	}
}

func TestCheckShard(t *testing.T) {
	g := erasure.Geometry{DataShards: 2, ParityShards: 2, BlockSize: 64}
	size := 4*int(g.StripeSize()) + 30
	id := erasuretest.VersionID(1)
	shards := erasuretest.Encode(t, g, id, erasuretest.Data(size, 1))
	check := func(b []byte) (erasure.Header, error) { return erasure.CheckShard(bytes.NewReader(b), int64(len(b))) }
	for i, sh := range shards {
		h, err := check(sh)
		if err != nil || h != (erasure.Header{Geometry: g, ShardIndex: i, VersionID: id}) {
			t.Fatalf("clean shard %d: %+v %v", i, h, err)
		}
	}
	empty := erasuretest.Encode(t, g, id, nil)[1]
	if _, err := check(empty); err != nil {
		t.Fatalf("empty object shard: %v", err)
	}
	swapped := slices.Clone(shards[1])
	f0, f1 := erasure.FrameOffset(g, 0), erasure.FrameOffset(g, 1)
	tmp := slices.Clone(swapped[f0:f1])
	copy(swapped[f0:f1], swapped[f1:erasure.FrameOffset(g, 2)])
	copy(swapped[f1:], tmp)
	tests := []struct {
		name   string
		b      []byte
		blocks []int64 // corrupt blocks expected, nil for a header/layout error
	}{
		{"flipped block", erasuretest.FlipBit(shards[1], 8*(erasure.FrameOffset(g, 2)+50)), []int64{2}},
		{"flipped last block", erasuretest.FlipBit(shards[1], 8*int64(len(shards[1])-1)), []int64{4}},
		{"swapped frames", swapped, []int64{0, 1}},
		{"truncated by one byte", shards[1][:len(shards[1])-1], []int64{4}},
		{"cut inside a digest", shards[1][:erasure.FrameOffset(g, 4)+10], nil},
		{"damaged header", erasuretest.FlipBit(shards[1], 8*20), nil},
		{"short header", shards[1][:30], nil},
	}
	for _, tt := range tests {
		_, err := check(tt.b)
		if !erasure.IsCorrupt(err) {
			t.Errorf("%s: %v, want corruption", tt.name, err)
			continue
		}
		if tt.blocks == nil {
			continue
		}
		var got []int64
		for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
			se := e.(*erasure.ShardError)
			if se.Shard != 1 {
				t.Errorf("%s: fault names shard %d", tt.name, se.Shard)
			}
			got = append(got, se.Block)
		}
		if !slices.Equal(got, tt.blocks) {
			t.Errorf("%s: corrupt blocks %v, want %v", tt.name, got, tt.blocks)
		}
	}
	if _, err := erasure.CheckShard(bytes.NewReader(shards[0][:100]), int64(len(shards[0]))); err == nil || erasure.IsCorrupt(err) {
		t.Errorf("short reader: %v, want a read error", err)
	}
}
