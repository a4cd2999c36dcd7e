package node

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"time"
)

// Index key kinds (see the package doc).
const (
	kindRecord  = 'r'
	kindData    = 'd'
	kindPending = 'p'
	kindGarbage = 'g'
	kindMeta    = 'm'
)

// Shard record format constants. They are persisted: never change them.
const (
	recordMagic     = "CFSR"
	recordVersion   = 1
	recordFixedSize = 4 + 1 + 1 + 8 + 8 + 2
	recordCRCSize   = 4
	// recordHeaderMax bounds the header bytes a record may carry.
	recordHeaderMax = 4 << 10

	locInline = 0
	locFile   = 1

	// storeMagic and storeVersion are kept under the 'm' "format" key.
	storeMagic   = "CFNI"
	storeVersion = 1
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// record is the index entry of one stored shard.
type record struct {
	inline  bool
	size    int64
	created time.Time
	header  []byte // the shard's erasure header, exactly as stored
}

func (r record) append(dst []byte) []byte {
	start := len(dst)
	dst = append(dst, recordMagic...)
	dst = append(dst, recordVersion)
	loc := byte(locFile)
	if r.inline {
		loc = locInline
	}
	dst = append(dst, loc)
	dst = binary.BigEndian.AppendUint64(dst, uint64(r.size))
	dst = binary.BigEndian.AppendUint64(dst, uint64(r.created.UnixNano()))
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(r.header)))
	dst = append(dst, r.header...)
	return binary.BigEndian.AppendUint32(dst, crc32.Checksum(dst[start:], castagnoli))
}

// decodeRecord parses a record; the result does not alias b. Damage is an error
// wrapping ErrIndexCorrupt, never a panic.
func decodeRecord(b []byte) (record, error) {
	var r record
	if len(b) < recordFixedSize+recordCRCSize {
		return r, fmt.Errorf("record of %d bytes: %w", len(b), ErrIndexCorrupt)
	}
	body, sum := b[:len(b)-recordCRCSize], binary.BigEndian.Uint32(b[len(b)-recordCRCSize:])
	if crc32.Checksum(body, castagnoli) != sum {
		return r, fmt.Errorf("record checksum mismatch: %w", ErrIndexCorrupt)
	}
	if string(body[:4]) != recordMagic {
		return r, fmt.Errorf("record magic %q: %w", body[:4], ErrIndexCorrupt)
	}
	if body[4] != recordVersion {
		return r, fmt.Errorf("record version %d: %w", body[4], ErrIndexCorrupt)
	}
	switch body[5] {
	case locInline:
		r.inline = true
	case locFile:
	default:
		return r, fmt.Errorf("record location %d: %w", body[5], ErrIndexCorrupt)
	}
	size := binary.BigEndian.Uint64(body[6:14])
	if size > 1<<62 {
		return r, fmt.Errorf("record size %d: %w", size, ErrIndexCorrupt)
	}
	r.size = int64(size)
	r.created = time.Unix(0, int64(binary.BigEndian.Uint64(body[14:22])))
	hl := int(binary.BigEndian.Uint16(body[22:24]))
	if hl > recordHeaderMax || len(body) != recordFixedSize+hl {
		return r, fmt.Errorf("record header length %d in %d bytes: %w", hl, len(body), ErrIndexCorrupt)
	}
	if int64(hl) > r.size {
		return r, fmt.Errorf("record header length %d above size %d: %w", hl, r.size, ErrIndexCorrupt)
	}
	r.header = append([]byte(nil), body[recordFixedSize:]...)
	return r, nil
}

// key builds an index key: kind then the id's binary key.
func key(kind byte, id ShardID) []byte {
	return id.appendKey(append(make([]byte, 0, 1+idKeySize), kind))
}

// versionBounds returns the key range [lo, hi) of all keys of kind for version v.
func versionBounds(kind byte, v [16]byte) (lo, hi []byte) {
	lo = append(append(make([]byte, 0, 17), kind), v[:]...)
	hi = append([]byte(nil), lo...)
	for i := len(hi) - 1; i >= 1; i-- {
		hi[i]++
		if hi[i] != 0 {
			return lo, hi
		}
	}
	return lo, []byte{kind + 1}
}

// kindBounds returns the key range of every key of kind.
func kindBounds(kind byte) (lo, hi []byte) { return []byte{kind}, []byte{kind + 1} }

func garbageKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{kindGarbage}, seq)
}
