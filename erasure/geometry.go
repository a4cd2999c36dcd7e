package erasure

import (
	"errors"
	"fmt"
)

// Limits of the format. They are part of the on-disk format: never change them in a
// way that makes a stored shard invalid.
const (
	// ShardsMax is the largest k+m: the classic GF(2^8) Reed–Solomon code of
	// klauspost/reedsolomon works up to 256 shards, above that it switches to Leopard
	// GF(2^16), which we never use.
	ShardsMax = 256
	// BlockAlign is the multiple a BlockSize must be (bytes). It keeps every full
	// shard block on a 64-byte boundary in the stripe buffers (SIMD friendly).
	BlockAlign = 64
	// BlockSizeMax is the largest shard block in bytes (16 MiB).
	BlockSizeMax = 16 << 20
	// ObjectSizeMax is the largest object (ciphertext) size in bytes the layout
	// arithmetic accepts (1 PiB). It keeps every offset computation far from int64
	// overflow.
	ObjectSizeMax int64 = 1 << 50
)

// DefaultGeometry is 4 data + 2 parity shards with 256 KiB blocks, so one stripe
// carries 1 MiB of object bytes. Treat it as a constant.
var DefaultGeometry = Geometry{DataShards: 4, ParityShards: 2, BlockSize: 256 << 10}

// Geometry is the shape of an erasure-coded object: DataShards (k) data shards,
// ParityShards (m) parity shards and the shard block size B in bytes. A stripe is
// k*B bytes of object data and produces one block of B bytes in each of the k+m
// shards. Geometry is a plain comparable value; the zero value is invalid.
type Geometry struct {
	DataShards   int // k ≥ 1
	ParityShards int // m ≥ 1, k+m ≤ ShardsMax
	BlockSize    int // B: a positive multiple of BlockAlign, at most BlockSizeMax
}

// EnsureDefaults sets every zero field of g to its DefaultGeometry value, so a
// configuration may name only what it changes. It does not validate.
func (g *Geometry) EnsureDefaults() {
	if g.DataShards == 0 {
		g.DataShards = DefaultGeometry.DataShards
	}
	if g.ParityShards == 0 {
		g.ParityShards = DefaultGeometry.ParityShards
	}
	if g.BlockSize == 0 {
		g.BlockSize = DefaultGeometry.BlockSize
	}
}

// Validate reports every problem with g at once; each one wraps ErrInvalidGeometry.
func (g Geometry) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidGeometry}, args...)...))
	}
	if g.DataShards < 1 {
		bad("data shards %d < 1", g.DataShards)
	}
	if g.ParityShards < 1 {
		bad("parity shards %d < 1", g.ParityShards)
	}
	if g.DataShards > ShardsMax || g.ParityShards > ShardsMax || g.DataShards+g.ParityShards > ShardsMax {
		bad("%d+%d shards exceed %d", g.DataShards, g.ParityShards, ShardsMax)
	}
	switch {
	case g.BlockSize <= 0:
		bad("block size %d ≤ 0", g.BlockSize)
	case g.BlockSize%BlockAlign != 0:
		bad("block size %d is not a multiple of %d", g.BlockSize, BlockAlign)
	case g.BlockSize > BlockSizeMax:
		bad("block size %d exceeds %d", g.BlockSize, BlockSizeMax)
	}
	return errors.Join(errs...)
}

// TotalShards returns k+m.
func (g Geometry) TotalShards() int { return g.DataShards + g.ParityShards }

// StripeSize returns the object bytes one full stripe carries: k*B.
func (g Geometry) StripeSize() int64 { return int64(g.DataShards) * int64(g.BlockSize) }

// String formats g as "k+m/B", for example "4+2/262144".
func (g Geometry) String() string {
	return fmt.Sprintf("%d+%d/%d", g.DataShards, g.ParityShards, g.BlockSize)
}

// StripeCount returns the number of stripes of an object of size bytes, which is also
// the number of frames in each of its shards. It returns -1 if g is invalid or size is
// outside [0, ObjectSizeMax].
func StripeCount(g Geometry, size int64) int64 {
	if g.Validate() != nil || size < 0 || size > ObjectSizeMax {
		return -1
	}
	return ceilDiv(size, g.StripeSize())
}

// BlockLen returns the length in bytes of block (stripe) number block in every shard
// of an object of size bytes: B for every stripe but the last, ceil(rem/k) for a short
// last stripe holding rem bytes. It returns -1 if the arguments are invalid or block is
// not in [0, StripeCount).
func BlockLen(g Geometry, size, block int64) int {
	n := StripeCount(g, size)
	if n < 0 || block < 0 || block >= n {
		return -1
	}
	return blockLen(g, size, block)
}

// blockLen is BlockLen for arguments already known to be valid.
func blockLen(g Geometry, size, block int64) int {
	stripe := g.StripeSize()
	if rem := size - block*stripe; rem < stripe {
		return int(ceilDiv(rem, int64(g.DataShards)))
	}
	return g.BlockSize
}

// FrameOffset returns the byte offset of frame number block in a stored shard:
// HeaderSize + block*(HashSize+BlockSize). Every frame but the last is full-sized, so
// this holds for every frame of the shard. It returns -1 for a negative block or an
// invalid geometry.
func FrameOffset(g Geometry, block int64) int64 {
	if block < 0 || block > StripeCount(g, ObjectSizeMax) {
		return -1 // also covers an invalid g, for which StripeCount is -1
	}
	return HeaderSize + block*int64(HashSize+g.BlockSize)
}

// ShardSize returns the length in bytes of one stored shard (header and frames) of an
// object of objectSize bytes. All k+m shards of an object have the same size. It
// returns -1 if g is invalid or objectSize is outside [0, ObjectSizeMax].
func ShardSize(g Geometry, objectSize int64) int64 {
	n := StripeCount(g, objectSize)
	if n < 0 {
		return -1
	}
	if n == 0 {
		return HeaderSize
	}
	last := blockLen(g, objectSize, n-1)
	return FrameOffset(g, n-1) + HashSize + int64(last)
}

// FrameLayout inverts ShardSize for a reader that knows only the geometry and the
// stored length of a shard: it returns the number of frames and the length of the last
// block. A length no object can produce is corruption (IsCorrupt), for example a
// truncated shard.
func FrameLayout(g Geometry, shardSize int64) (frames int64, lastBlock int, err error) {
	if err := g.Validate(); err != nil {
		return 0, 0, err
	}
	body := shardSize - HeaderSize
	if body < 0 || shardSize > ShardSize(g, ObjectSizeMax) {
		return 0, 0, corruptf(-1, UnknownBlock, "shard length %d impossible for %v", shardSize, g)
	}
	if body == 0 {
		return 0, 0, nil
	}
	full := int64(HashSize + g.BlockSize)
	frames = ceilDiv(body, full)
	last := body - (frames-1)*full - HashSize
	if last < 1 {
		return 0, 0, corruptf(-1, frames-1, "shard length %d leaves a frame without block bytes", shardSize)
	}
	return frames, int(last), nil
}

func ceilDiv(a, b int64) int64 { return (a + b - 1) / b }
