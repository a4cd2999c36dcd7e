package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// awscliTimeout bounds the whole awscli smoke test (every aws invocation shares it).
const awscliTimeout = 3 * time.Minute

// awsCLI runs the real aws command against one endpoint with an isolated
// configuration: the dev cluster's root credentials, region "local", path-style
// addressing, no instance metadata lookups.
type awsCLI struct {
	t        *testing.T
	ctx      context.Context
	bin      string
	endpoint string
	extra    []string // e.g. --ca-bundle
	env      []string
}

func newAWSCLI(t *testing.T, ctx context.Context, bin, endpoint string, creds credentials, extra ...string) *awsCLI {
	t.Helper()
	dir := t.TempDir()
	config := filepath.Join(dir, "config")
	if err := os.WriteFile(config, []byte("[default]\ns3 =\n    addressing_style = path\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	shared := filepath.Join(dir, "credentials")
	if err := os.WriteFile(shared, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	env = append(env,
		"AWS_ACCESS_KEY_ID="+creds.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+creds.SecretKey,
		"AWS_DEFAULT_REGION=local", "AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE="+config, "AWS_SHARED_CREDENTIALS_FILE="+shared,
	)
	return &awsCLI{t: t, ctx: ctx, bin: bin, endpoint: endpoint, extra: extra, env: env}
}

// run runs aws with args and returns its standard output; a failure ends the test
// with the command's standard error.
func (a *awsCLI) run(args ...string) []byte {
	a.t.Helper()
	out, err := a.try(args...)
	if err != nil {
		a.t.Fatalf("aws %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// try runs aws with args; the error carries the command's standard error.
func (a *awsCLI) try(args ...string) ([]byte, error) {
	full := append(append([]string{"--endpoint-url", a.endpoint}, a.extra...), args...)
	cmd := exec.CommandContext(a.ctx, a.bin, full...)
	cmd.Env = a.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), errors.Join(err, errors.New(strings.TrimSpace(stderr.String())))
	}
	return stdout.Bytes(), nil
}

// TestAWSCLI drives `coffer dev` with the real aws command line (issue 5): make a
// bucket, copy a 9 MB file up (multipart: awscli's threshold is 8 MB) and back down,
// list, head, list with a prefix, remove, remove the bucket over HTTP; then the
// round trip again over HTTPS trusting the dev CA (--ca-bundle). Skipped when aws is
// not installed and in -short mode.
func TestAWSCLI(t *testing.T) {
	bin, err := exec.LookPath("aws")
	if err != nil {
		t.Skip("aws command line not installed")
	}
	if testing.Short() {
		t.Skip("runs the aws command line about twenty times")
	}
	ctx, cancel := context.WithTimeout(t.Context(), awscliTimeout)
	defer cancel()
	if v, err := exec.CommandContext(ctx, bin, "--version").CombinedOutput(); err == nil {
		t.Logf("using %s", strings.TrimSpace(string(v)))
	} else {
		t.Fatalf("aws --version: %v: %s", err, v)
	}

	dir := t.TempDir()
	d := startDev(t, dir, noEnv)
	src := filepath.Join(t.TempDir(), "nine.bin")
	data := markerObject("awscli", 9<<20)
	small := filepath.Join(t.TempDir(), "small.txt")
	for name, b := range map[string][]byte{src: data, small: []byte("small object\n")} {
		if err := os.WriteFile(name, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// Each aws run costs seconds of Python start-up: HTTPS repeats only the round
	// trip through TLS.
	for _, tc := range []struct {
		name     string
		endpoint string
		extra    []string
		full     bool
	}{
		{"http", d.ready.HTTPURL, nil, true},
		{"https", d.ready.HTTPSURL, []string{"--ca-bundle", filepath.Join(dir, "tls", "ca.pem")}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newAWSCLI(t, ctx, bin, tc.endpoint, d.ready.Credentials, tc.extra...)
			bucket := "awscli-" + tc.name
			a.run("s3", "mb", "s3://"+bucket)
			a.run("s3", "cp", "--no-progress", src, "s3://"+bucket+"/dir/nine.bin")
			back := filepath.Join(t.TempDir(), "back.bin")
			a.run("s3", "cp", "--no-progress", "s3://"+bucket+"/dir/nine.bin", back)
			if got, err := os.ReadFile(back); err != nil || !bytes.Equal(got, data) {
				t.Fatalf("downloaded %d bytes (%v), want the %d uploaded", len(got), err, len(data))
			}
			if !tc.full {
				a.run("s3", "rm", "s3://"+bucket+"/dir/nine.bin")
				a.run("s3", "rb", "s3://"+bucket)
				return
			}
			a.run("s3", "cp", "--no-progress", small, "s3://"+bucket+"/other.bin")
			if out := string(a.run("s3", "ls")); !strings.Contains(out, bucket) {
				t.Errorf("aws s3 ls does not list %s:\n%s", bucket, out)
			}
			if out := string(a.run("s3", "ls", "--recursive", "s3://"+bucket)); !strings.Contains(out, "dir/nine.bin") || !strings.Contains(out, "other.bin") {
				t.Errorf("aws s3 ls of the bucket:\n%s", out)
			}

			var head struct {
				ContentLength int64
				ETag          string
			}
			if err := json.Unmarshal(a.run("s3api", "head-object", "--bucket", bucket, "--key", "dir/nine.bin"), &head); err != nil {
				t.Fatalf("head-object output: %v", err)
			}
			if head.ContentLength != int64(len(data)) || !strings.HasSuffix(strings.Trim(head.ETag, `"`), "-2") {
				t.Errorf("head-object = %+v, want %d bytes and a two-part multipart ETag", head, len(data))
			}

			var list struct {
				Contents []struct {
					Key  string
					Size int64
				}
			}
			if err := json.Unmarshal(a.run("s3api", "list-objects-v2", "--bucket", bucket, "--prefix", "dir/"), &list); err != nil {
				t.Fatalf("list-objects-v2 output: %v", err)
			}
			if len(list.Contents) != 1 || list.Contents[0].Key != "dir/nine.bin" || list.Contents[0].Size != int64(len(data)) {
				t.Errorf("list-objects-v2 --prefix dir/ = %+v", list.Contents)
			}

			if _, err := a.try("s3", "rb", "s3://"+bucket); err == nil {
				t.Error("aws s3 rb removed a bucket that still holds objects")
			}
			a.run("s3", "rm", "s3://"+bucket+"/dir/nine.bin")
			a.run("s3", "rm", "s3://"+bucket+"/other.bin")
			if _, err := a.try("s3api", "head-object", "--bucket", bucket, "--key", "dir/nine.bin"); err == nil {
				t.Error("head-object found a removed object")
			}
			a.run("s3", "rb", "s3://"+bucket)
			if out := string(a.run("s3", "ls")); strings.Contains(out, bucket) {
				t.Errorf("aws s3 ls still lists %s after rb:\n%s", bucket, out)
			}
		})
	}
}
