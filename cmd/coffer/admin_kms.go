package main

import (
	"context"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"text/tabwriter"
	"time"

	"github.com/coffer-io/coffer/gateway"
)

const adminKMSUsage = `usage: coffer admin kms <command> [flags]

commands (every one needs --endpoint and admin credentials):
  create              create a key (--alias, --description, --origin COFFER|EXTERNAL)
  describe            show the key --key-id (an id or an alias)
  list                list every key
  enable, disable     enable or disable the key --key-id
  schedule-deletion   delete the key --key-id after --days (7-30, default 30)
  cancel-deletion     cancel a scheduled deletion; the key is enabled again
  rotate              add a new material version to the key --key-id (COFFER keys)
  import-params       get a wrapping key and import token for the EXTERNAL key
                      --key-id; writes the public key (PEM) to --public-key-file and
                      prints the token (base64)
  import              import 32 bytes of key material wrapped with RSAES-OAEP-SHA-256
                      under that public key: --wrapped-key-file, --import-token
`

// kmsRequestTimeout bounds one KMS admin request.
const kmsRequestTimeout = time.Minute

// kmsSettings are the settings of `coffer admin kms ...`.
type kmsSettings struct {
	Endpoint        string
	CredentialsFile string
	CA              string
	KeyID           string
	Alias           string
	Description     string
	Origin          string
	Days            int64
	WrappingBits    int64
	PublicKeyFile   string
	WrappedKeyFile  string
	ImportToken     string
}

var kmsOptions = []option[kmsSettings]{
	{"endpoint", "gateway base URL, e.g. https://127.0.0.1:8443", func(s *kmsSettings) any { return &s.Endpoint }},
	{"credentials-file", "admin credentials (AWS shared-credentials format); env " + envRootAccessKey + "/" + envRootSecretKey + " win", func(s *kmsSettings) any { return &s.CredentialsFile }},
	{"ca", "PEM file of the CA that signed the gateway's certificate (default: system roots)", func(s *kmsSettings) any { return &s.CA }},
	{"key-id", "the key: its id or alias", func(s *kmsSettings) any { return &s.KeyID }},
	{"alias", "create: unique alias of the new key", func(s *kmsSettings) any { return &s.Alias }},
	{"description", "create: description of the new key", func(s *kmsSettings) any { return &s.Description }},
	{"origin", "create: COFFER (material made here, default) or EXTERNAL (imported)", func(s *kmsSettings) any { return &s.Origin }},
	{"days", "schedule-deletion: days before the key is deleted (7-30; default 30)", func(s *kmsSettings) any { return &s.Days }},
	{"wrapping-bits", "import-params: RSA wrapping key size, 2048 (default) or 3072", func(s *kmsSettings) any { return &s.WrappingBits }},
	{"public-key-file", "import-params: where to write the wrapping public key (PEM)", func(s *kmsSettings) any { return &s.PublicKeyFile }},
	{"wrapped-key-file", "import: file holding the RSA-OAEP-SHA-256 ciphertext of the key material", func(s *kmsSettings) any { return &s.WrappedKeyFile }},
	{"import-token", "import: the token import-params printed (base64)", func(s *kmsSettings) any { return &s.ImportToken }},
}

// kmsNeedsKey lists the commands that act on one key.
var kmsNeedsKey = map[string]bool{
	"describe": true, "enable": true, "disable": true, "schedule-deletion": true,
	"cancel-deletion": true, "rotate": true, "import-params": true, "import": true,
}

// Validate reports every problem of s for cmd at once.
func (s kmsSettings) Validate(cmd string) error {
	var errs []error
	u, err := url.Parse(s.Endpoint)
	switch {
	case s.Endpoint == "":
		errs = append(errs, errors.New("endpoint: a gateway URL is required"))
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		errs = append(errs, fmt.Errorf("endpoint: %q is not an http(s) URL", s.Endpoint))
	}
	if kmsNeedsKey[cmd] && s.KeyID == "" {
		errs = append(errs, fmt.Errorf("key-id: %s needs a key id or alias", cmd))
	}
	if !kmsNeedsKey[cmd] && s.KeyID != "" {
		errs = append(errs, fmt.Errorf("key-id: %s takes no key", cmd))
	}
	if cmd != "create" && (s.Alias != "" || s.Description != "" || s.Origin != "") {
		errs = append(errs, errors.New("alias, description, origin: only create takes them"))
	}
	if s.Origin != "" && s.Origin != "COFFER" && s.Origin != "EXTERNAL" {
		errs = append(errs, fmt.Errorf("origin: %q is neither COFFER nor EXTERNAL", s.Origin))
	}
	if s.Days != 0 && (cmd != "schedule-deletion" || s.Days < gateway.KMSDeletionDaysMin || s.Days > gateway.KMSDeletionDaysMax) {
		errs = append(errs, fmt.Errorf("days: schedule-deletion takes %d to %d", gateway.KMSDeletionDaysMin, gateway.KMSDeletionDaysMax))
	}
	if s.WrappingBits != 0 && (cmd != "import-params" || (s.WrappingBits != 2048 && s.WrappingBits != 3072)) {
		errs = append(errs, errors.New("wrapping-bits: import-params takes 2048 or 3072"))
	}
	if (cmd == "import-params") != (s.PublicKeyFile != "") {
		errs = append(errs, errors.New("public-key-file: import-params needs it, nothing else takes it"))
	}
	if (cmd == "import") != (s.WrappedKeyFile != "" && s.ImportToken != "") || (cmd != "import" && (s.WrappedKeyFile != "" || s.ImportToken != "")) {
		errs = append(errs, errors.New("wrapped-key-file, import-token: import needs both, nothing else takes them"))
	}
	return errors.Join(errs...)
}

// client returns the admin client for s.
func (s kmsSettings) client(lookup env) (*gateway.AdminClient, error) {
	return newAdminClient(s.Endpoint, s.CredentialsFile, s.CA, kmsRequestTimeout, lookup)
}

// runAdminKMS dispatches `coffer admin kms ...`.
func runAdminKMS(args []string, lookup env, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, adminKMSUsage)
		return errUsage
	}
	cmd := args[0]
	switch cmd {
	case "create", "list":
	case "help", "-h", "--help":
		fmt.Fprint(stdout, adminKMSUsage)
		return nil
	default:
		if !kmsNeedsKey[cmd] {
			fmt.Fprintf(stderr, "coffer admin kms: unknown command %q\n\n%s", cmd, adminKMSUsage)
			return errUsage
		}
	}
	var s kmsSettings
	if err := load("admin kms "+cmd, kmsOptions, &s, nil, args[1:], source{env: lookup}, stderr); err != nil {
		return err
	}
	if err := s.Validate(cmd); err != nil {
		return err
	}
	c, err := s.client(lookup)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), kmsRequestTimeout)
	defer cancel()
	var k *gateway.KMSKey
	switch cmd {
	case "create":
		k, err = c.KMSCreate(ctx, gateway.KMSCreateRequest{Alias: s.Alias, Description: s.Description, Origin: s.Origin})
	case "list":
		keys, err := c.KMSList(ctx)
		if err != nil {
			return err
		}
		printKMSKeys(stdout, keys)
		return nil
	case "describe":
		k, err = c.KMSDescribe(ctx, s.KeyID)
	case "enable", "disable", "cancel-deletion", "rotate":
		k, err = c.KMSAction(ctx, s.KeyID, cmd)
	case "schedule-deletion":
		k, err = c.KMSScheduleDeletion(ctx, s.KeyID, int(s.Days))
	case "import-params":
		return kmsImportParams(ctx, c, s, stdout)
	case "import":
		var token, wrapped []byte
		if token, err = base64.StdEncoding.DecodeString(s.ImportToken); err != nil {
			return fmt.Errorf("import-token: not base64: %w", err)
		}
		if wrapped, err = os.ReadFile(s.WrappedKeyFile); err != nil {
			return fmt.Errorf("wrapped-key-file: %w", err)
		}
		k, err = c.KMSImport(ctx, s.KeyID, token, wrapped)
	}
	if err != nil {
		return err
	}
	printKMSKey(stdout, k)
	return nil
}

// kmsImportParams writes the wrapping public key to s.PublicKeyFile and prints the
// token and how long it is valid.
func kmsImportParams(ctx context.Context, c *gateway.AdminClient, s kmsSettings, stdout io.Writer) error {
	p, err := c.KMSImportParams(ctx, s.KeyID, int(s.WrappingBits))
	if err != nil {
		return err
	}
	block := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: p.PublicKey})
	if err := os.WriteFile(s.PublicKeyFile, block, 0o644); err != nil {
		return fmt.Errorf("public-key-file: %w", err)
	}
	fmt.Fprintf(stdout, "key id:          %s\nwrapping key:    %s (%s)\nimport token:    %s\nvalid until:     %s\n",
		p.KeyID, s.PublicKeyFile, p.WrappingAlgorithm, base64.StdEncoding.EncodeToString(p.ImportToken), p.ValidTo.UTC().Format(time.RFC3339))
	return nil
}

func printKMSKey(w io.Writer, k *gateway.KMSKey) {
	fmt.Fprintf(w, "key id:          %s\nalias:           %s\ndescription:     %s\norigin:          %s\nstate:           %s\nmaterial:        %d version(s)\ncreated:         %s\n",
		k.KeyID, k.Alias, k.Description, k.Origin, k.State, k.MaterialVersions, k.Created.UTC().Format(time.RFC3339))
	if k.LastRotated != nil {
		fmt.Fprintf(w, "last rotated:    %s\n", k.LastRotated.UTC().Format(time.RFC3339))
	}
	if k.DeletionDate != nil {
		fmt.Fprintf(w, "deletion date:   %s\n", k.DeletionDate.UTC().Format(time.RFC3339))
	}
}

func printKMSKeys(w io.Writer, keys []gateway.KMSKey) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY ID\tALIAS\tORIGIN\tSTATE\tVERSIONS\tCREATED")
	for _, k := range keys {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", k.KeyID, k.Alias, k.Origin, k.State, k.MaterialVersions, k.Created.UTC().Format(time.RFC3339))
	}
	tw.Flush()
}
