package auth

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Reference (slow twin) of the chunk signing chain, written independently of
// chunkMAC with plain string building.
func refHMAC(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

func refSigningKey(secret, date, region string) []byte {
	return refHMAC(refHMAC(refHMAC(refHMAC([]byte("AWS4"+secret), date), region), "s3"), "aws4_request")
}

func refHex(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func refChunkSig(key []byte, amzDate, scope, prev string, data []byte) string {
	sts := "AWS4-HMAC-SHA256-PAYLOAD\n" + amzDate + "\n" + scope + "\n" + prev + "\n" + refHex(nil) + "\n" + refHex(data)
	return hex.EncodeToString(refHMAC(key, sts))
}

func refTrailerSig(key []byte, amzDate, scope, prev, trailers string) string {
	sts := "AWS4-HMAC-SHA256-TRAILER\n" + amzDate + "\n" + scope + "\n" + prev + "\n" + refHex([]byte(trailers))
	return hex.EncodeToString(refHMAC(key, sts))
}

// refEncodeSigned builds a signed aws-chunked body. trailer is "" or
// "name:value"; with signedTrailer an x-amz-trailer-signature line follows it.
func refEncodeSigned(key []byte, amzDate, scope, seed string, chunks [][]byte, trailer string, signedTrailer bool) []byte {
	var b bytes.Buffer
	prev := seed
	for _, c := range append(chunks, nil) {
		prev = refChunkSig(key, amzDate, scope, prev, c)
		fmt.Fprintf(&b, "%x;chunk-signature=%s\r\n", len(c), prev)
		if len(c) > 0 {
			b.Write(c)
			b.WriteString("\r\n")
		}
	}
	if trailer != "" {
		b.WriteString(trailer + "\r\n")
		if signedTrailer {
			b.WriteString("x-amz-trailer-signature:" + refTrailerSig(key, amzDate, scope, prev, trailer+"\n") + "\r\n")
		}
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

// refDecodeSigned is the reference decoder: it returns the payload of every
// chunk whose signature verified, in order, and whether the whole body is valid.
func refDecodeSigned(body []byte, key []byte, amzDate, scope, seed string, declared int64) ([]byte, bool) {
	var out []byte
	prev, rest := seed, body
	for {
		i := bytes.Index(rest, []byte("\r\n"))
		if i < 0 {
			return out, false
		}
		hdr := string(rest[:i])
		rest = rest[i+2:]
		sizeHex, sig, ok := strings.Cut(hdr, ";chunk-signature=")
		size, err := strconv.ParseUint(sizeHex, 16, 64)
		if !ok || err != nil || size > uint64(len(rest)) || len(sizeHex) > 16 {
			return out, false
		}
		data := rest[:size]
		rest = rest[size:]
		want := refChunkSig(key, amzDate, scope, prev, data)
		if strings.ToLower(sig) != want {
			return out, false
		}
		prev = want
		if size == 0 {
			return out, string(rest) == "\r\n" && int64(len(out)) == declared
		}
		if int64(len(out))+int64(size) > declared || !bytes.HasPrefix(rest, []byte("\r\n")) {
			return out, false
		}
		out = append(out, data...)
		rest = rest[2:]
	}
}

// signedStreamRequest builds a header-signed streaming request; the seed
// signature comes from the AWS SDK's own signer (independent of ours).
func signedStreamRequest(t testing.TB, mode, trailerName string, decoded int, body func(seed string) []byte) *http.Request {
	t.Helper()
	r := httptest.NewRequest("PUT", "http://examplebucket.s3.amazonaws.com/dir/obj%20ect.txt", nil)
	r.Header.Set("X-Amz-Content-Sha256", mode)
	r.Header.Set("X-Amz-Decoded-Content-Length", strconv.Itoa(decoded))
	r.Header.Set("Content-Encoding", "aws-chunked")
	if trailerName != "" {
		r.Header.Set("X-Amz-Trailer", trailerName)
	}
	// S3 signs the path escaped once (DisableURIPathEscaping), as the S3 client does.
	err := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }).SignHTTP(context.Background(), aws.Credentials{AccessKeyID: awsAK, SecretAccessKey: awsSecret},
		r, mode, "s3", "us-east-1", awsNow)
	if err != nil {
		t.Fatal(err)
	}
	authz := r.Header.Get("Authorization")
	seed := authz[strings.LastIndex(authz, "=")+1:]
	b := body(seed)
	r.Body = io.NopCloser(bytes.NewReader(b))
	r.ContentLength = int64(len(b))
	return r
}

func crc32Trailer(name string, data []byte) string {
	var sum [4]byte
	v := crc32.ChecksumIEEE(data)
	sum[0], sum[1], sum[2], sum[3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
	return name + ":" + base64.StdEncoding.EncodeToString(sum[:])
}

func TestChunkedModes(t *testing.T) {
	key := refSigningKey(awsSecret, "20130524", "us-east-1")
	const scope = "20130524/us-east-1/s3/aws4_request"
	const date = "20130524T000500Z"                           // awsNow, as signed by signedStreamRequest
	payload := bytes.Repeat([]byte("0123456789abcdef"), 5000) // 80000 bytes
	chunks := [][]byte{payload[:65536], payload[65536:]}
	good := crc32Trailer("x-amz-checksum-crc32", payload)
	badSum := crc32Trailer("x-amz-checksum-crc32", payload[1:])
	unsigned := func(trailer string, data []byte) []byte {
		var b bytes.Buffer
		for _, c := range [][]byte{data[:65536], data[65536:]} {
			fmt.Fprintf(&b, "%x\r\n%s\r\n", len(c), c)
		}
		b.WriteString("0\r\n" + trailer + "\r\n\r\n")
		return b.Bytes()
	}
	corrupt := bytes.Clone(payload)
	corrupt[70000] ^= 1

	tests := []struct {
		name     string
		mode     string
		trailer  string // x-amz-trailer header
		decoded  int
		body     func(seed string) []byte
		code     string
		released int // bytes released before the error (-1: don't check)
	}{
		{"signed", payloadStreamSigned, "", len(payload), func(s string) []byte {
			return refEncodeSigned(key, date, scope, s, chunks, "", false)
		}, "", len(payload)},
		{"signed trailer", payloadStreamSignedTrailer, "x-amz-checksum-crc32", len(payload), func(s string) []byte {
			return refEncodeSigned(key, date, scope, s, chunks, good, true)
		}, "", len(payload)},
		{"signed trailer wrong checksum", payloadStreamSignedTrailer, "x-amz-checksum-crc32", len(payload), func(s string) []byte {
			return refEncodeSigned(key, date, scope, s, chunks, badSum, true)
		}, "BadDigest", -1},
		{"signed trailer bad trailer signature", payloadStreamSignedTrailer, "x-amz-checksum-crc32", len(payload), func(s string) []byte {
			b := refEncodeSigned(key, date, scope, s, chunks, good, true)
			i := bytes.Index(b, []byte("x-amz-trailer-signature:")) + 30
			b[i] ^= 1
			return b
		}, "SignatureDoesNotMatch", -1},
		{"signed trailer tampered value", payloadStreamSignedTrailer, "x-amz-checksum-crc32", len(payload), func(s string) []byte {
			b := refEncodeSigned(key, date, scope, s, chunks, good, true)
			return bytes.Replace(b, []byte(good), []byte(badSum), 1)
		}, "SignatureDoesNotMatch", -1},
		{"signed trailer missing signature", payloadStreamSignedTrailer, "x-amz-checksum-crc32", len(payload), func(s string) []byte {
			return refEncodeSigned(key, date, scope, s, chunks, good, false)
		}, "InvalidRequest", -1},
		{"signed undeclared trailer", payloadStreamSigned, "", len(payload), func(s string) []byte {
			return refEncodeSigned(key, date, scope, s, chunks, good, false)
		}, "InvalidRequest", -1},
		{"signed short declared length", payloadStreamSigned, "", len(payload) - 1, func(s string) []byte {
			return refEncodeSigned(key, date, scope, s, chunks, "", false)
		}, "IncompleteBody", 65536},
		{"signed long declared length", payloadStreamSigned, "", len(payload) + 1, func(s string) []byte {
			return refEncodeSigned(key, date, scope, s, chunks, "", false)
		}, "IncompleteBody", len(payload)},
		{"signed data after end", payloadStreamSigned, "", len(payload), func(s string) []byte {
			return append(refEncodeSigned(key, date, scope, s, chunks, "", false), 'x')
		}, "InvalidRequest", len(payload)},
		{"signed wrong seed", payloadStreamSigned, "", len(payload), func(s string) []byte {
			return refEncodeSigned(key, date, scope, strings.Repeat("0", 64), chunks, "", false)
		}, "SignatureDoesNotMatch", 0},
		{"unsigned trailer", payloadStreamUnsignedTrailer, "x-amz-checksum-crc32", len(payload), func(string) []byte {
			return unsigned(good, payload)
		}, "", len(payload)},
		{"unsigned trailer corrupt data", payloadStreamUnsignedTrailer, "x-amz-checksum-crc32", len(payload), func(string) []byte {
			return unsigned(good, corrupt)
		}, "BadDigest", len(payload)},
		{"unsigned trailer wrong name", payloadStreamUnsignedTrailer, "x-amz-checksum-crc32", len(payload), func(string) []byte {
			return unsigned(crc32Trailer("x-amz-checksum-crc32c", payload), payload)
		}, "InvalidRequest", len(payload)},
		{"unsigned trailer bad value", payloadStreamUnsignedTrailer, "x-amz-checksum-crc32", len(payload), func(string) []byte {
			return unsigned("x-amz-checksum-crc32:!!", payload)
		}, "InvalidRequest", len(payload)},
		{"unsigned trailer unsupported", payloadStreamUnsignedTrailer, "x-amz-checksum-md5", len(payload), func(string) []byte {
			return unsigned(good, payload)
		}, "InvalidRequest", -2},
		{"unsigned trailer truncated", payloadStreamUnsignedTrailer, "x-amz-checksum-crc32", len(payload), func(string) []byte {
			return unsigned(good, payload)[:70000]
		}, "IncompleteBody", -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := signedStreamRequest(t, tt.mode, tt.trailer, tt.decoded, tt.body)
			res, err := awsVerifier(t, awsNow).Verify(r, nil)
			if tt.released == -2 {
				wantCode(t, err, tt.code, nil)
				return
			}
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			got, err := io.ReadAll(res.Body)
			if tt.code == "" {
				if err != nil || !bytes.Equal(got, payload) {
					t.Fatalf("decoded %d bytes, err %v", len(got), err)
				}
				return
			}
			wantCode(t, err, tt.code, nil)
			if tt.released >= 0 && len(got) != tt.released {
				t.Fatalf("released %d bytes before failing, want %d", len(got), tt.released)
			}
			// The error is sticky.
			if _, err2 := res.Body.Read(make([]byte, 1)); !errors.Is(err2, err) && err2 != err {
				t.Fatalf("second read returned %v after %v", err2, err)
			}
		})
	}
}

func TestChunkedLimits(t *testing.T) {
	key := refSigningKey(awsSecret, "20130524", "us-east-1")
	v, err := New(mapSecrets{awsAK: awsSecret}, Config{Now: func() time.Time { return awsNow }, ChunkBytesMax: 1000, ChunkLineBytesMax: 200, TrailerBytesMax: 300})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		body func(seed string) []byte
	}{
		{"chunk too big", func(s string) []byte {
			return refEncodeSigned(key, "20130524T000500Z", "20130524/us-east-1/s3/aws4_request", s, [][]byte{make([]byte, 1001)}, "", false)
		}},
		{"header line too long", func(string) []byte { return []byte("10;" + strings.Repeat("x", 300) + "\r\n") }},
		{"size too many digits", func(string) []byte { return []byte("00000000000000001;chunk-signature=00\r\n") }},
		{"bad size", func(string) []byte { return []byte("zz;chunk-signature=00\r\n") }},
		{"bare LF", func(string) []byte { return []byte("1;chunk-signature=" + strings.Repeat("0", 64) + "\n") }},
		{"trailer section too big", func(s string) []byte {
			b := refEncodeSigned(key, "20130524T000500Z", "20130524/us-east-1/s3/aws4_request", s, nil, "", false)
			return append(b[:len(b)-2], strings.Repeat("x-a:"+strings.Repeat("b", 100)+"\r\n", 5)+"\r\n"...)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := v.Verify(signedStreamRequest(t, payloadStreamSigned, "", 1001, tt.body), nil)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(res.Body)
			wantCode(t, err, "InvalidRequest", ErrMalformedBody)
			if len(got) != 0 {
				t.Fatalf("released %d bytes", len(got))
			}
		})
	}
	if err := (&Config{Now: time.Now, ClockSkewMax: -1, ChunkBytesMax: -1, ChunkLineBytesMax: 1, TrailerBytesMax: 0, Region: "a/b"}).Validate(); err == nil ||
		strings.Count(err.Error(), "\n") < 4 {
		t.Fatalf("Validate should report all five problems, got %v", err)
	}
}

// FuzzChunkedReader feeds arbitrary bodies to the signed decoder: it must never
// panic and never release a byte the reference decoder did not verify; a clean
// EOF means the reference accepts the whole body.
func FuzzChunkedReader(f *testing.F) {
	key := refSigningKey(awsSecret, "20130524", "us-east-1")
	const scope = "20130524/us-east-1/s3/aws4_request"
	const date = "20130524T000000Z"
	const seed = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
	f.Add(awsChunkedExample(awsChunkSigs), int64(66560), false)
	f.Add(refEncodeSigned(key, date, scope, seed, [][]byte{[]byte("hello"), []byte(" world")}, "", false), int64(11), false)
	f.Add(refEncodeSigned(key, date, scope, seed, nil, "", false), int64(0), false)
	f.Add([]byte("5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n"), int64(5), true)
	f.Add([]byte("ffffffffffffffff;chunk-signature=00\r\n"), int64(1), false)
	f.Add([]byte("0\r\n\r\n"), int64(0), true)
	seedSig, _ := hex.DecodeString(seed)
	cfg := Config{}
	cfg.EnsureDefaults()
	cfg.ChunkBytesMax = 1 << 17
	f.Fuzz(func(t *testing.T, body []byte, declared int64, unsignedMode bool) {
		if declared < 0 || declared > 1<<20 {
			return
		}
		c := &chunkedReader{cfg: &cfg, decodedWant: declared}
		if unsignedMode {
			c.trailer, c.alg = true, checksumByName("x-amz-checksum-crc32")
			c.sum = c.alg.new()
		} else {
			c.signed = true
			c.mac = newChunkMAC(key, date, scope, seedSig)
		}
		c.init(bytes.NewReader(body))
		out, err := io.ReadAll(c)
		if err != nil {
			var ae *Error
			if !errors.As(err, &ae) {
				t.Fatalf("error %v is not an *Error", err)
			}
		}
		if int64(len(out)) > declared {
			t.Fatalf("released %d bytes, more than the declared %d", len(out), declared)
		}
		if unsignedMode {
			if err == nil && !bytes.Contains(body, []byte("\r\n"+crc32Trailer("x-amz-checksum-crc32", out)+"\r\n")) {
				t.Fatalf("clean EOF but trailer does not match the output")
			}
			return
		}
		ref, ok := refDecodeSigned(body, key, date, scope, seed, declared)
		if !bytes.HasPrefix(ref, out) {
			t.Fatalf("released %d bytes that the reference did not verify", len(out))
		}
		if err == nil && (!ok || !bytes.Equal(ref, out)) {
			t.Fatalf("clean EOF but the reference rejects the body (ok=%v)", ok)
		}
	})
}

// TestChunkedSmallReads decodes the AWS example through a source that returns
// one byte per Read, a source that returns data with io.EOF, and odd-sized
// destination buffers; the result must not depend on read sizes.
func TestChunkedSmallReads(t *testing.T) {
	body := awsChunkedExample(awsChunkSigs)
	want := bytes.Repeat([]byte{'a'}, 66560)
	sources := map[string]func() io.Reader{
		"one byte":  func() io.Reader { return iotest.OneByteReader(bytes.NewReader(body)) },
		"data+EOF":  func() io.Reader { return iotest.DataErrReader(bytes.NewReader(body)) },
		"half read": func() io.Reader { return iotest.HalfReader(bytes.NewReader(body)) },
	}
	for name, src := range sources {
		for _, n := range []int{1, 7, 4096, 100000} {
			r := awsChunkedRequest(nil)
			r.Body = io.NopCloser(src())
			res, err := awsVerifier(t, awsNow).Verify(r, nil)
			if err != nil {
				t.Fatal(err)
			}
			var got []byte
			buf := make([]byte, n)
			for {
				k, err := res.Body.Read(buf)
				got = append(got, buf[:k]...)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("%s/%d: %v", name, n, err)
				}
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("%s/%d: decoded %d bytes", name, n, len(got))
			}
		}
	}
	// A source that fails mid-body passes its error through unchanged.
	r := awsChunkedRequest(nil)
	r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body[:1000]), iotest.ErrReader(errors.New("connection reset"))))
	res, _ := awsVerifier(t, awsNow).Verify(r, nil)
	got, err := io.ReadAll(res.Body)
	if err == nil || err.Error() != "connection reset" || len(got) != 0 {
		t.Fatalf("got %d bytes, %v", len(got), err)
	}
}
