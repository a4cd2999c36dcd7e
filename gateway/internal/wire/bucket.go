package wire

import (
	"bytes"
	"encoding/xml"
	"io"
)

// ServerSideEncryptionConfiguration is the PUT/GET ?encryption body
// (cos-api.md §4). The root element name is load-bearing: the COS Go SDK
// refuses any other.
type ServerSideEncryptionConfiguration struct {
	XMLName xml.Name         `xml:"ServerSideEncryptionConfiguration"`
	Rules   []EncryptionRule `xml:"Rule"`
}

// EncryptionRule is one <Rule>.
type EncryptionRule struct {
	Default EncryptionDefault `xml:"ApplyServerSideEncryptionByDefault"`
}

// EncryptionDefault is <ApplyServerSideEncryptionByDefault>.
type EncryptionDefault struct {
	SSEAlgorithm   string `xml:"SSEAlgorithm"`
	KMSMasterKeyID string `xml:"KMSMasterKeyID,omitempty"`
	KMSAlgorithm   string `xml:"KMSAlgorithm,omitempty"`
}

// Bucket default-encryption algorithm values. Note KMS, not cos/kms.
const (
	AlgorithmAES256 = "AES256"
	AlgorithmKMS    = "KMS"
	algorithmAWSKMS = "aws:kms" // S3 spelling, accepted on PUT
)

// BucketEncryption is a validated bucket default encryption: Mode is SSECOS or
// SSEKMS; KMSKeyID is empty for the default CMK.
type BucketEncryption struct {
	Mode     SSEMode
	KMSKeyID string
}

// Configuration returns the body that GET ?encryption sends for b.
func (b BucketEncryption) Configuration() ServerSideEncryptionConfiguration {
	d := EncryptionDefault{SSEAlgorithm: AlgorithmAES256}
	if b.Mode == SSEKMS {
		d = EncryptionDefault{SSEAlgorithm: AlgorithmKMS, KMSMasterKeyID: b.KMSKeyID}
	}
	return ServerSideEncryptionConfiguration{Rules: []EncryptionRule{{Default: d}}}
}

// DecodeEncryptionConfiguration reads a PUT ?encryption body of at most
// XMLBodyMax bytes. It must hold exactly one rule (MalformedXML otherwise) whose
// algorithm is AES256 or KMS (also the S3 spelling aws:kms); a KMSMasterKeyID
// is allowed only with KMS, KMSAlgorithm is not supported. Violations are
// InvalidArgument.
func DecodeEncryptionConfiguration(r io.Reader) (BucketEncryption, error) {
	var c ServerSideEncryptionConfiguration
	if err := decodeXML(r, XMLBodyMax, &c); err != nil {
		return BucketEncryption{}, err
	}
	if len(c.Rules) != 1 {
		return BucketEncryption{}, NewError(ErrMalformedXML, "The configuration must hold exactly one Rule.")
	}
	d := c.Rules[0].Default
	if d.KMSAlgorithm != "" {
		return BucketEncryption{}, NewError(ErrInvalidArgument, "KMSAlgorithm is not supported.")
	}
	switch d.SSEAlgorithm {
	case AlgorithmAES256:
		if d.KMSMasterKeyID != "" {
			return BucketEncryption{}, NewError(ErrInvalidArgument, "KMSMasterKeyID is allowed only with the KMS algorithm.")
		}
		return BucketEncryption{Mode: SSECOS}, nil
	case AlgorithmKMS, algorithmAWSKMS:
		if err := validKMSKeyID(d.KMSMasterKeyID); err != nil {
			return BucketEncryption{}, err
		}
		return BucketEncryption{Mode: SSEKMS, KMSKeyID: d.KMSMasterKeyID}, nil
	}
	return BucketEncryption{}, NewError(ErrInvalidArgument, "The SSEAlgorithm must be AES256 or KMS.")
}

// CreateBucketConfiguration is the optional PUT Bucket body. COS and S3 put
// different children in it (BucketAZConfig, BucketArchConfig,
// LocationConstraint); all are tolerated, the ones named here are returned.
type CreateBucketConfiguration struct {
	XMLName            xml.Name `xml:"CreateBucketConfiguration"`
	LocationConstraint string   `xml:"LocationConstraint,omitempty"`
	BucketAZConfig     string   `xml:"BucketAZConfig,omitempty"`
}

// DecodeCreateBucketConfiguration reads an optional PUT Bucket body of at most
// XMLBodyMax bytes; an empty (or whitespace-only) body is the zero value.
func DecodeCreateBucketConfiguration(r io.Reader) (CreateBucketConfiguration, error) {
	var c CreateBucketConfiguration
	body, err := io.ReadAll(io.LimitReader(r, XMLBodyMax+1))
	if err != nil {
		return c, Wrap(ErrIncompleteBody, err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return c, nil
	}
	err = decodeXML(bytes.NewReader(body), XMLBodyMax, &c)
	return c, err
}

// LocationConstraint is the GET Bucket location (?location) body: the region as
// the element's text.
type LocationConstraint struct {
	XMLName xml.Name `xml:"LocationConstraint"`
	Region  string   `xml:",chardata"`
}
