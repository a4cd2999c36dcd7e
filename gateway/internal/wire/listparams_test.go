package wire

import (
	"strings"
	"testing"
)

func TestParseListObjects(t *testing.T) {
	tok := ContinuationToken("dir/b 腾")
	tests := []struct {
		name string
		q    testQuery
		v2   bool
		want ListObjectsParams
		code Code
	}{
		{"v1 defaults", testQuery{}, false, ListObjectsParams{MaxKeys: 1000}, ""},
		{"node empty prefix", testQuery{"prefix": ""}, false, ListObjectsParams{MaxKeys: 1000}, ""},
		{"v1 all", testQuery{"prefix": "dir/", "delimiter": "/", "marker": "dir/a", "max-keys": "10", "encoding-type": "url"}, false,
			ListObjectsParams{Prefix: "dir/", Delimiter: "/", Marker: "dir/a", After: "dir/a", MaxKeys: 10, EncodeURL: true}, ""},
		{"v1 clamp", testQuery{"max-keys": "5000"}, false, ListObjectsParams{MaxKeys: 1000}, ""},
		{"v1 bad max", testQuery{"max-keys": "-1"}, false, ListObjectsParams{}, ErrInvalidArgument},
		{"bad encoding", testQuery{"encoding-type": "xml"}, false, ListObjectsParams{}, ErrInvalidArgument},
		{"long prefix", testQuery{"prefix": strings.Repeat("p", KeyLengthMax+1)}, false, ListObjectsParams{}, ErrInvalidArgument},
		{"v2 start-after", testQuery{"start-after": "k", "fetch-owner": "true"}, true,
			ListObjectsParams{V2: true, StartAfter: "k", After: "k", MaxKeys: 1000, FetchOwner: true}, ""},
		{"v2 token wins", testQuery{"start-after": "k", "continuation-token": tok}, true,
			ListObjectsParams{V2: true, StartAfter: "k", ContinuationToken: tok, After: "dir/b 腾", MaxKeys: 1000}, ""},
		{"v2 bad token", testQuery{"continuation-token": "!!"}, true, ListObjectsParams{}, ErrInvalidArgument},
		{"v2 empty token", testQuery{"continuation-token": ""}, true, ListObjectsParams{}, ErrInvalidArgument},
		{"v2 foreign token", testQuery{"continuation-token": "ZGlyL2I"}, true, ListObjectsParams{}, ErrInvalidArgument},
		{"v2 bad fetch-owner", testQuery{"fetch-owner": "yes"}, true, ListObjectsParams{}, ErrInvalidArgument},
	}
	for _, tt := range tests {
		got, err := ParseListObjects(tt.q, tt.v2)
		checkCode(t, tt.name, err, tt.code)
		if got != tt.want {
			t.Errorf("%s: got %+v want %+v", tt.name, got, tt.want)
		}
	}
	for _, k := range []string{"", "a", strings.Repeat("k", KeyLengthMax)} {
		if got, err := ParseContinuationToken(ContinuationToken(k)); err != nil || got != k {
			t.Errorf("token round trip %q: %q %v", k, got, err)
		}
	}
}

func TestParseListParts(t *testing.T) {
	tests := []struct {
		q    testQuery
		want ListPartsParams
		code Code
	}{
		{testQuery{}, ListPartsParams{MaxParts: 1000}, ""},
		{testQuery{"max-parts": "10", "part-number-marker": "3", "encoding-type": "url"}, ListPartsParams{10, 3, true}, ""},
		{testQuery{"max-parts": "0"}, ListPartsParams{}, ErrInvalidArgument},
		{testQuery{"max-parts": "1001"}, ListPartsParams{}, ErrInvalidArgument},
		{testQuery{"part-number-marker": "-1"}, ListPartsParams{}, ErrInvalidArgument},
		{testQuery{"part-number-marker": "x"}, ListPartsParams{}, ErrInvalidArgument},
		{testQuery{"encoding-type": "gzip"}, ListPartsParams{}, ErrInvalidArgument},
	}
	for _, tt := range tests {
		got, err := ParseListParts(tt.q)
		checkCode(t, "list parts", err, tt.code)
		if got != tt.want {
			t.Errorf("%v: got %+v want %+v", tt.q, got, tt.want)
		}
	}
}

func TestParseListUploads(t *testing.T) {
	got, err := ParseListUploads(testQuery{"prefix": "k", "encoding-type": "url", "key-marker": "a", "upload-id-marker": "u", "max-uploads": "2000"})
	want := ListUploadsParams{Prefix: "k", KeyMarker: "a", UploadIDMarker: "u", MaxUploads: ListMaxUploadsMax, EncodeURL: true}
	if err != nil || got != want {
		t.Errorf("got %+v %v", got, err)
	}
	_, err = ParseListUploads(testQuery{"max-uploads": "x"})
	checkCode(t, "bad max-uploads", err, ErrInvalidArgument)
}
