package meta

// ListObjectsOptions selects a page of GET Bucket (List Objects v1, cos-api.md 5.4).
type ListObjectsOptions struct {
	// Prefix limits the listing to keys starting with it; empty means all keys.
	Prefix string
	// Delimiter rolls keys up: a key with Delimiter after Prefix is reported once as
	// the common prefix Prefix…Delimiter. Empty means no roll-up.
	Delimiter string
	// Marker starts the listing strictly after this key. A common prefix that sorts
	// at or before Marker is not reported again.
	Marker string
	// MaxKeys caps Objects plus CommonPrefixes; 0 or more than ListEntriesMax means
	// ListEntriesMax.
	MaxKeys int
}

// ObjectSummary is one listed object.
type ObjectSummary struct {
	Key          string
	Size         int64
	ETag         string
	LastModified int64 // unix nanoseconds
	Owner        string
	StorageClass string
}

// ListObjectsResult is a page of objects and common prefixes, both in key order.
type ListObjectsResult struct {
	Objects        []ObjectSummary
	CommonPrefixes []string
	// IsTruncated reports that more entries follow; pass NextMarker as Marker.
	IsTruncated bool
	// NextMarker is the last key or common prefix returned when IsTruncated.
	NextMarker string
}

// ListUploadsOptions selects a page of List Multipart Uploads.
type ListUploadsOptions struct {
	Prefix    string
	Delimiter string
	// KeyMarker and UploadIDMarker start the listing after (KeyMarker, UploadIDMarker);
	// with a zero UploadIDMarker, after every upload of KeyMarker.
	KeyMarker      string
	UploadIDMarker ID
	// MaxUploads caps Uploads plus CommonPrefixes (0: ListEntriesMax).
	MaxUploads int
}

// UploadSummary is one listed upload.
type UploadSummary struct {
	Key          string
	UploadID     ID
	Initiated    int64
	Owner        string
	StorageClass string
}

// ListUploadsResult is a page of uploads ordered by key, then upload id.
type ListUploadsResult struct {
	Uploads            []UploadSummary
	CommonPrefixes     []string
	IsTruncated        bool
	NextKeyMarker      string
	NextUploadIDMarker ID
}

// ListPartsOptions selects a page of List Parts.
type ListPartsOptions struct {
	// PartNumberMarker lists parts with a number greater than it.
	PartNumberMarker int
	// MaxParts caps the parts returned (0: ListEntriesMax).
	MaxParts int
}

// ListPartsResult is a page of parts in part-number order.
type ListPartsResult struct {
	Parts                []Part
	IsTruncated          bool
	NextPartNumberMarker int
}

// KeyRef names one DEK sealed under a master-key version, for the re-wrap job.
type KeyRef struct {
	Bucket    string
	Key       string
	VersionID ID // the upload id when Upload is set
	Upload    bool
	SealedDEK []byte
}

// ClampList returns n clamped to 1..ListEntriesMax, with 0 meaning ListEntriesMax.
func ClampList(n int) int {
	if n <= 0 || n > ListEntriesMax {
		return ListEntriesMax
	}
	return n
}

// ShardsRef names what keeps a shard set alive: a current object version (the whole
// object, or Part of a multipart object) or a part of an open upload (Upload set,
// VersionID is the upload id).
type ShardsRef struct {
	Bucket    string
	Key       string
	VersionID ID
	Upload    bool
	Part      int
}
