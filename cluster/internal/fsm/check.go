package fsm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/cockroachdb/pebble/v2"

	"github.com/coffer-io/coffer/cluster/meta"
)

// ErrInconsistent marks a Check finding: derived state (stats, census, indexes)
// disagrees with the records it is derived from.
var ErrInconsistent = errors.New("fsm: inconsistent state")

// checkFindingsMax bounds the findings Check reports.
const checkFindingsMax = 20

// Check recomputes every derived value — stats, the census, the master-key index and
// the shards index — from the bucket, object, upload, part and garbage records of one
// consistent snapshot, and reports each disagreement (wrapping ErrInconsistent, at
// most checkFindingsMax). It reads the whole database: an operator's fsck and a test
// oracle, not a hot path.
func (f *FSM) Check() error {
	f.mu.RLock()
	if f.h == nil {
		f.mu.RUnlock()
		return ErrClosed
	}
	h := f.h
	h.refs.Add(1) // a concurrent Restore must not close the database under the scan
	snap := h.db.NewSnapshot()
	f.mu.RUnlock()
	defer h.unref()
	defer snap.Close()
	it, err := snap.NewIter(&pebble.IterOptions{LowerBound: []byte{pSingle}, UpperBound: []byte{pEnd}})
	if err != nil {
		return fmt.Errorf("fsm: check: %w", err)
	}
	c := newChecker()
	for ok := it.First(); ok && len(c.findings) < checkFindingsMax; ok = it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			it.Close()
			return fmt.Errorf("fsm: check: %w", err)
		}
		c.visit(it.Key(), v)
	}
	if err := errors.Join(it.Error(), it.Close()); err != nil {
		return fmt.Errorf("fsm: check: %w", err)
	}
	c.finish()
	return errors.Join(c.findings...)
}

type checker struct {
	findings []error

	stats, want meta.Stats
	gcSeq       uint64
	maxSeq      uint64
	buckets     map[string]bool
	census      map[uint32]uint64
	wantCensus  map[uint32]uint64
	mk          map[string]bool // master-key index keys present
	wantMK      map[string]bool
	shards      map[meta.ID]string // shards index: id -> value
	wantShards  map[meta.ID]string
	uploads     map[string]*meta.Upload // by upload key
}

func newChecker() *checker {
	return &checker{
		buckets: map[string]bool{}, census: map[uint32]uint64{}, wantCensus: map[uint32]uint64{},
		mk: map[string]bool{}, wantMK: map[string]bool{}, shards: map[meta.ID]string{}, wantShards: map[meta.ID]string{},
		uploads: map[string]*meta.Upload{},
	}
}

func (c *checker) addf(format string, args ...any) {
	c.findings = append(c.findings, fmt.Errorf("%w: "+format, append([]any{ErrInconsistent}, args...)...))
}

// visit sees every key in order; buckets (0x01) precede objects (0x02), which precede
// uploads (0x03) and parts (0x04), which the checks below rely on.
func (c *checker) visit(k, v []byte) {
	switch k[0] {
	case pSingle:
		switch {
		case bytes.Equal(k, kStats):
			if err := decodeRecord(v, &c.stats); err != nil {
				c.addf("stats: %v", err)
			}
		case bytes.Equal(k, kGCSeq):
			c.gcSeq = u64(v)
		}
	case pBucket:
		c.buckets[string(k[1:])] = true
		c.want.Buckets++
	case pObject:
		ver, err := decodeVersion(v)
		if err != nil {
			c.addf("object %q: %v", k, err)
			return
		}
		if !bytes.Equal(k, objectKey(ver.Bucket, ver.Key)) {
			c.addf("object %q stored under the wrong key", k)
		}
		if !c.buckets[ver.Bucket] {
			c.addf("object %s/%s in a missing bucket", ver.Bucket, ver.Key)
		}
		c.want.Objects++
		c.want.Bytes += ver.Size
		if ver.SSE.Mode.UsesMasterKey() {
			c.wantCensus[ver.SSE.MasterKeyVersion]++
			c.wantMK[string(mkKey(ver.SSE.MasterKeyVersion, kindObject, ver.Bucket, ver.Key, ver.VersionID))] = true
		}
		for _, set := range ver.ShardSets() {
			c.wantShards[set.ShardsID] = string(encodeShardsRef(kindObject, set.Part, ver.Bucket, ver.Key, ver.VersionID))
		}
	case pUpload:
		var u meta.Upload
		if err := decodeRecord(v, &u); err != nil {
			c.addf("upload %q: %v", k, err)
			return
		}
		if !c.buckets[u.Bucket] {
			c.addf("upload %s in a missing bucket", u.UploadID)
		}
		if !bytes.Equal(k, uploadKey(u.Bucket, u.Key, u.UploadID)) {
			c.addf("upload %q stored under the wrong key", k)
		}
		c.uploads[string(k)] = &u
		c.want.Uploads++
		if u.SSE.Mode.UsesMasterKey() {
			c.wantCensus[u.SSE.MasterKeyVersion]++
			c.wantMK[string(mkKey(u.SSE.MasterKeyVersion, kindUpload, u.Bucket, u.Key, u.UploadID))] = true
		}
	case pPart:
		var p meta.Part
		if err := decodeRecord(v, &p); err != nil || len(k) < 1+2+16+4 {
			c.addf("part %q: %v", k, err)
			return
		}
		u := c.uploads[string(append([]byte{pUpload}, k[1:len(k)-4]...))]
		if u == nil {
			c.addf("part %d without its upload (%q)", p.Number, k)
			return
		}
		if int(binary.BigEndian.Uint32(k[len(k)-4:])) != p.Number {
			c.addf("part %d stored under %q", p.Number, k)
		}
		c.wantShards[p.ShardsID] = string(encodeShardsRef(kindUpload, p.Number, u.Bucket, u.Key, u.UploadID))
	case pCensus:
		if len(k) == 5 {
			c.census[binary.BigEndian.Uint32(k[1:])] = u64(v)
		}
	case pGarbage:
		c.want.Garbage++
		c.maxSeq = max(c.maxSeq, u64(k[1:]))
	case pMKIndex:
		c.mk[string(k)] = true
	case pShards:
		var id meta.ID
		copy(id[:], k[1:])
		c.shards[id] = string(v)
	}
}

func (c *checker) finish() {
	if c.stats != c.want {
		c.addf("stats %+v, records say %+v", c.stats, c.want)
	}
	if c.gcSeq < c.maxSeq {
		c.addf("garbage sequence %d below queued %d", c.gcSeq, c.maxSeq)
	}
	if !maps.Equal(c.census, c.wantCensus) {
		c.addf("census %v, records say %v", c.census, c.wantCensus)
	}
	for _, k := range sortedDiff(c.mk, c.wantMK) {
		c.addf("master-key index entry %q present=%v, expected=%v", k, c.mk[k], c.wantMK[k])
	}
	for id, v := range c.wantShards {
		if c.shards[id] != v {
			c.addf("shards index for %s is %q, want %q", id, c.shards[id], v)
		}
	}
	for id := range c.shards {
		if _, ok := c.wantShards[id]; !ok {
			c.addf("shards index holds unreferenced %s", id)
		}
	}
}

// sortedDiff returns the keys present in exactly one of a and b, sorted.
func sortedDiff(a, b map[string]bool) []string {
	var out []string
	for k := range a {
		if !b[k] {
			out = append(out, k)
		}
	}
	for k := range b {
		if !a[k] {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}
