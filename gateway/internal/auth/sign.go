package auth

import (
	"encoding/hex"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// SignCOS signs r with COS q-sign in the Authorization header (docs/cos-api.md 2.2),
// valid from start for validity. It signs the host, the content headers that are set
// and every query parameter; the body is not covered (as with the COS SDKs). It is
// the client side of the admin API and of tools; the gateway itself never signs.
// It fails only on a malformed query string.
func SignCOS(r *http.Request, accessKeyID, secret string, start time.Time, validity time.Duration) error {
	if r.Host == "" {
		r.Host = r.URL.Host
	}
	q, err := ParseQuery(r.URL.RawQuery)
	if err != nil {
		return err
	}
	var params []string
	for _, p := range q {
		params = append(params, strings.ToLower(uriEncode(p.Name, false)))
	}
	slices.Sort(params)
	params = slices.Compact(params)
	headers := []string{"host"}
	for _, h := range []string{"content-type", "content-md5"} {
		if r.Header.Get(h) != "" {
			headers = append(headers, h)
		}
	}
	slices.Sort(headers)
	t := strconv.FormatInt(start.Unix(), 10) + ";" + strconv.FormatInt(start.Add(validity).Unix(), 10)
	sig := cosSignature(cosSignKey(secret, t), t, cosHTTPString(r, q, headers, params))
	r.Header.Set("Authorization", "q-sign-algorithm=sha1&q-ak="+accessKeyID+
		"&q-sign-time="+t+"&q-key-time="+t+
		"&q-header-list="+strings.Join(headers, ";")+
		"&q-url-param-list="+strings.Join(params, ";")+
		"&q-signature="+hex.EncodeToString(sig))
	return nil
}
