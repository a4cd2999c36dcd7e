package auth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// TestSigV4ChecksumHeader: a x-amz-checksum-* header is checked at EOF, with a
// signed digest or with UNSIGNED-PAYLOAD.
func TestSigV4ChecksumHeader(t *testing.T) {
	body := []byte("hello")
	sum := sha256.Sum256(body)
	tests := []struct {
		name, payload, header, value, code string
	}{
		{"digest and right crc32", hex.EncodeToString(sum[:]), "x-amz-checksum-crc32", crc32Trailer("", body)[1:], ""},
		{"digest and wrong crc32", hex.EncodeToString(sum[:]), "x-amz-checksum-crc32", "AAAAAA==", "BadDigest"},
		{"unsigned and wrong crc32c", payloadUnsign, "x-amz-checksum-crc32c", "AAAAAA==", "BadDigest"},
		{"unsigned and malformed sha256", payloadUnsign, "x-amz-checksum-sha256", "AAAAAA==", "InvalidRequest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("PUT", "http://examplebucket.s3.amazonaws.com/k", bytes.NewReader(body))
			r.Header.Set("X-Amz-Content-Sha256", tt.payload)
			r.Header.Set(tt.header, tt.value)
			if err := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }).SignHTTP(context.Background(),
				aws.Credentials{AccessKeyID: awsAK, SecretAccessKey: awsSecret}, r, tt.payload, "s3", "us-east-1", awsNow); err != nil {
				t.Fatal(err)
			}
			res, err := awsVerifier(t, awsNow).Verify(r, nil)
			if err == nil {
				var got []byte
				got, err = io.ReadAll(res.Body)
				if err == nil && !bytes.Equal(got, body) {
					t.Fatalf("body %q", got)
				}
			}
			if tt.code == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantCode(t, err, tt.code, nil)
		})
	}
}

func BenchmarkVerifyCOSHeader(b *testing.B) {
	r := httptest.NewRequest("PUT", "/dir/a%20b.txt?partNumber=1&uploadId=abc", strings.NewReader("hello"))
	r.Host = "examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com"
	r.Header.Set("Content-Length", "5")
	r.Header.Set("Content-Type", "text/plain")
	r.Header.Set("X-Cos-Meta-Foo", "Bar Baz")
	r.Header.Set("Authorization", "q-sign-algorithm=sha1&q-ak=AKIDEXAMPLE&q-sign-time=1700000000;1700003600&q-key-time=1700000000;1700003600&q-header-list=content-length;content-type;host;x-cos-meta-foo&q-url-param-list=partnumber;uploadid&q-signature=7d475320a9281d3d0155adbeebf8e4865c8225e1")
	v := newTestVerifier(b, mapSecrets{"AKIDEXAMPLE": "SECRETKEYEXAMPLE"}, time.Unix(1700000100, 0))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(r, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifySigV4Header(b *testing.B) {
	r := httptest.NewRequest("GET", "http://examplebucket.s3.amazonaws.com/test.txt", nil)
	r.Header.Set("Range", "bytes=0-9")
	r.Header.Set("x-amz-content-sha256", emptySHA256)
	r.Header.Set("x-amz-date", "20130524T000000Z")
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 "+awsCred+",SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
	v := awsVerifier(b, awsNow)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(r, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkChunkedDecode/1MiB-64KiB decodes a 1 MiB signed aws-chunked body in
// 64 KiB chunks (signature check per chunk), and the unsigned-trailer twin.
func BenchmarkChunkedDecode(b *testing.B) {
	key := refSigningKey(awsSecret, "20130524", "us-east-1")
	payload := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	var chunks [][]byte
	for i := 0; i < len(payload); i += 64 << 10 {
		chunks = append(chunks, payload[i:i+64<<10])
	}
	const seed = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
	seedSig, _ := hex.DecodeString(seed)
	signedBody := refEncodeSigned(key, "20130524T000000Z", "20130524/us-east-1/s3/aws4_request", seed, chunks, "", false)
	var ub bytes.Buffer
	for _, c := range chunks {
		ub.WriteString("10000\r\n")
		ub.Write(c)
		ub.WriteString("\r\n")
	}
	ub.WriteString("0\r\n" + crc32Trailer("x-amz-checksum-crc32", payload) + "\r\n\r\n")
	unsignedBody := ub.Bytes()
	cfg := Config{}
	cfg.EnsureDefaults()
	buf := make([]byte, 32<<10)
	for _, mode := range []string{"signed", "unsigned-trailer"} {
		b.Run("1MiB-64KiB-"+mode, func(b *testing.B) {
			b.SetBytes(int64(len(payload)))
			b.ReportAllocs()
			src := bytes.NewReader(nil)
			for b.Loop() {
				c := &chunkedReader{cfg: &cfg, decodedWant: int64(len(payload))}
				if mode == "signed" {
					src.Reset(signedBody)
					c.signed = true
					c.mac = newChunkMAC(key, "20130524T000000Z", "20130524/us-east-1/s3/aws4_request", seedSig)
				} else {
					src.Reset(unsignedBody)
					c.trailer, c.alg = true, checksumByName("x-amz-checksum-crc32")
					c.sum = c.alg.new()
				}
				c.init(src)
				n, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{c}, buf)
				if err != nil || n != int64(len(payload)) {
					b.Fatal(n, err)
				}
			}
		})
	}
}
