package gateway

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/coffer-io/coffer/cluster/meta"
	"github.com/coffer-io/coffer/gateway/internal/wire"
)

// perm is what an operation needs from an ACL.
type perm uint8

const (
	permRead perm = iota + 1
	permWrite
	permReadACP
	permWriteACP
)

// isOwner reports whether the request's user may do anything to bucket b.
func (q *request) isOwner(b *meta.Bucket) bool {
	return q.user != nil && (q.user.Admin || q.user.ID == b.Owner)
}

// allows reports whether acl grants p to the requester. canned "" / "default" grants
// nothing by itself (the caller falls back to the bucket's ACL).
func (q *request) allows(acl meta.ACL, p perm) bool {
	switch wire.CannedACL(acl.Canned) {
	case wire.ACLPublicReadWrite:
		if p == permRead || p == permWrite {
			return true
		}
	case wire.ACLPublicRead:
		if p == permRead {
			return true
		}
	case wire.ACLAuthenticatedRead:
		if p == permRead && q.user != nil {
			return true
		}
	}
	for _, g := range acl.Grants {
		if !grantMatches(q, g) {
			continue
		}
		switch g.Permission {
		case string(wire.PermFullControl):
			return true
		case string(wire.PermRead):
			if p == permRead {
				return true
			}
		case string(wire.PermWrite):
			if p == permWrite {
				return true
			}
		case string(wire.PermReadACP):
			if p == permReadACP {
				return true
			}
		case string(wire.PermWriteACP):
			if p == permWriteACP {
				return true
			}
		}
	}
	return false
}

func grantMatches(q *request, g meta.Grant) bool {
	switch g.Grantee {
	case wire.GroupAllUsers, wire.GroupAllUsersS3, "qcs::cam::anyone:anyone":
		return true
	case wire.GroupAuthenticatedUsers, wire.GroupAuthenticatedUsersS3:
		return q.user != nil
	}
	return q.user != nil && g.Grantee == q.user.ID
}

// bucket reads the request's bucket and checks that the requester has p on it.
func (s *Server) bucket(ctx context.Context, q *request, p perm) (*meta.Bucket, error) {
	if err := wire.ValidBucketName(q.bucket); err != nil {
		return nil, err
	}
	b, err := s.meta.GetBucket(ctx, q.bucket)
	if err != nil {
		return nil, err
	}
	if q.isOwner(b) || q.allows(b.ACL, p) {
		return b, nil
	}
	return nil, wire.NewError(wire.ErrAccessDenied, "")
}

func (s *Server) bucketForWrite(ctx context.Context, q *request) (*meta.Bucket, error) {
	return s.bucket(ctx, q, permWrite)
}

// objectForRead resolves the current version of q.bucket/q.key and checks that the
// requester may read it: the object's ACL when it has one of its own, else the
// bucket's. Objects under an SSE mode are never served to anonymous requests.
func (s *Server) objectForRead(ctx context.Context, q *request) (*meta.Version, error) {
	if err := wire.ValidBucketName(q.bucket); err != nil {
		return nil, err
	}
	b, err := s.meta.GetBucket(ctx, q.bucket)
	if err != nil {
		return nil, err
	}
	v, err := s.meta.GetObject(ctx, q.bucket, q.key)
	if err != nil {
		if errors.Is(err, meta.ErrObjectNotFound) && !q.isOwner(b) && !q.allows(b.ACL, permRead) {
			// Do not reveal which keys exist to someone who may not list them.
			return nil, wire.NewError(wire.ErrAccessDenied, "")
		}
		return nil, err
	}
	if q.isOwner(b) {
		return v, nil
	}
	if q.ident.Anonymous && v.SSE.Mode != meta.ModeNone && v.SSE.Mode != "" {
		return nil, wire.Errorf(wire.ErrAccessDenied, "encrypted objects need a signed request")
	}
	acl := v.ACL
	if acl.Canned == "" || acl.Canned == string(wire.ACLDefault) {
		if q.allows(acl, permRead) || q.allows(b.ACL, permRead) {
			return v, nil
		}
	} else if q.allows(acl, permRead) {
		return v, nil
	}
	return nil, wire.NewError(wire.ErrAccessDenied, "")
}

func (s *Server) listBuckets(w http.ResponseWriter, q *request) error {
	if q.user == nil {
		return wire.NewError(wire.ErrAccessDenied, "")
	}
	owner := q.user.ID
	if q.user.Admin {
		owner = ""
	}
	bs, err := s.meta.ListBuckets(q.r.Context(), owner)
	if err != nil {
		return err
	}
	res := wire.ListAllMyBucketsResult{Owner: wire.Owner{ID: q.user.ID, DisplayName: q.user.DisplayName}}
	for _, b := range bs {
		res.Buckets = append(res.Buckets, wire.BucketEntry{
			Name: b.Name, Location: s.cfg.Region, CreationDate: wire.Time(time.Unix(0, b.Created).UTC()),
		})
	}
	return wire.WriteXML(w, http.StatusOK, &res)
}

func (s *Server) createBucket(w http.ResponseWriter, q *request) error {
	ctx := q.r.Context()
	if q.user == nil {
		return wire.NewError(wire.ErrAccessDenied, "")
	}
	if err := wire.ValidBucketName(q.bucket); err != nil {
		return err
	}
	if q.r.ContentLength != 0 {
		if _, err := wire.DecodeCreateBucketConfiguration(q.body); err != nil {
			return err
		}
	}
	canned, err := wire.ParseCannedACL(q.r.Header, false)
	if err != nil {
		return err
	}
	if err := refuseGrantHeaders(q.r.Header); err != nil {
		return err
	}
	b := meta.Bucket{Name: q.bucket, Owner: q.user.ID, ACL: meta.ACL{Canned: string(canned)}, Created: s.cfg.Now().UnixNano()}
	if _, err := s.meta.Apply(ctx, &meta.CreateBucket{Bucket: b}); err != nil {
		if errors.Is(err, meta.ErrBucketExists) {
			if old, gerr := s.meta.GetBucket(ctx, q.bucket); gerr == nil && old.Owner == q.user.ID {
				return wire.NewError(wire.ErrBucketAlreadyOwnedByYou, "")
			}
		}
		return err
	}
	w.Header().Set("Location", "/"+q.bucket)
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) headBucket(w http.ResponseWriter, q *request) error {
	if _, err := s.bucket(q.r.Context(), q, permRead); err != nil {
		return err
	}
	w.Header().Set("x-cos-bucket-region", s.cfg.Region)
	w.Header().Set("x-amz-bucket-region", s.cfg.Region)
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) deleteBucket(w http.ResponseWriter, q *request) error {
	ctx := q.r.Context()
	b, err := s.bucket(ctx, q, permWrite)
	if err != nil {
		return err
	}
	if !q.isOwner(b) {
		return wire.NewError(wire.ErrAccessDenied, "")
	}
	if _, err := s.meta.Apply(ctx, &meta.DeleteBucket{Name: q.bucket}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) getBucketLocation(w http.ResponseWriter, q *request) error {
	if _, err := s.bucket(q.r.Context(), q, permRead); err != nil {
		return err
	}
	type location struct {
		XMLName struct{} `xml:"LocationConstraint"`
		Region  string   `xml:",chardata"`
	}
	return wire.WriteXML(w, http.StatusOK, &location{Region: s.cfg.Region})
}

func (s *Server) listObjects(w http.ResponseWriter, q *request) error {
	ctx := q.r.Context()
	if _, err := s.bucket(ctx, q, permRead); err != nil {
		return err
	}
	w.Header().Set("x-cos-bucket-region", s.cfg.Region)
	maxKeys, err := wire.ParseMaxKeys(q.query.Get("max-keys"), wire.ListMaxKeysMax)
	if err != nil {
		return err
	}
	encodeURL, err := wire.ParseEncodingType(q.query.Get("encoding-type"))
	if err != nil {
		return err
	}
	v2 := q.query.Get("list-type") == "2"
	opts := meta.ListObjectsOptions{
		Prefix: q.query.Get("prefix"), Delimiter: q.query.Get("delimiter"),
		Marker: q.query.Get("marker"), MaxKeys: maxKeys,
	}
	if v2 {
		opts.Marker = q.query.Get("start-after")
		if tok := q.query.Get("continuation-token"); tok != "" {
			opts.Marker = tok
		}
	}
	var res meta.ListObjectsResult
	if maxKeys > 0 {
		res, err = s.meta.ListObjects(ctx, q.bucket, opts)
		if err != nil {
			return err
		}
	}
	contents := make([]wire.ObjectEntry, 0, len(res.Objects))
	for _, o := range res.Objects {
		contents = append(contents, wire.ObjectEntry{
			Key: o.Key, LastModified: wire.Time(time.Unix(0, o.LastModified).UTC()),
			ETag: wire.QuoteETag(o.ETag), Size: o.Size,
			Owner: &wire.Owner{ID: o.Owner, DisplayName: o.Owner}, StorageClass: storageClass(o.StorageClass),
		})
	}
	prefixes := make([]wire.CommonPrefix, 0, len(res.CommonPrefixes))
	for _, p := range res.CommonPrefixes {
		prefixes = append(prefixes, wire.CommonPrefix{Prefix: p})
	}
	if v2 {
		out := wire.ListBucketV2Result{
			Name: q.bucket, Prefix: opts.Prefix, Delimiter: opts.Delimiter, MaxKeys: maxKeys,
			KeyCount: len(contents) + len(prefixes), IsTruncated: res.IsTruncated,
			ContinuationToken: q.query.Get("continuation-token"), StartAfter: q.query.Get("start-after"),
			CommonPrefixes: prefixes, Contents: contents,
		}
		if res.IsTruncated {
			out.NextContinuationToken = res.NextMarker
		}
		if encodeURL {
			out.EncodeURL()
		}
		return wire.WriteXML(w, http.StatusOK, &out)
	}
	out := wire.ListBucketResult{
		Name: q.bucket, Prefix: opts.Prefix, Marker: opts.Marker, MaxKeys: maxKeys,
		Delimiter: opts.Delimiter, IsTruncated: res.IsTruncated, CommonPrefixes: prefixes, Contents: contents,
	}
	if res.IsTruncated {
		out.NextMarker = res.NextMarker
	}
	if encodeURL {
		out.EncodeURL()
	}
	return wire.WriteXML(w, http.StatusOK, &out)
}

func storageClass(c string) string {
	if c == "" {
		return "STANDARD"
	}
	return c
}

// aclPolicy renders an ACL as the AccessControlPolicy body: the owner's full control
// plus what the canned value and grants give others.
func aclPolicy(owner string, acl meta.ACL) *wire.AccessControlPolicy {
	p := &wire.AccessControlPolicy{Owner: wire.Owner{ID: owner, DisplayName: owner}}
	p.Grants = append(p.Grants, wire.Grant{
		Grantee: wire.Grantee{Type: wire.GranteeCanonicalUser, ID: owner, DisplayName: owner}, Permission: wire.PermFullControl,
	})
	group := func(uri string, perm wire.Permission) {
		p.Grants = append(p.Grants, wire.Grant{Grantee: wire.Grantee{Type: wire.GranteeGroup, URI: uri}, Permission: perm})
	}
	switch wire.CannedACL(acl.Canned) {
	case wire.ACLPublicRead:
		group(wire.GroupAllUsers, wire.PermRead)
	case wire.ACLPublicReadWrite:
		group(wire.GroupAllUsers, wire.PermRead)
		group(wire.GroupAllUsers, wire.PermWrite)
	case wire.ACLAuthenticatedRead:
		group(wire.GroupAuthenticatedUsers, wire.PermRead)
	}
	for _, g := range acl.Grants {
		grantee := wire.Grantee{Type: g.GranteeType}
		if g.GranteeType == wire.GranteeGroup {
			grantee.URI = g.Grantee
		} else {
			grantee.ID = g.Grantee
		}
		p.Grants = append(p.Grants, wire.Grant{Grantee: grantee, Permission: wire.Permission(g.Permission)})
	}
	return p
}

// aclFromRequest reads a PUT ?acl request: a canned ACL header or a policy body,
// not both.
func aclFromRequest(q *request, object bool) (meta.ACL, error) {
	canned, err := wire.ParseCannedACL(q.r.Header, object)
	if err != nil {
		return meta.ACL{}, err
	}
	hasBody := q.r.ContentLength > 0
	if canned != wire.ACLNone {
		if hasBody {
			return meta.ACL{}, wire.Errorf(wire.ErrInvalidRequest, "an ACL header and an ACL body are mutually exclusive")
		}
		return meta.ACL{Canned: string(canned)}, nil
	}
	if wire.HasACLHeaders(q.r.Header) {
		return meta.ACL{}, wire.Errorf(wire.ErrNotImplemented, "x-cos-grant-* headers are not supported; send an AccessControlPolicy body")
	}
	if !hasBody {
		return meta.ACL{}, wire.Errorf(wire.ErrInvalidRequest, "PUT ?acl needs an ACL header or body")
	}
	body, err := readXMLBody(q, wire.XMLBodyMax)
	if err != nil {
		return meta.ACL{}, err
	}
	pol, err := wire.DecodeAccessControlPolicy(bytes.NewReader(body))
	if err != nil {
		return meta.ACL{}, err
	}
	acl := meta.ACL{Canned: string(wire.ACLPrivate)}
	if object {
		acl.Canned = string(wire.ACLDefault)
	}
	for _, g := range pol.Grants {
		mg := meta.Grant{GranteeType: g.Grantee.Type, Grantee: g.Grantee.ID, Permission: string(g.Permission)}
		if g.Grantee.Type == wire.GranteeGroup {
			mg.Grantee = g.Grantee.URI
		}
		if mg.Grantee == pol.Owner.ID && g.Permission == wire.PermFullControl {
			continue // the owner's implicit grant
		}
		acl.Grants = append(acl.Grants, mg)
	}
	return acl, nil
}

func (s *Server) getBucketACL(w http.ResponseWriter, q *request) error {
	b, err := s.bucket(q.r.Context(), q, permReadACP)
	if err != nil {
		return err
	}
	return wire.WriteXML(w, http.StatusOK, aclPolicy(b.Owner, b.ACL))
}

func (s *Server) putBucketACL(w http.ResponseWriter, q *request) error {
	ctx := q.r.Context()
	if _, err := s.bucket(ctx, q, permWriteACP); err != nil {
		return err
	}
	acl, err := aclFromRequest(q, false)
	if err != nil {
		return err
	}
	if _, err := s.meta.Apply(ctx, &meta.UpdateBucket{Name: q.bucket, Fields: meta.FieldACL, ACL: acl}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) getObjectACL(w http.ResponseWriter, q *request) error {
	ctx := q.r.Context()
	if _, err := s.bucket(ctx, q, permReadACP); err != nil {
		return err
	}
	v, err := s.meta.GetObject(ctx, q.bucket, q.key)
	if err != nil {
		return err
	}
	return wire.WriteXML(w, http.StatusOK, aclPolicy(v.Owner, v.ACL))
}

func (s *Server) putObjectACL(w http.ResponseWriter, q *request) error {
	ctx := q.r.Context()
	if _, err := s.bucket(ctx, q, permWriteACP); err != nil {
		return err
	}
	acl, err := aclFromRequest(q, true)
	if err != nil {
		return err
	}
	if _, err := s.meta.Apply(ctx, &meta.PutObjectACL{Bucket: q.bucket, Key: q.key, ACL: acl}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}
