package fsm

import (
	"encoding/binary"

	"github.com/coffer-io/coffer/cluster/meta"
)

// Keyspace prefixes (see the package doc). Values never change.
const (
	pSingle  byte = 0x00
	pBucket  byte = 0x01
	pObject  byte = 0x02
	pUpload  byte = 0x03
	pPart    byte = 0x04
	pUser    byte = 0x05
	pCensus  byte = 0x06
	pCMK     byte = 0x07
	pGarbage byte = 0x08
	pMKIndex byte = 0x09
	pRequest byte = 0x0A
	pReqAge  byte = 0x0B
	pShards  byte = 0x0C
	pEnd     byte = 0x0D // upper bound of all our keys
)

var (
	kFormat  = []byte{pSingle, 'F'}
	kApplied = []byte{pSingle, 'A'}
	kGCSeq   = []byte{pSingle, 'G'}
	kStats   = []byte{pSingle, 'S'}
	kRing    = []byte{pSingle, 'R'}
	kLayout  = []byte{pSingle, 'L'}
)

// formatValue marks a database as ours, with the layout version.
var formatValue = []byte("COFFERFSM\x01")

// Master-key index kinds.
const (
	kindObject byte = 'o'
	kindUpload byte = 'u'
)

func bucketKey(name string) []byte {
	return append([]byte{pBucket}, name...)
}

// objectPrefix is the prefix of every object key of a bucket.
func objectPrefix(bucket string) []byte {
	k := make([]byte, 0, 2+len(bucket))
	k = append(k, pObject)
	k = append(k, bucket...)
	return append(k, 0)
}

func objectKey(bucket, key string) []byte {
	k := make([]byte, 0, 2+len(bucket)+len(key))
	k = append(k, pObject)
	k = append(k, bucket...)
	k = append(k, 0)
	return append(k, key...)
}

func uploadPrefix(bucket string) []byte {
	k := make([]byte, 0, 2+len(bucket))
	k = append(k, pUpload)
	k = append(k, bucket...)
	return append(k, 0)
}

func uploadKey(bucket, key string, id meta.ID) []byte {
	k := make([]byte, 0, 19+len(bucket)+len(key))
	k = append(k, pUpload)
	k = append(k, bucket...)
	k = append(k, 0)
	k = append(k, key...)
	k = append(k, 0)
	return append(k, id[:]...)
}

// partPrefix is the prefix of the parts of one upload: 0x04 bucket 0x00 key 0x00 id.
// Parts are keyed under their upload's full name, so upload ids need only be unique
// per key.
func partPrefix(bucket, key string, upload meta.ID) []byte {
	k := make([]byte, 0, 23+len(bucket)+len(key))
	k = append(k, pPart)
	k = append(k, bucket...)
	k = append(k, 0)
	k = append(k, key...)
	k = append(k, 0)
	return append(k, upload[:]...)
}

func partKey(bucket, key string, upload meta.ID, n int) []byte {
	return binary.BigEndian.AppendUint32(partPrefix(bucket, key, upload), uint32(n))
}

func userKey(ak string) []byte { return append([]byte{pUser}, ak...) }

func censusKey(v uint32) []byte {
	return binary.BigEndian.AppendUint32([]byte{pCensus}, v)
}

func cmkKey(id string) []byte { return append([]byte{pCMK}, id...) }

func garbageKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{pGarbage}, seq)
}

func mkPrefix(v uint32) []byte {
	return binary.BigEndian.AppendUint32([]byte{pMKIndex}, v)
}

func mkKey(v uint32, kind byte, bucket, key string, id meta.ID) []byte {
	k := make([]byte, 0, 25+len(bucket)+len(key))
	k = append(k, pMKIndex)
	k = binary.BigEndian.AppendUint32(k, v)
	k = append(k, kind)
	k = append(k, bucket...)
	k = append(k, 0)
	k = append(k, key...)
	k = append(k, 0)
	return append(k, id[:]...)
}

// parseMKKey splits a master-key index key; ok is false for a malformed key.
func parseMKKey(k []byte) (kind byte, bucket, key string, id meta.ID, ok bool) {
	if len(k) < 1+4+1+1+1+16 || k[0] != pMKIndex {
		return 0, "", "", id, false
	}
	kind = k[5]
	rest := k[6 : len(k)-17]
	if k[len(k)-17] != 0 {
		return 0, "", "", id, false
	}
	copy(id[:], k[len(k)-16:])
	for i, c := range rest {
		if c == 0 {
			return kind, string(rest[:i]), string(rest[i+1:]), id, true
		}
	}
	return 0, "", "", id, false
}

func shardsKey(id meta.ID) []byte { return append([]byte{pShards}, id[:]...) }

// encodeShardsRef is the value of a shards index entry:
// kind ‖ uvarint part ‖ id(16) ‖ bucket ‖ 0x00 ‖ key.
func encodeShardsRef(kind byte, part int, bucket, key string, id meta.ID) []byte {
	v := make([]byte, 0, 1+binary.MaxVarintLen32+16+len(bucket)+1+len(key))
	v = append(v, kind)
	v = binary.AppendUvarint(v, uint64(part))
	v = append(v, id[:]...)
	v = append(v, bucket...)
	v = append(v, 0)
	return append(v, key...)
}

func decodeShardsRef(v []byte) (meta.ShardsRef, bool) {
	var r meta.ShardsRef
	if len(v) < 1 || v[0] != kindObject && v[0] != kindUpload {
		return r, false
	}
	r.Upload = v[0] == kindUpload
	part, n := binary.Uvarint(v[1:])
	if n <= 0 || part > meta.PartNumberMax || len(v) < 1+n+16 {
		return r, false
	}
	r.Part = int(part)
	rest := v[1+n:]
	copy(r.VersionID[:], rest[:16])
	rest = rest[16:]
	for i, c := range rest {
		if c == 0 {
			r.Bucket, r.Key = string(rest[:i]), string(rest[i+1:])
			return r, true
		}
	}
	return r, false
}

func requestKey(id meta.ID) []byte { return append([]byte{pRequest}, id[:]...) }

func reqAgeKey(index uint64, id meta.ID) []byte {
	k := binary.BigEndian.AppendUint64([]byte{pReqAge}, index)
	return append(k, id[:]...)
}

// prefixEnd returns the smallest key greater than every key with prefix p, or nil if
// there is none (p is all 0xff).
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] != 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}
