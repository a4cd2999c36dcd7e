package gateway

import (
	"bytes"
	"context"
	"crypto/md5"
	"io"
	"net/http"

	"github.com/coffer-io/coffer/cluster/meta"
	"github.com/coffer-io/coffer/gateway/internal/wire"
)

// Bucket default encryption (cos-api.md section 4): PUT, GET and DELETE ?encryption.
// The configuration lives in the bucket record (meta.Bucket.Encryption) and is
// applied by writeMode to every write that carries no SSE headers of its own.
// Only the bucket's owner (or an admin) may read or change it.

// ownedBucket reads the request's bucket and checks that the requester owns it.
func (s *Server) ownedBucket(ctx context.Context, q *request) (*meta.Bucket, error) {
	if err := wire.ValidBucketName(q.bucket); err != nil {
		return nil, err
	}
	b, err := s.meta.GetBucket(ctx, q.bucket)
	if err != nil {
		return nil, err
	}
	if !q.isOwner(b) {
		return nil, wire.NewError(wire.ErrAccessDenied, "")
	}
	return b, nil
}

// readConfigBody reads a bucket configuration body (see readXMLBody).
func readConfigBody(q *request) ([]byte, error) { return readXMLBody(q, wire.XMLBodyMax) }

// readXMLBody reads an XML request body of at most max bytes and checks it against
// its Content-MD5, which both SDKs send with every XML body (cos-api.md 5.1): a
// mismatch is BadDigest and nothing is applied.
func readXMLBody(q *request, max int) ([]byte, error) {
	want, ok, err := wire.ParseContentMD5(q.r.Header.Get("Content-MD5"))
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(io.LimitReader(q.body, int64(max)+1))
	if err != nil {
		return nil, err
	}
	if len(body) > max {
		return nil, wire.Errorf(wire.ErrMalformedXML, "the body is longer than %d bytes", max)
	}
	if ok && md5.Sum(body) != want {
		return nil, wire.NewError(wire.ErrBadDigest, "")
	}
	return body, nil
}

func (s *Server) putBucketEncryption(w http.ResponseWriter, q *request) error {
	ctx := q.r.Context()
	if _, err := s.ownedBucket(ctx, q); err != nil {
		return err
	}
	body, err := readConfigBody(q)
	if err != nil {
		return err
	}
	cfg, err := wire.DecodeEncryptionConfiguration(bytes.NewReader(body))
	if err != nil {
		return err
	}
	var enc meta.BucketEncryption
	switch cfg.Mode {
	case wire.SSECOS:
		enc.Mode = meta.ModeSSECOS
	case wire.SSEKMS:
		// An unknown or unusable CMK would make every later write without SSE
		// headers fail: refuse it now (KmsKeyNotExist / KmsKeyDisabled).
		e, err := s.kms().resolve(ctx, cfg.KMSKeyID)
		if err != nil {
			return err
		}
		if err := usable(e); err != nil {
			return err
		}
		enc.Mode, enc.CMKID = meta.ModeSSEKMS, cfg.KMSKeyID
	default:
		return wire.Errorf(wire.ErrInvalidArgument, "The SSEAlgorithm must be AES256 or KMS.")
	}
	if _, err := s.meta.Apply(ctx, &meta.UpdateBucket{Name: q.bucket, Fields: meta.FieldEncryption, Encryption: enc}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) getBucketEncryption(w http.ResponseWriter, q *request) error {
	b, err := s.ownedBucket(q.r.Context(), q)
	if err != nil {
		return err
	}
	var enc wire.BucketEncryption
	switch b.Encryption.Mode {
	case "":
		return wire.NewError(wire.ErrNoSuchEncryptionConfig, "")
	case meta.ModeSSECOS:
		enc.Mode = wire.SSECOS
	case meta.ModeSSEKMS:
		enc = wire.BucketEncryption{Mode: wire.SSEKMS, KMSKeyID: b.Encryption.CMKID}
	default:
		return wire.Errorf(wire.ErrInternalError, "unknown bucket default encryption")
	}
	cfg := enc.Configuration()
	return wire.WriteXML(w, http.StatusOK, &cfg)
}

func (s *Server) deleteBucketEncryption(w http.ResponseWriter, q *request) error {
	ctx := q.r.Context()
	if _, err := s.ownedBucket(ctx, q); err != nil {
		return err
	}
	if _, err := s.meta.Apply(ctx, &meta.UpdateBucket{Name: q.bucket, Fields: meta.FieldEncryption}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
