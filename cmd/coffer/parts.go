package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/coffer-io/coffer/cluster"
	"github.com/coffer-io/coffer/cluster/meta"
	"github.com/coffer-io/coffer/gateway"
	"github.com/coffer-io/coffer/node"
)

// HTTP server limits of the public endpoint.
const (
	// httpReadHeaderTimeout bounds reading a request's headers (slowloris).
	httpReadHeaderTimeout = 10 * time.Second
	// httpIdleTimeout closes keep-alive connections idle this long.
	httpIdleTimeout = 2 * time.Minute
	// httpHeaderBytesMax bounds a request's header bytes (request line included, so
	// presigned URLs fit).
	httpHeaderBytesMax = 64 << 10
	// shutdownTimeout is how long in-flight requests get to finish on shutdown; after
	// it connections are closed.
	shutdownTimeout = 15 * time.Second
	// stopTimeout bounds the whole shutdown of every part after the drain.
	stopTimeout = 30 * time.Second
	// retryPauseMax caps the pause between attempts to reach the meta voters at start.
	retryPauseMax = 5 * time.Second
	// readyPollInterval is how often a starting process probes its gateway's readiness.
	readyPollInterval = 100 * time.Millisecond
	// readyLogInterval is how often a still-unready gateway logs why.
	readyLogInterval = 10 * time.Second
)

// stack holds the running parts of a process and stops them in reverse start order.
// It is used by the goroutine that runs the process only.
type stack struct {
	log   *slog.Logger
	parts []part
}

type part struct {
	name string
	stop func(ctx context.Context) error
}

func (s *stack) push(name string, stop func(ctx context.Context) error) {
	s.parts = append(s.parts, part{name, stop})
}

// stop stops every part, newest first, and reports every failure.
func (s *stack) stop(ctx context.Context) error {
	var errs []error
	for _, p := range slices.Backward(s.parts) {
		if err := p.stop(ctx); err != nil {
			s.log.Warn("stop failed", "part", p.name, "error", err.Error())
			errs = append(errs, fmt.Errorf("stop %s: %w", p.name, err))
		} else {
			s.log.Debug("stopped", "part", p.name)
		}
	}
	s.parts = nil
	return errors.Join(errs...)
}

// startMeta starts a meta voter.
func startMeta(ctx context.Context, st *stack, cfg cluster.Config) (*cluster.Node, error) {
	n, err := cluster.Start(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("meta: %w", err)
	}
	st.push("meta "+n.ID(), func(context.Context) error { return n.Close() })
	cfg.Logger.Info("meta voter started", "id", n.ID(), "addr", n.Addr())
	return n, nil
}

// storagePart is one running storage node: its store and shard RPC server.
type storagePart struct {
	id, zone string
	addr     string // advertised shard RPC address
	capacity int64
	store    *node.Store // open until the stack stops the node
}

// startStorage opens a store and serves it on ln (which it takes over).
func startStorage(st *stack, id, zone, advertise string, capacity int64, ln net.Listener, storeCfg node.Config, serverTLS *tls.Config, log *slog.Logger) (*storagePart, error) {
	storeCfg.Logger = log
	store, err := node.Open(storeCfg)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("storage %s: %w", id, err)
	}
	srv, err := node.NewServer(store, node.ServerConfig{TLS: serverTLS, Logger: log})
	if err != nil {
		ln.Close()
		store.Close()
		return nil, fmt.Errorf("storage %s: %w", id, err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("shard server stopped", "error", err.Error())
		}
	}()
	st.push("storage "+id, func(ctx context.Context) error {
		err := srv.Shutdown(ctx)
		<-done
		return errors.Join(err, store.Close())
	})
	if advertise == "" {
		advertise = ln.Addr().String()
	}
	log.Info("storage node started", "id", id, "zone", zone, "addr", advertise, "dir", storeCfg.Dir)
	return &storagePart{id: id, zone: zone, addr: advertise, capacity: capacity, store: store}, nil
}

func (p *storagePart) layoutNode() meta.StorageNode {
	return meta.StorageNode{ID: p.id, Zone: p.zone, Addrs: []string{p.addr}, CapacityBytes: p.capacity, State: meta.NodeActive}
}

// layoutClient is the part of the metadata cluster that storage registration uses.
type layoutClient interface {
	Layout(ctx context.Context, opts cluster.ReadOptions) (meta.ClusterLayout, error)
	SetLayout(ctx context.Context, l meta.ClusterLayout, expectEpoch uint64) (uint64, error)
}

// mergeLayout returns l with nodes added or updated (same id: zone, addresses,
// capacity and state replaced), sorted by id, and whether anything changed.
func mergeLayout(l meta.ClusterLayout, nodes []meta.StorageNode) (meta.ClusterLayout, bool) {
	out := l
	out.Nodes = slices.Clone(l.Nodes)
	changed := false
	for _, n := range nodes {
		i := slices.IndexFunc(out.Nodes, func(o meta.StorageNode) bool { return o.ID == n.ID })
		switch {
		case i < 0:
			out.Nodes = append(out.Nodes, n)
			changed = true
		case out.Nodes[i].Zone != n.Zone || !slices.Equal(out.Nodes[i].Addrs, n.Addrs) ||
			out.Nodes[i].CapacityBytes != n.CapacityBytes || out.Nodes[i].State != n.State:
			out.Nodes[i] = n
			changed = true
		}
	}
	slices.SortFunc(out.Nodes, func(a, b meta.StorageNode) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	return out, changed
}

// registerStorage adds or updates nodes in the cluster layout with compare-and-set,
// retrying conflicts and an unreachable cluster until ctx ends.
func registerStorage(ctx context.Context, c layoutClient, nodes []meta.StorageNode, log *slog.Logger) error {
	return retry(ctx, log, "register storage nodes", func() error {
		l, err := c.Layout(ctx, cluster.ReadOptions{})
		if err != nil {
			return err
		}
		next, changed := mergeLayout(l, nodes)
		if !changed {
			return nil
		}
		epoch, err := c.SetLayout(ctx, next, l.Epoch)
		if err != nil {
			return err
		}
		log.Info("cluster layout updated", "epoch", epoch, "nodes", len(next.Nodes))
		return nil
	})
}

// retry runs f until it succeeds or ctx ends, with a capped doubling pause. Conflicts
// (a concurrent layout change) are retried at once.
func retry(ctx context.Context, log *slog.Logger, what string, f func() error) error {
	pause := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := f()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%s: %w", what, ctx.Err())
		}
		if errors.Is(err, meta.ErrConflict) {
			continue
		}
		if errors.Is(err, meta.ErrInvalidArgument) || errors.Is(err, cluster.ErrBadRequest) {
			return fmt.Errorf("%s: %w", what, err)
		}
		log.Warn(what+": retrying", "attempt", attempt, "error", err.Error())
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%s: %w", what, ctx.Err())
		case <-t.C:
		}
		pause = min(2*pause, retryPauseMax)
	}
}

// gatewayPart is a running gateway: its HTTP(S) servers and garbage collector.
type gatewayPart struct {
	HTTPAddr  string // bound addresses; empty when the listener is off
	HTTPSAddr string
}

// listenGateway binds the gateway's listeners, so a port conflict fails the start
// before anything else runs. cert is used for HTTPS.
func listenGateway(httpAddr, httpsAddr string) (httpLn, httpsLn net.Listener, err error) {
	if httpAddr != "" {
		if httpLn, err = net.Listen("tcp", httpAddr); err != nil {
			return nil, nil, fmt.Errorf("gateway http: %w", err)
		}
	}
	if httpsAddr != "" {
		if httpsLn, err = net.Listen("tcp", httpsAddr); err != nil {
			if httpLn != nil {
				httpLn.Close()
			}
			return nil, nil, fmt.Errorf("gateway https: %w", err)
		}
	}
	return httpLn, httpsLn, nil
}

// serveGateway serves h on the listeners (either may be nil) until the stack stops
// it: then it stops accepting, lets in-flight requests finish within shutdownTimeout
// and closes what is left.
func serveGateway(st *stack, h http.Handler, httpLn, httpsLn net.Listener, cert tls.Certificate, log *slog.Logger) *gatewayPart {
	gp := &gatewayPart{}
	var servers []*http.Server
	var wg sync.WaitGroup
	newServer := func() *http.Server {
		return &http.Server{
			Handler:           h,
			ReadHeaderTimeout: httpReadHeaderTimeout,
			IdleTimeout:       httpIdleTimeout,
			MaxHeaderBytes:    httpHeaderBytesMax,
			// Handshake failures and client resets are the client's business.
			ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug),
		}
	}
	if httpLn != nil {
		srv := newServer()
		servers = append(servers, srv)
		gp.HTTPAddr = httpLn.Addr().String()
		wg.Go(func() {
			if err := srv.Serve(httpLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("http server stopped", "error", err.Error())
			}
		})
	}
	if httpsLn != nil {
		srv := newServer()
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
		servers = append(servers, srv)
		gp.HTTPSAddr = httpsLn.Addr().String()
		wg.Go(func() {
			if err := srv.ServeTLS(httpsLn, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("https server stopped", "error", err.Error())
			}
		})
	}
	st.push("gateway listeners", func(ctx context.Context) error {
		dctx, cancel := context.WithTimeout(ctx, shutdownTimeout)
		defer cancel()
		var errs []error
		var swg sync.WaitGroup
		var mu sync.Mutex
		for _, srv := range servers {
			swg.Go(func() {
				if err := srv.Shutdown(dctx); err != nil {
					// Requests still running after the deadline: cut them off.
					srv.Close()
					mu.Lock()
					errs = append(errs, fmt.Errorf("drain: %w", err))
					mu.Unlock()
				}
			})
		}
		swg.Wait()
		wg.Wait()
		return errors.Join(errs...)
	})
	log.Info("gateway listening", "http", gp.HTTPAddr, "https", gp.HTTPSAddr)
	return gp
}

// startGC runs the gateway's garbage collector until the stack stops it.
func startGC(st *stack, gw *gateway.Server, log *slog.Logger) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := gw.Run(ctx); err != nil {
			log.Error("garbage collector stopped", "error", err.Error())
		}
	}()
	st.push("gateway garbage collector", func(context.Context) error {
		cancel()
		<-done
		return nil
	})
}

// bootstrapGateway makes the key ring and root user, retrying while the cluster is
// unreachable.
func bootstrapGateway(ctx context.Context, b gateway.Bootstrap, m gateway.Meta, log *slog.Logger) error {
	return retry(ctx, log, "bootstrap", func() error { return b.Run(ctx, m) })
}

// waitReady polls the gateway's readiness until it holds or ctx ends, saying every
// readyLogInterval why it is not ready yet.
func waitReady(ctx context.Context, gw *gateway.Server, log *slog.Logger) error {
	start, logged := time.Now(), time.Now()
	for {
		rctx, cancel := context.WithTimeout(ctx, gateway.DefaultReadyTimeout)
		err := gw.Ready(rctx)
		cancel()
		if err == nil {
			return nil
		}
		if time.Since(logged) >= readyLogInterval {
			logged = time.Now()
			log.Warn("gateway not ready yet", "waited", time.Since(start).Round(time.Second), "reason", err.Error())
		}
		t := time.NewTimer(readyPollInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("gateway not ready: %w (last: %v)", ctx.Err(), err)
		case <-t.C:
		}
	}
}

// newLogger builds the process logger.
func newLogger(w io.Writer, s logSettings) (*slog.Logger, error) {
	level, err := parseLevel(s.Level)
	if err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: level}
	switch s.Format {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("log format %q: want text or json", s.Format)
}

// displayURL turns a bound address into a URL a local client can use: an unspecified
// host becomes the loopback address.
func displayURL(scheme, addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return scheme + "://" + addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}
