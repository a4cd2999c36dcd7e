package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/coffer-io/coffer/cluster/member"
)

// TestServerRoles runs a cluster the way a deployment does, as separate `coffer
// server` processes (in-process here): n1 with meta, storage and gateway, n2…n6
// storage only, all configured through flags and env with secrets from `coffer admin
// init-cluster`. A COS SDK client then writes and reads an object through n1.
func TestServerRoles(t *testing.T) {
	root := t.TempDir()
	secrets := filepath.Join(root, "secrets")
	nodes := []string{"n1", "n2", "n3", "n4", "n5", "n6"}
	var out bytes.Buffer
	if err := initCluster(initClusterSettings{Out: secrets, Nodes: nodes, Region: "local"}, time.Now(), rand.Reader, &out); err != nil {
		t.Fatal(err)
	}
	creds, err := loadCredentials(filepath.Join(secrets, "credentials"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	metaAddr := mustFreeAddr(t)
	gossipSeed := mustFreeAddr(t)
	// The root key reaches n1 through the environment (hex); storage processes get
	// nothing of it.
	rootKey, err := loadRootKey(filepath.Join(secrets, "root.key"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	gatewayEnv := map[string]string{envRootKey: fmt.Sprintf("%x", rootKey[:]), "COFFER_LOG_LEVEL": "warn"}

	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	readyc := make(chan serverReady, len(nodes))
	errc := make(chan error, len(nodes))
	for i, n := range nodes {
		args := []string{
			"--node-id", n, "--data", filepath.Join(root, n), "--zone", fmt.Sprintf("z%d", i%3+1),
			"--tls-ca", filepath.Join(secrets, "tls", "ca.pem"),
			"--tls-cert", filepath.Join(secrets, "tls", n+".pem"), "--tls-key", filepath.Join(secrets, "tls", n+"-key.pem"),
			"--storage-listen", mustFreeAddr(t), "--storage-free-bytes-min", "-1",
			"--meta-addrs", metaAddr,
			"--gossip-seeds", gossipSeed, "--gossip-key-file", filepath.Join(secrets, "gossip.key"), "--gossip-label", "test",
		}
		envs := map[string]string{"COFFER_LOG_LEVEL": "warn"}
		if i == 0 {
			args = append(args, "--roles", "meta,storage,gateway", "--meta-listen", metaAddr,
				"--http-addr", "127.0.0.1:0", "--https-addr", "127.0.0.1:0",
				"--credentials-file", filepath.Join(secrets, "credentials"), "--gossip-listen", gossipSeed)
			envs = gatewayEnv
		} else {
			args = append(args, "--roles", "storage", "--gossip-listen", "127.0.0.1:0")
		}
		s := defaultServerSettings()
		var cf string
		if err := load("server", serverOptions, &s, &cf, args, fakeSource(envs, nil), io.Discard); err != nil {
			t.Fatal(err)
		}
		cfg, err := s.config()
		if err != nil {
			t.Fatal(err)
		}
		lookup := func(k string) (string, bool) { v, ok := envs[k]; return v, ok }
		log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})).With("process", n)
		wg.Go(func() {
			errc <- runServer(ctx, cfg, lookup, log, func(r serverReady) { readyc <- r })
		})
		if i == 0 {
			// The others join n1's gossip pool: wait until it listens.
			waitListening(t, gossipSeed)
		}
	}
	var gw serverReady
	deadline := time.After(devStartTimeout)
	for range nodes {
		select {
		case r := <-readyc:
			if r.HTTPAddr != "" {
				gw = r
			}
		case err := <-errc:
			t.Fatalf("a server returned before ready: %v", err)
		case <-deadline:
			t.Fatal("servers not ready in time")
		}
	}
	if gw.MetaAddr != metaAddr || gw.HTTPSAddr == "" {
		t.Fatalf("gateway process: %+v", gw)
	}

	cl := cosClient(t, "http://"+gw.HTTPAddr, "roles-1250000000", creds, nil)
	if _, err := cl.Bucket.Put(ctx, nil); err != nil {
		t.Fatalf("PUT bucket: %v", err)
	}
	body := markerObject("server-roles", 300<<10)
	if _, err := cl.Object.Put(ctx, "k", bytes.NewReader(body), nil); err != nil {
		t.Fatalf("PUT object: %v", err)
	}
	if got := getObject(t, cl, "k"); !bytes.Equal(got, body) {
		t.Fatal("GET returned other bytes")
	}
	if got := httpStatus(t, http.DefaultClient, "http://"+gw.HTTPAddr+"/-/ready"); got != http.StatusOK {
		t.Errorf("ready = %d", got)
	}

	// Every process is in the gossip pool, advertising its roles.
	var members []member.Member
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if members = gw.Gossip.Members(); len(members) == len(nodes) {
			break
		}
	}
	if len(members) != len(nodes) {
		t.Fatalf("gossip pool has %d members, want %d", len(members), len(nodes))
	}
	if m := members[0]; m.Name != "n1" || !m.Meta.HasRole(member.RoleMeta) || !m.Meta.HasRole(member.RoleGateway) || m.Meta.RaftAddr != metaAddr {
		t.Errorf("n1 advertises %+v", m)
	}
	if storage := gw.Gossip.StorageNodes(); len(storage) != len(nodes) {
		t.Errorf("%d storage nodes in the pool, want %d", len(storage), len(nodes))
	}

	cancel()
	for range nodes {
		if err := <-errc; err != nil {
			t.Errorf("unclean stop: %v", err)
		}
	}
}

func waitListening(t *testing.T, addr string) {
	t.Helper()
	for end := time.Now().Add(devStartTimeout); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
	}
	t.Fatalf("nothing listens on %s", addr)
}

func mustFreeAddr(t *testing.T) string {
	t.Helper()
	a, err := freeLoopbackAddr()
	if err != nil {
		t.Fatal(err)
	}
	return a
}
