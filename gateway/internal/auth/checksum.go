package auth

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"net/http"
	"strings"
)

// checksumAlg is one of the S3 additional checksums (x-amz-checksum-*), sent as
// the base64 of the big-endian digest.
type checksumAlg struct {
	header string // lower-case header / trailer name
	size   int    // digest size in bytes
	new    func() hash.Hash
}

// crc64NVMEPoly is the reflected CRC-64/NVME polynomial (normal form
// 0xAD93D23594C93659); Go's crc64 uses init and final XOR ^0 as NVME specifies.
const crc64NVMEPoly = 0x9a6c9329ac4bc9b5

var (
	castagnoli = crc32.MakeTable(crc32.Castagnoli)
	nvmeTable  = crc64.MakeTable(crc64NVMEPoly)
)

var checksumAlgs = []checksumAlg{
	{"x-amz-checksum-crc32", 4, func() hash.Hash { return crc32.NewIEEE() }},
	{"x-amz-checksum-crc32c", 4, func() hash.Hash { return crc32.New(castagnoli) }},
	{"x-amz-checksum-crc64nvme", 8, func() hash.Hash { return crc64.New(nvmeTable) }},
	{"x-amz-checksum-sha1", sha1.Size, sha1.New},
	{"x-amz-checksum-sha256", sha256.Size, sha256.New},
}

func checksumByName(name string) *checksumAlg {
	name = strings.ToLower(name)
	for i := range checksumAlgs {
		if checksumAlgs[i].header == name {
			return &checksumAlgs[i]
		}
	}
	return nil
}

// decodeChecksum decodes a base64 checksum value of the algorithm's size.
func (c *checksumAlg) decode(v string) ([]byte, bool) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v))
	if err != nil || len(b) != c.size {
		return nil, false
	}
	return b, true
}

func errBadDigest(c *checksumAlg) *Error {
	alg := strings.ToUpper(strings.TrimPrefix(c.header, "x-amz-checksum-"))
	return newErr(ErrChecksumMismatch, "BadDigest", http.StatusBadRequest,
		"The "+alg+" you specified did not match the calculated checksum.")
}

func errBadChecksumValue(name string) *Error {
	return newErr(ErrMalformed, "InvalidRequest", http.StatusBadRequest,
		"Value for "+name+" header is invalid.")
}

// headerChecksum finds the one x-amz-checksum-<alg> header of r, if any.
func headerChecksum(r *http.Request) (*checksumAlg, []byte, error) {
	var alg *checksumAlg
	var want []byte
	for name, vals := range r.Header {
		c := checksumByName(name)
		if c == nil {
			continue
		}
		if alg != nil || len(vals) != 1 {
			return nil, nil, newErr(ErrMalformed, "InvalidRequest", http.StatusBadRequest,
				"Expecting a single x-amz-checksum- header. Multiple checksum types are not allowed.")
		}
		b, ok := c.decode(vals[0])
		if !ok {
			return nil, nil, errBadChecksumValue(c.header)
		}
		alg, want = c, b
	}
	return alg, want, nil
}
