package wire

import (
	"encoding/xml"
	"io"
	"net/http"
	"strings"
)

// CannedACL is an x-cos-acl / x-amz-acl value. The empty value means the header
// was absent; the caller then applies the default (buckets: private; objects:
// default, i.e. inherit the bucket's ACL).
type CannedACL string

// Canned ACL values (cos-api.md §5.11).
const (
	ACLNone                   CannedACL = ""
	ACLDefault                CannedACL = "default"
	ACLPrivate                CannedACL = "private"
	ACLPublicRead             CannedACL = "public-read"
	ACLPublicReadWrite        CannedACL = "public-read-write"
	ACLAuthenticatedRead      CannedACL = "authenticated-read"
	ACLBucketOwnerRead        CannedACL = "bucket-owner-read"
	ACLBucketOwnerFullControl CannedACL = "bucket-owner-full-control"
)

// ParseCannedACL reads x-cos-acl or x-amz-acl (both may be present only with the
// same value). Buckets accept private, public-read, public-read-write and
// authenticated-read; objects additionally default, bucket-owner-read and
// bucket-owner-full-control. Anything else is InvalidArgument.
func ParseCannedACL(h http.Header, object bool) (CannedACL, error) {
	v, err := dual(h, "x-cos-acl", "x-amz-acl")
	if err != nil || v == "" {
		return ACLNone, err
	}
	a := CannedACL(strings.TrimSpace(v))
	switch a {
	case ACLPrivate, ACLPublicRead, ACLPublicReadWrite, ACLAuthenticatedRead:
		return a, nil
	case ACLDefault, ACLBucketOwnerRead, ACLBucketOwnerFullControl:
		if object {
			return a, nil
		}
	}
	return ACLNone, NewError(ErrInvalidArgument, "The canned ACL in x-cos-acl is not valid.")
}

// grantHeaders are the explicit-grant headers of both dialects.
var grantHeaders = [...]string{
	"x-cos-grant-read", "x-cos-grant-write", "x-cos-grant-read-acp", "x-cos-grant-write-acp", "x-cos-grant-full-control",
	"x-amz-grant-read", "x-amz-grant-write", "x-amz-grant-read-acp", "x-amz-grant-write-acp", "x-amz-grant-full-control",
}

// HasACLHeaders reports whether h carries a canned ACL or explicit grant header;
// PUT ?acl must not carry both headers and a body (InvalidRequest).
func HasACLHeaders(h http.Header) bool {
	if h.Get("x-cos-acl") != "" || h.Get("x-amz-acl") != "" {
		return true
	}
	for _, n := range grantHeaders {
		if h.Get(n) != "" {
			return true
		}
	}
	return false
}

// Permission is an ACL permission.
type Permission string

// ACL permissions.
const (
	PermRead        Permission = "READ"
	PermWrite       Permission = "WRITE"
	PermReadACP     Permission = "READ_ACP"
	PermWriteACP    Permission = "WRITE_ACP"
	PermFullControl Permission = "FULL_CONTROL"
)

// Grantee types (the xsi:type attribute).
const (
	GranteeCanonicalUser = "CanonicalUser"
	GranteeRootAccount   = "RootAccount"
	GranteeSubAccount    = "SubAccount"
	GranteeGroup         = "Group"
)

// Group URIs of the public grantees (COS and S3 spellings).
const (
	GroupAllUsers             = "http://cam.qcloud.com/groups/global/AllUsers"
	GroupAuthenticatedUsers   = "http://cam.qcloud.com/groups/global/AuthenticatedUsers"
	GroupAllUsersS3           = "http://acs.amazonaws.com/groups/global/AllUsers"
	GroupAuthenticatedUsersS3 = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
	xsiNamespace              = "http://www.w3.org/2001/XMLSchema-instance"
)

// AccessControlPolicy is the GET/PUT ?acl body (cos-api.md §5.11).
type AccessControlPolicy struct {
	XMLName xml.Name `xml:"AccessControlPolicy"`
	Owner   Owner    `xml:"Owner"`
	Grants  []Grant  `xml:"AccessControlList>Grant"`
}

// Grant is one grantee/permission pair.
type Grant struct {
	Grantee    Grantee    `xml:"Grantee"`
	Permission Permission `xml:"Permission"`
}

// Grantee names who a grant is for: an account (Type CanonicalUser, RootAccount
// or SubAccount, with ID) or a group (Type Group, with URI).
type Grantee struct {
	Type        string
	ID          string
	DisplayName string
	URI         string
}

type granteeBody struct {
	ID          string `xml:"ID,omitempty"`
	DisplayName string `xml:"DisplayName,omitempty"`
	URI         string `xml:"URI,omitempty"`
}

// MarshalXML writes the grantee with its xmlns:xsi declaration and xsi:type.
func (g Grantee) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	start.Attr = []xml.Attr{
		{Name: xml.Name{Local: "xmlns:xsi"}, Value: xsiNamespace},
		{Name: xml.Name{Local: "xsi:type"}, Value: g.Type},
	}
	return e.EncodeElement(granteeBody{ID: g.ID, DisplayName: g.DisplayName, URI: g.URI}, start)
}

// UnmarshalXML reads a grantee; the type attribute may be namespaced (xsi:type
// with or without an xmlns:xsi declaration) or bare.
func (g *Grantee) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	var b granteeBody
	if err := d.DecodeElement(&b, &start); err != nil {
		return err
	}
	*g = Grantee{ID: b.ID, DisplayName: b.DisplayName, URI: b.URI}
	for _, a := range start.Attr {
		if a.Name.Local == "type" && (a.Name.Space == "" || a.Name.Space == xsiNamespace || a.Name.Space == "xsi") {
			g.Type = a.Value
		}
	}
	return nil
}

// DecodeAccessControlPolicy reads a PUT ?acl body of at most XMLBodyMax bytes
// and validates it: at most AccessGrantsMax grants, known permissions, and each
// grantee of a known type with its ID (accounts) or URI (groups). Malformed XML
// is MalformedXML; a policy that does not validate is MalformedACLError.
func DecodeAccessControlPolicy(r io.Reader) (*AccessControlPolicy, error) {
	var p AccessControlPolicy
	if err := decodeXML(r, XMLBodyMax, &p); err != nil {
		return nil, err
	}
	if len(p.Grants) > AccessGrantsMax {
		return nil, Errorf(ErrMalformedACL, "At most %d grants are allowed.", AccessGrantsMax)
	}
	for _, g := range p.Grants {
		switch g.Permission {
		case PermRead, PermWrite, PermReadACP, PermWriteACP, PermFullControl:
		default:
			return nil, NewError(ErrMalformedACL, "A grant has an unknown permission.")
		}
		switch g.Grantee.Type {
		case GranteeCanonicalUser, GranteeRootAccount, GranteeSubAccount:
			if g.Grantee.ID == "" {
				return nil, NewError(ErrMalformedACL, "An account grantee has no ID.")
			}
		case GranteeGroup:
			if g.Grantee.URI == "" {
				return nil, NewError(ErrMalformedACL, "A group grantee has no URI.")
			}
		default:
			return nil, NewError(ErrMalformedACL, "A grantee has an unknown xsi:type.")
		}
	}
	return &p, nil
}
