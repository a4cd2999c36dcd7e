package main

import (
	"bytes"
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coffer-io/coffer/gateway"
	"github.com/coffer-io/coffer/gateway/gatewaytest"
)

func TestProgressLine(t *testing.T) {
	for _, tc := range []struct {
		done, total uint64
		elapsed     time.Duration
		want        string
	}{
		{0, 0, 0, "re-wrap [##############################] 0/0 keys  0 keys/s"},
		{0, 10, time.Second, "re-wrap [------------------------------] 0/10 keys  0 keys/s"},
		{5, 10, time.Second, "re-wrap [###############---------------] 5/10 keys  5 keys/s"},
		{10, 10, 2 * time.Second, "re-wrap [##############################] 10/10 keys  5 keys/s"},
	} {
		if got := progressLine(tc.done, tc.total, tc.elapsed); got != tc.want {
			t.Errorf("progressLine(%d, %d, %v) = %q, want %q", tc.done, tc.total, tc.elapsed, got, tc.want)
		}
	}
}

func TestKeysSettingsValidate(t *testing.T) {
	for _, tc := range []struct {
		cmd  string
		s    keysSettings
		want string // substring of the error; "" for none
	}{
		{"status", keysSettings{Endpoint: "http://127.0.0.1:1"}, ""},
		{"status", keysSettings{}, "endpoint: a gateway URL is required"},
		{"status", keysSettings{Endpoint: "ftp://x"}, "not an http(s) URL"},
		{"reseal", keysSettings{Endpoint: "http://127.0.0.1:1", NewRootKeyFile: "k"}, "needs an https endpoint"},
		{"reseal", keysSettings{Endpoint: "https://127.0.0.1:1"}, "reseal needs the new root key"},
		{"reseal", keysSettings{Endpoint: "https://127.0.0.1:1", NewRootKeyFile: "k"}, ""},
		{"rewrap", keysSettings{Endpoint: "https://h", Wait: true}, "only rotate takes it"},
		{"rotate", keysSettings{Endpoint: "https://h", Wait: true}, ""},
	} {
		err := tc.s.Validate(tc.cmd)
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s %+v: %v, want %q", tc.cmd, tc.s, err, tc.want)
		}
	}
}

// TestAdminKeys drives status, rotate and rewrap against a test cluster.
func TestAdminKeys(t *testing.T) {
	var off atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(off.Load())) }
	c := gatewaytest.StartWith(t, gatewaytest.Options{Tune: func(cfg *gateway.Config) { cfg.Now = now }})
	ctx := context.Background()
	creds := credentials{AccessKeyID: gatewaytest.AccessKey, SecretKey: gatewaytest.SecretKey}
	cl := cosClient(t, c.URL, "keys-1250000000", creds, nil)
	if _, err := cl.Bucket.Put(ctx, nil); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"a", "b", "c"} {
		if _, err := cl.Object.Put(ctx, k, strings.NewReader("data of "+k), nil); err != nil {
			t.Fatal(err)
		}
	}
	lookup := func(k string) (string, bool) {
		switch k {
		case envRootAccessKey:
			return creds.AccessKeyID, true
		case envRootSecretKey:
			return creds.SecretKey, true
		}
		return "", false
	}
	run := func(args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		if err := runAdmin(append([]string{"keys"}, append(args, "--endpoint", c.URL)...), lookup, &out, &errOut); err != nil {
			t.Fatalf("keys %v: %v\n%s", args, err, errOut.String())
		}
		return out.String()
	}
	if out := run("status"); !strings.Contains(out, "1        active") || !strings.Contains(out, "3\n") {
		t.Fatalf("status:\n%s", out)
	}
	if out := run("rotate"); !strings.Contains(out, "master key version 2 is active") {
		t.Fatalf("rotate:\n%s", out)
	}
	off.Store(int64(time.Minute)) // past the retire grace
	out := run("rewrap")
	if !strings.Contains(out, "3/3 keys") || !strings.Contains(out, "every old master-key version is retired; active 2") {
		t.Fatalf("rewrap:\n%s", out)
	}
	out = run("status")
	if !strings.Contains(out, "retired") || !strings.Contains(out, "0 keys to re-wrap") || !strings.Contains(out, "3 re-wrapped") {
		t.Fatalf("status after rewrap:\n%s", out)
	}
	for _, k := range []string{"a", "b", "c"} {
		if got := string(getObject(t, cl, k)); got != "data of "+k {
			t.Fatalf("%s after rewrap: %q", k, got)
		}
	}
	var errOut bytes.Buffer
	err := runAdmin([]string{"keys", "reseal", "--endpoint", c.URL, "--new-root-key-file", "x"}, lookup, &errOut, &errOut)
	if err == nil || !strings.Contains(err.Error(), "https") {
		t.Fatalf("reseal over http: %v", err)
	}
}

func TestKeyRotationPeriodSetting(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, true},
		{"0", 0, true},
		{"720h", 720 * time.Hour, true},
		{"-1h", 0, false},
		{"monthly", 0, false},
	} {
		s := defaultServerSettings()
		s.Roles, s.NodeID, s.DataDir = []string{"gateway"}, "n1", "/data"
		s.TLSCA, s.TLSCert, s.TLSKey = "ca.pem", "n1.pem", "n1-key.pem"
		s.MetaAddrs = []string{"m1:7000"}
		s.KeyRotationPeriod = tc.in
		c, err := s.config()
		if tc.ok != (err == nil) {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if err == nil && c.Gateway.KeyRotationPeriod != tc.want {
			t.Errorf("%q: period %v, want %v", tc.in, c.Gateway.KeyRotationPeriod, tc.want)
		}
	}
}
