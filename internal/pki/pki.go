// Package pki makes and loads the cluster's TLS material: a cluster certificate
// authority (ECDSA P-256), certificates it issues for servers and clients, and the
// mutual-TLS configurations built from them.
//
// Invariants: private keys are never formatted into errors or logs; every certificate
// this package issues is signed by the given CA and carries both the server and the
// client extended key usage, so one node certificate serves both ends of internal
// mutual TLS. Time and randomness are parameters, not globals, so tests are
// deterministic in what they check.
//
// Files on disk are PEM: "CERTIFICATE" blocks for certificates and "PRIVATE KEY"
// (PKCS #8) for keys.
package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Sentinel errors.
var (
	// ErrNoPEM is returned when a file or buffer holds no PEM block of the wanted type.
	ErrNoPEM = errors.New("pki: no PEM block of the expected type")
	// ErrNotCA is returned when a certificate loaded as a CA is not one.
	ErrNotCA = errors.New("pki: certificate is not a CA")
)

// Default validity periods.
const (
	// CAValidity is how long a generated cluster CA is valid.
	CAValidity = 10 * 365 * 24 * time.Hour
	// CertValidity is how long an issued node certificate is valid.
	CertValidity = 2 * 365 * 24 * time.Hour
	// clockSkewAllowance backdates NotBefore so that peers with slightly slow clocks
	// accept a fresh certificate.
	clockSkewAllowance = 5 * time.Minute
)

// CA is a certificate authority: its certificate and private key.
type CA struct {
	Cert *x509.Certificate
	Key  crypto.Signer
}

// NewCA generates a self-signed CA valid from now for validity.
func NewCA(rnd io.Reader, commonName string, now time.Time, validity time.Duration) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rnd)
	if err != nil {
		return nil, fmt.Errorf("pki: generate CA key: %w", err)
	}
	serial, err := serialNumber(rnd)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: commonName, Organization: []string{"Coffer"}},
		NotBefore:             now.Add(-clockSkewAllowance),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rnd, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("pki: create CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("pki: parse CA certificate: %w", err)
	}
	return &CA{Cert: cert, Key: key}, nil
}

// Issue creates a key pair and a certificate for name, valid for the given DNS names
// and IP addresses (hosts entries that parse as IPs become IP SANs). The result is
// usable as both a TLS server and a TLS client certificate.
func (ca *CA) Issue(rnd io.Reader, name string, hosts []string, now time.Time, validity time.Duration) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rnd)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("pki: generate key for %q: %w", name, err)
	}
	serial, err := serialNumber(rnd)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: name, Organization: []string{"Coffer"}},
		NotBefore:    now.Add(-clockSkewAllowance),
		NotAfter:     now.Add(validity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if h != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rnd, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("pki: create certificate for %q: %w", name, err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("pki: parse certificate for %q: %w", name, err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// Pool returns a certificate pool holding only this CA.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// CertPEM returns the CA certificate in PEM form.
func (ca *CA) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw})
}

// KeyPEM returns the CA private key as PKCS #8 PEM. Handle the result as a secret.
func (ca *CA) KeyPEM() ([]byte, error) {
	return keyPEM(ca.Key)
}

// ServerConfig returns a TLS configuration for a server that presents cert and
// requires clients to present a certificate signed by this CA (mutual TLS).
func (ca *CA) ServerConfig(cert tls.Certificate) *tls.Config {
	return MutualServerConfig(ca.Pool(), cert)
}

// ClientConfig returns a TLS configuration for a client that presents cert and trusts
// only servers whose certificate this CA signed.
func (ca *CA) ClientConfig(cert tls.Certificate) *tls.Config {
	return MutualClientConfig(ca.Pool(), cert)
}

// MutualServerConfig is ServerConfig for a CA known only by its pool.
func MutualServerConfig(roots *x509.CertPool, cert tls.Certificate) *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
		ClientCAs:    roots,
		ClientAuth:   tls.RequireAndVerifyClientCert,
	}
}

// MutualClientConfig is ClientConfig for a CA known only by its pool.
func MutualClientConfig(roots *x509.CertPool, cert tls.Certificate) *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
		RootCAs:      roots,
	}
}

// CertificatePEM encodes a TLS certificate's chain and key as two PEM buffers.
// Handle keyPEM as a secret.
func CertificatePEM(c tls.Certificate) (certPEM, keyPEMBytes []byte, err error) {
	for _, der := range c.Certificate {
		certPEM = append(certPEM, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	}
	signer, ok := c.PrivateKey.(crypto.Signer)
	if !ok {
		return nil, nil, errors.New("pki: certificate has no usable private key")
	}
	keyPEMBytes, err = keyPEM(signer)
	return certPEM, keyPEMBytes, err
}

// ParseCA parses a CA from its PEM certificate and PEM PKCS #8 key.
func ParseCA(certPEM, keyPEMBytes []byte) (*CA, error) {
	cert, err := ParseCertificate(certPEM)
	if err != nil {
		return nil, err
	}
	if !cert.IsCA {
		return nil, ErrNotCA
	}
	key, err := parseKey(keyPEMBytes)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, Key: key}, nil
}

// ParseCertificate parses the first CERTIFICATE block of a PEM buffer.
func ParseCertificate(certPEM []byte) (*x509.Certificate, error) {
	for rest := certPEM; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return nil, ErrNoPEM
		}
		if b.Type == "CERTIFICATE" {
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("pki: parse certificate: %w", err)
			}
			return c, nil
		}
	}
}

// LoadPool reads a PEM file of one or more CA certificates into a pool.
func LoadPool(path string) (*x509.CertPool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("pki: %w", err)
	}
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("pki: %s: %w", filepath.Base(path), ErrNoPEM)
	}
	return p, nil
}

// WriteFile writes data to path with the given mode through a temporary file, fsync
// and rename, so a crash leaves either the old file or the whole new one.
func WriteFile(path string, data []byte, mode os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after a successful rename
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return fmt.Errorf("pki: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("pki: write %s: %w", filepath.Base(path), err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("pki: sync %s: %w", filepath.Base(path), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("pki: sync dir: %w", err)
	}
	return nil
}

func keyPEM(k crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, fmt.Errorf("pki: marshal private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

func parseKey(keyPEMBytes []byte) (crypto.Signer, error) {
	for rest := keyPEMBytes; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return nil, ErrNoPEM
		}
		if b.Type != "PRIVATE KEY" {
			continue
		}
		k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
		if err != nil {
			// The parser's error never contains key bytes.
			return nil, fmt.Errorf("pki: parse private key: %w", err)
		}
		s, ok := k.(crypto.Signer)
		if !ok {
			return nil, errors.New("pki: private key cannot sign")
		}
		return s, nil
	}
}

func serialNumber(rnd io.Reader) (*big.Int, error) {
	max := new(big.Int).Lsh(big.NewInt(1), 127)
	n, err := rand.Int(rnd, max)
	if err != nil {
		return nil, fmt.Errorf("pki: serial number: %w", err)
	}
	return n.Add(n, big.NewInt(1)), nil
}
