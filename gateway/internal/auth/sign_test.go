package auth

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

type oneSecret struct{ ak, sk string }

func (s oneSecret) SecretKey(_ context.Context, ak string) (string, error) {
	if ak != s.ak {
		return "", ErrUnknownAccessKey
	}
	return s.sk, nil
}

// A request signed by SignCOS verifies; any change to what it covers does not.
func TestSignCOSVerifies(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	v, err := New(oneSecret{"AKIDsign", "secret-sign"}, Config{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	build := func() *http.Request {
		r, _ := http.NewRequest("POST", "http://gw.example:8080/-/admin/v1/kms/keys?alias=a%20b&x", strings.NewReader("{}"))
		r.Header.Set("Content-Type", "application/json")
		if err := SignCOS(r, "AKIDsign", "secret-sign", now, time.Minute); err != nil {
			t.Fatal(err)
		}
		return r
	}
	verify := func(r *http.Request) error {
		q, err := ParseQuery(r.URL.RawQuery)
		if err != nil {
			return err
		}
		_, err = v.Verify(r, q)
		return err
	}
	if err := verify(build()); err != nil {
		t.Fatalf("signed request: %v", err)
	}
	tampered := []func(*http.Request){
		func(r *http.Request) { r.URL.RawQuery = "alias=other&x" },
		func(r *http.Request) { r.URL.Path = "/-/admin/v1/kms/other" },
		func(r *http.Request) { r.Method = "DELETE" },
		func(r *http.Request) { r.Header.Set("Content-Type", "text/plain") },
		func(r *http.Request) { r.Host = "evil.example:8080" },
	}
	for i, mutate := range tampered {
		r := build()
		mutate(r)
		var ae *Error
		if err := verify(r); !errors.As(err, &ae) || ae.Code != "SignatureDoesNotMatch" {
			t.Errorf("tamper %d: %v", i, err)
		}
	}
}
