package transport

import (
	"crypto/rand"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coffer-io/coffer/internal/pki"
	"github.com/hashicorp/raft"
)

type tlsPair struct{ server, client *tls.Config }

func newPair(t *testing.T, name string) (*pki.CA, tlsPair) {
	t.Helper()
	now := time.Now()
	ca, err := pki.NewCA(rand.Reader, name+" CA", now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.Issue(rand.Reader, name, []string{"127.0.0.1", "localhost"}, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return ca, tlsPair{ca.ServerConfig(cert), ca.ClientConfig(cert)}
}

func listen(t *testing.T, p tlsPair) *Mux {
	t.Helper()
	m, err := Listen(Config{BindAddr: "127.0.0.1:0", ServerTLS: p.server, ClientTLS: p.client, HandshakeTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func TestRaftAndRPCShareThePort(t *testing.T) {
	_, p := newPair(t, "node")
	m := listen(t, p)

	// Raft side: a dialed stream reaches the stream layer's Accept.
	sl := m.StreamLayer()
	if sl.Addr().String() != m.Addr() {
		t.Errorf("stream layer addr %q, mux addr %q", sl.Addr(), m.Addr())
	}
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := sl.Accept()
		if err == nil {
			accepted <- c
		}
	}()
	c, err := sl.Dial(m.raftAddr(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	var sc net.Conn
	select {
	case sc = <-accepted:
	case <-time.After(5 * time.Second):
		t.Fatal("raft connection never accepted")
	}
	defer sc.Close()
	buf := make([]byte, 4)
	if _, err := io.ReadFull(sc, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("read %q, %v", buf, err)
	}

	// RPC side: HTTP over the same port.
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
			http.Error(w, "no client cert", http.StatusForbidden)
			return
		}
		io.WriteString(w, "hello "+r.TLS.PeerCertificates[0].Subject.CommonName)
	})}
	go srv.Serve(m.RPCListener())
	defer srv.Close()
	hc := &http.Client{Transport: HTTPTransport(p.client, time.Second), Timeout: 5 * time.Second}
	resp, err := hc.Get("https://" + m.Addr() + "/x")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "hello node" {
		t.Errorf("RPC body %q", body)
	}
}

func (m *Mux) raftAddr() raft.ServerAddress { return raft.ServerAddress(m.Addr()) }

func TestWrongCertificateRefused(t *testing.T) {
	_, good := newPair(t, "node")
	_, evil := newPair(t, "intruder")
	m := listen(t, good)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "secret") })}
	go srv.Serve(m.RPCListener())
	defer srv.Close()

	// The intruder trusts our CA (so only its own certificate is wrong).
	client := evil.client.Clone()
	client.RootCAs = good.client.RootCAs

	raftTLS := client.Clone()
	raftTLS.NextProtos = []string{ProtoRaft}
	if c, err := dial(t.Context(), m.Addr(), time.Second, raftTLS); err == nil {
		// TLS 1.3 clients finish before the server checks their certificate; the
		// refusal arrives on the first read.
		c.SetDeadline(time.Now().Add(3 * time.Second))
		c.Write([]byte{0})
		if _, err := c.Read(make([]byte, 1)); err == nil {
			t.Error("raft stream with a foreign client certificate was served")
		}
		c.Close()
	}
	hc := &http.Client{Transport: HTTPTransport(client, time.Second), Timeout: 3 * time.Second}
	if resp, err := hc.Get("https://" + m.Addr() + "/"); err == nil {
		resp.Body.Close()
		t.Error("RPC with a foreign client certificate was served")
	}
	// No certificate at all.
	bare := &tls.Config{RootCAs: good.client.RootCAs, NextProtos: []string{ProtoRPC}, MinVersion: tls.VersionTLS13}
	if c, err := dial(t.Context(), m.Addr(), time.Second, bare); err == nil {
		c.SetDeadline(time.Now().Add(3 * time.Second))
		c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
		if _, err := c.Read(make([]byte, 1)); err == nil {
			t.Error("connection without a client certificate was served")
		}
		c.Close()
	}
	// The server is not trusted by a client of another CA either.
	hc2 := &http.Client{Transport: HTTPTransport(evil.client, time.Second), Timeout: 3 * time.Second}
	if resp, err := hc2.Get("https://" + m.Addr() + "/"); err == nil {
		resp.Body.Close()
		t.Error("client accepted a server of a foreign CA")
	}
}

func TestUnknownProtocolClosed(t *testing.T) {
	_, p := newPair(t, "node")
	m := listen(t, p)
	cfg := p.client.Clone()
	cfg.NextProtos = []string{"h2"}
	c, err := dial(t.Context(), m.Addr(), time.Second, cfg)
	if err == nil {
		c.SetDeadline(time.Now().Add(3 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err == nil {
			t.Error("connection with an unknown ALPN protocol stayed open")
		}
		c.Close()
	}
}

func TestConfigValidate(t *testing.T) {
	_, p := newPair(t, "node")
	noMTLS := p.server.Clone()
	noMTLS.ClientAuth = tls.NoClientCert
	tests := []struct {
		name string
		cfg  Config
		want []string
	}{
		{"empty", Config{}, []string{"BindAddr", "ServerTLS", "ClientTLS"}},
		{"no client auth", Config{BindAddr: ":0", ServerTLS: noMTLS, ClientTLS: p.client}, []string{"require and verify"}},
		{"unspecified advertise", Config{BindAddr: ":0", ServerTLS: p.server, ClientTLS: p.client, Advertise: "0.0.0.0:7000"}, []string{"not advertisable"}},
		{"ok", Config{BindAddr: ":0", ServerTLS: p.server, ClientTLS: p.client, Advertise: "10.0.0.1:7000"}, nil},
	}
	for _, tt := range tests {
		err := tt.cfg.Validate()
		if len(tt.want) == 0 {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: accepted", tt.name)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q lacks %q", tt.name, err, w)
			}
		}
	}
	// Binding the wildcard without an advertise address cannot be dialed by peers.
	if _, err := Listen(Config{BindAddr: "0.0.0.0:0", ServerTLS: p.server, ClientTLS: p.client}); !errors.Is(err, ErrNotAdvertisable) {
		t.Errorf("wildcard bind without advertise: %v", err)
	}
}

func TestCloseUnblocksAccept(t *testing.T) {
	_, p := newPair(t, "node")
	m := listen(t, p)
	errc := make(chan error, 2)
	go func() { _, err := m.StreamLayer().Accept(); errc <- err }()
	go func() { _, err := m.RPCListener().Accept(); errc <- err }()
	time.Sleep(10 * time.Millisecond)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		select {
		case err := <-errc:
			if !errors.Is(err, net.ErrClosed) {
				t.Errorf("Accept after Close: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Accept did not return after Close")
		}
	}
}
