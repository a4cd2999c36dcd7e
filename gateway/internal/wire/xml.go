package wire

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// TimeFormat is the ISO 8601 form of every timestamp in an XML body: UTC with
// milliseconds, as S3 writes it and as the COS and AWS SDKs parse it.
const TimeFormat = "2006-01-02T15:04:05.000Z"

// Time is a timestamp in an XML body, written in TimeFormat. It reads any
// RFC 3339 timestamp (with or without fractional seconds).
type Time time.Time

// MarshalText writes t in TimeFormat.
func (t Time) MarshalText() ([]byte, error) {
	return time.Time(t).UTC().AppendFormat(nil, TimeFormat), nil
}

// UnmarshalText reads an RFC 3339 timestamp.
func (t *Time) UnmarshalText(b []byte) error {
	v, err := time.Parse(time.RFC3339Nano, string(b))
	if err != nil {
		return err
	}
	*t = Time(v)
	return nil
}

// Owner is the Owner / Initiator element of list and ACL bodies.
type Owner struct {
	ID          string `xml:"ID"`
	DisplayName string `xml:"DisplayName"`
}

// CommonPrefix is one rolled-up prefix of a listing.
type CommonPrefix struct {
	Prefix string `xml:"Prefix"`
}

// xmlHeader is the declaration put before every success body.
const xmlHeader = `<?xml version="1.0" encoding="UTF-8"?>` + "\n"

// MarshalXML encodes v (one of this package's body types) with an XML
// declaration and no namespace. Quotes are written as &quot; and &apos;, as S3
// writes them: encoding/xml's numeric &#34; is not decoded by every client
// parser (fast-xml-parser in the Node SDK only knows the named entities), and
// ETags are full of quotes.
func MarshalXML(v any) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(xmlHeader)
	if err := xml.NewEncoder(&b).Encode(v); err != nil {
		return nil, err
	}
	out := b.Bytes()
	// encoding/xml emits "&#34;" and "&#39;" only for a literal quote: a "&" in
	// the data is itself escaped to "&amp;", so the replacement cannot alter data.
	if bytes.Contains(out, []byte("&#34;")) {
		out = bytes.ReplaceAll(out, []byte("&#34;"), []byte("&quot;"))
	}
	if bytes.Contains(out, []byte("&#39;")) {
		out = bytes.ReplaceAll(out, []byte("&#39;"), []byte("&apos;"))
	}
	return out, nil
}

// WriteXML writes v as a complete response with the given status, Content-Type
// application/xml and Content-Length. A value that cannot be encoded (a bug) is
// written as an InternalError instead.
func WriteXML(w http.ResponseWriter, status int, v any) error {
	body, err := MarshalXML(v)
	if err != nil {
		e := Wrap(ErrInternalError, err)
		WriteError(w, e, w.Header().Get("x-cos-request-id"))
		return e
	}
	h := w.Header()
	h.Set("Content-Type", "application/xml")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, err = w.Write(body)
	return err
}

// decodeXML reads at most limit bytes from r and decodes one document into v.
// The root element must be the one v names (any namespace or none); anything but
// whitespace, comments and processing instructions after it is MalformedXML, and
// so is an empty body. A body longer than limit is MaxMessageLengthExceeded; a
// failing reader is IncompleteBody with the cause attached.
func decodeXML(r io.Reader, limit int64, v any) error {
	body, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return Wrap(ErrIncompleteBody, err)
	}
	if int64(len(body)) > limit {
		return Errorf(ErrMaxMessageLengthExceeded, "Your request was too big: the XML body may be at most %d bytes.", limit)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return NewError(ErrMalformedXML, "")
	}
	d := xml.NewDecoder(bytes.NewReader(body))
	d.Strict = true
	if err := d.Decode(v); err != nil {
		return Wrap(ErrMalformedXML, err)
	}
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return Wrap(ErrMalformedXML, err)
		}
		switch t := tok.(type) {
		case xml.CharData:
			if len(bytes.TrimSpace(t)) != 0 {
				return NewError(ErrMalformedXML, "")
			}
		case xml.Comment, xml.ProcInst:
		default:
			return NewError(ErrMalformedXML, "")
		}
	}
}

// URLEncode is the encoding-type=url escaping of names in list results: every
// byte but the RFC 3986 unreserved characters and '/' becomes %XX (upper-case
// hex), so a space is %20 and '+' is %2B and both url.QueryUnescape (COS Go SDK)
// and url.PathUnescape recover the name.
func URLEncode(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if !urlKeep(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s) + 2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if urlKeep(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

func urlKeep(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '~' || c == '/'
}

// ParseEncodingType validates the encoding-type query parameter: "" (absent) or
// "url"; anything else is InvalidArgument. It returns true for "url".
func ParseEncodingType(v string) (bool, error) {
	switch v {
	case "":
		return false, nil
	case "url":
		return true, nil
	}
	return false, NewError(ErrInvalidArgument, "Invalid Encoding Method specified in Request: encoding-type must be url.")
}

// ParseMaxKeys parses a max-keys / max-parts / max-uploads query value: absent
// means max; values above max are clamped to max (as S3 does); negative or
// non-numeric values are InvalidArgument.
func ParseMaxKeys(v string, max int) (int, error) {
	if v == "" {
		return max, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, NewError(ErrInvalidArgument, "The max-keys/max-parts/max-uploads value must be a non-negative integer.")
	}
	return min(n, max), nil
}

// ParsePartNumber parses a partNumber query value: an integer in
// 1..PartNumberMax, else InvalidArgument.
func ParsePartNumber(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > PartNumberMax {
		return 0, Errorf(ErrInvalidArgument, "Part number must be an integer between 1 and %d, inclusive.", PartNumberMax)
	}
	return n, nil
}
