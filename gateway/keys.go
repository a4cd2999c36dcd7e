package gateway

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/coffer-io/coffer/cluster/meta"
	"github.com/coffer-io/coffer/gateway/internal/wire"
	"github.com/coffer-io/coffer/sse"
)

// keyCache holds the master-key ring and the key-encryption keys unsealed from it.
// The ring is re-read from the metadata cluster when a version is asked for that it
// does not know, and when the cached copy is older than ringTTL, so a rotation made by
// any gateway is picked up.
type keyCache struct {
	meta Meta
	root sse.Key
	rand io.Reader
	now  func() time.Time

	mu        sync.Mutex // guards the fields below
	checked   time.Time  // when the ring was last read
	epoch     uint64
	ring      *sse.Ring
	activeVer uint32
	keks      map[uint32]sse.Key

	kmsOnce sync.Once   // makes kms, the built-in KMS (kms.go)
	kms     *builtinKMS // nil until first use
}

// ringTTL is how long a gateway seals new data keys under its cached active version
// before it reads the ring again, so a rotation anywhere is in use within ringTTL.
const ringTTL = time.Second

func newKeyCache(m Meta, root sse.Key, rand io.Reader, now func() time.Time) *keyCache {
	return &keyCache{meta: m, root: root, rand: rand, now: now, keks: map[uint32]sse.Key{}}
}

// errNoRing: the cluster has no master-key ring yet (Bootstrap makes one).
var errNoRing = errors.New("gateway: master-key ring not initialised")

func (k *keyCache) refresh(ctx context.Context) error {
	kr, err := k.meta.KeyRing(ctx)
	if err != nil {
		return fmt.Errorf("gateway: read key ring: %w", err)
	}
	if kr.Epoch == 0 {
		return errNoRing
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.checked = k.now()
	if kr.Epoch == k.epoch {
		return nil
	}
	ring, err := sse.ParseRing(kr.Sealed)
	if err != nil {
		return fmt.Errorf("gateway: key ring: %w", err)
	}
	k.ring, k.epoch, k.activeVer = ring, kr.Epoch, kr.Active
	k.keks = map[uint32]sse.Key{}
	return nil
}

// active returns the master-key version new objects are sealed under, and its key.
func (k *keyCache) active(ctx context.Context) (uint32, sse.Key, error) {
	k.mu.Lock()
	v, stale := k.activeVer, k.now().Sub(k.checked) >= ringTTL
	if stale && v != 0 {
		k.checked = k.now() // one caller re-reads; the others go on with the cached version
	}
	k.mu.Unlock()
	if v == 0 || stale {
		// A failed re-read keeps the cached version: the state machine refuses it
		// if it has been retired meanwhile.
		if err := k.refresh(ctx); err != nil && v == 0 {
			return 0, sse.Key{}, err
		}
		k.mu.Lock()
		v = k.activeVer
		k.mu.Unlock()
	}
	kek, err := k.version(ctx, v)
	return v, kek, err
}

// version returns the key of master-key version v.
func (k *keyCache) version(ctx context.Context, v uint32) (sse.Key, error) {
	for attempt := 0; ; attempt++ {
		k.mu.Lock()
		if kek, ok := k.keks[v]; ok {
			k.mu.Unlock()
			return kek, nil
		}
		ring := k.ring
		k.mu.Unlock()
		if ring != nil {
			kek, err := ring.Unseal(k.root, v)
			if err == nil {
				k.mu.Lock()
				if k.ring == ring {
					k.keks[v] = kek
				}
				k.mu.Unlock()
				return kek, nil
			}
			if !errors.Is(err, sse.ErrKeyVersion) || attempt > 0 {
				return sse.Key{}, fmt.Errorf("gateway: master key %d: %w", v, err)
			}
		} else if attempt > 0 {
			return sse.Key{}, errNoRing
		}
		if err := k.refresh(ctx); err != nil {
			return sse.Key{}, err
		}
	}
}

// userSecretAAD binds a sealed user secret to its access key id.
const userSecretAAD = "coffer user secret v1\x00"

// sealUserSecret seals a user's secret key under the root key (DESIGN.md 6.1).
func sealUserSecret(rnd io.Reader, root sse.Key, accessKeyID, secret string) ([]byte, error) {
	aead, err := newGCM(root)
	if err != nil {
		return nil, err
	}
	out := make([]byte, aead.NonceSize(), aead.NonceSize()+len(secret)+aead.Overhead())
	if _, err := io.ReadFull(rnd, out); err != nil {
		return nil, fmt.Errorf("gateway: seal secret: %w", err)
	}
	return aead.Seal(out, out, []byte(secret), []byte(userSecretAAD+accessKeyID)), nil
}

// openUserSecret reverses sealUserSecret.
func openUserSecret(root sse.Key, accessKeyID string, sealed []byte) (string, error) {
	aead, err := newGCM(root)
	if err != nil {
		return "", err
	}
	if len(sealed) < aead.NonceSize()+aead.Overhead() {
		return "", errors.New("gateway: sealed secret too short")
	}
	n := aead.NonceSize()
	plain, err := aead.Open(nil, sealed[:n], sealed[n:], []byte(userSecretAAD+accessKeyID))
	if err != nil {
		return "", errors.New("gateway: sealed secret does not open under the root key")
	}
	return string(plain), nil
}

func newGCM(k sse.Key) (cipher.AEAD, error) {
	block, err := aes.NewCipher(k[:])
	if err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	return cipher.NewGCM(block)
}

// dataKey is an object's (or upload's) data key with its sealed record.
type dataKey struct {
	dek   sse.Key
	nonce sse.NoncePrefix
	rec   meta.SSE
}

// binding is the identity a data key is sealed to.
func binding(bucket, key string, vid meta.ID, rec meta.SSE) sse.Binding {
	b := sse.Binding{Bucket: bucket, Key: key, VersionID: vid.String(), Mode: sse.Mode(rec.Mode)}
	if rec.Mode.UsesMasterKey() {
		b.KeyVersion = rec.MasterKeyVersion
	}
	return b
}

// newDataKey draws a fresh data key for object version vid of bucket/key and seals
// it. Objects stored without SSE headers are sealed under the master-key ring like
// SSE-COS, with mode "none" in the binding (DESIGN.md section 3, step 2). SSE-C seals
// it under CustomerKEK(ck, salt) and records only the salt and the key's HMAC; ck is
// required for SSE-C and ignored otherwise. SSE-KMS asks the KMS for a data key under
// kr's CMK and context, seals the DEK under it, and stores the KMS's blob followed by
// the sealed DEK, the CMK id and the context as sent.
func (s *Server) newDataKey(ctx context.Context, bucket, key string, vid meta.ID, mode meta.SSEMode, ck *customerKey, kr kmsRequest) (dataKey, error) {
	var (
		rec     meta.SSE
		kek     sse.Key
		err     error
		kmsBlob []byte
	)
	switch {
	case mode.UsesMasterKey():
		rec.Mode = mode
		rec.MasterKeyVersion, kek, err = s.keys.active(ctx)
	case mode == meta.ModeSSEC:
		if ck == nil {
			// A caller that took the mode from writeMode, not objectSSE.
			return dataKey{}, wire.Errorf(wire.ErrNotImplemented, "SSE-C is not available for this operation")
		}
		rec.Mode = mode
		kek, rec.CustomerSalt, rec.CustomerHMAC, err = s.customerKEK(ck)
	case mode == meta.ModeSSEKMS:
		rec.Mode, rec.Context = mode, kr.contextRaw
		kek, kmsBlob, rec.CMKID, err = s.kmsKEK(ctx, kr)
	default:
		return dataKey{}, fmt.Errorf("gateway: unknown SSE mode %q", mode)
	}
	if err != nil {
		return dataKey{}, err
	}
	dek, err := sse.GenerateDEK(s.cfg.Rand)
	if err != nil {
		return dataKey{}, err
	}
	nonce, err := sse.NewNoncePrefix(s.cfg.Rand)
	if err != nil {
		return dataKey{}, err
	}
	rec.SealedDEK, err = sse.SealDEK(s.cfg.Rand, kek, dek, kmsBinding(bucket, key, vid, rec, kr.context))
	if err != nil {
		return dataKey{}, err
	}
	if kmsBlob != nil {
		rec.SealedDEK = append(kmsBlob, rec.SealedDEK...)
	}
	return dataKey{dek: dek, nonce: nonce, rec: rec}, nil
}

// customerKEK draws a salt for a new SSE-C version and derives its key-encryption
// key and the HMAC the server keeps.
func (s *Server) customerKEK(ck *customerKey) (kek sse.Key, salt, mac []byte, err error) {
	if salt, err = sse.NewSalt(s.cfg.Rand); err != nil {
		return sse.Key{}, nil, nil, err
	}
	if kek, err = sse.CustomerKEK(ck.key, salt); err != nil {
		return sse.Key{}, nil, nil, err
	}
	if mac, err = sse.CustomerKeyMAC(ck.key, salt); err != nil {
		return sse.Key{}, nil, nil, err
	}
	return kek, salt, mac, nil
}

// openDataKey unseals the data key of a version (or upload) record. An SSE-C record
// needs the customer key ck, which must match the record's HMAC
// (sse.ErrSSECKeyMismatch otherwise); other modes ignore ck — callers check with
// checkCustomer that none was given.
func (s *Server) openDataKey(ctx context.Context, bucket, key string, vid meta.ID, rec meta.SSE, ck *customerKey) (sse.Key, error) {
	var (
		kek    sse.Key
		sealed = rec.SealedDEK
		encCtx map[string]string
	)
	switch {
	case rec.Mode.UsesMasterKey():
		var err error
		if kek, err = s.keys.version(ctx, rec.MasterKeyVersion); err != nil {
			return sse.Key{}, err
		}
	case rec.Mode == meta.ModeSSEC:
		if ck == nil {
			return sse.Key{}, errSSECRequired
		}
		if err := sse.VerifyCustomerKey(ck.key, rec.CustomerSalt, rec.CustomerHMAC); err != nil {
			return sse.Key{}, err
		}
		var err error
		if kek, err = sse.CustomerKEK(ck.key, rec.CustomerSalt); err != nil {
			return sse.Key{}, err
		}
	case rec.Mode == meta.ModeSSEKMS:
		var err error
		if encCtx, err = recordContext(rec); err != nil {
			return sse.Key{}, err
		}
		if kek, sealed, err = s.kmsOpenKEK(ctx, rec, encCtx); err != nil {
			return sse.Key{}, err
		}
	default:
		return sse.Key{}, fmt.Errorf("gateway: unknown SSE mode %q", rec.Mode)
	}
	return sse.UnsealDEK(kek, sealed, kmsBinding(bucket, key, vid, rec, encCtx))
}
