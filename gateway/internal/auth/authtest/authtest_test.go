package authtest_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/coffer-io/coffer/gateway/internal/auth"
	"github.com/coffer-io/coffer/gateway/internal/auth/authtest"
)

func TestSecrets(t *testing.T) {
	s := authtest.Secrets{"a": "b"}
	if v, err := s.SecretKey(context.Background(), "a"); v != "b" || err != nil {
		t.Fatal(v, err)
	}
	if _, err := s.SecretKey(context.Background(), "x"); !errors.Is(err, auth.ErrUnknownAccessKey) {
		t.Fatal(err)
	}
}

// TestChunkedRoundTrip: a body built by Chunked verifies with auth.Verify.
func TestChunkedRoundTrip(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	payload := [][]byte{bytes.Repeat([]byte("x"), 70000), []byte("tail")}
	r := httptest.NewRequest("PUT", "http://bucket.local/key", nil)
	r.Header.Set("X-Amz-Content-Sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
	r.Header.Set("X-Amz-Decoded-Content-Length", strconv.Itoa(70004))
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	if err := signer.SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "AK", SecretAccessKey: "SK"}, r,
		"STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "s3", "us-east-1", now); err != nil {
		t.Fatal(err)
	}
	a := r.Header.Get("Authorization")
	body := authtest.Chunked{Secret: "SK", Date: "20260102", Region: "us-east-1", AmzDate: "20260102T030405Z",
		Seed: a[len(a)-64:]}.Body(payload...)
	r.Body = io.NopCloser(bytes.NewReader(body))
	v, err := auth.New(authtest.Secrets{"AK": "SK"}, auth.Config{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	res, err := v.Verify(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(res.Body)
	if err != nil || !bytes.Equal(got, bytes.Join(payload, nil)) {
		t.Fatalf("decoded %d bytes, %v", len(got), err)
	}
}
