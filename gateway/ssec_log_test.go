package gateway_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	cos "github.com/tencentyun/cos-go-sdk-v5"

	"github.com/coffer-io/coffer/gateway/gatewaytest"
)

// lockedBuffer is a bytes.Buffer safe for the concurrent writers of a cluster.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) Bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Clone(l.b.Bytes())
}

// recorder keeps every response (status line, headers, body) a client sees, and the
// signatures of its requests.
type recorder struct {
	next http.RoundTripper

	mu   sync.Mutex
	resp bytes.Buffer
	sigs []string
}

var cosSignature = regexp.MustCompile(`q-signature=([0-9a-f]+)`)

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	r.mu.Lock()
	defer r.mu.Unlock()
	if m := cosSignature.FindStringSubmatch(req.Header.Get("Authorization")); m != nil {
		r.sigs = append(r.sigs, m[1])
	}
	resp.Header.Write(&r.resp)
	r.resp.Write(body)
	return resp, nil
}

// TestSSECSecretsNotLogged runs SSE-C requests, good and bad, against a cluster
// logging at debug level and checks that neither the logs nor any response holds a
// customer key (base64, hex or raw), the secret key or a request signature.
func TestSSECSecretsNotLogged(t *testing.T) {
	var logs lockedBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := gatewaytest.StartWith(t, gatewaytest.Options{Logger: logger})
	ctx := context.Background()
	const bucket = "logs-1250000000"
	rec := &recorder{next: http.DefaultTransport}
	cl := cosClientWith(c, bucket, &cos.AuthorizationTransport{SecretID: gatewaytest.AccessKey, SecretKey: gatewaytest.SecretKey, Transport: rec})
	if _, err := cl.Bucket.Put(ctx, nil); err != nil {
		t.Fatal(err)
	}
	k1, k2 := newCustomerKey(32), newCustomerKey(32)
	data := randomBytes(100 << 10)

	// Successes.
	if _, err := cl.Object.Put(ctx, "obj", bytes.NewReader(data), &cos.ObjectPutOptions{ObjectPutHeaderOptions: k1.put()}); err != nil {
		t.Fatal(err)
	}
	resp, err := cl.Object.Get(ctx, "obj", k1.get())
	if err != nil || !bytes.Equal(readAll(t, resp), data) {
		t.Fatalf("get: %v", err)
	}
	if _, err := cl.Object.Head(ctx, "obj", k1.head()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := cl.Object.Copy(ctx, "copy", c.Host(bucket)+"/obj", &cos.ObjectCopyOptions{ObjectCopyHeaderOptions: k1.copyFrom(
		&cos.ObjectCopyHeaderOptions{XCosSSECustomerAglo: "AES256", XCosSSECustomerKey: k2.b64, XCosSSECustomerKeyMD5: k2.md5})}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, randomBytes(2<<20+1), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := cl.Object.Upload(ctx, "multi", path, &cos.MultiUploadOptions{
		PartSize: 1, OptIni: &cos.InitiateMultipartUploadOptions{ObjectPutHeaderOptions: k2.put()},
	}); err != nil {
		t.Fatal(err)
	}
	// Failures: each error goes through the logs and an error body.
	badMD5 := k1.put()
	badMD5.XCosSSECustomerKeyMD5 = k2.md5
	for _, err := range []error{
		func() error { _, err := cl.Object.Get(ctx, "obj", k2.get()); return err }(),
		func() error { _, err := cl.Object.Get(ctx, "obj", nil); return err }(),
		func() error { _, err := cl.Object.Get(ctx, "copy", k1.get()); return err }(),
		func() error {
			_, err := cl.Object.Put(ctx, "bad", strings.NewReader("x"), &cos.ObjectPutOptions{ObjectPutHeaderOptions: badMD5})
			return err
		}(),
		func() error {
			_, _, err := cl.Object.Copy(ctx, "copy2", c.Host(bucket)+"/obj", &cos.ObjectCopyOptions{ObjectCopyHeaderOptions: k2.copyFrom(&cos.ObjectCopyHeaderOptions{})})
			return err
		}(),
	} {
		if err == nil {
			t.Fatal("a request meant to fail succeeded")
		}
	}

	logged := logs.Bytes()
	if n := bytes.Count(logged, []byte("level=DEBUG")); n < 15 {
		t.Fatalf("only %d debug log lines: the logger is not wired", n)
	}
	rec.mu.Lock()
	responses, sigs := rec.resp.Bytes(), rec.sigs
	rec.mu.Unlock()
	if len(sigs) < 15 {
		t.Fatalf("recorded only %d signatures", len(sigs))
	}
	secrets := map[string][]byte{"secret key": []byte(gatewaytest.SecretKey)}
	for name, k := range map[string]customerKey{"key 1": k1, "key 2": k2} {
		secrets[name+" base64"] = []byte(k.b64)
		secrets[name+" hex"] = []byte(hex.EncodeToString(k.raw))
		secrets[name+" HEX"] = []byte(strings.ToUpper(hex.EncodeToString(k.raw)))
		secrets[name+" raw"] = k.raw
	}
	for i, s := range sigs {
		secrets["signature "+string(rune('a'+i%26))+s[:8]] = []byte(s)
	}
	for name, secret := range secrets {
		if bytes.Contains(logged, secret) {
			t.Errorf("the logs hold the %s", name)
		}
		if bytes.Contains(responses, secret) {
			t.Errorf("a response holds the %s", name)
		}
	}
	// The key MD5 is what responses may show instead.
	if !bytes.Contains(responses, []byte(k1.md5)) {
		t.Error("no response echoes the key MD5: the recorder sees nothing")
	}
}
