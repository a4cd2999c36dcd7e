package member

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// Roles a node can advertise (DESIGN.md section 1).
const (
	RoleMeta    = "meta"
	RoleStorage = "storage"
	RoleGateway = "gateway"
)

// Metadata limits.
const (
	// MetaMaxBytes is the largest encoded NodeMeta: memberlist's MetaMaxSize, above
	// which memberlist panics.
	MetaMaxBytes = 512
	// RolesMax is the largest number of roles one node may advertise.
	RolesMax = 8
	// MetaFormat is the version byte that starts every encoded NodeMeta. Never reuse a
	// value for a different layout.
	MetaFormat byte = 1
)

var (
	// ErrMetaTooLarge is returned when a NodeMeta encodes to more than MetaMaxBytes.
	ErrMetaTooLarge = errors.New("member: node metadata too large")
	// ErrBadMeta is returned when a peer's metadata cannot be decoded or is invalid.
	ErrBadMeta = errors.New("member: malformed node metadata")
)

// NodeMeta is what a node advertises about itself in the gossip pool. It is a hint for
// discovery; Raft decides what is authoritative.
type NodeMeta struct {
	// Roles the node runs: RoleMeta, RoleStorage, RoleGateway. Unknown roles from newer
	// versions are kept and ignored.
	Roles []string `json:"r,omitempty"`
	// RPCAddr is the host:port of the shard RPC and internal API.
	RPCAddr string `json:"d,omitempty"`
	// RaftAddr is the host:port of the Raft transport (meta role).
	RaftAddr string `json:"f,omitempty"`
	// APIAddr is the host:port of the public COS/S3 endpoint (gateway role).
	APIAddr string `json:"a,omitempty"`
	// Zone is the failure domain used by placement.
	Zone string `json:"z,omitempty"`
	// ProtocolVersion is the internal protocol version the node speaks.
	ProtocolVersion uint32 `json:"v,omitempty"`
	// Leaving is set by a node that is shutting down on purpose, shortly before it
	// leaves the pool, so peers can tell a planned departure from a failure.
	Leaving bool `json:"l,omitempty"`
}

// HasRole reports whether the node advertises role.
func (m NodeMeta) HasRole(role string) bool { return slices.Contains(m.Roles, role) }

// clone returns a copy that shares no memory with m.
func (m NodeMeta) clone() NodeMeta {
	m.Roles = slices.Clone(m.Roles)
	return m
}

// Encode returns the wire form of m: the byte MetaFormat followed by a JSON object with
// the one-letter keys documented on the fields. It returns ErrMetaTooLarge (wrapped) if
// the result would exceed MetaMaxBytes, and ErrBadMeta for an invalid role list.
func (m NodeMeta) Encode() ([]byte, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	body, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("member: encode metadata: %w", err)
	}
	if 1+len(body) > MetaMaxBytes {
		return nil, fmt.Errorf("%w: %d bytes (max %d)", ErrMetaTooLarge, 1+len(body), MetaMaxBytes)
	}
	return append([]byte{MetaFormat}, body...), nil
}

// DecodeMeta parses a peer's metadata. Any input is an error path, never a panic: a
// missing or unknown format byte, bad JSON, trailing bytes, more than MetaMaxBytes or
// an invalid role list give ErrBadMeta (wrapped). b is not retained.
func DecodeMeta(b []byte) (NodeMeta, error) {
	var m NodeMeta
	switch {
	case len(b) == 0:
		return m, fmt.Errorf("%w: empty", ErrBadMeta)
	case len(b) > MetaMaxBytes:
		return m, fmt.Errorf("%w: %d bytes (max %d)", ErrBadMeta, len(b), MetaMaxBytes)
	case b[0] != MetaFormat:
		return m, fmt.Errorf("%w: format %d (want %d)", ErrBadMeta, b[0], MetaFormat)
	}
	if err := json.Unmarshal(b[1:], &m); err != nil {
		return NodeMeta{}, fmt.Errorf("%w: %v", ErrBadMeta, err)
	}
	if err := m.check(); err != nil {
		return NodeMeta{}, err
	}
	return m, nil
}

func (m NodeMeta) check() error {
	if len(m.Roles) > RolesMax {
		return fmt.Errorf("%w: %d roles (max %d)", ErrBadMeta, len(m.Roles), RolesMax)
	}
	for i, r := range m.Roles {
		if r == "" {
			return fmt.Errorf("%w: role %d is empty", ErrBadMeta, i)
		}
	}
	return nil
}
