package wire

import (
	"errors"
	"strings"
	"testing"
)

func TestLimitRelations(t *testing.T) {
	if PartSizeMin > PartSizeMax || PartSizeMax > SinglePutMax {
		t.Errorf("part size limits out of order: %d %d %d", PartSizeMin, PartSizeMax, SinglePutMax)
	}
	// A Complete body naming every part with quoted ETags and indentation must fit.
	perPart := len("  <Part>\n    <PartNumber>10000</PartNumber>\n    <ETag>&quot;0123456789abcdef0123456789abcdef&quot;</ETag>\n    <ChecksumCRC32>AAAAAA==</ChecksumCRC32>\n  </Part>\n")
	if perPart*PartNumberMax > CompleteBodyMax {
		t.Errorf("CompleteBodyMax %d too small for %d parts of %d bytes", CompleteBodyMax, PartNumberMax, perPart)
	}
	// DeleteObjectsMax keys of KeyLengthMax bytes, each byte escaped as &amp;.
	if DeleteObjectsMax*(KeyLengthMax*5+64) > DeleteBodyMax {
		t.Errorf("DeleteBodyMax %d too small", DeleteBodyMax)
	}
	if BucketNameMin > BucketNameMax || ListMaxKeysMax < 1 {
		t.Error("bucket or list limits out of order")
	}
}

func TestValidBucketName(t *testing.T) {
	tests := []struct {
		name string
		code Code // "" = valid
	}{
		{"examplebucket-1250000000", ""},
		{"abc", ""},
		{"a-b", ""},
		{"123", ""},
		{"ab", ErrInvalidBucketName},
		{"", ErrInvalidBucketName},
		{"-abc", ErrInvalidBucketName},
		{"abc-", ErrInvalidBucketName},
		{"Abc", ErrInvalidBucketName},
		{"a.b.c", ErrInvalidBucketName},
		{"a_b", ErrInvalidBucketName},
		{"a b", ErrInvalidBucketName},
		{strings.Repeat("a", BucketNameMax), ""},
		{strings.Repeat("a", BucketNameMax+1), ErrBucketNameTooLong},
	}
	for _, tt := range tests {
		checkCode(t, tt.name, ValidBucketName(tt.name), tt.code)
	}
}

func TestValidKey(t *testing.T) {
	tests := []struct {
		key  string
		code Code
	}{
		{"a", ""},
		{"dir/a b+c.txt", ""},
		{"测试.jpg", ""},
		{"a//b", ""},
		{"a/../b", ""},
		{"./a", ""},
		{"/leading", ""},
		{"dir/", ""},
		{strings.Repeat("k", KeyLengthMax), ""},
		{strings.Repeat("k", KeyLengthMax+1), ErrKeyTooLong},
		{"", ErrInvalidArgument},
		{"a\x00b", ErrInvalidArgument},
		{"\xff\xfe", ErrInvalidArgument},
		{".", ErrInvalidArgument},
		{"..", ErrInvalidArgument},
		{"/", ErrInvalidArgument},
		{"a/..", ErrInvalidArgument},
		{"./", ErrInvalidArgument},
		{"../..", ErrInvalidArgument},
	}
	for _, tt := range tests {
		checkCode(t, tt.key, ValidKey(tt.key), tt.code)
	}
}

// checkCode fails unless err is nil for want == "" or carries code want.
func checkCode(t *testing.T, name string, err error, want Code) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Errorf("%q: unexpected error %v", name, err)
		}
		return
	}
	if !errors.Is(err, want) {
		t.Errorf("%q: got %v, want code %s", name, err, want)
		return
	}
	var we *Error
	if !errors.As(err, &we) || we.Status != want.Status() {
		t.Errorf("%q: error %v is not an *Error with status %d", name, err, want.Status())
	}
}
