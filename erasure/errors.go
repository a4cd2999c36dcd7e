package erasure

import (
	"errors"
	"fmt"
)

// Sentinel errors. Callers branch on them with errors.Is; they are wrapped with
// context (and, for shard faults, a *ShardError naming the shard) before they are
// returned.
var (
	// ErrInvalidGeometry: a Geometry failed Validate (New, AppendBinary, layout
	// helpers).
	ErrInvalidGeometry = errors.New("erasure: invalid geometry")
	// ErrCorrupt marks stored bytes that failed verification: a damaged, truncated or
	// misplaced header, frame or block. Test for it with IsCorrupt.
	ErrCorrupt = errors.New("erasure: corrupt")
	// ErrUnsupportedVersion: a shard header names a format version, hash or code this
	// build cannot read (ParseHeader).
	ErrUnsupportedVersion = errors.New("erasure: unsupported format version")
	// ErrTooFewShards: fewer than k shards of a stripe could be read and verified, so
	// the stripe cannot be decoded (Decode). It is joined with the faults that caused it.
	ErrTooFewShards = errors.New("erasure: too few healthy shards")
	// ErrShardCount: a slice of shards, sources or writers does not have k+m entries,
	// or a shard index is outside [0, k+m).
	ErrShardCount = errors.New("erasure: wrong shard count or index")
	// ErrInvalidRange: a byte range is negative or ends past the object (Decode).
	ErrInvalidRange = errors.New("erasure: invalid range")
	// ErrTooLarge: an object exceeds ObjectSizeMax (Encode).
	ErrTooLarge = errors.New("erasure: object too large")
)

// IsCorrupt reports whether err (or any error it wraps or joins) marks corrupt stored
// data, as opposed to an I/O failure or a bad argument.
func IsCorrupt(err error) bool { return errors.Is(err, ErrCorrupt) }

// Block values of a ShardError that are not block numbers.
const (
	HeaderBlock  int64 = -1 // the fault is in the shard header
	UnknownBlock int64 = -2 // the function that found the fault did not know the block
)

// ShardError is a fault of one shard: a read error or corruption (Err wraps ErrCorrupt)
// of one block or of the header. Shard is -1 when the function that found the fault
// did not know which shard it was looking at (VerifyFrame, ParseHeader); Block is a
// frame number, HeaderBlock or UnknownBlock.
type ShardError struct {
	Shard int   // shard index 0..k+m-1, or -1 if unknown
	Block int64 // frame number within the shard, HeaderBlock or UnknownBlock
	Err   error // the cause; IsCorrupt(Err) for corruption
}

func (e *ShardError) Error() string {
	where := "erasure: "
	if e.Shard >= 0 {
		where += fmt.Sprintf("shard %d ", e.Shard)
	}
	switch {
	case e.Block == HeaderBlock:
		where += "header"
	case e.Block >= 0:
		where += fmt.Sprintf("block %d", e.Block)
	default:
		where += "frame"
	}
	return where + ": " + e.Err.Error()
}

func (e *ShardError) Unwrap() error { return e.Err }

// corruption is the cause inside a ShardError for corrupt data.
type corruption struct{ reason string }

func (c *corruption) Error() string        { return "corrupt: " + c.reason }
func (c *corruption) Is(target error) bool { return target == ErrCorrupt }

// corruptf returns a *ShardError for corrupt data at (shard, block).
func corruptf(shard int, block int64, format string, args ...any) *ShardError {
	return &ShardError{Shard: shard, Block: block, Err: &corruption{reason: fmt.Sprintf(format, args...)}}
}
