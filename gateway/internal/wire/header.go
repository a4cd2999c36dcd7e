package wire

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Dialect says which header family a request used and the response should echo:
// x-cos-* (COS SDKs) or x-amz-* (S3 clients).
type Dialect uint8

// Dialects.
const (
	DialectCOS Dialect = iota
	DialectS3
)

// dual reads a header that exists in both dialects. When both are present they
// must agree (InvalidArgument otherwise); the x-cos- value wins ties.
func dual(h http.Header, cos, amz string) (string, error) {
	v, _, err := dualGet(h.Get, cos, amz)
	return v, err
}

// dualGet is dual over any lookup; it also reports whether the x-amz- name was
// the one used.
func dualGet(get func(string) string, cos, amz string) (string, bool, error) {
	c, a := get(cos), get(amz)
	switch {
	case a == "":
		return c, false, nil
	case c == "":
		return a, true, nil
	case c != a:
		return "", false, Errorf(ErrInvalidArgument, "The headers %s and %s disagree.", cos, amz)
	}
	return c, false, nil
}

// QuoteETag returns etag in double quotes, as headers and XML bodies carry it
// (cos-api.md §5.12); an already quoted value is returned unchanged.
func QuoteETag(etag string) string {
	if len(etag) >= 2 && etag[0] == '"' && etag[len(etag)-1] == '"' {
		return etag
	}
	return `"` + etag + `"`
}

// UnquoteETag strips surrounding whitespace, a weak W/ prefix, surrounding
// double quotes and surrounding &quot; entities (as a client that escaped twice
// sends them).
func UnquoteETag(etag string) string {
	s := strings.TrimSpace(etag)
	s = strings.TrimPrefix(s, "W/")
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1]
	}
	if len(s) >= 12 && strings.HasPrefix(s, "&quot;") && strings.HasSuffix(s, "&quot;") {
		return s[6 : len(s)-6]
	}
	return s
}

// ETagFromMD5 returns the quoted ETag of a single PUT, POST or part: the
// lower-case hex MD5 of the bytes.
func ETagFromMD5(sum [md5.Size]byte) string {
	var b [2 + 2*md5.Size]byte
	b[0], b[len(b)-1] = '"', '"'
	hex.Encode(b[1:], sum[:])
	return string(b[:])
}

// MultipartETag returns the quoted ETag of a multipart object: the hex MD5 of
// the concatenated binary MD5s of its parts, then "-" and the part count
// (S3 convention, cos-api.md §5.12). partETags are the parts' ETags, quoted or
// not; one that is not 32 hex digits is InvalidPart.
func MultipartETag(partETags []string) (string, error) {
	if len(partETags) == 0 {
		return "", NewError(ErrInvalidPart, "")
	}
	h := md5.New()
	var sum [md5.Size]byte
	for _, e := range partETags {
		e = UnquoteETag(e)
		if len(e) != 2*md5.Size {
			return "", NewError(ErrInvalidPart, "")
		}
		if _, err := hex.Decode(sum[:], []byte(e)); err != nil {
			return "", NewError(ErrInvalidPart, "")
		}
		h.Write(sum[:])
	}
	var out [2*md5.Size + 1 + 5 + 2]byte
	b := append(out[:0], '"')
	b = hex.AppendEncode(b, h.Sum(sum[:0]))
	b = append(b, '-')
	b = strconv.AppendInt(b, int64(len(partETags)), 10)
	b = append(b, '"')
	return string(b), nil
}

// ParseContentMD5 decodes a Content-MD5 header: absent gives ok=false; anything
// but the standard base64 of 16 bytes is InvalidDigest.
func ParseContentMD5(v string) (sum [md5.Size]byte, ok bool, err error) {
	if v == "" {
		return sum, false, nil
	}
	if base64.StdEncoding.DecodedLen(len(v)) > md5.Size+2 {
		return sum, false, NewError(ErrInvalidDigest, "")
	}
	b, derr := base64.StdEncoding.DecodeString(strings.TrimSpace(v))
	if derr != nil || len(b) != md5.Size {
		return sum, false, NewError(ErrInvalidDigest, "")
	}
	copy(sum[:], b)
	return sum, true, nil
}

// FormatHTTPTime formats t as an HTTP-date (IMF-fixdate, RFC 9110 §5.6.7), the
// form of Last-Modified, Date and Expires.
func FormatHTTPTime(t time.Time) string { return t.UTC().Format(http.TimeFormat) }

// ParseHTTPTime parses any of the three HTTP-date forms (IMF-fixdate, RFC 850,
// asctime).
func ParseHTTPTime(s string) (time.Time, error) { return http.ParseTime(strings.TrimSpace(s)) }

// Query is the read side of an already parsed query string (auth.Query
// satisfies it).
type Query interface {
	Get(name string) string
	Has(name string) bool
}

// Overrides are the response-* query parameters of GET Object in response
// header form: canonical header name → value.
type Overrides map[string]string

// overrideParams maps each response-* parameter to the header it replaces.
var overrideParams = [...][2]string{
	{"response-content-type", "Content-Type"},
	{"response-content-language", "Content-Language"},
	{"response-expires", "Expires"},
	{"response-cache-control", "Cache-Control"},
	{"response-content-disposition", "Content-Disposition"},
	{"response-content-encoding", "Content-Encoding"},
}

// ParseOverrides collects the response-* override parameters of q (cos-api.md
// §5.6). A value that is not a legal header value (control characters) is
// InvalidArgument. It returns nil when none is present. COS requires such
// requests to be signed; the caller checks that.
func ParseOverrides(q Query) (Overrides, error) {
	var o Overrides
	for _, p := range overrideParams {
		if !q.Has(p[0]) {
			continue
		}
		v := q.Get(p[0])
		if !validHeaderValue(v) {
			return nil, Errorf(ErrInvalidArgument, "The value of %s is not a valid header value.", p[0])
		}
		if o == nil {
			o = make(Overrides, len(overrideParams))
		}
		o[p[1]] = v
	}
	return o, nil
}

// Apply sets the overridden headers on h.
func (o Overrides) Apply(h http.Header) {
	for k, v := range o {
		h.Set(k, v)
	}
}

func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// validToken reports whether s is a non-empty RFC 9110 token (header name).
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			continue
		}
		if !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) {
			return false
		}
	}
	return true
}

// Metadata is user metadata: lower-case name suffix (after x-cos-meta- /
// x-amz-meta-) → value.
type Metadata map[string]string

const (
	metaCOS = "x-cos-meta-"
	metaAMZ = "x-amz-meta-"
)

// ParseMetadata collects x-cos-meta-* and x-amz-meta-* headers. Names are
// lower-cased; a name present in both dialects must carry the same value;
// repeated headers are joined with ",". The total size (names + values) may be
// at most MetadataBytesMax (MetadataTooLarge); a suffix that is not a token is
// InvalidArgument. It returns nil when there is none.
func ParseMetadata(h http.Header) (Metadata, error) {
	var m Metadata
	total := 0
	for name, vs := range h {
		lower := strings.ToLower(name)
		var suffix string
		switch {
		case strings.HasPrefix(lower, metaCOS):
			suffix = lower[len(metaCOS):]
		case strings.HasPrefix(lower, metaAMZ):
			suffix = lower[len(metaAMZ):]
		default:
			continue
		}
		if !validToken(suffix) {
			return nil, NewError(ErrInvalidArgument, "A user metadata header has an invalid name.")
		}
		v := strings.Join(vs, ",")
		if !validHeaderValue(v) {
			return nil, NewError(ErrInvalidArgument, "A user metadata header has an invalid value.")
		}
		if m == nil {
			m = make(Metadata)
		}
		if old, dup := m[suffix]; dup {
			if old != v {
				return nil, Errorf(ErrInvalidArgument, "The user metadata %q is given twice with different values.", suffix)
			}
			continue
		}
		m[suffix] = v
		total += len(suffix) + len(v)
		if total > MetadataBytesMax {
			return nil, Errorf(ErrMetadataTooLarge, "Your metadata headers exceed the maximum allowed metadata size of %d bytes.", MetadataBytesMax)
		}
	}
	return m, nil
}

// Set writes m to h as x-cos-meta-* (DialectCOS) or x-amz-meta-* headers, in
// name order.
func (m Metadata) Set(h http.Header, d Dialect) {
	prefix := metaCOS
	if d == DialectS3 {
		prefix = metaAMZ
	}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		h[http.CanonicalHeaderKey(prefix+k)] = []string{m[k]}
	}
}

// ParseMetadataDirective reads x-cos-metadata-directive (Copy | Replaced) or
// x-amz-metadata-directive (COPY | REPLACE) of PUT Object - Copy, case-
// insensitively. It returns true for "replace the metadata from the request";
// absent means Copy. Anything else is InvalidArgument.
func ParseMetadataDirective(h http.Header) (replace bool, err error) {
	v, err := dual(h, "X-Cos-Metadata-Directive", "X-Amz-Metadata-Directive")
	if err != nil {
		return false, err
	}
	switch strings.ToLower(v) {
	case "", "copy":
		return false, nil
	case "replaced", "replace":
		return true, nil
	}
	return false, NewError(ErrInvalidArgument, "The metadata directive must be Copy or Replaced.")
}

// StorageClassStandard is the only storage class Coffer has; it is what
// responses report.
const StorageClassStandard = "STANDARD"

// storageClasses are the x-cos-storage-class / x-amz-storage-class values the
// SDKs send. Coffer stores every object alike, so all are accepted.
var storageClasses = [...]string{
	"STANDARD", "STANDARD_IA", "INTELLIGENT_TIERING", "ARCHIVE", "DEEP_ARCHIVE",
	"MAZ_STANDARD", "MAZ_STANDARD_IA", "MAZ_INTELLIGENT_TIERING", "MAZ_ARCHIVE",
	"REDUCED_REDUNDANCY", "ONEZONE_IA", "GLACIER", "GLACIER_IR",
}

// ParseStorageClass reads x-cos-storage-class or x-amz-storage-class. Absent
// gives StorageClassStandard; a known class (case-insensitive) is returned in
// upper case; anything else is InvalidStorageClass.
func ParseStorageClass(h http.Header) (string, error) {
	v, err := dual(h, "X-Cos-Storage-Class", "X-Amz-Storage-Class")
	if err != nil || v == "" {
		return StorageClassStandard, err
	}
	for _, c := range storageClasses {
		if strings.EqualFold(v, c) {
			return c, nil
		}
	}
	return "", NewError(ErrInvalidStorageClass, "")
}
