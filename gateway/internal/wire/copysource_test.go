package wire

import (
	"net/url"
	"strings"
	"testing"
)

func TestParseCopySource(t *testing.T) {
	tests := []struct {
		in   string
		want CopySource
		code Code
	}{
		{"examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com/dir/a%20b%2Bc.txt",
			CopySource{Bucket: "examplebucket-1250000000", Key: "dir/a b+c.txt"}, ""},
		{"examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com/a+b?versionId=MTg0NDUx",
			CopySource{Bucket: "examplebucket-1250000000", Key: "a+b", VersionID: "MTg0NDUx"}, ""},
		{"ExampleBucket-1250000000.COS.example.test:9000/k", CopySource{Bucket: "examplebucket-1250000000", Key: "k"}, ""},
		{"/srcbucket/dir/key", CopySource{Bucket: "srcbucket", Key: "dir/key"}, ""},
		{"srcbucket/dir//key", CopySource{Bucket: "srcbucket", Key: "dir//key"}, ""},
		{"/srcbucket/what%3Fnot", CopySource{Bucket: "srcbucket", Key: "what?not"}, ""},
		{"/srcbucket/%E8%85%BE%E8%AE%AF%E4%BA%91", CopySource{Bucket: "srcbucket", Key: "腾讯云"}, ""},
		{"/srcbucket/%2F", CopySource{}, ErrInvalidArgument}, // key normalises to "/"
		{"", CopySource{}, ErrInvalidArgument},
		{"/srcbucket", CopySource{}, ErrInvalidArgument},
		{"/srcbucket/", CopySource{}, ErrInvalidArgument},
		{"/Bad_Bucket/k", CopySource{}, ErrInvalidArgument},
		{"/srcbucket/k?partNumber=1", CopySource{}, ErrInvalidArgument},
		{"/srcbucket/k?versionId=", CopySource{}, ErrInvalidArgument},
		{"/srcbucket/%zz", CopySource{}, ErrInvalidArgument},
		{"/srcbucket/" + strings.Repeat("k", KeyLengthMax+1), CopySource{}, ErrKeyTooLong},
	}
	for _, tt := range tests {
		got, err := ParseCopySource(tt.in)
		checkCode(t, tt.in, err, tt.code)
		if got != tt.want {
			t.Errorf("ParseCopySource(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
	h := hdr("x-amz-copy-source", "/b-1/k")
	if v, ok, err := CopySourceHeader(h); v != "/b-1/k" || !ok || err != nil {
		t.Errorf("CopySourceHeader = %q %v %v", v, ok, err)
	}
}

func FuzzParseCopySource(f *testing.F) {
	for _, s := range []string{"examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com/dir/a%20b", "/b-1/k?versionId=v", "b/%2F", "/a/../.."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cs, err := ParseCopySource(s)
		if err != nil {
			if AsError(err).Status != 400 {
				t.Fatalf("%q: %v", s, err)
			}
			return
		}
		if ValidBucketName(cs.Bucket) != nil || ValidKey(cs.Key) != nil {
			t.Fatalf("%q: accepted invalid %+v", s, cs)
		}
		// Round trip through the path-style form.
		again, err := ParseCopySource("/" + cs.Bucket + "/" + url.PathEscape(cs.Key))
		if err != nil || again.Bucket != cs.Bucket || again.Key != cs.Key {
			t.Fatalf("%q: round trip %+v -> %+v, %v", s, cs, again, err)
		}
	})
}
