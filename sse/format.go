package sse

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"fmt"
	"io"
)

// Stream format constants. They are part of the persisted format (FORMAT.md) and must
// never change for FormatVersion 1.
const (
	// PackagePlainBytes is the plaintext carried by every package but the last.
	PackagePlainBytes = 64 << 10
	// TagBytes is the AES-GCM tag appended to every package.
	TagBytes = 16
	// PackageCipherBytes is the ciphertext size of a full package.
	PackageCipherBytes = PackagePlainBytes + TagBytes
	// NoncePrefixBytes is the random per-stream part of every nonce.
	NoncePrefixBytes = 4
	// HeaderBytes is the size of the stream header: magic, version, suite, reserved,
	// nonce prefix.
	HeaderBytes = 12

	// FormatVersion is the stream format version written by this package.
	FormatVersion = 1
	// SuiteAES256GCM64K is the only suite: AES-256-GCM over 64 KiB packages, 12-byte
	// nonce = prefix ‖ uint64be(index), 16-byte tag.
	SuiteAES256GCM64K = 1

	// StreamBytesMax bounds the plaintext of one stream (4 PiB), so package indexes and
	// ciphertext offsets can never overflow.
	StreamBytesMax = 1 << 52

	nonceBytes = 12
	aadBytes   = HeaderBytes + 1
	flagMore   = 0x00
	flagFinal  = 0x01
)

// streamMagic opens every stream header.
var streamMagic = [4]byte{'C', 'F', 'S', 'E'}

// NoncePrefix is the random per-stream (per object, per part) nonce prefix.
type NoncePrefix [NoncePrefixBytes]byte

// NewNoncePrefix draws a nonce prefix from rand.
func NewNoncePrefix(rand io.Reader) (NoncePrefix, error) {
	var p NoncePrefix
	if _, err := io.ReadFull(rand, p[:]); err != nil {
		return p, fmt.Errorf("sse: nonce prefix: %w", err)
	}
	return p, nil
}

// putHeader writes the stream header for prefix into dst[:HeaderBytes].
func putHeader(dst []byte, prefix NoncePrefix) {
	_ = dst[HeaderBytes-1]
	copy(dst[0:4], streamMagic[:])
	dst[4] = FormatVersion
	dst[5] = SuiteAES256GCM64K
	dst[6], dst[7] = 0, 0
	copy(dst[8:12], prefix[:])
}

// parseHeader checks a stream header and returns its nonce prefix.
func parseHeader(h []byte) (NoncePrefix, error) {
	var p NoncePrefix
	if len(h) < HeaderBytes {
		return p, fmt.Errorf("sse: header of %d bytes: %w", len(h), ErrTruncated)
	}
	if [4]byte(h[0:4]) != streamMagic || h[6] != 0 || h[7] != 0 {
		return p, ErrHeader
	}
	if h[4] != FormatVersion || h[5] != SuiteAES256GCM64K {
		return p, fmt.Errorf("%w: stream version %d suite %d", ErrVersion, h[4], h[5])
	}
	copy(p[:], h[8:12])
	return p, nil
}

// newGCM returns AES-256-GCM under key.
func newGCM(key *Key) cipher.AEAD {
	block, err := aes.NewCipher(key[:])
	if err != nil {
		panic("sse: aes.NewCipher rejected a 32-byte key: " + err.Error())
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic("sse: cipher.NewGCM: " + err.Error())
	}
	return aead
}

// packages returns how many packages a plaintext of size bytes takes (at least one).
func packages(size int64) int64 {
	if size == 0 {
		return 1
	}
	return (size + PackagePlainBytes - 1) / PackagePlainBytes
}

// CiphertextSize returns the size of the encrypted stream for a plaintext of plainSize
// bytes: HeaderBytes + plainSize + TagBytes per package. It returns -1 when plainSize is
// negative or above StreamBytesMax.
func CiphertextSize(plainSize int64) int64 {
	if plainSize < 0 || plainSize > StreamBytesMax {
		return -1
	}
	return HeaderBytes + plainSize + TagBytes*packages(plainSize)
}

// PlaintextSize inverts CiphertextSize. It fails with ErrTruncated when no plaintext
// size yields cipherSize.
func PlaintextSize(cipherSize int64) (int64, error) {
	body := cipherSize - HeaderBytes
	if cipherSize < HeaderBytes+TagBytes || cipherSize > CiphertextSize(StreamBytesMax) {
		return 0, fmt.Errorf("sse: ciphertext size %d: %w", cipherSize, ErrTruncated)
	}
	n := (body + PackageCipherBytes - 1) / PackageCipherBytes
	plain := body - n*TagBytes
	if CiphertextSize(plain) != cipherSize {
		return 0, fmt.Errorf("sse: ciphertext size %d: %w", cipherSize, ErrTruncated)
	}
	return plain, nil
}

// Range is the part of an encrypted stream that covers a plaintext range. Read the
// header at [0, HeaderBytes) and the packages at [Offset, Offset+Length), decrypt them
// (NewRangeDecrypter does) and drop Trim plaintext bytes at the front; what remains,
// cut to PlainLength, is the requested plaintext.
type Range struct {
	// Offset is the stream offset of the first covering package (≥ HeaderBytes).
	Offset int64
	// Length is the ciphertext bytes of the covering packages, tags included; zero for
	// an empty range.
	Length int64
	// First is the index of the first covering package; Count how many there are.
	First, Count int64
	// Trim is the plaintext bytes to drop from the front of the first package.
	Trim int64
	// PlainLength is the plaintext bytes the range yields.
	PlainLength int64
	// PlainSize is the plaintext size of the whole stream, which fixes the final package.
	PlainSize int64
}

// MapRange maps the plaintext range [off, off+n) of a stream of plainSize plaintext
// bytes onto the packages that cover it. It fails with ErrRange unless
// 0 ≤ off, 0 ≤ n, off+n ≤ plainSize ≤ StreamBytesMax. An empty range (n == 0) covers
// no package.
func MapRange(plainSize, off, n int64) (Range, error) {
	if plainSize < 0 || plainSize > StreamBytesMax || off < 0 || n < 0 || off > plainSize || n > plainSize-off {
		return Range{}, fmt.Errorf("%w: [%d, +%d) of %d bytes", ErrRange, off, n, plainSize)
	}
	r := Range{PlainSize: plainSize, PlainLength: n}
	if n == 0 {
		r.First = off / PackagePlainBytes
		r.Offset = HeaderBytes + r.First*PackageCipherBytes
		return r, nil
	}
	first := off / PackagePlainBytes
	last := (off + n - 1) / PackagePlainBytes
	end := min((last+1)*PackagePlainBytes, plainSize)
	r.First = first
	r.Count = last - first + 1
	r.Offset = HeaderBytes + first*PackageCipherBytes
	r.Length = end - first*PackagePlainBytes + r.Count*TagBytes
	r.Trim = off - first*PackagePlainBytes
	return r, nil
}

// packageCipherLen is the ciphertext size of package i of a stream of plainSize bytes.
func packageCipherLen(plainSize, i int64) int64 {
	if last := packages(plainSize) - 1; i < last {
		return PackageCipherBytes
	}
	return plainSize - (packages(plainSize)-1)*PackagePlainBytes + TagBytes
}

// packer holds the per-stream nonce and additional data of one stream.
type packer struct {
	aead  cipher.AEAD
	nonce [nonceBytes]byte
	aad   [aadBytes]byte // header ‖ final flag
}

func (p *packer) init(key *Key, prefix NoncePrefix) {
	p.aead = newGCM(key)
	p.setPrefix(prefix)
}

func (p *packer) setPrefix(prefix NoncePrefix) {
	putHeader(p.aad[:HeaderBytes], prefix)
	copy(p.nonce[:NoncePrefixBytes], prefix[:])
}

func (p *packer) set(index int64, final bool) {
	binary.BigEndian.PutUint64(p.nonce[NoncePrefixBytes:], uint64(index))
	p.aad[HeaderBytes] = flagMore
	if final {
		p.aad[HeaderBytes] = flagFinal
	}
}

// PartRange is the piece of a plaintext range that falls in one part of a multipart
// object: plaintext bytes [Off, Off+N) of part index Part (0-based, in the order of the
// sizes given to AppendPartRanges). Map it onto that part's stream with MapRange.
type PartRange struct {
	Part   int
	Off, N int64
}

// AppendPartRanges splits the plaintext range [off, off+n) of an object made of parts of
// the given plaintext sizes into one PartRange per part it touches, appended to dst.
// Empty parts never appear. It fails with ErrRange on a part size outside
// [0, StreamBytesMax], a total that overflows int64, or a range outside the object.
func AppendPartRanges(dst []PartRange, sizes []int64, off, n int64) ([]PartRange, error) {
	var total int64
	for i, s := range sizes {
		if s < 0 || s > StreamBytesMax {
			return dst, fmt.Errorf("%w: part %d of %d bytes", ErrRange, i, s)
		}
		if total += s; total < 0 {
			return dst, fmt.Errorf("%w: parts overflow", ErrRange)
		}
	}
	if off < 0 || n < 0 || off > total || n > total-off {
		return dst, fmt.Errorf("%w: [%d, +%d) of %d bytes", ErrRange, off, n, total)
	}
	var start int64 // plaintext offset of part i in the object
	for i, s := range sizes {
		end := start + s
		if s > 0 && n > 0 && off < end && start < off+n {
			lo := max(off, start)
			hi := min(off+n, end)
			dst = append(dst, PartRange{Part: i, Off: lo - start, N: hi - lo})
		}
		start = end
	}
	return dst, nil
}
