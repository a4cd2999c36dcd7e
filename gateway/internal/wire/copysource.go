package wire

import (
	"net/http"
	"net/url"
	"strings"
)

// CopySource is the parsed x-cos-copy-source of a copy.
type CopySource struct {
	Bucket    string
	Key       string
	VersionID string // empty: the current version
}

// CopySourceHeader returns the x-cos-copy-source (or x-amz-copy-source) value;
// both present must agree. present is false when there is none.
func CopySourceHeader(h http.Header) (v string, present bool, err error) {
	v, err = dual(h, "x-cos-copy-source", "x-amz-copy-source")
	return v, v != "", err
}

// ParseCopySource parses a copy source (cos-api.md §5.7) in either form:
//
//	<bucket>-<appid>.cos.<region>.<domain>/<url-encoded key>[?versionId=<id>]
//	[/]<bucket>/<url-encoded key>[?versionId=<id>]
//
// A first path segment containing '.' is a host whose first label is the
// bucket (bucket names never contain dots, see ValidBucketName); the rest of the
// host is ignored. The key is percent-decoded ('+' stays '+'); "?" starts the
// query only when literal, so an encoded %3F belongs to the key. The only query
// parameter accepted is versionId. Any failure is InvalidArgument (or
// KeyTooLong).
func ParseCopySource(v string) (CopySource, error) {
	bad := func() (CopySource, error) {
		return CopySource{}, NewError(ErrInvalidArgument, "The x-cos-copy-source header is not valid.")
	}
	var cs CopySource
	raw, query, hasQuery := strings.Cut(v, "?")
	if hasQuery {
		name, value, _ := strings.Cut(query, "=")
		if name != "versionId" || strings.ContainsAny(value, "&=") {
			return bad()
		}
		id, err := url.QueryUnescape(value)
		if err != nil || id == "" {
			return bad()
		}
		cs.VersionID = id
	}
	raw = strings.TrimPrefix(raw, "/")
	first, key, ok := strings.Cut(raw, "/")
	if !ok || key == "" {
		return bad()
	}
	bucket := first
	if label, _, isHost := strings.Cut(first, "."); isHost {
		bucket = label
	}
	bucket = strings.ToLower(bucket)
	if ValidBucketName(bucket) != nil {
		return bad()
	}
	k, err := url.PathUnescape(key)
	if err != nil {
		return bad()
	}
	if err := ValidKey(k); err != nil {
		return CopySource{}, err
	}
	cs.Bucket, cs.Key = bucket, k
	return cs, nil
}
