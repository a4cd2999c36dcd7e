package main

import (
	"bytes"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coffer-io/coffer/internal/pki"
	"github.com/coffer-io/coffer/sse"
)

func TestParseCredentials(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want credentials
		err  bool
	}{
		{"ours", string(credentials{"AKIDabc", "s3cr3t"}.marshal()), credentials{"AKIDabc", "s3cr3t"}, false},
		{"aws profile, first pair wins", "[default]\naws_access_key_id=A1\naws_secret_access_key = S1\n[other]\naws_access_key_id = A2\naws_secret_access_key = S2\n",
			credentials{"A1", "S1"}, false},
		{"comments, case, CRLF", "; c\r\n# c\r\nAWS_ACCESS_KEY_ID = A\r\nregion = x\r\naws_secret_access_key = S\r\n", credentials{"A", "S"}, false},
		{"secret with '='", "aws_access_key_id = A\naws_secret_access_key = ab=cd==\n", credentials{"A", "ab=cd=="}, false},
		{"missing secret", "aws_access_key_id = A\n", credentials{}, true},
		{"empty", "", credentials{}, true},
		{"not key=value", "aws_access_key_id A\n", credentials{}, true},
		{"space inside", "aws_access_key_id = A B\naws_secret_access_key = S\n", credentials{}, true},
		{"control char", "aws_access_key_id = A\x01\naws_secret_access_key = S\n", credentials{}, true},
		{"long line", "aws_access_key_id = " + strings.Repeat("a", secretFileBytesMax+10) + "\n", credentials{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseCredentials([]byte(tt.in))
			if (err != nil) != tt.err || got != tt.want {
				t.Fatalf("parseCredentials = %v, %v; want %v, error %v", got, err, tt.want, tt.err)
			}
			if err != nil && !errors.Is(err, errCredentials) {
				t.Errorf("error %v does not wrap errCredentials", err)
			}
		})
	}
}

func FuzzParseCredentials(f *testing.F) {
	f.Add(credentials{"AKIDabc", "s3cr3t"}.marshal())
	f.Add([]byte("[default]\naws_access_key_id=A\naws_secret_access_key=B=\n"))
	f.Add([]byte("x"))
	f.Add([]byte("=\n=\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := parseCredentials(data)
		if err != nil {
			if c != (credentials{}) {
				t.Fatalf("error %v with non-zero credentials", err)
			}
			if bytes.Contains(data, []byte("SECRETMARK")) && strings.Contains(err.Error(), "SECRETMARK") {
				t.Fatalf("error leaks file content: %v", err)
			}
			return
		}
		if c.AccessKeyID == "" || c.SecretKey == "" {
			t.Fatalf("accepted empty keys: %v", c)
		}
		// Round trip.
		again, err := parseCredentials(c.marshal())
		if err != nil || again != c {
			t.Fatalf("round trip of %v: %v, %v", c, again, err)
		}
	})
}

func TestParseRootKey(t *testing.T) {
	raw := bytes.Repeat([]byte{0xab}, 32)
	hexKey := strings.Repeat("ab", 32)
	tests := []struct {
		name string
		in   []byte
		ok   bool
	}{
		{"raw", raw, true},
		{"hex", []byte(hexKey), true},
		{"hex with newline", []byte(" " + hexKey + "\n"), true},
		{"short", raw[:31], false},
		{"raw plus newline", append(append([]byte{}, raw...), '\n'), false},
		{"bad hex", []byte(strings.Repeat("zz", 32)), false},
		{"empty", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := parseRootKey(tt.in)
			if (err == nil) != tt.ok {
				t.Fatalf("parseRootKey: %v", err)
			}
			if tt.ok && !bytes.Equal(k[:], raw) {
				t.Fatal("wrong key")
			}
			if !tt.ok && !errors.Is(err, errRootKey) {
				t.Errorf("error %v does not wrap errRootKey", err)
			}
		})
	}
}

func FuzzParseRootKey(f *testing.F) {
	f.Add(bytes.Repeat([]byte{1}, 32))
	f.Add([]byte(strings.Repeat("0f", 32) + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := parseRootKey(data)
		if err == nil && len(data) != 32 && len(bytes.TrimSpace(data)) != 64 {
			t.Fatalf("accepted %d bytes", len(data))
		}
		if err != nil && (!errors.Is(err, errRootKey) || k != (sse.Key{})) {
			t.Fatalf("error %v does not wrap errRootKey or returned a key", err)
		}
	})
}

func TestRandomAlnum(t *testing.T) {
	s, err := randomAlnum(rand.Reader, 4096)
	if err != nil {
		t.Fatal(err)
	}
	if len(s) != 4096 {
		t.Fatalf("length %d", len(s))
	}
	seen := map[rune]int{}
	for _, r := range s {
		if !strings.ContainsRune(alphanumerics, r) {
			t.Fatalf("character %q outside the alphabet", r)
		}
		seen[r]++
	}
	// 4096 draws over 62 symbols: every symbol appears (expected 66 each).
	if len(seen) != len(alphanumerics) {
		t.Errorf("only %d of %d symbols drawn", len(seen), len(alphanumerics))
	}
	// A reader of only rejected bytes (≥ 248) must not be accepted forever: it fails
	// when the reader ends.
	if _, err := randomAlnum(bytes.NewReader(bytes.Repeat([]byte{0xff}, 100)), 8); err == nil {
		t.Error("no error from an exhausted reader")
	}
}

func TestCredentialsString(t *testing.T) {
	c := credentials{"AKIDx", "topsecret"}
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%+v %#v %s %q", c, c, c, c)} {
		if strings.Contains(s, "topsecret") {
			t.Fatalf("String shows the secret: %s", s)
		}
	}
}

func TestEnsureDevMaterial(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	m1, err := ensureDevMaterial(dir, "localhost", "local", now, rand.Reader, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	// The certificate covers every name the SDKs and awscli use.
	leaf, err := x509.ParseCertificate(m1.Cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"127.0.0.1", "::1", "localhost", "b-1250000000.localhost", "cos.local.localhost", "b-1250000000.cos.local.localhost"} {
		if err := leaf.VerifyHostname(h); err != nil {
			t.Errorf("certificate not valid for %s: %v", h, err)
		}
	}

	// A second start loads the same material.
	m2, err := ensureDevMaterial(dir, "localhost", "local", now, rand.Reader, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if m2.RootKey != m1.RootKey || m2.Credentials != m1.Credentials || !bytes.Equal(m2.CA.Cert.Raw, m1.CA.Cert.Raw) ||
		!bytes.Equal(m2.Cert.Certificate[0], m1.Cert.Certificate[0]) {
		t.Fatal("material changed on reload")
	}

	// Another domain: same CA and secrets, a new certificate for the new names.
	m3, err := ensureDevMaterial(dir, "example.test", "ap-x", now, rand.Reader, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if m3.RootKey != m1.RootKey || !bytes.Equal(m3.CA.Cert.Raw, m1.CA.Cert.Raw) || bytes.Equal(m3.Cert.Certificate[0], m1.Cert.Certificate[0]) {
		t.Fatal("domain change: want same CA and key, new certificate")
	}
	if !certCovers(m3.Cert, m3.CA, certHosts("example.test", "ap-x"), now) {
		t.Fatal("new certificate does not cover the new domain")
	}
	// Close to expiry: reissued.
	if certCovers(m3.Cert, m3.CA, certHosts("example.test", "ap-x"), now.Add(pki.CertValidity-certRenewBefore/2)) {
		t.Error("a certificate about to expire counts as covering")
	}

	// Env credentials win and are not written.
	envs := map[string]string{envRootAccessKey: "AKIDfromenv", envRootSecretKey: "envsecret"}
	lookup := func(k string) (string, bool) { v, ok := envs[k]; return v, ok }
	m4, err := ensureDevMaterial(dir, "localhost", "local", now, rand.Reader, lookup)
	if err != nil {
		t.Fatal(err)
	}
	if m4.Credentials != (credentials{"AKIDfromenv", "envsecret"}) || !m4.CredentialsFromEnv {
		t.Fatalf("env credentials not used: %v", m4.Credentials)
	}
	onDisk, err := os.ReadFile(filepath.Join(dir, "credentials"))
	if err != nil || bytes.Contains(onDisk, []byte("envsecret")) {
		t.Fatalf("env credentials written to disk (%v)", err)
	}
	// Only one of the two: an error.
	delete(envs, envRootSecretKey)
	if _, err := ensureDevMaterial(dir, "localhost", "local", now, rand.Reader, lookup); err == nil {
		t.Error("accepted an access key without a secret from env")
	}

	// A damaged root key fails the start instead of being replaced.
	if err := os.WriteFile(filepath.Join(dir, "root.key"), []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ensureDevMaterial(dir, "localhost", "local", now, rand.Reader, noEnv); !errors.Is(err, errRootKey) {
		t.Errorf("damaged root key: %v", err)
	}
	// A CA certificate without its key: an error, not a new CA.
	dir2 := t.TempDir()
	if _, err := ensureDevMaterial(dir2, "localhost", "local", now, rand.Reader, noEnv); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir2, "tls", "ca-key.pem"))
	if _, err := ensureDevMaterial(dir2, "localhost", "local", now, rand.Reader, noEnv); err == nil {
		t.Error("CA without key accepted")
	}
}

func TestLoadRootKeyAndCredentials(t *testing.T) {
	dir := t.TempDir()
	keyPath := filepath.Join(dir, "root.key")
	if err := os.WriteFile(keyPath, []byte(strings.Repeat("01", 32)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	k, err := loadRootKey(keyPath, noEnv)
	if err != nil || k[0] != 1 || k[31] != 1 {
		t.Fatalf("loadRootKey: %v", err)
	}
	envKey := func(k string) (string, bool) {
		if k == envRootKey {
			return strings.Repeat("02", 32), true
		}
		return "", false
	}
	if k, err := loadRootKey(keyPath, envKey); err != nil || k[0] != 2 {
		t.Fatalf("env root key does not win: %v", err)
	}
	if _, err := loadRootKey("", noEnv); err == nil {
		t.Error("no root key accepted")
	}
	if _, err := loadRootKey(filepath.Join(dir, "missing"), noEnv); err == nil {
		t.Error("missing root key file accepted")
	}

	credPath := filepath.Join(dir, "credentials")
	if err := os.WriteFile(credPath, credentials{"AKIDfile", "filesecret"}.marshal(), 0o600); err != nil {
		t.Fatal(err)
	}
	if c, err := loadCredentials(credPath, noEnv); err != nil || c != (credentials{"AKIDfile", "filesecret"}) {
		t.Fatalf("loadCredentials = %v, %v", c, err)
	}
	if c, err := loadCredentials("", noEnv); err != nil || c != (credentials{}) {
		t.Fatalf("no credentials configured = %v, %v", c, err)
	}
}

func TestInitCluster(t *testing.T) {
	out := filepath.Join(t.TempDir(), "secrets")
	s := initClusterSettings{Out: out, Nodes: []string{"n1", "n2"}, Hosts: []string{"10.1.2.3"}, Domain: "coffer.test", Region: "r1"}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	var stdout bytes.Buffer
	if err := initCluster(s, time.Now(), rand.Reader, &stdout); err != nil {
		t.Fatal(err)
	}
	for _, n := range s.Nodes {
		m, err := loadNodeTLS(tlsFiles{filepath.Join(out, "tls", "ca.pem"), filepath.Join(out, "tls", n+".pem"), filepath.Join(out, "tls", n+"-key.pem")})
		if err != nil {
			t.Fatal(err)
		}
		leaf, err := x509.ParseCertificate(m.Cert.Certificate[0])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: m.Pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
			t.Errorf("%s: %v", n, err)
		}
		for _, h := range []string{n, "10.1.2.3", "localhost", "b.coffer.test", "b.cos.r1.coffer.test"} {
			if err := leaf.VerifyHostname(h); err != nil {
				t.Errorf("%s certificate: %v", n, err)
			}
		}
	}
	for _, p := range []string{"root.key", "gossip.key", "credentials", "tls/ca-key.pem", "tls/n1-key.pem", "tls/n2-key.pem"} {
		fi, err := os.Stat(filepath.Join(out, p))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v", p, fi.Mode().Perm())
		}
	}
	if _, err := loadRootKey(filepath.Join(out, "root.key"), noEnv); err != nil {
		t.Error(err)
	}
	c, err := loadCredentials(filepath.Join(out, "credentials"), noEnv)
	if err != nil || !strings.Contains(stdout.String(), c.AccessKeyID) || strings.Contains(stdout.String(), c.SecretKey) {
		t.Errorf("output %q: want the access key id and not the secret (%v)", stdout.String(), err)
	}
	// Never overwrites.
	if err := initCluster(s, time.Now(), rand.Reader, &stdout); err == nil {
		t.Error("second init-cluster overwrote the secrets")
	}
	bad := initClusterSettings{Nodes: []string{"a/b", "x", "x"}, Domain: "", Region: ""}
	err = bad.Validate()
	for _, w := range []string{"out", `"a/b"`, "given twice"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("Validate: %v lacks %q", err, w)
		}
	}
}
