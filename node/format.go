package node

import (
	"fmt"

	"github.com/coffer-io/coffer/erasure"
)

// layout is the frame map of one stored shard, derived from its header and total
// length. It is the only place the store depends on the erasure shard format.
type layout struct {
	hdr       erasure.Header
	size      int64 // total stored bytes: header and frames
	frameSize int64 // HashSize + BlockSize
	frames    int64 // number of frames, the last possibly short
}

// newLayout parses header and checks that size is a possible shard length for it.
// Errors wrap ErrInvalid, or the erasure corruption marker for a damaged header.
func newLayout(header []byte, size int64) (layout, error) {
	var l layout
	if len(header) < erasure.HeaderSize || size < erasure.HeaderSize {
		return l, fmt.Errorf("shard of %d bytes is shorter than its header: %w", size, ErrInvalid)
	}
	h, err := erasure.ParseHeader(header[:erasure.HeaderSize])
	if err != nil {
		return l, fmt.Errorf("shard header: %w", err)
	}
	frames, _, err := erasure.FrameLayout(h.Geometry, size)
	if err != nil {
		return l, fmt.Errorf("shard length %d: %w", size, err)
	}
	if fs := int64(erasure.HashSize + h.Geometry.BlockSize); fs > frameBytesMax {
		return l, fmt.Errorf("shard frame of %d bytes above %d: %w", fs, frameBytesMax, ErrInvalid)
	}
	l = layout{hdr: h, size: size, frameSize: int64(erasure.HashSize + h.Geometry.BlockSize), frames: frames}
	return l, nil
}

// matches reports whether the header names id's version and shard index.
func (l layout) matches(id ShardID) error {
	if l.hdr.VersionID != id.Version || l.hdr.ShardIndex != int(id.Index) {
		return fmt.Errorf("header names version %x index %d: %w", l.hdr.VersionID[:], l.hdr.ShardIndex, ErrInvalid)
	}
	return nil
}

// frameOff is the stored offset of frame i.
func (l layout) frameOff(i int64) int64 { return erasure.FrameOffset(l.hdr.Geometry, i) }

// frameLen is the length of frame i (the last one may be short).
func (l layout) frameLen(i int64) int64 {
	off := l.frameOff(i)
	if rest := l.size - off; rest < l.frameSize {
		return rest
	}
	return l.frameSize
}

// frameAt returns the index of the frame holding stored offset off (off ≥ HeaderSize).
func (l layout) frameAt(off int64) int64 { return (off - erasure.HeaderSize) / l.frameSize }

// verify checks frame i against its digest, which binds the block to the shard's
// version id, index and position. A mismatch wraps the erasure corruption marker.
func (l layout) verify(i int64, frame []byte) error {
	_, err := l.hdr.VerifyFrame(i, frame)
	return err
}

// corrupt returns an error carrying the erasure corruption marker, for stored
// bytes that cannot be a valid shard (a file shorter than its record, a header
// that differs from the indexed one).
func corrupt(format string, args ...any) error {
	return fmt.Errorf(format+": %w", append(args, erasure.ErrCorrupt)...)
}
