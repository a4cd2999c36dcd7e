package fsm

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/coffer-io/coffer/cluster/meta"
)

// recordVersion is the version byte in front of every stored record.
const recordVersion = 1

// ErrCorrupt marks a stored value that fails to decode. Reads return it wrapped; it
// means the database was damaged, not that the caller erred.
var ErrCorrupt = errors.New("fsm: corrupt stored value")

func encodeRecord(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("fsm: encode record: %w", err)
	}
	out := make([]byte, 0, 1+len(b))
	out = append(out, recordVersion)
	return append(out, b...), nil
}

func decodeRecord(b []byte, v any) error {
	if len(b) < 1 || b[0] != recordVersion {
		return fmt.Errorf("%w: record version", ErrCorrupt)
	}
	if err := json.Unmarshal(b[1:], v); err != nil {
		return fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return nil
}

// objectValueVersion is the version byte of an object value.
const objectValueVersion = 2

// encodeVersion builds an object value: summary header then meta.AppendVersion.
func encodeVersion(v *meta.Version) ([]byte, error) {
	out := make([]byte, 0, 256+len(v.Parts)*128)
	out = append(out, objectValueVersion)
	out = binary.AppendUvarint(out, uint64(v.Size))
	out = binary.AppendVarint(out, v.Created)
	out = appendString(out, v.ETag)
	out = appendString(out, v.Owner)
	out = appendString(out, v.StorageClass)
	return meta.AppendVersion(out, v), nil
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// summary is the header of an object value; the byte slices alias the value.
type summary struct {
	size    int64
	created int64
	etag    []byte
	owner   []byte
	class   []byte
	rest    []byte // the binary record
}

func decodeSummary(b []byte) (summary, error) {
	var s summary
	if len(b) < 1 || b[0] != objectValueVersion {
		return s, fmt.Errorf("%w: object value version", ErrCorrupt)
	}
	b = b[1:]
	size, n := binary.Uvarint(b)
	if n <= 0 || size > 1<<62 {
		return s, fmt.Errorf("%w: object size", ErrCorrupt)
	}
	b = b[n:]
	created, n := binary.Varint(b)
	if n <= 0 {
		return s, fmt.Errorf("%w: object time", ErrCorrupt)
	}
	b = b[n:]
	s.size, s.created = int64(size), created
	for _, dst := range []*[]byte{&s.etag, &s.owner, &s.class} {
		l, n := binary.Uvarint(b)
		if n <= 0 || l > uint64(len(b)-n) {
			return s, fmt.Errorf("%w: object summary string", ErrCorrupt)
		}
		*dst = b[n : n+int(l)]
		b = b[n+int(l):]
	}
	s.rest = b
	return s, nil
}

func decodeVersion(b []byte) (*meta.Version, error) {
	s, err := decodeSummary(b)
	if err != nil {
		return nil, err
	}
	v, rest, err := meta.DecodeVersion(s.rest)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: %d bytes after version record", ErrCorrupt, len(rest))
	}
	return v, nil
}

func u64(b []byte) uint64 {
	if len(b) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

func be64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }
