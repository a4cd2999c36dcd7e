// Package pipeline is the gateway's object data path (DESIGN.md section 3): it turns a
// plaintext body into encrypted, erasure-coded shards on storage nodes, and shards back
// into a plaintext byte range.
//
// PUT: the body is read exactly once. On that pass the plaintext's MD5 (the ETag) and
// CRC-64/ECMA (x-cos-hash-crc64ecma) are computed, the bytes are sealed into 64 KiB
// AES-256-GCM packages (package sse), the ciphertext is cut into stripes and
// Reed–Solomon-encoded (package erasure), and every shard streams to its storage node
// while the body is still arriving. Memory is bounded by one stripe and one package
// per request, whatever the object size. A shard whose node fails is dropped and
// reported; the write succeeds when at least the write quorum of shards were stored.
//
// GET: only the stripes covering the requested plaintext range are fetched, every
// block is verified, missing or corrupt shards are reconstructed from parity (and
// reported for healing), and only the covering packages are decrypted.
//
// Invariants: plaintext never leaves this package towards a storage node; a body that
// is shorter or longer than its declared size fails the write; a decryption or
// decoding error mid-stream is returned to the caller, which must abort its response
// (bytes already written are void). The package holds no state between requests
// beyond pooled buffers and is safe for concurrent use.
package pipeline

import (
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"hash"
	"hash/crc64"
	"io"
	"sync"
	"time"

	"github.com/coffer-io/coffer/erasure"
	"github.com/coffer-io/coffer/node"
	"github.com/coffer-io/coffer/sse"
)

// Sentinel errors.
var (
	// ErrQuorum: fewer shards than the write quorum (or, on read, than k) could be
	// stored or fetched.
	ErrQuorum = errors.New("pipeline: not enough storage nodes")
	// ErrSize: the body's length differs from its declared size.
	ErrSize = errors.New("pipeline: body length differs from declared size")
	// ErrBadDigest: the body does not match the Content-MD5 the client sent.
	ErrBadDigest = errors.New("pipeline: body does not match Content-MD5")
	// ErrInvalid: the request is malformed (bad geometry, node list, range).
	ErrInvalid = errors.New("pipeline: invalid request")
)

// Shards is the storage-node side of the pipeline: node.Client per node id.
// Implementations must be safe for concurrent use.
type Shards interface {
	// Put stores the shard id on node nodeID, reading exactly size bytes from r.
	Put(ctx context.Context, nodeID string, id node.ShardID, size int64, r io.Reader) error
	// Get streams n bytes of shard id on node nodeID starting at stream offset off.
	Get(ctx context.Context, nodeID string, id node.ShardID, off, n int64) (io.ReadCloser, error)
}

// DefaultStallTimeout is how long one shard's stream may refuse to take a frame
// before the shard is given up (and recorded missing) so the others can go on.
const DefaultStallTimeout = 5 * time.Second

// ErrStalled marks a shard dropped because its node stopped taking bytes or did not
// confirm within the stall timeout.
var ErrStalled = errors.New("pipeline: shard stream stalled")

// Pipeline runs the PUT and GET data paths for one erasure geometry.
type Pipeline struct {
	codec  *erasure.Codec
	shards Shards
	quorum int
	// stall bounds how long one frame write to a shard stream may block; a node that
	// stops reading (partitioned, overloaded) must not stall the whole PUT.
	stall time.Duration
	encs  sync.Pool // *sse.Encrypter
}

// New returns a pipeline for codec's geometry writing through shards. writeQuorum is
// the number of shards a PUT must store; it is raised to k+1 if lower (DESIGN.md
// section 3, step 4) and may not exceed k+m.
func New(codec *erasure.Codec, shards Shards, writeQuorum int) (*Pipeline, error) {
	g := codec.Geometry()
	if writeQuorum < g.DataShards+1 {
		writeQuorum = g.DataShards + 1
	}
	if writeQuorum > g.TotalShards() {
		return nil, fmt.Errorf("%w: write quorum %d exceeds %d shards", ErrInvalid, writeQuorum, g.TotalShards())
	}
	return &Pipeline{codec: codec, shards: shards, quorum: writeQuorum, stall: DefaultStallTimeout}, nil
}

// SetStallTimeout changes how long a shard stream may block a frame write before the
// shard is dropped (DefaultStallTimeout); d ≤ 0 keeps the default. Call before use.
func (p *Pipeline) SetStallTimeout(d time.Duration) {
	if d > 0 {
		p.stall = d
	}
}

// Geometry returns the erasure geometry of the pipeline.
func (p *Pipeline) Geometry() erasure.Geometry { return p.codec.Geometry() }

// PutRequest describes one object (or one part) to store.
type PutRequest struct {
	Body      io.Reader // plaintext; read exactly once
	Size      int64     // declared plaintext size; the body must yield exactly this
	VersionID [16]byte  // object version the shards belong to
	Part      uint32    // 0 for a single-part object, else the part number
	// Nodes names the storage node of each shard index (k+m entries, from placement).
	Nodes []string
	Key   sse.Key         // data key (or part key) the stream is sealed under
	Nonce sse.NoncePrefix // per-object (per-part) nonce prefix
	// ContentMD5, when not nil, is the MD5 the client sent; a mismatch fails the write.
	ContentMD5 []byte
}

// PutResult describes what a successful PUT stored.
type PutResult struct {
	MD5        [md5.Size]byte // MD5 of the plaintext
	CRC64      uint64         // CRC-64/ECMA of the plaintext
	Size       int64          // plaintext bytes
	CipherSize int64          // bytes of the encrypted stream that was erasure-coded
	// Missing lists the shard indexes whose node failed; healing must restore them.
	Missing []int
	// Faults holds the error of each missing shard, in the order of Missing.
	Faults []error
}

var crcTable = crc64.MakeTable(crc64.ECMA)

// hashingReader computes MD5 and CRC-64 of what passes through it and counts it,
// failing when more than limit bytes arrive.
type hashingReader struct {
	r     io.Reader
	md5   hash.Hash
	crc   uint64
	n     int64
	limit int64
}

func (h *hashingReader) Read(b []byte) (int, error) {
	n, err := h.r.Read(b)
	if n > 0 {
		h.md5.Write(b[:n])
		h.crc = crc64.Update(h.crc, crcTable, b[:n])
		h.n += int64(n)
		if h.n > h.limit {
			return n, ErrSize
		}
	}
	return n, err
}

// Put encrypts, encodes and stores one object. On success at least the write quorum
// of shards is durable on their nodes. On failure the shards that were written are
// orphans for the storage nodes' sweepers; nothing is visible until the caller
// commits the metadata.
func (p *Pipeline) Put(ctx context.Context, req PutRequest) (PutResult, error) {
	g := p.codec.Geometry()
	if len(req.Nodes) != g.TotalShards() || req.Size < 0 {
		return PutResult{}, fmt.Errorf("%w: %d nodes for %d shards, size %d", ErrInvalid, len(req.Nodes), g.TotalShards(), req.Size)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	hr := &hashingReader{r: req.Body, md5: md5.New(), limit: req.Size}
	enc, _ := p.encs.Get().(*sse.Encrypter)
	if enc == nil {
		enc = sse.NewEncrypter(hr, req.Key, req.Nonce)
	} else {
		enc.Reset(hr, req.Key, req.Nonce)
	}
	defer func() {
		enc.Reset(nil, sse.Key{}, sse.NoncePrefix{})
		p.encs.Put(enc)
	}()

	cipherSize := sse.CiphertextSize(req.Size)
	shardSize := erasure.ShardSize(g, cipherSize)
	if shardSize < 0 {
		return PutResult{}, fmt.Errorf("%w: object too large", ErrInvalid)
	}

	n := g.TotalShards()
	outs := make([]*shardOut, n)
	writers := make([]io.Writer, n)
	var wg sync.WaitGroup
	finished := make(chan struct{}, n)
	for i := range outs {
		pr, pw := io.Pipe()
		shardCtx, shardCancel := context.WithCancel(ctx)
		o := &shardOut{pw: pw}
		// A write that blocks longer than the stall timeout fails the pipe, which
		// unblocks the encoder, and cancels this shard's upload.
		o.stall = time.AfterFunc(time.Hour, func() {
			pr.CloseWithError(ErrStalled)
			shardCancel()
		})
		o.stall.Stop()
		o.timeout = p.stall
		outs[i] = o
		writers[i] = o
		id := node.ShardID{Version: req.VersionID, Part: req.Part, Index: uint16(i)}
		wg.Add(1)
		go func(nodeID string) {
			defer wg.Done()
			defer shardCancel()
			err := p.shards.Put(shardCtx, nodeID, id, shardSize, pr)
			// Unblock the encoder if the node stopped reading early.
			pr.CloseWithError(errShardDone(err))
			o.finish(err)
			finished <- struct{}{}
		}(req.Nodes[i])
	}

	written, encErr := p.codec.Encode(enc, req.VersionID, writers)
	if encErr == nil && hr.n != req.Size {
		encErr = fmt.Errorf("%w: got %d bytes, declared %d", ErrSize, hr.n, req.Size)
	}
	if encErr == nil && written != cipherSize {
		encErr = fmt.Errorf("%w: encoded %d ciphertext bytes, want %d", ErrSize, written, cipherSize)
	}
	var sum [md5.Size]byte
	hr.md5.Sum(sum[:0])
	if encErr == nil && req.ContentMD5 != nil && string(req.ContentMD5) != string(sum[:]) {
		encErr = ErrBadDigest
	}
	for _, o := range outs {
		if encErr != nil {
			o.pw.CloseWithError(encErr)
		} else {
			o.pw.Close()
		}
	}
	if encErr != nil {
		cancel()
	} else {
		// Every byte is sent; give the slowest shards the stall timeout to confirm,
		// then drop those still pending once the write quorum is in, so one slow
		// or partitioned node does not hold the PUT.
		p.awaitQuorum(outs, finished, cancel)
	}
	wg.Wait()
	if encErr != nil {
		return PutResult{}, unwrapShardErr(encErr)
	}

	res := PutResult{MD5: sum, CRC64: hr.crc, Size: hr.n, CipherSize: cipherSize}
	for i, o := range outs {
		if err := o.result(); err != nil {
			res.Missing = append(res.Missing, i)
			res.Faults = append(res.Faults, err)
		}
	}
	if stored := n - len(res.Missing); stored < p.quorum {
		return PutResult{}, fmt.Errorf("%w: stored %d of %d shards, need %d: %w", ErrQuorum, stored, n, p.quorum, errors.Join(res.Faults...))
	}
	return res, nil
}

// awaitQuorum waits for every shard upload to finish (one receive on finished per
// upload), or — once the stall timeout has passed with at least the write quorum
// stored — cancels the rest.
func (p *Pipeline) awaitQuorum(outs []*shardOut, finished <-chan struct{}, cancel context.CancelFunc) {
	deadline := time.NewTimer(p.stall)
	defer deadline.Stop()
	expired := false
	for done := 0; done < len(outs); {
		if expired {
			ok := 0
			for _, o := range outs {
				if o.finished() && o.result() == nil {
					ok++
				}
			}
			if ok >= p.quorum {
				cancel()
				return
			}
		}
		select {
		case <-finished:
			done++
		case <-deadline.C:
			expired = true
		}
	}
}

// unwrapShardErr turns the encoder's report of a failed source read back into the
// reader's own error (a short body, a bad chunk signature) so callers can branch on it.
func unwrapShardErr(err error) error {
	var se *erasure.ShardError
	if errors.As(err, &se) && se.Shard < 0 {
		return se.Err
	}
	return err
}

// errShardDone is what the pipe reports to the encoder once a shard's upload ended.
func errShardDone(err error) error {
	if err == nil {
		return io.ErrClosedPipe
	}
	return err
}

// shardOut is one shard's stream to its node. A write to a failed shard is dropped so
// the encoder carries on for the other shards; the failure is reported by result.
type shardOut struct {
	pw      *io.PipeWriter
	stall   *time.Timer // fires when one write blocks longer than timeout
	timeout time.Duration

	mu     sync.Mutex
	failed bool  // a write failed: drop everything after
	err    error // the upload's outcome, set by finish
	done   bool
}

func (o *shardOut) Write(b []byte) (int, error) {
	o.mu.Lock()
	failed := o.failed
	o.mu.Unlock()
	if failed {
		return len(b), nil
	}
	o.stall.Reset(o.timeout)
	_, err := o.pw.Write(b)
	o.stall.Stop()
	if err != nil {
		o.mu.Lock()
		o.failed = true
		o.mu.Unlock()
	}
	return len(b), nil
}

func (o *shardOut) finish(err error) {
	o.mu.Lock()
	o.err, o.done = err, true
	o.mu.Unlock()
}

func (o *shardOut) finished() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.done
}

func (o *shardOut) result() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.err != nil {
		return o.err
	}
	if o.failed {
		return ErrStalled
	}
	return nil
}
