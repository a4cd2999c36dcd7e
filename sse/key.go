package sse

import (
	"fmt"
	"io"
)

// KeyBytes is the size of every key in this package: AES-256.
const KeyBytes = 32

// redacted is what a Key prints as, whatever the verb.
const redacted = "sse.Key(REDACTED)"

// Key is 256 bits of secret key material: a data key, a key encryption key, a part key,
// a master-key version or a customer key. It formats as a redaction under every fmt
// verb, so it cannot leak through %v, %x, %#v or %s.
type Key [KeyBytes]byte

// String returns a redaction, never the key.
func (Key) String() string { return redacted }

// GoString returns a redaction, never the key.
func (Key) GoString() string { return redacted }

// Format writes a redaction for every verb, including %x and %d.
func (Key) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, redacted) }

// KeyFromBytes copies b into a Key. It fails with ErrKeySize unless len(b) == KeyBytes.
func KeyFromBytes(b []byte) (Key, error) {
	var k Key
	if len(b) != KeyBytes {
		return k, fmt.Errorf("%w: got %d bytes", ErrKeySize, len(b))
	}
	copy(k[:], b)
	return k, nil
}

// GenerateDEK draws a fresh data key from rand (crypto/rand.Reader in production).
func GenerateDEK(rand io.Reader) (Key, error) {
	var k Key
	if _, err := io.ReadFull(rand, k[:]); err != nil {
		return Key{}, fmt.Errorf("sse: generate key: %w", err)
	}
	return k, nil
}
