package gateway

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/coffer-io/coffer/cluster/meta"
	"github.com/coffer-io/coffer/gateway/internal/kms"
	"github.com/coffer-io/coffer/gateway/internal/wire"
	"github.com/coffer-io/coffer/sse"
)

// The built-in KMS (DESIGN.md 6.2). CMK records live in the metadata cluster
// (meta.CMK, written with PutCMK compare-and-set on the revision); their key material
// is sealed by the root key before it enters Raft (gateway/internal/kms documents the
// formats). Every gateway serves the KMS from the same records, so it implements
// sse.KMS without any state of its own beyond a cache of unsealed material.
//
// Fail closed: a CMK that is Disabled, PendingImport or PendingDeletion answers
// sse.ErrKMSKeyDisabled on every operation that uses its material, and an unknown one
// sse.ErrKMSKeyNotFound, so neither a write nor a read of an object under it proceeds.
// Unsealed material is cached for at most KMSCacheTTL: a state change made through
// this gateway takes effect at once; one made through another gateway within
// KMSCacheTTL. A CMK past its deletion date is removed on first touch.

const (
	// DefaultCMKAlias is the alias of the CMK used when SSE-KMS names none. It is
	// created on first use; aliases are unique in the metadata cluster, so gateways
	// racing to create it end with one.
	DefaultCMKAlias = "coffer/default"
	// KMSCacheTTL bounds how long unsealed CMK material (and state) is reused.
	KMSCacheTTL = 5 * time.Second
	// KMSImportValidity is how long import parameters (wrapping key and token) stay valid.
	KMSImportValidity = 24 * time.Hour
	// KMSDeletionDaysMin and KMSDeletionDaysMax bound the grace period of a scheduled
	// deletion; KMSDeletionDaysDefault is used when none is given.
	KMSDeletionDaysMin     = 7
	KMSDeletionDaysMax     = 30
	KMSDeletionDaysDefault = 30
	// kmsAliasBytesMax and kmsDescriptionBytesMax bound the free-text fields of a CMK.
	kmsAliasBytesMax       = 256
	kmsDescriptionBytesMax = 8192
	// kmsPutRetriesMax bounds compare-and-set retries of one CMK update.
	kmsPutRetriesMax = 8
)

// cmkEntry is a CMK record with its unsealed material; never printed.
type cmkEntry struct {
	cmk meta.CMK
	mat kms.Material
}

// builtinKMS implements sse.KMS on the metadata cluster.
type builtinKMS struct {
	meta  Meta
	root  sse.Key
	rand  io.Reader
	now   func() time.Time
	cache *kms.Cache // CMK id → *cmkEntry; "alias:"+alias → id
}

var _ sse.KMS = (*builtinKMS)(nil)

func newBuiltinKMS(m Meta, root sse.Key, rnd io.Reader, now func() time.Time, ttl time.Duration) *builtinKMS {
	return &builtinKMS{meta: m, root: root, rand: rnd, now: now, cache: kms.NewCache(ttl, now)}
}

// kms returns the server's built-in KMS, made on first use.
func (s *Server) kms() *builtinKMS {
	s.keys.kmsOnce.Do(func() {
		s.keys.kms = newBuiltinKMS(s.meta, s.cfg.RootKey, s.cfg.Rand, s.cfg.Now, KMSCacheTTL)
	})
	return s.keys.kms
}

// load returns the CMK with id and its material, from the cache or the cluster.
func (k *builtinKMS) load(ctx context.Context, id string) (*cmkEntry, error) {
	if v, ok := k.cache.Get(id); ok {
		return v.(*cmkEntry), nil
	}
	c, err := k.meta.GetCMK(ctx, id)
	if errors.Is(err, meta.ErrCMKNotFound) {
		return nil, fmt.Errorf("gateway: cmk %q: %w", id, sse.ErrKMSKeyNotFound)
	}
	if err != nil {
		return nil, err
	}
	if c.State == meta.CMKPendingDeletion && c.DeletionDate != 0 && k.now().UnixNano() >= c.DeletionDate {
		if err := k.deleteCMK(ctx, c.ID, c.Revision); err != nil && !errors.Is(err, meta.ErrCMKNotFound) && !errors.Is(err, meta.ErrConflict) {
			return nil, err
		}
		return nil, fmt.Errorf("gateway: cmk %q deleted: %w", id, sse.ErrKMSKeyNotFound)
	}
	mat, err := kms.OpenMaterial(k.root, c.ID, c.SealedMaterial)
	if err != nil {
		return nil, fmt.Errorf("gateway: cmk %q material: %w", id, err)
	}
	e := &cmkEntry{cmk: *c, mat: mat}
	k.cache.Put(id, e)
	return e, nil
}

// resolve finds a CMK by id or alias; "" is the default CMK, created when missing.
func (k *builtinKMS) resolve(ctx context.Context, idOrAlias string) (*cmkEntry, error) {
	if idOrAlias == "" {
		return k.defaultCMK(ctx)
	}
	e, err := k.load(ctx, idOrAlias)
	if !errors.Is(err, sse.ErrKMSKeyNotFound) {
		return e, err
	}
	id, err := k.aliasID(ctx, idOrAlias)
	if err != nil {
		return nil, err
	}
	return k.load(ctx, id)
}

// aliasID returns the id of the CMK with alias a.
func (k *builtinKMS) aliasID(ctx context.Context, a string) (string, error) {
	if v, ok := k.cache.Get("alias:" + a); ok {
		return v.(string), nil
	}
	all, err := k.meta.ListCMKs(ctx)
	if err != nil {
		return "", err
	}
	for _, c := range all {
		if c.Alias == a {
			k.cache.Put("alias:"+a, c.ID)
			return c.ID, nil
		}
	}
	return "", fmt.Errorf("gateway: cmk alias %q: %w", a, sse.ErrKMSKeyNotFound)
}

// defaultCMK returns the default CMK, creating it on first use.
func (k *builtinKMS) defaultCMK(ctx context.Context) (*cmkEntry, error) {
	for attempt := 0; ; attempt++ {
		id, err := k.aliasID(ctx, DefaultCMKAlias)
		if err == nil {
			return k.load(ctx, id)
		}
		if !errors.Is(err, sse.ErrKMSKeyNotFound) || attempt > 0 {
			return nil, err
		}
		_, err = k.create(ctx, DefaultCMKAlias, "default key of SSE-KMS", meta.OriginCoffer)
		if err != nil && !errors.Is(err, meta.ErrConflict) {
			return nil, err
		}
		// Created, or another gateway won the alias: read it back.
	}
}

// putCMK writes c with compare-and-set on expect and returns the new revision.
func (k *builtinKMS) putCMK(ctx context.Context, c meta.CMK, expect uint64) (uint64, error) {
	res, err := k.meta.Apply(ctx, &meta.PutCMK{CMK: c, ExpectRevision: expect})
	if err != nil {
		return 0, err
	}
	return res.Epoch, nil
}

// deleteCMK removes the CMK id at revision expect.
func (k *builtinKMS) deleteCMK(ctx context.Context, id string, expect uint64) error {
	_, err := k.meta.Apply(ctx, &meta.DeleteCMK{ID: id, ExpectRevision: expect})
	return err
}

// newCMKID draws a random UUID (version 4) text.
func newCMKID(rnd io.Reader) (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(rnd, b[:]); err != nil {
		return "", fmt.Errorf("gateway: cmk id: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:], nil
}

// create makes a CMK: origin COFFER with fresh material, or EXTERNAL awaiting import.
func (k *builtinKMS) create(ctx context.Context, alias, desc, origin string) (*meta.CMK, error) {
	var errs []error
	if len(alias) > kmsAliasBytesMax {
		errs = append(errs, fmt.Errorf("alias longer than %d bytes", kmsAliasBytesMax))
	}
	if len(desc) > kmsDescriptionBytesMax {
		errs = append(errs, fmt.Errorf("description longer than %d bytes", kmsDescriptionBytesMax))
	}
	if origin == "" {
		origin = meta.OriginCoffer
	}
	if origin != meta.OriginCoffer && origin != meta.OriginExternal {
		errs = append(errs, fmt.Errorf("origin must be %s or %s", meta.OriginCoffer, meta.OriginExternal))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, wire.Errorf(wire.ErrInvalidArgument, "%v", err)
	}
	id, err := newCMKID(k.rand)
	if err != nil {
		return nil, err
	}
	c := meta.CMK{ID: id, Alias: alias, Description: desc, Origin: origin, State: meta.CMKEnabled, Created: k.now().UnixNano()}
	var mat kms.Material
	if origin == meta.OriginCoffer {
		if mat, err = kms.NewMaterial(k.rand); err != nil {
			return nil, err
		}
	} else {
		c.State = meta.CMKPendingImport
	}
	if c.SealedMaterial, err = kms.SealMaterial(k.rand, k.root, id, &mat); err != nil {
		return nil, err
	}
	if c.Revision, err = k.putCMK(ctx, c, 0); err != nil {
		return nil, fmt.Errorf("gateway: create cmk: %w", err)
	}
	return &c, nil
}

// update applies change to the CMK idOrAlias (fresh from the cluster) and writes it
// back with compare-and-set, retrying on conflicts. change may edit the material; it
// is resealed when it did.
func (k *builtinKMS) update(ctx context.Context, idOrAlias string, change func(c *meta.CMK, mat *kms.Material) (bool, error)) (*meta.CMK, error) {
	for attempt := 0; ; attempt++ {
		e, err := k.resolve(ctx, idOrAlias)
		if err != nil {
			return nil, err
		}
		id := e.cmk.ID
		k.cache.Forget(id)
		if e, err = k.load(ctx, id); err != nil {
			return nil, err
		}
		c, mat := e.cmk, e.mat.Clone()
		k.cache.Forget(id)
		resealed, err := change(&c, &mat)
		if err != nil {
			return nil, err
		}
		if resealed {
			if c.SealedMaterial, err = kms.SealMaterial(k.rand, k.root, id, &mat); err != nil {
				return nil, err
			}
		}
		rev, err := k.putCMK(ctx, c, e.cmk.Revision)
		k.cache.Forget(id)
		if errors.Is(err, meta.ErrConflict) && attempt < kmsPutRetriesMax {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("gateway: update cmk: %w", err)
		}
		c.Revision = rev
		return &c, nil
	}
}

// usable checks that a CMK's material may be used.
func usable(e *cmkEntry) error {
	if e.cmk.State != meta.CMKEnabled {
		return fmt.Errorf("gateway: cmk %s is %s: %w", e.cmk.ID, e.cmk.State, sse.ErrKMSKeyDisabled)
	}
	return nil
}

// GenerateDataKey implements sse.KMS.
func (k *builtinKMS) GenerateDataKey(ctx context.Context, cmkID string, encCtx map[string]string) ([]byte, []byte, string, error) {
	e, err := k.resolve(ctx, cmkID)
	if err != nil {
		return nil, nil, "", err
	}
	if err := usable(e); err != nil {
		return nil, nil, "", err
	}
	plain := make([]byte, kms.KeyBytes)
	if _, err := io.ReadFull(k.rand, plain); err != nil {
		return nil, nil, "", fmt.Errorf("gateway: data key: %w", err)
	}
	blob, err := kms.Encrypt(k.rand, &e.mat, e.cmk.ID, encCtx, plain)
	if err != nil {
		return nil, nil, "", err
	}
	return plain, blob, e.cmk.ID, nil
}

// Encrypt seals plaintext under the CMK idOrAlias with the context.
func (k *builtinKMS) Encrypt(ctx context.Context, idOrAlias string, encCtx map[string]string, plaintext []byte) ([]byte, string, error) {
	e, err := k.resolve(ctx, idOrAlias)
	if err != nil {
		return nil, "", err
	}
	if err := usable(e); err != nil {
		return nil, "", err
	}
	blob, err := kms.Encrypt(k.rand, &e.mat, e.cmk.ID, encCtx, plaintext)
	if err != nil {
		return nil, "", kmsError(err)
	}
	return blob, e.cmk.ID, nil
}

// Decrypt implements sse.KMS; cmkID may also be an alias.
func (k *builtinKMS) Decrypt(ctx context.Context, cmkID string, sealed []byte, encCtx map[string]string) ([]byte, error) {
	e, err := k.resolve(ctx, cmkID)
	if err != nil {
		return nil, err
	}
	if err := usable(e); err != nil {
		return nil, err
	}
	plain, err := kms.Decrypt(&e.mat, e.cmk.ID, encCtx, sealed)
	if err != nil {
		return nil, kmsError(err)
	}
	return plain, nil
}

// kmsError maps a kms package error to what the gateway reports: a blob that does
// not open is sse.ErrAuth (forged or moved key material), bad input InvalidArgument.
func kmsError(err error) error {
	switch {
	case errors.Is(err, kms.ErrAuth), errors.Is(err, kms.ErrNoVersion), errors.Is(err, kms.ErrMalformed):
		return fmt.Errorf("gateway: kms: %w: %w", sse.ErrAuth, err)
	case errors.Is(err, kms.ErrLimit), errors.Is(err, kms.ErrImport):
		return wire.Errorf(wire.ErrInvalidArgument, "%v", err)
	}
	return err
}

// kmsRequest is the SSE-KMS part of a write: the CMK (id or alias; "" for the
// default) and the encryption context, decoded and as sent.
type kmsRequest struct {
	keyID      string
	context    map[string]string
	contextRaw string
}

// kmsRequestOf returns the SSE-KMS parameters of a write whose mode writeMode
// resolved: the request's headers, else the bucket default's CMK.
func kmsRequestOf(req wire.SSERequest, b *meta.Bucket) kmsRequest {
	switch {
	case req.Mode == wire.SSEKMS:
		return kmsRequest{keyID: req.KMSKeyID, context: req.KMSContext, contextRaw: req.KMSContextRaw}
	case req.Mode == wire.SSENone && b != nil && b.Encryption.Mode == meta.ModeSSEKMS:
		return kmsRequest{keyID: b.Encryption.CMKID}
	}
	return kmsRequest{}
}

// kmsKEK asks the KMS for a data key under kr's CMK: it is the KEK of a new object's
// DEK. It returns the KEK, the KMS blob to store and the CMK id.
func (s *Server) kmsKEK(ctx context.Context, kr kmsRequest) (sse.Key, []byte, string, error) {
	plain, blob, id, err := s.kms().GenerateDataKey(ctx, kr.keyID, kr.context)
	if err != nil {
		return sse.Key{}, nil, "", err
	}
	if len(plain) != sse.KeyBytes {
		return sse.Key{}, nil, "", fmt.Errorf("gateway: kms data key of %d bytes", len(plain))
	}
	return sse.Key(plain), blob, id, nil
}

// kmsOpenKEK recovers the KEK of an SSE-KMS record: the KMS blob is what precedes
// the sealed DEK in rec.SealedDEK.
func (s *Server) kmsOpenKEK(ctx context.Context, rec meta.SSE, encCtx map[string]string) (sse.Key, []byte, error) {
	if len(rec.SealedDEK) <= sse.SealedDEKBytes {
		return sse.Key{}, nil, fmt.Errorf("gateway: sse-kms record: %w", sse.ErrSealed)
	}
	split := len(rec.SealedDEK) - sse.SealedDEKBytes
	plain, err := s.kms().Decrypt(ctx, rec.CMKID, rec.SealedDEK[:split], encCtx)
	if err != nil {
		return sse.Key{}, nil, err
	}
	if len(plain) != sse.KeyBytes {
		return sse.Key{}, nil, fmt.Errorf("gateway: kms data key: %w", sse.ErrAuth)
	}
	return sse.Key(plain), rec.SealedDEK[split:], nil
}

// recordContext decodes the encryption context stored in an SSE-KMS record.
func recordContext(rec meta.SSE) (map[string]string, error) {
	if rec.Mode != meta.ModeSSEKMS || rec.Context == "" {
		return nil, nil
	}
	m, err := wire.DecodeKMSContext(rec.Context)
	if err != nil {
		return nil, fmt.Errorf("gateway: stored encryption context: %w", sse.ErrAuth)
	}
	return m, nil
}

// kmsBinding is binding with the SSE-KMS reference added: the CMK id and the decoded
// encryption context encCtx of an SSE-KMS record (DESIGN.md 6.1).
func kmsBinding(bucket, key string, vid meta.ID, rec meta.SSE, encCtx map[string]string) sse.Binding {
	b := binding(bucket, key, vid, rec)
	if rec.Mode == meta.ModeSSEKMS {
		b.CMKID, b.Context = rec.CMKID, encCtx
	}
	return b
}

// ResealCMKs seals the material of every CMK again from the gateway's root key to
// newRoot, for a root-key rotation (DESIGN.md 6.1); ResealRoot covers the ring and
// the user secrets. It is idempotent: material that already opens under newRoot is
// left alone, so an interrupted run is finished by running it again. It returns how
// many CMKs it resealed. Afterwards every gateway must run with newRoot.
func (s *Server) ResealCMKs(ctx context.Context, newRoot sse.Key) (int, error) {
	k := s.kms()
	all, err := s.meta.ListCMKs(ctx)
	if err != nil {
		return 0, fmt.Errorf("gateway: list cmks: %w", err)
	}
	n := 0
	for _, c := range all {
		for attempt := 0; ; attempt++ {
			if _, err := kms.OpenMaterial(newRoot, c.ID, c.SealedMaterial); err == nil {
				break
			}
			mat, err := kms.OpenMaterial(k.root, c.ID, c.SealedMaterial)
			if err != nil {
				return n, fmt.Errorf("gateway: cmk %s opens under neither root key: %w", c.ID, err)
			}
			if c.SealedMaterial, err = kms.SealMaterial(k.rand, newRoot, c.ID, &mat); err != nil {
				return n, err
			}
			_, err = k.putCMK(ctx, c, c.Revision)
			k.cache.Forget(c.ID)
			if err == nil {
				n++
				break
			}
			if !errors.Is(err, meta.ErrConflict) || attempt >= kmsPutRetriesMax {
				return n, fmt.Errorf("gateway: reseal cmk %s: %w", c.ID, err)
			}
			fresh, err := s.meta.GetCMK(ctx, c.ID)
			if errors.Is(err, meta.ErrCMKNotFound) {
				break
			}
			if err != nil {
				return n, err
			}
			c = *fresh
		}
	}
	return n, nil
}
