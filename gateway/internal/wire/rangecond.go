package wire

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ParseRange interprets a Range header against an object of size bytes
// (RFC 9110 §14, cos-api.md §5.6). It returns ok=false with no error when the
// whole object should be sent with 200: no header, a unit other than bytes, a
// syntactically invalid value, or several ranges (not supported, as S3). For a
// single satisfiable range it returns the offset and length to send with 206;
// an unsatisfiable one (first byte at or past the end, a zero-length suffix, any
// range of an empty object) is InvalidRange (416) whose Header carries
// Content-Range "bytes */size".
func ParseRange(h string, size int64) (off, n int64, ok bool, err error) {
	h = strings.TrimSpace(h)
	if len(h) < 6 || !strings.EqualFold(h[:6], "bytes=") {
		return 0, 0, false, nil
	}
	spec := strings.TrimSpace(h[6:])
	if strings.IndexByte(spec, ',') >= 0 {
		return 0, 0, false, nil
	}
	first, last, found := strings.Cut(spec, "-")
	if !found {
		return 0, 0, false, nil
	}
	first, last = strings.TrimSpace(first), strings.TrimSpace(last)
	if first == "" {
		// Suffix range: the last n bytes.
		k, good := parseDigits(last)
		if !good {
			return 0, 0, false, nil
		}
		if k == 0 || size <= 0 {
			return 0, 0, false, rangeError(size)
		}
		k = min(k, size)
		return size - k, k, true, nil
	}
	a, good := parseDigits(first)
	if !good {
		return 0, 0, false, nil
	}
	b := int64(-1)
	if last != "" {
		if b, good = parseDigits(last); !good || b < a {
			return 0, 0, false, nil
		}
	}
	if a >= size {
		return 0, 0, false, rangeError(size)
	}
	if b < 0 || b >= size {
		b = size - 1
	}
	return a, b - a + 1, true, nil
}

// ContentRange formats the Content-Range of a 206 response.
func ContentRange(off, n, size int64) string {
	return "bytes " + strconv.FormatInt(off, 10) + "-" + strconv.FormatInt(off+n-1, 10) + "/" + strconv.FormatInt(size, 10)
}

func rangeError(size int64) *Error {
	e := NewError(ErrInvalidRange, "")
	e.Header = http.Header{"Content-Range": {"bytes */" + strconv.FormatInt(max(size, 0), 10)}}
	return e
}

// parseDigits parses a non-empty run of ASCII digits that fits an int64.
func parseDigits(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	return v, err == nil
}

// ParseCopySourceRange parses x-cos-copy-source-range (Upload Part - Copy): it
// must be exactly "bytes=first-last" (inclusive, first <= last < size). An
// empty value means the whole source (ok=false). Anything else is
// InvalidArgument, as S3 answers.
func ParseCopySourceRange(v string, size int64) (off, n int64, ok bool, err error) {
	if v == "" {
		return 0, 0, false, nil
	}
	bad := NewError(ErrInvalidArgument, "The x-cos-copy-source-range value must be of the form bytes=first-last and lie within the source object.")
	if !strings.HasPrefix(v, "bytes=") {
		return 0, 0, false, bad
	}
	first, last, found := strings.Cut(v[len("bytes="):], "-")
	a, ok1 := parseDigits(first)
	b, ok2 := parseDigits(last)
	if !found || !ok1 || !ok2 || a > b || b >= size {
		return 0, 0, false, bad
	}
	return a, b - a + 1, true, nil
}

// Conditions are the conditional request headers of GET/HEAD (If-*) or of a
// copy source (x-cos-copy-source-if-*). Zero times and empty strings mean
// absent.
type Conditions struct {
	IfMatch           string
	IfNoneMatch       string
	IfModifiedSince   time.Time
	IfUnmodifiedSince time.Time
	// CopySource marks copy-source conditions: a failure is always 412, never 304.
	CopySource bool
}

// ParseConditions reads If-Match, If-None-Match, If-Modified-Since and
// If-Unmodified-Since. A date that does not parse is ignored (RFC 9110 §13.1.3
// and S3; cos-api.md §5.6 allows either).
func ParseConditions(h http.Header) Conditions {
	return Conditions{
		IfMatch:           h.Get("If-Match"),
		IfNoneMatch:       h.Get("If-None-Match"),
		IfModifiedSince:   parseDateOrZero(h.Get("If-Modified-Since")),
		IfUnmodifiedSince: parseDateOrZero(h.Get("If-Unmodified-Since")),
	}
}

// ParseCopySourceConditions reads the x-cos-copy-source-if-* (or x-amz-)
// headers of PUT Object - Copy and Upload Part - Copy.
func ParseCopySourceConditions(h http.Header) (Conditions, error) {
	var c Conditions
	c.CopySource = true
	var err error
	var ims, ius string
	for _, f := range []struct {
		dst  *string
		name string
	}{
		{&c.IfMatch, "if-match"},
		{&c.IfNoneMatch, "if-none-match"},
		{&ims, "if-modified-since"},
		{&ius, "if-unmodified-since"},
	} {
		if *f.dst, err = dual(h, "x-cos-copy-source-"+f.name, "x-amz-copy-source-"+f.name); err != nil {
			return Conditions{}, err
		}
	}
	c.IfModifiedSince, c.IfUnmodifiedSince = parseDateOrZero(ims), parseDateOrZero(ius)
	return c, nil
}

func parseDateOrZero(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := ParseHTTPTime(s)
	if err != nil {
		return time.Time{}
	}
	return t
}

// Evaluate applies c to an existing object with the given ETag (quoted or not)
// and modification time, in the order of RFC 9110 §13.2.2, which is also S3's:
//  1. If-Match false → 412 (and If-Unmodified-Since is then not evaluated);
//  2. otherwise If-Unmodified-Since, when the object changed after it → 412;
//  3. If-None-Match matching → 304 (GET/HEAD) or 412 (copy source);
//  4. otherwise If-Modified-Since, when the object did not change after it →
//     304 (copy source: 412).
//
// It returns nil when the request proceeds, else an *Error with code
// PreconditionFailed or NotModified. Times compare at one-second resolution,
// the resolution of HTTP dates.
func (c Conditions) Evaluate(etag string, lastModified time.Time) error {
	lm := lastModified.Truncate(time.Second)
	etag = UnquoteETag(etag)
	if c.IfMatch != "" {
		if !matchETag(c.IfMatch, etag, false) {
			return NewError(ErrPreconditionFailed, "")
		}
	} else if !c.IfUnmodifiedSince.IsZero() && lm.After(c.IfUnmodifiedSince) {
		return NewError(ErrPreconditionFailed, "")
	}
	if c.IfNoneMatch != "" {
		if matchETag(c.IfNoneMatch, etag, true) {
			return c.notModified()
		}
	} else if !c.IfModifiedSince.IsZero() && !lm.After(c.IfModifiedSince) {
		return c.notModified()
	}
	return nil
}

func (c Conditions) notModified() error {
	if c.CopySource {
		return NewError(ErrPreconditionFailed, "")
	}
	return NewError(ErrNotModified, "")
}

// matchETag reports whether the If-Match / If-None-Match list matches etag
// (unquoted). "*" matches any existing object. Weak tags (W/) match only under
// weak comparison (If-None-Match); unquoted list members are accepted as S3
// does.
func matchETag(list, etag string, weak bool) bool {
	for len(list) > 0 {
		list = strings.TrimLeft(list, " \t,")
		if list == "" {
			break
		}
		if list[0] == '*' {
			return true
		}
		isWeak := strings.HasPrefix(list, "W/")
		if isWeak {
			list = list[2:]
		}
		var tag string
		if strings.HasPrefix(list, `"`) {
			end := strings.IndexByte(list[1:], '"')
			if end < 0 {
				tag, list = list[1:], ""
			} else {
				tag, list = list[1:1+end], list[2+end:]
			}
		} else {
			end := strings.IndexAny(list, " \t,")
			if end < 0 {
				end = len(list)
			}
			tag, list = list[:end], list[end:]
		}
		if (weak || !isWeak) && tag == etag {
			return true
		}
	}
	return false
}
