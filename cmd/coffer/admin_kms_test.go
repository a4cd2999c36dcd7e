package main

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/coffer-io/coffer/gateway/gatewaytest"
)

func TestKMSSettingsValidate(t *testing.T) {
	ep := "http://127.0.0.1:1"
	for _, tc := range []struct {
		cmd  string
		s    kmsSettings
		want string // substring of the error; "" for none
	}{
		{"list", kmsSettings{Endpoint: ep}, ""},
		{"create", kmsSettings{Endpoint: ep, Alias: "a", Origin: "EXTERNAL"}, ""},
		{"list", kmsSettings{}, "endpoint: a gateway URL is required"},
		{"list", kmsSettings{Endpoint: "ftp://x"}, "not an http(s) URL"},
		{"disable", kmsSettings{Endpoint: ep}, "disable needs a key id"},
		{"list", kmsSettings{Endpoint: ep, KeyID: "k"}, "list takes no key"},
		{"disable", kmsSettings{Endpoint: ep, KeyID: "k", Alias: "a"}, "only create takes them"},
		{"create", kmsSettings{Endpoint: ep, Origin: "AWS"}, "neither COFFER nor EXTERNAL"},
		{"schedule-deletion", kmsSettings{Endpoint: ep, KeyID: "k", Days: 7}, ""},
		{"schedule-deletion", kmsSettings{Endpoint: ep, KeyID: "k", Days: 31}, "takes 7 to 30"},
		{"import-params", kmsSettings{Endpoint: ep, KeyID: "k"}, "import-params needs it"},
		{"import-params", kmsSettings{Endpoint: ep, KeyID: "k", PublicKeyFile: "p", WrappingBits: 1024}, "2048 or 3072"},
		{"import", kmsSettings{Endpoint: ep, KeyID: "k", ImportToken: "t"}, "import needs both"},
		{"import", kmsSettings{Endpoint: ep, KeyID: "k", ImportToken: "t", WrappedKeyFile: "w"}, ""},
		{"enable", kmsSettings{Endpoint: ep, KeyID: "k", ImportToken: "t"}, "nothing else takes them"},
	} {
		err := tc.s.Validate(tc.cmd)
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s %+v: %v, want %q", tc.cmd, tc.s, err, tc.want)
		}
	}
}

// TestAdminKMS drives the kms commands against a test cluster.
func TestAdminKMS(t *testing.T) {
	c := gatewaytest.Start(t)
	envs := map[string]string{envRootAccessKey: gatewaytest.AccessKey, envRootSecretKey: gatewaytest.SecretKey}
	lookup := func(k string) (string, bool) { v, ok := envs[k]; return v, ok }
	run := func(args ...string) (string, error) {
		t.Helper()
		var out, errOut bytes.Buffer
		err := runAdminKMS(append(args, "--endpoint", c.URL), lookup, &out, &errOut)
		return out.String(), err
	}
	field := func(out, name string) string {
		m := regexp.MustCompile(`(?m)^` + name + `:\s+(\S+)`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no %s in %q", name, out)
		}
		return m[1]
	}

	out, err := run("create", "--alias", "cli-key", "--description", "made by the CLI")
	if err != nil {
		t.Fatal(err)
	}
	id := field(out, "key id")
	if field(out, "state") != "Enabled" || field(out, "origin") != "COFFER" {
		t.Fatalf("create printed %q", out)
	}
	if out, err = run("list"); err != nil || !strings.Contains(out, id) || !strings.Contains(out, "cli-key") {
		t.Fatalf("list: %q, %v", out, err)
	}
	if out, err = run("disable", "--key-id", "cli-key"); err != nil || field(out, "state") != "Disabled" {
		t.Fatalf("disable: %q, %v", out, err)
	}
	if out, err = run("describe", "--key-id", id); err != nil || field(out, "state") != "Disabled" {
		t.Fatalf("describe: %q, %v", out, err)
	}
	if out, err = run("enable", "--key-id", id); err != nil || field(out, "state") != "Enabled" {
		t.Fatalf("enable: %q, %v", out, err)
	}
	if out, err = run("rotate", "--key-id", id); err != nil || field(out, "material") != "2" {
		t.Fatalf("rotate: %q, %v", out, err)
	}
	if out, err = run("schedule-deletion", "--key-id", id, "--days", "7"); err != nil || field(out, "state") != "PendingDeletion" {
		t.Fatalf("schedule-deletion: %q, %v", out, err)
	}
	if out, err = run("cancel-deletion", "--key-id", id); err != nil || field(out, "state") != "Enabled" {
		t.Fatalf("cancel-deletion: %q, %v", out, err)
	}
	if _, err = run("describe", "--key-id", "no-such-key"); err == nil || !strings.Contains(err.Error(), "KmsKeyNotExist") {
		t.Fatalf("describe of an unknown key: %v", err)
	}

	// Bring your own key: import-params, wrap, import.
	out, err = run("create", "--alias", "byok", "--origin", "EXTERNAL")
	if err != nil || field(out, "state") != "PendingImport" {
		t.Fatalf("create external: %q, %v", out, err)
	}
	dir := t.TempDir()
	pubPath := filepath.Join(dir, "wrap.pem")
	out, err = run("import-params", "--key-id", "byok", "--public-key-file", pubPath)
	if err != nil {
		t.Fatal(err)
	}
	token := field(out, "import token")
	pemBytes, err := os.ReadFile(pubPath)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(pemBytes)
	pk, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	material := make([]byte, 32)
	rand.Read(material)
	wrapped, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, pk.(*rsa.PublicKey), material, nil)
	if err != nil {
		t.Fatal(err)
	}
	wrappedPath := filepath.Join(dir, "wrapped.bin")
	if err := os.WriteFile(wrappedPath, wrapped, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err = run("import", "--key-id", "byok", "--wrapped-key-file", wrappedPath, "--import-token", token); err != nil || field(out, "state") != "Enabled" {
		t.Fatalf("import: %q, %v", out, err)
	}

	// Without credentials the command refuses before sending anything.
	delete(envs, envRootAccessKey)
	delete(envs, envRootSecretKey)
	if _, err := run("list"); err == nil || !strings.Contains(err.Error(), "credentials") {
		t.Fatalf("list without credentials: %v", err)
	}
}
