package wire

import (
	"encoding/base64"
	"strconv"
)

// ListObjectsParams are the validated query parameters of List Objects (v1) and
// ListObjectsV2.
type ListObjectsParams struct {
	V2        bool
	Prefix    string
	Delimiter string
	// After is the key the listing starts after (exclusive): the v1 marker, or
	// for v2 the decoded continuation token, else start-after.
	After string
	// Marker (v1), ContinuationToken and StartAfter (v2) as sent, to echo.
	Marker            string
	ContinuationToken string
	StartAfter        string
	MaxKeys           int
	EncodeURL         bool
	FetchOwner        bool // v2 fetch-owner=true; v1 always lists owners
}

// ParseListObjects reads prefix, delimiter, marker, max-keys and encoding-type
// (v1), or prefix, delimiter, continuation-token, start-after, max-keys,
// fetch-owner and encoding-type (v2). An empty prefix is the same as none (the
// Node SDK always sends prefix=). Errors are InvalidArgument.
func ParseListObjects(q Query, v2 bool) (ListObjectsParams, error) {
	p := ListObjectsParams{V2: v2, Prefix: q.Get("prefix"), Delimiter: q.Get("delimiter")}
	var err error
	if p.MaxKeys, err = ParseMaxKeys(q.Get("max-keys"), ListMaxKeysMax); err != nil {
		return ListObjectsParams{}, err
	}
	if p.EncodeURL, err = ParseEncodingType(q.Get("encoding-type")); err != nil {
		return ListObjectsParams{}, err
	}
	if len(p.Prefix) > KeyLengthMax || len(p.Delimiter) > KeyLengthMax {
		return ListObjectsParams{}, Errorf(ErrInvalidArgument, "prefix and delimiter may be at most %d bytes.", KeyLengthMax)
	}
	if !v2 {
		p.Marker = q.Get("marker")
		p.After = p.Marker
		return p, nil
	}
	p.StartAfter = q.Get("start-after")
	p.After = p.StartAfter
	switch q.Get("fetch-owner") {
	case "", "false":
	case "true":
		p.FetchOwner = true
	default:
		return ListObjectsParams{}, NewError(ErrInvalidArgument, "fetch-owner must be true or false.")
	}
	if q.Has("continuation-token") {
		p.ContinuationToken = q.Get("continuation-token")
		if p.After, err = ParseContinuationToken(p.ContinuationToken); err != nil {
			return ListObjectsParams{}, err
		}
	}
	return p, nil
}

// continuationVersion is the first byte of every continuation token; bump it
// when the token's meaning changes. It must never be reused for another layout.
const continuationVersion = 1

// ContinuationToken returns the opaque ListObjectsV2 token that resumes a listing
// after key: base64url (no padding) of a version byte and the key.
func ContinuationToken(key string) string {
	b := make([]byte, 0, 1+len(key))
	b = append(b, continuationVersion)
	b = append(b, key...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// ParseContinuationToken returns the key a token made by ContinuationToken
// resumes after. A token that is empty, not ours, or of another version is
// InvalidArgument.
func ParseContinuationToken(tok string) (string, error) {
	bad := NewError(ErrInvalidArgument, "The continuation token provided is incorrect.")
	if tok == "" || len(tok) > base64.RawURLEncoding.EncodedLen(1+KeyLengthMax) {
		return "", bad
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) < 1 || b[0] != continuationVersion {
		return "", bad
	}
	return string(b[1:]), nil
}

// ListPartsParams are the validated query parameters of List Parts.
type ListPartsParams struct {
	MaxParts         int
	PartNumberMarker int // list parts after this number; 0 = from the start
	EncodeURL        bool
}

// ParseListParts reads max-parts (1..ListMaxPartsMax, default the maximum),
// part-number-marker (0..PartNumberMax) and encoding-type; anything else is
// InvalidArgument (cos-api.md §5.8).
func ParseListParts(q Query) (ListPartsParams, error) {
	p := ListPartsParams{MaxParts: ListMaxPartsMax}
	var err error
	if v := q.Get("max-parts"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > ListMaxPartsMax {
			return ListPartsParams{}, Errorf(ErrInvalidArgument, "max-parts must be an integer between 1 and %d.", ListMaxPartsMax)
		}
		p.MaxParts = n
	}
	if v := q.Get("part-number-marker"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > PartNumberMax {
			return ListPartsParams{}, Errorf(ErrInvalidArgument, "part-number-marker must be an integer between 0 and %d.", PartNumberMax)
		}
		p.PartNumberMarker = n
	}
	if p.EncodeURL, err = ParseEncodingType(q.Get("encoding-type")); err != nil {
		return ListPartsParams{}, err
	}
	return p, nil
}

// ListUploadsParams are the validated query parameters of List Multipart Uploads.
type ListUploadsParams struct {
	Prefix         string
	Delimiter      string
	KeyMarker      string
	UploadIDMarker string
	MaxUploads     int
	EncodeURL      bool
}

// ParseListUploads reads prefix, delimiter, key-marker, upload-id-marker,
// max-uploads (clamped to ListMaxUploadsMax) and encoding-type.
func ParseListUploads(q Query) (ListUploadsParams, error) {
	p := ListUploadsParams{Prefix: q.Get("prefix"), Delimiter: q.Get("delimiter"),
		KeyMarker: q.Get("key-marker"), UploadIDMarker: q.Get("upload-id-marker")}
	var err error
	if p.MaxUploads, err = ParseMaxKeys(q.Get("max-uploads"), ListMaxUploadsMax); err != nil {
		return ListUploadsParams{}, err
	}
	if p.EncodeURL, err = ParseEncodingType(q.Get("encoding-type")); err != nil {
		return ListUploadsParams{}, err
	}
	return p, nil
}
