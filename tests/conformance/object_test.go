package conformance

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	cos "github.com/tencentyun/cos-go-sdk-v5"

	"github.com/coffer-io/coffer/gateway/gatewaytest"
)

// TestObject covers PUT/GET/HEAD/DELETE Object (cos-api.md 5.5, 5.6) and what the
// SDKs check on those responses (section 6).
func TestObject(t *testing.T) {
	e := start(t)
	const bucket = "object-1250000000"
	cl := e.mkBucket(t, bucket, nil)
	s3c := e.s3()
	data := randomBytes(200 << 10) // crosses the 64 KiB erasure blocks
	const key = "dir/obj ject+1.bin"
	expires := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC).Format(http.TimeFormat)
	stored := map[string]string{
		"Content-Type":        "application/x-conformance",
		"Cache-Control":       "max-age=3600",
		"Content-Disposition": `attachment; filename="o.bin"`,
		"Content-Encoding":    "deflate",
		"Content-Language":    "en-GB",
		"Expires":             expires,
		"x-cos-meta-color":    "blue",
		"x-cos-meta-two-word": "Hello World",
	}

	putResp, err := cl.Object.Put(e.ctx, key, bytes.NewReader(data), &cos.ObjectPutOptions{
		ObjectPutHeaderOptions: &cos.ObjectPutHeaderOptions{
			ContentType: stored["Content-Type"], CacheControl: stored["Cache-Control"],
			ContentDisposition: stored["Content-Disposition"], ContentEncoding: stored["Content-Encoding"],
			ContentLanguage: stored["Content-Language"], Expires: expires, ContentMD5: md5b64(data),
			XCosMetaXXX: hdr("x-cos-meta-color", "blue", "x-cos-meta-two-word", "Hello World"),
		},
	})
	if err != nil {
		t.Fatalf("put: %v", err) // the SDK also fails here if the CRC-64 header is wrong
	}
	t.Run("PutResponse", func(t *testing.T) {
		if got := putResp.Header.Get("ETag"); got != etag(data) {
			t.Errorf("ETag %s, want %s", got, etag(data))
		}
		if got := putResp.Header.Get("x-cos-hash-crc64ecma"); got != crc(data) {
			t.Errorf("x-cos-hash-crc64ecma %s, want %s", got, crc(data))
		}
	})

	checkStored := func(t *testing.T, h http.Header) {
		t.Helper()
		for k, v := range stored {
			if got := h.Get(k); got != v {
				t.Errorf("%s: %q, want %q", k, got, v)
			}
		}
		if got := h.Get("ETag"); got != etag(data) {
			t.Errorf("ETag %s, want %s", got, etag(data))
		}
		if got := h.Get("x-cos-hash-crc64ecma"); got != crc(data) {
			t.Errorf("x-cos-hash-crc64ecma %s, want %s", got, crc(data))
		}
		if _, err := time.Parse(http.TimeFormat, h.Get("Last-Modified")); err != nil {
			t.Errorf("Last-Modified %q: %v", h.Get("Last-Modified"), err)
		}
	}
	t.Run("Get", func(t *testing.T) {
		resp, err := cl.Object.Get(e.ctx, key, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !bytes.Equal(got, data) {
			t.Fatalf("body: %d bytes, want %d", len(got), len(data))
		}
		checkStored(t, resp.Header)
		if resp.Header.Get("Content-Length") != strconv.Itoa(len(data)) {
			t.Errorf("Content-Length %q", resp.Header.Get("Content-Length"))
		}
		if resp.Header.Get("Accept-Ranges") != "bytes" {
			t.Errorf("Accept-Ranges %q", resp.Header.Get("Accept-Ranges"))
		}
	})
	t.Run("Head", func(t *testing.T) {
		resp, err := cl.Object.Head(e.ctx, key, nil)
		if err != nil {
			t.Fatal(err)
		}
		checkStored(t, resp.Header)
		// Download() parses Content-Length of HEAD as the object size.
		if resp.Header.Get("Content-Length") != strconv.Itoa(len(data)) || resp.ContentLength != int64(len(data)) {
			t.Errorf("HEAD Content-Length %q (%d), want %d", resp.Header.Get("Content-Length"), resp.ContentLength, len(data))
		}
	})
	t.Run("GetS3", func(t *testing.T) {
		out, err := s3c.GetObject(e.ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(out.Body)
		out.Body.Close()
		if !bytes.Equal(got, data) || aws.ToString(out.ContentType) != stored["Content-Type"] ||
			out.Metadata["color"] != "blue" || aws.ToString(out.ETag) != etag(data) || aws.ToInt64(out.ContentLength) != int64(len(data)) {
			t.Errorf("s3 get: %d bytes, Content-Type %q, metadata %v, ETag %s, length %d",
				len(got), aws.ToString(out.ContentType), out.Metadata, aws.ToString(out.ETag), aws.ToInt64(out.ContentLength))
		}
	})

	n := len(data)
	ranges := []struct {
		name, header string
		status       int
		first, last  int // inclusive, for 206
	}{
		{"FirstLast", "bytes=0-9", 206, 0, 9},
		{"Middle", "bytes=65530-131080", 206, 65530, 131080},
		{"LastByte", fmt.Sprintf("bytes=%d-%d", n-1, n-1), 206, n - 1, n - 1},
		{"LastBeyondEnd", fmt.Sprintf("bytes=%d-%d", n-10, n+1000), 206, n - 10, n - 1},
		{"Open", fmt.Sprintf("bytes=%d-", n-100), 206, n - 100, n - 1},
		{"OpenFromZero", "bytes=0-", 206, 0, n - 1},
		{"Suffix", "bytes=-100", 206, n - 100, n - 1},
		{"SuffixLargerThanObject", fmt.Sprintf("bytes=-%d", n+5), 206, 0, n - 1},
		{"UnsatisfiableStart", fmt.Sprintf("bytes=%d-", n), 416, 0, 0},
		{"UnsatisfiableFar", fmt.Sprintf("bytes=%d-%d", n+10, n+20), 416, 0, 0},
		{"InvalidReversed", "bytes=9-1", 200, 0, n - 1},
		{"InvalidUnit", "items=0-9", 200, 0, n - 1},
		{"InvalidSyntax", "bytes=abc", 200, 0, n - 1},
		{"InvalidEmpty", "bytes=", 200, 0, n - 1},
		// COS serves single ranges only; S3 ignores a multi-range header.
		{"MultiRangeIgnored", "bytes=0-1,5-6", 200, 0, n - 1},
	}
	for _, rc := range ranges {
		check := func(t *testing.T, status int, h http.Header, body []byte) {
			t.Helper()
			if status != rc.status {
				t.Fatalf("status %d, want %d", status, rc.status)
			}
			if !bytes.Equal(body, data[rc.first:rc.last+1]) {
				t.Errorf("body %d bytes, want data[%d:%d]", len(body), rc.first, rc.last+1)
			}
			if rc.status == 206 {
				if want := fmt.Sprintf("bytes %d-%d/%d", rc.first, rc.last, n); h.Get("Content-Range") != want {
					t.Errorf("Content-Range %q, want %q", h.Get("Content-Range"), want)
				}
			}
			// The CRC-64 on a 206 is the whole object's.
			if got := h.Get("x-cos-hash-crc64ecma"); got != crc(data) {
				t.Errorf("x-cos-hash-crc64ecma %s, want %s", got, crc(data))
			}
		}
		t.Run("RangeCOS/"+rc.name, func(t *testing.T) {
			resp, err := cl.Object.Get(e.ctx, key, &cos.ObjectGetOptions{Range: rc.header})
			if rc.status == 416 {
				wantCOSErr(t, rc.header, err, 416, "InvalidRange")
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			check(t, resp.StatusCode, resp.Header, body)
		})
		t.Run("RangeS3/"+rc.name, func(t *testing.T) {
			out, err := s3c.GetObject(e.ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Range: aws.String(rc.header)})
			if rc.status == 416 {
				wantS3Err(t, rc.header, err, 416, "InvalidRange")
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(out.Body)
			out.Body.Close()
			if rc.status == 206 && aws.ToString(out.ContentRange) != fmt.Sprintf("bytes %d-%d/%d", rc.first, rc.last, n) {
				t.Errorf("ContentRange %q", aws.ToString(out.ContentRange))
			}
			if !bytes.Equal(body, data[rc.first:rc.last+1]) {
				t.Errorf("body %d bytes, want data[%d:%d]", len(body), rc.first, rc.last+1)
			}
		})
	}

	head, err := cl.Object.Head(e.ctx, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	lastMod, err := time.Parse(http.TimeFormat, head.Header.Get("Last-Modified"))
	if err != nil {
		t.Fatalf("Last-Modified: %v", err)
	}
	before, after := lastMod.Add(-time.Hour).Format(http.TimeFormat), lastMod.Add(time.Hour).Format(http.TimeFormat)
	tag := etag(data)
	conds := []struct {
		name   string
		hdr    []string
		status int // 200, 304 or 412
	}{
		{"IfMatchYes", []string{"If-Match", tag}, 200},
		{"IfMatchUnquoted", []string{"If-Match", md5hex(data)}, 200},
		{"IfMatchStar", []string{"If-Match", "*"}, 200},
		{"IfMatchNo", []string{"If-Match", `"0123456789abcdef0123456789abcdef"`}, 412},
		{"IfMatchList", []string{"If-Match", `"00000000000000000000000000000000", ` + tag}, 200},
		{"IfNoneMatchYes", []string{"If-None-Match", tag}, 304},
		{"IfNoneMatchStar", []string{"If-None-Match", "*"}, 304},
		{"IfNoneMatchNo", []string{"If-None-Match", `"0123456789abcdef0123456789abcdef"`}, 200},
		{"IfModifiedSinceBefore", []string{"If-Modified-Since", before}, 200},
		{"IfModifiedSinceAfter", []string{"If-Modified-Since", after}, 304},
		{"IfUnmodifiedSinceAfter", []string{"If-Unmodified-Since", after}, 200},
		{"IfUnmodifiedSinceBefore", []string{"If-Unmodified-Since", before}, 412},
		// RFC 7232 section 6 (and S3): If-Match decides over If-Unmodified-Since, and
		// If-None-Match over If-Modified-Since.
		{"IfMatchYesUnmodifiedNo", []string{"If-Match", tag, "If-Unmodified-Since", before}, 200},
		{"IfNoneMatchYesModifiedYes", []string{"If-None-Match", tag, "If-Modified-Since", before}, 304},
		{"IfMatchNoNoneMatchNo", []string{"If-Match", `"x"`, "If-None-Match", `"y"`}, 412},
	}
	for _, cc := range conds {
		t.Run("CondGet/"+cc.name, func(t *testing.T) {
			resp, err := cl.Object.Get(e.ctx, key, &cos.ObjectGetOptions{XOptionHeader: hdr(cc.hdr...)})
			switch cc.status {
			case 200:
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || !bytes.Equal(body, data) {
					t.Errorf("status %d, %d bytes", resp.StatusCode, len(body))
				}
			case 304:
				wantCOSErr(t, cc.name, err, 304, "")
				if s, _ := cosErr(t, err); s == 304 {
					var ce *cos.ErrorResponse
					if asErr(err, &ce) && ce.Response.Header.Get("ETag") != tag {
						t.Errorf("304 without the ETag: %q", ce.Response.Header.Get("ETag"))
					}
				}
			case 412:
				wantCOSErr(t, cc.name, err, 412, "PreconditionFailed")
			}
		})
		t.Run("CondHead/"+cc.name, func(t *testing.T) {
			_, err := cl.Object.Head(e.ctx, key, &cos.ObjectHeadOptions{XOptionHeader: hdr(cc.hdr...)})
			if cc.status == 200 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantCOSErr(t, cc.name, err, cc.status, "")
		})
	}
	t.Run("CondS3", func(t *testing.T) {
		_, err := s3c.GetObject(e.ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), IfMatch: aws.String(`"nope"`)})
		wantS3Err(t, "s3 If-Match", err, 412, "PreconditionFailed")
		_, err = s3c.HeadObject(e.ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), IfNoneMatch: aws.String(tag)})
		wantS3Err(t, "s3 If-None-Match", err, 304, "")
	})

	t.Run("ResponseOverrides", func(t *testing.T) {
		opt := &cos.ObjectGetOptions{
			ResponseContentType: "text/plain", ResponseContentLanguage: "fr",
			ResponseExpires: "Thu, 01 Dec 1994 16:00:00 GMT", ResponseCacheControl: "no-cache",
			ResponseContentDisposition: `inline; filename="x.txt"`, ResponseContentEncoding: "identity",
		}
		resp, err := cl.Object.Get(e.ctx, key, opt)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		want := map[string]string{
			"Content-Type": "text/plain", "Content-Language": "fr", "Expires": "Thu, 01 Dec 1994 16:00:00 GMT",
			"Cache-Control": "no-cache", "Content-Disposition": `inline; filename="x.txt"`, "Content-Encoding": "identity",
		}
		for k, v := range want {
			if got := resp.Header.Get(k); got != v {
				t.Errorf("%s: %q, want %q", k, got, v)
			}
		}
		out, err := s3c.GetObject(e.ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), ResponseContentType: aws.String("text/csv")})
		if err != nil {
			t.Fatal(err)
		}
		out.Body.Close()
		if aws.ToString(out.ContentType) != "text/csv" {
			t.Errorf("s3 override: Content-Type %q", aws.ToString(out.ContentType))
		}
	})

	small := []byte("content-md5 check")
	digests := []struct {
		name, md5 string
		status    int
		code      string
	}{
		{"Good", md5b64(small), 200, ""},
		{"Mismatch", md5b64([]byte("something else")), 400, "BadDigest"},
		{"NotBase64", "not*base64!", 400, "InvalidDigest"},
		{"WrongLength", "AAAA", 400, "InvalidDigest"},
	}
	for _, dc := range digests {
		t.Run("ContentMD5/"+dc.name, func(t *testing.T) {
			k := "md5/" + dc.name
			_, err := cl.Object.Put(e.ctx, k, bytes.NewReader(small), &cos.ObjectPutOptions{
				ObjectPutHeaderOptions: &cos.ObjectPutHeaderOptions{ContentMD5: dc.md5},
			})
			if dc.status == 200 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantCOSErr(t, dc.name, err, dc.status, dc.code)
			_, err = cl.Object.Head(e.ctx, k, nil)
			wantCOSErr(t, "head after a refused put", err, 404, "")
		})
	}

	t.Run("ForbidOverwrite", func(t *testing.T) {
		const k = "forbid"
		first, second := []byte("first"), []byte("second")
		opt := &cos.ObjectPutOptions{ObjectPutHeaderOptions: &cos.ObjectPutHeaderOptions{XOptionHeader: hdr("x-cos-forbid-overwrite", "true")}}
		if _, err := cl.Object.Put(e.ctx, k, bytes.NewReader(first), opt); err != nil {
			t.Fatalf("first put with forbid-overwrite: %v", err)
		}
		_, err := cl.Object.Put(e.ctx, k, bytes.NewReader(second), opt)
		if s, code := cosErr(t, err); !(s == 409 && code == "FileAlreadyExists") && !(s == 412 && code == "PreconditionFailed") {
			t.Errorf("overwrite with forbid-overwrite: status %d code %q (err %v), want 409 FileAlreadyExists or 412 PreconditionFailed", s, code, err)
		}
		if got := e.get(t, cl, k); !bytes.Equal(got, first) {
			t.Errorf("object holds %q after a refused overwrite", got)
		}
		// Without the header, overwriting works.
		e.put(t, cl, k, second)
		if got := e.get(t, cl, k); !bytes.Equal(got, second) {
			t.Errorf("object holds %q after an overwrite", got)
		}
	})

	t.Run("EmptyObject", func(t *testing.T) {
		resp := e.put(t, cl, "empty", nil)
		if resp.Header.Get("x-cos-hash-crc64ecma") != "0" || resp.Header.Get("ETag") != etag(nil) {
			t.Errorf("empty put: CRC %q ETag %q", resp.Header.Get("x-cos-hash-crc64ecma"), resp.Header.Get("ETag"))
		}
		h, err := cl.Object.Head(e.ctx, "empty", nil)
		if err != nil {
			t.Fatal(err)
		}
		if h.Header.Get("Content-Length") != "0" {
			t.Errorf("HEAD Content-Length %q", h.Header.Get("Content-Length"))
		}
		if got := e.get(t, cl, "empty"); len(got) != 0 {
			t.Errorf("empty object reads %d bytes", len(got))
		}
		_, err = cl.Object.Get(e.ctx, "empty", &cos.ObjectGetOptions{Range: "bytes=0-0"})
		wantCOSErr(t, "range on an empty object", err, 416, "InvalidRange")
	})

	t.Run("S3Put", func(t *testing.T) {
		body := []byte("through aws-sdk-go-v2")
		out, err := s3c.PutObject(e.ctx, &s3.PutObjectInput{
			Bucket: aws.String(bucket), Key: aws.String("s3/put"), Body: bytes.NewReader(body),
			ContentType: aws.String("text/x-s3"), Metadata: map[string]string{"origin": "s3"},
		})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(out.ETag) != etag(body) {
			t.Errorf("ETag %s, want %s", aws.ToString(out.ETag), etag(body))
		}
		resp, err := cl.Object.Head(e.ctx, "s3/put", nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp.Header.Get("x-cos-meta-origin") != "s3" || resp.Header.Get("Content-Type") != "text/x-s3" || resp.Header.Get("x-cos-hash-crc64ecma") != crc(body) {
			t.Errorf("s3 put read by COS: meta %q type %q crc %q", resp.Header.Get("x-cos-meta-origin"), resp.Header.Get("Content-Type"), resp.Header.Get("x-cos-hash-crc64ecma"))
		}
	})

	t.Run("Expect100Continue", func(t *testing.T) {
		body := randomBytes(10 << 10)
		_, err := cl.Object.Put(e.ctx, "expect", bytes.NewReader(body), &cos.ObjectPutOptions{
			ObjectPutHeaderOptions: &cos.ObjectPutHeaderOptions{Expect: "100-continue", ContentLength: int64(len(body))},
		})
		if err != nil {
			t.Fatalf("PUT with Expect: 100-continue: %v", err)
		}
		if got := e.get(t, cl, "expect"); !bytes.Equal(got, body) {
			t.Error("object stored with Expect: 100-continue differs")
		}
		_, err = e.cos("nobucket-1250000000").Object.Put(e.ctx, "expect", bytes.NewReader(body), &cos.ObjectPutOptions{
			ObjectPutHeaderOptions: &cos.ObjectPutHeaderOptions{Expect: "100-continue", ContentLength: int64(len(body))},
		})
		wantCOSErr(t, "PUT with Expect to a missing bucket", err, 404, "NoSuchBucket")
	})
	t.Run("RangeWithConditions", func(t *testing.T) {
		_, err := cl.Object.Get(e.ctx, key, &cos.ObjectGetOptions{Range: "bytes=0-9", XOptionHeader: hdr("If-Match", `"nope"`)})
		wantCOSErr(t, "range with a failing If-Match", err, 412, "PreconditionFailed")
		_, err = cl.Object.Get(e.ctx, key, &cos.ObjectGetOptions{Range: "bytes=0-9", XOptionHeader: hdr("If-None-Match", tag)})
		wantCOSErr(t, "range with a matching If-None-Match", err, 304, "")
		resp, err := cl.Object.Get(e.ctx, key, &cos.ObjectGetOptions{Range: "bytes=0-9", XOptionHeader: hdr("If-Match", tag)})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 206 || !bytes.Equal(b, data[:10]) {
			t.Errorf("range with a passing If-Match: %d, %d bytes", resp.StatusCode, len(b))
		}
	})
	t.Run("StorageClass", func(t *testing.T) {
		put := func(k, class string) error {
			_, err := cl.Object.Put(e.ctx, k, strings.NewReader("x"), &cos.ObjectPutOptions{
				ObjectPutHeaderOptions: &cos.ObjectPutHeaderOptions{XCosStorageClass: class},
			})
			return err
		}
		if err := put("class/ia", "STANDARD_IA"); err != nil {
			t.Fatal(err)
		}
		h, err := cl.Object.Head(e.ctx, "class/ia", nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := h.Header.Get("x-cos-storage-class"); got != "STANDARD_IA" {
			t.Errorf("x-cos-storage-class %q, want STANDARD_IA", got)
		}
		// STANDARD is not echoed (cos-api.md 5.6).
		if got := putResp.Header.Get("x-cos-storage-class"); got != "" {
			t.Errorf("STANDARD object echoes x-cos-storage-class %q", got)
		}
		res, _, err := cl.Bucket.Get(e.ctx, &cos.BucketGetOptions{Prefix: "class/"})
		if err != nil || len(res.Contents) != 1 || res.Contents[0].StorageClass != "STANDARD_IA" {
			t.Errorf("listing of an STANDARD_IA object: %+v %v", res, err)
		}
		err = put("class/bogus", "BOGUS")
		wantCOSErr(t, "unknown storage class", err, 400, "InvalidStorageClass")
	})
	t.Run("ChunkedPut", func(t *testing.T) {
		// The Go SDK sends Transfer-Encoding: chunked when it cannot size the
		// reader (cos-api.md 5.5); its CRC-64 check still applies.
		body := randomBytes(70 << 10)
		resp, err := cl.Object.Put(e.ctx, "chunked", io.MultiReader(bytes.NewReader(body)), nil)
		if err != nil {
			t.Fatalf("chunked PUT: %v", err)
		}
		if resp.Header.Get("ETag") != etag(body) {
			t.Errorf("ETag %s, want %s", resp.Header.Get("ETag"), etag(body))
		}
		if got := e.get(t, cl, "chunked"); !bytes.Equal(got, body) {
			t.Errorf("chunked object reads %d bytes, want %d", len(got), len(body))
		}
	})
	t.Run("Limits", func(t *testing.T) {
		_, err := cl.Object.Put(e.ctx, "bigmeta", strings.NewReader("x"), &cos.ObjectPutOptions{
			ObjectPutHeaderOptions: &cos.ObjectPutHeaderOptions{XCosMetaXXX: hdr("x-cos-meta-big", strings.Repeat("v", 2100))},
		})
		wantCOSErr(t, "metadata over 2 KB", err, 400, "MetadataTooLarge")
		_, err = cl.Object.Put(e.ctx, strings.Repeat("k", 851), strings.NewReader("x"), nil)
		wantCOSErr(t, "key over 850 bytes", err, 400, "KeyTooLong")
		if _, err := cl.Object.Put(e.ctx, strings.Repeat("k", 850), strings.NewReader("x"), nil); err != nil {
			t.Errorf("key of 850 bytes: %v", err)
		}
		_, err = cl.Object.Put(e.ctx, "badacl", strings.NewReader("x"), &cos.ObjectPutOptions{ACLHeaderOptions: &cos.ACLHeaderOptions{XCosACL: "bogus"}})
		wantCOSErr(t, "unknown canned ACL", err, 400, "InvalidArgument")
	})
	t.Run("TrafficLimitRange", func(t *testing.T) {
		// x-cos-traffic-limit is 819200..838860800 bit/s; outside ⇒ 400 (cos-api.md 5.5).
		for _, v := range []int{100, 838860801} {
			_, err := cl.Object.Put(e.ctx, "traffic", strings.NewReader("x"), &cos.ObjectPutOptions{
				ObjectPutHeaderOptions: &cos.ObjectPutHeaderOptions{XCosTrafficLimit: v},
			})
			wantCOSErr(t, fmt.Sprintf("x-cos-traffic-limit %d", v), err, 400, "InvalidArgument")
		}
		if _, err := cl.Object.Put(e.ctx, "traffic", strings.NewReader("x"), &cos.ObjectPutOptions{
			ObjectPutHeaderOptions: &cos.ObjectPutHeaderOptions{XCosTrafficLimit: 819200 * 8},
		}); err != nil {
			t.Errorf("x-cos-traffic-limit in range: %v", err)
		}
	})
	t.Run("KeysAreNotCleaned", func(t *testing.T) {
		// Keys are names, not paths: "a/../b" and "b" are different objects.
		e.put(t, cl, "dots/a/../b", []byte("dotted"))
		e.put(t, cl, "dots/b", []byte("plain"))
		if got := e.get(t, cl, "dots/a/../b"); string(got) != "dotted" {
			t.Errorf("dots/a/../b holds %q", got)
		}
	})
	t.Run("DefaultContentType", func(t *testing.T) {
		resp, b := e.signed(t, "PUT", bucket, "/noct", nil, []byte("x"), gatewaytest.AccessKey, gatewaytest.SecretKey, nil, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("raw PUT: %d %s", resp.StatusCode, b)
		}
		h, err := cl.Object.Head(e.ctx, "noct", nil)
		if err != nil {
			t.Fatal(err)
		}
		if ct := h.Header.Get("Content-Type"); ct != "application/octet-stream" {
			t.Errorf("Content-Type of an object stored without one: %q", ct)
		}
	})
	t.Run("S3IfNoneMatchStar", func(t *testing.T) {
		_, err := s3c.PutObject(e.ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader("new"), IfNoneMatch: aws.String("*")})
		wantS3Err(t, "s3 PUT If-None-Match: * on an existing key", err, 412, "PreconditionFailed")
	})
	t.Run("HeadNotModifiedHeaders", func(t *testing.T) {
		_, err := cl.Object.Head(e.ctx, key, &cos.ObjectHeadOptions{XOptionHeader: hdr("If-None-Match", tag)})
		var ce *cos.ErrorResponse
		if !asErr(err, &ce) || ce.Response.StatusCode != 304 {
			t.Fatalf("HEAD If-None-Match: %v", err)
		}
		if ce.Response.Header.Get("ETag") != tag || ce.Response.Header.Get("Last-Modified") == "" {
			t.Errorf("304 headers: ETag %q Last-Modified %q", ce.Response.Header.Get("ETag"), ce.Response.Header.Get("Last-Modified"))
		}
	})
	t.Run("MalformedDateIgnored", func(t *testing.T) {
		// S3 ignores an unparsable date; cos-api.md 5.6 allows either.
		resp, err := cl.Object.Get(e.ctx, key, &cos.ObjectGetOptions{IfModifiedSince: "not a date"})
		if s, _ := cosErr(t, err); err != nil && s != 400 {
			t.Fatalf("malformed If-Modified-Since: %v", err)
		}
		if err == nil {
			resp.Body.Close()
		}
	})

	t.Run("ListAgreesWithHead", func(t *testing.T) {
		res, _, err := cl.Bucket.Get(e.ctx, &cos.BucketGetOptions{Prefix: key})
		if err != nil || len(res.Contents) != 1 {
			t.Fatalf("list: %+v %v", res, err)
		}
		o := res.Contents[0]
		lm, err := time.Parse(time.RFC3339, o.LastModified)
		if err != nil {
			t.Fatal(err)
		}
		if !lm.Truncate(time.Second).Equal(lastMod) || o.ETag != tag || o.Size != int64(len(data)) {
			t.Errorf("listing says %s %s %d, HEAD says %s %s %d", o.LastModified, o.ETag, o.Size, lastMod, tag, len(data))
		}
	})
	t.Run("HostCaseInsensitive", func(t *testing.T) {
		up := e.cos(bucket)
		up.Host = strings.ToUpper(e.c.Host(bucket))
		if _, err := up.Object.Head(e.ctx, key, nil); err != nil {
			t.Errorf("HEAD through %s: %v", up.Host, err)
		}
	})
	t.Run("S3Checksums", func(t *testing.T) {
		// aws-sdk-go-v2 sends checksums as headers when given, as aws-chunked
		// trailers when it computes them; wrong ones are BadDigest.
		body := "checksummed"
		cases := []struct {
			name string
			in   s3.PutObjectInput
			ok   bool
		}{
			{"MD5Wrong", s3.PutObjectInput{ContentMD5: aws.String(md5b64([]byte("other")))}, false},
			{"CRC32Wrong", s3.PutObjectInput{ChecksumCRC32: aws.String("AAAAAA==")}, false},
			{"SHA256Wrong", s3.PutObjectInput{ChecksumSHA256: aws.String("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")}, false},
			{"MD5Right", s3.PutObjectInput{ContentMD5: aws.String(md5b64([]byte(body)))}, true},
			{"SHA256Trailer", s3.PutObjectInput{ChecksumAlgorithm: types.ChecksumAlgorithmSha256}, true},
			{"CRC32CTrailer", s3.PutObjectInput{ChecksumAlgorithm: types.ChecksumAlgorithmCrc32c}, true},
		}
		for _, tc := range cases {
			in := tc.in
			in.Bucket, in.Key, in.Body = aws.String(bucket), aws.String("s3sum/"+tc.name), strings.NewReader(body)
			_, err := s3c.PutObject(e.ctx, &in)
			if tc.ok {
				if err != nil {
					t.Errorf("%s: %v", tc.name, err)
				} else if got := e.get(t, cl, "s3sum/"+tc.name); string(got) != body {
					t.Errorf("%s: stored %q", tc.name, got)
				}
				continue
			}
			wantS3Err(t, tc.name, err, 400, "BadDigest")
			_, err = cl.Object.Head(e.ctx, "s3sum/"+tc.name, nil)
			wantCOSErr(t, tc.name+": head after a refused put", err, 404, "")
		}
	})
	t.Run("Delete", func(t *testing.T) {
		e.put(t, cl, "del", []byte("x"))
		resp, err := cl.Object.Delete(e.ctx, "del")
		if err != nil || resp.StatusCode != http.StatusNoContent {
			t.Fatalf("delete: %v", err)
		}
		_, err = cl.Object.Get(e.ctx, "del", nil)
		wantCOSErr(t, "get deleted", err, 404, "NoSuchKey")
		_, err = cl.Object.Head(e.ctx, "del", nil)
		wantCOSErr(t, "head deleted", err, 404, "")
		// Deleting a missing key succeeds (S3 semantics, cos-api.md 5.6).
		resp, err = cl.Object.Delete(e.ctx, "del")
		if err != nil || resp.StatusCode != http.StatusNoContent {
			t.Errorf("delete missing: %v", err)
		}
		if _, err := s3c.DeleteObject(e.ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String("never")}); err != nil {
			t.Errorf("s3 delete missing: %v", err)
		}
		_, err = s3c.GetObject(e.ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("del")})
		wantS3Err(t, "s3 get deleted", err, 404, "NoSuchKey")
		_, err = e.cos("nobucket-1250000000").Object.Delete(e.ctx, "del")
		wantCOSErr(t, "delete in a missing bucket", err, 404, "NoSuchBucket")
	})

	t.Run("ErrorBody", func(t *testing.T) {
		// cos-api.md 5.1: <Error> with Code, Message, Resource, RequestId.
		_, err := cl.Object.Get(e.ctx, "missing/key", nil)
		var ce *cos.ErrorResponse
		if !asErr(err, &ce) {
			t.Fatalf("get missing: %v", err)
		}
		if ce.Code != "NoSuchKey" || ce.Message == "" || ce.RequestID == "" {
			t.Errorf("error body: %+v", ce)
		}
		// Resource is the bucket host and the request path (the SDK sends '/' as %2F).
		host := e.c.Host(bucket)
		if ce.Resource != host+"/missing%2Fkey" && ce.Resource != host+"/missing/key" {
			t.Errorf("error Resource %q, want %s/missing/key", ce.Resource, host)
		}
		if ct := ce.Response.Header.Get("Content-Type"); !strings.Contains(ct, "xml") {
			t.Errorf("error Content-Type %q", ct)
		}
	})

	t.Run("SSEHeaderOnGet", func(t *testing.T) {
		_, err := cl.Object.Get(e.ctx, key, &cos.ObjectGetOptions{XOptionHeader: hdr("x-cos-server-side-encryption", "AES256")})
		wantCOSErr(t, "GET with x-cos-server-side-encryption", err, 400, "SSEHeaderNotAllowed")
	})
}
