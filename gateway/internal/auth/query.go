package auth

import (
	"errors"
	"net/url"
	"strings"
)

// ErrBadQuery is returned by ParseQuery for a malformed percent escape.
var ErrBadQuery = errors.New("auth: malformed query string")

// Pair is one name=value pair of a query string, decoded.
type Pair struct {
	Name  string
	Value string
	// HasValue is false for a valueless parameter such as "?uploads" (no '=').
	HasValue bool
}

// Query is a parsed query string: every pair in the order it appeared, duplicates
// and valueless parameters included. Its zero value is an empty query.
type Query []Pair

// ParseQuery parses a raw query string (r.URL.RawQuery) the way signers expect it:
// it splits on '&' only — never on ';', which Go's url.ParseQuery rejects and which
// Node's COS SDK leaves raw in presigned URLs — and unescapes each side with '+'
// meaning space. Empty segments ("a&&b") are skipped. A malformed escape fails the
// whole query with ErrBadQuery.
func ParseQuery(raw string) (Query, error) {
	if raw == "" {
		return nil, nil
	}
	q := make(Query, 0, strings.Count(raw, "&")+1)
	for seg := range strings.SplitSeq(raw, "&") {
		if seg == "" {
			continue
		}
		name, value, has := strings.Cut(seg, "=")
		n, err := url.QueryUnescape(name)
		if err != nil {
			return nil, ErrBadQuery
		}
		v, err := url.QueryUnescape(value)
		if err != nil {
			return nil, ErrBadQuery
		}
		q = append(q, Pair{Name: n, Value: v, HasValue: has})
	}
	return q, nil
}

// Get returns the value of the first pair named name, or "".
func (q Query) Get(name string) string {
	for _, p := range q {
		if p.Name == name {
			return p.Value
		}
	}
	return ""
}

// Has reports whether a pair named name is present (with or without a value).
func (q Query) Has(name string) bool {
	for _, p := range q {
		if p.Name == name {
			return true
		}
	}
	return false
}

// Count returns how many pairs are named name.
func (q Query) Count(name string) int {
	n := 0
	for _, p := range q {
		if p.Name == name {
			n++
		}
	}
	return n
}

// Values returns the values of every pair named name, in order.
func (q Query) Values(name string) []string {
	var out []string
	for _, p := range q {
		if p.Name == name {
			out = append(out, p.Value)
		}
	}
	return out
}

const upperHex = "0123456789ABCDEF"

// appendURIEncode appends s percent-encoded as both q-sign (UrlEncode) and SigV4
// (UriEncode) define it: only A-Z a-z 0-9 - _ . ~ stay literal, every other byte
// becomes %XX with upper-case hex. With keepSlash, '/' also stays literal (SigV4
// canonical URI).
func appendURIEncode(dst []byte, s string, keepSlash bool) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isUnreserved(c) || (keepSlash && c == '/') {
			dst = append(dst, c)
			continue
		}
		dst = append(dst, '%', upperHex[c>>4], upperHex[c&15])
	}
	return dst
}

func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '~'
}

// uriEncode is appendURIEncode into a new string; it returns s itself when no
// byte needs escaping.
func uriEncode(s string, keepSlash bool) string {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isUnreserved(c) && !(keepSlash && c == '/') {
			return string(appendURIEncode(make([]byte, 0, len(s)+16), s, keepSlash))
		}
	}
	return s
}
