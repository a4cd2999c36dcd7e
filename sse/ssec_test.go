package sse

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// The worked example of cos-api.md section 3.1.
const (
	exampleKeyB64 = "MDEyMzQ1Njc4OUFCQ0RFRjAxMjM0NTY3ODlBQkNERUY="
	exampleMD5B64 = "U5L61r7jcwdNvT7frmUG8g=="
)

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func md5b64(b []byte) string {
	s := md5.Sum(b)
	return b64(s[:])
}

func TestParseCustomerKey(t *testing.T) {
	k31, k32, k33 := bytes.Repeat([]byte{7}, 31), bytes.Repeat([]byte{7}, 32), bytes.Repeat([]byte{7}, 33)
	tests := []struct {
		name          string
		alg, key, sum string
		want          error
	}{
		{"cos example", "AES256", exampleKeyB64, exampleMD5B64, nil},
		{"generated", "AES256", b64(k32), md5b64(k32), nil},
		{"no algorithm", "", exampleKeyB64, exampleMD5B64, ErrSSECIncomplete},
		{"no key", "AES256", "", exampleMD5B64, ErrSSECIncomplete},
		{"no md5", "AES256", exampleKeyB64, "", ErrSSECIncomplete},
		{"lower-case algorithm", "aes256", exampleKeyB64, exampleMD5B64, ErrSSECAlgorithm},
		{"kms algorithm", "cos/kms", exampleKeyB64, exampleMD5B64, ErrSSECAlgorithm},
		{"key not base64", "AES256", "not base64!!", exampleMD5B64, ErrSSECKey},
		{"key url-safe alphabet", "AES256", strings.NewReplacer("+", "-", "/", "_").Replace(b64(bytes.Repeat([]byte{0xfb}, 32))), md5b64(bytes.Repeat([]byte{0xfb}, 32)), ErrSSECKey},
		{"key 31 bytes", "AES256", b64(k31), md5b64(k31), ErrSSECKey},
		{"key 33 bytes", "AES256", b64(k33), md5b64(k33), ErrSSECKey},
		{"key very long", "AES256", strings.Repeat("QUFB", 1000), exampleMD5B64, ErrSSECKey},
		{"key unpadded", "AES256", strings.TrimRight(exampleKeyB64, "="), exampleMD5B64, ErrSSECKey},
		{"md5 mismatch", "AES256", b64(k32), exampleMD5B64, ErrSSECKeyMD5},
		{"md5 not base64", "AES256", exampleKeyB64, "?", ErrSSECKeyMD5},
		{"md5 wrong length", "AES256", exampleKeyB64, b64(make([]byte, 15)), ErrSSECKeyMD5},
		{"md5 too long", "AES256", exampleKeyB64, exampleMD5B64 + "AAAA", ErrSSECKeyMD5},
		{"md5 hex", "AES256", exampleKeyB64, fmt.Sprintf("%x", md5.Sum([]byte("0123456789ABCDEF0123456789ABCDEF"))), ErrSSECKeyMD5},
	}
	for _, tt := range tests {
		key, err := ParseCustomerKey(tt.alg, tt.key, tt.sum)
		if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
			t.Errorf("%s: got %v, want %v", tt.name, err, tt.want)
			continue
		}
		if err != nil {
			if tt.key != "" && strings.Contains(err.Error(), tt.key) {
				t.Errorf("%s: error %q contains the key", tt.name, err)
			}
			continue
		}
		if CustomerKeyMD5(key) != tt.sum {
			t.Errorf("%s: CustomerKeyMD5 = %s, want %s", tt.name, CustomerKeyMD5(key), tt.sum)
		}
	}
	key, _ := ParseCustomerKey("AES256", exampleKeyB64, exampleMD5B64)
	if string(key[:]) != "0123456789ABCDEF0123456789ABCDEF" {
		t.Fatal("cos example key decoded wrongly")
	}
}

func FuzzParseCustomerKey(f *testing.F) {
	f.Add("AES256", exampleKeyB64, exampleMD5B64)
	f.Add("AES256", exampleKeyB64, "")
	f.Add("AES256", "====", "====")
	f.Fuzz(func(t *testing.T, alg, key, sum string) {
		k, err := ParseCustomerKey(alg, key, sum)
		if err != nil {
			if key != "" && len(key) > 4 && strings.Contains(err.Error(), key) {
				t.Fatalf("error %q contains the key", err)
			}
			return
		}
		if alg != SSECAlgorithm || CustomerKeyMD5(k) != md5b64(k[:]) {
			t.Fatal("accepted headers that do not check out")
		}
	})
}

func TestKeyRedaction(t *testing.T) {
	key := testKey('A') // printable bytes, so a leak would show
	wrapped := struct{ K Key }{key}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%c"} {
		for _, v := range []any{key, &key, wrapped, &wrapped, []Key{key}} {
			out := fmt.Sprintf(verb, v)
			if strings.Contains(out, "ABC") || strings.Contains(out, "414243") || strings.Contains(out, "65 66") {
				t.Errorf("%s of %T leaks the key: %s", verb, v, out)
			}
			if !strings.Contains(out, "REDACTED") {
				t.Errorf("%s of %T prints no redaction: %s", verb, v, out)
			}
		}
	}
}

func TestCustomerKEKAndMAC(t *testing.T) {
	key, err := ParseCustomerKey("AES256", exampleKeyB64, exampleMD5B64)
	if err != nil {
		t.Fatal(err)
	}
	salt, err := NewSalt(seeded(5))
	if err != nil {
		t.Fatal(err)
	}
	kek, err := CustomerKEK(key, salt)
	if err != nil {
		t.Fatal(err)
	}
	if want := refHKDF(key[:], salt, []byte("coffer sse-c kek v1")); kek != want {
		t.Fatal("CustomerKEK differs from the RFC 5869 reference")
	}
	mac, err := CustomerKeyMAC(key, salt)
	if err != nil || len(mac) != CustomerKeyMACBytes {
		t.Fatalf("mac: %v, %d bytes", err, len(mac))
	}
	if bytes.Equal(mac, kek[:]) || kek == key {
		t.Fatal("KEK, MAC and key must be independent")
	}
	if err := VerifyCustomerKey(key, salt, mac); err != nil {
		t.Fatalf("right key rejected: %v", err)
	}
	other := key
	other[31] ^= 1
	if err := VerifyCustomerKey(other, salt, mac); !errors.Is(err, ErrSSECKeyMismatch) {
		t.Fatalf("wrong key: got %v, want ErrSSECKeyMismatch", err)
	}
	salt2, _ := NewSalt(seeded(6))
	if err := VerifyCustomerKey(key, salt2, mac); !errors.Is(err, ErrSSECKeyMismatch) {
		t.Fatalf("wrong salt: got %v", err)
	}
	if kek2, _ := CustomerKEK(key, salt2); kek2 == kek {
		t.Fatal("two salts give one KEK")
	}
	if err := VerifyCustomerKey(key, salt, mac[:31]); !errors.Is(err, ErrSSECKeyMismatch) {
		t.Fatalf("short mac: got %v", err)
	}
	for _, short := range [][]byte{nil, make([]byte, SaltBytesMin-1)} {
		if _, err := CustomerKEK(key, short); !errors.Is(err, ErrSalt) {
			t.Errorf("salt of %d: got %v, want ErrSalt", len(short), err)
		}
		if _, err := CustomerKeyMAC(key, short); !errors.Is(err, ErrSalt) {
			t.Errorf("salt of %d: got %v, want ErrSalt", len(short), err)
		}
	}
	// The SSE-C path end to end: a DEK sealed under the customer KEK opens only with it.
	b := Binding{Bucket: "b", Key: "k", VersionID: "v", Mode: ModeC}
	sealed, err := SealDEK(seeded(7), kek, testKey(9), b)
	if err != nil {
		t.Fatal(err)
	}
	otherKEK, _ := CustomerKEK(other, salt)
	if _, err := UnsealDEK(otherKEK, sealed, b); !errors.Is(err, ErrAuth) {
		t.Fatalf("DEK opened under another customer's KEK: %v", err)
	}
}
