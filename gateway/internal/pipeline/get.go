package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/coffer-io/coffer/erasure"
	"github.com/coffer-io/coffer/node"
	"github.com/coffer-io/coffer/sse"
)

// GetRequest describes a plaintext byte range of a stored object (or part) to read.
type GetRequest struct {
	VersionID [16]byte
	Part      uint32
	Geometry  erasure.Geometry // the geometry the object was stored with
	// Nodes names the storage node of each shard index; "" marks a shard known to be
	// missing, which is reconstructed from parity without asking any node.
	Nodes     []string
	Key       sse.Key // data key (or part key) of the stream
	PlainSize int64   // plaintext size of the object (or part)
	Off, N    int64   // the plaintext range to read; N == 0 reads nothing
}

// Get writes the plaintext range [Off, Off+N) of the object to w. It reads only the
// stripes covering the range, verifies every block, reconstructs up to m missing or
// corrupt shards, and decrypts only the covering packages. The report lists shard
// faults for healing, also when the read succeeded. On error, bytes already written
// to w are void.
func (p *Pipeline) Get(ctx context.Context, w io.Writer, req GetRequest) (erasure.Report, error) {
	if req.N == 0 {
		return erasure.Report{}, nil
	}
	codec, err := p.codecFor(req.Geometry)
	if err != nil {
		return erasure.Report{}, err
	}
	g := codec.Geometry()
	if len(req.Nodes) != g.TotalShards() {
		return erasure.Report{}, fmt.Errorf("%w: %d nodes for %d shards", ErrInvalid, len(req.Nodes), g.TotalShards())
	}
	rng, err := sse.MapRange(req.PlainSize, req.Off, req.N)
	if err != nil {
		return erasure.Report{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	cipherSize := sse.CiphertextSize(req.PlainSize)
	shardSize := erasure.ShardSize(g, cipherSize)
	start, end := rng.Offset, rng.Offset+rng.Length

	// The stream header is read with the range when the range starts in the first
	// stripe (the common whole-object case), and on its own otherwise.
	var report erasure.Report
	header := make([]byte, sse.HeaderBytes)
	decodeFrom := int64(0)
	if start >= g.StripeSize() {
		src := p.source(ctx, req, shardSize, 0, sse.HeaderBytes)
		var hb headerBuf
		hb.b = header[:0]
		rep, err := codec.Decode(&hb, src.Source, 0, sse.HeaderBytes)
		src.close()
		report.Faults = append(report.Faults, rep.Faults...)
		report.Dropped += rep.Dropped
		if err != nil {
			return report, fmt.Errorf("pipeline: read stream header: %w", err)
		}
		decodeFrom = start
	}

	src := p.source(ctx, req, shardSize, decodeFrom, end)
	defer src.close()
	pr, pw := io.Pipe()
	var wg sync.WaitGroup
	var rep erasure.Report
	wg.Add(1)
	go func() {
		defer wg.Done()
		var err error
		rep, err = codec.Decode(pw, src.Source, decodeFrom, end-decodeFrom)
		pw.CloseWithError(err)
	}()
	copyErr := func() error {
		if decodeFrom == 0 {
			if _, err := io.ReadFull(pr, header); err != nil {
				return err
			}
			if _, err := io.CopyN(io.Discard, pr, start-sse.HeaderBytes); err != nil {
				return err
			}
		}
		dec, err := sse.NewRangeDecrypter(pr, req.Key, header, rng)
		if err != nil {
			return err
		}
		n, err := io.Copy(w, dec)
		if err == nil && n != req.N {
			err = fmt.Errorf("pipeline: decrypted %d bytes, want %d: %w", n, req.N, io.ErrUnexpectedEOF)
		}
		return err
	}()
	pr.CloseWithError(errors.Join(copyErr, io.ErrClosedPipe))
	wg.Wait()
	report.Faults = append(report.Faults, rep.Faults...)
	report.Dropped += rep.Dropped
	return report, copyErr
}

// headerBuf collects the few bytes of the stream header.
type headerBuf struct{ b []byte }

func (h *headerBuf) Write(p []byte) (int, error) {
	if len(h.b)+len(p) > cap(h.b) {
		return 0, fmt.Errorf("pipeline: stream header overflow")
	}
	h.b = append(h.b, p...)
	return len(p), nil
}

// codecFor returns the codec of an object's geometry; erasure.New shares one codec
// per geometry, so objects stored under an older default cost nothing extra.
func (p *Pipeline) codecFor(g erasure.Geometry) (*erasure.Codec, error) {
	if g == p.codec.Geometry() {
		return p.codec, nil
	}
	c, err := erasure.New(g)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return c, nil
}

// readSource is an erasure.Source over shard readers that must be closed.
type readSource struct {
	erasure.Source
	readers []*shardReader
}

func (s *readSource) close() {
	for _, r := range s.readers {
		if r != nil {
			r.close()
		}
	}
}

// source builds the decode source for ciphertext range [from, to): each shard reader
// streams the frames of the covering stripes (plus the shard header) in one request.
func (p *Pipeline) source(ctx context.Context, req GetRequest, shardSize, from, to int64) *readSource {
	g := req.Geometry
	stripe := g.StripeSize()
	lastStripe := (to - 1) / stripe
	begin := erasure.FrameOffset(g, from/stripe)
	end := erasure.FrameOffset(g, lastStripe+1)
	if end > shardSize {
		end = shardSize
	}
	s := &readSource{
		Source: erasure.Source{
			VersionID: req.VersionID,
			Size:      sse.CiphertextSize(req.PlainSize),
			Shards:    make([]io.ReaderAt, len(req.Nodes)),
		},
		readers: make([]*shardReader, len(req.Nodes)),
	}
	for i, nodeID := range req.Nodes {
		if nodeID == "" {
			continue
		}
		r := &shardReader{
			ctx:    ctx,
			shards: p.shards,
			nodeID: nodeID,
			id:     node.ShardID{Version: req.VersionID, Part: req.Part, Index: uint16(i)},
			begin:  begin,
			end:    end,
		}
		s.readers[i] = r
		s.Source.Shards[i] = r
	}
	return s
}

// shardReader is an io.ReaderAt over one remote shard. Reads of the covering frames
// [begin, end) are served from one streaming request that runs to end; reads before
// begin (the shard header) fetch exactly what they ask for, and a jump opens a new
// stream.
type shardReader struct {
	ctx    context.Context
	shards Shards
	nodeID string
	id     node.ShardID
	begin  int64
	end    int64

	mu   sync.Mutex
	body io.ReadCloser // open stream, positioned at pos
	pos  int64
}

func (s *shardReader) ReadAt(b []byte, off int64) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.body != nil && s.pos != off {
		s.closeLocked()
	}
	if s.body == nil {
		to := off + int64(len(b))
		if to >= s.begin && to < s.end {
			to = s.end
		}
		body, err := s.shards.Get(s.ctx, s.nodeID, s.id, off, to-off)
		if err != nil {
			return 0, err
		}
		s.body, s.pos = body, off
	}
	n, err := io.ReadFull(s.body, b)
	s.pos += int64(n)
	if err != nil {
		s.closeLocked()
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
	}
	return n, err
}

func (s *shardReader) closeLocked() {
	if s.body != nil {
		s.body.Close()
		s.body = nil
	}
}

func (s *shardReader) close() {
	s.mu.Lock()
	s.closeLocked()
	s.mu.Unlock()
}
