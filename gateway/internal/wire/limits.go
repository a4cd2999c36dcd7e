package wire

import (
	"path"
	"unicode/utf8"
)

// Protocol limits. Each names its unit; relations between them are checked by
// TestLimitRelations.
const (
	// KeyLengthMax is the longest object key in bytes of UTF-8 (COS: 850).
	KeyLengthMax = 850
	// MetadataBytesMax bounds the user metadata of one object: the sum over all
	// x-cos-meta-* / x-amz-meta-* headers of len(name suffix)+len(value), in bytes
	// (S3: 2 KiB; COS says "≤ 2 KB").
	MetadataBytesMax = 2 << 10
	// SinglePutMax is the largest body of one PUT Object or POST Object, in bytes.
	SinglePutMax int64 = 5 << 30
	// PartNumberMax is the highest part number of a multipart upload; part
	// numbers run from 1 to PartNumberMax.
	PartNumberMax = 10000
	// PartSizeMin is the smallest size in bytes of every part but the last at
	// Complete (COS: 1 MB; S3 uses 5 MiB).
	PartSizeMin int64 = 1 << 20
	// PartSizeMax is the largest part in bytes.
	PartSizeMax int64 = 5 << 30
	// ListMaxKeysMax caps max-keys of List Objects (Contents + CommonPrefixes).
	ListMaxKeysMax = 1000
	// ListMaxPartsMax caps max-parts of List Parts.
	ListMaxPartsMax = 1000
	// ListMaxUploadsMax caps max-uploads of List Multipart Uploads.
	ListMaxUploadsMax = 1000
	// DeleteObjectsMax is the most keys one DELETE Multiple Objects may name.
	DeleteObjectsMax = 1000
	// AccessGrantsMax is the most <Grant> elements an AccessControlPolicy may hold.
	AccessGrantsMax = 100
	// XMLBodyMax bounds small XML request bodies (ACL, encryption, create bucket),
	// in bytes.
	XMLBodyMax = 1 << 20
	// CompleteBodyMax bounds the Complete Multipart Upload body in bytes: PartNumberMax
	// parts with quoted ETags, checksums and indentation fit with room to spare.
	CompleteBodyMax = 4 << 20
	// DeleteBodyMax bounds the DELETE Multiple Objects body in bytes:
	// DeleteObjectsMax keys of KeyLengthMax bytes, XML-escaped, fit.
	DeleteBodyMax = 8 << 20
	// PostFormMax bounds the form fields of a POST Object (everything but the
	// file part), in bytes.
	PostFormMax = 64 << 10
	// BucketNameMin and BucketNameMax bound a bucket name in bytes; for COS the
	// name includes the "-<appid>" suffix (1–50 characters + '-' + APPID).
	BucketNameMin = 3
	BucketNameMax = 63
	// SSEContextBytesMax bounds the base64 x-cos-server-side-encryption-context
	// header, in bytes.
	SSEContextBytesMax = 4 << 10
	// KMSKeyIDMax bounds a KMS key id (a UUID, alias or ARN), in bytes.
	KMSKeyIDMax = 2048
)

// ValidBucketName reports whether name is a bucket name the gateway serves:
// BucketNameMin..BucketNameMax bytes of lowercase letters, digits and '-', not
// starting or ending with '-'. This covers COS names ("examplebucket-1250000000")
// and the dot-free subset of S3 names; dots are refused because virtual-host
// addressing takes the bucket from the first DNS label. It returns an *Error
// with code InvalidBucketName (or BucketNameTooLong), or nil.
func ValidBucketName(name string) error {
	if len(name) > BucketNameMax {
		return Errorf(ErrBucketNameTooLong, "The bucket name is longer than %d characters.", BucketNameMax)
	}
	if len(name) < BucketNameMin {
		return NewError(ErrInvalidBucketName, "")
	}
	if name[0] == '-' || name[len(name)-1] == '-' {
		return NewError(ErrInvalidBucketName, "")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return NewError(ErrInvalidBucketName, "")
		}
	}
	return nil
}

// ValidKey reports whether key is an object key the gateway stores: non-empty,
// valid UTF-8, at most KeyLengthMax bytes, no NUL, and not a key that normalises
// to "/" (".", "..", "a/..", "./" ...), which the COS Go SDK refuses to read
// (Conf.ObjectKeySimplifyCheck, on by default). Other "..", "." and "//"
// segments are legal S3 keys and are kept verbatim. It returns an *Error with
// code KeyTooLong or InvalidArgument, or nil.
func ValidKey(key string) error {
	switch {
	case key == "":
		return NewError(ErrInvalidArgument, "The object key must not be empty.")
	case len(key) > KeyLengthMax:
		return Errorf(ErrKeyTooLong, "Your key is too long: at most %d bytes.", KeyLengthMax)
	case !utf8.ValidString(key):
		return NewError(ErrInvalidArgument, "The object key is not valid UTF-8.")
	}
	for i := 0; i < len(key); i++ {
		if key[i] == 0 {
			return NewError(ErrInvalidArgument, "The object key must not contain NUL.")
		}
	}
	if path.Clean("/"+key) == "/" {
		return NewError(ErrInvalidArgument, "The object key normalises to \"/\".")
	}
	return nil
}
