package route

import (
	"net/http"
	"strings"

	"github.com/coffer-io/coffer/gateway/internal/wire"
)

// Op is the operation a request asks for.
type Op uint8

// Operations (cos-api.md §4, §5).
const (
	OpUnknown Op = iota
	OpListBuckets
	OpCreateBucket
	OpHeadBucket
	OpDeleteBucket
	OpListObjects
	OpListObjectsV2
	OpGetBucketLocation
	OpGetBucketACL
	OpPutBucketACL
	OpGetBucketEncryption
	OpPutBucketEncryption
	OpDeleteBucketEncryption
	OpListMultipartUploads
	OpDeleteObjects
	OpPostObject
	OpPutObject
	OpCopyObject
	OpGetObject
	OpHeadObject
	OpDeleteObject
	OpGetObjectACL
	OpPutObjectACL
	OpInitiateMultipartUpload
	OpUploadPart
	OpUploadPartCopy
	OpCompleteMultipartUpload
	OpAbortMultipartUpload
	OpListParts
	opCount
)

var opNames = [opCount]string{
	"Unknown", "ListBuckets", "CreateBucket", "HeadBucket", "DeleteBucket", "ListObjects",
	"ListObjectsV2", "GetBucketLocation", "GetBucketACL", "PutBucketACL", "GetBucketEncryption",
	"PutBucketEncryption", "DeleteBucketEncryption", "ListMultipartUploads", "DeleteObjects",
	"PostObject", "PutObject", "CopyObject", "GetObject", "HeadObject", "DeleteObject",
	"GetObjectACL", "PutObjectACL", "InitiateMultipartUpload", "UploadPart", "UploadPartCopy",
	"CompleteMultipartUpload", "AbortMultipartUpload", "ListParts",
}

// String returns the operation name (as used in metrics and logs).
func (o Op) String() string {
	if o < opCount {
		return opNames[o]
	}
	return "Op(invalid)"
}

// Query is the read side of an already parsed query string; auth.Query
// satisfies it.
type Query interface {
	Has(name string) bool
	Get(name string) string
}

// Request is what Dispatch looks at.
type Request struct {
	Method string // HTTP method, case-sensitive as HTTP defines it
	Bucket string // from Resolve; empty for the service
	Key    string // from Resolve; empty for bucket operations
	Query  Query  // parsed query; nil means none
	// CopySource is true when x-cos-copy-source or x-amz-copy-source is present.
	CopySource bool
	// ContentType is the Content-Type header (POST Object needs multipart/form-data).
	ContentType string
}

// unsupported are the COS/S3 sub-resources and operation parameters the gateway
// does not implement; a request naming one is NotImplemented rather than being
// mistaken for a plain object or bucket operation.
var unsupported = [...]string{
	"accelerate", "analytics", "append", "attributes", "cors", "domain", "intelligenttiering",
	"inventory", "legal-hold", "lifecycle", "logging", "metrics", "notification", "object-lock",
	"origin", "ownershipControls", "policy", "policyStatus", "publicAccessBlock", "referer",
	"replication", "requestPayment", "restore", "retention", "select", "tagging", "torrent",
	"versioning", "versions", "website",
}

// Dispatch maps a request to its Op. It is a pure function of r.
//
// Errors (*wire.Error): MethodNotAllowed for a method the resource does not
// take; NotImplemented for an unsupported sub-resource (?cors, ?tagging, ...)
// or partNumber on GET/HEAD; InvalidArgument for an unknown list-type or a PUT
// with only one of partNumber and uploadId; MalformedPOSTRequest for a bucket
// POST that is neither ?delete nor multipart/form-data.
func Dispatch(r Request) (Op, error) {
	q := r.Query
	if q == nil {
		q = noQuery{}
	}
	if r.Bucket == "" {
		if r.Method == http.MethodGet {
			return OpListBuckets, nil
		}
		return OpUnknown, methodNotAllowed()
	}
	for _, name := range unsupported {
		if q.Has(name) {
			return OpUnknown, wire.Errorf(wire.ErrNotImplemented, "The sub-resource %q is not implemented.", name)
		}
	}
	if r.Key == "" {
		return bucketOp(r, q)
	}
	return objectOp(r, q)
}

func bucketOp(r Request, q Query) (Op, error) {
	switch r.Method {
	case http.MethodGet:
		switch {
		case q.Has("acl"):
			return OpGetBucketACL, nil
		case q.Has("encryption"):
			return OpGetBucketEncryption, nil
		case q.Has("uploads"):
			return OpListMultipartUploads, nil
		case q.Has("location"):
			return OpGetBucketLocation, nil
		}
		switch q.Get("list-type") {
		case "":
			return OpListObjects, nil
		case "2":
			return OpListObjectsV2, nil
		}
		return OpUnknown, wire.NewError(wire.ErrInvalidArgument, "Invalid list-type: only 2 is supported.")
	case http.MethodHead:
		return OpHeadBucket, nil
	case http.MethodPut:
		switch {
		case q.Has("acl"):
			return OpPutBucketACL, nil
		case q.Has("encryption"):
			return OpPutBucketEncryption, nil
		case q.Has("uploads"), q.Has("location"), q.Has("delete"):
			return OpUnknown, methodNotAllowed()
		}
		return OpCreateBucket, nil
	case http.MethodDelete:
		switch {
		case q.Has("encryption"):
			return OpDeleteBucketEncryption, nil
		case q.Has("acl"), q.Has("uploads"), q.Has("location"), q.Has("delete"):
			return OpUnknown, methodNotAllowed()
		}
		return OpDeleteBucket, nil
	case http.MethodPost:
		switch {
		case q.Has("delete"):
			return OpDeleteObjects, nil
		case q.Has("acl"), q.Has("encryption"), q.Has("uploads"), q.Has("location"):
			return OpUnknown, methodNotAllowed()
		case isFormData(r.ContentType):
			return OpPostObject, nil
		}
		return OpUnknown, wire.NewError(wire.ErrMalformedPOSTRequest, "Bucket POST must be of the enclosure-type multipart/form-data.")
	}
	return OpUnknown, methodNotAllowed()
}

func objectOp(r Request, q Query) (Op, error) {
	switch r.Method {
	case http.MethodGet:
		switch {
		case q.Has("acl"):
			return OpGetObjectACL, nil
		case q.Has("uploadId"):
			return OpListParts, nil
		case q.Has("partNumber"):
			return OpUnknown, wire.NewError(wire.ErrNotImplemented, "GET with partNumber is not implemented; use Range.")
		}
		return OpGetObject, nil
	case http.MethodHead:
		if q.Has("partNumber") {
			return OpUnknown, wire.NewError(wire.ErrNotImplemented, "HEAD with partNumber is not implemented.")
		}
		return OpHeadObject, nil
	case http.MethodPut:
		part, upload := q.Has("partNumber"), q.Has("uploadId")
		switch {
		case q.Has("acl"):
			return OpPutObjectACL, nil
		case part && upload && r.CopySource:
			return OpUploadPartCopy, nil
		case part && upload:
			return OpUploadPart, nil
		case part || upload:
			return OpUnknown, wire.NewError(wire.ErrInvalidArgument, "Upload Part needs both partNumber and uploadId.")
		case r.CopySource:
			return OpCopyObject, nil
		}
		return OpPutObject, nil
	case http.MethodDelete:
		switch {
		case q.Has("uploadId"):
			return OpAbortMultipartUpload, nil
		case q.Has("acl"):
			return OpUnknown, methodNotAllowed()
		}
		return OpDeleteObject, nil
	case http.MethodPost:
		switch {
		case q.Has("uploads"):
			return OpInitiateMultipartUpload, nil
		case q.Has("uploadId"):
			return OpCompleteMultipartUpload, nil
		}
	}
	return OpUnknown, methodNotAllowed()
}

func methodNotAllowed() error { return wire.NewError(wire.ErrMethodNotAllowed, "") }

// isFormData reports whether a Content-Type is multipart/form-data.
func isFormData(ct string) bool {
	mt, _, _ := strings.Cut(ct, ";")
	return strings.EqualFold(strings.TrimSpace(mt), "multipart/form-data")
}

type noQuery struct{}

func (noQuery) Has(string) bool   { return false }
func (noQuery) Get(string) string { return "" }
