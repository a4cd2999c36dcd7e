package gateway

import (
	"bytes"
	"context"
	"encoding/hex"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/coffer-io/coffer/cluster/meta"
	"github.com/coffer-io/coffer/gateway/internal/wire"
	"github.com/coffer-io/coffer/sse"
)

// An upload's data key is sealed to the upload id, and Complete commits the object
// under the upload id as its version id, so the binding of the sealed key names the
// version that is finally read. An SSE-C upload keeps the salt and HMAC of the
// customer key in the upload record; every part request must carry that key, since
// part keys derive from the upload's data key, which only the customer key unseals.

func (s *Server) initiateUpload(w http.ResponseWriter, q *request) error {
	ctx := q.r.Context()
	b, err := s.bucketForWrite(ctx, q)
	if err != nil {
		return err
	}
	if err := wire.ValidKey(q.key); err != nil {
		return err
	}
	in, err := s.parseObjectInput(q, b, wire.SSEOpInitiate)
	if err != nil {
		return err
	}
	uid, err := s.newID()
	if err != nil {
		return err
	}
	dk, err := s.newDataKey(ctx, q.bucket, q.key, uid, in.mode, in.customer, in.kms)
	if err != nil {
		return err
	}
	up := meta.Upload{
		UploadID: uid, Bucket: q.bucket, Key: q.key, Initiated: s.cfg.Now().UnixNano(), Owner: q.owner(),
		SSE: dk.rec, ContentType: in.contentType, Headers: in.headers, UserMeta: in.userMeta,
		StorageClass: in.storage, ACL: in.acl,
	}
	if _, err := s.meta.Apply(ctx, &meta.InitiateUpload{Upload: up}); err != nil {
		return err
	}
	setSSEEcho(w.Header(), q, dk.rec)
	setCustomerEcho(w.Header(), q, in.customer)
	return wire.WriteXML(w, http.StatusOK, &wire.InitiateMultipartUploadResult{Bucket: q.bucket, Key: q.key, UploadID: uid.String()})
}

// upload resolves the upload named by the uploadId query parameter.
func (s *Server) upload(ctx context.Context, q *request) (*meta.Upload, error) {
	uid, err := meta.ParseID(q.query.Get("uploadId"))
	if err != nil {
		return nil, wire.NewError(wire.ErrNoSuchUpload, "")
	}
	return s.meta.GetUpload(ctx, q.bucket, q.key, uid)
}

// partTarget resolves what Upload Part and Upload Part - Copy write to: write access
// to the bucket, the part number, the upload, and the SSE-C key the part must carry
// when the upload is SSE-C.
func (s *Server) partTarget(ctx context.Context, q *request, op wire.SSEOp) (int, *meta.Upload, partKeys, error) {
	if _, err := s.bucketForWrite(ctx, q); err != nil {
		return 0, nil, partKeys{}, err
	}
	n, err := wire.ParsePartNumber(q.query.Get("partNumber"))
	if err != nil {
		return 0, nil, partKeys{}, err
	}
	ck, err := s.partCustomer(q, op)
	if err != nil {
		return 0, nil, partKeys{}, err
	}
	up, err := s.upload(ctx, q)
	if err != nil {
		return 0, nil, partKeys{}, err
	}
	if err := checkCustomer(up.SSE, ck.part, errSSECPartRequired, errSSECPartNotSSEC); err != nil {
		return 0, nil, partKeys{}, err
	}
	return n, up, ck, nil
}

func (s *Server) uploadPart(w http.ResponseWriter, q *request) error {
	ctx := q.r.Context()
	n, up, ck, err := s.partTarget(ctx, q, wire.SSEOpUploadPart)
	if err != nil {
		return err
	}
	size, err := q.bodySize()
	if err != nil {
		return err
	}
	sum, err := contentMD5(q.r.Header)
	if err != nil {
		return err
	}
	p, err := s.storePart(ctx, up, ck.part, n, q.body, size, sum)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("ETag", wire.QuoteETag(p.ETag))
	h.Set("x-cos-hash-crc64ecma", strconv.FormatUint(p.CRC64, 10))
	setSSEEcho(h, q, up.SSE)
	setCustomerEcho(h, q, ck.part)
	w.WriteHeader(http.StatusOK)
	return nil
}

// partKeys are the SSE-C keys of a part request: the upload's (part) and, for Upload
// Part - Copy, the copy source's (source); nil when not given.
type partKeys struct {
	part, source *customerKey
}

// partCustomer parses the SSE headers of a part request.
func (s *Server) partCustomer(q *request, op wire.SSEOp) (partKeys, error) {
	sreq, err := wire.ParseSSE(q.r.Header, op)
	if err != nil {
		return partKeys{}, err
	}
	var k partKeys
	if k.part, err = s.requestCustomer(q, sreq); err != nil {
		return partKeys{}, err
	}
	if k.source, err = s.copySourceCustomer(q, sreq); err != nil {
		return partKeys{}, err
	}
	return k, nil
}

// storePart writes part number n of upload up and records it. ck is the upload's
// customer key when it is under SSE-C.
func (s *Server) storePart(ctx context.Context, up *meta.Upload, ck *customerKey, n int, body io.Reader, size int64, sum []byte) (*meta.Part, error) {
	dek, err := s.openDataKey(ctx, up.Bucket, up.Key, up.UploadID, up.SSE, ck)
	if err != nil {
		return nil, err
	}
	// The part's shard-set id is fresh and random for every upload of the part, and
	// is kept in the part table: it doubles as the salt of the part key, so a part
	// uploaded twice never reuses a key.
	sid, err := s.newID()
	if err != nil {
		return nil, err
	}
	pk, err := sse.PartKey(dek, n, sid[:])
	if err != nil {
		return nil, err
	}
	nonce, err := sse.NewNoncePrefix(s.cfg.Rand)
	if err != nil {
		return nil, err
	}
	st, err := s.writeShards(ctx, sid, uint32(n), body, size, dataKey{dek: pk, nonce: nonce}, sum)
	if err != nil {
		return nil, err
	}
	p := meta.Part{
		Number: n, ShardsID: sid, Size: st.size, ETag: hex.EncodeToString(st.md5[:]), CRC64: st.crc,
		Uploaded: s.cfg.Now().UnixNano(), Layout: st.layout, Stream: st.stream,
	}
	if _, err := s.meta.Apply(ctx, &meta.PutPart{Bucket: up.Bucket, Key: up.Key, UploadID: up.UploadID, Part: p}); err != nil {
		return nil, err
	}
	return &p, nil
}

func (s *Server) uploadPartCopy(w http.ResponseWriter, q *request) error {
	ctx, cancel := context.WithCancel(q.r.Context())
	defer cancel()
	n, up, ck, err := s.partTarget(ctx, q, wire.SSEOpUploadPartCopy)
	if err != nil {
		return err
	}
	src, err := s.copySource(ctx, q)
	if err != nil {
		return err
	}
	off, size, ok, err := wire.ParseCopySourceRange(firstHeader(q.r.Header, "x-cos-copy-source-range", "x-amz-copy-source-range"), src.Size)
	if err != nil {
		return err
	}
	if !ok {
		off, size = 0, src.Size
	}
	if size > ObjectBytesMax {
		return wire.NewError(wire.ErrEntityTooLarge, "")
	}
	body, err := s.sourceReader(ctx, src, ck.source, off, size)
	if err != nil {
		return err
	}
	defer body.Close()
	p, err := s.storePart(ctx, up, ck.part, n, body, size, nil)
	if err != nil {
		return err
	}
	w.Header().Set("x-cos-hash-crc64ecma", strconv.FormatUint(p.CRC64, 10))
	setSSEEcho(w.Header(), q, up.SSE)
	setCustomerEcho(w.Header(), q, ck.part)
	return wire.WriteXML(w, http.StatusOK, &wire.CopyPartResult{
		ETag: wire.QuoteETag(p.ETag), LastModified: wire.Time(time.Unix(0, p.Uploaded).UTC()),
	})
}

func (s *Server) completeUpload(w http.ResponseWriter, q *request) error {
	ctx := q.r.Context()
	if _, err := s.bucketForWrite(ctx, q); err != nil {
		return err
	}
	if _, err := wire.ParseSSE(q.r.Header, wire.SSEOpComplete); err != nil {
		return err
	}
	up, err := s.upload(ctx, q)
	if err != nil {
		return err
	}
	ck, err := s.completeCustomer(q, up)
	if err != nil {
		return err
	}
	body, err := readXMLBody(q, wire.CompleteBodyMax)
	if err != nil {
		return err
	}
	req, err := wire.DecodeCompleteMultipartUpload(bytes.NewReader(body))
	if err != nil {
		return err
	}
	stored, err := s.allParts(ctx, up)
	if err != nil {
		return err
	}
	// The object's ETag and CRC-64 come from the chosen parts; the state machine
	// checks again, atomically, that each exists with that ETag.
	chosen := make([]meta.CompletePart, len(req.Parts))
	etags := make([]string, len(req.Parts))
	var crc uint64
	for i, cp := range req.Parts {
		p, ok := stored[cp.PartNumber]
		if !ok || p.ETag != cp.ETag {
			return wire.Errorf(wire.ErrInvalidPart, "part %d was not uploaded with that ETag", cp.PartNumber)
		}
		chosen[i] = meta.CompletePart{Number: cp.PartNumber, ETag: cp.ETag}
		etags[i] = p.ETag
		crc = crc64Combine(crc, p.CRC64, p.Size)
	}
	etag, err := wire.MultipartETag(etags)
	if err != nil {
		return err
	}
	res, err := s.meta.Apply(ctx, &meta.CompleteUpload{
		Bucket: q.bucket, Key: q.key, UploadID: up.UploadID, Parts: chosen,
		VersionID: up.UploadID, ETag: wire.UnquoteETag(etag), CRC64: crc,
		Created: s.cfg.Now().UnixNano(), MinPartBytes: MinPartBytes, IfNoneMatch: forbidOverwrite(q.r.Header),
	})
	if err != nil {
		return err
	}
	if res.Version != nil {
		crc = res.Version.CRC64
	}
	h := w.Header()
	h.Set("x-cos-hash-crc64ecma", strconv.FormatUint(crc, 10))
	setSSEEcho(h, q, up.SSE)
	setCustomerEcho(h, q, ck)
	return wire.WriteXML(w, http.StatusOK, &wire.CompleteMultipartUploadResult{
		Location: q.r.Host + "/" + q.key, Bucket: q.bucket, Key: q.key, ETag: wire.QuoteETag(etag),
	})
}

// completeCustomer is the SSE-C key a Complete request carries for an SSE-C upload
// (the COS Go SDK's Upload forwards it), checked so it can be echoed; nil when the
// request has none or the upload is not under SSE-C. Complete needs no key: it
// decrypts nothing.
func (s *Server) completeCustomer(q *request, up *meta.Upload) (*customerKey, error) {
	if up.SSE.Mode != meta.ModeSSEC {
		return nil, nil
	}
	ck, err := s.partCustomer(q, wire.SSEOpUploadPart)
	if err != nil || ck.part == nil {
		return nil, err
	}
	if err := checkCustomer(up.SSE, ck.part, errSSECPartRequired, errSSECPartNotSSEC); err != nil {
		return nil, err
	}
	return ck.part, nil
}

// allParts reads every stored part of an upload, by number.
func (s *Server) allParts(ctx context.Context, up *meta.Upload) (map[int]meta.Part, error) {
	out := map[int]meta.Part{}
	opts := meta.ListPartsOptions{}
	for {
		res, err := s.meta.ListParts(ctx, up.Bucket, up.Key, up.UploadID, opts)
		if err != nil {
			return nil, err
		}
		for _, p := range res.Parts {
			out[p.Number] = p
		}
		if !res.IsTruncated {
			return out, nil
		}
		opts.PartNumberMarker = res.NextPartNumberMarker
	}
}

func (s *Server) abortUpload(w http.ResponseWriter, q *request) error {
	ctx := q.r.Context()
	if _, err := s.bucketForWrite(ctx, q); err != nil {
		return err
	}
	up, err := s.upload(ctx, q)
	if err != nil {
		return err
	}
	if _, err := s.meta.Apply(ctx, &meta.AbortUpload{Bucket: q.bucket, Key: q.key, UploadID: up.UploadID}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) listParts(w http.ResponseWriter, q *request) error {
	ctx := q.r.Context()
	if _, err := s.bucket(ctx, q, permRead); err != nil {
		return err
	}
	up, err := s.upload(ctx, q)
	if err != nil {
		return err
	}
	params, err := wire.ParseListParts(q.query)
	if err != nil {
		return err
	}
	maxParts, marker, encodeURL := params.MaxParts, params.PartNumberMarker, params.EncodeURL
	res, err := s.meta.ListParts(ctx, q.bucket, q.key, up.UploadID, meta.ListPartsOptions{PartNumberMarker: marker, MaxParts: maxParts})
	if err != nil {
		return err
	}
	owner := &wire.Owner{ID: up.Owner, DisplayName: up.Owner}
	out := wire.ListPartsResult{
		Bucket: q.bucket, Key: q.key, UploadID: up.UploadID.String(), Initiator: owner, Owner: owner,
		StorageClass: storageClass(up.StorageClass), PartNumberMarker: marker,
		NextPartNumberMarker: res.NextPartNumberMarker, MaxParts: maxParts, IsTruncated: res.IsTruncated,
	}
	if encodeURL {
		out.EncodingType = "url"
		out.Key = wire.URLEncode(out.Key)
	}
	for _, p := range res.Parts {
		out.Parts = append(out.Parts, wire.PartEntry{
			PartNumber: p.Number, LastModified: wire.Time(time.Unix(0, p.Uploaded).UTC()),
			ETag: wire.QuoteETag(p.ETag), Size: p.Size,
		})
	}
	return wire.WriteXML(w, http.StatusOK, &out)
}

func (s *Server) listUploads(w http.ResponseWriter, q *request) error {
	ctx := q.r.Context()
	if _, err := s.bucket(ctx, q, permRead); err != nil {
		return err
	}
	maxUploads, err := wire.ParseMaxKeys(q.query.Get("max-uploads"), wire.ListMaxKeysMax)
	if err != nil {
		return err
	}
	encodeURL, err := wire.ParseEncodingType(q.query.Get("encoding-type"))
	if err != nil {
		return err
	}
	opts := meta.ListUploadsOptions{
		Prefix: q.query.Get("prefix"), Delimiter: q.query.Get("delimiter"),
		KeyMarker: q.query.Get("key-marker"), MaxUploads: maxUploads,
	}
	if v := q.query.Get("upload-id-marker"); v != "" {
		if opts.UploadIDMarker, err = meta.ParseID(v); err != nil {
			return wire.Errorf(wire.ErrInvalidArgument, "invalid upload-id-marker")
		}
	}
	res, err := s.meta.ListUploads(ctx, q.bucket, opts)
	if err != nil {
		return err
	}
	out := wire.ListMultipartUploadsResult{
		Bucket: q.bucket, KeyMarker: opts.KeyMarker, UploadIDMarker: q.query.Get("upload-id-marker"),
		NextKeyMarker: res.NextKeyMarker, MaxUploads: maxUploads, IsTruncated: res.IsTruncated,
		Prefix: opts.Prefix, Delimiter: opts.Delimiter,
	}
	if res.IsTruncated {
		out.NextUploadIDMarker = res.NextUploadIDMarker.String()
	}
	for _, u := range res.Uploads {
		owner := &wire.Owner{ID: u.Owner, DisplayName: u.Owner}
		out.Uploads = append(out.Uploads, wire.UploadEntry{
			Key: u.Key, UploadID: u.UploadID.String(), StorageClass: storageClass(u.StorageClass),
			Initiator: owner, Owner: owner, Initiated: wire.Time(time.Unix(0, u.Initiated).UTC()),
		})
	}
	for _, p := range res.CommonPrefixes {
		out.CommonPrefixes = append(out.CommonPrefixes, wire.CommonPrefix{Prefix: p})
	}
	if encodeURL {
		out.EncodingType = "url"
		for i := range out.Uploads {
			out.Uploads[i].Key = wire.URLEncode(out.Uploads[i].Key)
		}
		for i := range out.CommonPrefixes {
			out.CommonPrefixes[i].Prefix = wire.URLEncode(out.CommonPrefixes[i].Prefix)
		}
		out.Prefix, out.KeyMarker, out.NextKeyMarker = wire.URLEncode(out.Prefix), wire.URLEncode(out.KeyMarker), wire.URLEncode(out.NextKeyMarker)
	}
	return wire.WriteXML(w, http.StatusOK, &out)
}
