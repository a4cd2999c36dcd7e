package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/coffer-io/coffer/gateway"
	"github.com/coffer-io/coffer/internal/pki"
	"github.com/coffer-io/coffer/sse"
)

const adminUsage = `usage: coffer admin <command> [flags]

commands:
  init-cluster   generate the secrets of a multi-node deployment into a directory
  kms            the built-in KMS: create, list, enable, disable, delete, rotate and
                 import customer master keys (kms help)
  keys           master-key status, rotation, re-wrap and root-key reseal (keys help)
`

// gossipKeyBytes is the memberlist encryption key size (AES-256).
const gossipKeyBytes = 32

// initClusterSettings are the settings of `coffer admin init-cluster`.
type initClusterSettings struct {
	Out    string
	Nodes  []string
	Hosts  []string
	Domain string
	Region string
}

var initClusterOptions = []option[initClusterSettings]{
	{"out", "output directory (must not hold a root key yet)", func(s *initClusterSettings) any { return &s.Out }},
	{"nodes", "comma-separated node names; each gets a certificate valid for its name", func(s *initClusterSettings) any { return &s.Nodes }},
	{"hosts", "extra host names or IPs every node certificate is valid for", func(s *initClusterSettings) any { return &s.Hosts }},
	{"domain", "gateway base domain added to every certificate (with its wildcards)", func(s *initClusterSettings) any { return &s.Domain }},
	{"region", "COS region label for the domain's cos.<region> names", func(s *initClusterSettings) any { return &s.Region }},
}

func (s initClusterSettings) Validate() error {
	var errs []error
	if s.Out == "" {
		errs = append(errs, errors.New("out: an output directory is required"))
	}
	if len(s.Nodes) == 0 {
		errs = append(errs, errors.New("nodes: at least one node name is required"))
	}
	seen := map[string]bool{}
	for _, n := range s.Nodes {
		if strings.ContainsAny(n, "/\\ =") || n == "." || n == ".." || n == "ca" {
			errs = append(errs, fmt.Errorf("nodes: %q is not a usable node name", n))
		}
		if seen[n] {
			errs = append(errs, fmt.Errorf("nodes: %q given twice", n))
		}
		seen[n] = true
	}
	if s.Domain != "" {
		errs = append(errs, checkDomain(s.Domain, s.Region)...)
	}
	return errors.Join(errs...)
}

// runAdmin dispatches `coffer admin ...`.
func runAdmin(args []string, lookup env, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, adminUsage)
		return errUsage
	}
	switch args[0] {
	case "kms":
		return runAdminKMS(args[1:], lookup, stdout, stderr)
	case "keys":
		return runAdminKeys(args[1:], lookup, stdout, stderr)
	case "init-cluster":
		s := initClusterSettings{Region: "local"}
		if err := load("admin init-cluster", initClusterOptions, &s, nil, args[1:], source{env: lookup}, stderr); err != nil {
			return err
		}
		if err := s.Validate(); err != nil {
			return err
		}
		return initCluster(s, time.Now(), cryptoRand, stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, adminUsage)
		return nil
	}
	fmt.Fprintf(stderr, "coffer admin: unknown command %q\n\n%s", args[0], adminUsage)
	return errUsage
}

// outFile is one file initCluster writes.
type outFile struct {
	name string
	data []byte
	mode os.FileMode
}

// initCluster writes, into s.Out: root.key, gossip.key and credentials (all 0600),
// tls/ca.pem and tls/ca-key.pem, and tls/<node>.pem + tls/<node>-key.pem per node.
func initCluster(s initClusterSettings, now time.Time, rnd io.Reader, stdout io.Writer) error {
	rootPath := filepath.Join(s.Out, "root.key")
	if _, err := os.Stat(rootPath); err == nil {
		return fmt.Errorf("%s exists: refusing to overwrite a cluster's secrets", rootPath)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	tlsDir := filepath.Join(s.Out, "tls")
	if err := os.MkdirAll(tlsDir, 0o700); err != nil {
		return err
	}
	rootKey, err := sse.GenerateDEK(rnd)
	if err != nil {
		return err
	}
	gossip := make([]byte, gossipKeyBytes)
	if _, err := io.ReadFull(rnd, gossip); err != nil {
		return err
	}
	creds, err := newCredentials(rnd)
	if err != nil {
		return err
	}
	ca, err := pki.NewCA(rnd, "Coffer cluster CA", now, pki.CAValidity)
	if err != nil {
		return err
	}
	caKey, err := ca.KeyPEM()
	if err != nil {
		return err
	}
	files := []outFile{
		{"gossip.key", gossip, secretFileMode},
		{"credentials", creds.marshal(), secretFileMode},
		{filepath.Join("tls", "ca-key.pem"), caKey, secretFileMode},
		{filepath.Join("tls", "ca.pem"), ca.CertPEM(), 0o644},
	}
	for _, n := range s.Nodes {
		hosts := append([]string{n, "localhost", "127.0.0.1", "::1"}, s.Hosts...)
		if s.Domain != "" {
			hosts = certHosts(s.Domain, s.Region, hosts...)
		}
		cert, err := ca.Issue(rnd, n, hosts, now, pki.CertValidity)
		if err != nil {
			return fmt.Errorf("certificate of %s: %w", n, err)
		}
		certPEM, keyPEM, err := pki.CertificatePEM(cert)
		if err != nil {
			return err
		}
		files = append(files,
			outFile{filepath.Join("tls", n+"-key.pem"), keyPEM, secretFileMode},
			outFile{filepath.Join("tls", n+".pem"), certPEM, 0o644})
	}
	for _, f := range files {
		if err := pki.WriteFile(filepath.Join(s.Out, f.name), f.data, f.mode); err != nil {
			return err
		}
	}
	// The root key last: its presence marks a complete directory.
	if err := pki.WriteFile(rootPath, rootKey[:], secretFileMode); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote cluster secrets for %d node(s) to %s (root access key id %s)\n", len(s.Nodes), s.Out, creds.AccessKeyID)
	return nil
}

// newAdminClient builds the admin API client of the `coffer admin` commands:
// credentials from the environment (COFFER_ROOT_ACCESS_KEY/SECRET) or the credentials
// file, TLS roots from the CA file when the endpoint is HTTPS.
func newAdminClient(endpoint, credentialsFile, caFile string, timeout time.Duration, lookup env) (*gateway.AdminClient, error) {
	creds, err := loadCredentials(credentialsFile, lookup)
	if err != nil {
		return nil, err
	}
	if creds.AccessKeyID == "" {
		return nil, fmt.Errorf("credentials: set credentials-file or %s and %s", envRootAccessKey, envRootSecretKey)
	}
	hc := &http.Client{Timeout: timeout}
	if caFile != "" {
		pemBytes, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pemBytes) {
			return nil, fmt.Errorf("ca: %s holds no PEM certificate", caFile)
		}
		hc.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	}
	return &gateway.AdminClient{Endpoint: endpoint, AccessKey: creds.AccessKeyID, SecretKey: creds.SecretKey, HTTP: hc}, nil
}
