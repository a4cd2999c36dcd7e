package node

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
)

// ShardID names one stored shard: an object version, a part of it (0 for a
// single-part object) and the shard's index in the erasure geometry.
type ShardID struct {
	Version [16]byte
	Part    uint32
	Index   uint16
}

// idKeySize is the length of ShardID's binary key: version, part, index.
const idKeySize = 16 + 4 + 2

// appendKey appends the fixed-width, order-preserving binary encoding of id.
func (id ShardID) appendKey(dst []byte) []byte {
	dst = append(dst, id.Version[:]...)
	dst = binary.BigEndian.AppendUint32(dst, id.Part)
	return binary.BigEndian.AppendUint16(dst, id.Index)
}

// decodeIDKey is the inverse of appendKey; b must be exactly idKeySize long.
func decodeIDKey(b []byte) (ShardID, bool) {
	var id ShardID
	if len(b) != idKeySize {
		return id, false
	}
	copy(id.Version[:], b[:16])
	id.Part = binary.BigEndian.Uint32(b[16:20])
	id.Index = binary.BigEndian.Uint16(b[20:22])
	return id, true
}

// String is "<version hex>/<part>/<index>", the form used in logs, errors and RPC paths.
func (id ShardID) String() string {
	return fmt.Sprintf("%x/%d/%d", id.Version[:], id.Part, id.Index)
}

// fileName is the shard's file name inside its fan-out directory.
func (id ShardID) fileName() string {
	return fmt.Sprintf("%x-%08x-%04x", id.Version[:], id.Part, id.Index)
}

// relDir is the fan-out directory of id, relative to the shard root: "ab/cd".
func (id ShardID) relDir() string {
	return hex.EncodeToString(id.Version[:1]) + "/" + hex.EncodeToString(id.Version[1:2])
}

// relPath is the shard's file path relative to the shard root.
func (id ShardID) relPath() string { return id.relDir() + "/" + id.fileName() }

// parseFileName is the inverse of fileName; it reports false for anything else
// (temp files included).
func parseFileName(name string) (ShardID, bool) {
	var id ShardID
	// 32 hex + '-' + 8 hex + '-' + 4 hex
	if len(name) != 32+1+8+1+4 || name[32] != '-' || name[41] != '-' {
		return id, false
	}
	if _, err := hex.Decode(id.Version[:], []byte(name[:32])); err != nil {
		return id, false
	}
	var p [4]byte
	if _, err := hex.Decode(p[:], []byte(name[33:41])); err != nil {
		return id, false
	}
	var x [2]byte
	if _, err := hex.Decode(x[:], []byte(name[42:46])); err != nil {
		return id, false
	}
	id.Part = binary.BigEndian.Uint32(p[:])
	id.Index = binary.BigEndian.Uint16(x[:])
	return id, true
}
