package conformance

import (
	"bytes"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	cos "github.com/tencentyun/cos-go-sdk-v5"

	"github.com/coffer-io/coffer/gateway/gatewaytest"
)

// TestCopy covers PUT Object - Copy (cos-api.md 5.7).
func TestCopy(t *testing.T) {
	e := start(t)
	const bucket, other = "copy-1250000000", "copy-dest-1250000000"
	cl := e.mkBucket(t, bucket, nil)
	ocl := e.mkBucket(t, other, nil)
	s3c := e.s3()
	data := randomBytes(300 << 10)
	const src = "src/odd key+%.bin"
	_, err := cl.Object.Put(e.ctx, src, bytes.NewReader(data), &cos.ObjectPutOptions{
		ObjectPutHeaderOptions: &cos.ObjectPutHeaderOptions{
			ContentType: "application/x-src", CacheControl: "no-store",
			XCosMetaXXX: hdr("x-cos-meta-origin", "source", "x-cos-meta-keep", "1"),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	srcURL := e.c.Host(bucket) + "/" + src
	head, err := cl.Object.Head(e.ctx, src, nil)
	if err != nil {
		t.Fatal(err)
	}
	lastMod, err := time.Parse(http.TimeFormat, head.Header.Get("Last-Modified"))
	if err != nil {
		t.Fatalf("source Last-Modified: %v", err)
	}
	before, after := lastMod.Add(-time.Hour).Format(http.TimeFormat), lastMod.Add(time.Hour).Format(http.TimeFormat)

	// checkCopy reads dst back and compares body and the headers in want.
	checkCopy := func(t *testing.T, c *cos.Client, dst string, want map[string]string) {
		t.Helper()
		resp, err := c.Object.Get(e.ctx, dst, nil)
		if err != nil {
			t.Fatalf("get copy: %v", err)
		}
		got := make([]byte, 0, len(data))
		buf := bytes.NewBuffer(got)
		buf.ReadFrom(resp.Body)
		resp.Body.Close()
		if !bytes.Equal(buf.Bytes(), data) {
			t.Errorf("copy holds %d bytes, want the source's %d", buf.Len(), len(data))
		}
		if resp.Header.Get("ETag") != etag(data) || resp.Header.Get("x-cos-hash-crc64ecma") != crc(data) {
			t.Errorf("copy ETag %s CRC %s, want %s %s", resp.Header.Get("ETag"), resp.Header.Get("x-cos-hash-crc64ecma"), etag(data), crc(data))
		}
		for k, v := range want {
			if got := resp.Header.Get(k); got != v {
				t.Errorf("copy %s: %q, want %q", k, got, v)
			}
		}
	}

	t.Run("DirectiveCopy", func(t *testing.T) {
		res, resp, err := cl.Object.Copy(e.ctx, "dst/copy", srcURL, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.ETag != etag(data) {
			t.Errorf("CopyObjectResult ETag %s, want %s", res.ETag, etag(data))
		}
		if _, err := time.Parse(time.RFC3339, res.LastModified); err != nil {
			t.Errorf("CopyObjectResult LastModified %q", res.LastModified)
		}
		// cos-api.md 5.7 and 5.13: Copy returns the CRC-64 when the source has one.
		if res.CRC64 != crc(data) {
			t.Errorf("CopyObjectResult CRC64 %s, want %s", res.CRC64, crc(data))
		}
		if h := resp.Header.Get("x-cos-hash-crc64ecma"); h != crc(data) {
			t.Errorf("x-cos-hash-crc64ecma %s, want %s", h, crc(data))
		}
		checkCopy(t, cl, "dst/copy", map[string]string{
			"Content-Type": "application/x-src", "Cache-Control": "no-store", "x-cos-meta-origin": "source", "x-cos-meta-keep": "1",
		})
	})
	t.Run("DirectiveReplaced", func(t *testing.T) {
		_, _, err := cl.Object.Copy(e.ctx, "dst/replaced", srcURL, &cos.ObjectCopyOptions{
			ObjectCopyHeaderOptions: &cos.ObjectCopyHeaderOptions{
				XCosMetadataDirective: "Replaced", ContentType: "text/x-new",
				XCosMetaXXX: hdr("x-cos-meta-origin", "replaced"),
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		checkCopy(t, cl, "dst/replaced", map[string]string{
			"Content-Type": "text/x-new", "x-cos-meta-origin": "replaced", "x-cos-meta-keep": "", "Cache-Control": "",
		})
	})
	t.Run("OtherBucket", func(t *testing.T) {
		if _, _, err := ocl.Object.Copy(e.ctx, "from-other", srcURL, nil); err != nil {
			t.Fatal(err)
		}
		checkCopy(t, ocl, "from-other", map[string]string{"x-cos-meta-origin": "source"})
	})
	t.Run("OntoItself", func(t *testing.T) {
		_, _, err := cl.Object.Copy(e.ctx, src, srcURL, nil)
		wantCOSErr(t, "copy onto itself without Replaced", err, 400, "InvalidRequest")
		_, _, err = cl.Object.Copy(e.ctx, src, srcURL, &cos.ObjectCopyOptions{
			ObjectCopyHeaderOptions: &cos.ObjectCopyHeaderOptions{XCosMetadataDirective: "Copy"},
		})
		wantCOSErr(t, "copy onto itself with Copy", err, 400, "InvalidRequest")
		// With Replaced it updates the metadata in place.
		_, _, err = cl.Object.Copy(e.ctx, src, srcURL, &cos.ObjectCopyOptions{
			ObjectCopyHeaderOptions: &cos.ObjectCopyHeaderOptions{
				XCosMetadataDirective: "Replaced", ContentType: "application/x-src", CacheControl: "no-store",
				XCosMetaXXX: hdr("x-cos-meta-origin", "source", "x-cos-meta-keep", "1", "x-cos-meta-touched", "yes"),
			},
		})
		if err != nil {
			t.Fatalf("copy onto itself with Replaced: %v", err)
		}
		checkCopy(t, cl, src, map[string]string{"x-cos-meta-touched": "yes", "Content-Type": "application/x-src"})
	})

	conds := []struct {
		name    string
		opt     cos.ObjectCopyHeaderOptions
		succeed bool
	}{
		{"IfMatchYes", cos.ObjectCopyHeaderOptions{XCosCopySourceIfMatch: etag(data)}, true},
		{"IfMatchNo", cos.ObjectCopyHeaderOptions{XCosCopySourceIfMatch: `"0123456789abcdef0123456789abcdef"`}, false},
		{"IfNoneMatchYes", cos.ObjectCopyHeaderOptions{XCosCopySourceIfNoneMatch: etag(data)}, false},
		{"IfNoneMatchNo", cos.ObjectCopyHeaderOptions{XCosCopySourceIfNoneMatch: `"0123456789abcdef0123456789abcdef"`}, true},
		{"IfModifiedSinceBefore", cos.ObjectCopyHeaderOptions{XCosCopySourceIfModifiedSince: before}, true},
		{"IfModifiedSinceAfter", cos.ObjectCopyHeaderOptions{XCosCopySourceIfModifiedSince: after}, false},
		{"IfUnmodifiedSinceAfter", cos.ObjectCopyHeaderOptions{XCosCopySourceIfUnmodifiedSince: after}, true},
		{"IfUnmodifiedSinceBefore", cos.ObjectCopyHeaderOptions{XCosCopySourceIfUnmodifiedSince: before}, false},
	}
	for _, cc := range conds {
		t.Run("Condition/"+cc.name, func(t *testing.T) {
			dst := "cond/" + cc.name
			opt := cc.opt
			_, _, err := cl.Object.Copy(e.ctx, dst, srcURL, &cos.ObjectCopyOptions{ObjectCopyHeaderOptions: &opt})
			if cc.succeed {
				if err != nil {
					t.Fatal(err)
				}
				checkCopy(t, cl, dst, nil)
				return
			}
			wantCOSErr(t, cc.name, err, 412, "PreconditionFailed")
			_, err = cl.Object.Head(e.ctx, dst, nil)
			wantCOSErr(t, "head after a refused copy", err, 404, "")
		})
	}

	t.Run("MissingSource", func(t *testing.T) {
		_, _, err := cl.Object.Copy(e.ctx, "x", e.c.Host(bucket)+"/no/such/key", nil)
		wantCOSErr(t, "copy of a missing key", err, 404, "NoSuchKey")
		_, _, err = cl.Object.Copy(e.ctx, "x", e.c.Host("nobucket-1250000000")+"/k", nil)
		wantCOSErr(t, "copy from a missing bucket", err, 404, "NoSuchBucket")
	})
	t.Run("SourceForms", func(t *testing.T) {
		// "/bucket/key" (S3 form) is accepted as well as the COS host form.
		if _, _, err := cl.Object.Copy(e.ctx, "dst/pathform", "/"+bucket+"/"+src, nil); err != nil {
			t.Fatalf("copy with a /bucket/key source: %v", err)
		}
		checkCopy(t, cl, "dst/pathform", nil)
		// The COS region host form names the same bucket.
		if _, _, err := cl.Object.Copy(e.ctx, "dst/regionform", bucket+".cos.ap-guangzhou.myqcloud.com/"+src, nil); err != nil {
			t.Fatalf("copy with a myqcloud.com source: %v", err)
		}
		checkCopy(t, cl, "dst/regionform", nil)
		_, _, err := cl.Object.Copy(e.ctx, "dst/version", srcURL+"?versionId=bogus", nil)
		wantCOSErr(t, "copy of an unknown source version", err, 404, "NoSuchVersion")
	})
	t.Run("MalformedSource", func(t *testing.T) {
		// The SDK refuses these itself; send them raw.
		for _, src := range []string{e.c.Host(bucket), e.c.Host(bucket) + "/", "no-host-at-all"} {
			resp, b := e.signed(t, "PUT", bucket, "/x", http.Header{"X-Cos-Copy-Source": {src}}, nil, gatewaytest.AccessKey, gatewaytest.SecretKey, nil, nil)
			if er := parseError(t, b); resp.StatusCode != 400 || (er.Code != "InvalidArgument" && er.Code != "InvalidRequest") {
				t.Errorf("copy source %q: %d %s", src, resp.StatusCode, er.Code)
			}
		}
	})
	t.Run("BadDirective", func(t *testing.T) {
		_, _, err := cl.Object.Copy(e.ctx, "x", srcURL, &cos.ObjectCopyOptions{
			ObjectCopyHeaderOptions: &cos.ObjectCopyHeaderOptions{XCosMetadataDirective: "Sideways"},
		})
		wantCOSErr(t, "unknown directive", err, 400, "InvalidArgument")
	})
	t.Run("S3", func(t *testing.T) {
		out, err := s3c.CopyObject(e.ctx, &s3.CopyObjectInput{
			Bucket: aws.String(other), Key: aws.String("s3copy"), CopySource: aws.String(bucket + "/src/odd%20key%2B%25.bin"),
		})
		if err != nil {
			t.Fatal(err)
		}
		if out.CopyObjectResult == nil || aws.ToString(out.CopyObjectResult.ETag) != etag(data) {
			t.Errorf("s3 CopyObjectResult %+v", out.CopyObjectResult)
		}
		checkCopy(t, ocl, "s3copy", map[string]string{"x-cos-meta-origin": "source"})
		_, err = s3c.CopyObject(e.ctx, &s3.CopyObjectInput{
			Bucket: aws.String(other), Key: aws.String("s3copy2"), CopySource: aws.String(bucket + "/src/odd%20key%2B%25.bin"),
			MetadataDirective: types.MetadataDirectiveReplace, ContentType: aws.String("text/x-s3"), Metadata: map[string]string{"n": "v"},
		})
		if err != nil {
			t.Fatal(err)
		}
		checkCopy(t, ocl, "s3copy2", map[string]string{"Content-Type": "text/x-s3", "x-cos-meta-n": "v", "x-cos-meta-origin": ""})
		_, err = s3c.CopyObject(e.ctx, &s3.CopyObjectInput{
			Bucket: aws.String(other), Key: aws.String("s3copy3"), CopySource: aws.String(bucket + "/src/odd%20key%2B%25.bin"),
			CopySourceIfMatch: aws.String(`"nope"`),
		})
		wantS3Err(t, "s3 copy-source-if-match", err, 412, "PreconditionFailed")
	})
}
