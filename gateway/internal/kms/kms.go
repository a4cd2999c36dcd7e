package kms

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/coffer-io/coffer/sse"
)

// Errors callers can branch on.
var (
	// ErrMalformed reports material, a sealed material or a blob that does not parse.
	ErrMalformed = errors.New("kms: malformed data")
	// ErrAuth reports a seal or blob that does not open: wrong key, CMK or context.
	ErrAuth = errors.New("kms: authentication failed")
	// ErrNoVersion reports a blob of a material version the CMK does not have, or a
	// CMK without material (pending import).
	ErrNoVersion = errors.New("kms: no such key material version")
	// ErrImport reports a failed import: no pending import, wrong or expired token,
	// or wrapped material that does not unwrap to a 32-byte key.
	ErrImport = errors.New("kms: import failed")
	// ErrLimit reports a value over one of the named limits.
	ErrLimit = errors.New("kms: limit exceeded")
)

// Limits.
const (
	// KeyBytes is the size of one material version.
	KeyBytes = 32
	// VersionsMax bounds the material versions of one CMK (rotations + 1).
	VersionsMax = 1000
	// PlaintextBytesMax bounds what Encrypt seals.
	PlaintextBytesMax = 4096
	// TokenBytes is the size of an import token.
	TokenBytes = 16
	// privateKeyBytesMax bounds the DER of an import wrapping key.
	privateKeyBytesMax = 4096
)

// RSA sizes accepted for import wrapping keys.
const (
	WrappingBits2048 = 2048
	WrappingBits3072 = 3072
)

const (
	version      = 1
	saltBytes    = 16
	nonceBytes   = 12
	tagBytes     = 16
	headBytes    = 5
	materialInfo = "coffer kms material v1"
	dataInfo     = "coffer kms data v1"
	materialAAD  = "coffer cmk v1\x00"
)

var (
	materialMagic = [4]byte{'C', 'F', 'K', 'M'}
	sealedMagic   = [4]byte{'C', 'F', 'K', 'S'}
	blobMagic     = [4]byte{'C', 'F', 'K', 'C'}
)

// Import is a pending import: the one-time RSA wrapping key and its token.
type Import struct {
	Token [TokenBytes]byte
	// Expires is the end of the token's validity (unix ns).
	Expires int64
	// PrivateKey is the PKCS#8 DER of the RSA wrapping key.
	PrivateKey []byte
}

// Material is the key material of one CMK.
type Material struct {
	// Versions holds the material versions; version v is Versions[v-1].
	Versions []sse.Key
	// Import is the pending import, or nil.
	Import *Import
}

// Current is the newest material version, 0 when there is none.
func (m *Material) Current() uint32 { return uint32(len(m.Versions)) }

// Clone returns a deep copy of m.
func (m *Material) Clone() Material {
	c := Material{Versions: append([]sse.Key(nil), m.Versions...)}
	if m.Import != nil {
		im := *m.Import
		im.PrivateKey = append([]byte(nil), im.PrivateKey...)
		c.Import = &im
	}
	return c
}

// NewMaterial returns material of one fresh random version (origin COFFER).
func NewMaterial(rnd io.Reader) (Material, error) {
	var k sse.Key
	if _, err := io.ReadFull(rnd, k[:]); err != nil {
		return Material{}, fmt.Errorf("kms: new material: %w", err)
	}
	return Material{Versions: []sse.Key{k}}, nil
}

// Rotate appends a fresh random version; older versions stay for Decrypt.
func (m *Material) Rotate(rnd io.Reader) error {
	if len(m.Versions) >= VersionsMax {
		return fmt.Errorf("%w: %d material versions", ErrLimit, VersionsMax)
	}
	var k sse.Key
	if _, err := io.ReadFull(rnd, k[:]); err != nil {
		return fmt.Errorf("kms: rotate: %w", err)
	}
	m.Versions = append(m.Versions, k)
	return nil
}

// Encode returns the plaintext encoding of m (see the package doc).
func (m *Material) Encode() []byte {
	out := append([]byte(nil), materialMagic[:]...)
	out = append(out, version)
	out = binary.BigEndian.AppendUint32(out, uint32(len(m.Versions)))
	for i := range m.Versions {
		out = append(out, m.Versions[i][:]...)
	}
	if m.Import == nil {
		return append(out, 0)
	}
	out = append(out, 1)
	out = append(out, m.Import.Token[:]...)
	out = binary.BigEndian.AppendUint64(out, uint64(m.Import.Expires))
	out = binary.BigEndian.AppendUint32(out, uint32(len(m.Import.PrivateKey)))
	return append(out, m.Import.PrivateKey...)
}

// ParseMaterial parses Encode's output. Malformed input fails with ErrMalformed.
func ParseMaterial(b []byte) (Material, error) {
	bad := func(what string) (Material, error) {
		return Material{}, fmt.Errorf("%w: material %s", ErrMalformed, what)
	}
	if len(b) < headBytes+4+1 || [4]byte(b[:4]) != materialMagic {
		return bad("header")
	}
	if b[4] != version {
		return bad("version")
	}
	n := binary.BigEndian.Uint32(b[headBytes:])
	b = b[headBytes+4:]
	if n > VersionsMax || uint64(len(b)) < uint64(n)*KeyBytes+1 {
		return bad("versions")
	}
	var m Material
	if n > 0 {
		m.Versions = make([]sse.Key, n)
	}
	for i := range m.Versions {
		copy(m.Versions[i][:], b[:KeyBytes])
		b = b[KeyBytes:]
	}
	flag := b[0]
	b = b[1:]
	switch flag {
	case 0:
		if len(b) != 0 {
			return bad("trailing bytes")
		}
		return m, nil
	case 1:
	default:
		return bad("import flag")
	}
	if len(b) < TokenBytes+8+4 {
		return bad("import")
	}
	im := &Import{Expires: int64(binary.BigEndian.Uint64(b[TokenBytes:]))}
	copy(im.Token[:], b)
	l := binary.BigEndian.Uint32(b[TokenBytes+8:])
	b = b[TokenBytes+8+4:]
	if l > privateKeyBytesMax || uint32(len(b)) != l {
		return bad("import key")
	}
	im.PrivateKey = append([]byte(nil), b...)
	m.Import = im
	return m, nil
}

func derive(secret []byte, salt []byte, info string) (cipher.AEAD, error) {
	k, err := hkdf.Key(sha256.New, secret, salt, info, KeyBytes)
	if err != nil {
		return nil, fmt.Errorf("kms: hkdf: %w", err)
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, fmt.Errorf("kms: %w", err)
	}
	return cipher.NewGCM(block)
}

// SealMaterial seals m under the root key for the CMK cmkID.
func SealMaterial(rnd io.Reader, root sse.Key, cmkID string, m *Material) ([]byte, error) {
	plain := m.Encode()
	out := make([]byte, headBytes+saltBytes+nonceBytes, headBytes+saltBytes+nonceBytes+len(plain)+tagBytes)
	copy(out, sealedMagic[:])
	out[4] = version
	if _, err := io.ReadFull(rnd, out[headBytes:]); err != nil {
		return nil, fmt.Errorf("kms: seal material: %w", err)
	}
	aead, err := derive(root[:], out[headBytes:headBytes+saltBytes], materialInfo)
	if err != nil {
		return nil, err
	}
	return aead.Seal(out, out[headBytes+saltBytes:], plain, []byte(materialAAD+cmkID)), nil
}

// OpenMaterial opens SealMaterial's output. It fails with ErrMalformed or ErrAuth
// (wrong root key, CMK id, or changed bytes).
func OpenMaterial(root sse.Key, cmkID string, sealed []byte) (Material, error) {
	const at = headBytes + saltBytes + nonceBytes
	if len(sealed) < at+tagBytes || [4]byte(sealed[:4]) != sealedMagic || sealed[4] != version {
		return Material{}, fmt.Errorf("%w: sealed material header", ErrMalformed)
	}
	aead, err := derive(root[:], sealed[headBytes:headBytes+saltBytes], materialInfo)
	if err != nil {
		return Material{}, err
	}
	plain, err := aead.Open(nil, sealed[headBytes+saltBytes:at], sealed[at:], []byte(materialAAD+cmkID))
	if err != nil {
		return Material{}, fmt.Errorf("%w: sealed material of cmk %q", ErrAuth, cmkID)
	}
	return ParseMaterial(plain)
}

const blobHeadBytes = headBytes + 4 + saltBytes + nonceBytes

// BlobOverhead is what Encrypt adds to a plaintext.
const BlobOverhead = blobHeadBytes + tagBytes

func blobAAD(head []byte, cmkID string, ctx map[string]string) []byte {
	aad := append([]byte(nil), head...)
	aad = binary.BigEndian.AppendUint32(aad, uint32(len(cmkID)))
	aad = append(aad, cmkID...)
	return sse.AppendContext(aad, ctx)
}

// Encrypt seals plaintext (at most PlaintextBytesMax) under the current material
// version of the CMK cmkID, bound to the encryption context ctx.
func Encrypt(rnd io.Reader, m *Material, cmkID string, ctx map[string]string, plaintext []byte) ([]byte, error) {
	if len(plaintext) > PlaintextBytesMax {
		return nil, fmt.Errorf("%w: plaintext of %d bytes", ErrLimit, len(plaintext))
	}
	v := m.Current()
	if v == 0 {
		return nil, ErrNoVersion
	}
	out := make([]byte, blobHeadBytes, blobHeadBytes+len(plaintext)+tagBytes)
	copy(out, blobMagic[:])
	out[4] = version
	binary.BigEndian.PutUint32(out[headBytes:], v)
	if _, err := io.ReadFull(rnd, out[headBytes+4:]); err != nil {
		return nil, fmt.Errorf("kms: encrypt: %w", err)
	}
	aead, err := derive(m.Versions[v-1][:], out[headBytes+4:headBytes+4+saltBytes], dataInfo)
	if err != nil {
		return nil, err
	}
	return aead.Seal(out, out[headBytes+4+saltBytes:blobHeadBytes], plaintext, blobAAD(out, cmkID, ctx)), nil
}

// BlobVersion returns the material version a blob was sealed under.
func BlobVersion(blob []byte) (uint32, error) {
	if len(blob) < BlobOverhead || [4]byte(blob[:4]) != blobMagic || blob[4] != version {
		return 0, fmt.Errorf("%w: blob header", ErrMalformed)
	}
	return binary.BigEndian.Uint32(blob[headBytes:]), nil
}

// Decrypt opens a blob of Encrypt under the same CMK and context. It fails with
// ErrMalformed, ErrNoVersion or ErrAuth; it does not retain blob.
func Decrypt(m *Material, cmkID string, ctx map[string]string, blob []byte) ([]byte, error) {
	v, err := BlobVersion(blob)
	if err != nil {
		return nil, err
	}
	if v == 0 || v > m.Current() {
		return nil, fmt.Errorf("%w: %d", ErrNoVersion, v)
	}
	aead, err := derive(m.Versions[v-1][:], blob[headBytes+4:headBytes+4+saltBytes], dataInfo)
	if err != nil {
		return nil, err
	}
	plain, err := aead.Open(nil, blob[headBytes+4+saltBytes:blobHeadBytes], blob[blobHeadBytes:], blobAAD(blob[:blobHeadBytes], cmkID, ctx))
	if err != nil {
		return nil, ErrAuth
	}
	return plain, nil
}

// NewImport makes a pending import: a fresh RSA key of bits (WrappingBits2048 or
// WrappingBits3072) and token, valid until expires (unix ns). It returns the import
// to store in the material and the PKIX DER of the public key to hand out.
func NewImport(rnd io.Reader, bits int, expires int64) (*Import, []byte, error) {
	if bits != WrappingBits2048 && bits != WrappingBits3072 {
		return nil, nil, fmt.Errorf("%w: wrapping key of %d bits", ErrImport, bits)
	}
	im := &Import{Expires: expires}
	if _, err := io.ReadFull(rnd, im.Token[:]); err != nil {
		return nil, nil, fmt.Errorf("kms: import token: %w", err)
	}
	priv, err := rsa.GenerateKey(rnd, bits)
	if err != nil {
		return nil, nil, fmt.Errorf("kms: import key: %w", err)
	}
	if im.PrivateKey, err = x509.MarshalPKCS8PrivateKey(priv); err != nil {
		return nil, nil, fmt.Errorf("kms: import key: %w", err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		return nil, nil, fmt.Errorf("kms: import key: %w", err)
	}
	return im, pub, nil
}

// ImportMaterial unwraps wrapped (RSA-OAEP-SHA256 of a 32-byte key under the pending
// import's public key) with token at time now (unix ns), appends it as a new version
// and clears the pending import. It fails with ErrImport.
func (m *Material) ImportMaterial(token []byte, wrapped []byte, now int64) error {
	im := m.Import
	if im == nil {
		return fmt.Errorf("%w: no import parameters were issued", ErrImport)
	}
	if len(token) != TokenBytes || subtle.ConstantTimeCompare(token, im.Token[:]) != 1 {
		return fmt.Errorf("%w: wrong import token", ErrImport)
	}
	if now > im.Expires {
		return fmt.Errorf("%w: import token expired", ErrImport)
	}
	if len(m.Versions) >= VersionsMax {
		return fmt.Errorf("%w: %d material versions", ErrLimit, VersionsMax)
	}
	k, err := x509.ParsePKCS8PrivateKey(im.PrivateKey)
	if err != nil {
		return fmt.Errorf("%w: wrapping key: %v", ErrMalformed, err)
	}
	priv, ok := k.(*rsa.PrivateKey)
	if !ok {
		return fmt.Errorf("%w: wrapping key is not RSA", ErrMalformed)
	}
	plain, err := rsa.DecryptOAEP(sha256.New(), nil, priv, wrapped, nil)
	if err != nil || len(plain) != KeyBytes {
		return fmt.Errorf("%w: wrapped key material does not unwrap to %d bytes", ErrImport, KeyBytes)
	}
	m.Versions = append(m.Versions, sse.Key(plain))
	m.Import = nil
	return nil
}
