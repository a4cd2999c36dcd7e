package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// cosAuth is a parsed q-sign credential (docs/cos-api.md section 2.1).
type cosAuth struct {
	ak         string
	signTime   string // "start;end" as sent
	keyTime    string
	headerList []string // lower-cased, URL-encoded names as sent
	paramList  []string
	signature  [sha1.Size]byte
	signStart  int64
	signEnd    int64
	keyStart   int64
	keyEnd     int64
}

// parseCOSAuthorization parses the header form "q-sign-algorithm=sha1&q-ak=...".
// Values are taken verbatim (the header form is not URL-encoded).
func parseCOSAuthorization(s string) (cosAuth, error) {
	if len(s) > AuthorizationBytesMax {
		return cosAuth{}, errMalformedCOS("The Authorization header is too long.")
	}
	var fields [7]string
	var seen [7]bool
	for seg := range strings.SplitSeq(s, "&") {
		name, value, ok := strings.Cut(seg, "=")
		if !ok {
			return cosAuth{}, errMalformedCOS("Authorization field without '=': the header is malformed.")
		}
		i := slices.Index(cosFieldNames[:], name)
		if i < 0 {
			return cosAuth{}, errMalformedCOS("Unknown field in the Authorization header.")
		}
		if seen[i] {
			return cosAuth{}, errMalformedCOS("Duplicate field in the Authorization header.")
		}
		seen[i], fields[i] = true, value
	}
	return newCOSAuth(fields, seen)
}

var cosFieldNames = [7]string{"q-sign-algorithm", "q-ak", "q-sign-time", "q-key-time", "q-header-list", "q-url-param-list", "q-signature"}

// cosAuthFromQuery collects the q-* parameters of a presigned URL.
func cosAuthFromQuery(q Query) (cosAuth, error) {
	var fields [7]string
	var seen [7]bool
	for i, name := range cosFieldNames {
		switch q.Count(name) {
		case 0:
		case 1:
			seen[i], fields[i] = true, q.Get(name)
		default:
			return cosAuth{}, errMalformedCOS("Duplicate q-sign parameter in the query.")
		}
	}
	return newCOSAuth(fields, seen)
}

func newCOSAuth(f [7]string, seen [7]bool) (cosAuth, error) {
	for _, i := range []int{0, 1, 2, 3, 6} {
		if !seen[i] || f[i] == "" {
			return cosAuth{}, errMalformedCOS("Missing " + cosFieldNames[i] + " in the request signature.")
		}
	}
	if !strings.EqualFold(f[0], "sha1") {
		return cosAuth{}, newErr(ErrUnsupported, "InvalidArgument", http.StatusBadRequest, "q-sign-algorithm must be sha1.")
	}
	a := cosAuth{ak: f[1], signTime: f[2], keyTime: f[3]}
	var ok bool
	if a.signStart, a.signEnd, ok = parseCOSTime(f[2]); !ok {
		return cosAuth{}, errMalformedCOS("q-sign-time is malformed.")
	}
	if a.keyStart, a.keyEnd, ok = parseCOSTime(f[3]); !ok {
		return cosAuth{}, errMalformedCOS("q-key-time is malformed.")
	}
	var err error
	if a.headerList, err = splitSignedNames(f[4]); err != nil {
		return cosAuth{}, errMalformedCOS("q-header-list is malformed.")
	}
	if a.paramList, err = splitSignedNames(f[5]); err != nil {
		return cosAuth{}, errMalformedCOS("q-url-param-list is malformed.")
	}
	if len(f[6]) != 2*sha1.Size {
		return cosAuth{}, errMalformedCOS("q-signature is malformed.")
	}
	if _, err := hex.Decode(a.signature[:], []byte(f[6])); err != nil {
		return cosAuth{}, errMalformedCOS("q-signature is malformed.")
	}
	return a, nil
}

// parseCOSTime parses "start;end" Unix seconds with start <= end.
func parseCOSTime(s string) (start, end int64, ok bool) {
	a, b, found := strings.Cut(s, ";")
	if !found {
		return 0, 0, false
	}
	start, err1 := strconv.ParseInt(a, 10, 64)
	end, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil || start < 0 || end < start || a[0] == '+' || b[0] == '+' {
		return 0, 0, false
	}
	return start, end, true
}

var errTooManyNames = errMalformedCOS("too many signed names")

// splitSignedNames splits a ';'-separated list, dropping empty entries, and
// lower-cases each name (names are compared in their lower-cased encoded form).
func splitSignedNames(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	if strings.Count(s, ";") >= SignedNamesMax {
		return nil, errTooManyNames
	}
	var out []string
	for n := range strings.SplitSeq(s, ";") {
		if n != "" {
			out = append(out, strings.ToLower(n))
		}
	}
	return out, nil
}

// verifyCOS checks a q-sign request. authz is the header (or merged sign=) value,
// or "" to read the seven q-* query parameters.
func (v *Verifier) verifyCOS(ctx context.Context, r *http.Request, q Query, authz string, m Method) (Result, error) {
	var a cosAuth
	var err error
	if authz != "" {
		a, err = parseCOSAuthorization(authz)
	} else {
		a, err = cosAuthFromQuery(q)
	}
	if err != nil {
		return Result{}, err
	}
	now := v.cfg.Now().Unix()
	skew := int64(v.cfg.ClockSkewMax / time.Second)
	if a.signStart > now+skew || a.keyStart > now+skew {
		return Result{}, errSkewed()
	}
	if now > a.signEnd || now > a.keyEnd {
		return Result{}, errExpired()
	}
	secret, err := v.lookup(ctx, a.ak)
	if err != nil {
		return Result{}, err
	}
	httpString := cosHTTPString(r, q, a.headerList, a.paramList)
	signKey := cosSignKey(secret, a.keyTime)
	if !hmac.Equal(cosSignature(signKey, a.signTime, httpString), a.signature[:]) &&
		(a.keyTime == a.signTime || !hmac.Equal(cosSignature(signKey, a.keyTime, httpString), a.signature[:])) {
		return Result{}, errSignature()
	}
	return Result{Identity: Identity{AccessKeyID: a.ak, Method: m}, Body: r.Body, DecodedLength: r.ContentLength}, nil
}

// cosSignKey is hex(HMAC-SHA1(secret, keyTime)), a lower-case hex string used
// as the next HMAC key (docs/cos-api.md 2.2 step 1).
func cosSignKey(secret, keyTime string) []byte {
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write([]byte(keyTime))
	var sum [sha1.Size]byte
	return hex.AppendEncode(make([]byte, 0, 2*sha1.Size), mac.Sum(sum[:0]))
}

// cosSignature is HMAC-SHA1(signKey, "sha1\n"+time+"\n"+hex(SHA1(httpString))+"\n").
func cosSignature(signKey []byte, t string, httpString []byte) []byte {
	h := sha1.Sum(httpString)
	sts := make([]byte, 0, 5+len(t)+1+2*sha1.Size+1)
	sts = append(sts, "sha1\n"...)
	sts = append(sts, t...)
	sts = append(sts, '\n')
	sts = hex.AppendEncode(sts, h[:])
	sts = append(sts, '\n')
	mac := hmac.New(sha1.New, signKey)
	mac.Write(sts)
	return mac.Sum(nil)
}

// cosHTTPString builds lower(method)\nURI\nparams\nheaders\n from the lists the
// client signed (docs/cos-api.md 2.2 steps 2-4).
func cosHTTPString(r *http.Request, q Query, headerList, paramList []string) []byte {
	b := make([]byte, 0, 256)
	b = append(b, strings.ToLower(r.Method)...)
	b = append(b, '\n')
	path := r.URL.Path
	if path == "" {
		path = "/"
	}
	b = append(b, path...)
	b = append(b, '\n')

	var kv []Pair
	for _, p := range q {
		kv = append(kv, Pair{Name: strings.ToLower(uriEncode(p.Name, false)), Value: p.Value})
	}
	b = appendCOSList(b, paramList, kv)
	b = append(b, '\n')

	kv = kv[:0]
	for name, vals := range r.Header {
		ln := strings.ToLower(uriEncode(name, false))
		if !slices.Contains(headerList, ln) {
			continue
		}
		for _, val := range vals {
			kv = append(kv, Pair{Name: ln, Value: val})
		}
	}
	for _, n := range headerList {
		switch n {
		case "host":
			kv = slices.DeleteFunc(kv, func(p Pair) bool { return p.Name == "host" })
			kv = append(kv, Pair{Name: n, Value: r.Host})
		case "transfer-encoding":
			if len(r.TransferEncoding) > 0 && !slices.ContainsFunc(kv, func(p Pair) bool { return p.Name == n }) {
				kv = append(kv, Pair{Name: n, Value: strings.Join(r.TransferEncoding, ",")})
			}
		case "content-length":
			if r.ContentLength >= 0 && !slices.ContainsFunc(kv, func(p Pair) bool { return p.Name == n }) {
				kv = append(kv, Pair{Name: n, Value: strconv.FormatInt(r.ContentLength, 10)})
			}
		}
	}
	b = appendCOSList(b, headerList, kv)
	b = append(b, '\n')
	return b
}

// appendCOSList appends the "name=value&..." form of the listed names: names
// sorted, each name's values sorted, values URL-encoded; a listed name with no
// pair signs an empty value.
func appendCOSList(b []byte, list []string, kv []Pair) []byte {
	if len(list) == 0 {
		return b
	}
	names := slices.Clone(list)
	slices.Sort(names)
	names = slices.Compact(names)
	slices.SortFunc(kv, func(x, y Pair) int {
		if c := strings.Compare(x.Name, y.Name); c != 0 {
			return c
		}
		return strings.Compare(x.Value, y.Value)
	})
	first := true
	i := 0
	for _, n := range names {
		for i < len(kv) && kv[i].Name < n {
			i++
		}
		found := false
		for ; i < len(kv) && kv[i].Name == n; i++ {
			found = true
			if !first {
				b = append(b, '&')
			}
			first = false
			b = append(b, n...)
			b = append(b, '=')
			b = appendURIEncode(b, kv[i].Value, false)
		}
		if !found {
			if !first {
				b = append(b, '&')
			}
			first = false
			b = append(b, n...)
			b = append(b, '=')
		}
	}
	return b
}
