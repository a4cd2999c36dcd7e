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

// fault is a (shard, block) pair a decode is expected to report as corrupt.
type fault struct {
	shard int
	block int64
}

func faultsOf(t *testing.T, rep erasure.Report) []fault {
	t.Helper()
	var out []fault
	for _, f := range rep.Faults {
		if !erasure.IsCorrupt(f) {
			t.Errorf("fault %v is not corruption", f)
		}
		out = append(out, fault{f.Shard, f.Block})
	}
	return out
}

// TestCorruption damages stored shards in the ways storage fails and checks that
// Decode names every bad (shard, block), still returns the right bytes while at most m
// shards of a stripe are bad, and fails with a corruption error beyond that.
func TestCorruption(t *testing.T) {
	g := erasure.Geometry{DataShards: 4, ParityShards: 2, BlockSize: 64}
	c := codec(t, g)
	size := 3*int(g.StripeSize()) + 100 // blocks 0..2 full, block 3 is 25 bytes
	data := erasuretest.Data(size, 11)
	id := erasuretest.VersionID(11)
	shards := erasuretest.Encode(t, g, id, data)
	other := erasuretest.Encode(t, g, erasuretest.VersionID(12), erasuretest.Data(size, 12))
	frameLen := int64(erasure.HashSize + g.BlockSize)
	frame := func(s []byte, block int64) []byte {
		return s[erasure.FrameOffset(g, block):min(erasure.FrameOffset(g, block)+frameLen, int64(len(s)))]
	}
	flip := func(shard int, off int64) func([][]byte) {
		return func(s [][]byte) { s[shard] = erasuretest.FlipBit(s[shard], off*8+3) }
	}
	tests := []struct {
		name   string
		damage func(s [][]byte)
		want   []fault // corrupt blocks Decode must report (whole object read)
		fails  bool    // more than m bad shards in a stripe
	}{
		{"digest content half", flip(1, erasure.FrameOffset(g, 2)+3), []fault{{1, 2}}, false},
		{"digest identity half", flip(5, erasure.FrameOffset(g, 0)+20), nil, false}, // parity not needed while data is healthy
		{"data block", flip(0, erasure.FrameOffset(g, 1)+erasure.HashSize+10), []fault{{0, 1}}, false},
		{"short last block", flip(3, erasure.FrameOffset(g, 3)+erasure.HashSize), []fault{{3, 3}}, false},
		{"truncated last frame", func(s [][]byte) { s[2] = s[2][:len(s[2])-1] }, []fault{{2, 3}}, false},
		{"truncated to header", func(s [][]byte) { s[2] = s[2][:erasure.HeaderSize] }, []fault{{2, 0}, {2, 1}, {2, 2}, {2, 3}}, false},
		{"swapped blocks in a shard", func(s [][]byte) {
			s[1] = slices.Clone(s[1])
			a, b := slices.Clone(frame(s[1], 0)), slices.Clone(frame(s[1], 1))
			copy(frame(s[1], 0), b)
			copy(frame(s[1], 1), a)
		}, []fault{{1, 0}, {1, 1}}, false},
		{"swapped blocks between shards", func(s [][]byte) {
			s[0], s[3] = slices.Clone(s[0]), slices.Clone(s[3])
			a := slices.Clone(frame(s[0], 2))
			copy(frame(s[0], 2), frame(s[3], 2))
			copy(frame(s[3], 2), a)
		}, []fault{{0, 2}, {3, 2}}, false},
		{"shard of another object", func(s [][]byte) { s[2] = other[2] }, []fault{{2, 0}, {2, 1}, {2, 2}, {2, 3}}, false},
		{"two data shards bad in one stripe", func(s [][]byte) {
			flip(0, erasure.FrameOffset(g, 1)+40)(s)
			flip(2, erasure.FrameOffset(g, 1)+40)(s)
		}, []fault{{0, 1}, {2, 1}}, false},
		{"three bad shards in one stripe", func(s [][]byte) {
			for _, i := range []int{0, 2, 4} {
				flip(i, erasure.FrameOffset(g, 1)+40)(s)
			}
		}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := slices.Clone(shards)
			tt.damage(src)
			got, rep, err := decode(t, c, erasuretest.Sources(src), id, int64(size), 0, int64(size))
			if tt.fails {
				var se *erasure.ShardError
				if !errors.Is(err, erasure.ErrTooFewShards) || !erasure.IsCorrupt(err) || !errors.As(err, &se) {
					t.Fatalf("err=%v, want ErrTooFewShards joined with corrupt shard errors", err)
				}
				return
			}
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("err=%v equal=%v", err, bytes.Equal(got, data))
			}
			if f := faultsOf(t, rep); !slices.Equal(f, tt.want) {
				t.Errorf("faults %v, want %v", f, tt.want)
			}
			if len(tt.want) > 0 && !slices.Contains(rep.BadShards(), tt.want[0].shard) {
				t.Errorf("BadShards %v lacks %d", rep.BadShards(), tt.want[0].shard)
			}
			// Every damaged shard is caught by a frame-by-frame scrub as well.
			for i := range src {
				if !bytes.Equal(src[i], shards[i]) && scrubClean(t, g, id, i, src[i], int64(size)) {
					t.Errorf("scrub of damaged shard %d found nothing", i)
				}
			}
		})
	}
}

// scrubClean reports whether every frame of a stored shard verifies with
// Header.VerifyFrame and the shard has the length of an object of size bytes.
func scrubClean(t *testing.T, g erasure.Geometry, id [16]byte, i int, shard []byte, size int64) bool {
	t.Helper()
	if int64(len(shard)) != erasure.ShardSize(g, size) {
		return false
	}
	h := erasure.Header{Geometry: g, ShardIndex: i, VersionID: id}
	for b := range erasure.StripeCount(g, size) {
		off := erasure.FrameOffset(g, b)
		end := off + int64(erasure.HashSize+erasure.BlockLen(g, size, b))
		if _, err := h.VerifyFrame(b, shard[off:end]); err != nil {
			return false
		}
	}
	return true
}

// TestReadErrors checks that a failing source is reported once, not as corruption,
// and not read again, and that the object still decodes.
func TestReadErrors(t *testing.T) {
	g := erasure.Geometry{DataShards: 2, ParityShards: 2, BlockSize: 64}
	c := codec(t, g)
	size := 5 * int(g.StripeSize())
	data := erasuretest.Data(size, 13)
	id := erasuretest.VersionID(13)
	src := erasuretest.Sources(erasuretest.Encode(t, g, id, data))
	boom := errors.New("disk on fire")
	src[1] = erasuretest.FailingReaderAt{Err: boom}
	got, rep, err := decode(t, c, src, id, int64(size), 0, int64(size))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("err=%v", err)
	}
	if len(rep.Faults) != 1 || rep.Faults[0].Shard != 1 || !errors.Is(rep.Faults[0], boom) || erasure.IsCorrupt(rep.Faults[0]) {
		t.Fatalf("faults %v, want one read error on shard 1", rep.Faults)
	}
	src[0] = erasuretest.FailingReaderAt{Err: boom}
	src[3] = erasuretest.FailingReaderAt{Err: boom}
	_, _, err = decode(t, c, src, id, int64(size), 0, int64(size))
	if !errors.Is(err, erasure.ErrTooFewShards) || !errors.Is(err, boom) || erasure.IsCorrupt(err) {
		t.Fatalf("3 failing of 2+2: err=%v", err)
	}
}

// TestFaultsCapped checks that a report lists at most FaultsMax faults and counts the
// rest.
func TestFaultsCapped(t *testing.T) {
	g := erasure.Geometry{DataShards: 1, ParityShards: 1, BlockSize: 64}
	c := codec(t, g)
	size := (erasure.FaultsMax + 10) * g.BlockSize
	id := erasuretest.VersionID(1)
	data := erasuretest.Data(size, 1)
	shards := erasuretest.Encode(t, g, id, data)
	shards[0] = erasuretest.Encode(t, g, erasuretest.VersionID(2), data)[0]
	got, rep, err := decode(t, c, erasuretest.Sources(shards), id, int64(size), 0, int64(size))
	if err != nil || !bytes.Equal(got, data) || len(rep.Faults) != erasure.FaultsMax || rep.Dropped != 10 {
		t.Fatalf("err=%v faults=%d dropped=%d", err, len(rep.Faults), rep.Dropped)
	}
}

// shortReaderAt returns fewer bytes than asked with a nil error, which io.ReaderAt
// forbids; Decode must treat it as a bad shard, not trust the buffer.
type shortReaderAt struct{ io.ReaderAt }

func (s shortReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, _ := s.ReaderAt.ReadAt(p[:len(p)/2], off)
	return n, nil
}

func TestMisbehavingReaderAt(t *testing.T) {
	g := erasure.Geometry{DataShards: 2, ParityShards: 1, BlockSize: 64}
	c := codec(t, g)
	id := erasuretest.VersionID(1)
	data := erasuretest.Data(300, 1)
	src := erasuretest.Sources(erasuretest.Encode(t, g, id, data))
	src[0] = shortReaderAt{src[0]}
	got, rep, err := decode(t, c, src, id, 300, 0, 300)
	if err != nil || !bytes.Equal(got, data) || len(rep.BadShards()) != 1 || rep.BadShards()[0] != 0 {
		t.Fatalf("err=%v bad=%v", err, rep.BadShards())
	}
}
