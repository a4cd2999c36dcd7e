package gateway

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/coffer-io/coffer/cluster/meta"
	"github.com/coffer-io/coffer/erasure"
	"github.com/coffer-io/coffer/gateway/internal/auth"
	"github.com/coffer-io/coffer/gateway/internal/pipeline"
	"github.com/coffer-io/coffer/gateway/internal/route"
	"github.com/coffer-io/coffer/gateway/internal/wire"
)

// Server is the COS/S3 endpoint. Create it with New; it is an http.Handler.
type Server struct {
	cfg      Config
	meta     Meta
	pipe     *pipeline.Pipeline
	verifier *auth.Verifier
	route    route.Config
	keys     *keyCache
	rot      rotation // master-key rotation and re-wrap state (rotate.go)
	nodes    *nodeSet
	shards   Shards

	reqPrefix string
	reqSeq    atomic.Uint64
	ready     atomic.Bool
}

// New returns a gateway serving the cluster behind m, storing shards through shards.
func New(cfg Config, m Meta) (*Server, error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	codec, err := erasure.New(cfg.Geometry)
	if err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	nodes := newNodeSet(m, cfg.Now, cfg.ShardClient)
	var shards Shards = nodes
	if cfg.Shards != nil {
		shards = cfg.Shards
	}
	pipe, err := pipeline.New(codec, shards, cfg.WriteQuorum)
	if err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	s := &Server{
		cfg:    cfg,
		meta:   m,
		pipe:   pipe,
		route:  route.Config{Domain: cfg.Domain, Region: cfg.Region},
		nodes:  nodes,
		shards: shards,
	}
	s.keys = newKeyCache(m, cfg.RootKey, cfg.Rand, cfg.Now)
	s.verifier, err = auth.New(userSecrets{s}, cfg.Auth)
	if err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	var p [6]byte
	if _, err := io.ReadFull(cfg.Rand, p[:]); err != nil {
		return nil, fmt.Errorf("gateway: request id prefix: %w", err)
	}
	s.reqPrefix = hex.EncodeToString(p[:])
	return s, nil
}

// Close releases the pooled connections to storage nodes. Call it after the HTTP
// servers and Run have stopped.
func (s *Server) Close() { s.nodes.Close() }

// request is the per-request state the handlers share.
type request struct {
	id     string
	r      *http.Request
	op     route.Op
	bucket string
	key    string
	query  auth.Query
	ident  auth.Identity
	user   *meta.User // nil for anonymous requests
	// body replaces r.Body: it decodes aws-chunked payloads and verifies signed
	// payload digests.
	body io.Reader
	// bodyLen is the declared payload length, -1 if unknown.
	bodyLen int64
}

// owner is the user id that owns what this request creates.
func (q *request) owner() string {
	if q.user == nil {
		return ""
	}
	return q.user.ID
}

func (s *Server) newRequestID() string {
	n := s.reqSeq.Add(1)
	return s.reqPrefix + strconv.FormatUint(n, 16)
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := s.cfg.Now()
	id := s.newRequestID()
	h := w.Header()
	h.Set("x-cos-request-id", id)
	h.Set("x-amz-request-id", id)
	h.Set("Server", "coffer")
	sw := &statusWriter{ResponseWriter: w}

	switch r.URL.Path {
	case "/-/healthz":
		sw.WriteHeader(http.StatusOK)
		io.WriteString(sw, "ok\n")
		return
	case "/-/ready":
		s.serveReady(sw, r)
		return
	}

	q := &request{id: id, r: r, bodyLen: -1}
	var err error
	if strings.HasPrefix(r.URL.Path, AdminPrefix) {
		err = s.serveAdmin(sw, q)
	} else {
		err = s.serve(sw, q)
	}
	if err != nil {
		if sw.wroteHeader {
			// The response is already under way (a GET whose read failed midway):
			// the client must not take a short body for a whole one.
			s.log(r.Context(), q, start, sw.status, err)
			panic(http.ErrAbortHandler)
		}
		s.writeError(sw, q, err)
	}
	s.log(r.Context(), q, start, sw.status, err)
}

func (s *Server) log(ctx context.Context, q *request, start time.Time, status int, err error) {
	level := slog.LevelDebug
	attrs := []slog.Attr{
		slog.String("request_id", q.id),
		slog.String("method", q.r.Method),
		slog.String("op", q.op.String()),
		slog.String("bucket", q.bucket),
		slog.Int("status", status),
		slog.Duration("took", s.cfg.Now().Sub(start)),
	}
	if q.ident.AccessKeyID != "" {
		attrs = append(attrs, slog.String("access_key", q.ident.AccessKeyID))
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", err.Error()))
		if status >= 500 || status == 0 {
			level = slog.LevelWarn
		}
	}
	s.cfg.Logger.LogAttrs(ctx, level, "request", attrs...)
}

func (s *Server) serveReady(w http.ResponseWriter, r *http.Request) {
	if s.ready.Load() {
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "ready\n")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.ReadyTimeout)
	defer cancel()
	if err := s.Ready(ctx); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "not ready\n")
		return
	}
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, "ready\n")
}

// Ready reports whether the gateway can serve: the metadata cluster answers, the
// master-key ring exists and unseals, and the layout has enough storage nodes for
// the write quorum. Once ready it stays ready; failures after that surface per
// request.
func (s *Server) Ready(ctx context.Context) error {
	if _, _, err := s.keys.active(ctx); err != nil {
		return err
	}
	// Force a fresh layout: storage nodes may have registered since the last look.
	nodes, err := s.nodes.active(ctx, true)
	if err != nil {
		return err
	}
	if len(nodes) < s.cfg.Geometry.TotalShards() {
		return fmt.Errorf("gateway: %d active storage nodes, need %d", len(nodes), s.cfg.Geometry.TotalShards())
	}
	s.ready.Store(true)
	return nil
}

func (s *Server) serve(w http.ResponseWriter, q *request) error {
	r := q.r
	query, err := parseQuery(r.URL.RawQuery)
	if err != nil {
		return err
	}
	q.query = query
	target, err := route.Resolve(s.route, r.Host, r.URL.EscapedPath())
	if err != nil {
		return err
	}
	q.bucket, q.key = target.Bucket, target.Key
	_, hasCopy, err := wire.CopySourceHeader(r.Header)
	if err != nil {
		return err
	}
	q.op, err = route.Dispatch(route.Request{
		Method: r.Method, Bucket: q.bucket, Key: q.key, Query: query,
		CopySource: hasCopy, ContentType: r.Header.Get("Content-Type"),
	})
	if err != nil {
		return err
	}
	if q.op == route.OpPostObject {
		// Browser form uploads carry their signature inside the form.
		return s.postObject(w, q)
	}
	res, err := s.verifier.Verify(r, query)
	if err != nil {
		return err
	}
	q.ident, q.body, q.bodyLen = res.Identity, res.Body, res.DecodedLength
	if !q.ident.Anonymous {
		u, err := s.meta.GetUser(r.Context(), q.ident.AccessKeyID)
		if err != nil {
			return err
		}
		q.user = u
	}
	h, ok := handlers[q.op]
	if !ok {
		return wire.Errorf(wire.ErrNotImplemented, "%s is not implemented", q.op)
	}
	return h(s, w, q)
}

func parseQuery(raw string) (auth.Query, error) {
	q, err := auth.ParseQuery(raw)
	if err != nil {
		return nil, wire.Errorf(wire.ErrInvalidURI, "malformed query string")
	}
	return q, nil
}

// handler serves one operation. It returns an error instead of writing one, so that
// error mapping stays in one place.
type handler func(s *Server, w http.ResponseWriter, q *request) error

var handlers map[route.Op]handler

func init() {
	handlers = map[route.Op]handler{
		route.OpListBuckets:             (*Server).listBuckets,
		route.OpCreateBucket:            (*Server).createBucket,
		route.OpHeadBucket:              (*Server).headBucket,
		route.OpDeleteBucket:            (*Server).deleteBucket,
		route.OpListObjects:             (*Server).listObjects,
		route.OpListObjectsV2:           (*Server).listObjects,
		route.OpGetBucketLocation:       (*Server).getBucketLocation,
		route.OpGetBucketACL:            (*Server).getBucketACL,
		route.OpPutBucketACL:            (*Server).putBucketACL,
		route.OpGetBucketEncryption:     (*Server).getBucketEncryption,
		route.OpPutBucketEncryption:     (*Server).putBucketEncryption,
		route.OpDeleteBucketEncryption:  (*Server).deleteBucketEncryption,
		route.OpPutObject:               (*Server).putObject,
		route.OpGetObject:               (*Server).getObject,
		route.OpHeadObject:              (*Server).getObject,
		route.OpDeleteObject:            (*Server).deleteObject,
		route.OpDeleteObjects:           (*Server).deleteObjects,
		route.OpCopyObject:              (*Server).copyObject,
		route.OpGetObjectACL:            (*Server).getObjectACL,
		route.OpPutObjectACL:            (*Server).putObjectACL,
		route.OpInitiateMultipartUpload: (*Server).initiateUpload,
		route.OpUploadPart:              (*Server).uploadPart,
		route.OpUploadPartCopy:          (*Server).uploadPartCopy,
		route.OpCompleteMultipartUpload: (*Server).completeUpload,
		route.OpAbortMultipartUpload:    (*Server).abortUpload,
		route.OpListParts:               (*Server).listParts,
		route.OpListMultipartUploads:    (*Server).listUploads,
	}
}

// userSecrets adapts the user records to auth.Secrets.
type userSecrets struct{ s *Server }

func (u userSecrets) SecretKey(ctx context.Context, accessKeyID string) (string, error) {
	user, err := u.s.meta.GetUser(ctx, accessKeyID)
	if errors.Is(err, meta.ErrUserNotFound) {
		return "", auth.ErrUnknownAccessKey
	}
	if err != nil {
		return "", err
	}
	secret, err := openUserSecret(u.s.cfg.RootKey, user.AccessKeyID, user.SealedSecret)
	if err != nil {
		return "", fmt.Errorf("gateway: user %s: %w", accessKeyID, err)
	}
	return secret, nil
}

// statusWriter remembers whether and with which status the response was started.
type statusWriter struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wroteHeader {
		w.status, w.wroteHeader = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
