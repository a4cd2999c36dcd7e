package pki

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func newTestCA(t *testing.T, name string) *CA {
	t.Helper()
	ca, err := NewCA(rand.Reader, name, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// handshake runs one mutual-TLS handshake over a loopback TCP pair and returns the
// client's and the server's errors.
func handshake(t *testing.T, server, client *tls.Config) (clientErr, serverErr error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		tc := tls.Server(c, server)
		err = tc.Handshake()
		if err == nil {
			// TLS 1.3 client certificates are verified after the client's handshake
			// returns; a read surfaces the server's verdict to the client.
			_, err = tc.Write([]byte{1})
		}
		done <- err
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tc := tls.Client(c, client)
	clientErr = tc.Handshake()
	if clientErr == nil {
		_, clientErr = io.ReadFull(tc, make([]byte, 1))
	}
	tc.Close()
	return clientErr, <-done
}

func TestMutualTLS(t *testing.T) {
	ca := newTestCA(t, "cluster")
	other := newTestCA(t, "other")
	now := time.Now()
	srv, err := ca.Issue(rand.Reader, "node-1", []string{"127.0.0.1", "node-1"}, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cli, err := ca.Issue(rand.Reader, "node-2", nil, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := other.Issue(rand.Reader, "node-x", nil, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	withName := func(c *tls.Config, name string) *tls.Config { c.ServerName = name; return c }

	tests := []struct {
		name   string
		client *tls.Config
		ok     bool
	}{
		{"same CA", withName(ca.ClientConfig(cli), "127.0.0.1"), true},
		{"dns name", withName(ca.ClientConfig(cli), "node-1"), true},
		{"wrong server name", withName(ca.ClientConfig(cli), "node-9"), false},
		{"client cert from another CA", withName(MutualClientConfig(ca.Pool(), stranger), "127.0.0.1"), false},
		{"client trusts another CA", withName(other.ClientConfig(cli), "127.0.0.1"), false},
		{"no client cert", &tls.Config{RootCAs: ca.Pool(), ServerName: "127.0.0.1", MinVersion: tls.VersionTLS13}, false},
	}
	for _, tt := range tests {
		cerr, serr := handshake(t, ca.ServerConfig(srv), tt.client)
		if ok := cerr == nil && serr == nil; ok != tt.ok {
			t.Errorf("%s: client err %v, server err %v, want ok=%v", tt.name, cerr, serr, tt.ok)
		}
	}
}

func TestPEMRoundTrip(t *testing.T) {
	ca := newTestCA(t, "cluster")
	keyPEM, err := ca.KeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseCA(ca.CertPEM(), keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	if !back.Cert.Equal(ca.Cert) {
		t.Fatal("CA certificate changed in the round trip")
	}
	// The reloaded CA can still issue certificates the original pool trusts.
	leaf, err := back.Issue(rand.Reader, "n", []string{"localhost"}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := leaf.Leaf.Verify(x509VerifyOptions(ca)); err != nil {
		t.Fatalf("issued certificate does not verify: %v", err)
	}
	certPEM, leafKey, err := CertificatePEM(leaf)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tls.X509KeyPair(certPEM, leafKey); err != nil {
		t.Fatalf("X509KeyPair: %v", err)
	}

	dir := t.TempDir()
	path := filepath.Join(dir, "ca.pem")
	if err := WriteFile(path, ca.CertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadPool(path); err != nil {
		t.Fatal(err)
	}
}

func TestParseErrors(t *testing.T) {
	ca := newTestCA(t, "cluster")
	leaf, err := ca.Issue(rand.Reader, "n", nil, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	leafCert, leafKey, err := CertificatePEM(leaf)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		cert, key []byte
		want      error
	}{
		{"empty", nil, nil, ErrNoPEM},
		{"garbage", []byte("not pem"), []byte("not pem"), ErrNoPEM},
		{"leaf as CA", leafCert, leafKey, ErrNotCA},
		{"no key", ca.CertPEM(), leafCert, ErrNoPEM},
	}
	for _, tt := range tests {
		_, err := ParseCA(tt.cert, tt.key)
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: err %v, want %v", tt.name, err, tt.want)
		}
	}
	// A damaged key must not leak its bytes into the error text.
	bad := bytes.Replace(leafKey, []byte("PRIVATE KEY-----\n"), []byte("PRIVATE KEY-----\nAAAA"), 1)
	if _, err := ParseCA(ca.CertPEM(), bad); err == nil || strings.Contains(err.Error(), "AAAA") {
		t.Errorf("damaged key: err %v", err)
	}
}
