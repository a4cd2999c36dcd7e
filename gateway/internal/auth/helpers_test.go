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
