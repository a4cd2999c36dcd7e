// Package authtest provides helpers for testing code that uses package auth:
// an in-memory Secrets and a builder for signed aws-chunked bodies (which no Go
// SDK sends, so gateway tests cannot get them from a real client).
//
// Everything here is for tests only; it is safe for concurrent use as long as
// a Secrets map is not modified while in use.
package authtest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/coffer-io/coffer/gateway/internal/auth"
)

// Secrets is an in-memory auth.Secrets: access key id → secret key.
type Secrets map[string]string

// SecretKey implements auth.Secrets.
func (s Secrets) SecretKey(_ context.Context, accessKeyID string) (string, error) {
	if secret, ok := s[accessKeyID]; ok {
		return secret, nil
	}
	return "", auth.ErrUnknownAccessKey
}

// Chunked describes a signed aws-chunked body (STREAMING-AWS4-HMAC-SHA256-PAYLOAD,
// or with Trailer and SignTrailer the -TRAILER variant).
type Chunked struct {
	Secret  string // secret access key
	Date    string // credential scope date, yyyymmdd
	Region  string
	AmzDate string // X-Amz-Date of the request, yyyymmddThhmmssZ
	Seed    string // the request's own signature (lower-case hex)
	// Trailer is an optional "name:value" trailer line (e.g. an
	// x-amz-checksum-crc32 value); SignTrailer appends x-amz-trailer-signature.
	Trailer     string
	SignTrailer bool
}

// Body returns the encoded body carrying chunks, each signed in a chain from
// Seed, followed by the final empty chunk and the trailer section.
func (c Chunked) Body(chunks ...[]byte) []byte {
	key := mac([]byte("AWS4"+c.Secret), c.Date)
	key = mac(key, c.Region)
	key = mac(key, "s3")
	key = mac(key, "aws4_request")
	scope := c.Date + "/" + c.Region + "/s3/aws4_request"
	empty := sha256.Sum256(nil)
	var b bytes.Buffer
	prev := c.Seed
	for _, data := range append(chunks, nil) {
		h := sha256.Sum256(data)
		prev = hex.EncodeToString(mac(key, "AWS4-HMAC-SHA256-PAYLOAD\n"+c.AmzDate+"\n"+scope+"\n"+prev+"\n"+
			hex.EncodeToString(empty[:])+"\n"+hex.EncodeToString(h[:])))
		fmt.Fprintf(&b, "%x;chunk-signature=%s\r\n", len(data), prev)
		if len(data) > 0 {
			b.Write(data)
			b.WriteString("\r\n")
		}
	}
	if c.Trailer != "" {
		b.WriteString(c.Trailer + "\r\n")
		if c.SignTrailer {
			h := sha256.Sum256([]byte(c.Trailer + "\n"))
			sig := hex.EncodeToString(mac(key, "AWS4-HMAC-SHA256-TRAILER\n"+c.AmzDate+"\n"+scope+"\n"+prev+"\n"+hex.EncodeToString(h[:])))
			b.WriteString("x-amz-trailer-signature:" + sig + "\r\n")
		}
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

func mac(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}
