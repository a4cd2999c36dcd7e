package conformance

import (
	"bytes"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	cos "github.com/tencentyun/cos-go-sdk-v5"

	"github.com/coffer-io/coffer/gateway/gatewaytest"
)

// partMin is the smallest part the gateway accepts before the last one (1 MiB,
// cos-api.md 5.8).
const partMin = 1 << 20

// TestMultipart covers the multipart operations of cos-api.md 5.8 and the SDK
// checks of section 6 (part and whole-object CRC-64, part ETags, "-N" ETags).
func TestMultipart(t *testing.T) {
	e := start(t)
	const bucket = "multipart-1250000000"
	cl := e.mkBucket(t, bucket, nil)
	s3c := e.s3()

	// The copy source for Upload Part - Copy.
	source := randomBytes(partMin + 300<<10)
	e.put(t, cl, "copy-source", source)
	srcURL := e.c.Host(bucket) + "/copy-source"

	const key = "mp/object.bin"
	init, _, err := cl.Object.InitiateMultipartUpload(e.ctx, key, &cos.InitiateMultipartUploadOptions{
		ObjectPutHeaderOptions: &cos.ObjectPutHeaderOptions{ContentType: "application/x-mp", XCosMetaXXX: hdr("x-cos-meta-kind", "multi")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if init.UploadID == "" || init.Key != key || init.Bucket != bucket {
		t.Fatalf("InitiateMultipartUploadResult %+v", init)
	}
	part1 := randomBytes(partMin + 12345)
	part2 := source[100 : 100+partMin] // copied with x-cos-copy-source-range
	part3 := randomBytes(777)          // the last part may be small
	whole := slices.Concat(part1, part2, part3)

	t.Run("UploadPart", func(t *testing.T) {
		// The SDK fails the call itself when the part's CRC-64 header is wrong.
		resp, err := cl.Object.UploadPart(e.ctx, key, init.UploadID, 1, bytes.NewReader(part1), nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp.Header.Get("ETag") != etag(part1) || resp.Header.Get("x-cos-hash-crc64ecma") != crc(part1) {
			t.Errorf("part 1: ETag %s CRC %s, want %s %s", resp.Header.Get("ETag"), resp.Header.Get("x-cos-hash-crc64ecma"), etag(part1), crc(part1))
		}
		resp, err = cl.Object.UploadPart(e.ctx, key, init.UploadID, 3, bytes.NewReader(part3), nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp.Header.Get("ETag") != etag(part3) {
			t.Errorf("part 3: ETag %s", resp.Header.Get("ETag"))
		}
	})
	t.Run("UploadPartCopy", func(t *testing.T) {
		res, resp, err := cl.Object.CopyPart(e.ctx, key, init.UploadID, 2, srcURL, &cos.ObjectCopyPartOptions{
			XCosCopySourceRange: fmt.Sprintf("bytes=100-%d", 100+partMin-1),
		})
		if err != nil {
			t.Fatal(err)
		}
		if res.ETag != etag(part2) {
			t.Errorf("CopyPartResult ETag %s, want %s", res.ETag, etag(part2))
		}
		// cos-api.md 5.13: Upload Part - Copy returns the part's CRC-64.
		if h := resp.Header.Get("x-cos-hash-crc64ecma"); h != crc(part2) {
			t.Errorf("part 2 CRC %s, want %s", h, crc(part2))
		}
	})
	t.Run("UploadPartCopyErrors", func(t *testing.T) {
		_, _, err := cl.Object.CopyPart(e.ctx, key, init.UploadID, 9, srcURL, &cos.ObjectCopyPartOptions{
			XCosCopySourceRange: fmt.Sprintf("bytes=0-%d", len(source)),
		})
		// S3 answers a copy range outside the source with 400 InvalidArgument.
		wantCOSErr(t, "copy range past the source", err, 400, "InvalidArgument")
		_, _, err = cl.Object.CopyPart(e.ctx, key, init.UploadID, 9, srcURL, &cos.ObjectCopyPartOptions{XCosCopySourceIfMatch: `"nope"`})
		wantCOSErr(t, "copy part with failing If-Match", err, 412, "PreconditionFailed")
		_, _, err = cl.Object.CopyPart(e.ctx, key, "no-such-upload", 1, srcURL, nil)
		wantCOSErr(t, "copy part to an unknown upload", err, 404, "NoSuchUpload")
	})
	t.Run("ListPartsPaged", func(t *testing.T) {
		var got []cos.Object
		marker := ""
		for page := 0; page < 5; page++ {
			res, _, err := cl.Object.ListParts(e.ctx, key, init.UploadID, &cos.ObjectListPartsOptions{MaxParts: "1", PartNumberMarker: marker})
			if err != nil {
				t.Fatal(err)
			}
			if res.UploadID != init.UploadID || res.Key != key || res.MaxParts != "1" {
				t.Errorf("ListPartsResult %+v", res)
			}
			got = append(got, res.Parts...)
			if !res.IsTruncated {
				break
			}
			if res.NextPartNumberMarker == "" {
				t.Fatal("truncated without NextPartNumberMarker")
			}
			marker = res.NextPartNumberMarker
		}
		want := [][]byte{part1, part2, part3}
		if len(got) != 3 {
			t.Fatalf("listed %d parts, want 3: %+v", len(got), got)
		}
		for i, p := range got {
			if p.PartNumber != i+1 || p.ETag != etag(want[i]) || p.Size != int64(len(want[i])) {
				t.Errorf("part %d: %+v, want ETag %s size %d", i+1, p, etag(want[i]), len(want[i]))
			}
		}
	})
	t.Run("ListPartsInvalidMaxParts", func(t *testing.T) {
		for _, v := range []string{"0", "1001", "abc"} {
			_, _, err := cl.Object.ListParts(e.ctx, key, init.UploadID, &cos.ObjectListPartsOptions{MaxParts: v})
			wantCOSErr(t, "max-parts="+v, err, 400, "InvalidArgument")
		}
	})
	t.Run("CompleteErrors", func(t *testing.T) {
		cases := []struct {
			name   string
			parts  []cos.Object
			status int
			code   string
		}{
			{"UnknownPart", []cos.Object{{PartNumber: 1, ETag: etag(part1)}, {PartNumber: 4, ETag: etag(part3)}}, 400, "InvalidPart"},
			{"WrongETag", []cos.Object{{PartNumber: 1, ETag: etag(part3)}}, 400, "InvalidPart"},
			{"Order", []cos.Object{{PartNumber: 2, ETag: etag(part2)}, {PartNumber: 1, ETag: etag(part1)}}, 400, "InvalidPartOrder"},
			{"TooSmall", []cos.Object{{PartNumber: 3, ETag: etag(part3)}, {PartNumber: 4}}, 400, ""},
		}
		for _, tc := range cases[:3] {
			_, _, err := cl.Object.CompleteMultipartUpload(e.ctx, key, init.UploadID, &cos.CompleteMultipartUploadOptions{Parts: tc.parts})
			wantCOSErr(t, tc.name, err, tc.status, tc.code)
		}
		_, _, err := cl.Object.CompleteMultipartUpload(e.ctx, key, "no-such-upload", &cos.CompleteMultipartUploadOptions{
			Parts: []cos.Object{{PartNumber: 1, ETag: etag(part1)}},
		})
		wantCOSErr(t, "complete an unknown upload", err, 404, "NoSuchUpload")
	})
	t.Run("Complete", func(t *testing.T) {
		res, resp, err := cl.Object.CompleteMultipartUpload(e.ctx, key, init.UploadID, &cos.CompleteMultipartUploadOptions{
			Parts: []cos.Object{{PartNumber: 1, ETag: etag(part1)}, {PartNumber: 2, ETag: etag(part2)}, {PartNumber: 3, ETag: etag(part3)}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if res.ETag != multipartETag(part1, part2, part3) || res.Key != key || res.Bucket != bucket || res.Location == "" {
			t.Errorf("CompleteMultipartUploadResult %+v, want ETag %s", res, multipartETag(part1, part2, part3))
		}
		// Upload() compares this with the whole file's CRC-64.
		if got := resp.Header.Get("x-cos-hash-crc64ecma"); got != crc(whole) {
			t.Errorf("Complete x-cos-hash-crc64ecma %s, want the whole object's %s", got, crc(whole))
		}
		got, err := cl.Object.Get(e.ctx, key, nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(got.Body)
		got.Body.Close()
		if !bytes.Equal(body, whole) {
			t.Fatalf("assembled object: %d bytes, want %d", len(body), len(whole))
		}
		h := got.Header
		if h.Get("ETag") != multipartETag(part1, part2, part3) || h.Get("x-cos-hash-crc64ecma") != crc(whole) ||
			h.Get("Content-Type") != "application/x-mp" || h.Get("x-cos-meta-kind") != "multi" {
			t.Errorf("GET headers: ETag %s CRC %s type %q meta %q", h.Get("ETag"), h.Get("x-cos-hash-crc64ecma"), h.Get("Content-Type"), h.Get("x-cos-meta-kind"))
		}
		head, err := cl.Object.Head(e.ctx, key, nil)
		if err != nil {
			t.Fatal(err)
		}
		if head.Header.Get("Content-Length") != strconv.Itoa(len(whole)) || head.Header.Get("x-cos-hash-crc64ecma") != crc(whole) {
			t.Errorf("HEAD Content-Length %s CRC %s", head.Header.Get("Content-Length"), head.Header.Get("x-cos-hash-crc64ecma"))
		}
		// A range across the part boundary.
		r, err := cl.Object.Get(e.ctx, key, &cos.ObjectGetOptions{Range: fmt.Sprintf("bytes=%d-%d", len(part1)-5, len(part1)+5)})
		if err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(r.Body)
		r.Body.Close()
		if !bytes.Equal(body, whole[len(part1)-5:len(part1)+6]) {
			t.Error("range across parts differs")
		}
		if r.Header.Get("x-cos-hash-crc64ecma") != crc(whole) {
			t.Errorf("206 of a multipart object: CRC %s, want the whole object's", r.Header.Get("x-cos-hash-crc64ecma"))
		}
		// Conditionals compare "-N" ETags like any other.
		mtag := multipartETag(part1, part2, part3)
		if _, err := cl.Object.Head(e.ctx, key, &cos.ObjectHeadOptions{XOptionHeader: hdr("If-Match", mtag)}); err != nil {
			t.Errorf("HEAD If-Match %s: %v", mtag, err)
		}
		_, err = cl.Object.Head(e.ctx, key, &cos.ObjectHeadOptions{XOptionHeader: hdr("If-None-Match", mtag)})
		wantCOSErr(t, "HEAD If-None-Match of the multipart ETag", err, 304, "")
		// The SDK's downloaders: GetToFile checks the CRC-64 of what it read against
		// the header; Download HEADs, fetches 1 MiB ranges concurrently and checks
		// their combined CRC-64 against the HEAD's (cos-api.md 6.6).
		dir := t.TempDir()
		if _, err := cl.Object.GetToFile(e.ctx, key, filepath.Join(dir, "get"), nil); err != nil {
			t.Errorf("GetToFile: %v", err)
		} else if b, _ := os.ReadFile(filepath.Join(dir, "get")); !bytes.Equal(b, whole) {
			t.Error("GetToFile wrote other bytes")
		}
		if _, err := cl.Object.Download(e.ctx, key, filepath.Join(dir, "download"), &cos.MultiDownloadOptions{PartSize: 1, ThreadPoolSize: 2}); err != nil {
			t.Errorf("Download: %v", err)
		} else if b, _ := os.ReadFile(filepath.Join(dir, "download")); !bytes.Equal(b, whole) {
			t.Error("Download wrote other bytes")
		}
		// The upload is gone.
		_, _, err = cl.Object.ListParts(e.ctx, key, init.UploadID, nil)
		wantCOSErr(t, "list parts after complete", err, 404, "NoSuchUpload")
	})
	t.Run("EntityTooSmall", func(t *testing.T) {
		up, _, err := cl.Object.InitiateMultipartUpload(e.ctx, "small", nil)
		if err != nil {
			t.Fatal(err)
		}
		a, b := []byte("too small"), []byte("last")
		for i, p := range [][]byte{a, b} {
			if _, err := cl.Object.UploadPart(e.ctx, "small", up.UploadID, i+1, bytes.NewReader(p), nil); err != nil {
				t.Fatal(err)
			}
		}
		_, _, err = cl.Object.CompleteMultipartUpload(e.ctx, "small", up.UploadID, &cos.CompleteMultipartUploadOptions{
			Parts: []cos.Object{{PartNumber: 1, ETag: etag(a)}, {PartNumber: 2, ETag: etag(b)}},
		})
		wantCOSErr(t, "complete with a small first part", err, 400, "EntityTooSmall")
		// One small part alone is fine: it is the last.
		res, _, err := cl.Object.CompleteMultipartUpload(e.ctx, "small", up.UploadID, &cos.CompleteMultipartUploadOptions{
			Parts: []cos.Object{{PartNumber: 2, ETag: etag(b)}},
		})
		if err != nil {
			t.Fatalf("complete with one small part: %v", err)
		}
		if res.ETag != multipartETag(b) {
			t.Errorf("ETag %s, want %s", res.ETag, multipartETag(b))
		}
		if got := e.get(t, cl, "small"); !bytes.Equal(got, b) {
			t.Errorf("object holds %q", got)
		}
	})
	t.Run("Abort", func(t *testing.T) {
		up, _, err := cl.Object.InitiateMultipartUpload(e.ctx, "aborted", nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cl.Object.UploadPart(e.ctx, "aborted", up.UploadID, 1, bytes.NewReader([]byte("x")), nil); err != nil {
			t.Fatal(err)
		}
		resp, err := cl.Object.AbortMultipartUpload(e.ctx, "aborted", up.UploadID)
		if err != nil || resp.StatusCode != 204 {
			t.Fatalf("abort: %v", err)
		}
		_, _, err = cl.Object.ListParts(e.ctx, "aborted", up.UploadID, nil)
		wantCOSErr(t, "list parts of an aborted upload", err, 404, "NoSuchUpload")
		_, err = cl.Object.UploadPart(e.ctx, "aborted", up.UploadID, 2, bytes.NewReader([]byte("y")), nil)
		wantCOSErr(t, "upload part to an aborted upload", err, 404, "NoSuchUpload")
		_, err = cl.Object.AbortMultipartUpload(e.ctx, "aborted", up.UploadID)
		wantCOSErr(t, "abort twice", err, 404, "NoSuchUpload")
		_, err = cl.Object.Head(e.ctx, "aborted", nil)
		wantCOSErr(t, "head of an aborted upload's key", err, 404, "")
	})
	t.Run("InvalidPartNumber", func(t *testing.T) {
		up, _, err := cl.Object.InitiateMultipartUpload(e.ctx, "badnum", nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cl.Object.UploadPart(e.ctx, "badnum", up.UploadID, 10000, bytes.NewReader([]byte("x")), nil); err != nil {
			t.Errorf("part number 10000: %v", err)
		}
		for _, n := range []int{0, 10001} {
			_, err = cl.Object.UploadPart(e.ctx, "badnum", up.UploadID, n, bytes.NewReader([]byte("x")), nil)
			wantCOSErr(t, fmt.Sprintf("part number %d", n), err, 400, "InvalidArgument")
		}
		// An upload without parts lists none.
		lp, _, err := cl.Object.ListParts(e.ctx, "badnum", up.UploadID, nil)
		if err != nil || len(lp.Parts) != 1 || lp.IsTruncated {
			t.Errorf("ListParts after only part 10000: %+v %v", lp, err)
		}
		// A part whose Content-MD5 does not match is refused.
		_, err = cl.Object.UploadPart(e.ctx, "badnum", up.UploadID, 2, bytes.NewReader([]byte("x")), &cos.ObjectUploadPartOptions{ContentMD5: md5b64([]byte("y"))})
		wantCOSErr(t, "Upload Part with a wrong Content-MD5", err, 400, "BadDigest")
		cl.Object.AbortMultipartUpload(e.ctx, "badnum", up.UploadID)
		empty, _, err := cl.Object.InitiateMultipartUpload(e.ctx, "empty-upload", nil)
		if err != nil {
			t.Fatal(err)
		}
		lp, _, err = cl.Object.ListParts(e.ctx, "empty-upload", empty.UploadID, nil)
		if err != nil || len(lp.Parts) != 0 || lp.IsTruncated {
			t.Errorf("ListParts of an upload without parts: %+v %v", lp, err)
		}
		cl.Object.AbortMultipartUpload(e.ctx, "empty-upload", empty.UploadID)
	})
	t.Run("ListMultipartUploads", func(t *testing.T) {
		keys := []string{"lmu/a b+c&d.bin", "lmu/测试", "lmu/z", "lmu/z", "lmu/sub/x", "other"}
		ids := map[string][]string{}
		for _, k := range keys {
			up, _, err := cl.Object.InitiateMultipartUpload(e.ctx, k, nil)
			if err != nil {
				t.Fatal(err)
			}
			ids[k] = append(ids[k], up.UploadID)
		}
		// Paged, with prefix and encoding-type=url as the SDK's resume path asks.
		var gotKeys []string
		gotIDs := map[string][]string{}
		opt := &cos.ListMultipartUploadsOptions{Prefix: "lmu/", EncodingType: "url", MaxUploads: 2}
		for page := 0; page < 10; page++ {
			res, _, err := cl.Bucket.ListMultipartUploads(e.ctx, opt)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Uploads) > 2 {
				t.Errorf("page %d: %d uploads with max-uploads=2", page, len(res.Uploads))
			}
			for _, u := range res.Uploads {
				k := unescape(t, u.Key)
				gotKeys = append(gotKeys, k)
				gotIDs[k] = append(gotIDs[k], unescape(t, u.UploadID))
				if u.Initiated == "" {
					t.Errorf("%q: no Initiated", k)
				}
			}
			if !res.IsTruncated {
				break
			}
			opt.KeyMarker, opt.UploadIDMarker = unescape(t, res.NextKeyMarker), unescape(t, res.NextUploadIDMarker)
		}
		want := []string{"lmu/a b+c&d.bin", "lmu/sub/x", "lmu/z", "lmu/z", "lmu/测试"}
		if !slices.Equal(gotKeys, want) {
			t.Errorf("uploads %q, want %q", gotKeys, want)
		}
		for k, v := range gotIDs {
			w := slices.Clone(ids[k])
			slices.Sort(w)
			if !slices.Equal(v, w) {
				t.Errorf("%q: upload ids %q, want %q (sorted)", k, v, w)
			}
		}
		// With a delimiter, lmu/sub/ rolls up.
		res, _, err := cl.Bucket.ListMultipartUploads(e.ctx, &cos.ListMultipartUploadsOptions{Prefix: "lmu/", Delimiter: "/"})
		if err != nil {
			t.Fatal(err)
		}
		var flat []string
		for _, u := range res.Uploads {
			flat = append(flat, u.Key)
		}
		if !slices.Equal(flat, []string{"lmu/a b+c&d.bin", "lmu/z", "lmu/z", "lmu/测试"}) {
			t.Errorf("uploads with delimiter: %q", flat)
		}
		s3out, err := s3c.ListMultipartUploads(e.ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket), Prefix: aws.String("lmu/"), Delimiter: aws.String("/")})
		if err != nil {
			t.Fatal(err)
		}
		if len(s3out.CommonPrefixes) != 1 || aws.ToString(s3out.CommonPrefixes[0].Prefix) != "lmu/sub/" || len(s3out.Uploads) != 4 {
			t.Errorf("s3 ListMultipartUploads: %d uploads, prefixes %+v", len(s3out.Uploads), s3out.CommonPrefixes)
		}
		for k, v := range ids {
			for _, id := range v {
				cl.Object.AbortMultipartUpload(e.ctx, k, id)
			}
		}
	})
	t.Run("CompleteVariants", func(t *testing.T) {
		const k = "variants/odd key+&?.bin"
		up, _, err := cl.Object.InitiateMultipartUpload(e.ctx, k, nil)
		if err != nil {
			t.Fatal(err)
		}
		first, a, b := randomBytes(partMin), randomBytes(partMin), []byte("tail")
		// Re-uploading a part number replaces the part.
		for _, p := range []struct {
			n    int
			data []byte
		}{{1, first}, {1, a}, {2, b}} {
			if _, err := cl.Object.UploadPart(e.ctx, k, up.UploadID, p.n, bytes.NewReader(p.data), nil); err != nil {
				t.Fatal(err)
			}
		}
		lp, _, err := cl.Object.ListParts(e.ctx, k, up.UploadID, &cos.ObjectListPartsOptions{EncodingType: "url"})
		if err != nil {
			t.Fatal(err)
		}
		if unescape(t, lp.Key) != k || len(lp.Parts) != 2 || lp.Parts[0].ETag != etag(a) {
			t.Errorf("ListParts with encoding-type=url: key %q, parts %+v", lp.Key, lp.Parts)
		}
		_, _, err = cl.Object.ListParts(e.ctx, k, up.UploadID, &cos.ObjectListPartsOptions{EncodingType: "gzip"})
		wantCOSErr(t, "ListParts encoding-type=gzip", err, 400, "InvalidArgument")
		// A part without Content-Length.
		_, err = cl.Object.UploadPart(e.ctx, k, up.UploadID, 3, io.MultiReader(bytes.NewReader(b)), nil)
		wantCOSErr(t, "chunked Upload Part", err, 411, "MissingContentLength")
		// Malformed bodies, duplicate part numbers.
		for _, body := range []string{"<CompleteMultipartUpload><Part>", "<CompleteMultipartUpload></CompleteMultipartUpload>"} {
			resp, rb := e.signed(t, "POST", bucket, "/"+url.PathEscape(k)+"?uploadId="+up.UploadID, nil, []byte(body), gatewaytest.AccessKey, gatewaytest.SecretKey, nil, nil)
			if er := parseError(t, rb); resp.StatusCode != 400 || er.Code != "MalformedXML" {
				t.Errorf("Complete with %q: %d %s", body, resp.StatusCode, er.Code)
			}
		}
		_, _, err = cl.Object.CompleteMultipartUpload(e.ctx, k, up.UploadID, &cos.CompleteMultipartUploadOptions{
			Parts: []cos.Object{{PartNumber: 1, ETag: etag(a)}, {PartNumber: 1, ETag: etag(a)}},
		})
		wantCOSErr(t, "duplicate part numbers", err, 400, "InvalidPartOrder")
		// The replaced part's ETag is no longer valid.
		_, _, err = cl.Object.CompleteMultipartUpload(e.ctx, k, up.UploadID, &cos.CompleteMultipartUploadOptions{
			Parts: []cos.Object{{PartNumber: 1, ETag: etag(first)}, {PartNumber: 2, ETag: etag(b)}},
		})
		wantCOSErr(t, "replaced part's ETag", err, 400, "InvalidPart")
		// Unquoted ETags are accepted (S3 clients send either form).
		res, resp, err := cl.Object.CompleteMultipartUpload(e.ctx, k, up.UploadID, &cos.CompleteMultipartUploadOptions{
			Parts: []cos.Object{{PartNumber: 1, ETag: md5hex(a)}, {PartNumber: 2, ETag: md5hex(b)}},
		})
		if err != nil {
			t.Fatalf("complete with unquoted ETags: %v", err)
		}
		if res.ETag != multipartETag(a, b) || resp.Header.Get("x-cos-hash-crc64ecma") != crc(slices.Concat(a, b)) {
			t.Errorf("ETag %s CRC %s", res.ETag, resp.Header.Get("x-cos-hash-crc64ecma"))
		}
		// x-cos-forbid-overwrite on Complete over an existing key.
		up2, _, err := cl.Object.InitiateMultipartUpload(e.ctx, k, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cl.Object.UploadPart(e.ctx, k, up2.UploadID, 1, bytes.NewReader(b), nil); err != nil {
			t.Fatal(err)
		}
		_, _, err = cl.Object.CompleteMultipartUpload(e.ctx, k, up2.UploadID, &cos.CompleteMultipartUploadOptions{
			Parts: []cos.Object{{PartNumber: 1, ETag: etag(b)}}, XOptionHeader: hdr("x-cos-forbid-overwrite", "true"),
		})
		if s, code := cosErr(t, err); !(s == 409 && code == "FileAlreadyExists") && !(s == 412 && code == "PreconditionFailed") {
			t.Errorf("Complete with forbid-overwrite over an existing key: %d %q (%v)", s, code, err)
		}
		if got := e.get(t, cl, k); !bytes.Equal(got, slices.Concat(a, b)) {
			t.Errorf("object changed by a refused Complete: %d bytes", len(got))
		}
		cl.Object.AbortMultipartUpload(e.ctx, k, up2.UploadID)
	})
	t.Run("UploadPartCopyWhole", func(t *testing.T) {
		const k = "partcopy/whole"
		up, _, err := cl.Object.InitiateMultipartUpload(e.ctx, k, nil)
		if err != nil {
			t.Fatal(err)
		}
		res, _, err := cl.Object.CopyPart(e.ctx, k, up.UploadID, 1, srcURL, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.ETag != etag(source) {
			t.Errorf("whole-source part ETag %s, want %s", res.ETag, etag(source))
		}
		if _, _, err := cl.Object.CompleteMultipartUpload(e.ctx, k, up.UploadID, &cos.CompleteMultipartUploadOptions{
			Parts: []cos.Object{{PartNumber: 1, ETag: res.ETag}},
		}); err != nil {
			t.Fatal(err)
		}
		if got := e.get(t, cl, k); !bytes.Equal(got, source) {
			t.Errorf("copied object differs")
		}
	})
	t.Run("SSEHeadersTolerated", func(t *testing.T) {
		// Node sends x-cos-server-side-encryption on every part and Go's Upload()
		// sends it on Complete: both must be accepted (cos-api.md 0.5, 3.2).
		const k = "sse/tolerated"
		sse := hdr("x-cos-server-side-encryption", "AES256")
		up, resp, err := cl.Object.InitiateMultipartUpload(e.ctx, k, &cos.InitiateMultipartUploadOptions{
			ObjectPutHeaderOptions: &cos.ObjectPutHeaderOptions{XCosServerSideEncryption: "AES256"},
		})
		if err != nil {
			t.Fatal(err)
		}
		if resp.Header.Get("x-cos-server-side-encryption") != "AES256" {
			t.Errorf("Initiate SSE echo %q", resp.Header.Get("x-cos-server-side-encryption"))
		}
		p := []byte("one small part")
		resp, err = cl.Object.UploadPart(e.ctx, k, up.UploadID, 1, bytes.NewReader(p), &cos.ObjectUploadPartOptions{XOptionHeader: sse})
		if err != nil {
			t.Fatalf("Upload Part with x-cos-server-side-encryption: %v", err)
		}
		_, resp, err = cl.Object.CompleteMultipartUpload(e.ctx, k, up.UploadID, &cos.CompleteMultipartUploadOptions{
			Parts: []cos.Object{{PartNumber: 1, ETag: etag(p)}}, XOptionHeader: sse,
		})
		if err != nil {
			t.Fatalf("Complete with x-cos-server-side-encryption: %v", err)
		}
		g, err := cl.Object.Head(e.ctx, k, nil)
		if err != nil {
			t.Fatal(err)
		}
		if g.Header.Get("x-cos-server-side-encryption") != "AES256" {
			t.Errorf("HEAD SSE echo %q", g.Header.Get("x-cos-server-side-encryption"))
		}
		_, err = cl.Object.Head(e.ctx, k, &cos.ObjectHeadOptions{XOptionHeader: sse})
		wantCOSErr(t, "HEAD with x-cos-server-side-encryption", err, 400, "")
	})
	t.Run("UploadBoundToKey", func(t *testing.T) {
		// An upload id names an upload of one key: used with another key it is unknown.
		up, _, err := cl.Object.InitiateMultipartUpload(e.ctx, "bound/a", nil)
		if err != nil {
			t.Fatal(err)
		}
		p := []byte("bound part")
		if _, err := cl.Object.UploadPart(e.ctx, "bound/a", up.UploadID, 1, bytes.NewReader(p), nil); err != nil {
			t.Fatal(err)
		}
		// An upload in progress is not an object.
		res, _, err := cl.Bucket.Get(e.ctx, &cos.BucketGetOptions{Prefix: "bound/"})
		if err != nil || len(res.Contents) != 0 {
			t.Errorf("listing shows an upload in progress: %+v %v", res, err)
		}
		_, err = cl.Object.Head(e.ctx, "bound/a", nil)
		wantCOSErr(t, "HEAD of a key with an upload in progress", err, 404, "")
		_, err = cl.Object.UploadPart(e.ctx, "bound/b", up.UploadID, 1, bytes.NewReader(p), nil)
		wantCOSErr(t, "Upload Part under another key", err, 404, "NoSuchUpload")
		_, _, err = cl.Object.ListParts(e.ctx, "bound/b", up.UploadID, nil)
		wantCOSErr(t, "List Parts under another key", err, 404, "NoSuchUpload")
		_, _, err = cl.Object.CompleteMultipartUpload(e.ctx, "bound/b", up.UploadID, &cos.CompleteMultipartUploadOptions{
			Parts: []cos.Object{{PartNumber: 1, ETag: etag(p)}},
		})
		wantCOSErr(t, "Complete under another key", err, 404, "NoSuchUpload")
		_, err = cl.Object.AbortMultipartUpload(e.ctx, "bound/b", up.UploadID)
		wantCOSErr(t, "Abort under another key", err, 404, "NoSuchUpload")
		// The upload itself is untouched.
		if _, _, err := cl.Object.CompleteMultipartUpload(e.ctx, "bound/a", up.UploadID, &cos.CompleteMultipartUploadOptions{
			Parts: []cos.Object{{PartNumber: 1, ETag: etag(p)}},
		}); err != nil {
			t.Fatalf("Complete under its own key: %v", err)
		}
		_, err = cl.Object.Head(e.ctx, "bound/b", nil)
		wantCOSErr(t, "HEAD of the other key", err, 404, "")
	})
	t.Run("SDKUpload", func(t *testing.T) {
		// The high-level Upload checks Complete's whole-object CRC-64 against the file.
		data := randomBytes(2*partMin + 4321)
		path := filepath.Join(t.TempDir(), "upload.bin")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		// Upload sends the initiate options' x-* headers on Complete as well
		// (cos-api.md 6.2): Complete must accept them.
		opt := &cos.MultiUploadOptions{PartSize: 1, ThreadPoolSize: 2, OptIni: &cos.InitiateMultipartUploadOptions{
			ACLHeaderOptions:       &cos.ACLHeaderOptions{XCosACL: "private"},
			ObjectPutHeaderOptions: &cos.ObjectPutHeaderOptions{ContentType: "application/x-upload", XCosMetaXXX: hdr("x-cos-meta-via", "upload")},
		}}
		if _, _, err := cl.Object.Upload(e.ctx, "sdk/upload.bin", path, opt); err != nil {
			t.Fatalf("Upload: %v", err)
		}
		resp, err := cl.Object.Get(e.ctx, "sdk/upload.bin", nil)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !bytes.Equal(got, data) {
			t.Errorf("uploaded object differs")
		}
		if resp.Header.Get("x-cos-meta-via") != "upload" || resp.Header.Get("Content-Type") != "application/x-upload" {
			t.Errorf("Upload metadata: %q %q", resp.Header.Get("x-cos-meta-via"), resp.Header.Get("Content-Type"))
		}
	})
	t.Run("SDKUploadResumes", func(t *testing.T) {
		// Upload with CheckPoint finds the unfinished upload through List Multipart
		// Uploads (prefix=key, encoding-type=url), checks the listed parts' ETags
		// against the file's chunks and uploads only the rest (cos-api.md 6.3).
		const k = "sdk/resumed file+1.bin"
		data := randomBytes(2*partMin + 999)
		path := filepath.Join(t.TempDir(), "resume.bin")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		up, _, err := cl.Object.InitiateMultipartUpload(e.ctx, k, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cl.Object.UploadPart(e.ctx, k, up.UploadID, 1, bytes.NewReader(data[:partMin]), nil); err != nil {
			t.Fatal(err)
		}
		if _, _, err := cl.Object.Upload(e.ctx, k, path, &cos.MultiUploadOptions{PartSize: 1, ThreadPoolSize: 2, CheckPoint: true}); err != nil {
			t.Fatalf("resumed Upload: %v", err)
		}
		if got := e.get(t, cl, k); !bytes.Equal(got, data) {
			t.Fatal("resumed upload differs")
		}
		// The SDK completed our upload rather than starting another.
		res, _, err := cl.Bucket.ListMultipartUploads(e.ctx, &cos.ListMultipartUploadsOptions{Prefix: k})
		if err != nil || len(res.Uploads) != 0 {
			t.Errorf("uploads left after a resumed Upload: %+v %v", res, err)
		}
	})
	t.Run("S3", func(t *testing.T) {
		const k = "s3/multi"
		up, err := s3c.CreateMultipartUpload(e.ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(k)})
		if err != nil {
			t.Fatal(err)
		}
		a, b := randomBytes(partMin), randomBytes(10)
		var done []types.CompletedPart
		for i, p := range [][]byte{a, b} {
			out, err := s3c.UploadPart(e.ctx, &s3.UploadPartInput{
				Bucket: aws.String(bucket), Key: aws.String(k), UploadId: up.UploadId, PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(p),
			})
			if err != nil {
				t.Fatal(err)
			}
			if aws.ToString(out.ETag) != etag(p) {
				t.Errorf("part %d ETag %s", i+1, aws.ToString(out.ETag))
			}
			done = append(done, types.CompletedPart{PartNumber: aws.Int32(int32(i + 1)), ETag: out.ETag})
		}
		// Part 3 copied from a range of the source; then List Parts paged by one.
		cp, err := s3c.UploadPartCopy(e.ctx, &s3.UploadPartCopyInput{
			Bucket: aws.String(bucket), Key: aws.String(k), UploadId: up.UploadId, PartNumber: aws.Int32(3),
			CopySource: aws.String(bucket + "/copy-source"), CopySourceRange: aws.String("bytes=10-19"),
		})
		if err != nil {
			t.Fatal(err)
		}
		if cp.CopyPartResult == nil || aws.ToString(cp.CopyPartResult.ETag) != etag(source[10:20]) {
			t.Errorf("UploadPartCopy result %+v", cp.CopyPartResult)
		}
		var listed []int32
		lin := &s3.ListPartsInput{Bucket: aws.String(bucket), Key: aws.String(k), UploadId: up.UploadId, MaxParts: aws.Int32(1)}
		for range 5 {
			lp, err := s3c.ListParts(e.ctx, lin)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range lp.Parts {
				listed = append(listed, aws.ToInt32(p.PartNumber))
			}
			if !aws.ToBool(lp.IsTruncated) {
				break
			}
			lin.PartNumberMarker = lp.NextPartNumberMarker
		}
		if !slices.Equal(listed, []int32{1, 2, 3}) {
			t.Errorf("s3 ListParts paged: %v", listed)
		}
		// Complete with parts 1 and 2 only: part 2 is small but last.
		out, err := s3c.CompleteMultipartUpload(e.ctx, &s3.CompleteMultipartUploadInput{
			Bucket: aws.String(bucket), Key: aws.String(k), UploadId: up.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: done},
		})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(out.ETag) != multipartETag(a, b) {
			t.Errorf("ETag %s, want %s", aws.ToString(out.ETag), multipartETag(a, b))
		}
		_, err = s3c.AbortMultipartUpload(e.ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(k), UploadId: aws.String("nope")})
		wantS3Err(t, "s3 abort unknown", err, 404, "NoSuchUpload")
	})
}
