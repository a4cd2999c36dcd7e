package conformance

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	cos "github.com/tencentyun/cos-go-sdk-v5"

	"github.com/coffer-io/coffer/gateway/gatewaytest"
)

// TestBuckets covers GET Service and PUT/HEAD/DELETE Bucket (cos-api.md 5.2, 5.3).
func TestBuckets(t *testing.T) {
	e := start(t)
	s3c := e.s3()
	names := []string{"svc-a-1250000000", "svc-b-1250000000"}
	for _, n := range names {
		e.mkBucket(t, n, nil)
	}
	if _, err := s3c.CreateBucket(e.ctx, &s3.CreateBucketInput{Bucket: aws.String("svc-s3")}); err != nil {
		t.Fatalf("s3 create bucket: %v", err)
	}
	names = append(names, "svc-s3")
	slices.Sort(names)

	t.Run("ServiceCOS", func(t *testing.T) {
		res, resp, err := e.cos("").Service.Get(e.ctx)
		if err != nil {
			t.Fatalf("GET Service: %v", err)
		}
		if ct := resp.Header.Get("Content-Type"); !strings.Contains(ct, "xml") {
			t.Errorf("Content-Type %q", ct)
		}
		var got []string
		for _, b := range res.Buckets {
			got = append(got, b.Name)
			if b.Region != gatewaytest.Region {
				t.Errorf("bucket %s: Location %q, want %q", b.Name, b.Region, gatewaytest.Region)
			}
			if ts, err := time.Parse(time.RFC3339, b.CreationDate); err != nil || time.Since(ts) > time.Hour {
				t.Errorf("bucket %s: CreationDate %q", b.Name, b.CreationDate)
			}
		}
		if !slices.Equal(got, names) {
			t.Errorf("buckets %q, want %q", got, names)
		}
		if res.Owner == nil || res.Owner.ID == "" {
			t.Errorf("no owner in %+v", res)
		}
	})
	t.Run("ServiceS3", func(t *testing.T) {
		out, err := s3c.ListBuckets(e.ctx, &s3.ListBucketsInput{})
		if err != nil {
			t.Fatalf("ListBuckets: %v", err)
		}
		var got []string
		for _, b := range out.Buckets {
			got = append(got, aws.ToString(b.Name))
		}
		if !slices.Equal(got, names) {
			t.Errorf("buckets %q, want %q", got, names)
		}
	})
	t.Run("ServiceAnonymous", func(t *testing.T) {
		_, _, err := e.anon("").Service.Get(e.ctx)
		wantCOSErr(t, "anonymous GET Service", err, http.StatusForbidden, "AccessDenied")
	})

	// Bucket operations, each through the COS SDK and aws-sdk-go-v2.
	e.put(t, e.cos("svc-a-1250000000"), "keep", []byte("x"))
	if _, err := s3c.PutObject(e.ctx, &s3.PutObjectInput{Bucket: aws.String("svc-s3"), Key: aws.String("keep"), Body: strings.NewReader("x")}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		cos    func(*cos.Client) error
		s3     func(bucket *string) error
		bucket string // COS bucket; the S3 case uses bucket with "-1250000000" cut
		status int
		code   string
	}{
		{"CreateExisting", func(c *cos.Client) error { _, err := c.Bucket.Put(e.ctx, nil); return err },
			func(b *string) error { _, err := s3c.CreateBucket(e.ctx, &s3.CreateBucketInput{Bucket: b}); return err },
			"svc-a-1250000000", 409, "BucketAlreadyOwnedByYou"},
		{"HeadExisting", func(c *cos.Client) error { _, err := c.Bucket.Head(e.ctx); return err },
			func(b *string) error { _, err := s3c.HeadBucket(e.ctx, &s3.HeadBucketInput{Bucket: b}); return err },
			"svc-a-1250000000", 200, ""},
		{"HeadMissing", func(c *cos.Client) error { _, err := c.Bucket.Head(e.ctx); return err },
			func(b *string) error { _, err := s3c.HeadBucket(e.ctx, &s3.HeadBucketInput{Bucket: b}); return err },
			"nope-1250000000", 404, ""},
		{"DeleteMissing", func(c *cos.Client) error { _, err := c.Bucket.Delete(e.ctx); return err },
			func(b *string) error { _, err := s3c.DeleteBucket(e.ctx, &s3.DeleteBucketInput{Bucket: b}); return err },
			"nope-1250000000", 404, "NoSuchBucket"},
		{"DeleteNotEmpty", func(c *cos.Client) error { _, err := c.Bucket.Delete(e.ctx); return err },
			func(b *string) error { _, err := s3c.DeleteBucket(e.ctx, &s3.DeleteBucketInput{Bucket: b}); return err },
			"svc-a-1250000000", 409, "BucketNotEmpty"},
		{"ListMissing", func(c *cos.Client) error { _, _, err := c.Bucket.Get(e.ctx, nil); return err },
			func(b *string) error { _, err := s3c.ListObjects(e.ctx, &s3.ListObjectsInput{Bucket: b}); return err },
			"nope-1250000000", 404, "NoSuchBucket"},
		{"InvalidName", func(c *cos.Client) error { _, err := c.Bucket.Put(e.ctx, nil); return err },
			func(b *string) error { _, err := s3c.CreateBucket(e.ctx, &s3.CreateBucketInput{Bucket: b}); return err },
			"bad_name-1250000000", 400, "InvalidBucketName"},
		{"NameTooLong", func(c *cos.Client) error { _, err := c.Bucket.Put(e.ctx, nil); return err },
			func(b *string) error { _, err := s3c.CreateBucket(e.ctx, &s3.CreateBucketInput{Bucket: b}); return err },
			strings.Repeat("a", 53) + "-1250000000", 400, ""}, // 64 characters: InvalidBucketName or BucketNameTooLong
	}
	for _, tc := range cases {
		t.Run("COS/"+tc.name, func(t *testing.T) {
			err := tc.cos(e.cos(tc.bucket))
			if tc.status == 200 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantCOSErr(t, tc.name, err, tc.status, tc.code)
		})
		t.Run("S3/"+tc.name, func(t *testing.T) {
			b := strings.TrimSuffix(tc.bucket, "-1250000000")
			switch {
			case b == "svc-a":
				b = "svc-s3"
			case tc.name == "NameTooLong":
				b = tc.bucket
			}
			err := tc.s3(aws.String(b))
			if tc.status == 200 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			code := tc.code
			if strings.HasPrefix(tc.name, "Head") {
				code = "" // HEAD errors have no body
			}
			wantS3Err(t, tc.name, err, tc.status, code)
		})
	}

	t.Run("DeleteEmpty", func(t *testing.T) {
		cl := e.cos("svc-b-1250000000")
		resp, err := cl.Bucket.Delete(e.ctx)
		if err != nil {
			t.Fatalf("delete empty bucket: %v", err)
		}
		if resp.StatusCode != http.StatusNoContent {
			t.Errorf("delete bucket status %d, want 204", resp.StatusCode)
		}
		_, err = cl.Bucket.Head(e.ctx)
		wantCOSErr(t, "head deleted bucket", err, 404, "")
		if _, err := s3c.DeleteObject(e.ctx, &s3.DeleteObjectInput{Bucket: aws.String("svc-s3"), Key: aws.String("keep")}); err != nil {
			t.Fatal(err)
		}
		if _, err := s3c.DeleteBucket(e.ctx, &s3.DeleteBucketInput{Bucket: aws.String("svc-s3")}); err != nil {
			t.Fatalf("s3 delete empty bucket: %v", err)
		}
		_, err = s3c.HeadBucket(e.ctx, &s3.HeadBucketInput{Bucket: aws.String("svc-s3")})
		wantS3Err(t, "s3 head deleted bucket", err, 404, "")
		// A deleted bucket's name can be taken again.
		e.mkBucket(t, "svc-b-1250000000", nil)
	})
	t.Run("AnonymousHeadPrivate", func(t *testing.T) {
		_, err := e.anon("svc-a-1250000000").Bucket.Head(e.ctx)
		wantCOSErr(t, "anonymous HEAD of a private bucket", err, 403, "")
		_, err = e.anon("svc-a-1250000000").Bucket.Delete(e.ctx)
		wantCOSErr(t, "anonymous DELETE of a private bucket", err, 403, "AccessDenied")
	})
	t.Run("Location", func(t *testing.T) {
		out, err := s3c.GetBucketLocation(e.ctx, &s3.GetBucketLocationInput{Bucket: aws.String("svc-s3")})
		if err == nil {
			t.Errorf("location of a deleted bucket: %+v", out)
		}
		out, err = s3c.GetBucketLocation(e.ctx, &s3.GetBucketLocationInput{Bucket: aws.String("svc-a-1250000000")})
		if err != nil || string(out.LocationConstraint) != gatewaytest.Region {
			t.Errorf("GetBucketLocation: %+v %v", out, err)
		}
	})
	t.Run("HeadRegion", func(t *testing.T) {
		resp, err := e.cos("svc-a-1250000000").Bucket.Head(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if r := resp.Header.Get("x-cos-bucket-region"); r != gatewaytest.Region {
			t.Errorf("x-cos-bucket-region %q", r)
		}
	})
}
