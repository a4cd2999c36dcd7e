// Package ssetest provides helpers for testing code that uses package sse: a
// deterministic in-memory KMS whose keys can be created, disabled, enabled and deleted,
// a seeded source of randomness, and deterministic keys and master-key rings.
// Everything is reproducible from a seed; KMS is safe for concurrent use, the reader
// Rand returns is not. Nothing here is fit for production (the "KMS" keeps its keys in
// memory, in the clear).
package ssetest

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"

	"github.com/coffer-io/coffer/sse"
)

// Rand returns a deterministic io.Reader of pseudo-random bytes for seed, to pass
// where sse takes randomness. It is not safe for concurrent use.
func Rand(seed uint64) io.Reader {
	var s [32]byte
	binary.BigEndian.PutUint64(s[:], seed)
	return rand.NewChaCha8(s)
}

// KMS is an in-memory sse.KMS. Data keys are sealed with AES-256-GCM under the CMK's
// material, with the CMK id and the canonical encryption context (sse.AppendContext)
// as additional data. A CMK id of "" means the default CMK, created on first use as
// DESIGN.md 6.2 describes.
type KMS struct {
	mu sync.Mutex
	// mu guards the fields below.
	rng       io.Reader
	keys      map[string]*cmk
	defaultID string
}

type cmk struct {
	aead     cipher.AEAD
	disabled bool
}

var _ sse.KMS = (*KMS)(nil)

// NewKMS returns an empty KMS whose ids, key material and nonces all derive from seed.
func NewKMS(seed uint64) *KMS {
	return &KMS{rng: Rand(seed), keys: make(map[string]*cmk)}
}

// CreateKey makes an enabled CMK and returns its id (UUID-shaped).
func (k *KMS) CreateKey() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.createLocked()
}

func (k *KMS) createLocked() string {
	var id [16]byte
	var material [sse.KeyBytes]byte
	k.read(id[:])
	k.read(material[:])
	h := hex.EncodeToString(id[:])
	name := h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
	block, err := aes.NewCipher(material[:])
	if err != nil {
		panic(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	k.keys[name] = &cmk{aead: aead}
	return name
}

func (k *KMS) read(b []byte) {
	if _, err := io.ReadFull(k.rng, b); err != nil {
		panic(err) // ChaCha8 never fails
	}
}

// DefaultKey returns the id of the default CMK, creating it if needed.
func (k *KMS) DefaultKey() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.defaultLocked()
}

func (k *KMS) defaultLocked() string {
	if k.defaultID == "" {
		k.defaultID = k.createLocked()
	}
	return k.defaultID
}

// Disable makes the CMK refuse to generate and decrypt (sse.ErrKMSKeyDisabled).
func (k *KMS) Disable(id string) error { return k.setDisabled(id, true) }

// Enable undoes Disable.
func (k *KMS) Enable(id string) error { return k.setDisabled(id, false) }

func (k *KMS) setDisabled(id string, disabled bool) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	c, ok := k.keys[id]
	if !ok {
		return fmt.Errorf("ssetest: %q: %w", id, sse.ErrKMSKeyNotFound)
	}
	c.disabled = disabled
	return nil
}

// Delete destroys the CMK; data keys sealed under it can never be decrypted again.
func (k *KMS) Delete(id string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.keys[id]; !ok {
		return fmt.Errorf("ssetest: %q: %w", id, sse.ErrKMSKeyNotFound)
	}
	delete(k.keys, id)
	return nil
}

// resolveLocked returns the CMK named id ("" is the default).
func (k *KMS) resolveLocked(id string) (string, *cmk, error) {
	if id == "" {
		id = k.defaultLocked()
	}
	c, ok := k.keys[id]
	switch {
	case !ok:
		return "", nil, fmt.Errorf("ssetest: %q: %w", id, sse.ErrKMSKeyNotFound)
	case c.disabled:
		return "", nil, fmt.Errorf("ssetest: %q: %w", id, sse.ErrKMSKeyDisabled)
	}
	return id, c, nil
}

func aad(id string, encCtx map[string]string) []byte {
	return sse.AppendContext(append([]byte("ssetest kms\x00"), id+"\x00"...), encCtx)
}

// GenerateDataKey implements sse.KMS.
func (k *KMS) GenerateDataKey(ctx context.Context, cmkID string, encCtx map[string]string) (plaintext, sealed []byte, keyID string, err error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, "", err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	id, c, err := k.resolveLocked(cmkID)
	if err != nil {
		return nil, nil, "", err
	}
	plaintext = make([]byte, sse.KeyBytes)
	nonce := make([]byte, c.aead.NonceSize(), c.aead.NonceSize()+sse.KeyBytes+c.aead.Overhead())
	k.read(plaintext)
	k.read(nonce)
	return plaintext, c.aead.Seal(nonce, nonce, plaintext, aad(id, encCtx)), id, nil
}

// Decrypt implements sse.KMS.
func (k *KMS) Decrypt(ctx context.Context, cmkID string, sealed []byte, encCtx map[string]string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	id, c, err := k.resolveLocked(cmkID)
	if err != nil {
		return nil, err
	}
	n := c.aead.NonceSize()
	if len(sealed) != n+sse.KeyBytes+c.aead.Overhead() {
		return nil, fmt.Errorf("ssetest: sealed data key of %d bytes: %w", len(sealed), sse.ErrAuth)
	}
	plain, err := c.aead.Open(nil, sealed[:n], sealed[n:], aad(id, encCtx))
	if err != nil {
		return nil, fmt.Errorf("ssetest: decrypt under %q: %w", id, sse.ErrAuth)
	}
	return plain, nil
}
