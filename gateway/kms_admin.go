package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/coffer-io/coffer/cluster/meta"
	"github.com/coffer-io/coffer/gateway/internal/kms"
	"github.com/coffer-io/coffer/gateway/internal/wire"
)

// The KMS admin API (JSON, under AdminPrefix + "kms/"):
//
//	POST kms/keys                          create          KMSCreateRequest → KMSKey
//	GET  kms/keys                          list            → KMSKeyList
//	GET  kms/keys/{id|alias}               describe        → KMSKey
//	POST kms/keys/{id}/enable              enable          → KMSKey
//	POST kms/keys/{id}/disable             disable         → KMSKey
//	POST kms/keys/{id}/schedule-deletion   KMSScheduleDeletionRequest → KMSKey
//	POST kms/keys/{id}/cancel-deletion     → KMSKey (Enabled again; PendingImport if it has no material)
//	POST kms/keys/{id}/rotate              new material version (COFFER keys) → KMSKey
//	POST kms/keys/{id}/import-params       KMSImportParamsRequest → KMSImportParams (EXTERNAL keys)
//	POST kms/keys/{id}/import              KMSImportRequest → KMSKey
//	POST kms/encrypt                       KMSCryptRequest → KMSCryptResponse
//	POST kms/decrypt                       KMSCryptRequest → KMSCryptResponse
//	POST kms/generate-data-key             KMSCryptRequest → KMSCryptResponse
//
// Byte fields are base64 in JSON (encoding/json's []byte). Errors are COS XML errors:
// KmsKeyNotExist, KmsKeyDisabled, InvalidRequest (operation not allowed in the key's
// state), InvalidArgument.

// KMSKey describes a CMK; it never carries key material.
type KMSKey struct {
	KeyID       string
	Alias       string `json:",omitempty"`
	Description string `json:",omitempty"`
	// Origin is COFFER or EXTERNAL; State Enabled, Disabled, PendingImport or
	// PendingDeletion.
	Origin string
	State  string
	// MaterialVersions counts the key material versions (rotations + 1).
	MaterialVersions uint32
	Created          time.Time
	LastRotated      *time.Time `json:",omitempty"`
	DeletionDate     *time.Time `json:",omitempty"`
}

// KMSKeyList is the answer of list.
type KMSKeyList struct {
	Keys []KMSKey
}

// KMSCreateRequest creates a CMK. Origin is COFFER (default) or EXTERNAL.
type KMSCreateRequest struct {
	Alias       string `json:",omitempty"`
	Description string `json:",omitempty"`
	Origin      string `json:",omitempty"`
}

// KMSScheduleDeletionRequest schedules a deletion after PendingWindowDays
// (KMSDeletionDaysMin..KMSDeletionDaysMax; 0 means KMSDeletionDaysDefault).
type KMSScheduleDeletionRequest struct {
	PendingWindowDays int `json:",omitempty"`
}

// KMSImportParamsRequest asks for import parameters; WrappingKeyBits is 2048 or
// 3072 (0 means 2048). The wrapping algorithm is RSAES-OAEP with SHA-256.
type KMSImportParamsRequest struct {
	WrappingKeyBits int `json:",omitempty"`
}

// KMSImportParams is the one-time wrapping key (PKIX DER) and the import token.
type KMSImportParams struct {
	KeyID             string
	PublicKey         []byte
	ImportToken       []byte
	WrappingAlgorithm string
	ValidTo           time.Time
}

// KMSImportRequest imports 32 bytes of key material wrapped with RSA-OAEP-SHA256
// under the public key of KMSImportParams.
type KMSImportRequest struct {
	ImportToken          []byte
	EncryptedKeyMaterial []byte
}

// KMSCryptRequest is the input of encrypt (KeyID, Context, Plaintext), decrypt
// (KeyID, Context, CiphertextBlob) and generate-data-key (KeyID, Context). An empty
// KeyID selects the default CMK for encrypt and generate-data-key.
type KMSCryptRequest struct {
	KeyID          string            `json:",omitempty"`
	Context        map[string]string `json:",omitempty"`
	Plaintext      []byte            `json:",omitempty"`
	CiphertextBlob []byte            `json:",omitempty"`
}

// KMSCryptResponse is the output of encrypt, decrypt and generate-data-key.
type KMSCryptResponse struct {
	KeyID          string
	Plaintext      []byte `json:",omitempty"`
	CiphertextBlob []byte `json:",omitempty"`
}

// WrappingAlgorithmOAEPSHA256 names the import wrapping algorithm.
const WrappingAlgorithmOAEPSHA256 = "RSAES_OAEP_SHA_256"

func timePtr(ns int64) *time.Time {
	if ns == 0 {
		return nil
	}
	t := time.Unix(0, ns).UTC()
	return &t
}

func describeCMK(c *meta.CMK, versions uint32) KMSKey {
	return KMSKey{
		KeyID: c.ID, Alias: c.Alias, Description: c.Description, Origin: c.Origin, State: c.State,
		MaterialVersions: versions, Created: time.Unix(0, c.Created).UTC(),
		LastRotated: timePtr(c.LastRotated), DeletionDate: timePtr(c.DeletionDate),
	}
}

func errKMSState(c *meta.CMK, op string) error {
	return wire.Errorf(wire.ErrInvalidRequest, "cannot %s key %s in state %s (origin %s)", op, c.ID, c.State, c.Origin)
}

// kmsKeyAction applies one state change to a CMK (the admin "kms/keys/{id}/{action}").
func (s *Server) kmsKeyAction(ctx context.Context, id, action string, q *request) (any, error) {
	k := s.kms()
	now := s.cfg.Now()
	var versions uint32
	change := func(f func(c *meta.CMK, mat *kms.Material) (bool, error)) (any, error) {
		c, err := k.update(ctx, id, func(c *meta.CMK, mat *kms.Material) (bool, error) {
			resealed, err := f(c, mat)
			versions = mat.Current()
			return resealed, err
		})
		if err != nil {
			return nil, err
		}
		return describeCMK(c, versions), nil
	}
	switch action {
	case "enable":
		return change(func(c *meta.CMK, _ *kms.Material) (bool, error) {
			if c.State != meta.CMKEnabled && c.State != meta.CMKDisabled {
				return false, errKMSState(c, action)
			}
			c.State = meta.CMKEnabled
			return false, nil
		})
	case "disable":
		return change(func(c *meta.CMK, _ *kms.Material) (bool, error) {
			if c.State != meta.CMKEnabled && c.State != meta.CMKDisabled {
				return false, errKMSState(c, action)
			}
			c.State = meta.CMKDisabled
			return false, nil
		})
	case "schedule-deletion":
		var in KMSScheduleDeletionRequest
		if err := readAdminJSON(q, &in); err != nil {
			return nil, err
		}
		days := in.PendingWindowDays
		if days == 0 {
			days = KMSDeletionDaysDefault
		}
		if days < KMSDeletionDaysMin || days > KMSDeletionDaysMax {
			return nil, wire.Errorf(wire.ErrInvalidArgument, "the pending window must be %d to %d days", KMSDeletionDaysMin, KMSDeletionDaysMax)
		}
		return change(func(c *meta.CMK, _ *kms.Material) (bool, error) {
			if c.State == meta.CMKPendingDeletion {
				return false, errKMSState(c, action)
			}
			if id == DefaultCMKAlias || c.Alias == DefaultCMKAlias {
				return false, wire.Errorf(wire.ErrInvalidRequest, "the default key %s cannot be deleted", c.ID)
			}
			c.State, c.DeletionDate = meta.CMKPendingDeletion, now.Add(time.Duration(days)*24*time.Hour).UnixNano()
			return false, nil
		})
	case "cancel-deletion":
		return change(func(c *meta.CMK, mat *kms.Material) (bool, error) {
			if c.State != meta.CMKPendingDeletion {
				return false, errKMSState(c, action)
			}
			c.State, c.DeletionDate = meta.CMKEnabled, 0
			if mat.Current() == 0 {
				c.State = meta.CMKPendingImport
			}
			return false, nil
		})
	case "rotate":
		return change(func(c *meta.CMK, mat *kms.Material) (bool, error) {
			if c.State != meta.CMKEnabled || c.Origin != meta.OriginCoffer {
				return false, errKMSState(c, action)
			}
			if err := mat.Rotate(s.cfg.Rand); err != nil {
				return false, kmsError(err)
			}
			c.LastRotated = now.UnixNano()
			return true, nil
		})
	case "import-params":
		var in KMSImportParamsRequest
		if err := readAdminJSON(q, &in); err != nil {
			return nil, err
		}
		bits := in.WrappingKeyBits
		if bits == 0 {
			bits = kms.WrappingBits2048
		}
		if bits != kms.WrappingBits2048 && bits != kms.WrappingBits3072 {
			return nil, wire.Errorf(wire.ErrInvalidArgument, "the wrapping key must have %d or %d bits", kms.WrappingBits2048, kms.WrappingBits3072)
		}
		expires := now.Add(KMSImportValidity)
		var out KMSImportParams
		_, err := k.update(ctx, id, func(c *meta.CMK, mat *kms.Material) (bool, error) {
			if c.Origin != meta.OriginExternal || c.State == meta.CMKPendingDeletion {
				return false, errKMSState(c, action)
			}
			im, pub, err := kms.NewImport(s.cfg.Rand, bits, expires.UnixNano())
			if err != nil {
				return false, err
			}
			mat.Import = im
			out = KMSImportParams{KeyID: c.ID, PublicKey: pub, ImportToken: im.Token[:], WrappingAlgorithm: WrappingAlgorithmOAEPSHA256, ValidTo: expires.UTC()}
			return true, nil
		})
		if err != nil {
			return nil, err
		}
		return out, nil
	case "import":
		var in KMSImportRequest
		if err := readAdminJSON(q, &in); err != nil {
			return nil, err
		}
		return change(func(c *meta.CMK, mat *kms.Material) (bool, error) {
			if c.Origin != meta.OriginExternal || c.State == meta.CMKPendingDeletion {
				return false, errKMSState(c, action)
			}
			if err := mat.ImportMaterial(in.ImportToken, in.EncryptedKeyMaterial, now.UnixNano()); err != nil {
				return false, kmsError(err)
			}
			if c.State == meta.CMKPendingImport {
				c.State = meta.CMKEnabled
			}
			return true, nil
		})
	}
	return nil, wire.Errorf(wire.ErrNotImplemented, "no KMS key action %q", action)
}

// kmsCrypt serves encrypt, decrypt and generate-data-key.
func (s *Server) kmsCrypt(ctx context.Context, op string, in KMSCryptRequest) (KMSCryptResponse, error) {
	k := s.kms()
	switch op {
	case "encrypt":
		blob, id, err := k.Encrypt(ctx, in.KeyID, in.Context, in.Plaintext)
		return KMSCryptResponse{KeyID: id, CiphertextBlob: blob}, err
	case "decrypt":
		if in.KeyID == "" {
			return KMSCryptResponse{}, wire.Errorf(wire.ErrInvalidArgument, "decrypt needs the KeyID")
		}
		e, err := k.resolve(ctx, in.KeyID)
		if err != nil {
			return KMSCryptResponse{}, err
		}
		plain, err := k.Decrypt(ctx, e.cmk.ID, in.CiphertextBlob, in.Context)
		if err != nil {
			return KMSCryptResponse{}, err
		}
		return KMSCryptResponse{KeyID: e.cmk.ID, Plaintext: plain}, nil
	default: // generate-data-key
		plain, blob, id, err := k.GenerateDataKey(ctx, in.KeyID, in.Context)
		return KMSCryptResponse{KeyID: id, Plaintext: plain, CiphertextBlob: blob}, err
	}
}

func init() {
	registerAdmin("POST /kms/keys", func(s *Server, w http.ResponseWriter, q *request, _ string) error {
		var in KMSCreateRequest
		if err := readAdminJSON(q, &in); err != nil {
			return err
		}
		c, err := s.kms().create(q.r.Context(), in.Alias, in.Description, in.Origin)
		if errors.Is(err, meta.ErrConflict) {
			return wire.Errorf(wire.ErrInvalidArgument, "the alias %q belongs to another key", in.Alias)
		}
		if err != nil {
			return err
		}
		var versions uint32
		if c.Origin == meta.OriginCoffer {
			versions = 1
		}
		return writeAdminJSON(w, http.StatusOK, describeCMK(c, versions))
	})
	registerAdmin("GET /kms/keys", func(s *Server, w http.ResponseWriter, q *request, _ string) error {
		ctx := q.r.Context()
		all, err := s.meta.ListCMKs(ctx)
		if err != nil {
			return err
		}
		out := KMSKeyList{Keys: []KMSKey{}}
		for i := range all {
			e, err := s.kms().load(ctx, all[i].ID)
			if err != nil {
				continue // deleted on touch, or unreadable: not listed
			}
			out.Keys = append(out.Keys, describeCMK(&e.cmk, e.mat.Current()))
		}
		return writeAdminJSON(w, http.StatusOK, out)
	})
	registerAdmin("GET /kms/keys/", func(s *Server, w http.ResponseWriter, q *request, rest string) error {
		e, err := s.kms().resolve(q.r.Context(), rest)
		if err != nil {
			return err
		}
		return writeAdminJSON(w, http.StatusOK, describeCMK(&e.cmk, e.mat.Current()))
	})
	registerAdmin("POST /kms/keys/", func(s *Server, w http.ResponseWriter, q *request, rest string) error {
		i := strings.LastIndexByte(rest, '/')
		if i <= 0 {
			return wire.Errorf(wire.ErrNotImplemented, "no KMS endpoint keys/%s", rest)
		}
		out, err := s.kmsKeyAction(q.r.Context(), rest[:i], rest[i+1:], q)
		if err != nil {
			return err
		}
		return writeAdminJSON(w, http.StatusOK, out)
	})
	for _, op := range []string{"encrypt", "decrypt", "generate-data-key"} {
		registerAdmin("POST /kms/"+op, func(s *Server, w http.ResponseWriter, q *request, _ string) error {
			var in KMSCryptRequest
			if err := readAdminJSON(q, &in); err != nil {
				return err
			}
			out, err := s.kmsCrypt(q.r.Context(), op, in)
			if err != nil {
				return err
			}
			return writeAdminJSON(w, http.StatusOK, out)
		})
	}
}

// kmsKeyPath is the admin path of a key action; aliases may contain "/".
func kmsKeyPath(id, action string) string {
	p := "kms/keys/" + escapeKeyID(id)
	if action != "" {
		p += "/" + action
	}
	return p
}

func escapeKeyID(id string) string {
	parts := strings.Split(id, "/")
	for i := range parts {
		parts[i] = url.PathEscape(parts[i])
	}
	return strings.Join(parts, "/")
}

// KMSCreate creates a CMK.
func (c *AdminClient) KMSCreate(ctx context.Context, in KMSCreateRequest) (*KMSKey, error) {
	var out KMSKey
	return &out, c.Do(ctx, http.MethodPost, "kms/keys", nil, in, &out)
}

// KMSList lists the CMKs.
func (c *AdminClient) KMSList(ctx context.Context) ([]KMSKey, error) {
	var out KMSKeyList
	err := c.Do(ctx, http.MethodGet, "kms/keys", nil, nil, &out)
	return out.Keys, err
}

// KMSDescribe describes the CMK with an id or alias.
func (c *AdminClient) KMSDescribe(ctx context.Context, id string) (*KMSKey, error) {
	var out KMSKey
	return &out, c.Do(ctx, http.MethodGet, kmsKeyPath(id, ""), nil, nil, &out)
}

// KMSAction runs enable, disable, cancel-deletion or rotate on a CMK; for
// schedule-deletion and import use the typed methods.
func (c *AdminClient) KMSAction(ctx context.Context, id, action string) (*KMSKey, error) {
	switch action {
	case "enable", "disable", "cancel-deletion", "rotate":
	default:
		return nil, fmt.Errorf("gateway: unknown KMS key action %q", action)
	}
	var out KMSKey
	return &out, c.Do(ctx, http.MethodPost, kmsKeyPath(id, action), nil, struct{}{}, &out)
}

// KMSScheduleDeletion schedules the deletion of a CMK after days (0: the default).
func (c *AdminClient) KMSScheduleDeletion(ctx context.Context, id string, days int) (*KMSKey, error) {
	var out KMSKey
	return &out, c.Do(ctx, http.MethodPost, kmsKeyPath(id, "schedule-deletion"), nil, KMSScheduleDeletionRequest{PendingWindowDays: days}, &out)
}

// KMSImportParams gets a wrapping key and import token for an EXTERNAL CMK.
func (c *AdminClient) KMSImportParams(ctx context.Context, id string, bits int) (*KMSImportParams, error) {
	var out KMSImportParams
	return &out, c.Do(ctx, http.MethodPost, kmsKeyPath(id, "import-params"), nil, KMSImportParamsRequest{WrappingKeyBits: bits}, &out)
}

// KMSImport imports wrapped key material into an EXTERNAL CMK.
func (c *AdminClient) KMSImport(ctx context.Context, id string, token, wrapped []byte) (*KMSKey, error) {
	var out KMSKey
	return &out, c.Do(ctx, http.MethodPost, kmsKeyPath(id, "import"), nil, KMSImportRequest{ImportToken: token, EncryptedKeyMaterial: wrapped}, &out)
}

// KMSCrypt calls encrypt, decrypt or generate-data-key.
func (c *AdminClient) KMSCrypt(ctx context.Context, op string, in KMSCryptRequest) (*KMSCryptResponse, error) {
	switch op {
	case "encrypt", "decrypt", "generate-data-key":
	default:
		return nil, fmt.Errorf("gateway: unknown KMS operation %q", op)
	}
	var out KMSCryptResponse
	return &out, c.Do(ctx, http.MethodPost, "kms/"+op, nil, in, &out)
}
