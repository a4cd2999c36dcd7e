package auth

import (
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseQuery(t *testing.T) {
	tests := []struct {
		raw  string
		want Query
		err  bool
	}{
		{"", nil, false},
		{"uploads", Query{{"uploads", "", false}}, false},
		{"uploads=", Query{{"uploads", "", true}}, false},
		{"a=1&a=2&b", Query{{"a", "1", true}, {"a", "2", true}, {"b", "", false}}, false},
		{"q-sign-time=1;2&x=y", Query{{"q-sign-time", "1;2", true}, {"x", "y", true}}, false},
		{"a+b=c+d&e=%2B%20", Query{{"a b", "c d", true}, {"e", "+ ", true}}, false},
		{"a&&b", Query{{"a", "", false}, {"b", "", false}}, false},
		{"a=b=c", Query{{"a", "b=c", true}}, false},
		{"k=%E6%B5%8B", Query{{"k", "测", true}}, false},
		{"a=%zz", nil, true},
		{"%=1", nil, true},
	}
	for _, tt := range tests {
		got, err := ParseQuery(tt.raw)
		if (err != nil) != tt.err {
			t.Errorf("ParseQuery(%q) error %v, want error %v", tt.raw, err, tt.err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ParseQuery(%q) mismatch (-want +got):\n%s", tt.raw, diff)
		}
	}
	q, _ := ParseQuery("a=1&b&a=2")
	if q.Get("a") != "1" || !q.Has("b") || q.Has("c") || q.Count("a") != 2 || strings.Join(q.Values("a"), ",") != "1,2" {
		t.Fatalf("accessors wrong on %+v", q)
	}
}

func TestURIEncode(t *testing.T) {
	tests := []struct {
		in        string
		keepSlash bool
		want      string
	}{
		{"abcAZ09-_.~", false, "abcAZ09-_.~"},
		{"a b+c/d", false, "a%20b%2Bc%2Fd"},
		{"a b+c/d", true, "a%20b%2Bc/d"},
		{"!*'();:@&=$,?#[]", false, "%21%2A%27%28%29%3B%3A%40%26%3D%24%2C%3F%23%5B%5D"},
		{"测", false, "%E6%B5%8B"},
		{"%", false, "%25"},
	}
	for _, tt := range tests {
		if got := uriEncode(tt.in, tt.keepSlash); got != tt.want {
			t.Errorf("uriEncode(%q, %v) = %q, want %q", tt.in, tt.keepSlash, got, tt.want)
		}
	}
}

func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{"", "uploads", "a=1&a=2", "q-sign-time=1;2", "a+b=%20", "%zz", "x=%E6%B5%8B&&y", "=&=&"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := ParseQuery(raw)
		if err != nil {
			return
		}
		// Re-encoding every pair and parsing again is the identity.
		var b strings.Builder
		for i, p := range q {
			if i > 0 {
				b.WriteByte('&')
			}
			b.WriteString(url.QueryEscape(p.Name))
			if p.HasValue {
				b.WriteByte('=')
				b.WriteString(url.QueryEscape(p.Value))
			}
		}
		q2, err := ParseQuery(b.String())
		if err != nil {
			t.Fatalf("re-encoded query %q fails: %v", b.String(), err)
		}
		if len(q) == 0 && len(q2) == 0 {
			return
		}
		// Empty names with no value vanish on re-encoding only if both are empty.
		if diff := cmp.Diff(dropEmpty(q), dropEmpty(q2)); diff != "" {
			t.Fatalf("round trip mismatch:\n%s", diff)
		}
	})
}

func dropEmpty(q Query) Query {
	var out Query
	for _, p := range q {
		if p.Name == "" && !p.HasValue {
			continue
		}
		out = append(out, p)
	}
	return out
}
