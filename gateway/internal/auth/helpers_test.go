package auth

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"
)

// mapSecrets is an in-memory Secrets.
type mapSecrets map[string]string

func (m mapSecrets) SecretKey(_ context.Context, ak string) (string, error) {
	if s, ok := m[ak]; ok {
		return s, nil
	}
	return "", ErrUnknownAccessKey
}

func newTestVerifier(t testing.TB, secrets mapSecrets, now time.Time) *Verifier {
	t.Helper()
	v, err := New(secrets, Config{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// wantCode asserts err is an *Error with the given code and sentinel.
func wantCode(t testing.TB, err error, code string, sentinel error) {
	t.Helper()
	var ae *Error
	if !errors.As(err, &ae) {
		t.Fatalf("error %v (%T) is not an *Error, want code %s", err, err, code)
	}
	if ae.Code != code {
		t.Fatalf("code = %s (%v), want %s", ae.Code, err, code)
	}
	if sentinel != nil && !errors.Is(err, sentinel) {
		t.Fatalf("error %v does not match sentinel %v", err, sentinel)
	}
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }

type httptestRequest = http.Request

// failingSecrets fails every lookup with a non-sentinel error.
type failingSecrets struct{}

func (failingSecrets) SecretKey(context.Context, string) (string, error) {
	return "", errors.New("store unavailable")
}

// TestLimitRelations checks the relations between the package's named limits
// and that the defaulted zero Config validates.
func TestLimitRelations(t *testing.T) {
	var c Config
	c.EnsureDefaults()
	if err := c.Validate(); err != nil {
		t.Fatalf("defaulted Config does not validate: %v", err)
	}
	checks := []struct {
		name string
		ok   bool
	}{
		{"pooled chunk buffer fits the default chunk limit", pooledChunkBytes <= DefaultChunkBytesMax},
		{"a chunk header line fits the default line limit", len("ffffffffffffffff;chunk-signature=")+64+2 <= DefaultChunkLineBytesMax},
		{"trailer section holds at least one line", DefaultChunkLineBytesMax <= DefaultTrailerBytesMax},
		{"one form field fits the form", FormFieldBytesMax <= FormBytesMax},
		{"the policy field fits one form field", PolicyBytesMax <= FormFieldBytesMax},
		{"presign expiry is AWS's 7 days", PresignExpiresMax == 7*24*time.Hour},
		{"skew is below the shortest presign window", DefaultClockSkewMax < PresignExpiresMax},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("limit relation violated: %s", c.name)
		}
	}
	if _, err := New(nil, Config{}); err == nil {
		t.Error("New accepted nil Secrets")
	}
	for m := MethodAnonymous; m <= MethodPostForm+1; m++ {
		if m.String() == "" {
			t.Errorf("Method %d has no name", m)
		}
	}
	if MethodSigV4Query.String() != "sigv4-query" || Method(99).String() != "unknown" {
		t.Error("Method names changed")
	}
}
