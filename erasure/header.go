package erasure

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// Format constants. They are written into every stored shard: NEVER change them.
// A new layout gets a new FormatVersion (and keeps a reader for the old one), but
// keeps HeaderSize, Magic at offset 0 and the CRC-32C of bytes 0..59 at offset 60.
const (
	HeaderSize = 64 // fixed size of the shard header in bytes
	HashSize   = 32 // SHA-256 digest before every block

	// Magic opens every shard header.
	Magic = "CFSH"
	// FormatVersion is the shard format this build writes (and the only one it reads).
	FormatVersion = 1
	// HashSHA256Split is hash id 1: the frame digest is the first 16 bytes of
	// SHA-256(block) followed by the first 16 bytes of SHA-256 over the frame identity
	// and that content half (see FORMAT.md).
	HashSHA256Split = 1
	// CodeRSVandermonde is code id 1: the systematic GF(2^8) Reed–Solomon code of
	// klauspost/reedsolomon with its default matrix (a Vandermonde matrix whose top k
	// rows are turned into the identity), never Leopard, never the Cauchy, Jerasure or
	// PAR1 matrices. The matrix fixes the parity bytes on disk.
	CodeRSVandermonde = 1
)

// Byte offsets of the header fields (FORMAT.md).
const (
	hdrMagic     = 0  // 4 bytes
	hdrVersion   = 4  // 1 byte
	hdrHash      = 5  // 1 byte
	hdrData      = 6  // u16 BE: k
	hdrParity    = 8  // u16 BE: m
	hdrBlockSize = 10 // u32 BE: B
	hdrShard     = 14 // u16 BE: shard index
	hdrVersionID = 16 // 16 bytes
	hdrCode      = 32 // 1 byte
	hdrReserved  = 33 // zero up to hdrCRC
	hdrCRC       = 60 // u32 BE: CRC-32C (Castagnoli) of bytes [0, 60)
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Header is the fixed-size header at the start of every stored shard. It names the
// geometry, the shard's index and the object version the shard belongs to.
type Header struct {
	Geometry   Geometry
	ShardIndex int      // 0..k+m-1
	VersionID  [16]byte // object version id the shard belongs to
}

// Validate checks the geometry and the shard index.
func (h Header) Validate() error {
	if err := h.Geometry.Validate(); err != nil {
		return err
	}
	if h.ShardIndex < 0 || h.ShardIndex >= h.Geometry.TotalShards() {
		return fmt.Errorf("%w: shard index %d not in [0, %d)", ErrShardCount, h.ShardIndex, h.Geometry.TotalShards())
	}
	return nil
}

// AppendBinary appends the HeaderSize-byte encoding of h to dst (it implements
// encoding.BinaryAppender). On error dst is returned unchanged.
func (h Header) AppendBinary(dst []byte) ([]byte, error) {
	if err := h.Validate(); err != nil {
		return dst, err
	}
	start := len(dst)
	dst = append(dst, make([]byte, HeaderSize)...)
	b := dst[start:]
	copy(b[hdrMagic:], Magic)
	b[hdrVersion] = FormatVersion
	b[hdrHash] = HashSHA256Split
	binary.BigEndian.PutUint16(b[hdrData:], uint16(h.Geometry.DataShards))
	binary.BigEndian.PutUint16(b[hdrParity:], uint16(h.Geometry.ParityShards))
	binary.BigEndian.PutUint32(b[hdrBlockSize:], uint32(h.Geometry.BlockSize))
	binary.BigEndian.PutUint16(b[hdrShard:], uint16(h.ShardIndex))
	copy(b[hdrVersionID:], h.VersionID[:])
	b[hdrCode] = CodeRSVandermonde
	binary.BigEndian.PutUint32(b[hdrCRC:], crc32.Checksum(b[:hdrCRC], castagnoli))
	return dst, nil
}

// ParseHeader decodes the header at the start of b; bytes after HeaderSize are
// ignored, so the first read of a shard can be passed as is. A short, damaged or
// inconsistent header is corruption (IsCorrupt, a *ShardError with Block HeaderBlock);
// a well-formed header of a format version, hash or code this build does not know
// wraps ErrUnsupportedVersion. ParseHeader never retains b.
func ParseHeader(b []byte) (Header, error) {
	bad := func(format string, args ...any) (Header, error) {
		return Header{}, corruptf(-1, HeaderBlock, format, args...)
	}
	if len(b) < HeaderSize {
		return bad("header is %d bytes, want %d", len(b), HeaderSize)
	}
	b = b[:HeaderSize]
	if string(b[hdrMagic:hdrMagic+len(Magic)]) != Magic {
		return bad("bad magic %q", b[hdrMagic:hdrMagic+len(Magic)])
	}
	// Size, magic and the CRC's place are the same in every format version, so a
	// damaged version byte is corruption, not an unknown version.
	if got, want := crc32.Checksum(b[:hdrCRC], castagnoli), binary.BigEndian.Uint32(b[hdrCRC:]); got != want {
		return bad("header checksum %08x, want %08x", got, want)
	}
	if v := b[hdrVersion]; v != FormatVersion {
		return Header{}, fmt.Errorf("%w: version %d (this build reads %d)", ErrUnsupportedVersion, v, FormatVersion)
	}
	if id := b[hdrHash]; id != HashSHA256Split {
		return Header{}, fmt.Errorf("%w: hash id %d", ErrUnsupportedVersion, id)
	}
	if id := b[hdrCode]; id != CodeRSVandermonde {
		return Header{}, fmt.Errorf("%w: code id %d", ErrUnsupportedVersion, id)
	}
	if !allZero(b[hdrReserved:hdrCRC]) {
		return bad("reserved bytes are not zero")
	}
	h := Header{
		Geometry: Geometry{
			DataShards:   int(binary.BigEndian.Uint16(b[hdrData:])),
			ParityShards: int(binary.BigEndian.Uint16(b[hdrParity:])),
			BlockSize:    int(binary.BigEndian.Uint32(b[hdrBlockSize:])),
		},
		ShardIndex: int(binary.BigEndian.Uint16(b[hdrShard:])),
	}
	copy(h.VersionID[:], b[hdrVersionID:])
	if err := h.Validate(); err != nil {
		return bad("%v", err)
	}
	return h, nil
}

var zeroHeader [HeaderSize]byte

func allZero(b []byte) bool { return bytes.Equal(b, zeroHeader[:len(b)]) }
