package gateway

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/coffer-io/coffer/cluster/meta"
	"github.com/coffer-io/coffer/erasure"
	"github.com/coffer-io/coffer/gateway/internal/auth"
	"github.com/coffer-io/coffer/gateway/internal/pipeline"
	"github.com/coffer-io/coffer/gateway/internal/wire"
	"github.com/coffer-io/coffer/node"
	"github.com/coffer-io/coffer/sse"
)

// defaultContentType is served for objects stored without a Content-Type.
const defaultContentType = "application/octet-stream"

// dialect is the header family the response uses: the one the client signed with.
func (q *request) dialect() wire.Dialect {
	if q.ident.Method == auth.MethodSigV4Header || q.ident.Method == auth.MethodSigV4Query {
		return wire.DialectS3
	}
	return wire.DialectCOS
}

func (s *Server) newID() (meta.ID, error) {
	var id meta.ID
	if _, err := io.ReadFull(s.cfg.Rand, id[:]); err != nil {
		return id, fmt.Errorf("gateway: new id: %w", err)
	}
	return id, nil
}

// objectInput is everything a write takes from request headers besides the body.
type objectInput struct {
	contentType string
	headers     meta.ContentHeaders
	userMeta    map[string]string
	acl         meta.ACL
	storage     string
	mode        meta.SSEMode
	// customer is the SSE-C key when mode is SSE-C.
	customer *customerKey
	// copySource is the copy-source SSE-C key of a copy, if given.
	copySource *customerKey
	// kms is the CMK and context when mode is SSE-KMS.
	kms kmsRequest
}

// parseObjectInput reads the content headers, metadata, ACL and SSE of a write.
func (s *Server) parseObjectInput(q *request, b *meta.Bucket, op wire.SSEOp) (objectInput, error) {
	h := q.r.Header
	in := objectInput{
		contentType: h.Get("Content-Type"),
		headers: meta.ContentHeaders{
			CacheControl:       h.Get("Cache-Control"),
			ContentDisposition: h.Get("Content-Disposition"),
			ContentEncoding:    contentEncoding(h.Get("Content-Encoding")),
			ContentLanguage:    h.Get("Content-Language"),
			Expires:            h.Get("Expires"),
		},
	}
	var err error
	if in.storage, err = wire.ParseStorageClass(h); err != nil {
		return in, err
	}
	md, err := wire.ParseMetadata(h)
	if err != nil {
		return in, err
	}
	if len(md) > 0 {
		in.userMeta = md
	}
	canned, err := wire.ParseCannedACL(h, true)
	if err != nil {
		return in, err
	}
	if err := refuseGrantHeaders(h); err != nil {
		return in, err
	}
	if err := checkTrafficLimit(h); err != nil {
		return in, err
	}
	in.acl = meta.ACL{Canned: string(canned)}
	sreq, err := wire.ParseSSE(h, op)
	if err != nil {
		return in, err
	}
	if in.mode, in.customer, err = s.objectSSE(q, sreq, b); err != nil {
		return in, err
	}
	in.kms = kmsRequestOf(sreq, b)
	in.copySource, err = s.copySourceCustomer(q, sreq)
	return in, err
}

// writeMode decides how a new object's data key is protected: the request's SSE
// headers win, then the bucket's default encryption, else mode none (still encrypted
// at rest, reported as unencrypted). For SSE-C the caller also needs the customer
// key: objectSSE returns both.
func (s *Server) writeMode(req wire.SSERequest, b *meta.Bucket) (meta.SSEMode, error) {
	switch req.Mode {
	case wire.SSECOS:
		return meta.ModeSSECOS, nil
	case wire.SSEKMS:
		return meta.ModeSSEKMS, nil
	case wire.SSEC:
		if b != nil && b.SSEC == meta.SSECBlocked {
			return "", errSSECBlocked
		}
		return meta.ModeSSEC, nil
	}
	if b != nil {
		switch b.Encryption.Mode {
		case "":
		case meta.ModeSSECOS:
			return meta.ModeSSECOS, nil
		case meta.ModeSSEKMS:
			return meta.ModeSSEKMS, nil
		default:
			return "", wire.Errorf(wire.ErrInternalError, "unknown bucket default encryption")
		}
	}
	return meta.ModeNone, nil
}

// Bounds of x-cos-traffic-limit in bit/s (cos-api.md 5.5).
const (
	trafficLimitMin = 819200
	trafficLimitMax = 838860800
)

// checkTrafficLimit refuses an x-cos-traffic-limit outside the COS range. A valid
// limit is accepted; the gateway does not throttle to it yet.
func checkTrafficLimit(h http.Header) error {
	v := h.Get("x-cos-traffic-limit")
	if v == "" {
		return nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < trafficLimitMin || n > trafficLimitMax {
		return wire.Errorf(wire.ErrInvalidArgument, "x-cos-traffic-limit must be %d..%d bit/s", trafficLimitMin, trafficLimitMax)
	}
	return nil
}

// refuseGrantHeaders answers x-cos-grant-* / x-amz-grant-* on a write with
// NotImplemented rather than dropping the grant silently (the client would believe
// it shared the object). ACL bodies (PUT ?acl) and canned ACLs work.
func refuseGrantHeaders(h http.Header) error {
	for name := range h {
		l := strings.ToLower(name)
		if !strings.HasPrefix(l, "x-cos-grant-") && !strings.HasPrefix(l, "x-amz-grant-") {
			continue
		}
		return wire.Errorf(wire.ErrNotImplemented, "x-cos-grant-* headers are not supported; use a canned ACL or PUT ?acl with a body")
	}
	return nil
}

// contentEncoding drops the aws-chunked transfer coding, which describes the request
// body, not the object.
func contentEncoding(v string) string {
	if !strings.Contains(v, "aws-chunked") {
		return v
	}
	var keep []string
	for _, c := range strings.Split(v, ",") {
		if c = strings.TrimSpace(c); c != "" && c != "aws-chunked" {
			keep = append(keep, c)
		}
	}
	return strings.Join(keep, ",")
}

func firstHeader(h http.Header, names ...string) string {
	for _, n := range names {
		if v := h.Get(n); v != "" {
			return v
		}
	}
	return ""
}

// setSSEEcho sets the SSE response headers for a record in the request's dialect.
// SSE-C needs the request's key: setCustomerEcho.
func setSSEEcho(h http.Header, q *request, rec meta.SSE) {
	switch rec.Mode {
	case meta.ModeSSECOS:
		wire.SetSSEHeaders(h, q.dialect(), wire.SSECOS, "", "")
	case meta.ModeSSEKMS:
		wire.SetSSEHeaders(h, q.dialect(), wire.SSEKMS, rec.CMKID, "")
	}
}

// bodySize is the declared plaintext size of a write, checked against the limits.
func (q *request) bodySize() (int64, error) {
	n := q.bodyLen
	if n < 0 {
		n = q.r.ContentLength
	}
	if n < 0 {
		return 0, wire.NewError(wire.ErrMissingContentLength, "")
	}
	if n > ObjectBytesMax {
		return 0, wire.Errorf(wire.ErrEntityTooLarge, "objects are limited to %d bytes", int64(ObjectBytesMax))
	}
	return n, nil
}

// sizedBody returns the request body with its size. A body sent with
// Transfer-Encoding: chunked and no declared length (the COS Go SDK does this for
// readers it cannot size) is spooled first, encrypted if it outgrows memory (see
// spool), because the pipeline must know the size before it starts.
func (s *Server) sizedBody(q *request) (io.Reader, int64, func(), error) {
	if q.bodyLen >= 0 || q.r.ContentLength >= 0 {
		n, err := q.bodySize()
		return q.body, n, func() {}, err
	}
	sp := newSpool(postSpoolMemoryBytes, s.cfg.Rand, func() (*os.File, error) { return os.CreateTemp("", "coffer-put-*") })
	n, err := sp.fill(q.body, ObjectBytesMax, -1)
	if err != nil {
		sp.Close()
		return nil, 0, nil, err
	}
	if n > ObjectBytesMax {
		sp.Close()
		return nil, 0, nil, wire.Errorf(wire.ErrEntityTooLarge, "objects are limited to %d bytes", int64(ObjectBytesMax))
	}
	return sp.reader(), n, func() { sp.Close() }, nil
}

// stored is what writing one shard set produced.
type stored struct {
	size   int64
	md5    [md5.Size]byte
	crc    uint64
	layout meta.Layout
	stream meta.Stream
}

// writeShards encrypts body under key and stores it as the shard set sid (part
// number part, 0 for a simple object).
func (s *Server) writeShards(ctx context.Context, sid meta.ID, part uint32, body io.Reader, size int64, dk dataKey, contentMD5 []byte) (stored, error) {
	g := s.pipe.Geometry()
	nodes, err := s.nodes.place(ctx, sid, g.TotalShards())
	if err != nil {
		return stored{}, wire.Wrap(wire.ErrServiceUnavailable, err)
	}
	res, err := s.pipe.Put(ctx, pipeline.PutRequest{
		Body: body, Size: size, VersionID: sid, Part: part, Nodes: nodes,
		Key: dk.dek, Nonce: dk.nonce, ContentMD5: contentMD5,
	})
	if err != nil {
		return stored{}, err
	}
	if len(res.Missing) > 0 {
		for i, idx := range res.Missing {
			if errors.Is(res.Faults[i], pipeline.ErrStalled) || errors.Is(res.Faults[i], node.ErrUnavailable) {
				s.nodes.markDown(nodes[idx])
			}
		}
		s.cfg.Logger.Warn("stored with missing shards", "shards_id", sid.String(), "missing", res.Missing)
	}
	return stored{
		size: res.Size, md5: res.MD5, crc: res.CRC64,
		layout: meta.Layout{K: g.DataShards, M: g.ParityShards, BlockBytes: g.BlockSize, Nodes: nodes, Missing: res.Missing},
		stream: meta.Stream{Format: sse.FormatVersion, NoncePrefix: append([]byte(nil), dk.nonce[:]...), CipherBytes: res.CipherSize},
	}, nil
}

func contentMD5(h http.Header) ([]byte, error) {
	v := h.Get("Content-MD5")
	if v == "" {
		return nil, nil
	}
	sum, ok, err := wire.ParseContentMD5(v)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, nil
	}
	return sum[:], nil
}

func (s *Server) putObject(w http.ResponseWriter, q *request) error {
	ctx := q.r.Context()
	b, err := s.bucketForWrite(ctx, q)
	if err != nil {
		return err
	}
	if err := wire.ValidKey(q.key); err != nil {
		return err
	}
	in, err := s.parseObjectInput(q, b, wire.SSEOpPut)
	if err != nil {
		return err
	}
	sum, err := contentMD5(q.r.Header)
	if err != nil {
		return err
	}
	body, size, release, err := s.sizedBody(q)
	if err != nil {
		return err
	}
	defer release()
	v, err := s.storeObject(ctx, q, body, size, in, sum)
	if err != nil {
		return err
	}
	cmd := &meta.CommitObject{Version: *v, IfNoneMatch: forbidOverwrite(q.r.Header)}
	if _, err := s.meta.Apply(ctx, cmd); err != nil {
		return err
	}
	h := w.Header()
	h.Set("ETag", wire.QuoteETag(v.ETag))
	h.Set("x-cos-hash-crc64ecma", strconv.FormatUint(v.CRC64, 10))
	setSSEEcho(h, q, v.SSE)
	setCustomerEcho(h, q, in.customer)
	w.WriteHeader(http.StatusOK)
	return nil
}

// storeObject writes body as a new version of q.bucket/q.key and returns its record,
// ready to commit.
func (s *Server) storeObject(ctx context.Context, q *request, body io.Reader, size int64, in objectInput, sum []byte) (*meta.Version, error) {
	vid, err := s.newID()
	if err != nil {
		return nil, err
	}
	dk, err := s.newDataKey(ctx, q.bucket, q.key, vid, in.mode, in.customer, in.kms)
	if err != nil {
		return nil, err
	}
	st, err := s.writeShards(ctx, vid, 0, body, size, dk, sum)
	if err != nil {
		return nil, err
	}
	return &meta.Version{
		Bucket: q.bucket, Key: q.key, VersionID: vid,
		Size: st.size, ETag: hex.EncodeToString(st.md5[:]), CRC64: st.crc,
		ContentType: in.contentType, Headers: in.headers, UserMeta: in.userMeta,
		StorageClass: in.storage, Created: s.cfg.Now().UnixNano(), Owner: q.owner(),
		ACL: in.acl, Layout: st.layout, Stream: st.stream, SSE: dk.rec,
	}, nil
}

// forbidOverwrite reports x-cos-forbid-overwrite: true or If-None-Match: * on a write.
func forbidOverwrite(h http.Header) bool {
	return strings.EqualFold(h.Get("x-cos-forbid-overwrite"), "true") || strings.TrimSpace(h.Get("If-None-Match")) == "*"
}

func (s *Server) getObject(w http.ResponseWriter, q *request) error {
	ctx := q.r.Context()
	v, err := s.objectForRead(ctx, q)
	if err != nil {
		return err
	}
	sreq, err := wire.ParseSSE(q.r.Header, wire.SSEOpRead)
	if err != nil {
		return err
	}
	ck, err := s.requestCustomer(q, sreq)
	if err != nil {
		return err
	}
	if err := checkCustomer(v.SSE, ck, errSSECRequired, errSSECNotApplicable); err != nil {
		return err
	}
	overrides, err := wire.ParseOverrides(q.query)
	if err != nil {
		return err
	}
	if overrides != nil && q.ident.Anonymous {
		return wire.Errorf(wire.ErrAccessDenied, "response header overrides need a signed request")
	}
	h := w.Header()
	modified := time.Unix(0, v.Created).UTC()
	if err := wire.ParseConditions(q.r.Header).Evaluate(v.ETag, modified); err != nil {
		if we := wire.AsError(err); we.Code == wire.ErrNotModified {
			h.Set("ETag", wire.QuoteETag(v.ETag))
			h.Set("Last-Modified", wire.FormatHTTPTime(modified))
		}
		return err
	}
	off, n, partial, err := wire.ParseRange(q.r.Header.Get("Range"), v.Size)
	if err != nil {
		return err
	}
	if !partial {
		off, n = 0, v.Size
	}
	// The object's headers are staged and reach the response only together with its
	// status line, so an error response never carries them.
	oh := make(http.Header)
	setObjectHeaders(oh, q, v, modified)
	setCustomerEcho(oh, q, ck)
	overrides.Apply(oh)
	oh.Set("Content-Length", strconv.FormatInt(n, 10))
	status := http.StatusOK
	if partial {
		oh.Set("Content-Range", wire.ContentRange(off, n, v.Size))
		status = http.StatusPartialContent
	}
	lw := &lazyStatus{w: w, status: status, header: oh}
	if q.r.Method == http.MethodHead {
		lw.flush()
		return nil
	}
	dek, err := s.openDataKey(ctx, v.Bucket, v.Key, v.VersionID, v.SSE, ck)
	if err != nil {
		return err
	}
	// The status line goes out with the first plaintext byte: a read that fails
	// before any byte is ready (too many shards lost, a corrupt stream) still gets a
	// proper error response instead of a dropped connection.
	if err := s.readObject(ctx, lw, v, dek, off, n); err != nil {
		return err
	}
	lw.flush()
	return nil
}

// lazyStatus writes the staged headers and the status line just before the first
// body byte (or at flush).
type lazyStatus struct {
	w      http.ResponseWriter
	status int
	header http.Header
	sent   bool
}

func (l *lazyStatus) Write(b []byte) (int, error) {
	l.flush()
	return l.w.Write(b)
}

func (l *lazyStatus) flush() {
	if !l.sent {
		l.sent = true
		h := l.w.Header()
		for k, v := range l.header {
			h[k] = v
		}
		l.w.WriteHeader(l.status)
	}
}

// setObjectHeaders sets the stored headers of a version on a GET/HEAD response.
func setObjectHeaders(h http.Header, q *request, v *meta.Version, modified time.Time) {
	ct := v.ContentType
	if ct == "" {
		ct = defaultContentType
	}
	h.Set("Content-Type", ct)
	h.Set("ETag", wire.QuoteETag(v.ETag))
	h.Set("Last-Modified", wire.FormatHTTPTime(modified))
	h.Set("Accept-Ranges", "bytes")
	h.Set("x-cos-hash-crc64ecma", strconv.FormatUint(v.CRC64, 10))
	for name, val := range map[string]string{
		"Cache-Control": v.Headers.CacheControl, "Content-Disposition": v.Headers.ContentDisposition,
		"Content-Encoding": v.Headers.ContentEncoding, "Content-Language": v.Headers.ContentLanguage,
		"Expires": v.Headers.Expires,
	} {
		if val != "" {
			h.Set(name, val)
		}
	}
	if v.StorageClass != "" && v.StorageClass != "STANDARD" {
		h.Set("x-cos-storage-class", v.StorageClass)
	}
	wire.Metadata(v.UserMeta).Set(h, q.dialect())
	setSSEEcho(h, q, v.SSE)
}

// readObject writes plaintext bytes [off, off+n) of version v to w.
func (s *Server) readObject(ctx context.Context, w io.Writer, v *meta.Version, dek sse.Key, off, n int64) error {
	if !v.IsMultipart() {
		return s.readShards(ctx, w, v.VersionID, 0, v.Layout, v.Stream, dek, v.Size, off, n)
	}
	sizes := make([]int64, len(v.Parts))
	for i, p := range v.Parts {
		sizes[i] = p.Size
	}
	ranges, err := sse.AppendPartRanges(nil, sizes, off, n)
	if err != nil {
		return err
	}
	for _, pr := range ranges {
		p := v.Parts[pr.Part]
		pk, err := sse.PartKey(dek, p.Number, p.ShardsID[:])
		if err != nil {
			return err
		}
		if err := s.readShards(ctx, w, p.ShardsID, uint32(p.Number), p.Layout, p.Stream, pk, p.Size, pr.Off, pr.N); err != nil {
			return err
		}
	}
	return nil
}

// readShards reads a plaintext range of one shard set.
func (s *Server) readShards(ctx context.Context, w io.Writer, sid meta.ID, part uint32, l meta.Layout, st meta.Stream, key sse.Key, size, off, n int64) error {
	nodes := append([]string(nil), l.Nodes...)
	for _, i := range l.Missing {
		if i >= 0 && i < len(nodes) {
			nodes[i] = ""
		}
	}
	// Shards on nodes that just failed are treated as missing, as long as k others
	// remain: parity is faster than waiting on a dead node again.
	live := 0
	for _, id := range nodes {
		if id != "" {
			live++
		}
	}
	for i, id := range nodes {
		if id != "" && live > l.K && s.nodes.isDown(id) {
			nodes[i] = ""
			live--
		}
	}
	rep, err := s.pipe.Get(ctx, w, pipeline.GetRequest{
		VersionID: sid, Part: part,
		Geometry: erasure.Geometry{DataShards: l.K, ParityShards: l.M, BlockSize: l.BlockBytes},
		Nodes:    nodes, Key: key, PlainSize: size, Off: off, N: n,
	})
	if len(rep.Faults) > 0 {
		// Healing is a later job; until then the faults are at least visible.
		s.cfg.Logger.Warn("shard faults on read", "shards_id", sid.String(), "part", part, "bad_shards", rep.BadShards())
	}
	return err
}

func (s *Server) deleteObject(w http.ResponseWriter, q *request) error {
	ctx := q.r.Context()
	if _, err := s.bucketForWrite(ctx, q); err != nil {
		return err
	}
	_, err := s.meta.Apply(ctx, &meta.DeleteObject{Bucket: q.bucket, Key: q.key})
	if err != nil && !errors.Is(err, meta.ErrObjectNotFound) {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// deleteObjectsMax is the most keys one DELETE Multiple Objects may name.
const deleteObjectsMax = 1000

func (s *Server) deleteObjects(w http.ResponseWriter, q *request) error {
	ctx := q.r.Context()
	if _, err := s.bucketForWrite(ctx, q); err != nil {
		return err
	}
	body, err := readXMLBody(q, wire.DeleteBodyMax)
	if err != nil {
		return err
	}
	req, err := wire.DecodeDelete(bytes.NewReader(body))
	if err != nil {
		return err
	}
	if len(req.Objects) > deleteObjectsMax {
		return wire.Errorf(wire.ErrMalformedXML, "at most %d objects per request", deleteObjectsMax)
	}
	var res wire.DeleteResult
	for _, o := range req.Objects {
		_, err := s.meta.Apply(ctx, &meta.DeleteObject{Bucket: q.bucket, Key: o.Key})
		if err != nil && !errors.Is(err, meta.ErrObjectNotFound) {
			e := toWire(err)
			res.Errors = append(res.Errors, wire.DeleteError{Key: o.Key, Code: e.Code, Message: e.Message})
			continue
		}
		if !req.Quiet {
			res.Deleted = append(res.Deleted, wire.DeletedEntry{Key: o.Key})
		}
	}
	return wire.WriteXML(w, http.StatusOK, &res)
}

// copySource resolves and authorises the source of a copy.
func (s *Server) copySource(ctx context.Context, q *request) (*meta.Version, error) {
	raw, _, err := wire.CopySourceHeader(q.r.Header)
	if err != nil {
		return nil, err
	}
	src, err := wire.ParseCopySource(raw)
	if err != nil {
		return nil, err
	}
	sq := *q
	sq.bucket, sq.key = src.Bucket, src.Key
	v, err := s.objectForRead(ctx, &sq)
	if err != nil {
		return nil, err
	}
	if src.VersionID != "" && src.VersionID != v.VersionID.String() {
		return nil, wire.NewError(wire.ErrNoSuchVersion, "")
	}
	conds, err := wire.ParseCopySourceConditions(q.r.Header)
	if err != nil {
		return nil, err
	}
	if err := conds.Evaluate(v.ETag, time.Unix(0, v.Created)); err != nil {
		return nil, err
	}
	return v, nil
}

// sourceReader streams plaintext bytes [off, off+n) of copy source v through a pipe.
// ck is the request's copy-source customer key (nil if none); it must fit v.
func (s *Server) sourceReader(ctx context.Context, v *meta.Version, ck *customerKey, off, n int64) (io.ReadCloser, error) {
	if err := checkCustomer(v.SSE, ck, errSSECCopyRequired, errSSECCopyNotSSEC); err != nil {
		return nil, err
	}
	dek, err := s.openDataKey(ctx, v.Bucket, v.Key, v.VersionID, v.SSE, ck)
	if err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	go func() {
		pw.CloseWithError(s.readObject(ctx, pw, v, dek, off, n))
	}()
	return pr, nil
}

func (s *Server) copyObject(w http.ResponseWriter, q *request) error {
	ctx, cancel := context.WithCancel(q.r.Context())
	defer cancel()
	b, err := s.bucketForWrite(ctx, q)
	if err != nil {
		return err
	}
	if err := wire.ValidKey(q.key); err != nil {
		return err
	}
	src, err := s.copySource(ctx, q)
	if err != nil {
		return err
	}
	directive := strings.ToUpper(firstHeader(q.r.Header, "x-cos-metadata-directive", "x-amz-metadata-directive"))
	replace := directive == "REPLACED" || directive == "REPLACE"
	if directive != "" && directive != "COPY" && !replace {
		return wire.Errorf(wire.ErrInvalidArgument, "unknown metadata directive %q", directive)
	}
	if src.Bucket == q.bucket && src.Key == q.key && !replace {
		return wire.Errorf(wire.ErrInvalidRequest, "copying an object onto itself needs the metadata directive Replaced")
	}
	in, err := s.parseObjectInput(q, b, wire.SSEOpCopy)
	if err != nil {
		return err
	}
	if !replace {
		in.contentType, in.headers, in.userMeta = src.ContentType, src.Headers, src.UserMeta
	}
	body, err := s.sourceReader(ctx, src, in.copySource, 0, src.Size)
	if err != nil {
		return err
	}
	defer body.Close()
	v, err := s.storeObject(ctx, q, body, src.Size, in, nil)
	if err != nil {
		return err
	}
	if _, err := s.meta.Apply(ctx, &meta.CommitObject{Version: *v, IfNoneMatch: forbidOverwrite(q.r.Header)}); err != nil {
		return err
	}
	h := w.Header()
	h.Set("x-cos-hash-crc64ecma", strconv.FormatUint(v.CRC64, 10))
	setSSEEcho(h, q, v.SSE)
	setCustomerEcho(h, q, in.customer)
	return wire.WriteXML(w, http.StatusOK, &wire.CopyObjectResult{
		ETag:         wire.QuoteETag(v.ETag),
		LastModified: wire.Time(time.Unix(0, v.Created).UTC()),
		CRC64:        strconv.FormatUint(v.CRC64, 10),
	})
}
