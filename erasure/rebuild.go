package erasure

import (
	"errors"
	"fmt"
	"io"
	"slices"
)

// Rebuild writes complete stored shard streams (header and frames) for the shards i
// with dst[i] != nil, reconstructed stripe by stripe from the other shards of src, for
// healing onto a new node. src.Shards entries of the shards being rebuilt are ignored.
// Every block read is verified, faults are listed in the Report as in Decode, and a
// stripe with fewer than k usable shards fails with ErrTooFewShards. A write error is
// returned as a *ShardError naming the shard. The output is byte-identical to what
// Encode wrote for those shards.
func (c *Codec) Rebuild(dst []io.Writer, src Source) (Report, error) {
	var rep Report
	g := c.g
	if len(dst) != g.TotalShards() || len(src.Shards) != g.TotalShards() {
		return rep, fmt.Errorf("%w: %d writers and %d sources for %v", ErrShardCount, len(dst), len(src.Shards), g)
	}
	stripes := StripeCount(g, src.Size)
	if stripes < 0 {
		return rep, fmt.Errorf("%w: object size %d", ErrInvalidRange, src.Size)
	}
	src.Shards = slices.Clone(src.Shards)
	var targets []int
	for i, w := range dst {
		if w == nil {
			continue
		}
		targets = append(targets, i)
		src.Shards[i] = nil
		hdr, err := Header{Geometry: g, ShardIndex: i, VersionID: src.VersionID}.AppendBinary(make([]byte, 0, HeaderSize))
		if err != nil {
			return rep, err
		}
		if _, err := w.Write(hdr); err != nil {
			return rep, &ShardError{Shard: i, Block: HeaderBlock, Err: err}
		}
	}
	if len(targets) == 0 {
		return rep, nil
	}
	d := newDecoder(c, src, &rep)
	defer d.close()
	st := d.st
	for s := range stripes {
		blockLen := blockLen(g, src.Size, s)
		for i := range st.want {
			st.want[i] = dst[i] != nil
		}
		if err := d.load(s, blockLen); err != nil {
			return rep, err
		}
		for _, i := range targets {
			st.id.digest(st.slab[i][slabHead-HashSize:slabHead], &src.VersionID, i, s, st.shards[i])
			if _, err := dst[i].Write(st.frame(i, blockLen)); err != nil {
				return rep, &ShardError{Shard: i, Block: s, Err: err}
			}
		}
	}
	return rep, nil
}

// CheckShard reads one stored shard stream of size bytes from r, as a scrubber does:
// it parses the header, checks that size fits the geometry (FrameLayout), and verifies
// every frame with Header.VerifyFrame. It returns the header (zero if it could not be
// parsed) and nil, a read error, or the corruption found: up to FaultsMax *ShardError
// values joined, for which IsCorrupt is true. Shard indexes in the errors come from
// the header; the caller compares the header with what it expected to find. Memory
// use is one frame buffer.
func CheckShard(r io.Reader, size int64) (Header, error) {
	var head [HeaderSize]byte
	if _, err := io.ReadFull(r, head[:min(int64(HeaderSize), max(size, 0))]); err != nil {
		return Header{}, fmt.Errorf("erasure: read header: %w", err)
	}
	h, err := ParseHeader(head[:min(int64(HeaderSize), max(size, 0))])
	if err != nil {
		return Header{}, err
	}
	frames, last, err := FrameLayout(h.Geometry, size)
	if err != nil {
		if se, ok := err.(*ShardError); ok {
			se.Shard = h.ShardIndex
		}
		return h, err
	}
	var faults []error
	var buf []byte
	var id identity
	for b := range frames {
		n := HashSize + h.Geometry.BlockSize
		if b == frames-1 {
			n = HashSize + last
		}
		if buf == nil {
			buf = make([]byte, n)
		}
		frame := buf[:n]
		if _, err := io.ReadFull(r, frame); err != nil {
			return h, fmt.Errorf("erasure: read shard %d block %d: %w", h.ShardIndex, b, err)
		}
		if _, err := h.verifyFrame(&id, b, frame); err != nil && len(faults) < FaultsMax {
			faults = append(faults, err)
		}
	}
	return h, errors.Join(faults...)
}
