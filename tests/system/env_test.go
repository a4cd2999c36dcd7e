//go:build e2e

package system

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/logging"
	cos "github.com/tencentyun/cos-go-sdk-v5"
)

// Limits of the system tests; each step is bounded so the whole run stays well under
// the 15 minutes of `make test-cluster`.
const (
	// requestTimeout bounds one SDK request (retries included).
	requestTimeout = 30 * time.Second
	// cutRequestTimeout bounds one write while a node is cut off the network.
	cutRequestTimeout = 20 * time.Second
	// dockerTimeout bounds one docker or compose command.
	dockerTimeout = 90 * time.Second
	// readyTimeout bounds waiting for a gateway's /-/ready after a restart.
	readyTimeout = 120 * time.Second
	// recoverTimeout bounds waiting for the cluster to serve as before after a fault.
	recoverTimeout = 60 * time.Second
	// writeResumeMax is how long writes may stall after the meta leader is killed.
	writeResumeMax = 5 * time.Second
	// region and domain match docker-compose.yml; appID is the COS bucket suffix.
	region = "local"
	domain = "localhost"
	appID  = "1250000000"
)

// gateway is one published gateway of the compose cluster.
type gateway struct {
	name    string // compose service
	addr    string // host:port of its HTTP listener on the host
	tlsAddr string // host:port of its HTTPS listener on the host
}

var gateways = []gateway{{"gw1", "127.0.0.1:8080", "127.0.0.1:8443"}, {"gw2", "127.0.0.1:8081", "127.0.0.1:8444"}}

// env is the running cluster and the means to talk to it and to break it.
type env struct {
	ctx       context.Context
	root      string   // repository root (holds docker-compose.yml)
	compose   []string // compose command, e.g. ["docker-compose"]
	project   string
	accessKey string
	secretKey string
	ca        *x509.CertPool // the cluster CA, which issued the gateways' certificates
}

func newEnv(t *testing.T) *env {
	t.Helper()
	// aws-sdk-go-v2 refuses a custom HTTP client when the machine sets a CA bundle.
	t.Setenv("AWS_CA_BUNDLE", "")
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{ctx: context.Background(), root: root, project: "coffer", compose: []string{"docker-compose"}}
	if v := os.Getenv("COMPOSE_PROJECT_NAME"); v != "" {
		e.project = v
	}
	if v := strings.Fields(os.Getenv("COFFER_COMPOSE")); len(v) > 0 {
		e.compose = v
	}
	secrets := os.Getenv("COFFER_SECRETS")
	if secrets == "" {
		secrets = filepath.Join(root, "deploy", "secrets")
	}
	e.accessKey, e.secretKey = os.Getenv("COFFER_ROOT_ACCESS_KEY"), os.Getenv("COFFER_ROOT_SECRET_KEY")
	if e.accessKey == "" || e.secretKey == "" {
		if e.accessKey, e.secretKey, err = readCredentials(filepath.Join(secrets, "credentials")); err != nil {
			t.Fatalf("root credentials: %v (run make cluster-up first)", err)
		}
	}
	pem, err := os.ReadFile(filepath.Join(secrets, "tls", "ca.pem"))
	if err != nil {
		t.Fatalf("cluster CA: %v", err)
	}
	e.ca = x509.NewCertPool()
	if !e.ca.AppendCertsFromPEM(pem) {
		t.Fatal("cluster CA: no certificate in tls/ca.pem")
	}
	for _, g := range gateways {
		if err := e.waitReady(g, 10*time.Second); err != nil {
			t.Fatalf("%v (run make cluster-up first)", err)
		}
	}
	return e
}

// readCredentials reads the access key id and secret of an INI credentials file as
// written by `coffer admin init-cluster`.
func readCredentials(path string) (string, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", "", err
	}
	defer f.Close()
	var id, secret string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "aws_access_key_id":
			id = strings.TrimSpace(v)
		case "aws_secret_access_key":
			secret = strings.TrimSpace(v)
		}
	}
	if err := sc.Err(); err != nil {
		return "", "", err
	}
	if id == "" || secret == "" {
		return "", "", fmt.Errorf("%s: no aws_access_key_id/aws_secret_access_key", path)
	}
	return id, secret, nil
}

// waitReady polls the gateway's /-/ready until it answers 200 or d passes.
func (e *env) waitReady(g gateway, d time.Duration) error {
	deadline := time.Now().Add(d)
	c := &http.Client{Timeout: 2 * time.Second}
	var last string
	for {
		resp, err := c.Get("http://" + g.addr + "/-/ready")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("gateway %s (%s) not ready after %v: %s", g.name, g.addr, d, last)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// run runs a docker or compose command in the repository root and returns its
// combined output.
func (e *env) run(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(e.ctx, dockerTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Dir = e.root
	cmd.Env = append(os.Environ(), "COMPOSE_PROJECT_NAME="+e.project)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s: %w: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// composeRun runs a compose subcommand, failing the test on error.
func (e *env) composeRun(t *testing.T, args ...string) string {
	t.Helper()
	out, err := e.run(append(append([]string(nil), e.compose...), args...)...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// container is the id of a service's container.
func (e *env) container(t *testing.T, svc string) string {
	t.Helper()
	id := strings.TrimSpace(e.composeRun(t, "ps", "-q", svc))
	if id == "" || strings.ContainsAny(id, " \n") {
		t.Fatalf("container of %s: %q", svc, id)
	}
	return id
}

// network is the compose project's private network.
func (e *env) network() string { return e.project + "_coffer" }

// missingShardLines counts the gateways' "stored with missing shards" log lines: the
// only outside view of a version record's missing shards.
func (e *env) missingShardLines(t *testing.T) int {
	t.Helper()
	n := 0
	for _, g := range gateways {
		out, err := e.run("docker", "logs", e.container(t, g.name))
		if err != nil {
			t.Fatal(err)
		}
		n += strings.Count(out, "stored with missing shards")
	}
	return n
}

// dialTo is an HTTP transport that connects to addr whatever the URL's host, so
// virtual hosts like <bucket>-<appid>.localhost:8080 need no DNS.
func dialTo(addr string) *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	d := &net.Dialer{Timeout: 5 * time.Second}
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, addr)
	}
	tr.ResponseHeaderTimeout = 2 * cutRequestTimeout // the contexts bound requests
	return tr
}

// cos is the COS Go SDK with its default configuration against gateway g,
// addressing bucket through its virtual host (the client.Host trick).
func (e *env) cos(g gateway, bucket string) *cos.Client {
	u, _ := url.Parse("http://" + g.addr)
	rt := &cos.AuthorizationTransport{SecretID: e.accessKey, SecretKey: e.secretKey, Transport: dialTo(g.addr)}
	cl := cos.NewClient(&cos.BaseURL{BucketURL: u, ServiceURL: u}, &http.Client{Transport: rt})
	cl.Host = bucket + "." + domain + g.addr[strings.LastIndexByte(g.addr, ':'):]
	return cl
}

// cosTLS is cos over the gateway's HTTPS listener, trusting the cluster CA.
func (e *env) cosTLS(g gateway, bucket string) *cos.Client {
	u, _ := url.Parse("https://" + g.tlsAddr)
	tr := dialTo(g.tlsAddr)
	tr.TLSClientConfig = &tls.Config{RootCAs: e.ca, MinVersion: tls.VersionTLS12}
	rt := &cos.AuthorizationTransport{SecretID: e.accessKey, SecretKey: e.secretKey, Transport: tr}
	cl := cos.NewClient(&cos.BaseURL{BucketURL: u, ServiceURL: u}, &http.Client{Transport: rt})
	cl.Host = bucket + "." + domain + g.tlsAddr[strings.LastIndexByte(g.tlsAddr, ':'):]
	return cl
}

// s3 is aws-sdk-go-v2 with its default configuration against gateway g, path-style.
func (e *env) s3(t *testing.T, g gateway) *s3.Client {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(e.ctx,
		config.WithRegion(region),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(e.accessKey, e.secretKey, "")),
	)
	if err != nil {
		t.Fatal(err)
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String("http://" + g.addr)
		o.UsePathStyle = true
		o.Logger = logging.Nop{}
		o.HTTPClient = &http.Client{Transport: dialTo(g.addr)}
	})
}

// corpus is every object a gateway acknowledged, by key, in one bucket.
type corpus struct {
	bucket string
	mu     sync.Mutex
	data   map[string][]byte
}

func (c *corpus) add(key string, b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.data[key] = b
}

func (c *corpus) remove(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.data, key)
}

func (c *corpus) snapshot() map[string][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string][]byte, len(c.data))
	for k, v := range c.data {
		out[k] = v
	}
	return out
}

// put stores b under key through the COS SDK on gateway g and records it.
func (e *env) put(g gateway, c *corpus, key string, b []byte) error {
	return e.putWithin(requestTimeout, g, c, key, b)
}

// putWithin is put bounded by d.
func (e *env) putWithin(d time.Duration, g gateway, c *corpus, key string, b []byte) error {
	ctx, cancel := context.WithTimeout(e.ctx, d)
	defer cancel()
	if _, err := e.cos(g, c.bucket).Object.Put(ctx, key, bytes.NewReader(b), nil); err != nil {
		return fmt.Errorf("put %s via %s: %w", key, g.name, err)
	}
	c.add(key, b)
	return nil
}

// getCOS reads key whole through the COS SDK on gateway g.
func (e *env) getCOS(g gateway, bucket, key string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(e.ctx, requestTimeout)
	defer cancel()
	resp, err := e.cos(g, bucket).Object.Get(ctx, key, nil)
	if err != nil {
		return nil, fmt.Errorf("get %s via %s: %w", key, g.name, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("get %s via %s: body: %w", key, g.name, err)
	}
	return b, nil
}

// getS3 reads key whole through aws-sdk-go-v2 on gateway g.
func (e *env) getS3(t *testing.T, g gateway, bucket, key string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(e.ctx, requestTimeout)
	defer cancel()
	out, err := e.s3(t, g).GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return nil, fmt.Errorf("s3 get %s via %s: %w", key, g.name, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		return nil, fmt.Errorf("s3 get %s via %s: body: %w", key, g.name, err)
	}
	return b, nil
}

// checkAll reads every acknowledged object back through both gateways (COS SDK on
// one, S3 SDK on the other, alternating) and fails on any difference.
func (e *env) checkAll(t *testing.T, c *corpus) {
	t.Helper()
	start := time.Now()
	objs := c.snapshot()
	bad := 0
	i := 0
	var slowest time.Duration
	var slowKey string
	for key, want := range objs {
		g, h := gateways[i%2], gateways[(i+1)%2]
		i++
		for _, read := range []func() ([]byte, error){
			func() ([]byte, error) { return e.getCOS(g, c.bucket, key) },
			func() ([]byte, error) { return e.getS3(t, h, c.bucket, key) },
		} {
			began := time.Now()
			got, err := read()
			if d := time.Since(began); d > slowest {
				slowest, slowKey = d, key
			}
			switch {
			case err != nil:
				t.Error(err)
				bad++
			case !bytes.Equal(got, want):
				t.Errorf("%s: read %d bytes, differ from the %d written", key, len(got), len(want))
				bad++
			}
		}
	}
	t.Logf("read back %d objects through both gateways in %v (%d failures; slowest read %v, %s)",
		len(objs), time.Since(start).Round(time.Millisecond), bad, slowest.Round(time.Millisecond), slowKey)
}
