package conformance

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	cos "github.com/tencentyun/cos-go-sdk-v5"
	"golang.org/x/sync/errgroup"

	"github.com/coffer-io/coffer/gateway/gatewaytest"
)

// listModel is the naive reference for List Objects: entries (keys and common
// prefixes) in byte order strictly after marker, at most max of them.
type listModel struct{ keys []string } // sorted

type listPage struct {
	keys, prefixes []string
	truncated      bool
	next           string // last entry returned when truncated
}

func (m listModel) list(prefix, delim, marker string, max int) listPage {
	var p listPage
	n := 0
	for _, k := range m.keys {
		if !strings.HasPrefix(k, prefix) || k <= marker {
			continue
		}
		entry, isPrefix := k, false
		if delim != "" {
			if i := strings.Index(k[len(prefix):], delim); i >= 0 {
				entry, isPrefix = k[:len(prefix)+i+len(delim)], true
			}
		}
		if isPrefix {
			// A common prefix at or before the marker was returned on an earlier page.
			if entry <= marker || (len(p.prefixes) > 0 && p.prefixes[len(p.prefixes)-1] == entry) {
				continue
			}
		}
		if n == max {
			p.truncated = true
			break
		}
		n++
		p.next = entry
		if isPrefix {
			p.prefixes = append(p.prefixes, entry)
		} else {
			p.keys = append(p.keys, k)
		}
	}
	if !p.truncated {
		p.next = ""
	}
	return p
}

// listKeys are the objects of TestList: odd characters for encoding-type=url,
// nested delimiters, and enough keys under n/ to page through.
func listKeys() []string {
	keys := []string{
		"/lead", "a", "a/", "a/b", "a/b/c", "a/b/d", "a%2Fb", "a b", "a+b", "ab", `b&c<d>'"`,
		"c\x01ctl", "c\ttab", "d.txt", "测试/文件", "测试/x/y", "~tilde", "z/", "z//double", "z/.hidden",
		"p/q=r?s#t", "semi;colon", "腾讯云",
	}
	for i := range 50 {
		keys = append(keys, fmt.Sprintf("n/%03d", i))
	}
	for i := range 7 {
		keys = append(keys, fmt.Sprintf("n/sub%d/x", i))
	}
	slices.Sort(keys)
	return keys
}

func unescape(t *testing.T, s string) string {
	t.Helper()
	u, err := url.QueryUnescape(s)
	if err != nil {
		t.Errorf("not url-encoded: %q: %v", s, err)
	}
	return u
}

// TestList covers GET Bucket (List Objects v1, cos-api.md 5.4) through the COS SDK
// and ListObjectsV2 through aws-sdk-go-v2, each page compared to listModel.
func TestList(t *testing.T) {
	e := start(t)
	const bucket = "list-1250000000"
	cl := e.mkBucket(t, bucket, nil)
	keys := listKeys()
	var g errgroup.Group
	g.SetLimit(8)
	for _, k := range keys {
		g.Go(func() error {
			_, err := cl.Object.Put(e.ctx, k, strings.NewReader(k), nil)
			if err != nil {
				return fmt.Errorf("put %q: %w", k, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	model := listModel{keys: keys}

	cases := []struct {
		name                  string
		prefix, delim, marker string
		max                   int
		url                   bool
	}{
		{"All", "", "", "", 0, true},
		{"AllPages7", "", "", "", 7, true},
		{"DelimiterPages5", "", "/", "", 5, true},
		{"Delimiter", "", "/", "", 0, true},
		{"PrefixN", "n/", "", "", 0, false},
		{"PrefixNPages13", "n/", "", "", 13, false},
		{"PrefixNDelimiterPages4", "n/", "/", "", 4, false},
		{"PrefixA", "a", "/", "", 0, false},
		{"PrefixASlash", "a/", "/", "", 0, false},
		{"PrefixUnicode", "测试/", "/", "", 0, true},
		{"MarkerInside", "n/", "", "n/025", 10, false},
		{"MarkerBeforeAll", "", "", "", 1000, true},
		{"MarkerPastAll", "", "", "\U0010ffff", 0, true},
		{"MarkerOddKey", "", "", "a+b", 3, true},
		{"DelimiterNotSlash", "", "b", "", 0, true},
		{"DelimiterDoubleSlash", "z/", "/", "", 0, false},
		{"NoMatch", "nothing/", "/", "", 0, false},
		// The SDK sends query values form-encoded: a space travels as '+'.
		{"PrefixSpace", "a ", "", "", 0, false},
		{"PrefixPlus", "a+", "", "", 0, false},
		{"PrefixPercent", "a%", "", "", 0, false},
		{"MarkerSpace", "", "", "a b", 2, true},
	}
	for _, tc := range cases {
		t.Run("V1/"+tc.name, func(t *testing.T) {
			max := tc.max
			if max == 0 {
				max = 1000
			}
			marker := tc.marker
			var allKeys, allPrefixes []string
			for page := 0; ; page++ {
				if page > len(keys)+1 {
					t.Fatal("listing does not end")
				}
				opt := &cos.BucketGetOptions{Prefix: tc.prefix, Delimiter: tc.delim, Marker: marker, MaxKeys: tc.max}
				if tc.url {
					opt.EncodingType = "url"
				}
				res, _, err := cl.Bucket.Get(e.ctx, opt)
				if err != nil {
					t.Fatalf("page %d: %v", page, err)
				}
				var gotKeys, gotPrefixes []string
				dec := func(s string) string { return s }
				if tc.url {
					if res.EncodingType != "url" {
						t.Errorf("EncodingType %q", res.EncodingType)
					}
					dec = func(s string) string { return unescape(t, s) }
				}
				for _, o := range res.Contents {
					k := dec(o.Key)
					gotKeys = append(gotKeys, k)
					if o.ETag != etag([]byte(k)) || o.Size != int64(len(k)) || o.StorageClass != "STANDARD" {
						t.Errorf("%q: ETag %s Size %d StorageClass %q", k, o.ETag, o.Size, o.StorageClass)
					}
					if ts, err := time.Parse(time.RFC3339, o.LastModified); err != nil || time.Since(ts) > time.Hour {
						t.Errorf("%q: LastModified %q", k, o.LastModified)
					}
				}
				for _, p := range res.CommonPrefixes {
					gotPrefixes = append(gotPrefixes, dec(p))
				}
				if dec(res.Prefix) != tc.prefix || dec(res.Marker) != marker || dec(res.Delimiter) != tc.delim || res.MaxKeys != max {
					t.Errorf("page %d echoes Prefix %q Marker %q Delimiter %q MaxKeys %d", page, res.Prefix, res.Marker, res.Delimiter, res.MaxKeys)
				}
				want := model.list(tc.prefix, tc.delim, marker, max)
				if !slices.Equal(gotKeys, want.keys) || !slices.Equal(gotPrefixes, want.prefixes) || res.IsTruncated != want.truncated {
					t.Fatalf("page %d after %q:\n got keys %q prefixes %q truncated %v\nwant keys %q prefixes %q truncated %v",
						page, marker, gotKeys, gotPrefixes, res.IsTruncated, want.keys, want.prefixes, want.truncated)
				}
				allKeys = append(allKeys, gotKeys...)
				allPrefixes = append(allPrefixes, gotPrefixes...)
				if !res.IsTruncated {
					break
				}
				next := dec(res.NextMarker)
				if next != want.next {
					t.Fatalf("page %d: NextMarker %q, want %q", page, next, want.next)
				}
				marker = next
			}
			// The pages together are the unpaged listing.
			whole := model.list(tc.prefix, tc.delim, tc.marker, len(keys)+1)
			if !slices.Equal(allKeys, whole.keys) || !slices.Equal(allPrefixes, whole.prefixes) {
				t.Errorf("pages together: keys %q prefixes %q, want %q %q", allKeys, allPrefixes, whole.keys, whole.prefixes)
			}
		})
	}

	s3c := e.s3()
	for _, tc := range cases {
		t.Run("V2/"+tc.name, func(t *testing.T) {
			max := tc.max
			if max == 0 {
				max = 1000
			}
			in := &s3.ListObjectsV2Input{Bucket: aws.String(bucket), EncodingType: types.EncodingTypeUrl}
			if tc.prefix != "" {
				in.Prefix = aws.String(tc.prefix)
			}
			if tc.delim != "" {
				in.Delimiter = aws.String(tc.delim)
			}
			if tc.marker != "" {
				in.StartAfter = aws.String(tc.marker)
			}
			if tc.max != 0 {
				in.MaxKeys = aws.Int32(int32(tc.max))
			}
			after := tc.marker
			for page := 0; ; page++ {
				if page > len(keys)+1 {
					t.Fatal("listing does not end")
				}
				out, err := s3c.ListObjectsV2(e.ctx, in)
				if err != nil {
					t.Fatalf("page %d: %v", page, err)
				}
				var gotKeys, gotPrefixes []string
				for _, o := range out.Contents {
					k := unescape(t, aws.ToString(o.Key))
					gotKeys = append(gotKeys, k)
					if aws.ToString(o.ETag) != etag([]byte(k)) || aws.ToInt64(o.Size) != int64(len(k)) {
						t.Errorf("%q: ETag %s Size %d", k, aws.ToString(o.ETag), aws.ToInt64(o.Size))
					}
				}
				for _, p := range out.CommonPrefixes {
					gotPrefixes = append(gotPrefixes, unescape(t, aws.ToString(p.Prefix)))
				}
				if aws.ToString(out.ContinuationToken) != aws.ToString(in.ContinuationToken) || unescape(t, aws.ToString(out.StartAfter)) != tc.marker {
					t.Errorf("page %d echoes ContinuationToken %q StartAfter %q", page, aws.ToString(out.ContinuationToken), aws.ToString(out.StartAfter))
				}
				if int(aws.ToInt32(out.KeyCount)) != len(gotKeys)+len(gotPrefixes) {
					t.Errorf("page %d: KeyCount %d, %d entries", page, aws.ToInt32(out.KeyCount), len(gotKeys)+len(gotPrefixes))
				}
				want := model.list(tc.prefix, tc.delim, after, max)
				truncated := aws.ToBool(out.IsTruncated)
				if !slices.Equal(gotKeys, want.keys) || !slices.Equal(gotPrefixes, want.prefixes) || truncated != want.truncated {
					t.Fatalf("page %d after %q:\n got keys %q prefixes %q truncated %v\nwant keys %q prefixes %q truncated %v",
						page, after, gotKeys, gotPrefixes, truncated, want.keys, want.prefixes, want.truncated)
				}
				if !truncated {
					if out.NextContinuationToken != nil {
						t.Errorf("NextContinuationToken %q on the last page", aws.ToString(out.NextContinuationToken))
					}
					break
				}
				if aws.ToString(out.NextContinuationToken) == "" {
					t.Fatalf("page %d: truncated without NextContinuationToken", page)
				}
				in.ContinuationToken = out.NextContinuationToken
				after = want.next
			}
		})
	}

	t.Run("V1/S3SDK", func(t *testing.T) {
		// aws-sdk-go-v2 ListObjects (v1) without delimiter: NextMarker or the last key.
		in := &s3.ListObjectsInput{Bucket: aws.String(bucket), Prefix: aws.String("n/"), MaxKeys: aws.Int32(50)}
		var got []string
		for {
			out, err := s3c.ListObjects(e.ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range out.Contents {
				got = append(got, aws.ToString(o.Key))
			}
			if !aws.ToBool(out.IsTruncated) {
				break
			}
			next := aws.ToString(out.NextMarker)
			if next == "" {
				next = got[len(got)-1]
			}
			in.Marker = aws.String(next)
		}
		if want := model.list("n/", "", "", len(keys)).keys; !slices.Equal(got, want) {
			t.Errorf("keys %q, want %q", got, want)
		}
	})
	t.Run("RegionHeader", func(t *testing.T) {
		_, resp, err := cl.Bucket.Get(e.ctx, &cos.BucketGetOptions{MaxKeys: 1})
		if err != nil {
			t.Fatal(err)
		}
		if r := resp.Header.Get("x-cos-bucket-region"); r != gatewaytest.Region {
			t.Errorf("x-cos-bucket-region %q (cos-api.md 5.4)", r)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/xml" {
			t.Errorf("Content-Type %q", ct)
		}
	})
	t.Run("MaxKeysCapped", func(t *testing.T) {
		res, _, err := cl.Bucket.Get(e.ctx, &cos.BucketGetOptions{MaxKeys: 5000})
		if err != nil || res.MaxKeys != 1000 || len(res.Contents)+len(res.CommonPrefixes) != len(keys) {
			t.Errorf("max-keys=5000: MaxKeys %d, %d entries, %v", res.MaxKeys, len(res.Contents), err)
		}
	})
	t.Run("InvalidEncodingType", func(t *testing.T) {
		_, _, err := cl.Bucket.Get(e.ctx, &cos.BucketGetOptions{EncodingType: "base64"})
		wantCOSErr(t, "encoding-type=base64", err, 400, "InvalidArgument")
	})
	t.Run("InvalidMaxKeys", func(t *testing.T) {
		_, _, err := cl.Bucket.Get(e.ctx, &cos.BucketGetOptions{XOptionHeader: nil, MaxKeys: -1})
		wantCOSErr(t, "max-keys=-1", err, 400, "InvalidArgument")
	})
}
