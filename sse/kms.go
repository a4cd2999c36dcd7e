package sse

import "context"

// KMS is the key management service the gateway uses for SSE-KMS (DESIGN.md 6.2). The
// built-in KMS lives in the metadata cluster; an external one can be plugged in behind
// the same two methods. Implementations must be safe for concurrent use.
//
// The plaintext data key a KMS returns serves as the KEK of an SSE-KMS object: the
// object's DEK is sealed under it with SealDEK and a Binding of ModeKMS carrying the
// CMK id and the same encryption context, and the KMS's sealed blob is stored beside
// the sealed DEK.
type KMS interface {
	// GenerateDataKey returns a fresh 32-byte data key under the CMK cmkID ("" selects
	// the default CMK), bound to the encryption context encCtx (may be nil): the
	// plaintext, the sealed form to store, and the id of the CMK that sealed it. The
	// caller owns both slices. It fails with ErrKMSKeyNotFound or ErrKMSKeyDisabled.
	GenerateDataKey(ctx context.Context, cmkID string, encCtx map[string]string) (plaintext, sealed []byte, keyID string, err error)
	// Decrypt returns the plaintext of a data key that GenerateDataKey sealed under the
	// CMK cmkID with the same encryption context. It does not retain sealed. It fails
	// with ErrKMSKeyNotFound, ErrKMSKeyDisabled, or ErrAuth when the blob, the CMK or
	// the context differ.
	Decrypt(ctx context.Context, cmkID string, sealed []byte, encCtx map[string]string) ([]byte, error)
}
