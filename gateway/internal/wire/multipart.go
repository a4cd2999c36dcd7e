package wire

import (
	"encoding/xml"
	"io"
	"strings"
)

// InitiateMultipartUploadResult is the Initiate Multipart Upload body.
type InitiateMultipartUploadResult struct {
	XMLName  xml.Name `xml:"InitiateMultipartUploadResult"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	UploadID string   `xml:"UploadId"`
}

// CompleteMultipartUpload is the Complete Multipart Upload request body.
type CompleteMultipartUpload struct {
	XMLName xml.Name       `xml:"CompleteMultipartUpload"`
	Parts   []CompletePart `xml:"Part"`
}

// CompletePart names one part to assemble. After DecodeCompleteMultipartUpload,
// ETag is unquoted and lower-case (see UnquoteETag).
type CompletePart struct {
	PartNumber int    `xml:"PartNumber"`
	ETag       string `xml:"ETag"`
}

// DecodeCompleteMultipartUpload reads a Complete Multipart Upload body of at most
// CompleteBodyMax bytes and validates it: 1..PartNumberMax parts, every part
// number in 1..PartNumberMax (InvalidArgument), strictly ascending
// (InvalidPartOrder), every ETag non-empty (InvalidPart). Malformed XML, an
// empty list or unknown root is MalformedXML. Part ETags may be quoted, unquoted
// or &quot;-escaped (Node); they are returned unquoted and lower-case.
func DecodeCompleteMultipartUpload(r io.Reader) (*CompleteMultipartUpload, error) {
	var c CompleteMultipartUpload
	if err := decodeXML(r, CompleteBodyMax, &c); err != nil {
		return nil, err
	}
	if len(c.Parts) == 0 {
		return nil, NewError(ErrMalformedXML, "The XML you provided names no parts.")
	}
	if len(c.Parts) > PartNumberMax {
		return nil, Errorf(ErrInvalidArgument, "At most %d parts may be completed.", PartNumberMax)
	}
	prev := 0
	for i := range c.Parts {
		p := &c.Parts[i]
		if p.PartNumber < 1 || p.PartNumber > PartNumberMax {
			return nil, Errorf(ErrInvalidArgument, "Part number must be an integer between 1 and %d, inclusive.", PartNumberMax)
		}
		if p.PartNumber <= prev {
			return nil, NewError(ErrInvalidPartOrder, "")
		}
		prev = p.PartNumber
		p.ETag = strings.ToLower(UnquoteETag(p.ETag))
		if p.ETag == "" {
			return nil, NewError(ErrInvalidPart, "")
		}
	}
	return &c, nil
}

// CompleteMultipartUploadResult is the Complete Multipart Upload success body.
// ETag must be non-empty (the COS Go SDK fails otherwise).
type CompleteMultipartUploadResult struct {
	XMLName  xml.Name `xml:"CompleteMultipartUploadResult"`
	Location string   `xml:"Location"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	ETag     string   `xml:"ETag"`
}

// ListPartsResult is the List Parts body (cos-api.md §5.8).
type ListPartsResult struct {
	XMLName              xml.Name    `xml:"ListPartsResult"`
	Bucket               string      `xml:"Bucket"`
	EncodingType         string      `xml:"Encoding-type,omitempty"`
	Key                  string      `xml:"Key"`
	UploadID             string      `xml:"UploadId"`
	Initiator            *Owner      `xml:"Initiator,omitempty"`
	Owner                *Owner      `xml:"Owner,omitempty"`
	StorageClass         string      `xml:"StorageClass"`
	PartNumberMarker     int         `xml:"PartNumberMarker"`
	NextPartNumberMarker int         `xml:"NextPartNumberMarker"`
	MaxParts             int         `xml:"MaxParts"`
	IsTruncated          bool        `xml:"IsTruncated"`
	Parts                []PartEntry `xml:"Part"`
}

// EncodeURL applies encoding-type=url to Key.
func (r *ListPartsResult) EncodeURL() {
	r.EncodingType = "url"
	r.Key = URLEncode(r.Key)
}

// PartEntry is one uploaded part of ListPartsResult.
type PartEntry struct {
	PartNumber   int    `xml:"PartNumber"`
	LastModified Time   `xml:"LastModified"`
	ETag         string `xml:"ETag"` // quoted
	Size         int64  `xml:"Size"`
}

// ListMultipartUploadsResult is the List Multipart Uploads body.
type ListMultipartUploadsResult struct {
	XMLName            xml.Name       `xml:"ListMultipartUploadsResult"`
	Bucket             string         `xml:"Bucket"`
	EncodingType       string         `xml:"Encoding-Type,omitempty"`
	KeyMarker          string         `xml:"KeyMarker"`
	UploadIDMarker     string         `xml:"UploadIdMarker"`
	NextKeyMarker      string         `xml:"NextKeyMarker"`
	NextUploadIDMarker string         `xml:"NextUploadIdMarker"`
	MaxUploads         int            `xml:"MaxUploads"`
	IsTruncated        bool           `xml:"IsTruncated"`
	Prefix             string         `xml:"Prefix"`
	Delimiter          string         `xml:"Delimiter,omitempty"`
	Uploads            []UploadEntry  `xml:"Upload"`
	CommonPrefixes     []CommonPrefix `xml:"CommonPrefixes,omitempty"`
}

// EncodeURL applies encoding-type=url to Key, KeyMarker, NextKeyMarker, Prefix,
// Delimiter and CommonPrefixes. Upload ids are left alone: the COS Go SDK
// url.QueryUnescapes them, so they must consist of URL-safe characters.
func (r *ListMultipartUploadsResult) EncodeURL() {
	r.EncodingType = "url"
	r.KeyMarker = URLEncode(r.KeyMarker)
	r.NextKeyMarker = URLEncode(r.NextKeyMarker)
	r.Prefix = URLEncode(r.Prefix)
	r.Delimiter = URLEncode(r.Delimiter)
	encodePrefixes(r.CommonPrefixes)
	for i := range r.Uploads {
		r.Uploads[i].Key = URLEncode(r.Uploads[i].Key)
	}
}

// UploadEntry is one in-progress upload of ListMultipartUploadsResult.
type UploadEntry struct {
	Key          string `xml:"Key"`
	UploadID     string `xml:"UploadId"`
	StorageClass string `xml:"StorageClass"`
	Initiator    *Owner `xml:"Initiator,omitempty"`
	Owner        *Owner `xml:"Owner,omitempty"`
	Initiated    Time   `xml:"Initiated"`
}

// CopyObjectResult is the PUT Object - Copy body (cos-api.md §5.7).
type CopyObjectResult struct {
	XMLName      xml.Name `xml:"CopyObjectResult"`
	ETag         string   `xml:"ETag"`
	LastModified Time     `xml:"LastModified"`
	VersionID    string   `xml:"VersionId,omitempty"`
	CRC64        string   `xml:"CRC64,omitempty"`
}

// CopyPartResult is the Upload Part - Copy body.
type CopyPartResult struct {
	XMLName      xml.Name `xml:"CopyPartResult"`
	ETag         string   `xml:"ETag"`
	LastModified Time     `xml:"LastModified"`
}
