package erasure

import (
	"bytes"
	"encoding/binary"

	"github.com/minio/sha256-simd"
)

// A frame is digest || block, the digest HashSize bytes:
//
//	digest[0:16]  = SHA-256(block)[0:16]                                  content half
//	digest[16:32] = SHA-256("CFSB" || FormatVersion || versionID ||
//	                        u16 shard index || u64 block number ||
//	                        digest[0:16])[0:16]                           identity half
//
// The content half lets anyone check a frame alone (VerifyFrame). The identity half
// binds the block to its object version, shard and position, so a block from another
// object, another shard or another place in the same shard fails Header.VerifyFrame
// even though its content half is intact. The identity input is identityLen bytes,
// which fits one SHA-256 compression.
const (
	halfSize    = HashSize / 2
	frameMagic  = "CFSB"
	identityLen = len(frameMagic) + 1 + 16 + 2 + 8 + halfSize
)

// identity is a reusable buffer for the identity-half input; it lives in a pooled
// stripe so hashing a frame does not allocate.
type identity [64]byte

// digest writes the frame digest of block (the frame's bytes after the digest) for
// (versionID, shard, blockNo) into dst[:HashSize].
func (buf *identity) digest(dst []byte, versionID *[16]byte, shard int, blockNo int64, block []byte) {
	content := sha256.Sum256(block)
	copy(dst[:halfSize], content[:halfSize])
	id := buf.identityHalf(versionID, shard, blockNo, content[:halfSize])
	copy(dst[halfSize:HashSize], id[:halfSize])
}

func (buf *identity) identityHalf(versionID *[16]byte, shard int, blockNo int64, content []byte) [sha256.Size]byte {
	b := buf[:identityLen]
	n := copy(b, frameMagic)
	b[n] = FormatVersion
	n++
	n += copy(b[n:], versionID[:])
	binary.BigEndian.PutUint16(b[n:], uint16(shard))
	n += 2
	binary.BigEndian.PutUint64(b[n:], uint64(blockNo))
	n += 8
	copy(b[n:], content[:halfSize])
	return sha256.Sum256(b)
}

// VerifyFrame checks the content half of the digest of frame = digest || block and
// returns the block, which aliases frame. It cannot tell whether the block sits in the
// right shard and place (use Header.VerifyFrame for that). A mismatch or a frame
// without block bytes is corruption (IsCorrupt); the *ShardError has Shard -1 and
// Block UnknownBlock.
func VerifyFrame(frame []byte) (block []byte, err error) {
	if len(frame) <= HashSize {
		return nil, corruptf(-1, UnknownBlock, "frame of %d bytes has no block", len(frame))
	}
	block = frame[HashSize:]
	content := sha256.Sum256(block)
	if !bytes.Equal(content[:halfSize], frame[:halfSize]) {
		return nil, corruptf(-1, UnknownBlock, "block digest mismatch")
	}
	return block, nil
}

// VerifyFrame checks frame = digest || block as frame number blockNo of the shard h
// describes: the block length (at most BlockSize, at least 1), the content half and the
// identity half of the digest. It returns the block, which aliases frame. A failure is
// corruption (IsCorrupt) in a *ShardError naming h.ShardIndex and blockNo.
func (h Header) VerifyFrame(blockNo int64, frame []byte) (block []byte, err error) {
	var buf identity
	return h.verifyFrame(&buf, blockNo, frame)
}

func (h Header) verifyFrame(buf *identity, blockNo int64, frame []byte) ([]byte, error) {
	if n := len(frame) - HashSize; n < 1 || n > h.Geometry.BlockSize {
		return nil, corruptf(h.ShardIndex, blockNo, "frame of %d bytes, want %d..%d", len(frame), HashSize+1, HashSize+h.Geometry.BlockSize)
	}
	block := frame[HashSize:]
	content := sha256.Sum256(block)
	if !bytes.Equal(content[:halfSize], frame[:halfSize]) {
		return nil, corruptf(h.ShardIndex, blockNo, "block digest mismatch")
	}
	id := buf.identityHalf(&h.VersionID, h.ShardIndex, blockNo, content[:halfSize])
	if !bytes.Equal(id[:halfSize], frame[halfSize:HashSize]) {
		return nil, corruptf(h.ShardIndex, blockNo, "block belongs to another object, shard or position")
	}
	return block, nil
}

// AppendFrame appends the frame (digest || block) for block number blockNo of the shard
// h describes to dst and returns the extended slice. block must hold 1..BlockSize
// bytes; AppendFrame does not retain it.
func (h Header) AppendFrame(dst []byte, blockNo int64, block []byte) []byte {
	var buf identity
	start := len(dst)
	dst = append(dst, make([]byte, HashSize)...)
	dst = append(dst, block...)
	buf.digest(dst[start:start+HashSize], &h.VersionID, h.ShardIndex, blockNo, block)
	return dst
}
