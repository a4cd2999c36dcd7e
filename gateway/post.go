package gateway

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/coffer-io/coffer/cluster/meta"
	"github.com/coffer-io/coffer/gateway/internal/auth"
	"github.com/coffer-io/coffer/gateway/internal/route"
	"github.com/coffer-io/coffer/gateway/internal/wire"
)

// POST Object (browser form upload, cos-api.md 5.9).
//
// The pipeline must know an object's size before its first byte is encoded (shard
// sizes follow from it), but a form's file part has no length of its own: the
// request's Content-Length also counts the other fields and the multipart framing.
// So the file part is spooled first: up to postSpoolMemoryBytes in memory, the rest
// in an unlinked temporary file under os.TempDir, encrypted under a key that
// lives only in memory for this request (see spool), never more than the smallest
// content-length-range maximum of the policy plus one byte, and never more than
// postFileBytesMax plus one byte. Only then is the policy's content-length-range
// checked and the object stored and committed; an upload outside the range
// leaves nothing behind (no shards, no object).

// POST Object limits.
const (
	// postFormBytesMax bounds the form fields preceding the file part, names and
	// values together, in bytes (wire.PostFormMax).
	postFormBytesMax = wire.PostFormMax
	// postFileBytesMax bounds the file part, in bytes (wire.SinglePutMax, 5 GiB).
	postFileBytesMax = wire.SinglePutMax
	// postSpoolMemoryBytes is how much of a file part is held in memory; a larger
	// file part is spooled to a temporary file.
	postSpoolMemoryBytes = 1 << 20
	// postRedirectBytesMax bounds success_action_redirect, in bytes.
	postRedirectBytesMax = 2 << 10
)

// errMaxPostPreData is S3's code for form fields that are too large.
const errMaxPostPreData wire.Code = "MaxPostPreDataLengthExceeded"

// postContentHeaders are the form fields stored as the object's content headers.
var postContentHeaders = [...]string{
	"Cache-Control", "Content-Disposition", "Content-Encoding", "Content-Language", "Content-Type", "Expires",
}

// postObject is POST Object: authenticate the form, spool the file part, check the
// policy against its size, store and commit it, and answer per
// success_action_redirect / success_action_status.
func (s *Server) postObject(w http.ResponseWriter, q *request) error {
	ctx := q.r.Context()
	if q.key != "" {
		return wire.NewError(wire.ErrMethodNotAllowed, "")
	}
	fields, file, err := auth.ReadPostForm(q.r)
	if err != nil {
		return err
	}
	form, err := parsePostForm(fields, file.FileName(), q.bucket)
	if err != nil {
		return err
	}
	ident, pol, err := s.verifier.VerifyPost(ctx, form.signed)
	if err != nil {
		return err
	}
	q.ident = ident
	if !ident.Anonymous {
		u, err := s.meta.GetUser(ctx, ident.AccessKeyID)
		if err != nil {
			return err
		}
		q.user = u
	}
	q.key = form.key
	if err := wire.ValidKey(q.key); err != nil {
		return err
	}
	b, err := s.bucketForWrite(ctx, q)
	if err != nil {
		return err
	}
	limit := int64(postFileBytesMax)
	if pol != nil {
		// Every condition but the size can be checked now: do not read a file the
		// policy refuses anyway.
		if err := s.verifier.CheckPolicy(withoutSize(pol), form.signed, 0); err != nil {
			return err
		}
		limit = min(limit, policySizeMax(pol))
	}
	in, err := s.postInput(form, b)
	if err != nil {
		return err
	}
	sum, err := form.contentMD5()
	if err != nil {
		return err
	}

	sp := newSpool(postSpoolMemoryBytes, s.cfg.Rand, func() (*os.File, error) { return os.CreateTemp("", "coffer-post-*") })
	defer sp.Close()
	size, err := sp.fill(file, limit, q.r.ContentLength)
	if err != nil {
		return err
	}
	if pol != nil {
		if err := s.verifier.CheckPolicy(pol, form.signed, size); err != nil {
			return err
		}
	}
	if size > postFileBytesMax {
		return wire.Errorf(wire.ErrEntityTooLarge, "objects are limited to %d bytes", int64(postFileBytesMax))
	}

	v, err := s.storeObject(ctx, q, sp.reader(), size, in, sum)
	if err != nil {
		return err
	}
	if _, err := s.meta.Apply(ctx, &meta.CommitObject{Version: *v, IfNoneMatch: form.forbidOverwrite()}); err != nil {
		return err
	}
	return s.postRespond(w, q, form, v)
}

// postRespond writes the success response: 303 to success_action_redirect when it
// is a usable URL, else 200, 201 (with a PostResponse body) or 204 (the default) per
// success_action_status.
func (s *Server) postRespond(w http.ResponseWriter, q *request, form *postForm, v *meta.Version) error {
	loc := s.objectURL(q)
	etag := wire.QuoteETag(v.ETag)
	h := w.Header()
	h.Set("ETag", etag)
	h.Set("x-cos-hash-crc64ecma", strconv.FormatUint(v.CRC64, 10))
	setSSEEcho(h, q, v.SSE)
	if to, ok := redirectTarget(form.get("success_action_redirect", "redirect"), q.bucket, q.key, etag); ok {
		h.Set("Location", to)
		w.WriteHeader(http.StatusSeeOther)
		return nil
	}
	h.Set("Location", loc)
	switch form.get("success_action_status") {
	case "200":
		w.WriteHeader(http.StatusOK)
		return nil
	case "201":
		return wire.WriteXML(w, http.StatusCreated, &postResponse{Location: loc, Bucket: q.bucket, Key: q.key, ETag: etag})
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// postResponse is the body of a 201 answer (S3 PostResponse).
type postResponse struct {
	XMLName  xml.Name `xml:"PostResponse"`
	Location string   `xml:"Location"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	ETag     string   `xml:"ETag"`
}

// objectURL is the URL of q.bucket/q.key as the client addressed the bucket.
func (s *Server) objectURL(q *request) string {
	scheme := "http"
	if q.r.TLS != nil {
		scheme = "https"
	}
	path := "/" + wire.URLEncode(q.key)
	if t, err := route.Resolve(s.route, q.r.Host, q.r.URL.EscapedPath()); err != nil || t.Style != route.StyleVirtualHost {
		path = "/" + q.bucket + path
	}
	return scheme + "://" + q.r.Host + path
}

// redirectTarget is the 303 Location for success_action_redirect raw: the URL with
// bucket, key and etag appended to its query. It reports false when raw is empty
// or not an absolute http(s) URL, in which case the field is ignored (as S3 does).
func redirectTarget(raw, bucket, key, etag string) (string, bool) {
	if raw == "" || len(raw) > postRedirectBytesMax {
		return "", false
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return "", false
	}
	add := url.Values{"bucket": {bucket}, "key": {key}, "etag": {etag}}.Encode()
	if u.RawQuery == "" {
		u.RawQuery = add
	} else {
		u.RawQuery += "&" + add
	}
	return u.String(), true
}

// postForm is a POST form's fields after ${filename} substitution.
type postForm struct {
	// lower maps lower-cased field names to values.
	lower map[string]string
	// signed is the field set the policy is checked against: the fields as sent,
	// key substituted, and "bucket" set to the target bucket.
	signed map[string]string
	key    string
}

// parsePostForm checks the size of the fields ReadPostForm returned, substitutes
// ${filename} (the base name of the file part's filename) in key and adds the
// bucket. Errors: MaxPostPreDataLengthExceeded, InvalidArgument for a missing key.
func parsePostForm(fields map[string]string, filename, bucket string) (*postForm, error) {
	total := 0
	for k, v := range fields {
		total += len(k) + len(v)
	}
	if total > postFormBytesMax {
		return nil, &wire.Error{Code: errMaxPostPreData, Status: http.StatusBadRequest,
			Message: fmt.Sprintf("Your POST request fields preceding the upload file exceed %d bytes.", postFormBytesMax)}
	}
	f := &postForm{lower: make(map[string]string, len(fields)), signed: make(map[string]string, len(fields)+1)}
	keyName := ""
	for k, v := range fields {
		lk := strings.ToLower(k)
		if _, dup := f.lower[lk]; dup {
			return nil, wire.NewError(wire.ErrInvalidArgument, "A form field appears more than once.")
		}
		f.lower[lk] = v
		switch lk {
		case "bucket":
			continue // replaced by the target bucket below
		case "key":
			keyName = k
		}
		f.signed[k] = v
	}
	if keyName == "" {
		return nil, wire.NewError(wire.ErrInvalidArgument, "Bucket POST must contain a field named 'key'.")
	}
	f.key = substituteFilename(f.lower["key"], filename)
	f.lower["key"] = f.key
	f.signed[keyName] = f.key
	f.signed["bucket"] = bucket
	f.lower["bucket"] = bucket
	return f, nil
}

// substituteFilename replaces every ${filename} in key with the base name of
// filename (browsers may send a full client path).
func substituteFilename(key, filename string) string {
	if !strings.Contains(key, "${filename}") {
		return key
	}
	if i := strings.LastIndexAny(filename, `/\`); i >= 0 {
		filename = filename[i+1:]
	}
	return strings.ReplaceAll(key, "${filename}", filename)
}

// get returns the first non-empty field among names (lower case).
func (f *postForm) get(names ...string) string {
	for _, n := range names {
		if v := f.lower[n]; v != "" {
			return v
		}
	}
	return ""
}

func (f *postForm) forbidOverwrite() bool {
	return strings.EqualFold(f.get("x-cos-forbid-overwrite"), "true")
}

func (f *postForm) contentMD5() ([]byte, error) {
	v := f.get("content-md5")
	if v == "" {
		return nil, nil
	}
	sum, ok, err := wire.ParseContentMD5(v)
	if err != nil || !ok {
		return nil, err
	}
	return sum[:], nil
}

// header is the form's header-like fields (content headers, x-cos-/x-amz-meta-*,
// acl, storage class) as an http.Header, so that the header parsers of PUT apply
// unchanged. Values must be valid header values: they are served back on GET.
func (f *postForm) header() (http.Header, error) {
	h := make(http.Header)
	set := func(name, v string) error {
		if !validFieldValue(v) {
			return wire.Errorf(wire.ErrInvalidArgument, "The form field %s has an invalid value.", name)
		}
		h[http.CanonicalHeaderKey(name)] = []string{v}
		return nil
	}
	for _, n := range postContentHeaders {
		if v := f.lower[strings.ToLower(n)]; v != "" {
			if err := set(n, v); err != nil {
				return nil, err
			}
		}
	}
	for k, v := range f.lower {
		switch {
		case strings.HasPrefix(k, "x-cos-meta-"), strings.HasPrefix(k, "x-amz-meta-"),
			k == "x-cos-storage-class", k == "x-amz-storage-class", k == "x-cos-acl", k == "x-amz-acl":
		case k == "acl":
			if other, ok := f.lower["x-cos-acl"]; ok && other != v {
				return nil, wire.NewError(wire.ErrInvalidArgument, "The form fields acl and x-cos-acl disagree.")
			}
			k = "x-cos-acl"
		default:
			continue
		}
		if err := set(k, v); err != nil {
			return nil, err
		}
	}
	return h, nil
}

// validFieldValue reports whether v may be stored as a header value: no control
// characters but tab.
func validFieldValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// postInput is parseObjectInput for a form: content headers, metadata, ACL and
// storage class from the form fields, SSE from the SSE form fields.
func (s *Server) postInput(f *postForm, b *meta.Bucket) (objectInput, error) {
	h, err := f.header()
	if err != nil {
		return objectInput{}, err
	}
	in := objectInput{
		contentType: h.Get("Content-Type"),
		headers: meta.ContentHeaders{
			CacheControl:       h.Get("Cache-Control"),
			ContentDisposition: h.Get("Content-Disposition"),
			ContentEncoding:    h.Get("Content-Encoding"),
			ContentLanguage:    h.Get("Content-Language"),
			Expires:            h.Get("Expires"),
		},
	}
	if firstHeader(h, "x-cos-storage-class", "x-amz-storage-class") != "" {
		if in.storage, err = wire.ParseStorageClass(h); err != nil {
			return objectInput{}, err
		}
	}
	md, err := wire.ParseMetadata(h)
	if err != nil {
		return objectInput{}, err
	}
	if len(md) > 0 {
		in.userMeta = md
	}
	canned, err := wire.ParseCannedACL(h, true)
	if err != nil {
		return objectInput{}, err
	}
	in.acl = meta.ACL{Canned: string(canned)}
	sreq, err := wire.ParseSSEForm(f.lower)
	if err != nil {
		return objectInput{}, err
	}
	in.mode, err = s.writeMode(sreq, b)
	in.kms = kmsRequestOf(sreq, b)
	return in, err
}

// withoutSize returns p without its content-length-range conditions.
func withoutSize(p *auth.Policy) *auth.Policy {
	c := *p
	c.Conditions = make([]auth.Condition, 0, len(p.Conditions))
	for _, cond := range p.Conditions {
		if cond.Op != "content-length-range" {
			c.Conditions = append(c.Conditions, cond)
		}
	}
	return &c
}

// policySizeMax is the smallest content-length-range maximum of p, or
// postFileBytesMax when p has none.
func policySizeMax(p *auth.Policy) int64 {
	m := int64(postFileBytesMax)
	for _, c := range p.Conditions {
		if c.Op == "content-length-range" && c.Max < m {
			m = c.Max
		}
	}
	return m
}

// spool holds one file part so that its size is known before it is stored: the
// first memMax bytes in memory, the rest in a temporary file that is unlinked as
// soon as it is created (or at Close where the platform cannot unlink open files).
// Plaintext never reaches the disk (DESIGN.md section 3, step 2): the file holds
// the bytes under AES-256-CTR with a key drawn for this spool alone and kept only
// in memory, so the file is unreadable once the spool is gone. The file is local
// and short-lived; confidentiality is what matters, integrity is not needed (the
// pipeline hashes what it reads back).
// A spool belongs to one request and one goroutine.
type spool struct {
	memMax  int
	newTemp func() (*os.File, error)
	rand    io.Reader
	mem     bytes.Buffer
	file    *os.File
	remove  string // temporary file name still to remove at Close
	size    int64
	block   cipher.Block
	iv      [aes.BlockSize]byte
}

// spoolCopyBytes is the buffer of the encrypting copy to the temporary file.
const spoolCopyBytes = 64 << 10

func newSpool(memMax int, rand io.Reader, newTemp func() (*os.File, error)) *spool {
	return &spool{memMax: memMax, rand: rand, newTemp: newTemp}
}

// fill reads r to its end, keeping at most limit+1 bytes, and returns how many it
// kept: a result above limit means r holds more than limit bytes (the rest is left
// unread). hint, when positive, is an upper bound of r's length (the request's
// Content-Length) that sizes the memory buffer in one allocation. A read error is
// IncompleteBody; a temporary-file error is internal.
func (sp *spool) fill(r io.Reader, limit, hint int64) (int64, error) {
	if limit < 0 {
		limit = 0
	}
	total := limit + 1
	if hint > 0 {
		// MinRead of slack: ReadFrom grows a full buffer before it can see EOF.
		sp.mem.Grow(int(min(hint, total, int64(sp.memMax)+1)) + bytes.MinRead)
	}
	n, err := sp.mem.ReadFrom(io.LimitReader(r, min(total, int64(sp.memMax)+1)))
	sp.size = n
	if err != nil {
		return 0, wire.Wrap(wire.ErrIncompleteBody, err)
	}
	if n <= int64(sp.memMax) || n == total {
		return n, nil
	}
	var key [32]byte
	if _, err := io.ReadFull(sp.rand, key[:]); err != nil {
		return 0, fmt.Errorf("gateway: post spool key: %w", err)
	}
	if _, err := io.ReadFull(sp.rand, sp.iv[:]); err != nil {
		return 0, fmt.Errorf("gateway: post spool key: %w", err)
	}
	if sp.block, err = aes.NewCipher(key[:]); err != nil {
		return 0, fmt.Errorf("gateway: post spool key: %w", err)
	}
	if sp.file, err = sp.newTemp(); err != nil {
		return 0, fmt.Errorf("gateway: post spool: %w", err)
	}
	if err := os.Remove(sp.file.Name()); err != nil {
		sp.remove = sp.file.Name()
	}
	stream := cipher.NewCTR(sp.block, sp.iv[:])
	// The in-memory head goes first, encrypted in place.
	head := sp.mem.Bytes()
	stream.XORKeyStream(head, head)
	if _, err := sp.file.Write(head); err != nil {
		return 0, fmt.Errorf("gateway: post spool: %w", err)
	}
	sp.mem = bytes.Buffer{}
	buf := make([]byte, spoolCopyBytes)
	rest := io.LimitReader(r, total-n)
	for {
		k, rerr := rest.Read(buf)
		if k > 0 {
			stream.XORKeyStream(buf[:k], buf[:k])
			if _, err := sp.file.Write(buf[:k]); err != nil {
				return 0, fmt.Errorf("gateway: post spool: %w", err)
			}
			sp.size += int64(k)
		}
		if rerr == io.EOF {
			return sp.size, nil
		}
		if rerr != nil {
			return 0, wire.Wrap(wire.ErrIncompleteBody, rerr)
		}
	}
}

// reader returns the spooled bytes from the start, decrypted.
func (sp *spool) reader() io.Reader {
	if sp.file != nil {
		return cipher.StreamReader{S: cipher.NewCTR(sp.block, sp.iv[:]), R: io.NewSectionReader(sp.file, 0, sp.size)}
	}
	return bytes.NewReader(sp.mem.Bytes())
}

// Close releases the temporary file, if any.
func (sp *spool) Close() error {
	if sp.file == nil {
		return nil
	}
	err := sp.file.Close()
	if sp.remove != "" {
		if rerr := os.Remove(sp.remove); err == nil {
			err = rerr
		}
	}
	sp.file = nil
	return err
}
