package node_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/coffer-io/coffer/erasure"
	"github.com/coffer-io/coffer/internal/pki"
	"github.com/coffer-io/coffer/node"
	"github.com/coffer-io/coffer/node/nodetest"
)

// cluster is one CA's TLS material for tests.
type cluster struct {
	ca     *pki.CA
	server tls.Certificate
	client tls.Certificate
}

var (
	tlsOnce sync.Once
	tlsA    *cluster
	tlsB    *cluster
)

func newCluster(t testing.TB, name string) *cluster {
	now := time.Now()
	ca, err := pki.NewCA(rand.Reader, name, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := ca.Issue(rand.Reader, "node", []string{"127.0.0.1"}, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cli, err := ca.Issue(rand.Reader, "gateway", []string{"127.0.0.1"}, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return &cluster{ca: ca, server: srv, client: cli}
}

func clusters(t testing.TB) (*cluster, *cluster) {
	tlsOnce.Do(func() { tlsA, tlsB = newCluster(t, "coffer-a"), newCluster(t, "coffer-b") })
	return tlsA, tlsB
}

type rpcEnv struct {
	mem    *vfs.MemFS
	store  *node.Store
	srv    *node.Server
	addr   string
	client *node.Client
	tls    *cluster
	close  func() // stops server, client and store; idempotent
}

type envOpts struct {
	tls        bool
	scfg       node.ServerConfig
	shardMax   int64
	diskClient bool
}

func startRPC(t testing.TB, o envOpts) *rpcEnv {
	t.Helper()
	e := &rpcEnv{mem: vfs.NewMem()}
	s, err := node.Open(node.Config{FS: e.mem, FreeBytesMin: -1, ShardMaxBytes: o.shardMax, CacheBytes: 8 << 20, MemTableBytes: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	e.store = s
	var ccfg node.ClientConfig
	if o.tls {
		a, _ := clusters(t)
		e.tls = a
		o.scfg.TLS = a.ca.ServerConfig(a.server)
		ccfg.TLS = a.ca.ClientConfig(a.client)
	}
	srv, err := node.NewServer(s, o.scfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.srv, e.addr = srv, ln.Addr().String()
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	e.client = node.NewClient(e.addr, ccfg)
	var once sync.Once
	e.close = func() {
		once.Do(func() {
			e.client.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(ctx)
			if err := <-done; !errors.Is(err, http.ErrServerClosed) {
				t.Errorf("Serve: %v", err)
			}
			s.Close()
		})
	}
	t.Cleanup(e.close)
	return e
}

func TestRPCRoundTrip(t *testing.T) {
	for _, withTLS := range []bool{false, true} {
		t.Run(fmt.Sprintf("tls=%v", withTLS), func(t *testing.T) {
			e := startRPC(t, envOpts{tls: withTLS})
			ctx := context.Background()
			g := nodetest.Geometry
			var ids []node.ShardID
			var shards [][]byte
			for i, data := range []int64{0, 500, 4*int64(g.BlockSize) + 3} {
				id := nodetest.ID(7, uint32(i), uint16(i))
				b := nodetest.Shard(t, id, g, data, uint64(i))
				if err := e.client.Put(ctx, id, int64(len(b)), bytes.NewReader(b)); err != nil {
					t.Fatalf("Put %v: %v", id, err)
				}
				if err := e.client.Put(ctx, id, int64(len(b)), bytes.NewReader(b)); err != nil {
					t.Fatalf("idempotent Put %v: %v", id, err)
				}
				ids, shards = append(ids, id), append(shards, b)
			}
			for i, id := range ids {
				want := shards[i]
				got := readAll(t, e.client, id, 0, -1)
				if !bytes.Equal(got, want) {
					t.Errorf("%v: Get returned %d bytes, want %d", id, len(got), len(want))
				}
				if int64(len(want)) > erasure.FrameOffset(g, 1)+100 {
					off := erasure.FrameOffset(g, 1)
					if got := readAll(t, e.client, id, off-10, 100); !bytes.Equal(got, want[off-10:off+90]) {
						t.Errorf("%v: ranged Get returned other bytes", id)
					}
				}
				if got := readAll(t, e.client, id, int64(len(want)), 0); len(got) != 0 {
					t.Errorf("empty range returned %d bytes", len(got))
				}
				info, err := e.client.Stat(ctx, id)
				if err != nil || info.Size != int64(len(want)) || !bytes.Equal(info.Header, want[:erasure.HeaderSize]) {
					t.Errorf("Stat %v = %+v, %v", id, info, err)
				}
			}
			other := nodetest.Shard(t, ids[2], g, 4*int64(g.BlockSize)+3, 99)
			if err := e.client.Put(ctx, ids[2], int64(len(other)), bytes.NewReader(other)); !errors.Is(err, node.ErrExists) {
				t.Errorf("Put of other bytes: %v, want ErrExists", err)
			}
			if err := e.client.Replace(ctx, ids[2], int64(len(other)), bytes.NewReader(other)); err != nil {
				t.Errorf("Replace: %v", err)
			}
			if _, err := e.client.Get(ctx, ids[0], 0, 1000); !errors.Is(err, node.ErrRange) {
				t.Errorf("Get past the end: %v, want ErrRange", err)
			}
			listed, err := e.client.ListVersion(ctx, ids[0].Version)
			if err != nil || len(listed) != 3 || listed[2] != ids[2] {
				t.Errorf("ListVersion = %v, %v", listed, err)
			}
			if err := e.client.Delete(ctx, ids[1]); err != nil {
				t.Errorf("Delete: %v", err)
			}
			if err := e.client.Delete(ctx, ids[1]); !errors.Is(err, node.ErrNotFound) {
				t.Errorf("second Delete: %v, want ErrNotFound", err)
			}
			if _, err := e.client.Stat(ctx, ids[1]); !errors.Is(err, node.ErrNotFound) {
				t.Errorf("Stat after Delete: %v, want ErrNotFound", err)
			}
			if _, err := e.client.Get(ctx, ids[1], 0, -1); !errors.Is(err, node.ErrNotFound) {
				t.Errorf("Get after Delete: %v, want ErrNotFound", err)
			}
			if n, err := e.client.DeleteVersion(ctx, ids[0].Version); err != nil || n != 2 {
				t.Errorf("DeleteVersion = %d, %v; want 2", n, err)
			}
			h, err := e.client.Health(ctx)
			if err != nil || h.ReadOnly {
				t.Errorf("Health = %+v, %v", h, err)
			}
			bad := nodetest.Shard(t, ids[0], g, 3*int64(g.BlockSize), 5)
			bad[len(bad)-1] ^= 1
			if err := e.client.Put(ctx, ids[0], int64(len(bad)), bytes.NewReader(bad)); !erasure.IsCorrupt(err) {
				t.Errorf("corrupt upload: %v, want a corruption error", err)
			}
			wrong := nodetest.Shard(t, ids[1], g, 100, 5) // header names ids[1]
			if err := e.client.Put(ctx, ids[0], int64(len(wrong)), bytes.NewReader(wrong)); !errors.Is(err, node.ErrInvalid) {
				t.Errorf("misaddressed upload: %v, want ErrInvalid", err)
			}
		})
	}
}

func readAll(t testing.TB, c *node.Client, id node.ShardID, off, n int64) []byte {
	t.Helper()
	r, err := c.Get(context.Background(), id, off, n)
	if err != nil {
		t.Fatalf("Get %v %d+%d: %v", id, off, n, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("Get %v %d+%d: read: %v", id, off, n, err)
	}
	return b
}

func TestRPCTLSRejectsStrangers(t *testing.T) {
	e := startRPC(t, envOpts{tls: true})
	_, b := clusters(t)
	id := nodetest.ID(1, 0, 0)
	cases := map[string]*tls.Config{
		// A certificate from another cluster's CA.
		"other CA": func() *tls.Config {
			c := b.ca.ClientConfig(b.client)
			c.RootCAs = e.tls.ca.Pool() // it trusts the server, the server does not trust it
			return c
		}(),
		// No client certificate at all.
		"no certificate": {MinVersion: tls.VersionTLS13, RootCAs: e.tls.ca.Pool()},
	}
	for name, cfg := range cases {
		c := node.NewClient(e.addr, node.ClientConfig{TLS: cfg})
		_, err := c.Stat(context.Background(), id)
		c.Close()
		if !errors.Is(err, node.ErrUnavailable) || !strings.Contains(err.Error(), "certificate") {
			t.Errorf("%s: Stat err %v, want ErrUnavailable naming the certificate", name, err)
		}
	}
	// A client that does not trust the server's CA fails too.
	c := node.NewClient(e.addr, node.ClientConfig{TLS: b.ca.ClientConfig(b.client)})
	defer c.Close()
	if _, err := c.Stat(context.Background(), id); !errors.Is(err, node.ErrUnavailable) || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("untrusted server: %v", err)
	}
}

func TestRPCProtocolVersion(t *testing.T) {
	e := startRPC(t, envOpts{})
	id := nodetest.ID(1, 0, 0)
	for _, v := range []string{"", "2", "1.0"} {
		req, _ := http.NewRequest(http.MethodHead, "http://"+e.addr+"/shard/v1/"+fmt.Sprintf("%x", id.Version[:])+"/0/0", nil)
		if v != "" {
			req.Header.Set(node.ProtocolHeader, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get(node.ErrorHeader) != "protocol" {
			t.Errorf("version %q: %s %q", v, resp.Status, resp.Header.Get(node.ErrorHeader))
		}
	}
	for _, p := range []string{"/shard/v2/x", "/shard/v1/zz/0/0", "/shard/v1/" + strings.Repeat("0", 32) + "/01/0"} {
		req, _ := http.NewRequest(http.MethodGet, "http://"+e.addr+p, nil)
		req.Header.Set(node.ProtocolHeader, node.ProtocolVersion)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 4 {
			t.Errorf("path %q: %s", p, resp.Status)
		}
	}
}

// rawPut opens a connection and sends a PUT head announcing size bytes followed by
// body, then returns the connection for the caller to close or leave hanging.
func rawPut(t *testing.T, e *rpcEnv, id node.ShardID, size int64, body []byte) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "PUT /shard/v1/%x/%d/%d HTTP/1.1\r\nHost: x\r\n%s: 1\r\nContent-Length: %d\r\n\r\n",
		id.Version[:], id.Part, id.Index, node.ProtocolHeader, size)
	if _, err := conn.Write(body); err != nil {
		t.Fatal(err)
	}
	return conn
}

// waitClosed reads conn until the server closes it.
func waitClosed(t *testing.T, conn net.Conn, within time.Duration) {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(within))
	if _, err := io.Copy(io.Discard, conn); err != nil {
		t.Fatalf("server did not close the connection: %v", err)
	}
}

func TestRPCTruncatedBody(t *testing.T) {
	e := startRPC(t, envOpts{})
	g := nodetest.Geometry
	for _, data := range []int64{1000, 5 * int64(g.BlockSize)} {
		id := nodetest.ID(uint64(data), 0, 1)
		b := nodetest.Shard(t, id, g, data, 1)
		conn := rawPut(t, e, id, int64(len(b)), b[:len(b)/2])
		conn.(*net.TCPConn).CloseWrite()
		waitClosed(t, conn, 5*time.Second)
		conn.Close()
		if _, err := e.store.Stat(id); !errors.Is(err, node.ErrNotFound) {
			t.Errorf("%d: truncated put left a shard: %v", data, err)
		}
		assertNoTemp(t, e.mem)
	}
}

// assertNoTemp fails if any temp file is left under the shard directory.
func assertNoTemp(t *testing.T, fs vfs.FS) {
	t.Helper()
	var walk func(dir string)
	walk = func(dir string) {
		names, _ := fs.List(dir)
		for _, n := range names {
			p := fs.PathJoin(dir, n)
			if strings.HasSuffix(n, ".tmp") {
				t.Errorf("temp file left: %s", p)
			}
			if st, err := fs.Stat(p); err == nil && st.IsDir() {
				walk(p)
			}
		}
	}
	walk("/shards")
}

func TestRPCStalledClientFreesSlot(t *testing.T) {
	e := startRPC(t, envOpts{scfg: node.ServerConfig{StreamsMax: 1, StallTimeout: 300 * time.Millisecond}})
	g := nodetest.Geometry
	id := nodetest.ID(3, 0, 0)
	b := nodetest.Shard(t, id, g, 4*int64(g.BlockSize), 1)
	conn := rawPut(t, e, id, int64(len(b)), b[:1000]) // then silence
	defer conn.Close()
	// While the stalled put holds the only slot, others are turned away.
	waitBusy(t, e.client)
	waitClosed(t, conn, 5*time.Second)
	if err := e.client.Put(context.Background(), id, int64(len(b)), bytes.NewReader(b)); err != nil {
		t.Errorf("Put after the stall timeout: %v", err)
	}
}

func TestRPCTooLarge(t *testing.T) {
	e := startRPC(t, envOpts{shardMax: 1 << 20})
	g := nodetest.Geometry
	id := nodetest.ID(4, 0, 0)
	b := nodetest.Shard(t, id, g, 20*int64(g.BlockSize), 1)
	err := e.client.Put(context.Background(), id, int64(len(b)), bytes.NewReader(b))
	if !errors.Is(err, node.ErrTooLarge) || !strings.Contains(err.Error(), "413") {
		t.Errorf("oversized Put: %v, want ErrTooLarge from a 413", err)
	}
	if _, err := e.store.Stat(id); !errors.Is(err, node.ErrNotFound) {
		t.Errorf("oversized put stored a shard: %v", err)
	}
}

// gatedReader returns the first n bytes of b, then blocks until its context ends.
type gatedReader struct {
	b       []byte
	n       int
	ctx     context.Context
	reached chan struct{}
	once    sync.Once
}

func (g *gatedReader) Read(p []byte) (int, error) {
	if g.n == 0 {
		g.once.Do(func() { close(g.reached) })
		<-g.ctx.Done()
		return 0, g.ctx.Err()
	}
	k := copy(p[:min(len(p), g.n)], g.b)
	g.b, g.n = g.b[k:], g.n-k
	return k, nil
}

func TestRPCCancel(t *testing.T) {
	before := runtime.NumGoroutine()
	func() {
		e := startRPC(t, envOpts{tls: true})
		g := nodetest.Geometry
		id := nodetest.ID(5, 0, 0)
		b := nodetest.Shard(t, id, g, 8*int64(g.BlockSize), 1)

		// Mid-put: the body stops, then the caller cancels.
		ctx, cancel := context.WithCancel(context.Background())
		gr := &gatedReader{b: b, n: len(b) / 2, ctx: ctx, reached: make(chan struct{})}
		errc := make(chan error, 1)
		go func() { errc <- e.client.Put(ctx, id, int64(len(b)), gr) }()
		<-gr.reached
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled Put: %v, want context.Canceled", err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			_, err := e.store.Stat(id)
			if errors.Is(err, node.ErrNotFound) && noTemp(e.mem) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("cancelled put left state: Stat %v", err)
			}
			time.Sleep(10 * time.Millisecond)
		}

		// Mid-get: read a little, cancel, the reader fails and closes cleanly.
		if err := e.client.Put(context.Background(), id, int64(len(b)), bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
		ctx, cancel = context.WithCancel(context.Background())
		r, err := e.client.Get(ctx, id, 0, -1)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(r, make([]byte, 1000)); err != nil {
			t.Fatal(err)
		}
		cancel()
		if _, err := io.Copy(io.Discard, r); err == nil {
			t.Error("Get after cancel read to the end without error")
		}
		r.Close()
		e.close()
	}()
	// Every goroutine of client, server and store ends.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("goroutines: %d before, %d after\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func noTemp(fs vfs.FS) bool {
	found := false
	var walk func(dir string)
	walk = func(dir string) {
		names, _ := fs.List(dir)
		for _, n := range names {
			p := fs.PathJoin(dir, n)
			if strings.HasSuffix(n, ".tmp") {
				found = true
			}
			if st, err := fs.Stat(p); err == nil && st.IsDir() {
				walk(p)
			}
		}
	}
	walk("/shards")
	return !found
}

func TestRPCStreamLimit(t *testing.T) {
	e := startRPC(t, envOpts{scfg: node.ServerConfig{StreamsMax: 2}})
	g := nodetest.Geometry
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	for i := range 2 {
		id := nodetest.ID(uint64(60+i), 0, 0)
		b := nodetest.Shard(t, id, g, 4*int64(g.BlockSize), 1)
		gr := &gatedReader{b: b, n: 1000, ctx: ctx, reached: make(chan struct{})}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = e.client.Put(ctx, id, int64(len(b)), gr)
		}()
		<-gr.reached
	}
	waitBusy(t, e.client) // both requests are inside the handler now
	id := nodetest.ID(62, 0, 0)
	b := nodetest.Shard(t, id, g, 10, 1)
	err := e.client.Put(context.Background(), id, int64(len(b)), bytes.NewReader(b))
	if !errors.Is(err, node.ErrUnavailable) || !strings.Contains(err.Error(), "503") {
		t.Errorf("third stream: %v, want ErrUnavailable from a 503", err)
	}
	cancel()
	wg.Wait()
	// The server notices the cancelled streams when their connections close.
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := e.client.Put(context.Background(), id, int64(len(b)), bytes.NewReader(b))
		if err == nil {
			break
		}
		if !errors.Is(err, node.ErrUnavailable) || time.Now().After(deadline) {
			t.Fatalf("after the streams ended: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// shardFile is the stored file of id in a mem FS store opened at "/".
func shardFile(id node.ShardID) string {
	return fmt.Sprintf("/shards/%02x/%02x/%x-%08x-%04x", id.Version[0], id.Version[1], id.Version[:], id.Part, id.Index)
}

// flipStored inverts one bit of the stored file of id at off.
func flipStored(t testing.TB, fs vfs.FS, id node.ShardID, off int64) {
	t.Helper()
	f, err := fs.OpenReadWrite(shardFile(id), vfs.WriteCategoryUnspecified)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x04
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

func TestRPCCorruption(t *testing.T) {
	e := startRPC(t, envOpts{tls: true})
	g := nodetest.Geometry
	ctx := context.Background()
	id := nodetest.ID(8, 0, 2)
	b := nodetest.Shard(t, id, g, 6*int64(g.BlockSize), 1)
	if err := e.client.Put(ctx, id, int64(len(b)), bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	}
	flipStored(t, e.mem, id, erasure.FrameOffset(g, 3)+100)

	// Corruption after the response started: the body is cut short, the reader fails.
	r, err := e.client.Get(ctx, id, 0, -1)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	got, err := io.ReadAll(r)
	r.Close()
	if err == nil || int64(len(got)) >= erasure.FrameOffset(g, 4) {
		t.Errorf("streamed corrupt shard: %d bytes, err %v", len(got), err)
	}
	if !bytes.Equal(got, b[:len(got)]) {
		t.Error("bytes before the corrupt frame differ")
	}
	// Corruption in the first requested frame: a clean corruption error.
	_, err = e.client.Get(ctx, id, erasure.FrameOffset(g, 3), erasure.FrameOffset(g, 4)-erasure.FrameOffset(g, 3))
	if !erasure.IsCorrupt(err) || !strings.Contains(err.Error(), id.String()) {
		t.Errorf("Get of the corrupt frame: %v, want a corruption error naming %v", err, id)
	}
	// Frames before it still read.
	if got := readAll(t, e.client, id, 0, erasure.FrameOffset(g, 3)); !bytes.Equal(got, b[:erasure.FrameOffset(g, 3)]) {
		t.Error("intact frames read back wrong")
	}
	h, err := e.client.Health(ctx)
	if err != nil || h.Corruptions < 2 {
		t.Errorf("Health = %+v, %v; want ≥ 2 corruptions", h, err)
	}
	// Healing replaces the shard.
	if err := e.client.Replace(ctx, id, int64(len(b)), bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, e.client, id, 0, -1); !bytes.Equal(got, b) {
		t.Error("healed shard reads back wrong")
	}
}

// TestRPCKeepAliveAfterStall reuses a connection after a streamed GET and a pause
// longer than the stall timeout: deadlines of one request must not leak into the
// next.
func TestRPCKeepAliveAfterStall(t *testing.T) {
	e := startRPC(t, envOpts{scfg: node.ServerConfig{StallTimeout: 200 * time.Millisecond}})
	g := nodetest.Geometry
	id := nodetest.ID(9, 0, 0)
	b := nodetest.Shard(t, id, g, 3*int64(g.BlockSize), 1)
	ctx := context.Background()
	if err := e.client.Put(ctx, id, int64(len(b)), bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	}
	readAll(t, e.client, id, 0, -1)
	time.Sleep(400 * time.Millisecond)
	if _, err := e.client.Stat(ctx, id); err != nil {
		t.Errorf("Stat on a reused connection: %v", err)
	}
	time.Sleep(400 * time.Millisecond)
	if _, err := e.client.ListVersion(ctx, id.Version); err != nil {
		t.Errorf("ListVersion on a reused connection: %v", err)
	}
}

// failingReader returns n bytes of b, then err.
type failingReader struct {
	b   []byte
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if len(f.b) == 0 {
		return 0, f.err
	}
	n := copy(p, f.b)
	f.b = f.b[n:]
	return n, nil
}

func TestRPCSourceFails(t *testing.T) {
	e := startRPC(t, envOpts{})
	g := nodetest.Geometry
	id := nodetest.ID(12, 0, 0)
	b := nodetest.Shard(t, id, g, 4*int64(g.BlockSize), 1)
	boom := errors.New("encoder failed")
	err := e.client.Put(context.Background(), id, int64(len(b)), &failingReader{b: b[:len(b)/2], err: boom})
	if !errors.Is(err, boom) || errors.Is(err, node.ErrUnavailable) {
		t.Errorf("Put with a failing source: %v, want the source's error, not ErrUnavailable", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !noTemp(e.mem) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := e.store.Stat(id); !errors.Is(err, node.ErrNotFound) || !noTemp(e.mem) {
		t.Errorf("failed put left state: Stat %v", err)
	}
}

// waitBusy polls the node with a cheap request until it answers busy (503).
func waitBusy(t *testing.T, c *node.Client) {
	t.Helper()
	probe := nodetest.ID(999, 0, 0)
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := c.Stat(context.Background(), probe)
		if errors.Is(err, node.ErrUnavailable) && strings.Contains(err.Error(), "503") {
			return
		}
		if !errors.Is(err, node.ErrNotFound) || time.Now().After(deadline) {
			t.Fatalf("node never became busy: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRPCDeadline(t *testing.T) {
	e := startRPC(t, envOpts{})
	g := nodetest.Geometry
	id := nodetest.ID(13, 0, 0)
	b := nodetest.Shard(t, id, g, 4*int64(g.BlockSize), 1)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	gr := &gatedReader{b: b, n: 1000, ctx: ctx, reached: make(chan struct{})}
	err := e.client.Put(ctx, id, int64(len(b)), gr)
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, node.ErrUnavailable) {
		t.Errorf("Put past its deadline: %v, want DeadlineExceeded and ErrUnavailable", err)
	}
}
