// Package transport carries a meta voter's two kinds of internal traffic over one
// mutual-TLS TCP port: Raft RPCs (a raft.StreamLayer for raft.NetworkTransport) and the
// internal HTTP API (forwarded writes and reads, joins). Each connection names what it
// carries through TLS ALPN (ProtoRaft or ProtoRPC), so a voter's Raft address is also
// its RPC address and a follower reaches the leader knowing only raft's leader address.
//
// Both ends authenticate: the listener requires a client certificate signed by the
// cluster CA (the server tls.Config must say tls.RequireAndVerifyClientCert) and the
// dialers verify the server against the cluster CA. A connection that fails the
// handshake, offers no known protocol or stalls past HandshakeTimeout is closed.
//
// # Concurrency
//
// Listen starts one accept goroutine and one short-lived goroutine per handshake; all
// are owned by the Mux and joined by Close. Accept on the sub-listeners and Dial are
// safe for concurrent use.
package transport

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// ALPN protocol names. They are part of the wire protocol: never change their meaning.
const (
	// ProtoRaft selects the Raft transport.
	ProtoRaft = "coffer-raft/1"
	// ProtoRPC selects the internal HTTP API. It is plain "http/1.1" because
	// net/http's server drops TLS connections that negotiated any other non-HTTP
	// protocol it has no TLSNextProto handler for.
	ProtoRPC = "http/1.1"
)

// Defaults.
const (
	// HandshakeTimeoutDefault bounds one TLS handshake on the listener.
	HandshakeTimeoutDefault = 10 * time.Second
	// BacklogMaxDefault is how many handshaken connections may wait for Accept.
	BacklogMaxDefault = 64
)

// Sentinel errors.
var (
	// ErrNotAdvertisable is returned when no routable advertise address is known.
	ErrNotAdvertisable = errors.New("transport: address is not advertisable")
)

// Config configures a Mux.
type Config struct {
	// BindAddr is the TCP address to listen on, e.g. "0.0.0.0:7400" or "127.0.0.1:0".
	BindAddr string
	// Advertise is the address peers dial. Default: the bound address, which must then
	// not be an unspecified IP (0.0.0.0 or ::).
	Advertise string
	// ServerTLS is the listener's mutual-TLS configuration (certificate, ClientCAs,
	// RequireAndVerifyClientCert). Required. NextProtos is overridden.
	ServerTLS *tls.Config
	// ClientTLS is the dialers' configuration (certificate, RootCAs). Required.
	// NextProtos is overridden per use.
	ClientTLS *tls.Config
	// HandshakeTimeout bounds each handshake; default HandshakeTimeoutDefault.
	HandshakeTimeout time.Duration
	// BacklogMax bounds connections waiting for Accept per protocol; default
	// BacklogMaxDefault.
	BacklogMax int
	// Logger receives handshake failures at debug level; default slog.Default().
	Logger *slog.Logger
}

// EnsureDefaults fills zero fields with their defaults.
func (c *Config) EnsureDefaults() {
	if c.HandshakeTimeout <= 0 {
		c.HandshakeTimeout = HandshakeTimeoutDefault
	}
	if c.BacklogMax <= 0 {
		c.BacklogMax = BacklogMaxDefault
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Validate reports every problem with the configuration.
func (c *Config) Validate() error {
	var errs []error
	if c.BindAddr == "" {
		errs = append(errs, errors.New("transport: BindAddr is required"))
	}
	if c.ServerTLS == nil {
		errs = append(errs, errors.New("transport: ServerTLS is required"))
	} else if c.ServerTLS.ClientAuth != tls.RequireAndVerifyClientCert {
		errs = append(errs, errors.New("transport: ServerTLS must require and verify client certificates"))
	}
	if c.ClientTLS == nil {
		errs = append(errs, errors.New("transport: ClientTLS is required"))
	}
	if c.Advertise != "" {
		if err := checkAdvertise(c.Advertise); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func checkAdvertise(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("transport: advertise %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) || port == "0" {
		return fmt.Errorf("%w: %q", ErrNotAdvertisable, addr)
	}
	return nil
}

// Mux is a listening mutual-TLS port split by ALPN into a Raft stream layer and an
// RPC listener.
type Mux struct {
	cfg       Config
	ln        net.Listener
	advertise string
	serverTLS *tls.Config
	raftTLS   *tls.Config
	rpcTLS    *tls.Config
	raft      *subListener
	rpc       *subListener

	ctx       context.Context // cancelled by Close; bounds handshakes
	cancel    context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
}

// Listen binds cfg.BindAddr and starts accepting connections.
func Listen(cfg Config) (*Mux, error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.BindAddr)
	if err != nil {
		return nil, fmt.Errorf("transport: listen: %w", err)
	}
	adv := cfg.Advertise
	if adv == "" {
		adv = ln.Addr().String()
		if err := checkAdvertise(adv); err != nil {
			ln.Close()
			return nil, err
		}
	}
	m := &Mux{
		cfg:       cfg,
		ln:        ln,
		advertise: adv,
		serverTLS: cfg.ServerTLS.Clone(),
		raftTLS:   cfg.ClientTLS.Clone(),
		rpcTLS:    cfg.ClientTLS.Clone(),
		done:      make(chan struct{}),
	}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	m.serverTLS.NextProtos = []string{ProtoRaft, ProtoRPC}
	m.raftTLS.NextProtos = []string{ProtoRaft}
	m.rpcTLS.NextProtos = []string{ProtoRPC}
	m.raft = newSubListener(m, cfg.BacklogMax)
	m.rpc = newSubListener(m, cfg.BacklogMax)
	m.wg.Add(1)
	go m.acceptLoop()
	return m, nil
}

// Addr is the advertised address ("host:port").
func (m *Mux) Addr() string { return m.advertise }

// StreamLayer returns the Raft side of the port.
func (m *Mux) StreamLayer() raft.StreamLayer { return (*streamLayer)(m) }

// RPCListener returns the listener of connections that asked for ProtoRPC. They are
// *tls.Conn with the handshake done; r.TLS is set for HTTP handlers.
func (m *Mux) RPCListener() net.Listener { return m.rpc }

// Close stops accepting, closes both sub-listeners and waits for the Mux's goroutines.
// Connections already handed out stay open; their owners close them.
func (m *Mux) Close() error {
	var err error
	m.closeOnce.Do(func() {
		close(m.done)
		m.cancel()
		err = m.ln.Close()
		m.wg.Wait()
		m.raft.drain()
		m.rpc.drain()
	})
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("transport: close: %w", err)
	}
	return nil
}

func (m *Mux) acceptLoop() {
	defer m.wg.Done()
	backoff := 5 * time.Millisecond
	for {
		c, err := m.ln.Accept()
		if err != nil {
			select {
			case <-m.done:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Transient (e.g. EMFILE): back off, bounded, and keep serving.
			m.cfg.Logger.Warn("transport: accept", "err", err)
			select {
			case <-time.After(backoff):
			case <-m.done:
				return
			}
			backoff = min(backoff*2, time.Second)
			continue
		}
		backoff = 5 * time.Millisecond
		m.wg.Add(1)
		go m.handshake(c)
	}
}

func (m *Mux) handshake(raw net.Conn) {
	defer m.wg.Done()
	tc := tls.Server(raw, m.serverTLS)
	ctx, cancel := context.WithTimeout(m.ctx, m.cfg.HandshakeTimeout)
	err := tc.HandshakeContext(ctx)
	cancel()
	if err != nil {
		m.cfg.Logger.Debug("transport: handshake failed", "remote", raw.RemoteAddr().String(), "err", err)
		tc.Close()
		return
	}
	switch tc.ConnectionState().NegotiatedProtocol {
	case ProtoRaft:
		m.raft.deliver(tc)
	case ProtoRPC:
		m.rpc.deliver(tc)
	default:
		m.cfg.Logger.Debug("transport: no protocol negotiated", "remote", raw.RemoteAddr().String())
		tc.Close()
	}
}

// subListener is a net.Listener fed by the Mux.
type subListener struct {
	m         *Mux
	ch        chan net.Conn
	closed    chan struct{}
	closeOnce sync.Once
}

func newSubListener(m *Mux, backlog int) *subListener {
	return &subListener{m: m, ch: make(chan net.Conn, backlog), closed: make(chan struct{})}
}

func (l *subListener) deliver(c net.Conn) {
	select {
	case l.ch <- c:
	case <-l.closed:
		c.Close()
	case <-l.m.done:
		c.Close()
	}
}

// drain closes connections nobody accepted. Called after the Mux's goroutines ended.
func (l *subListener) drain() {
	for {
		select {
		case c := <-l.ch:
			c.Close()
		default:
			return
		}
	}
}

func (l *subListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	case <-l.m.done:
		return nil, net.ErrClosed
	}
}

func (l *subListener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return nil
}

func (l *subListener) Addr() net.Addr { return advertiseAddr(l.m.advertise) }

type advertiseAddr string

func (a advertiseAddr) Network() string { return "tcp" }
func (a advertiseAddr) String() string  { return string(a) }

// streamLayer is the Mux seen as a raft.StreamLayer.
type streamLayer Mux

func (s *streamLayer) Accept() (net.Conn, error) { return s.raft.Accept() }
func (s *streamLayer) Close() error              { return s.raft.Close() }
func (s *streamLayer) Addr() net.Addr            { return advertiseAddr(s.advertise) }

// Dial opens a mutual-TLS Raft connection to a peer.
func (s *streamLayer) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	return dial(context.Background(), string(addr), timeout, s.raftTLS)
}

func dial(ctx context.Context, addr string, timeout time.Duration, cfg *tls.Config) (net.Conn, error) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	d := tls.Dialer{NetDialer: &net.Dialer{KeepAlive: 30 * time.Second}, Config: cfg}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("transport: dial %s: %w", addr, err)
	}
	return c, nil
}

// HTTPTransport returns an http.Transport that dials the internal RPC of peers with
// clientTLS (mutual TLS, ALPN ProtoRPC). The caller owns it and should call
// CloseIdleConnections when done.
func HTTPTransport(clientTLS *tls.Config, dialTimeout time.Duration) *http.Transport {
	cfg := clientTLS.Clone()
	cfg.NextProtos = []string{ProtoRPC}
	return &http.Transport{
		DialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return dial(ctx, addr, dialTimeout, cfg)
		},
		ForceAttemptHTTP2:   false,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     90 * time.Second,
	}
}
