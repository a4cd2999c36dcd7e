package wire

import "encoding/xml"

// ListAllMyBucketsResult is the GET Service body (cos-api.md §5.2).
type ListAllMyBucketsResult struct {
	XMLName     xml.Name      `xml:"ListAllMyBucketsResult"`
	Owner       Owner         `xml:"Owner"`
	Buckets     []BucketEntry `xml:"Buckets>Bucket"`
	Marker      string        `xml:"Marker"`
	NextMarker  string        `xml:"NextMarker"`
	IsTruncated bool          `xml:"IsTruncated"`
}

// BucketEntry is one bucket of ListAllMyBucketsResult.
type BucketEntry struct {
	Name         string `xml:"Name"`
	Location     string `xml:"Location,omitempty"`
	CreationDate Time   `xml:"CreationDate"`
	BucketType   string `xml:"BucketType,omitempty"`
}

// ObjectEntry is one <Contents> element of a listing.
type ObjectEntry struct {
	Key          string `xml:"Key"`
	LastModified Time   `xml:"LastModified"`
	ETag         string `xml:"ETag"` // quoted, see QuoteETag
	Size         int64  `xml:"Size"`
	Owner        *Owner `xml:"Owner,omitempty"`
	StorageClass string `xml:"StorageClass,omitempty"`
}

// ListBucketResult is the GET Bucket (List Objects v1) body (cos-api.md §5.4).
type ListBucketResult struct {
	XMLName        xml.Name       `xml:"ListBucketResult"`
	Name           string         `xml:"Name"`
	EncodingType   string         `xml:"EncodingType,omitempty"`
	Prefix         string         `xml:"Prefix"`
	Marker         string         `xml:"Marker"`
	MaxKeys        int            `xml:"MaxKeys"`
	Delimiter      string         `xml:"Delimiter,omitempty"`
	IsTruncated    bool           `xml:"IsTruncated"`
	NextMarker     string         `xml:"NextMarker,omitempty"`
	CommonPrefixes []CommonPrefix `xml:"CommonPrefixes,omitempty"`
	Contents       []ObjectEntry  `xml:"Contents,omitempty"`
}

// EncodeURL applies encoding-type=url: it percent-encodes Key, Prefix, Marker,
// NextMarker, Delimiter and every CommonPrefixes/Prefix (URLEncode) and sets
// EncodingType. Call it once, after the result is complete.
func (r *ListBucketResult) EncodeURL() {
	r.EncodingType = "url"
	r.Prefix = URLEncode(r.Prefix)
	r.Marker = URLEncode(r.Marker)
	r.NextMarker = URLEncode(r.NextMarker)
	r.Delimiter = URLEncode(r.Delimiter)
	encodePrefixes(r.CommonPrefixes)
	for i := range r.Contents {
		r.Contents[i].Key = URLEncode(r.Contents[i].Key)
	}
}

// ListBucketV2Result is the ListObjectsV2 (list-type=2) body S3 clients use.
type ListBucketV2Result struct {
	XMLName               xml.Name       `xml:"ListBucketResult"`
	Name                  string         `xml:"Name"`
	Prefix                string         `xml:"Prefix"`
	Delimiter             string         `xml:"Delimiter,omitempty"`
	MaxKeys               int            `xml:"MaxKeys"`
	EncodingType          string         `xml:"EncodingType,omitempty"`
	KeyCount              int            `xml:"KeyCount"`
	IsTruncated           bool           `xml:"IsTruncated"`
	ContinuationToken     string         `xml:"ContinuationToken,omitempty"`
	NextContinuationToken string         `xml:"NextContinuationToken,omitempty"`
	StartAfter            string         `xml:"StartAfter,omitempty"`
	CommonPrefixes        []CommonPrefix `xml:"CommonPrefixes,omitempty"`
	Contents              []ObjectEntry  `xml:"Contents,omitempty"`
}

// EncodeURL applies encoding-type=url to Key, Prefix, Delimiter, StartAfter and
// CommonPrefixes/Prefix; continuation tokens are opaque and stay as they are.
func (r *ListBucketV2Result) EncodeURL() {
	r.EncodingType = "url"
	r.Prefix = URLEncode(r.Prefix)
	r.Delimiter = URLEncode(r.Delimiter)
	r.StartAfter = URLEncode(r.StartAfter)
	encodePrefixes(r.CommonPrefixes)
	for i := range r.Contents {
		r.Contents[i].Key = URLEncode(r.Contents[i].Key)
	}
}

func encodePrefixes(ps []CommonPrefix) {
	for i := range ps {
		ps[i].Prefix = URLEncode(ps[i].Prefix)
	}
}
