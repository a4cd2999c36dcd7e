package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/coffer-io/coffer/internal/pki"
	"github.com/coffer-io/coffer/sse"
)

// Secret material limits and names.
const (
	// AccessKeyIDPrefix starts every generated access key id (COS style).
	accessKeyIDPrefix = "AKID"
	// accessKeyRandomChars is how many random alphanumerics follow the prefix.
	accessKeyRandomChars = 32
	// secretKeyChars is the length of a generated secret key.
	secretKeyChars = 40
	// secretFileBytesMax bounds any secret file we read (root key, credentials).
	secretFileBytesMax = 64 << 10
	// certRenewBefore: a node certificate expiring sooner than this is reissued by dev.
	certRenewBefore = 30 * 24 * time.Hour
	// secretFileMode is the mode of every file holding a secret.
	secretFileMode = 0o600
)

// Environment variables holding secrets. They are never flags: command lines are
// visible to every user of the machine.
const (
	envRootAccessKey = "COFFER_ROOT_ACCESS_KEY"
	envRootSecretKey = "COFFER_ROOT_SECRET_KEY"
	envRootKey       = "COFFER_ROOT_KEY" // hex
)

var (
	// errRootKey: a root key file or value that is not 32 bytes (raw) or 64 hex digits.
	errRootKey = errors.New("root key: want 32 raw bytes or 64 hex digits")
	// errCredentials: a credentials file without both keys.
	errCredentials = errors.New("credentials: want aws_access_key_id and aws_secret_access_key")
)

const alphanumerics = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// randomAlnum returns n characters drawn uniformly from alphanumerics.
func randomAlnum(rnd io.Reader, n int) (string, error) {
	const limit = 256 - 256%len(alphanumerics) // reject bytes ≥ limit: no modulo bias
	out := make([]byte, 0, n)
	buf := make([]byte, n+n/2)
	for len(out) < n {
		if _, err := io.ReadFull(rnd, buf); err != nil {
			return "", fmt.Errorf("randomness: %w", err)
		}
		for _, b := range buf {
			if int(b) < limit && len(out) < n {
				out = append(out, alphanumerics[int(b)%len(alphanumerics)])
			}
		}
	}
	return string(out), nil
}

// credentials are the root user's access key pair. String never shows the secret.
type credentials struct {
	AccessKeyID string
	SecretKey   string
}

func (c credentials) String() string { return "credentials{" + c.AccessKeyID + ", secret redacted}" }

// GoString keeps %#v from printing the secret too.
func (c credentials) GoString() string { return c.String() }

func newCredentials(rnd io.Reader) (credentials, error) {
	id, err := randomAlnum(rnd, accessKeyRandomChars)
	if err != nil {
		return credentials{}, err
	}
	secret, err := randomAlnum(rnd, secretKeyChars)
	if err != nil {
		return credentials{}, err
	}
	return credentials{AccessKeyID: accessKeyIDPrefix + id, SecretKey: secret}, nil
}

// marshal writes the AWS shared-credentials format, so awscli and the SDKs can use
// the file directly (AWS_SHARED_CREDENTIALS_FILE).
func (c credentials) marshal() []byte {
	return fmt.Appendf(nil, "# Coffer root credentials. Keep this file secret.\n[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n", c.AccessKeyID, c.SecretKey)
}

// parseCredentials reads the first pair of aws_access_key_id/aws_secret_access_key
// in an INI-style credentials file. Comments (# ;) and section headers are skipped.
// Errors never contain the file's content.
func parseCredentials(data []byte) (credentials, error) {
	var c credentials
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 1024), secretFileBytesMax)
	for line := 1; sc.Scan(); line++ {
		l := strings.TrimSpace(sc.Text())
		if l == "" || l[0] == '#' || l[0] == ';' || l[0] == '[' {
			continue
		}
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			return credentials{}, fmt.Errorf("%w: line %d is not key = value", errCredentials, line)
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch strings.ToLower(k) {
		case "aws_access_key_id":
			if c.AccessKeyID == "" {
				c.AccessKeyID = v
			}
		case "aws_secret_access_key":
			if c.SecretKey == "" {
				c.SecretKey = v
			}
		}
	}
	if err := sc.Err(); err != nil {
		return credentials{}, fmt.Errorf("%w: %v", errCredentials, err)
	}
	if c.AccessKeyID == "" || c.SecretKey == "" {
		return credentials{}, errCredentials
	}
	if strings.ContainsFunc(c.AccessKeyID+c.SecretKey, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return credentials{}, fmt.Errorf("%w: keys must not contain spaces or control characters", errCredentials)
	}
	return c, nil
}

// parseRootKey accepts 32 raw bytes or 64 hex digits (surrounding white space ignored
// for the hex form).
func parseRootKey(data []byte) (sse.Key, error) {
	if len(data) == sse.KeyBytes {
		return sse.KeyFromBytes(data)
	}
	t := bytes.TrimSpace(data)
	if len(t) != 2*sse.KeyBytes {
		return sse.Key{}, errRootKey
	}
	var raw [sse.KeyBytes]byte
	if _, err := hex.Decode(raw[:], t); err != nil {
		return sse.Key{}, errRootKey
	}
	return sse.KeyFromBytes(raw[:])
}

// readSecretFile reads a small file holding a secret.
func readSecretFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, secretFileBytesMax+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(data) > secretFileBytesMax {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, secretFileBytesMax)
	}
	return data, nil
}

// loadRootKey reads the root key: env COFFER_ROOT_KEY (hex) wins over the file.
func loadRootKey(path string, env func(string) (string, bool)) (sse.Key, error) {
	if v, ok := env(envRootKey); ok && v != "" {
		k, err := parseRootKey([]byte(v))
		if err != nil {
			return sse.Key{}, fmt.Errorf("env %s: %w", envRootKey, err)
		}
		return k, nil
	}
	if path == "" {
		return sse.Key{}, fmt.Errorf("root key: set root-key-file or %s", envRootKey)
	}
	data, err := readSecretFile(path)
	if err != nil {
		return sse.Key{}, fmt.Errorf("root key: %w", err)
	}
	k, err := parseRootKey(data)
	if err != nil {
		return sse.Key{}, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// envCredentials returns the root credentials from the environment, if both are set.
func envCredentials(env func(string) (string, bool)) (credentials, bool, error) {
	id, okID := env(envRootAccessKey)
	secret, okSecret := env(envRootSecretKey)
	if !okID && !okSecret {
		return credentials{}, false, nil
	}
	if id == "" || secret == "" {
		return credentials{}, false, fmt.Errorf("set both %s and %s, or neither", envRootAccessKey, envRootSecretKey)
	}
	return credentials{AccessKeyID: id, SecretKey: secret}, true, nil
}

// loadCredentials returns the root credentials: env wins, then the file; a missing
// file without env is not an error (no root user is bootstrapped).
func loadCredentials(path string, env func(string) (string, bool)) (credentials, error) {
	if c, ok, err := envCredentials(env); ok || err != nil {
		return c, err
	}
	if path == "" {
		return credentials{}, nil
	}
	data, err := readSecretFile(path)
	if err != nil {
		return credentials{}, fmt.Errorf("credentials: %w", err)
	}
	c, err := parseCredentials(data)
	if err != nil {
		return credentials{}, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// devMaterial is what `coffer dev` keeps in its data directory.
type devMaterial struct {
	RootKey     sse.Key
	Credentials credentials
	// CredentialsFromEnv is true when the environment supplied the credentials (they
	// are then not written to the data directory).
	CredentialsFromEnv bool
	CAPath             string
	CredentialsPath    string
	CA                 *pki.CA
	// Cert serves the public HTTPS endpoint and both ends of internal mutual TLS.
	Cert tls.Certificate
}

// devPaths are the files of a dev data directory.
type devPaths struct {
	RootKey, Credentials, CA, CAKey, Cert, CertKey string
}

func newDevPaths(dir string) devPaths {
	t := filepath.Join(dir, "tls")
	return devPaths{
		RootKey:     filepath.Join(dir, "root.key"),
		Credentials: filepath.Join(dir, "credentials"),
		CA:          filepath.Join(t, "ca.pem"),
		CAKey:       filepath.Join(t, "ca-key.pem"),
		Cert:        filepath.Join(t, "node.pem"),
		CertKey:     filepath.Join(t, "node-key.pem"),
	}
}

// certHosts are the names the dev (and gateway) certificate must cover.
func certHosts(domain, region string, extra ...string) []string {
	hosts := []string{"127.0.0.1", "::1", "localhost", domain, "*." + domain,
		"cos." + region + "." + domain, "*.cos." + region + "." + domain}
	hosts = append(hosts, extra...)
	seen := map[string]bool{}
	out := hosts[:0]
	for _, h := range hosts {
		if h != "" && !seen[h] {
			seen[h] = true
			out = append(out, h)
		}
	}
	return out
}

// ensureDevMaterial loads the dev data directory's secrets and TLS material, creating
// what is missing: the root key, the cluster CA, a node certificate covering the
// domain's names (reissued when the names changed or it expires soon) and the root
// credentials (unless the environment sets them).
func ensureDevMaterial(dir, domain, region string, now time.Time, rnd io.Reader, env func(string) (string, bool)) (devMaterial, error) {
	p := newDevPaths(dir)
	if err := os.MkdirAll(filepath.Dir(p.CA), 0o700); err != nil {
		return devMaterial{}, fmt.Errorf("data dir: %w", err)
	}
	m := devMaterial{CAPath: p.CA, CredentialsPath: p.Credentials}

	// Root key.
	data, err := readSecretFile(p.RootKey)
	switch {
	case err == nil:
		if m.RootKey, err = parseRootKey(data); err != nil {
			return devMaterial{}, fmt.Errorf("%s: %w", p.RootKey, err)
		}
	case errors.Is(err, fs.ErrNotExist):
		if m.RootKey, err = sse.GenerateDEK(rnd); err != nil {
			return devMaterial{}, fmt.Errorf("root key: %w", err)
		}
		if err := pki.WriteFile(p.RootKey, m.RootKey[:], secretFileMode); err != nil {
			return devMaterial{}, fmt.Errorf("root key: %w", err)
		}
	default:
		return devMaterial{}, fmt.Errorf("root key: %w", err)
	}

	// Cluster CA.
	caPEM, errCert := os.ReadFile(p.CA)
	caKeyPEM, errKey := readSecretFile(p.CAKey)
	switch {
	case errCert == nil && errKey == nil:
		if m.CA, err = pki.ParseCA(caPEM, caKeyPEM); err != nil {
			return devMaterial{}, fmt.Errorf("%s: %w", p.CA, err)
		}
	case errors.Is(errCert, fs.ErrNotExist) && errors.Is(errKey, fs.ErrNotExist):
		if m.CA, err = pki.NewCA(rnd, "Coffer dev cluster CA", now, pki.CAValidity); err != nil {
			return devMaterial{}, err
		}
		keyPEM, err := m.CA.KeyPEM()
		if err != nil {
			return devMaterial{}, err
		}
		if err := pki.WriteFile(p.CAKey, keyPEM, secretFileMode); err != nil {
			return devMaterial{}, err
		}
		if err := pki.WriteFile(p.CA, m.CA.CertPEM(), 0o644); err != nil {
			return devMaterial{}, err
		}
	default:
		return devMaterial{}, fmt.Errorf("cluster CA: need both %s and %s: %w", p.CA, p.CAKey, errors.Join(errCert, errKey))
	}

	// Node certificate.
	hosts := certHosts(domain, region)
	cert, err := tls.LoadX509KeyPair(p.Cert, p.CertKey)
	if err != nil || !certCovers(cert, m.CA, hosts, now) {
		if cert, err = m.CA.Issue(rnd, "coffer dev node", hosts, now, pki.CertValidity); err != nil {
			return devMaterial{}, err
		}
		certPEM, keyPEM, err := pki.CertificatePEM(cert)
		if err != nil {
			return devMaterial{}, err
		}
		if err := pki.WriteFile(p.CertKey, keyPEM, secretFileMode); err != nil {
			return devMaterial{}, err
		}
		if err := pki.WriteFile(p.Cert, certPEM, 0o644); err != nil {
			return devMaterial{}, err
		}
	}
	m.Cert = cert

	// Root credentials.
	c, fromEnv, err := envCredentials(env)
	if err != nil {
		return devMaterial{}, err
	}
	if fromEnv {
		m.Credentials, m.CredentialsFromEnv = c, true
		return m, nil
	}
	data, err = readSecretFile(p.Credentials)
	switch {
	case err == nil:
		if m.Credentials, err = parseCredentials(data); err != nil {
			return devMaterial{}, fmt.Errorf("%s: %w", p.Credentials, err)
		}
	case errors.Is(err, fs.ErrNotExist):
		if m.Credentials, err = newCredentials(rnd); err != nil {
			return devMaterial{}, err
		}
		if err := pki.WriteFile(p.Credentials, m.Credentials.marshal(), secretFileMode); err != nil {
			return devMaterial{}, err
		}
	default:
		return devMaterial{}, fmt.Errorf("credentials: %w", err)
	}
	return m, nil
}

// certCovers reports whether cert was signed by ca, is valid for every host and does
// not expire within certRenewBefore.
func certCovers(cert tls.Certificate, ca *pki.CA, hosts []string, now time.Time) bool {
	if len(cert.Certificate) == 0 {
		return false
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return false
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: ca.Pool(), CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		return false
	}
	if leaf.NotAfter.Sub(now) < certRenewBefore {
		return false
	}
	for _, h := range hosts {
		if strings.HasPrefix(h, "*.") {
			h = "x" + h[1:] // a name the wildcard must match
		}
		if leaf.VerifyHostname(h) != nil {
			return false
		}
	}
	return true
}

// nodeTLS is a process's loaded mutual-TLS material for `coffer server`.
type nodeTLS struct {
	Pool *x509.CertPool
	Cert tls.Certificate
}

func loadNodeTLS(f tlsFiles) (nodeTLS, error) {
	pool, err := pki.LoadPool(f.CA)
	if err != nil {
		return nodeTLS{}, fmt.Errorf("tls-ca: %w", err)
	}
	cert, err := tls.LoadX509KeyPair(f.Cert, f.Key)
	if err != nil {
		return nodeTLS{}, fmt.Errorf("tls-cert/tls-key: %w", err)
	}
	return nodeTLS{Pool: pool, Cert: cert}, nil
}

func (n nodeTLS) server() *tls.Config { return pki.MutualServerConfig(n.Pool, n.Cert) }
func (n nodeTLS) client() *tls.Config { return pki.MutualClientConfig(n.Pool, n.Cert) }
