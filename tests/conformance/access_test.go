package conformance

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	cos "github.com/tencentyun/cos-go-sdk-v5"

	"github.com/coffer-io/coffer/gateway/gatewaytest"
)

const allUsers = "http://cam.qcloud.com/groups/global/AllUsers"

// publicGrants lists the permissions an ACL gives the AllUsers group.
func publicGrants(acl *cos.ACLXml) []string {
	var perms []string
	for _, g := range acl.AccessControlList {
		if g.Grantee != nil && g.Grantee.URI == allUsers {
			perms = append(perms, g.Permission)
		}
	}
	return perms
}

// TestACL covers PUT/GET bucket and object ACLs, canned via header and via an XML
// body, and what anonymous requests may then do (cos-api.md 5.11).
func TestACL(t *testing.T) {
	e := start(t)
	const private, public, open = "acl-private-1250000000", "acl-public-1250000000", "acl-open-1250000000"
	pcl := e.mkBucket(t, private, nil)
	pubcl := e.mkBucket(t, public, &cos.BucketPutOptions{XCosACL: "public-read"})
	ocl := e.mkBucket(t, open, nil)
	s3c := e.s3()
	body := []byte("acl test object")

	t.Run("BucketDefault", func(t *testing.T) {
		acl, resp, err := pcl.Bucket.GetACL(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if acl.Owner == nil || acl.Owner.ID == "" || len(acl.AccessControlList) != 1 || acl.AccessControlList[0].Permission != "FULL_CONTROL" {
			t.Errorf("default bucket ACL: %+v", acl)
		}
		if got := resp.Header.Get("x-cos-acl"); got != "private" { // the SDK's reading of the grants
			t.Errorf("SDK reads the default ACL as %q", got)
		}
	})
	t.Run("BucketCannedAtCreate", func(t *testing.T) {
		acl, _, err := pubcl.Bucket.GetACL(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if p := publicGrants(acl); len(p) != 1 || p[0] != "READ" {
			t.Errorf("public-read bucket grants AllUsers %q", p)
		}
	})
	t.Run("BucketCannedHeader", func(t *testing.T) {
		if _, err := ocl.Bucket.PutACL(e.ctx, &cos.BucketPutACLOptions{Header: &cos.ACLHeaderOptions{XCosACL: "public-read-write"}}); err != nil {
			t.Fatal(err)
		}
		acl, resp, err := ocl.Bucket.GetACL(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got := resp.Header.Get("x-cos-acl"); got != "public-read-write" {
			t.Errorf("SDK reads %q, grants %q", got, publicGrants(acl))
		}
	})
	t.Run("BucketXMLBody", func(t *testing.T) {
		const b = "acl-body-1250000000"
		cl := e.mkBucket(t, b, nil)
		acl, _, err := cl.Bucket.GetACL(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		pol := &cos.ACLXml{Owner: acl.Owner, AccessControlList: []cos.ACLGrant{
			{Grantee: &cos.ACLGrantee{Type: "CanonicalUser", ID: acl.Owner.ID}, Permission: "FULL_CONTROL"},
			{Grantee: &cos.ACLGrantee{Type: "Group", URI: allUsers}, Permission: "READ"},
		}}
		if _, err := cl.Bucket.PutACL(e.ctx, &cos.BucketPutACLOptions{Body: pol}); err != nil {
			t.Fatal(err)
		}
		got, resp, err := cl.Bucket.GetACL(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if p := publicGrants(got); len(p) != 1 || p[0] != "READ" || resp.Header.Get("x-cos-acl") != "public-read" {
			t.Errorf("after an XML body granting AllUsers READ: %q (%q)", p, resp.Header.Get("x-cos-acl"))
		}
		e.put(t, cl, "o", body)
		if got := anonGet(t, e, b, "o"); got != 200 {
			t.Errorf("anonymous GET in a bucket made public by XML: %d", got)
		}
		rresp, rb := e.signed(t, "PUT", b, "/?acl", nil, []byte("<AccessControlPolicy><Owner>"), gatewaytest.AccessKey, gatewaytest.SecretKey, nil, nil)
		if er := parseError(t, rb); rresp.StatusCode != 400 || (er.Code != "MalformedXML" && er.Code != "MalformedACLError") {
			t.Errorf("PUT ?acl with malformed XML: %d %s", rresp.StatusCode, er.Code)
		}
		// Header and body together are refused.
		_, err = cl.Bucket.PutACL(e.ctx, &cos.BucketPutACLOptions{Header: &cos.ACLHeaderOptions{XCosACL: "private"}, Body: pol})
		wantCOSErr(t, "ACL header and body", err, 400, "InvalidRequest")
		_, err = cl.Bucket.PutACL(e.ctx, &cos.BucketPutACLOptions{Header: &cos.ACLHeaderOptions{XCosACL: "everyone-please"}})
		wantCOSErr(t, "unknown canned ACL", err, 400, "InvalidArgument")
	})

	// Objects: private in a private bucket, public by header at PUT, public by PUT
	// ?acl (header and XML), inheriting in a public-read bucket, private there.
	e.put(t, pcl, "private", body)
	if _, err := pcl.Object.Put(e.ctx, "public-at-put", bytes.NewReader(body), &cos.ObjectPutOptions{
		ACLHeaderOptions: &cos.ACLHeaderOptions{XCosACL: "public-read"},
	}); err != nil {
		t.Fatal(err)
	}
	e.put(t, pcl, "public-by-acl", body)
	e.put(t, pcl, "public-by-xml", body)
	e.put(t, pcl, "public-by-anyone", body)
	e.put(t, pubcl, "inherits", body)
	if _, err := pubcl.Object.Put(e.ctx, "private-in-public", bytes.NewReader(body), &cos.ObjectPutOptions{
		ACLHeaderOptions: &cos.ACLHeaderOptions{XCosACL: "private"},
	}); err != nil {
		t.Fatal(err)
	}
	t.Run("ObjectCannedHeader", func(t *testing.T) {
		if _, err := pcl.Object.PutACL(e.ctx, "public-by-acl", &cos.ObjectPutACLOptions{Header: &cos.ACLHeaderOptions{XCosACL: "public-read"}}); err != nil {
			t.Fatal(err)
		}
		acl, resp, err := pcl.Object.GetACL(e.ctx, "public-by-acl")
		if err != nil {
			t.Fatal(err)
		}
		if p := publicGrants(acl); len(p) != 1 || p[0] != "READ" || resp.Header.Get("x-cos-acl") != "public-read" {
			t.Errorf("object ACL after public-read: %q", p)
		}
	})
	t.Run("ObjectXMLBody", func(t *testing.T) {
		acl, _, err := pcl.Object.GetACL(e.ctx, "public-by-xml")
		if err != nil {
			t.Fatal(err)
		}
		if p := publicGrants(acl); len(p) != 0 {
			t.Errorf("fresh object grants AllUsers %q", p)
		}
		pol := &cos.ACLXml{Owner: acl.Owner, AccessControlList: []cos.ACLGrant{
			{Grantee: &cos.ACLGrantee{TypeAttr: xml.Attr{Name: xml.Name{Local: "xsi:type"}, Value: "Group"}, URI: allUsers}, Permission: "READ"},
		}}
		if _, err := pcl.Object.PutACL(e.ctx, "public-by-xml", &cos.ObjectPutACLOptions{Body: pol}); err != nil {
			t.Fatal(err)
		}
		acl, _, err = pcl.Object.GetACL(e.ctx, "public-by-xml")
		if err != nil {
			t.Fatal(err)
		}
		if p := publicGrants(acl); len(p) != 1 || p[0] != "READ" {
			t.Errorf("object ACL after XML body: %q", p)
		}
		_, _, err = pcl.Object.GetACL(e.ctx, "no-such-object")
		wantCOSErr(t, "ACL of a missing object", err, 404, "NoSuchKey")
		_, err = pcl.Object.PutACL(e.ctx, "no-such-object", &cos.ObjectPutACLOptions{Header: &cos.ACLHeaderOptions{XCosACL: "public-read"}})
		wantCOSErr(t, "PUT ?acl of a missing object", err, 404, "NoSuchKey")
	})

	t.Run("GrantHeadersNotDropped", func(t *testing.T) {
		// x-cos-grant-* on a write must be honoured or refused (PUT ?acl refuses
		// them with NotImplemented), never silently dropped.
		const grantee = "qcs::cam::uin/100000000002:uin/100000000002"
		grant := &cos.ACLHeaderOptions{XCosGrantRead: `id="` + grantee + `"`}
		check := func(t *testing.T, what string, err error, acl func() (*cos.ACLXml, error)) {
			t.Helper()
			if err != nil {
				wantCOSErr(t, what, err, 501, "NotImplemented")
				return
			}
			got, err := acl()
			if err != nil {
				t.Fatal(err)
			}
			for _, g := range got.AccessControlList {
				if g.Grantee != nil && g.Grantee.ID == grantee && g.Permission == "READ" {
					return
				}
			}
			t.Errorf("%s: accepted, but the ACL has no READ grant for %s: %+v", what, grantee, got.AccessControlList)
		}
		_, err := pcl.Object.Put(e.ctx, "granted", bytes.NewReader(body), &cos.ObjectPutOptions{ACLHeaderOptions: grant})
		check(t, "PUT Object with x-cos-grant-read", err, func() (*cos.ACLXml, error) {
			a, _, err := pcl.Object.GetACL(e.ctx, "granted")
			return a, err
		})
		gcl := e.cos("acl-granted-1250000000")
		_, err = gcl.Bucket.Put(e.ctx, &cos.BucketPutOptions{XCosGrantRead: grant.XCosGrantRead})
		check(t, "PUT Bucket with x-cos-grant-read", err, func() (*cos.ACLXml, error) {
			a, _, err := gcl.Bucket.GetACL(e.ctx)
			return a, err
		})
		_, err = pcl.Object.PutACL(e.ctx, "private", &cos.ObjectPutACLOptions{Header: grant})
		check(t, "PUT Object ?acl with x-cos-grant-read", err, func() (*cos.ACLXml, error) {
			a, _, err := pcl.Object.GetACL(e.ctx, "private")
			return a, err
		})
	})
	t.Run("ObjectAnyoneGrantee", func(t *testing.T) {
		// COS's "anyone" account id is public like the AllUsers group (cos-api.md 5.11).
		acl, _, err := pcl.Object.GetACL(e.ctx, "public-by-anyone")
		if err != nil {
			t.Fatal(err)
		}
		pol := &cos.ACLXml{Owner: acl.Owner, AccessControlList: []cos.ACLGrant{
			{Grantee: &cos.ACLGrantee{Type: "CanonicalUser", ID: "qcs::cam::anyone:anyone"}, Permission: "READ"},
		}}
		if _, err := pcl.Object.PutACL(e.ctx, "public-by-anyone", &cos.ObjectPutACLOptions{Body: pol}); err != nil {
			t.Fatal(err)
		}
		_, resp, err := pcl.Object.GetACL(e.ctx, "public-by-anyone")
		if err != nil || resp.Header.Get("x-cos-acl") != "public-read" {
			t.Errorf("the SDK reads the anyone grant as %q (%v)", resp.Header.Get("x-cos-acl"), err)
		}
	})
	anon := []struct {
		bucket, key string
		status      int
	}{
		{private, "private", 403},
		{private, "missing", 403}, // no listing right: do not reveal which keys exist
		{private, "public-at-put", 200},
		{private, "public-by-acl", 200},
		{private, "public-by-xml", 200},
		{private, "public-by-anyone", 200},
		{public, "inherits", 200},
		{public, "private-in-public", 403},
		{public, "missing", 404},
	}
	for _, ac := range anon {
		t.Run("AnonymousGet/"+ac.bucket+"/"+ac.key, func(t *testing.T) {
			if got := anonGet(t, e, ac.bucket, ac.key); got != ac.status {
				t.Errorf("anonymous GET: %d, want %d", got, ac.status)
			}
			_, err := e.anon(ac.bucket).Object.Head(e.ctx, ac.key, nil)
			if ac.status == 200 {
				if err != nil {
					t.Errorf("anonymous HEAD: %v", err)
				}
			} else {
				wantCOSErr(t, "anonymous HEAD", err, ac.status, "")
			}
		})
	}
	t.Run("AnonymousList", func(t *testing.T) {
		// S3 semantics (cos-api.md 5.11, inferred for COS): READ on the bucket lists.
		res, _, err := e.anon(public).Bucket.Get(e.ctx, nil)
		if err != nil {
			t.Fatalf("anonymous list of a public-read bucket: %v", err)
		}
		if len(res.Contents) != 2 {
			t.Errorf("anonymous list: %d objects, want 2", len(res.Contents))
		}
		_, _, err = e.anon(private).Bucket.Get(e.ctx, nil)
		wantCOSErr(t, "anonymous list of a private bucket", err, 403, "AccessDenied")
		_, _, err = e.anon(private).Bucket.GetACL(e.ctx)
		wantCOSErr(t, "anonymous GET ?acl", err, 403, "AccessDenied")
	})
	t.Run("AnonymousOverridesNeedSignature", func(t *testing.T) {
		_, err := e.anon(private).Object.Get(e.ctx, "public-at-put", &cos.ObjectGetOptions{ResponseContentType: "text/html"})
		wantCOSErr(t, "anonymous GET with response-content-type", err, 403, "AccessDenied")
	})
	t.Run("AnonymousWrite", func(t *testing.T) {
		// public-read-write: anonymous PUT works and the object reads back.
		a := e.anon(open)
		if _, err := a.Object.Put(e.ctx, "anon-put", bytes.NewReader(body), nil); err != nil {
			t.Fatalf("anonymous PUT to a public-read-write bucket: %v", err)
		}
		if got := e.get(t, ocl, "anon-put"); !bytes.Equal(got, body) {
			t.Errorf("anonymously written object holds %q", got)
		}
		if _, err := a.Object.Delete(e.ctx, "anon-put"); err != nil {
			t.Errorf("anonymous DELETE in a public-read-write bucket: %v", err)
		}
		// public-read and private: anonymous writes are refused.
		for _, b := range []string{public, private} {
			_, err := e.anon(b).Object.Put(e.ctx, "anon-put", bytes.NewReader(body), nil)
			wantCOSErr(t, "anonymous PUT to "+b, err, 403, "AccessDenied")
			_, err = e.anon(b).Object.Delete(e.ctx, "inherits")
			wantCOSErr(t, "anonymous DELETE in "+b, err, 403, "AccessDenied")
			_, err = e.anon(b).Bucket.PutACL(e.ctx, &cos.BucketPutACLOptions{Header: &cos.ACLHeaderOptions{XCosACL: "public-read-write"}})
			wantCOSErr(t, "anonymous PUT ?acl on "+b, err, 403, "AccessDenied")
		}
		_, err := e.anon(open).Bucket.Delete(e.ctx)
		wantCOSErr(t, "anonymous DELETE of a public-read-write bucket", err, 403, "AccessDenied")
	})
	t.Run("S3", func(t *testing.T) {
		k := aws.String("s3-acl")
		if _, err := s3c.PutObject(e.ctx, &s3.PutObjectInput{Bucket: aws.String(private), Key: k, Body: bytes.NewReader(body), ACL: types.ObjectCannedACLPublicRead}); err != nil {
			t.Fatal(err)
		}
		out, err := s3c.GetObjectAcl(e.ctx, &s3.GetObjectAclInput{Bucket: aws.String(private), Key: k})
		if err != nil {
			t.Fatal(err)
		}
		public := false
		for _, g := range out.Grants {
			if g.Grantee != nil && aws.ToString(g.Grantee.URI) == allUsers && g.Permission == types.PermissionRead {
				public = true
			}
		}
		if !public {
			t.Errorf("s3 object ACL has no AllUsers READ: %+v", out.Grants)
		}
		if got := anonGet(t, e, private, "s3-acl"); got != 200 {
			t.Errorf("anonymous GET of an object made public by S3: %d", got)
		}
		if _, err := s3c.PutObjectAcl(e.ctx, &s3.PutObjectAclInput{Bucket: aws.String(private), Key: k, ACL: types.ObjectCannedACLPrivate}); err != nil {
			t.Fatal(err)
		}
		if got := anonGet(t, e, private, "s3-acl"); got != 403 {
			t.Errorf("anonymous GET after S3 made it private: %d", got)
		}
		if _, err := s3c.PutBucketAcl(e.ctx, &s3.PutBucketAclInput{Bucket: aws.String(private), ACL: types.BucketCannedACLPrivate}); err != nil {
			t.Errorf("s3 PutBucketAcl: %v", err)
		}
		bout, err := s3c.GetBucketAcl(e.ctx, &s3.GetBucketAclInput{Bucket: aws.String(private)})
		if err != nil || bout.Owner == nil || len(bout.Grants) != 1 {
			t.Errorf("s3 GetBucketAcl: %+v, %v", bout, err)
		}
	})
}

// anonGet is the status of an anonymous GET of bucket/key through the COS SDK
// (200 on success), checking the body on success.
func anonGet(t *testing.T, e *env, bucket, key string) int {
	t.Helper()
	resp, err := e.anon(bucket).Object.Get(e.ctx, key, nil)
	if err != nil {
		s, code := cosErr(t, err)
		if s == 403 && code != "AccessDenied" {
			t.Errorf("anonymous GET %s/%s: 403 with code %q", bucket, key, code)
		}
		return s
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestPresigned covers presigned URLs from both SDKs (cos-api.md 2.3).
func TestPresigned(t *testing.T) {
	e := start(t)
	const bucket = "presign-1250000000"
	cl := e.mkBucket(t, bucket, nil)
	hc := e.httpClient()
	data := randomBytes(100 << 10)
	const key = "pre/a b+c;d=e.bin"
	e.put(t, cl, key, data)

	do := func(t *testing.T, method string, u *url.URL, h http.Header, body []byte) (*http.Response, []byte) {
		t.Helper()
		req, err := http.NewRequestWithContext(e.ctx, method, u.String(), bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range h {
			req.Header[k] = v
		}
		req.ContentLength = int64(len(body))
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	errorCode := func(b []byte) string {
		var er struct{ Code string }
		xml.Unmarshal(b, &er)
		return er.Code
	}

	hcl := e.hostClient(bucket)
	t.Run("COSGet", func(t *testing.T) {
		u, err := hcl.Object.GetPresignedURL(e.ctx, http.MethodGet, key, gatewaytest.AccessKey, gatewaytest.SecretKey, time.Hour, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, b := do(t, http.MethodGet, u, nil, nil)
		if resp.StatusCode != 200 || !bytes.Equal(b, data) || resp.Header.Get("x-cos-hash-crc64ecma") != crc(data) {
			t.Errorf("presigned GET: %d, %d bytes", resp.StatusCode, len(b))
		}
	})
	t.Run("COSPut", func(t *testing.T) {
		put := []byte("uploaded through a presigned URL")
		u, err := hcl.Object.GetPresignedURL(e.ctx, http.MethodPut, "pre/put", gatewaytest.AccessKey, gatewaytest.SecretKey, time.Hour, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, _ := do(t, http.MethodPut, u, nil, put)
		if resp.StatusCode != 200 || resp.Header.Get("ETag") != etag(put) || resp.Header.Get("x-cos-hash-crc64ecma") != crc(put) {
			t.Errorf("presigned PUT: %d ETag %s", resp.StatusCode, resp.Header.Get("ETag"))
		}
		if got := e.get(t, cl, "pre/put"); !bytes.Equal(got, put) {
			t.Errorf("presigned PUT stored %q", got)
		}
	})
	t.Run("COSGetWithSignedOverride", func(t *testing.T) {
		// Query parameters are signed (q-url-param-list) and then honoured.
		q := url.Values{"response-content-disposition": {`attachment; filename="a b.bin"`}}
		u, err := hcl.Object.GetPresignedURL(e.ctx, http.MethodGet, key, gatewaytest.AccessKey, gatewaytest.SecretKey, time.Hour,
			&cos.PresignedURLOptions{Query: &q})
		if err != nil {
			t.Fatal(err)
		}
		resp, b := do(t, http.MethodGet, u, nil, nil)
		if resp.StatusCode != 200 || !bytes.Equal(b, data) || resp.Header.Get("Content-Disposition") != q.Get("response-content-disposition") {
			t.Errorf("presigned GET with override: %d, Content-Disposition %q", resp.StatusCode, resp.Header.Get("Content-Disposition"))
		}
		// Changing the signed parameter breaks the signature.
		bad := *u
		bad.RawQuery = strings.Replace(u.RawQuery, "attachment", "inline", 1)
		resp, b = do(t, http.MethodGet, &bad, nil, nil)
		if resp.StatusCode != 403 || errorCode(b) != "SignatureDoesNotMatch" {
			t.Errorf("presigned URL with a changed parameter: %d %s", resp.StatusCode, errorCode(b))
		}
	})
	t.Run("COSNodeStyle", func(t *testing.T) {
		// The Node SDK leaves ';' raw in q-sign-time/q-key-time (Go's url.ParseQuery
		// would drop those pairs, cos-api.md 2.3) and puts its own query after the q-*
		// pairs.
		u, err := hcl.Object.GetPresignedURL(e.ctx, http.MethodGet, key, gatewaytest.AccessKey, gatewaytest.SecretKey, time.Hour, nil)
		if err != nil {
			t.Fatal(err)
		}
		raw := *u
		raw.RawQuery = strings.ReplaceAll(u.RawQuery, "%3B", ";")
		if raw.RawQuery == u.RawQuery {
			t.Fatalf("no %%3B in %s", u.RawQuery)
		}
		resp, b := do(t, http.MethodGet, &raw, nil, nil)
		if resp.StatusCode != 200 || !bytes.Equal(b, data) {
			t.Errorf("presigned GET with raw ';': %d %s", resp.StatusCode, errorCode(b))
		}
	})
	t.Run("COSSignMerged", func(t *testing.T) {
		// PresignedURLOptions.SignMerged puts the whole Authorization in one sign=
		// parameter (cos-api.md 2.3).
		u, err := hcl.Object.GetPresignedURL(e.ctx, http.MethodGet, key, gatewaytest.AccessKey, gatewaytest.SecretKey, time.Hour,
			&cos.PresignedURLOptions{SignMerged: true})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(u.RawQuery, "sign=") {
			t.Fatalf("no sign= in %s", u.RawQuery)
		}
		resp, b := do(t, http.MethodGet, u, nil, nil)
		if resp.StatusCode != 200 || !bytes.Equal(b, data) {
			t.Errorf("presigned GET with sign=: %d %s", resp.StatusCode, errorCode(b))
		}
	})
	t.Run("COSHostNotSigned", func(t *testing.T) {
		// signHost=false: an empty q-header-list is valid; the verifier uses the
		// lists the client sent (cos-api.md 2.2).
		u, err := hcl.Object.GetPresignedURL(e.ctx, http.MethodGet, key, gatewaytest.AccessKey, gatewaytest.SecretKey, time.Hour, nil, false)
		if err != nil {
			t.Fatal(err)
		}
		resp, b := do(t, http.MethodGet, u, nil, nil)
		if resp.StatusCode != 200 || !bytes.Equal(b, data) {
			t.Errorf("presigned GET without host signed: %d %s", resp.StatusCode, errorCode(b))
		}
	})
	t.Run("COSTampered", func(t *testing.T) {
		u, err := hcl.Object.GetPresignedURL(e.ctx, http.MethodGet, key, gatewaytest.AccessKey, gatewaytest.SecretKey, time.Hour, nil)
		if err != nil {
			t.Fatal(err)
		}
		// Another key under the same signature.
		other := *u
		other.Path, other.RawPath = "/pre/other", ""
		resp, b := do(t, http.MethodGet, &other, nil, nil)
		if resp.StatusCode != 403 || errorCode(b) != "SignatureDoesNotMatch" {
			t.Errorf("presigned URL for another key: %d %s", resp.StatusCode, errorCode(b))
		}
		// A PUT under a GET signature.
		resp, b = do(t, http.MethodPut, u, nil, []byte("x"))
		if resp.StatusCode != 403 || errorCode(b) != "SignatureDoesNotMatch" {
			t.Errorf("PUT with a GET presigned URL: %d %s", resp.StatusCode, errorCode(b))
		}
		// Expired.
		start := time.Now().Add(-2 * time.Hour)
		old, err := hcl.Object.GetPresignedURL(e.ctx, http.MethodGet, key, gatewaytest.AccessKey, gatewaytest.SecretKey, time.Hour,
			&cos.PresignedURLOptions{AuthTime: &cos.AuthTime{SignStartTime: start, SignEndTime: start.Add(time.Hour), KeyStartTime: start, KeyEndTime: start.Add(time.Hour)}})
		if err != nil {
			t.Fatal(err)
		}
		resp, b = do(t, http.MethodGet, old, nil, nil)
		if resp.StatusCode != 403 || errorCode(b) != "AccessDenied" {
			t.Errorf("expired presigned URL: %d %s", resp.StatusCode, errorCode(b))
		}
	})

	ps := s3.NewPresignClient(e.s3())
	t.Run("S3Get", func(t *testing.T) {
		req, err := ps.PresignGetObject(e.ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(req.URL)
		resp, b := do(t, req.Method, u, req.SignedHeader, nil)
		if resp.StatusCode != 200 || !bytes.Equal(b, data) {
			t.Errorf("s3 presigned GET: %d, %d bytes", resp.StatusCode, len(b))
		}
		// Tampered: another key.
		u.Path, u.RawPath = "/"+bucket+"/pre/other", ""
		resp, b = do(t, req.Method, u, req.SignedHeader, nil)
		if resp.StatusCode != 403 || errorCode(b) != "SignatureDoesNotMatch" {
			t.Errorf("s3 presigned URL for another key: %d %s", resp.StatusCode, errorCode(b))
		}
	})
	t.Run("S3Put", func(t *testing.T) {
		put := []byte("s3 presigned put")
		req, err := ps.PresignPutObject(e.ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("pre/s3put")})
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(req.URL)
		resp, b := do(t, req.Method, u, req.SignedHeader, put)
		if resp.StatusCode != 200 || resp.Header.Get("ETag") != etag(put) {
			t.Fatalf("s3 presigned PUT: %d %s", resp.StatusCode, b)
		}
		if got := e.get(t, cl, "pre/s3put"); !bytes.Equal(got, put) {
			t.Errorf("s3 presigned PUT stored %q", got)
		}
	})
}

// TestDeleteMultiple covers DELETE Multiple Objects (cos-api.md 5.10).
func TestDeleteMultiple(t *testing.T) {
	e := start(t)
	const bucket = "delmulti-1250000000"
	cl := e.mkBucket(t, bucket, nil)
	s3c := e.s3()
	var keys []string
	for i := range 8 {
		k := fmt.Sprintf("d/%d &<odd>", i)
		keys = append(keys, k)
		e.put(t, cl, k, []byte(k))
	}
	gone := func(t *testing.T, ks ...string) {
		t.Helper()
		for _, k := range ks {
			_, err := cl.Object.Head(e.ctx, k, nil)
			wantCOSErr(t, "head "+k+" after delete", err, 404, "")
		}
	}
	t.Run("Verbose", func(t *testing.T) {
		res, _, err := cl.Object.DeleteMulti(e.ctx, &cos.ObjectDeleteMultiOptions{
			Objects: []cos.Object{{Key: keys[0]}, {Key: keys[1]}, {Key: "d/never-existed"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, o := range res.DeletedObjects {
			got = append(got, o.Key)
		}
		// A missing key is reported deleted (S3 semantics).
		if strings.Join(got, "|") != strings.Join([]string{keys[0], keys[1], "d/never-existed"}, "|") || len(res.Errors) != 0 {
			t.Errorf("verbose result: deleted %q errors %+v", got, res.Errors)
		}
		gone(t, keys[0], keys[1])
		if got := e.get(t, cl, keys[2]); string(got) != keys[2] {
			t.Errorf("untouched key holds %q", got)
		}
	})
	t.Run("Quiet", func(t *testing.T) {
		res, _, err := cl.Object.DeleteMulti(e.ctx, &cos.ObjectDeleteMultiOptions{
			Quiet: true, Objects: []cos.Object{{Key: keys[2]}, {Key: keys[3]}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.DeletedObjects) != 0 || len(res.Errors) != 0 {
			t.Errorf("quiet result lists %+v %+v", res.DeletedObjects, res.Errors)
		}
		gone(t, keys[2], keys[3])
	})
	t.Run("TooMany", func(t *testing.T) {
		objs := make([]cos.Object, 1001)
		for i := range objs {
			objs[i].Key = fmt.Sprintf("k%d", i)
		}
		_, _, err := cl.Object.DeleteMulti(e.ctx, &cos.ObjectDeleteMultiOptions{Objects: objs})
		wantCOSErr(t, "1001 objects", err, 400, "MalformedXML")
	})
	t.Run("BadDigest", func(t *testing.T) {
		body := []byte("<Delete><Object><Key>" + "d/7 &amp;&lt;odd&gt;" + "</Key></Object></Delete>")
		h := http.Header{"Content-Md5": {md5b64([]byte("other"))}, "Content-Type": {"application/xml"}}
		resp, b := e.signed(t, "POST", bucket, "/?delete", h, body, gatewaytest.AccessKey, gatewaytest.SecretKey, nil, nil)
		if er := parseError(t, b); resp.StatusCode != 400 || er.Code != "BadDigest" {
			t.Errorf("delete multiple with a wrong Content-MD5: %d %s", resp.StatusCode, er.Code)
		}
		if got := e.get(t, cl, keys[7]); string(got) != keys[7] {
			t.Errorf("key deleted by a refused request")
		}
		h.Set("Content-Md5", md5b64([]byte("<Delete><Object>")))
		resp, b = e.signed(t, "POST", bucket, "/?delete", h, []byte("<Delete><Object>"), gatewaytest.AccessKey, gatewaytest.SecretKey, nil, nil)
		if er := parseError(t, b); resp.StatusCode != 400 || er.Code != "MalformedXML" {
			t.Errorf("delete multiple with malformed XML: %d %s", resp.StatusCode, er.Code)
		}
	})
	t.Run("AnonymousRefused", func(t *testing.T) {
		_, _, err := e.anon(bucket).Object.DeleteMulti(e.ctx, &cos.ObjectDeleteMultiOptions{Objects: []cos.Object{{Key: keys[4]}}})
		if s, _ := cosErr(t, err); s != 403 {
			// S3 may also answer 200 with a per-key AccessDenied error.
			t.Errorf("anonymous delete multiple: %v", err)
		}
		if got := e.get(t, cl, keys[4]); string(got) != keys[4] {
			t.Errorf("key deleted by an anonymous request")
		}
	})
	t.Run("S3", func(t *testing.T) {
		for _, quiet := range []bool{false, true} {
			out, err := s3c.DeleteObjects(e.ctx, &s3.DeleteObjectsInput{Bucket: aws.String(bucket), Delete: &types.Delete{
				Quiet: aws.Bool(quiet), Objects: []types.ObjectIdentifier{{Key: aws.String(keys[5])}, {Key: aws.String(keys[6])}},
			}})
			if err != nil {
				t.Fatal(err)
			}
			if want := map[bool]int{false: 2, true: 0}[quiet]; len(out.Deleted) != want || len(out.Errors) != 0 {
				t.Errorf("s3 quiet=%v: %d deleted, errors %+v", quiet, len(out.Deleted), out.Errors)
			}
		}
		gone(t, keys[5], keys[6])
	})
}
