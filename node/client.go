package node

import (
	"context"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/coffer-io/coffer/erasure"
)

// Client defaults.
const (
	// DefaultDialTimeout bounds connecting (TCP and TLS handshake).
	DefaultDialTimeout = 5 * time.Second
	// DefaultResponseHeaderTimeout bounds waiting for a response after the request
	// was sent (a put's fsync and commit happen in this window).
	DefaultResponseHeaderTimeout = 30 * time.Second
	// DefaultIdleConnsPerHost is how many keep-alive connections a client keeps.
	DefaultIdleConnsPerHost = 64
	// DefaultIdleConnTimeout closes idle pooled connections.
	DefaultIdleConnTimeout = 90 * time.Second
	// transferBufferBytes is the transport's socket buffer per connection.
	transferBufferBytes = 256 << 10
	// errorBodyBytesMax bounds the error message read from a response.
	errorBodyBytesMax = 4 << 10
)

// ClientConfig configures a Client. The zero value is valid (plain HTTP).
type ClientConfig struct {
	// TLS, when set, makes the client speak TLS with it (pki's mutual client config).
	TLS *tls.Config
	// DialTimeout bounds connecting. Default DefaultDialTimeout.
	DialTimeout time.Duration
	// ResponseHeaderTimeout bounds the wait for response headers. Default
	// DefaultResponseHeaderTimeout.
	ResponseHeaderTimeout time.Duration
	// IdleConnsPerHost is the size of the keep-alive pool. Default DefaultIdleConnsPerHost.
	IdleConnsPerHost int
	// IdleConnTimeout closes idle pooled connections. Default DefaultIdleConnTimeout.
	IdleConnTimeout time.Duration
	// Dial, when set, replaces the TCP dialer (tests, custom transports).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// EnsureDefaults fills zero fields with their defaults.
func (c *ClientConfig) EnsureDefaults() {
	if c.DialTimeout == 0 {
		c.DialTimeout = DefaultDialTimeout
	}
	if c.ResponseHeaderTimeout == 0 {
		c.ResponseHeaderTimeout = DefaultResponseHeaderTimeout
	}
	if c.IdleConnsPerHost == 0 {
		c.IdleConnsPerHost = DefaultIdleConnsPerHost
	}
	if c.IdleConnTimeout == 0 {
		c.IdleConnTimeout = DefaultIdleConnTimeout
	}
}

// Client talks the shard RPC to one storage node. It is safe for concurrent use and
// pools connections. Errors: ErrUnavailable (the node cannot be reached, timed out,
// reset the connection, is overloaded or failed internally: retry elsewhere),
// ErrNotFound, ErrExists, ErrReadOnly, ErrTooLarge, ErrInvalid, ErrRange,
// ErrProtocol, corruption (erasure.IsCorrupt), and the caller's context errors (an
// expired deadline also wraps ErrUnavailable: the node was too slow).
type Client struct {
	addr string
	base string
	tr   *http.Transport
	hc   *http.Client
}

// NewClient returns a client of the node at addr ("host:port").
func NewClient(addr string, cfg ClientConfig) *Client {
	cfg.EnsureDefaults()
	d := &net.Dialer{Timeout: cfg.DialTimeout, KeepAlive: 30 * time.Second}
	dial := cfg.Dial
	if dial == nil {
		dial = d.DialContext
	}
	tr := &http.Transport{
		DialContext:           dial,
		TLSClientConfig:       cfg.TLS,
		TLSHandshakeTimeout:   cfg.DialTimeout,
		ResponseHeaderTimeout: cfg.ResponseHeaderTimeout,
		MaxIdleConns:          cfg.IdleConnsPerHost,
		MaxIdleConnsPerHost:   cfg.IdleConnsPerHost,
		IdleConnTimeout:       cfg.IdleConnTimeout,
		DisableCompression:    true,
		ForceAttemptHTTP2:     false,
		TLSNextProto:          map[string]func(string, *tls.Conn) http.RoundTripper{},
		WriteBufferSize:       transferBufferBytes,
		ReadBufferSize:        transferBufferBytes,
	}
	scheme := "http://"
	if cfg.TLS != nil {
		scheme = "https://"
	}
	return &Client{
		addr: addr,
		base: scheme + addr,
		tr:   tr,
		hc:   &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
	}
}

// Close closes idle pooled connections.
func (c *Client) Close() { c.tr.CloseIdleConnections() }

// Addr is the node's address.
func (c *Client) Addr() string { return c.addr }

func (c *Client) newRequest(ctx context.Context, method, path string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, fmt.Errorf("node: %s %s: %w", method, path, err)
	}
	req.Header.Set(ProtocolHeader, ProtocolVersion)
	return req, nil
}

// do sends req; a response is returned only for 2xx, everything else is an error.
func (c *Client) do(req *http.Request) (*http.Response, error) {
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, c.transportErr(req, err)
	}
	if resp.StatusCode/100 == 2 {
		if v := resp.Header.Get(ProtocolHeader); v != ProtocolVersion {
			resp.Body.Close()
			return nil, fmt.Errorf("node: %s: answered protocol %q: %w", c.addr, v, ErrProtocol)
		}
		return resp, nil
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, errorBodyBytesMax))
	return nil, c.statusErr(req, resp, strings.TrimSpace(string(msg)))
}

func (c *Client) transportErr(req *http.Request, err error) error {
	if req.Context().Err() != nil {
		return fmt.Errorf("node: %s %s: %w", req.Method, c.addr, ctxErr(req.Context()))
	}
	return fmt.Errorf("node: %s %s: %w: %w", req.Method, c.addr, ErrUnavailable, err)
}

// ctxErr is the error for a request whose context ended: a deadline that expired
// while the node worked counts as the node being unavailable (too slow) as well;
// a cancellation is only the caller's.
func ctxErr(ctx context.Context) error {
	cause := context.Cause(ctx)
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%w: %w", ErrUnavailable, cause)
	}
	return cause
}

func (c *Client) statusErr(req *http.Request, resp *http.Response, msg string) error {
	if msg == "" {
		msg = resp.Status
	}
	var kind error
	switch resp.Header.Get(ErrorHeader) {
	case codeNotFound:
		kind = ErrNotFound
	case codeExists:
		kind = ErrExists
	case codeReadOnly:
		kind = ErrReadOnly
	case codeTooLarge:
		kind = ErrTooLarge
	case codeInvalid:
		kind = ErrInvalid
	case codeRange:
		kind = ErrRange
	case codeCorrupt:
		kind = erasure.ErrCorrupt
	case codeProtocol:
		kind = ErrProtocol
	case codeBusy:
		kind = ErrUnavailable
	default:
		switch {
		case resp.StatusCode >= 500:
			kind = ErrUnavailable
		case resp.StatusCode == http.StatusNotFound && req.Method == http.MethodHead:
			kind = ErrNotFound
		case resp.StatusCode == http.StatusRequestEntityTooLarge:
			kind = ErrTooLarge
		default:
			kind = ErrProtocol
		}
	}
	return fmt.Errorf("node: %s %s: %d %s: %w", req.Method, c.addr, resp.StatusCode, msg, kind)
}

// Put sends shard id of size bytes read from r. It returns nil only after the node
// made the shard durable. A put of identical bytes to an existing shard succeeds.
func (c *Client) Put(ctx context.Context, id ShardID, size int64, r io.Reader) error {
	return c.put(ctx, id, size, r, false)
}

// Replace is Put that overwrites an existing shard (healing).
func (c *Client) Replace(ctx context.Context, id ShardID, size int64, r io.Reader) error {
	return c.put(ctx, id, size, r, true)
}

func (c *Client) put(ctx context.Context, id ShardID, size int64, r io.Reader, replace bool) error {
	if size < 0 {
		return fmt.Errorf("node: put %s: size %d: %w", id, size, ErrInvalid)
	}
	req, err := c.newRequest(ctx, http.MethodPut, shardPath(id), nil)
	if err != nil {
		return err
	}
	src := &sourceReader{r: r}
	if size > 0 {
		req.Body = io.NopCloser(src)
	} else {
		req.Body = http.NoBody
	}
	req.ContentLength = size
	if replace {
		req.Header.Set(ReplaceHeader, "1")
	}
	resp, err := c.do(req)
	if err != nil {
		if src.err != nil && req.Context().Err() == nil {
			// The caller's reader failed (or ended early): not the node's fault.
			return fmt.Errorf("node: put %s to %s: read shard: %w", id, c.addr, src.err)
		}
		return fmt.Errorf("%w (shard %s)", err, id)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, errorBodyBytesMax))
	resp.Body.Close()
	return nil
}

// Get returns n bytes of shard id's stored stream at off (n < 0: to the end). The
// node verifies every frame it sends; the returned reader fails (ErrUnavailable)
// if the body ends before the announced length, which is how a corruption the node
// found mid-stream arrives. Close the reader.
func (c *Client) Get(ctx context.Context, id ShardID, off, n int64) (io.ReadCloser, error) {
	if n == 0 || n < 0 && off > 0 {
		// The node needs the size to resolve these; ask for it first.
		info, err := c.Stat(ctx, id)
		if err != nil {
			return nil, err
		}
		if n < 0 {
			n = info.Size - off
		}
		if off < 0 || n < 0 || off+n > info.Size {
			return nil, fmt.Errorf("node: get %s: range %d+%d of %d: %w", id, off, n, info.Size, ErrRange)
		}
		if n == 0 {
			return io.NopCloser(strings.NewReader("")), nil
		}
	}
	if off < 0 {
		return nil, fmt.Errorf("node: get %s: offset %d: %w", id, off, ErrRange)
	}
	req, err := c.newRequest(ctx, http.MethodGet, shardPath(id), nil)
	if err != nil {
		return nil, err
	}
	if n > 0 {
		req.Header.Set("Range", rangeHeader(off, n))
	}
	resp, err := c.do(req)
	if err != nil {
		return nil, fmt.Errorf("%w (shard %s)", err, id)
	}
	if n < 0 {
		n = resp.ContentLength
	}
	if resp.ContentLength != n || n < 0 {
		resp.Body.Close()
		return nil, fmt.Errorf("node: get %s from %s: %d bytes announced, want %d: %w", id, c.addr, resp.ContentLength, n, ErrProtocol)
	}
	return &bodyReader{c: c, ctx: ctx, id: id, body: resp.Body, left: n}, nil
}

// sourceReader remembers the first error of a put's source other than EOF.
type sourceReader struct {
	r   io.Reader
	err error
}

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF && s.err == nil {
		s.err = err
	}
	return n, err
}

// bodyReader checks that a GET body delivers exactly the announced bytes.
type bodyReader struct {
	c    *Client
	ctx  context.Context
	id   ShardID
	body io.ReadCloser
	left int64
}

func (b *bodyReader) Read(p []byte) (int, error) {
	if err := b.ctx.Err(); err != nil {
		// Bytes may still sit in buffers; a cancelled read stops here regardless.
		return 0, fmt.Errorf("node: get %s from %s: %w", b.id, b.c.addr, ctxErr(b.ctx))
	}
	n, err := b.body.Read(p)
	b.left -= int64(n)
	switch {
	case b.left < 0:
		return n, fmt.Errorf("node: get %s from %s: body longer than announced: %w", b.id, b.c.addr, ErrProtocol)
	case err == io.EOF && b.left > 0:
		return n, fmt.Errorf("node: get %s from %s: body ended %d bytes early (aborted by the node): %w", b.id, b.c.addr, b.left, ErrUnavailable)
	case err != nil && err != io.EOF && b.ctx.Err() != nil:
		return n, fmt.Errorf("node: get %s from %s: %w", b.id, b.c.addr, ctxErr(b.ctx))
	case err != nil && err != io.EOF:
		return n, fmt.Errorf("node: get %s from %s: %w: %w", b.id, b.c.addr, ErrUnavailable, err)
	}
	return n, err
}

func (b *bodyReader) Close() error { return b.body.Close() }

// Stat returns the size and header of shard id.
func (c *Client) Stat(ctx context.Context, id ShardID) (ShardInfo, error) {
	req, err := c.newRequest(ctx, http.MethodHead, shardPath(id), nil)
	if err != nil {
		return ShardInfo{}, err
	}
	resp, err := c.do(req)
	if err != nil {
		return ShardInfo{}, fmt.Errorf("%w (shard %s)", err, id)
	}
	resp.Body.Close()
	info := ShardInfo{ID: id, Inline: resp.Header.Get(InlineHeader) == "1"}
	size, err1 := strconv.ParseInt(resp.Header.Get(SizeHeader), 10, 64)
	created, err2 := strconv.ParseInt(resp.Header.Get(CreatedHeader), 10, 64)
	hdr, err3 := hex.DecodeString(resp.Header.Get(HeaderHeader))
	if err := errors.Join(err1, err2, err3); err != nil || size < 0 {
		return ShardInfo{}, fmt.Errorf("node: stat %s from %s: bad headers: %w", id, c.addr, ErrProtocol)
	}
	info.Size, info.Created, info.Header = size, time.Unix(0, created), hdr
	return info, nil
}

// Delete removes shard id.
func (c *Client) Delete(ctx context.Context, id ShardID) error {
	req, err := c.newRequest(ctx, http.MethodDelete, shardPath(id), nil)
	if err != nil {
		return err
	}
	resp, err := c.do(req)
	if err != nil {
		return fmt.Errorf("%w (shard %s)", err, id)
	}
	resp.Body.Close()
	return nil
}

// DeleteVersion removes every shard of version on the node and returns how many.
func (c *Client) DeleteVersion(ctx context.Context, version [16]byte) (int, error) {
	var d deleted
	err := c.jsonCall(ctx, http.MethodDelete, versionPath(version), &d)
	return d.Deleted, err
}

// ListVersion returns the ids of the shards of version the node holds.
func (c *Client) ListVersion(ctx context.Context, version [16]byte) ([]ShardID, error) {
	var l listing
	if err := c.jsonCall(ctx, http.MethodGet, versionPath(version), &l); err != nil {
		return nil, err
	}
	ids := make([]ShardID, len(l.Shards))
	for i, s := range l.Shards {
		ids[i] = ShardID{Version: version, Part: s.Part, Index: s.Index}
	}
	return ids, nil
}

// Health returns the node's store health.
func (c *Client) Health(ctx context.Context) (Health, error) {
	var h Health
	err := c.jsonCall(ctx, http.MethodGet, pathPrefix+"health", &h)
	return h, err
}

func (c *Client) jsonCall(ctx context.Context, method, path string, v any) error {
	req, err := c.newRequest(ctx, method, path, nil)
	if err != nil {
		return err
	}
	resp, err := c.do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(io.LimitReader(resp.Body, listBodyBytesMax)).Decode(v); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("node: %s %s: %w", method, c.addr, ctxErr(ctx))
		}
		return fmt.Errorf("node: %s %s: decode answer: %w: %w", method, c.addr, ErrUnavailable, err)
	}
	return nil
}
