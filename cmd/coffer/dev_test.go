package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coffer-io/coffer/internal/pki"
	cos "github.com/tencentyun/cos-go-sdk-v5"
)

// devStartTimeout bounds a dev cluster's start in tests.
const devStartTimeout = 60 * time.Second

// runningDev is a dev cluster started by a test.
type runningDev struct {
	ready  devReady
	banner string
	stop   func() error
}

// startDev runs runDev on dir with loopback port 0 everywhere and waits until ready.
func startDev(t testing.TB, dir string, lookup env) *runningDev {
	t.Helper()
	s := defaultDevSettings()
	s.DataDir, s.HTTPAddr, s.HTTPSAddr = dir, "127.0.0.1:0", "127.0.0.1:0"
	ctx, cancel := context.WithCancel(context.Background())
	var banner bytes.Buffer
	readyc := make(chan devReady, 1)
	done := make(chan error, 1)
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	go func() {
		done <- runDev(ctx, s, lookup, &banner, log, func(r devReady) { readyc <- r })
	}()
	var once sync.Once
	var stopErr error
	rd := &runningDev{stop: func() error {
		once.Do(func() {
			cancel()
			stopErr = <-done
		})
		return stopErr
	}}
	t.Cleanup(func() { rd.stop() })
	select {
	case rd.ready = <-readyc:
	case err := <-done:
		cancel()
		t.Fatalf("runDev returned before ready: %v", err)
	case <-time.After(devStartTimeout):
		t.Fatal("dev cluster not ready in time")
	}
	rd.banner = banner.String() // written before the ready callback
	return rd
}

func noEnv(string) (string, bool) { return "", false }

// cosClient is a COS Go SDK client of bucket on endpoint, default configuration.
func cosClient(t testing.TB, endpoint, bucket string, c credentials, transport http.RoundTripper) *cos.Client {
	t.Helper()
	u, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	cl := cos.NewClient(&cos.BaseURL{BucketURL: u}, &http.Client{Transport: &cos.AuthorizationTransport{
		SecretID: c.AccessKeyID, SecretKey: c.SecretKey, Transport: transport,
	}})
	cl.Host = bucket + ".localhost:" + u.Port()
	return cl
}

func getObject(t testing.TB, cl *cos.Client, key string) []byte {
	t.Helper()
	resp, err := cl.Object.Get(context.Background(), key, nil)
	if err != nil {
		t.Fatalf("GET %s: %v", key, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s body: %v", key, err)
	}
	return b
}

func httpStatus(t *testing.T, hc *http.Client, u string) int {
	t.Helper()
	resp, err := hc.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// markerObject returns size bytes of pseudo-random text with marker in several places.
func markerObject(marker string, size int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, "%s line %d %x\n", marker, i, i*2654435761)
	}
	return b.Bytes()[:size]
}

// TestDevRestartDurable runs `coffer dev` in process, writes objects through the
// official COS Go SDK, stops it, starts it again on the same data directory and reads
// them back; then it checks that no file under the data directory holds plaintext.
func TestDevRestartDurable(t *testing.T) {
	dir := t.TempDir()
	const bucket = "durable-1250000000"
	const marker = "COFFER-PLAINTEXT-MARKER-9c41e7"
	small := markerObject(marker, 3000)    // inline in a storage node's Pebble
	large := markerObject(marker, 700<<10) // shard files on disk

	d := startDev(t, dir, noEnv)
	creds := d.ready.Credentials
	if !strings.HasPrefix(creds.AccessKeyID, accessKeyIDPrefix) || len(creds.AccessKeyID) != len(accessKeyIDPrefix)+accessKeyRandomChars || len(creds.SecretKey) != secretKeyChars {
		t.Fatalf("generated credentials have the wrong shape: id %q, secret length %d", creds.AccessKeyID, len(creds.SecretKey))
	}
	checkBanner(t, d, dir)
	if got := httpStatus(t, http.DefaultClient, d.ready.HTTPURL+"/-/healthz"); got != http.StatusOK {
		t.Errorf("healthz = %d", got)
	}
	if got := httpStatus(t, http.DefaultClient, d.ready.HTTPURL+"/-/ready"); got != http.StatusOK {
		t.Errorf("ready = %d", got)
	}

	cl := cosClient(t, d.ready.HTTPURL, bucket, creds, nil)
	ctx := context.Background()
	if _, err := cl.Bucket.Put(ctx, nil); err != nil {
		t.Fatalf("PUT bucket: %v", err)
	}
	for key, body := range map[string][]byte{"small.txt": small, "dir/large.txt": large} {
		if _, err := cl.Object.Put(ctx, key, bytes.NewReader(body), nil); err != nil {
			t.Fatalf("PUT %s: %v", key, err)
		}
		if got := getObject(t, cl, key); !bytes.Equal(got, body) {
			t.Fatalf("GET %s: %d bytes differ from the %d put", key, len(got), len(body))
		}
	}
	if err := d.stop(); err != nil {
		t.Fatalf("clean stop: %v", err)
	}

	// Same data directory: same credentials, CA, raft state and shards.
	d2 := startDev(t, dir, noEnv)
	if d2.ready.Credentials != creds {
		t.Fatalf("credentials changed across restart")
	}
	if d2.ready.MetaAddr != d.ready.MetaAddr {
		t.Errorf("meta address changed across restart: %s → %s", d.ready.MetaAddr, d2.ready.MetaAddr)
	}
	// Read back over HTTPS, trusting only the CA from the data directory.
	pool, err := pki.LoadPool(filepath.Join(dir, "tls", "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	cl2 := cosClient(t, d2.ready.HTTPSURL, bucket, creds, tr)
	for key, body := range map[string][]byte{"small.txt": small, "dir/large.txt": large} {
		if got := getObject(t, cl2, key); !bytes.Equal(got, body) {
			t.Fatalf("after restart, GET %s: %d bytes differ from the %d put", key, len(got), len(body))
		}
	}
	// Writes work after the restart too (HTTP/2 over TLS here).
	resp, err := cl2.Object.Put(ctx, "after-restart", bytes.NewReader(small), nil)
	if err != nil {
		t.Fatalf("PUT after restart: %v", err)
	}
	if resp.Proto != "HTTP/2.0" {
		t.Errorf("HTTPS answered with %s, want HTTP/2.0", resp.Proto)
	}
	if got := getObject(t, cl2, "after-restart"); !bytes.Equal(got, small) {
		t.Fatal("GET after-restart: other bytes")
	}
	if err := d2.stop(); err != nil {
		t.Fatalf("clean stop: %v", err)
	}

	// Nothing stored in plaintext: no file under the data directory holds the marker.
	files := 0
	err = filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		files++
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(marker)) {
			t.Errorf("%s holds object plaintext", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 20 {
		t.Fatalf("only %d files under the data directory: the walk did not see the stores", files)
	}
}

// checkBanner: the banner names the endpoints, the CA and the credentials, and never
// the root key.
func checkBanner(t *testing.T, d *runningDev, dir string) {
	t.Helper()
	for _, want := range []string{d.ready.HTTPURL, d.ready.HTTPSURL, filepath.Join(dir, "tls", "ca.pem"),
		"<bucket>-" + exampleAppID + ".localhost", d.ready.Credentials.AccessKeyID, d.ready.Credentials.SecretKey} {
		if want == "" || !strings.Contains(d.banner, want) {
			t.Errorf("banner lacks %q:\n%s", want, d.banner)
		}
	}
	key, err := os.ReadFile(filepath.Join(dir, "root.key"))
	if err != nil {
		t.Fatal(err)
	}
	if len(key) != 32 {
		t.Fatalf("root.key holds %d bytes", len(key))
	}
	for _, form := range []string{string(key), hex.EncodeToString(key), strings.ToUpper(hex.EncodeToString(key)),
		base64.StdEncoding.EncodeToString(key), base64.RawURLEncoding.EncodeToString(key)} {
		if strings.Contains(d.banner, form) {
			t.Fatalf("banner shows the root key")
		}
	}
	for _, p := range []string{"root.key", "credentials", "tls/ca-key.pem", "tls/node-key.pem"} {
		fi, err := os.Stat(filepath.Join(dir, p))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", p, fi.Mode().Perm())
		}
	}
}

// TestDevInterruptedStart stops dev while it is still starting: the run ends as a
// clean stop and leaves nothing locked, so the next start on the directory works.
func TestDevInterruptedStart(t *testing.T) {
	dir := t.TempDir()
	for _, after := range []time.Duration{0, 50 * time.Millisecond, 300 * time.Millisecond} {
		s := defaultDevSettings()
		s.DataDir, s.HTTPAddr, s.HTTPSAddr = dir, "127.0.0.1:0", "127.0.0.1:0"
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- runDev(ctx, s, noEnv, io.Discard, slog.New(slog.DiscardHandler), nil) }()
		time.Sleep(after)
		cancel()
		select {
		case err := <-done:
			if err := stoppedEarly(ctx, err); err != nil {
				t.Fatalf("interrupted after %v: %v", after, err)
			}
		case <-time.After(devStartTimeout):
			t.Fatalf("runDev did not return after cancel (%v)", after)
		}
	}
	d := startDev(t, dir, noEnv)
	if got := httpStatus(t, http.DefaultClient, d.ready.HTTPURL+"/-/ready"); got != http.StatusOK {
		t.Errorf("ready after interrupted starts = %d", got)
	}
}
