package node

import (
	"context"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/coffer-io/coffer/erasure"
)

// Server defaults.
const (
	// DefaultStreamsMax is how many requests a server handles at once.
	DefaultStreamsMax = 256
	// DefaultReadHeaderTimeout bounds reading a request's headers.
	DefaultReadHeaderTimeout = 5 * time.Second
	// DefaultIdleTimeout closes keep-alive connections idle this long.
	DefaultIdleTimeout = 2 * time.Minute
	// DefaultStallTimeout is how long a body transfer may make no progress before
	// the connection is dropped.
	DefaultStallTimeout = 15 * time.Second
	// DefaultHeaderBytesMax bounds request header bytes.
	DefaultHeaderBytesMax = 16 << 10
	// listBodyBytesMax bounds a list or health response body the client reads.
	listBodyBytesMax = 16 << 20
)

// ServerConfig configures a Server. The zero value is valid.
type ServerConfig struct {
	// TLS, when set, makes Serve speak TLS with it; use pki's mutual server config so
	// a client without a certificate from the cluster CA fails the handshake.
	TLS *tls.Config
	// StreamsMax: requests beyond it get 503 with Retry-After. Default DefaultStreamsMax.
	StreamsMax int
	// ReadHeaderTimeout bounds reading request headers. Default DefaultReadHeaderTimeout.
	ReadHeaderTimeout time.Duration
	// IdleTimeout closes idle keep-alive connections. Default DefaultIdleTimeout.
	IdleTimeout time.Duration
	// StallTimeout: a request or response body that makes no progress for this long
	// is abandoned and its connection closed. Default DefaultStallTimeout.
	StallTimeout time.Duration
	// HeaderBytesMax bounds request headers. Default DefaultHeaderBytesMax.
	HeaderBytesMax int
	// Logger receives request failures. Default: discard.
	Logger *slog.Logger
}

// EnsureDefaults fills zero fields with their defaults.
func (c *ServerConfig) EnsureDefaults() {
	if c.StreamsMax == 0 {
		c.StreamsMax = DefaultStreamsMax
	}
	if c.ReadHeaderTimeout == 0 {
		c.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.StallTimeout == 0 {
		c.StallTimeout = DefaultStallTimeout
	}
	if c.HeaderBytesMax == 0 {
		c.HeaderBytesMax = DefaultHeaderBytesMax
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Validate reports every problem with c at once.
func (c *ServerConfig) Validate() error {
	var errs []error
	if c.StreamsMax < 0 {
		errs = append(errs, fmt.Errorf("node: server config: StreamsMax %d is negative", c.StreamsMax))
	}
	if c.ReadHeaderTimeout < 0 || c.IdleTimeout < 0 || c.StallTimeout < 0 {
		errs = append(errs, errors.New("node: server config: timeouts must not be negative"))
	}
	if c.HeaderBytesMax < 0 {
		errs = append(errs, fmt.Errorf("node: server config: HeaderBytesMax %d is negative", c.HeaderBytesMax))
	}
	return errors.Join(errs...)
}

// Server serves a Store over the shard RPC. Its goroutines are net/http's, owned by
// Serve and joined by Shutdown.
type Server struct {
	store *Store
	cfg   ServerConfig
	slots chan struct{} // one token per request in progress
	hs    *http.Server
}

// NewServer returns a server of store.
func NewServer(store *Store, cfg ServerConfig) (*Server, error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Server{store: store, cfg: cfg, slots: make(chan struct{}, cfg.StreamsMax)}
	s.hs = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    cfg.HeaderBytesMax,
		// HTTP/1.1 only: one stream per connection keeps flow control in TCP.
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
		ErrorLog:     slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelDebug),
	}
	return s, nil
}

// Serve accepts connections on ln until Shutdown, speaking TLS when configured.
// It returns http.ErrServerClosed after Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	if s.cfg.TLS != nil {
		c := s.cfg.TLS.Clone()
		c.NextProtos = []string{"http/1.1"}
		ln = tls.NewListener(ln, c)
	}
	return s.hs.Serve(ln)
}

// Shutdown stops accepting, waits for requests in progress until ctx ends, then
// closes every connection.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.hs.Shutdown(ctx)
	if err != nil {
		_ = s.hs.Close()
	}
	return err
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set(ProtocolHeader, ProtocolVersion)
	if v := r.Header.Get(ProtocolHeader); v != ProtocolVersion {
		s.fail(w, r, http.StatusBadRequest, codeProtocol, fmt.Sprintf("protocol version %q, this node speaks %q", v, ProtocolVersion))
		return
	}
	select {
	case s.slots <- struct{}{}:
		defer func() { <-s.slots }()
	default:
		w.Header().Set("Retry-After", "1")
		s.fail(w, r, http.StatusServiceUnavailable, codeBusy, "too many concurrent streams")
		return
	}
	rt, err := parsePath(r.URL.EscapedPath())
	if err != nil {
		s.fail(w, r, http.StatusNotFound, codeInvalid, err.Error())
		return
	}
	switch {
	case rt.kind == routeShard && r.Method == http.MethodPut:
		s.put(w, r, rt.id)
	case rt.kind == routeShard && r.Method == http.MethodGet:
		s.get(w, r, rt.id)
	case rt.kind == routeShard && r.Method == http.MethodHead:
		s.stat(w, r, rt.id)
	case rt.kind == routeShard && r.Method == http.MethodDelete:
		if err := s.store.Delete(rt.id); err != nil {
			s.failErr(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case rt.kind == routeVersion && r.Method == http.MethodGet:
		ids, err := s.store.ListVersion(rt.id.Version)
		if err != nil {
			s.failErr(w, r, err)
			return
		}
		l := listing{Shards: make([]listedShard, len(ids))}
		for i, id := range ids {
			l.Shards[i] = listedShard{Part: id.Part, Index: id.Index}
		}
		s.json(w, l)
	case rt.kind == routeVersion && r.Method == http.MethodDelete:
		n, err := s.store.DeleteVersion(rt.id.Version)
		if err != nil {
			s.failErr(w, r, err)
			return
		}
		s.json(w, deleted{Deleted: n})
	case rt.kind == routeHealth && r.Method == http.MethodGet:
		s.json(w, s.store.Health())
	default:
		w.Header().Set("Allow", "GET, HEAD, PUT, DELETE")
		s.fail(w, r, http.StatusMethodNotAllowed, codeInvalid, "method "+r.Method+" not allowed here")
	}
}

type listing struct {
	Shards []listedShard `json:"shards"`
}

type listedShard struct {
	Part  uint32 `json:"part"`
	Index uint16 `json:"index"`
}

type deleted struct {
	Deleted int `json:"deleted"`
}

func (s *Server) json(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) put(w http.ResponseWriter, r *http.Request, id ShardID) {
	if r.ContentLength < 0 {
		s.fail(w, r, http.StatusLengthRequired, codeInvalid, "Content-Length required")
		return
	}
	if r.ContentLength > s.store.cfg.ShardMaxBytes {
		s.fail(w, r, http.StatusRequestEntityTooLarge, codeTooLarge,
			fmt.Sprintf("shard of %d bytes above %d", r.ContentLength, s.store.cfg.ShardMaxBytes))
		return
	}
	body := &stallReader{r: r.Body, rc: http.NewResponseController(w), stall: s.cfg.StallTimeout}
	put := s.store.Put
	if r.Header.Get(ReplaceHeader) == "1" {
		put = s.store.Replace
	}
	if err := put(r.Context(), id, r.ContentLength, body); err != nil {
		if body.err != nil {
			// The client stopped sending: nobody is listening for an answer.
			s.cfg.Logger.Debug("node: put body", "shard", id.String(), "err", body.err)
			panic(http.ErrAbortHandler)
		}
		s.failErr(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) stat(w http.ResponseWriter, r *http.Request, id ShardID) {
	info, err := s.store.Stat(id)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	h := w.Header()
	h.Set(SizeHeader, strconv.FormatInt(info.Size, 10))
	h.Set(HeaderHeader, hex.EncodeToString(info.Header))
	h.Set(CreatedHeader, strconv.FormatInt(info.Created.UnixNano(), 10))
	if info.Inline {
		h.Set(InlineHeader, "1")
	}
	w.WriteHeader(http.StatusOK)
}

func (s *Server) get(w http.ResponseWriter, r *http.Request, id ShardID) {
	info, err := s.store.Stat(id)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	off, n, err := parseRange(r.Header.Get("Range"), info.Size)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	// Get verifies the first frame before returning, so corruption there is still a
	// clean error response.
	sr, err := s.store.Get(id, off, n)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	defer sr.Close()
	h := w.Header()
	h.Set(SizeHeader, strconv.FormatInt(info.Size, 10))
	h.Set("Content-Length", strconv.FormatInt(n, 10))
	h.Set("Content-Type", "application/octet-stream")
	status := http.StatusOK
	if r.Header.Get("Range") != "" {
		status = http.StatusPartialContent
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", off, off+n-1, info.Size))
	}
	w.WriteHeader(status)
	out := &stallWriter{w: w, rc: http.NewResponseController(w), stall: s.cfg.StallTimeout}
	if _, err := io.Copy(out, sr); err != nil {
		// The status line is out: abort the connection so the client sees a short
		// body, never wrong bytes.
		if out.err == nil {
			s.cfg.Logger.Warn("node: get aborted", "shard", id.String(), "err", err)
		}
		panic(http.ErrAbortHandler)
	}
}

// failErr answers with the status and code for a store error.
func (s *Server) failErr(w http.ResponseWriter, r *http.Request, err error) {
	status, code := http.StatusInternalServerError, codeInternal
	switch {
	case errors.Is(err, ErrNotFound):
		status, code = http.StatusNotFound, codeNotFound
	case errors.Is(err, ErrExists):
		status, code = http.StatusConflict, codeExists
	case errors.Is(err, ErrReadOnly):
		status, code = http.StatusInsufficientStorage, codeReadOnly
	case errors.Is(err, ErrTooLarge):
		status, code = http.StatusRequestEntityTooLarge, codeTooLarge
	case errors.Is(err, ErrRange):
		status, code = http.StatusRequestedRangeNotSatisfiable, codeRange
	case errors.Is(err, ErrInvalid):
		status, code = http.StatusBadRequest, codeInvalid
	case erasure.IsCorrupt(err):
		code = codeCorrupt
		if r.Method == http.MethodPut {
			status = http.StatusUnprocessableEntity // the upload was damaged
		}
	}
	s.fail(w, r, status, code, err.Error())
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	if status >= 500 {
		s.cfg.Logger.Warn("node: request failed", "method", r.Method, "path", r.URL.Path, "status", status, "err", msg)
	}
	h := w.Header()
	h.Set(ErrorHeader, code)
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = io.WriteString(w, msg+"\n")
	}
}

// stallReader extends the connection's read deadline before every read, so a
// client that stops sending frees its slot after the stall timeout.
type stallReader struct {
	r     io.Reader
	rc    *http.ResponseController
	stall time.Duration
	err   error // the first read error other than EOF
}

func (s *stallReader) Read(p []byte) (int, error) {
	_ = s.rc.SetReadDeadline(time.Now().Add(s.stall))
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF && s.err == nil {
		s.err = err
	}
	return n, err
}

// stallWriter extends the connection's write deadline before every write.
type stallWriter struct {
	w     io.Writer
	rc    *http.ResponseController
	stall time.Duration
	err   error
}

func (s *stallWriter) Write(p []byte) (int, error) {
	_ = s.rc.SetWriteDeadline(time.Now().Add(s.stall))
	n, err := s.w.Write(p)
	if err != nil && s.err == nil {
		s.err = err
	}
	return n, err
}
