package node

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// Wire constants of the shard RPC (see the package doc). They are part of the
// protocol between nodes of different builds: never change their meaning.
const (
	// ProtocolHeader carries the protocol version on every request and response.
	ProtocolHeader = "Coffer-Shard-Protocol"
	// ProtocolVersion is the version this build speaks.
	ProtocolVersion = "1"
	// ErrorHeader carries a machine-readable error code on error responses.
	ErrorHeader = "Coffer-Error"
	// ReplaceHeader: "1" on a PUT overwrites an existing shard (healing).
	ReplaceHeader = "Coffer-Replace"
	// SizeHeader carries the stored shard's total size on GET and HEAD responses.
	SizeHeader = "Coffer-Shard-Size"
	// HeaderHeader carries the shard's erasure header (hex) on HEAD responses.
	HeaderHeader = "Coffer-Shard-Header"
	// CreatedHeader carries the shard's commit time (Unix ns) on HEAD responses.
	CreatedHeader = "Coffer-Shard-Created"
	// InlineHeader is "1" on HEAD responses for inline shards.
	InlineHeader = "Coffer-Shard-Inline"

	pathPrefix = "/shard/v1/"
	// pathBytesMax bounds a request path the parser looks at.
	pathBytesMax = 256
)

// Error codes carried in ErrorHeader.
const (
	codeNotFound = "not-found"
	codeExists   = "exists"
	codeReadOnly = "read-only"
	codeTooLarge = "too-large"
	codeInvalid  = "invalid"
	codeCorrupt  = "corrupt"
	codeRange    = "range"
	codeBusy     = "busy"
	codeProtocol = "protocol"
	codeInternal = "internal"
)

// routeKind is what a request path names.
type routeKind int

const (
	routeShard   routeKind = iota + 1 // /shard/v1/{version}/{part}/{index}
	routeVersion                      // /shard/v1/{version}
	routeHealth                       // /shard/v1/health
)

type route struct {
	kind routeKind
	id   ShardID // Version alone for routeVersion
}

// parsePath parses a shard RPC path. Errors wrap ErrInvalid.
func parsePath(p string) (route, error) {
	var rt route
	if len(p) > pathBytesMax {
		return rt, fmt.Errorf("path of %d bytes: %w", len(p), ErrInvalid)
	}
	rest, ok := strings.CutPrefix(p, pathPrefix)
	if !ok {
		return rt, fmt.Errorf("path %q: not under %s: %w", p, pathPrefix, ErrInvalid)
	}
	if rest == "health" {
		return route{kind: routeHealth}, nil
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 1 && len(parts) != 3 {
		return rt, fmt.Errorf("path %q: want version[/part/index]: %w", p, ErrInvalid)
	}
	if len(parts[0]) != 32 {
		return rt, fmt.Errorf("path %q: version must be 32 hex digits: %w", p, ErrInvalid)
	}
	if _, err := hex.Decode(rt.id.Version[:], []byte(parts[0])); err != nil {
		return rt, fmt.Errorf("path %q: version: %w", p, ErrInvalid)
	}
	if len(parts) == 1 {
		rt.kind = routeVersion
		return rt, nil
	}
	part, err := parseDecimal(parts[1], 32)
	if err != nil {
		return rt, fmt.Errorf("path %q: part: %w", p, err)
	}
	index, err := parseDecimal(parts[2], 16)
	if err != nil {
		return rt, fmt.Errorf("path %q: index: %w", p, err)
	}
	rt.kind, rt.id.Part, rt.id.Index = routeShard, uint32(part), uint16(index)
	return rt, nil
}

// parseDecimal parses a canonical unsigned decimal (no sign, no leading zeros).
func parseDecimal(s string, bits int) (uint64, error) {
	if s == "" || len(s) > 1 && s[0] == '0' || s[0] == '+' {
		return 0, fmt.Errorf("number %q: %w", s, ErrInvalid)
	}
	v, err := strconv.ParseUint(s, 10, bits)
	if err != nil {
		return 0, fmt.Errorf("number %q: %w", s, ErrInvalid)
	}
	return v, nil
}

// shardPath is the request path of id.
func shardPath(id ShardID) string {
	return fmt.Sprintf("%s%x/%d/%d", pathPrefix, id.Version[:], id.Part, id.Index)
}

func versionPath(v [16]byte) string { return fmt.Sprintf("%s%x", pathPrefix, v[:]) }

// parseRange parses a single "bytes=a-b" range (both bounds given, inclusive)
// against a stored size and returns offset and length. An empty header means the
// whole shard. A malformed header wraps ErrInvalid; one outside the shard wraps
// ErrRange.
func parseRange(h string, size int64) (off, n int64, err error) {
	if h == "" {
		return 0, size, nil
	}
	spec, ok := strings.CutPrefix(h, "bytes=")
	if !ok {
		return 0, 0, fmt.Errorf("range %q: %w", h, ErrInvalid)
	}
	a, b, ok := strings.Cut(spec, "-")
	if !ok {
		return 0, 0, fmt.Errorf("range %q: %w", h, ErrInvalid)
	}
	first, err1 := parseDecimal(a, 63)
	last, err2 := parseDecimal(b, 63)
	if err1 != nil || err2 != nil || last < first {
		return 0, 0, fmt.Errorf("range %q: %w", h, ErrInvalid)
	}
	if int64(last) >= size {
		return 0, 0, fmt.Errorf("range %q of %d bytes: %w", h, size, ErrRange)
	}
	return int64(first), int64(last-first) + 1, nil
}

// rangeHeader is the Range header for n bytes at off (n > 0).
func rangeHeader(off, n int64) string { return fmt.Sprintf("bytes=%d-%d", off, off+n-1) }
