package sse

import (
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
)

// Mode is the SSE mode a data key is sealed for. It is bound into the seal, so a
// sealed DEK cannot be replayed under another mode.
type Mode string

// The modes of DESIGN.md section 6.1. ModeNone is at-rest encryption of an object
// stored without SSE headers; it is sealed like ModeCOS.
const (
	ModeNone Mode = "none"
	ModeCOS  Mode = "sse-cos"
	ModeKMS  Mode = "sse-kms"
	ModeC    Mode = "sse-c"
)

// Limits on a Binding, so its encoding stays small and bounded.
const (
	// BindingFieldBytesMax bounds every string of a Binding, and every key and value of
	// its Context.
	BindingFieldBytesMax = 4096
	// ContextPairsMax bounds the pairs of an SSE-KMS encryption context.
	ContextPairsMax = 64
)

// Binding is the identity a data key is sealed to: which object version, under which
// mode, with which key reference. Its canonical encoding (AppendCanonical) is the
// additional data of the seal.
type Binding struct {
	// Bucket, Key and VersionID name the object version; all are required. For a
	// multipart upload, VersionID is the id the upload will commit as.
	Bucket, Key, VersionID string
	// Mode is the SSE mode.
	Mode Mode
	// KeyVersion is the master-key version that seals the DEK: ≥ 1 for ModeNone and
	// ModeCOS, 0 otherwise.
	KeyVersion uint32
	// CMKID is the KMS customer master key: required for ModeKMS, empty otherwise.
	CMKID string
	// Context is the SSE-KMS encryption context (ModeKMS only; may be empty). Its
	// encoding is canonical: pairs sorted by key.
	Context map[string]string
}

// Validate reports every problem of b at once; each wraps ErrBinding.
func (b Binding) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrBinding}, args...)...))
	}
	for _, f := range []struct{ name, v string }{{"bucket", b.Bucket}, {"key", b.Key}, {"version id", b.VersionID}} {
		if f.v == "" {
			bad("empty %s", f.name)
		}
		if len(f.v) > BindingFieldBytesMax {
			bad("%s of %d bytes", f.name, len(f.v))
		}
	}
	if len(b.CMKID) > BindingFieldBytesMax {
		bad("cmk id of %d bytes", len(b.CMKID))
	}
	if len(b.Context) > ContextPairsMax {
		bad("%d context pairs", len(b.Context))
	}
	for k, v := range b.Context {
		if len(k) > BindingFieldBytesMax || len(v) > BindingFieldBytesMax {
			bad("context pair of %d+%d bytes", len(k), len(v))
			break
		}
	}
	switch b.Mode {
	case ModeNone, ModeCOS:
		if b.KeyVersion == 0 {
			bad("mode %s needs a master-key version", b.Mode)
		}
		if b.CMKID != "" || len(b.Context) > 0 {
			bad("mode %s takes no cmk id or context", b.Mode)
		}
	case ModeKMS:
		if b.CMKID == "" {
			bad("mode %s needs a cmk id", b.Mode)
		}
		if b.KeyVersion != 0 {
			bad("mode %s takes no master-key version", b.Mode)
		}
	case ModeC:
		if b.KeyVersion != 0 || b.CMKID != "" || len(b.Context) > 0 {
			bad("mode %s takes no key reference", b.Mode)
		}
	default:
		bad("unknown mode %q", b.Mode)
	}
	return errors.Join(errs...)
}

// bindingEncoding versions the canonical encoding of a Binding.
const bindingEncoding = 1

// AppendCanonical appends the canonical encoding of b to dst:
//
//	0x01 ‖ str(bucket) ‖ str(key) ‖ str(version id) ‖ str(mode) ‖ u32(key version) ‖
//	str(cmk id) ‖ u32(pairs) ‖ (str(k) ‖ str(v))* sorted by k
//
// where str(s) = u32be(len(s)) ‖ s. Every field is length-prefixed, so distinct
// bindings never encode alike. It fails as Validate does.
func (b Binding) AppendCanonical(dst []byte) ([]byte, error) {
	if err := b.Validate(); err != nil {
		return dst, err
	}
	dst = append(dst, bindingEncoding)
	for _, s := range []string{b.Bucket, b.Key, b.VersionID, string(b.Mode)} {
		dst = appendString(dst, s)
	}
	dst = binary.BigEndian.AppendUint32(dst, b.KeyVersion)
	dst = appendString(dst, b.CMKID)
	return AppendContext(dst, b.Context), nil
}

// AppendContext appends the canonical encoding of an encryption context to dst:
// u32be(pairs) ‖ (str(k) ‖ str(v))* with pairs sorted by key, str as in
// Binding.AppendCanonical. A KMS uses it as the additional data of a context.
func AppendContext(dst []byte, ctx map[string]string) []byte {
	keys := make([]string, 0, len(ctx))
	for k := range ctx {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(keys)))
	for _, k := range keys {
		dst = appendString(appendString(dst, k), ctx[k])
	}
	return dst
}

func appendString(dst []byte, s string) []byte {
	return append(binary.BigEndian.AppendUint32(dst, uint32(len(s))), s...)
}

// SealedDEKBytes is the size of a sealed data key (FORMAT.md section 2).
const SealedDEKBytes = sealCipherAt + KeyBytes + TagBytes // 81

// Sealed data key layout: magic ‖ version ‖ salt ‖ nonce ‖ ciphertext ‖ tag.
const (
	sealVersion   = 1
	sealSaltBytes = 16
	sealHeadBytes = 4 + 1
	sealNonceAt   = sealHeadBytes + sealSaltBytes
	sealCipherAt  = sealNonceAt + nonceBytes
	sealInfo      = "coffer dek seal v1"
)

var sealMagic = [4]byte{'C', 'F', 'D', 'K'}

// sealKey derives the one-seal AES key from the KEK and the seal's random salt, so the
// number of seals under one KEK never approaches the GCM random-nonce bound.
func sealKey(kek *Key, salt []byte) Key {
	b, err := hkdf.Key(sha256.New, kek[:], salt, sealInfo, KeyBytes)
	if err != nil {
		panic("sse: hkdf: " + err.Error())
	}
	return Key(b)
}

// SealDEK seals dek under kek for binding b, drawing salt and nonce from rand. The
// result is SealedDEKBytes long and owned by the caller. It fails with ErrBinding when b
// is invalid.
func SealDEK(rand io.Reader, kek, dek Key, b Binding) ([]byte, error) {
	out := make([]byte, sealCipherAt, SealedDEKBytes)
	copy(out, sealMagic[:])
	out[4] = sealVersion
	aad, err := b.AppendCanonical(out[:sealHeadBytes:sealHeadBytes])
	if err != nil {
		return nil, err
	}
	if _, err := io.ReadFull(rand, out[sealHeadBytes:sealCipherAt]); err != nil {
		return nil, fmt.Errorf("sse: seal: %w", err)
	}
	k := sealKey(&kek, out[sealHeadBytes:sealNonceAt])
	return newGCM(&k).Seal(out, out[sealNonceAt:sealCipherAt], dek[:], aad), nil
}

// UnsealDEK opens a sealed DEK under kek, checking that it was sealed for binding b. It
// fails with ErrSealed or ErrVersion on a malformed seal, ErrBinding on an invalid b,
// and ErrAuth when kek or b differ from the seal's (or the bytes were changed). It does
// not retain sealed.
func UnsealDEK(kek Key, sealed []byte, b Binding) (Key, error) {
	if len(sealed) != SealedDEKBytes || [4]byte(sealed[:4]) != sealMagic {
		return Key{}, fmt.Errorf("%w: %d bytes", ErrSealed, len(sealed))
	}
	if sealed[4] != sealVersion {
		return Key{}, fmt.Errorf("%w: sealed key version %d", ErrVersion, sealed[4])
	}
	aad, err := b.AppendCanonical(append(make([]byte, 0, 256), sealed[:sealHeadBytes]...))
	if err != nil {
		return Key{}, err
	}
	k := sealKey(&kek, sealed[sealHeadBytes:sealNonceAt])
	var dek Key
	if _, err := newGCM(&k).Open(dek[:0], sealed[sealNonceAt:sealCipherAt], sealed[sealCipherAt:], aad); err != nil {
		return Key{}, fmt.Errorf("sse: unseal data key: %w", ErrAuth)
	}
	return dek, nil
}

// PartNumberMax is the highest multipart part number (COS and S3 allow 10000 parts).
const PartNumberMax = 10000

// PartKey derives the key of one upload of multipart part number part
// (1..PartNumberMax) from the upload's DEK: HKDF-SHA256(secret = upload DEK, salt,
// info = "coffer part" ‖ u32be(part)). Each part is an independent stream under its own
// key and nonce prefix.
//
// salt (at least SaltBytesMin bytes, from NewSalt) is drawn afresh for every Upload
// Part request and kept in the part table: clients may upload the same part number
// again, and without it two uploads of one part would share a key, leaving only the
// 32-bit nonce prefix between them and GCM nonce reuse. It fails with ErrPartNumber or
// ErrSalt.
func PartKey(upload Key, part int, salt []byte) (Key, error) {
	if part < 1 || part > PartNumberMax {
		return Key{}, fmt.Errorf("%w: %d", ErrPartNumber, part)
	}
	if len(salt) < SaltBytesMin {
		return Key{}, fmt.Errorf("%w: %d bytes", ErrSalt, len(salt))
	}
	info := binary.BigEndian.AppendUint32([]byte("coffer part"), uint32(part))
	b, err := hkdf.Key(sha256.New, upload[:], salt, string(info), KeyBytes)
	if err != nil {
		panic("sse: hkdf: " + err.Error())
	}
	return Key(b), nil
}
