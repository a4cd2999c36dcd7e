package erasure_test

import (
	"bytes"
	"encoding"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"testing"

	"github.com/coffer-io/coffer/erasure"
	"github.com/coffer-io/coffer/erasure/erasuretest"
)

func TestGeometryValidate(t *testing.T) {
	tests := []struct {
		g    erasure.Geometry
		errs int // problems Validate must report
	}{
		{erasure.DefaultGeometry, 0},
		{erasure.Geometry{DataShards: 1, ParityShards: 1, BlockSize: 64}, 0},
		{erasure.Geometry{DataShards: 255, ParityShards: 1, BlockSize: 64}, 0},
		{erasure.Geometry{DataShards: 1, ParityShards: 255, BlockSize: 64}, 0},
		{erasure.Geometry{DataShards: 4, ParityShards: 2, BlockSize: erasure.BlockSizeMax}, 0},
		{erasure.Geometry{}, 3},
		{erasure.Geometry{DataShards: 0, ParityShards: 2, BlockSize: 64}, 1},
		{erasure.Geometry{DataShards: 4, ParityShards: 0, BlockSize: 64}, 1},
		{erasure.Geometry{DataShards: 200, ParityShards: 57, BlockSize: 64}, 1},
		{erasure.Geometry{DataShards: -1, ParityShards: 1 << 20, BlockSize: 100}, 3},
		{erasure.Geometry{DataShards: 4, ParityShards: 2, BlockSize: 100}, 1},
		{erasure.Geometry{DataShards: 4, ParityShards: 2, BlockSize: -64}, 1},
		{erasure.Geometry{DataShards: 4, ParityShards: 2, BlockSize: erasure.BlockSizeMax + 64}, 1},
	}
	for _, tt := range tests {
		err := tt.g.Validate()
		n := 0
		if err != nil {
			n = len(err.(interface{ Unwrap() []error }).Unwrap())
		}
		if n != tt.errs || (err != nil && !errors.Is(err, erasure.ErrInvalidGeometry)) {
			t.Errorf("%v.Validate() = %v (%d problems), want %d", tt.g, err, n, tt.errs)
		}
	}
	if g := erasure.DefaultGeometry; g.DataShards != 4 || g.ParityShards != 2 || g.BlockSize != 256<<10 || g.StripeSize() != 1<<20 {
		t.Errorf("DefaultGeometry = %v", g)
	}
}

func TestGeometryEnsureDefaults(t *testing.T) {
	tests := []struct{ in, want erasure.Geometry }{
		{erasure.Geometry{}, erasure.DefaultGeometry},
		{erasure.Geometry{DataShards: 8}, erasure.Geometry{DataShards: 8, ParityShards: 2, BlockSize: 256 << 10}},
		{erasure.Geometry{ParityShards: 3, BlockSize: 64}, erasure.Geometry{DataShards: 4, ParityShards: 3, BlockSize: 64}},
		{erasure.Geometry{DataShards: -1, ParityShards: 1, BlockSize: 1}, erasure.Geometry{DataShards: -1, ParityShards: 1, BlockSize: 1}},
	}
	for _, tt := range tests {
		got := tt.in
		got.EnsureDefaults()
		if got != tt.want {
			t.Errorf("%v.EnsureDefaults() = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestLayout(t *testing.T) {
	g := erasure.Geometry{DataShards: 4, ParityShards: 2, BlockSize: 64}
	f := int64(erasure.HashSize + 64)
	tests := []struct {
		size      int64
		stripes   int64
		lastBlock int // length of the last block, 0 without frames
		shardSize int64
	}{
		{0, 0, 0, 64},
		{1, 1, 1, 64 + 32 + 1},
		{4, 1, 1, 64 + 32 + 1},
		{5, 1, 2, 64 + 32 + 2},
		{255, 1, 64, 64 + f},
		{256, 1, 64, 64 + f},
		{257, 2, 1, 64 + f + 33},
		{10*256 + 100, 11, 25, 64 + 10*f + 32 + 25},
	}
	for _, tt := range tests {
		if got := erasure.StripeCount(g, tt.size); got != tt.stripes {
			t.Errorf("StripeCount(%d) = %d, want %d", tt.size, got, tt.stripes)
		}
		if got := erasure.ShardSize(g, tt.size); got != tt.shardSize {
			t.Errorf("ShardSize(%d) = %d, want %d", tt.size, got, tt.shardSize)
		}
		if tt.stripes > 0 {
			if got := erasure.BlockLen(g, tt.size, tt.stripes-1); got != tt.lastBlock {
				t.Errorf("BlockLen(%d, last) = %d, want %d", tt.size, got, tt.lastBlock)
			}
		}
		frames, last, err := erasure.FrameLayout(g, tt.shardSize)
		if err != nil || frames != tt.stripes || last != tt.lastBlock {
			t.Errorf("FrameLayout(%d) = %d, %d, %v; want %d, %d", tt.shardSize, frames, last, err, tt.stripes, tt.lastBlock)
		}
	}
	for _, bad := range []int64{0, 63, 64 + 32, 64 + f + 32, -1} {
		if _, _, err := erasure.FrameLayout(g, bad); !erasure.IsCorrupt(err) {
			t.Errorf("FrameLayout(%d) = %v, want corruption", bad, err)
		}
	}
	invalid := erasure.Geometry{DataShards: 4, ParityShards: 2}
	for name, got := range map[string]int64{
		"ShardSize invalid g":    erasure.ShardSize(invalid, 1),
		"ShardSize negative":     erasure.ShardSize(g, -1),
		"ShardSize too large":    erasure.ShardSize(g, erasure.ObjectSizeMax+1),
		"StripeCount invalid g":  erasure.StripeCount(invalid, 1),
		"FrameOffset invalid g":  erasure.FrameOffset(invalid, 0),
		"FrameOffset negative":   erasure.FrameOffset(g, -1),
		"FrameOffset past limit": erasure.FrameOffset(g, 1<<62),
		"BlockLen past end":      int64(erasure.BlockLen(g, 256, 1)),
	} {
		if got != -1 {
			t.Errorf("%s = %d, want -1", name, got)
		}
	}
	if got := erasure.FrameOffset(g, 3); got != 64+3*f {
		t.Errorf("FrameOffset(3) = %d", got)
	}
	if _, _, err := erasure.FrameLayout(invalid, 64); !errors.Is(err, erasure.ErrInvalidGeometry) {
		t.Errorf("FrameLayout(invalid) = %v", err)
	}
}

// TestFrameLayoutInvertsShardSize checks FrameLayout against ShardSize and BlockLen for
// every object size up to a few stripes, for a few geometries.
func TestFrameLayoutInvertsShardSize(t *testing.T) {
	for _, g := range []erasure.Geometry{
		{DataShards: 1, ParityShards: 1, BlockSize: 64},
		{DataShards: 3, ParityShards: 2, BlockSize: 128},
		{DataShards: 5, ParityShards: 1, BlockSize: 64},
	} {
		for size := int64(0); size < 4*g.StripeSize()+3; size++ {
			frames, last, err := erasure.FrameLayout(g, erasure.ShardSize(g, size))
			want := 0
			if frames > 0 {
				want = erasure.BlockLen(g, size, frames-1)
			}
			if err != nil || frames != erasure.StripeCount(g, size) || last != want {
				t.Fatalf("%v size %d: FrameLayout = %d, %d, %v", g, size, frames, last, err)
			}
		}
	}
}

var _ encoding.BinaryAppender = erasure.Header{}

func TestHeaderRoundTrip(t *testing.T) {
	for _, g := range geometries {
		for _, i := range []int{0, g.TotalShards() - 1} {
			h := erasure.Header{Geometry: g, ShardIndex: i, VersionID: erasuretest.VersionID(uint64(i))}
			b, err := h.AppendBinary([]byte("prefix"))
			if err != nil || len(b) != 6+erasure.HeaderSize || string(b[:6]) != "prefix" {
				t.Fatalf("%+v: AppendBinary = %d bytes, %v", h, len(b), err)
			}
			got, err := erasure.ParseHeader(append(b[6:], "trailing frames"...))
			if err != nil || got != h {
				t.Fatalf("ParseHeader = %+v, %v; want %+v", got, err, h)
			}
		}
	}
	for _, h := range []erasure.Header{
		{Geometry: erasure.Geometry{DataShards: 4, ParityShards: 2, BlockSize: 63}},
		{Geometry: erasure.DefaultGeometry, ShardIndex: 6},
		{Geometry: erasure.DefaultGeometry, ShardIndex: -1},
	} {
		if b, err := h.AppendBinary(nil); err == nil || len(b) != 0 {
			t.Errorf("AppendBinary(%+v) = %d bytes, %v; want an error", h, len(b), err)
		}
	}
}

// TestHeaderGolden pins the header bytes (FORMAT.md shows the same example).
func TestHeaderGolden(t *testing.T) {
	id := [16]byte{0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}
	b, err := erasure.Header{Geometry: erasure.DefaultGeometry, ShardIndex: 5, VersionID: id}.AppendBinary(nil)
	if err != nil {
		t.Fatal(err)
	}
	// Computed independently (a bitwise CRC-32C in Python); FORMAT.md shows the same dump.
	want, _ := hex.DecodeString("" +
		"43465348010100040002000400000005" +
		"00112233445566778899aabbccddeeff" +
		"01000000000000000000000000000000" +
		"000000000000000000000000220ea576")
	if !bytes.Equal(b, want) {
		t.Fatalf("header\n got %x\nwant %x", b, want)
	}
}

// TestParseHeaderDamage flips every bit of a header, truncates it and forges
// well-formed headers with unknown ids.
func TestParseHeaderDamage(t *testing.T) {
	h := erasure.Header{Geometry: erasure.DefaultGeometry, ShardIndex: 3, VersionID: erasuretest.VersionID(1)}
	good, _ := h.AppendBinary(nil)
	for bit := range int64(erasure.HeaderSize * 8) {
		_, err := erasure.ParseHeader(erasuretest.FlipBit(good, bit))
		var se *erasure.ShardError
		if !erasure.IsCorrupt(err) || !errors.As(err, &se) || se.Block != erasure.HeaderBlock {
			t.Fatalf("bit %d flipped: %v, want header corruption", bit, err)
		}
	}
	for n := range erasure.HeaderSize {
		if _, err := erasure.ParseHeader(good[:n]); !erasure.IsCorrupt(err) {
			t.Fatalf("%d bytes: %v", n, err)
		}
	}
	reseal := func(b []byte) []byte {
		binary.BigEndian.PutUint32(b[60:], crc32.Checksum(b[:60], crc32.MakeTable(crc32.Castagnoli)))
		return b
	}
	forge := func(off int, v byte) []byte {
		b := bytes.Clone(good)
		b[off] = v
		return reseal(b)
	}
	tests := []struct {
		name string
		b    []byte
		want error
	}{
		{"version 2", forge(4, 2), erasure.ErrUnsupportedVersion},
		{"hash id 2", forge(5, 2), erasure.ErrUnsupportedVersion},
		{"code id 2", forge(32, 2), erasure.ErrUnsupportedVersion},
		{"reserved byte set", forge(40, 1), erasure.ErrCorrupt},
		{"parity 0", forge(9, 0), erasure.ErrCorrupt},
		{"shard index past k+m", forge(15, 6), erasure.ErrCorrupt},
		{"block size not aligned", forge(13, 1), erasure.ErrCorrupt},
	}
	for _, tt := range tests {
		if _, err := erasure.ParseHeader(tt.b); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestVerifyFrame(t *testing.T) {
	g := erasure.Geometry{DataShards: 2, ParityShards: 1, BlockSize: 64}
	h := erasure.Header{Geometry: g, ShardIndex: 1, VersionID: erasuretest.VersionID(1)}
	block := erasuretest.Data(50, 1)
	frame := h.AppendFrame(nil, 7, block)
	if got, err := erasure.VerifyFrame(frame); err != nil || !bytes.Equal(got, block) || &got[0] != &frame[erasure.HashSize] {
		t.Fatalf("VerifyFrame = %v (aliases: %v)", err, err == nil && &got[0] == &frame[erasure.HashSize])
	}
	if got, err := h.VerifyFrame(7, frame); err != nil || !bytes.Equal(got, block) {
		t.Fatalf("Header.VerifyFrame = %v", err)
	}
	otherShard, otherVersion := h, h
	otherShard.ShardIndex = 0
	otherVersion.VersionID[0] ^= 1
	tests := []struct {
		name      string
		check     func() error
		wantShard int
		wantBlock int64
	}{
		{"wrong block number", func() error { _, err := h.VerifyFrame(8, frame); return err }, 1, 8},
		{"wrong shard", func() error { _, err := otherShard.VerifyFrame(7, frame); return err }, 0, 7},
		{"wrong version", func() error { _, err := otherVersion.VerifyFrame(7, frame); return err }, 1, 7},
		{"identity half flipped", func() error { _, err := h.VerifyFrame(7, erasuretest.FlipBit(frame, 8*20)); return err }, 1, 7},
		{"content flipped", func() error { _, err := h.VerifyFrame(7, erasuretest.FlipBit(frame, 8*40)); return err }, 1, 7},
		{"too long for B", func() error { _, err := h.VerifyFrame(7, h.AppendFrame(nil, 7, make([]byte, 65))); return err }, 1, 7},
		{"no block", func() error { _, err := h.VerifyFrame(7, frame[:erasure.HashSize]); return err }, 1, 7},
		{"bare: content flipped", func() error { _, err := erasure.VerifyFrame(erasuretest.FlipBit(frame, 8*40)); return err }, -1, erasure.UnknownBlock},
		{"bare: digest flipped", func() error { _, err := erasure.VerifyFrame(erasuretest.FlipBit(frame, 0)); return err }, -1, erasure.UnknownBlock},
		{"bare: no block", func() error { _, err := erasure.VerifyFrame(frame[:erasure.HashSize]); return err }, -1, erasure.UnknownBlock},
		{"bare: nil", func() error { _, err := erasure.VerifyFrame(nil); return err }, -1, erasure.UnknownBlock},
	}
	for _, tt := range tests {
		err := tt.check()
		var se *erasure.ShardError
		if !erasure.IsCorrupt(err) || !errors.As(err, &se) || se.Shard != tt.wantShard || se.Block != tt.wantBlock {
			t.Errorf("%s: %v, want corruption at shard %d block %d", tt.name, err, tt.wantShard, tt.wantBlock)
		}
	}
	// The content half alone does not see identity: a misplaced but intact block
	// passes the bare check.
	if _, err := erasure.VerifyFrame(otherVersion.AppendFrame(nil, 3, block)); err != nil {
		t.Errorf("bare VerifyFrame of an intact frame of another object: %v", err)
	}
}

func TestShardErrorMessages(t *testing.T) {
	cause := errors.New("cause")
	tests := []struct {
		err  *erasure.ShardError
		want string
	}{
		{&erasure.ShardError{Shard: 3, Block: 7, Err: cause}, "erasure: shard 3 block 7: cause"},
		{&erasure.ShardError{Shard: 0, Block: erasure.HeaderBlock, Err: cause}, "erasure: shard 0 header: cause"},
		{&erasure.ShardError{Shard: -1, Block: erasure.UnknownBlock, Err: cause}, "erasure: frame: cause"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
	_, err := erasure.VerifyFrame(make([]byte, 40))
	if got, want := err.Error(), "erasure: frame: corrupt: block digest mismatch"; got != want {
		t.Errorf("VerifyFrame error %q, want %q", got, want)
	}
	if erasure.IsCorrupt(&erasure.ShardError{Shard: 1, Err: cause}) || erasure.IsCorrupt(nil) {
		t.Error("IsCorrupt of a plain error")
	}
}
