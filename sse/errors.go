package sse

import "errors"

// Sentinel errors. Functions wrap them once with context ("sse: package 3: ...") and
// callers branch with errors.Is. None of them ever carries key material.
var (
	// ErrKeySize reports key material that is not KeyBytes long.
	ErrKeySize = errors.New("sse: key must be 32 bytes")

	// ErrHeader reports a stream header with a wrong magic or non-zero reserved bytes.
	ErrHeader = errors.New("sse: malformed stream header")
	// ErrVersion reports a stream, sealed key or ring of an unknown format version or
	// cipher suite.
	ErrVersion = errors.New("sse: unsupported format version or suite")
	// ErrAuth reports a package or sealed key whose authentication failed: wrong key,
	// tampered bytes, reordered, duplicated or spliced packages, or a changed binding.
	ErrAuth = errors.New("sse: message authentication failed")
	// ErrTruncated reports a stream that ends early: inside the header, inside a package,
	// or without its final package.
	ErrTruncated = errors.New("sse: truncated stream")
	// ErrTrailing reports bytes after the final package of a stream of known size.
	ErrTrailing = errors.New("sse: data after the final package")
	// ErrTooLarge reports a plaintext beyond StreamBytesMax.
	ErrTooLarge = errors.New("sse: stream too large")
	// ErrRange reports a plaintext range outside the object or a negative size.
	ErrRange = errors.New("sse: invalid range")

	// ErrSealed reports a sealed data key that cannot be parsed.
	ErrSealed = errors.New("sse: malformed sealed key")
	// ErrBinding reports a Binding that is invalid for its mode or over a limit.
	ErrBinding = errors.New("sse: invalid key binding")
	// ErrPartNumber reports a part number outside [1, PartNumberMax].
	ErrPartNumber = errors.New("sse: invalid part number")

	// ErrRing reports a master-key ring encoding that cannot be parsed or breaks an
	// invariant (one active version, increasing version numbers).
	ErrRing = errors.New("sse: malformed master-key ring")
	// ErrKeyVersion reports a master-key version that is not in the ring.
	ErrKeyVersion = errors.New("sse: master-key version not found")
	// ErrKeyRetired reports a master-key version that was retired; its material is gone.
	ErrKeyRetired = errors.New("sse: master-key version retired")
	// ErrKeyState reports a state transition the ring does not allow (retiring the
	// active version, for example).
	ErrKeyState = errors.New("sse: invalid master-key state transition")

	// ErrSSECIncomplete reports that some but not all SSE-C headers were given.
	ErrSSECIncomplete = errors.New("sse: incomplete SSE-C headers")
	// ErrSSECAlgorithm reports an SSE-C algorithm other than "AES256".
	ErrSSECAlgorithm = errors.New("sse: unsupported SSE-C algorithm")
	// ErrSSECKey reports an SSE-C key that is not base64 of exactly 32 bytes.
	ErrSSECKey = errors.New("sse: invalid SSE-C key")
	// ErrSSECKeyMD5 reports an SSE-C key MD5 that is malformed or does not match the key.
	ErrSSECKeyMD5 = errors.New("sse: SSE-C key MD5 mismatch")
	// ErrSSECKeyMismatch reports a customer key that is not the one the object was
	// written with (its salted MAC differs).
	ErrSSECKeyMismatch = errors.New("sse: SSE-C key does not match the object")
	// ErrSalt reports an SSE-C salt shorter than SaltBytesMin.
	ErrSalt = errors.New("sse: salt too short")

	// ErrKMSKeyNotFound is returned by a KMS for an unknown (or deleted) CMK.
	ErrKMSKeyNotFound = errors.New("sse: kms key not found")
	// ErrKMSKeyDisabled is returned by a KMS for a CMK that exists but is disabled.
	ErrKMSKeyDisabled = errors.New("sse: kms key disabled")
)

// IsCorrupt reports whether err means stored bytes are damaged or forged: a stream, a
// sealed key or a ring that fails authentication or parsing. (AES-GCM cannot tell a
// wrong key from damaged bytes; callers that can rule out a wrong key, such as SSE-C
// after VerifyCustomerKey, may report the object for healing.) ErrVersion is not
// corruption: it may be a newer format.
func IsCorrupt(err error) bool {
	for _, target := range []error{ErrAuth, ErrTruncated, ErrTrailing, ErrHeader, ErrSealed, ErrRing} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}
