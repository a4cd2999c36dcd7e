package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/coffer-io/coffer/cluster"
	"github.com/coffer-io/coffer/cluster/meta"
	"github.com/coffer-io/coffer/erasure"
	"github.com/coffer-io/coffer/gateway"
	"github.com/coffer-io/coffer/internal/pki"
	"github.com/coffer-io/coffer/node"
)

// The dev cluster's shape and per-node resources.
const (
	// devStorageNodes is how many storage nodes dev runs: one per shard of 4+2.
	devStorageNodes = 6
	// devZones is how many zones the storage nodes are spread over.
	devZones = 3
	// devMetaID is the raft server id of dev's only meta voter.
	devMetaID = "meta-1"
	// devCacheBytes and devMemTableBytes size each storage node's Pebble small: six
	// of them share one machine.
	devCacheBytes    = 8 << 20
	devMemTableBytes = 4 << 20
	// devFreeBytesMin: a dev store turns read-only below this much free disk space.
	devFreeBytesMin = 64 << 20
	// devStateFile records the loopback addresses dev chose, so the meta voter's
	// raft address and the layout stay the same across restarts.
	devStateFile = "dev.json"
	// devStateBytesMax bounds devStateFile.
	devStateBytesMax = 64 << 10
	// devRaftTimeout and devRaftLease are the lone voter's raft timers: with no peer
	// to wait for, a short election gets the cluster up sooner after each start.
	devRaftTimeout = 300 * time.Millisecond
	devRaftLease   = 200 * time.Millisecond
	// exampleAppID is the APPID suffix COS bucket names carry.
	exampleAppID = "1250000000"
)

// devState is the content of devStateFile.
type devState struct {
	Meta    string   `json:"meta"`
	Storage []string `json:"storage"`
}

func loadDevState(dir string) (devState, error) {
	var s devState
	data, err := os.ReadFile(filepath.Join(dir, devStateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return s, err
	}
	if len(data) > devStateBytesMax {
		return s, fmt.Errorf("%s: larger than %d bytes", devStateFile, devStateBytesMax)
	}
	if err := json.Unmarshal(data, &s); err != nil {
		return devState{}, fmt.Errorf("%s: %w", devStateFile, err)
	}
	return s, nil
}

func saveDevState(dir string, s devState) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return pki.WriteFile(filepath.Join(dir, devStateFile), append(data, '\n'), 0o644)
}

// freeLoopbackAddr returns a loopback address whose port was free a moment ago.
func freeLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// devReady describes a started dev cluster.
type devReady struct {
	HTTPURL, HTTPSURL string // empty when off
	MetaAddr          string
	StorageAddrs      []string
	CAPath            string
	Credentials       credentials
}

// env is how the process reads its environment (os.LookupEnv in main).
type env func(string) (string, bool)

// runDev runs the whole dev cluster until ctx ends, then stops it cleanly. The banner
// goes to out; ready, when set, is called once the gateway is ready.
func runDev(ctx context.Context, s devSettings, lookup env, out io.Writer, log *slog.Logger, ready func(devReady)) (err error) {
	if err := s.Validate(); err != nil {
		return err
	}
	dir := s.DataDir
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	mat, err := ensureDevMaterial(dir, s.Domain, s.Region, time.Now(), rand.Reader, lookup)
	if err != nil {
		return err
	}
	state, err := loadDevState(dir)
	if err != nil {
		return err
	}
	if state.Meta == "" {
		if state.Meta, err = freeLoopbackAddr(); err != nil {
			return fmt.Errorf("meta address: %w", err)
		}
	}
	serverTLS, clientTLS := mat.CA.ServerConfig(mat.Cert), mat.CA.ClientConfig(mat.Cert)

	st := &stack{log: log}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
		defer cancel()
		if serr := st.stop(sctx); serr != nil && err == nil {
			err = serr
		}
		if err == nil {
			log.Info("dev cluster stopped")
		}
	}()

	// The gateway's ports first: a conflict fails before anything else starts.
	httpLn, httpsLn, err := listenGateway(s.HTTPAddr, s.HTTPSAddr)
	if err != nil {
		return err
	}
	st.push("gateway ports", func(context.Context) error {
		// Closes them if the start failed before serving; harmless after Shutdown.
		for _, ln := range []net.Listener{httpLn, httpsLn} {
			if ln != nil {
				ln.Close()
			}
		}
		return nil
	})

	metaLog := log.With("component", "meta")
	metaNode, err := startMeta(ctx, st, cluster.Config{
		ID: devMetaID, DataDir: filepath.Join(dir, "meta"), BindAddr: state.Meta,
		Bootstrap: []cluster.Peer{{ID: devMetaID, Addr: state.Meta}},
		ServerTLS: serverTLS, ClientTLS: clientTLS, Logger: metaLog,
		HeartbeatTimeout: devRaftTimeout, ElectionTimeout: devRaftTimeout, LeaderLeaseTimeout: devRaftLease,
	})
	if err != nil {
		return err
	}

	var nodes []meta.StorageNode
	var stores []*storagePart
	state.Storage = append(state.Storage, make([]string, max(0, devStorageNodes-len(state.Storage)))...)[:devStorageNodes]
	for i := range devStorageNodes {
		id := fmt.Sprintf("storage-%d", i+1)
		zone := fmt.Sprintf("z%d", i%devZones+1)
		nlog := log.With("component", "storage", "node", id)
		ln, err := listenLoopback(state.Storage[i], nlog)
		if err != nil {
			return err
		}
		state.Storage[i] = ln.Addr().String()
		sp, err := startStorage(st, id, zone, "", 0, ln, node.Config{
			Dir: filepath.Join(dir, id), CacheBytes: devCacheBytes, MemTableBytes: devMemTableBytes,
			FreeBytesMin: devFreeBytesMin, SweepGrace: sweepGrace,
		}, serverTLS, nlog)
		if err != nil {
			return err
		}
		nodes = append(nodes, sp.layoutNode())
		stores = append(stores, sp)
	}
	state.Meta = metaNode.Addr()
	if err := saveDevState(dir, state); err != nil {
		return err
	}

	client, err := cluster.NewClient(cluster.ClientConfig{Addrs: []string{metaNode.Addr()}, TLS: clientTLS})
	if err != nil {
		return fmt.Errorf("meta client: %w", err)
	}
	st.push("meta client", func(context.Context) error { return client.Close() })
	for _, sp := range stores {
		startSweeper(st, sp, client, sweepInterval, log.With("component", "storage", "node", sp.id))
	}
	gwLog := log.With("component", "gateway")
	gm := gateway.ClusterMeta(client)
	gw, err := gateway.New(gateway.Config{
		Domain: s.Domain, Region: s.Region, Geometry: erasure.DefaultGeometry,
		RootKey: mat.RootKey, Logger: gwLog,
		ShardClient: node.ClientConfig{TLS: clientTLS},
	}, gm)
	if err != nil {
		return err
	}
	// From here /-/healthz answers; /-/ready once the steps below are done.
	gp := serveGateway(st, gw, httpLn, httpsLn, mat.Cert, gwLog)

	if err := registerStorage(ctx, client, nodes, metaLog); err != nil {
		return err
	}
	if err := bootstrapGateway(ctx, gateway.Bootstrap{
		RootKey: mat.RootKey, RootAccessKey: mat.Credentials.AccessKeyID, RootSecretKey: mat.Credentials.SecretKey,
		Now: time.Now, Rand: rand.Reader,
	}, gm, gwLog); err != nil {
		return err
	}
	startGC(st, gw, gwLog)
	if err := waitReady(ctx, gw, gwLog); err != nil {
		return err
	}

	r := devReady{MetaAddr: metaNode.Addr(), StorageAddrs: state.Storage, CAPath: mat.CAPath, Credentials: mat.Credentials}
	if gp.HTTPAddr != "" {
		r.HTTPURL = displayURL("http", gp.HTTPAddr)
	}
	if gp.HTTPSAddr != "" {
		r.HTTPSURL = displayURL("https", gp.HTTPSAddr)
	}
	printBanner(out, s, r, mat)
	log.Info("dev cluster ready", "http", r.HTTPURL, "https", r.HTTPSURL)
	if ready != nil {
		ready(r)
	}
	<-ctx.Done()
	log.Info("shutting down")
	return nil
}

// listenLoopback listens on addr, or on a fresh loopback port when addr is empty or
// taken (the layout is re-registered with whatever address results).
func listenLoopback(addr string, log *slog.Logger) (net.Listener, error) {
	if addr != "" {
		ln, err := net.Listen("tcp", addr)
		if err == nil {
			return ln, nil
		}
		log.Warn("previous address unavailable, picking a new one", "addr", addr, "error", err.Error())
	}
	return net.Listen("tcp", "127.0.0.1:0")
}

// printBanner tells the operator where the cluster is and how to log in. It is the
// one place where the root credentials are shown (the operator's own terminal, never
// the log).
func printBanner(out io.Writer, s devSettings, r devReady, mat devMaterial) {
	var b strings.Builder
	fmt.Fprintf(&b, "\nCoffer dev cluster is ready (data in %s)\n\n", s.DataDir)
	port := ""
	if r.HTTPURL != "" {
		fmt.Fprintf(&b, "  HTTP endpoint:    %s\n", r.HTTPURL)
		port = r.HTTPURL[strings.LastIndexByte(r.HTTPURL, ':'):]
	}
	if r.HTTPSURL != "" {
		fmt.Fprintf(&b, "  HTTPS endpoint:   %s   (CA certificate: %s)\n", r.HTTPSURL, r.CAPath)
		if port == "" {
			port = r.HTTPSURL[strings.LastIndexByte(r.HTTPSURL, ':'):]
		}
	}
	scheme := "http"
	if r.HTTPURL == "" {
		scheme = "https"
	}
	fmt.Fprintf(&b, "  Bucket host:      %s://<bucket>-%s.%s%s   (also <bucket>-%s.cos.%s.%s)\n", scheme, exampleAppID, s.Domain, port, exampleAppID, s.Region, s.Domain)
	if r.HTTPSURL != "" && !strings.Contains(s.Domain, ".") {
		fmt.Fprintf(&b, "                    (over HTTPS, OpenSSL-based clients such as curl and awscli refuse a\n")
		fmt.Fprintf(&b, "                    wildcard right under a one-label domain: use the cos.%s.%s form)\n", s.Region, s.Domain)
	}
	fmt.Fprintf(&b, "  Region:           %s\n\n", s.Region)
	fmt.Fprintf(&b, "  Access key id:    %s\n", r.Credentials.AccessKeyID)
	fmt.Fprintf(&b, "  Secret key:       %s\n", r.Credentials.SecretKey)
	if mat.CredentialsFromEnv {
		fmt.Fprintf(&b, "  (root credentials from %s / %s)\n", envRootAccessKey, envRootSecretKey)
	} else {
		fmt.Fprintf(&b, "  (root credentials file: %s, AWS shared-credentials format)\n", mat.CredentialsPath)
	}
	endpoint := r.HTTPURL
	if endpoint == "" {
		endpoint = r.HTTPSURL
	}
	fmt.Fprintf(&b, "\n  Try: AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=<secret key> aws --endpoint-url %s s3 ls\n\n", r.Credentials.AccessKeyID, endpoint)
	io.WriteString(out, b.String())
}
