package route

import (
	"errors"
	"net"
	"net/url"
	"strings"

	"github.com/coffer-io/coffer/gateway/internal/wire"
)

// Config tells Resolve which host names the endpoint answers to.
type Config struct {
	// Domain is the base domain of the endpoint, e.g. "myqcloud.com" or
	// "coffer.example:9000" (a port is ignored). Hosts "<bucket>.<Domain>" and
	// "<bucket>.cos.<Region>.<Domain>" are virtual-host addressed. Empty means
	// path-style only. Default: empty.
	Domain string
	// Region is the region label of "cos.<Region>.<Domain>", e.g.
	// "ap-guangzhou". Empty accepts any single label in that position.
	// Default: empty.
	Region string
}

// ErrConfig is wrapped by Validate errors.
var ErrConfig = errors.New("route: invalid config")

// EnsureDefaults normalises the config: lower-case, no port, no leading or
// trailing dots.
func (c *Config) EnsureDefaults() {
	c.Domain = strings.Trim(strings.ToLower(stripPort(c.Domain)), ".")
	c.Region = strings.ToLower(c.Region)
}

// Validate reports every problem of c at once.
func (c *Config) Validate() error {
	var errs []error
	if c.Domain != "" && !validHostname(c.Domain) {
		errs = append(errs, errors.New("Domain "+c.Domain+" is not a host name"))
	}
	if c.Region != "" && (strings.Contains(c.Region, ".") || !validHostname(c.Region)) {
		errs = append(errs, errors.New("Region "+c.Region+" is not a single DNS label"))
	}
	if len(errs) > 0 {
		return errors.Join(append([]error{ErrConfig}, errs...)...)
	}
	return nil
}

func validHostname(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// Style is how the bucket was addressed.
type Style uint8

// Addressing styles.
const (
	StyleService     Style = iota // the service itself: "/" on a service host (GET Service)
	StylePath                     // path-style on a service host: "/<bucket>/<key>"
	StyleVirtualHost              // bucket from the Host, key from the path
)

// Target is the bucket and key a request addresses. Bucket is empty for the
// service ("GET /" on the service host); Key is empty for bucket operations.
type Target struct {
	Bucket string
	Key    string
	Style  Style
}

// hostMax bounds the Host header we look at, in bytes.
const hostMax = 1024

// Resolve decides the bucket and key of a request from its Host header (port
// and case ignored) and its escaped path (r.URL.EscapedPath()).
//
// Hosts "<bucket>.<domain>" and "<bucket>.cos.<region>.<domain>" address
// bucket <bucket> (the first label); the path, percent-decoded ("%2F" is '/')
// and without its leading '/', is the key. Every other host — "<domain>",
// "cos.<region>.<domain>", "service.cos.<domain>", localhost, an IP literal, or
// a name outside the domain — is the service endpoint, where the path is
// "/<bucket>/<key>" (path-style, for S3 clients) and "/" is the service itself.
//
// Errors (*wire.Error): InvalidURI for a path without a leading '/' or with a
// malformed escape, or for a host under the domain of another shape or region, InvalidBucketName / BucketNameTooLong, and what
// wire.ValidKey returns for the key.
func Resolve(c Config, host, escapedPath string) (Target, error) {
	if !strings.HasPrefix(escapedPath, "/") {
		return Target{}, wire.NewError(wire.ErrInvalidURI, "")
	}
	bucket, ok, err := virtualBucket(c, host)
	if err != nil {
		return Target{}, err
	}
	if ok {
		if err := wire.ValidBucketName(bucket); err != nil {
			return Target{}, err
		}
		key, err := unescapeKey(escapedPath[1:])
		if err != nil {
			return Target{}, err
		}
		return Target{Bucket: bucket, Key: key, Style: StyleVirtualHost}, nil
	}
	rest := escapedPath[1:]
	if rest == "" {
		return Target{Style: StyleService}, nil
	}
	seg, keyPart, _ := strings.Cut(rest, "/")
	bucket, err = url.PathUnescape(seg)
	if err != nil {
		return Target{}, wire.NewError(wire.ErrInvalidURI, "")
	}
	if err := wire.ValidBucketName(bucket); err != nil {
		return Target{}, err
	}
	key, err := unescapeKey(keyPart)
	if err != nil {
		return Target{}, err
	}
	return Target{Bucket: bucket, Key: key, Style: StylePath}, nil
}

func unescapeKey(escaped string) (string, error) {
	if escaped == "" {
		return "", nil
	}
	key, err := url.PathUnescape(escaped)
	if err != nil {
		return "", wire.NewError(wire.ErrInvalidURI, "")
	}
	if err := wire.ValidKey(key); err != nil {
		return "", err
	}
	return key, nil
}

// virtualBucket returns the bucket label when host is a virtual host of c. A
// host "<bucket>.cos.<region>.<domain>" naming another region than c.Region is
// InvalidURI: answering it as the service would list buckets for a bucket
// request.
func virtualBucket(c Config, host string) (string, bool, error) {
	if c.Domain == "" || len(host) > hostMax {
		return "", false, nil
	}
	h := strings.TrimSuffix(strings.ToLower(stripPort(host)), ".")
	prefix, ok := strings.CutSuffix(h, "."+c.Domain)
	if !ok || prefix == "" {
		return "", false, nil
	}
	first, rest, hasRest := strings.Cut(prefix, ".")
	if !hasRest {
		return first, true, nil // <bucket>.<domain>
	}
	if first == "service" || first == "cos" {
		return "", false, nil // service.cos.<domain>, cos.<region>.<domain>
	}
	region, ok := strings.CutPrefix(rest, "cos.")
	if !ok || region == "" || strings.Contains(region, ".") {
		return "", false, wire.NewError(wire.ErrInvalidURI, "The host name is not an endpoint of this service.")
	}
	if c.Region != "" && region != c.Region {
		return "", false, wire.NewError(wire.ErrInvalidURI, "The host name names another region than this endpoint serves.")
	}
	return first, true, nil // <bucket>.cos.<region>.<domain>
}

// stripPort removes a ":port" suffix and IPv6 brackets.
func stripPort(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		return h
	}
	return strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
}
