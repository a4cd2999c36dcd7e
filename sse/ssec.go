package sse

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"io"
)

// SSE-C constants (cos-api.md section 3).
const (
	// SSECAlgorithm is the only customer-key algorithm COS and S3 accept.
	SSECAlgorithm = "AES256"
	// SaltBytesMin is the shortest salt CustomerKEK and CustomerKeyMAC accept.
	SaltBytesMin = 16
	// SaltBytes is the salt size NewSalt draws.
	SaltBytes = 32
	// CustomerKeyMACBytes is the size of CustomerKeyMAC's result.
	CustomerKeyMACBytes = sha256.Size

	customerKeyB64Max = 64 // base64 of 32 bytes is 44 characters; longer is not a key
	ssecKEKInfo       = "coffer sse-c kek v1"
	ssecMACLabel      = "coffer sse-c verify v1"
)

// ParseCustomerKey checks the three SSE-C headers of a request (algorithm, base64 key,
// base64 key MD5) and returns the customer key. Distinct sentinels let the gateway pick
// the COS error code: ErrSSECIncomplete when any of the three is empty,
// ErrSSECAlgorithm, ErrSSECKey (not base64 of exactly 32 bytes) and ErrSSECKeyMD5
// (malformed, or not the MD5 of the key). No error contains the key.
func ParseCustomerKey(algorithm, keyB64, keyMD5B64 string) (Key, error) {
	if algorithm == "" || keyB64 == "" || keyMD5B64 == "" {
		return Key{}, ErrSSECIncomplete
	}
	if algorithm != SSECAlgorithm {
		return Key{}, ErrSSECAlgorithm
	}
	var raw [customerKeyB64Max]byte
	if len(keyB64) > customerKeyB64Max {
		return Key{}, ErrSSECKey
	}
	n, err := base64.StdEncoding.Decode(raw[:], []byte(keyB64))
	if err != nil || n != KeyBytes {
		return Key{}, ErrSSECKey
	}
	key := Key(raw[:KeyBytes])
	clear(raw[:])
	var sum [md5.Size + 3]byte
	if len(keyMD5B64) > base64.StdEncoding.EncodedLen(md5.Size) {
		return Key{}, ErrSSECKeyMD5
	}
	m, err := base64.StdEncoding.Decode(sum[:], []byte(keyMD5B64))
	if err != nil || m != md5.Size {
		return Key{}, ErrSSECKeyMD5
	}
	want := md5.Sum(key[:])
	if subtle.ConstantTimeCompare(want[:], sum[:md5.Size]) != 1 {
		return Key{}, ErrSSECKeyMD5
	}
	return key, nil
}

// CustomerKeyMD5 returns base64(MD5(key)), the value echoed in the
// x-cos-server-side-encryption-customer-key-MD5 response header.
func CustomerKeyMD5(key Key) string {
	sum := md5.Sum(key[:])
	return base64.StdEncoding.EncodeToString(sum[:])
}

// NewSalt draws a SaltBytes salt for an SSE-C object version from rand.
func NewSalt(rand io.Reader) ([]byte, error) {
	salt := make([]byte, SaltBytes)
	if _, err := io.ReadFull(rand, salt); err != nil {
		return nil, fmt.Errorf("sse: salt: %w", err)
	}
	return salt, nil
}

// CustomerKEK derives the key encryption key of an SSE-C object version from the
// customer key and the version's salt: HKDF-SHA256(secret = customer key, salt,
// info = "coffer sse-c kek v1"). It fails with ErrSalt on a salt shorter than
// SaltBytesMin.
func CustomerKEK(customer Key, salt []byte) (Key, error) {
	if len(salt) < SaltBytesMin {
		return Key{}, fmt.Errorf("%w: %d bytes", ErrSalt, len(salt))
	}
	b, err := hkdf.Key(sha256.New, customer[:], salt, ssecKEKInfo, KeyBytes)
	if err != nil {
		panic("sse: hkdf: " + err.Error())
	}
	return Key(b), nil
}

// CustomerKeyMAC is what the server keeps to recognise a customer key:
// HMAC-SHA256(key = customer key, "coffer sse-c verify v1" ‖ salt). The label keeps it
// independent of CustomerKEK. It fails with ErrSalt on a short salt.
func CustomerKeyMAC(customer Key, salt []byte) ([]byte, error) {
	if len(salt) < SaltBytesMin {
		return nil, fmt.Errorf("%w: %d bytes", ErrSalt, len(salt))
	}
	h := hmac.New(sha256.New, customer[:])
	h.Write([]byte(ssecMACLabel))
	h.Write(salt)
	return h.Sum(nil), nil
}

// VerifyCustomerKey checks in constant time that customer is the key whose MAC under
// salt is mac. It fails with ErrSSECKeyMismatch (the gateway answers 403) or ErrSalt.
func VerifyCustomerKey(customer Key, salt, mac []byte) error {
	got, err := CustomerKeyMAC(customer, salt)
	if err != nil {
		return err
	}
	if !hmac.Equal(got, mac) {
		return ErrSSECKeyMismatch
	}
	return nil
}
