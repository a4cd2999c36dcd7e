package sse

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"time"
)

// KeyState is the life-cycle state of a master-key version.
type KeyState uint8

// Master-key states (DESIGN.md 6.3). A version is active (seals new DEKs; exactly one
// is), decrypt-only (unseals existing DEKs until the re-wrap job has moved them), or
// retired (its material is erased; nothing it sealed can be read).
const (
	StateActive      KeyState = 1
	StateDecryptOnly KeyState = 2
	StateRetired     KeyState = 3
)

func (s KeyState) String() string {
	switch s {
	case StateActive:
		return "active"
	case StateDecryptOnly:
		return "decrypt-only"
	case StateRetired:
		return "retired"
	}
	return fmt.Sprintf("KeyState(%d)", uint8(s))
}

// RingVersionsMax bounds the versions a ring keeps, retired ones included.
const RingVersionsMax = 4096

// ringSecondsMax bounds creation times to ±2^40 s around 1970 (±34,000 years), so they
// survive encoding without overflow.
const ringSecondsMax = 1 << 40

// MasterKey describes one master-key version; it never holds key material.
type MasterKey struct {
	Version uint32
	State   KeyState
	// Created is the time the version was made, as passed to NewRing or Rotate (UTC).
	Created time.Time
}

// ringKey is a version and its material sealed by the root key: nonce ‖ ciphertext ‖
// tag, or nil once retired.
type ringKey struct {
	MasterKey
	sealed []byte
}

// Ring is the master-key ring of SSE-COS (and of objects stored without SSE): its
// versions in increasing order, the last one active. A Ring is immutable; NewRing,
// Rotate, Retire, Reseal and ParseRing return new values, so a *Ring may be shared
// between goroutines. The material of every version is sealed with AES-256-GCM by the
// root key, with the version number in the additional data, so the encoding can live
// in Raft without exposing a key. Nothing here reads the clock. The zero Ring is not
// usable: make one with NewRing or ParseRing.
type Ring struct {
	keys []ringKey
}

const (
	ringFormat      = 1
	ringSealedBytes = nonceBytes + KeyBytes + TagBytes
	ringEntryBytes  = 4 + 1 + 8 + 4 + 1 // version, state, seconds, nanoseconds, sealed length
)

var ringMagic = [4]byte{'C', 'F', 'M', 'R'}

// NewRing returns a ring whose only version, 1, is active and holds material. It fails
// with ErrRing when now is more than 2^40 seconds away from 1970.
func NewRing(rand io.Reader, root, material Key, now time.Time) (*Ring, error) {
	k, err := sealRingKey(rand, &root, &material, MasterKey{Version: 1, State: StateActive, Created: now.UTC()})
	if err != nil {
		return nil, err
	}
	return &Ring{keys: []ringKey{k}}, nil
}

func ringAAD(version uint32) []byte {
	aad := append(ringMagic[:len(ringMagic):len(ringMagic)], ringFormat)
	return binary.BigEndian.AppendUint32(aad, version)
}

func sealRingKey(rand io.Reader, root, material *Key, mk MasterKey) (ringKey, error) {
	if s := mk.Created.Unix(); s <= -ringSecondsMax || s >= ringSecondsMax {
		return ringKey{}, fmt.Errorf("%w: creation time %d s out of range", ErrRing, s)
	}
	sealed := make([]byte, nonceBytes, ringSealedBytes)
	if _, err := io.ReadFull(rand, sealed); err != nil {
		return ringKey{}, fmt.Errorf("sse: seal master key: %w", err)
	}
	sealed = newGCM(root).Seal(sealed, sealed[:nonceBytes], material[:], ringAAD(mk.Version))
	return ringKey{MasterKey: mk, sealed: sealed}, nil
}

// Active describes the active version, the one that seals new data keys.
func (r *Ring) Active() MasterKey { return r.keys[len(r.keys)-1].MasterKey }

// Versions describes every version, oldest first. The slice is the caller's.
func (r *Ring) Versions() []MasterKey {
	out := make([]MasterKey, len(r.keys))
	for i, k := range r.keys {
		out[i] = k.MasterKey
	}
	return out
}

func (r *Ring) find(version uint32) (int, error) {
	lo, hi := 0, len(r.keys)
	for lo < hi {
		mid := (lo + hi) / 2
		switch v := r.keys[mid].Version; {
		case v == version:
			return mid, nil
		case v < version:
			lo = mid + 1
		default:
			hi = mid
		}
	}
	return 0, fmt.Errorf("%w: %d", ErrKeyVersion, version)
}

// Unseal returns the material of version under root. It fails with ErrKeyVersion,
// ErrKeyRetired, or ErrAuth when root is not the ring's root key.
func (r *Ring) Unseal(root Key, version uint32) (Key, error) {
	i, err := r.find(version)
	if err != nil {
		return Key{}, err
	}
	return r.keys[i].open(&root)
}

func (k *ringKey) open(root *Key) (Key, error) {
	if k.State == StateRetired {
		return Key{}, fmt.Errorf("%w: %d", ErrKeyRetired, k.Version)
	}
	var material Key
	if _, err := newGCM(root).Open(material[:0], k.sealed[:nonceBytes], k.sealed[nonceBytes:], ringAAD(k.Version)); err != nil {
		return Key{}, fmt.Errorf("sse: master key %d: %w", k.Version, ErrAuth)
	}
	return material, nil
}

// Rotate returns a ring with a new active version (the highest plus one) holding
// material; the previous active version becomes decrypt-only. It first checks that root
// opens the active version, so a ring never mixes root keys (ErrAuth otherwise). It
// fails with ErrKeyState when the ring is full and ErrRing on a time out of range.
func (r *Ring) Rotate(rand io.Reader, root, material Key, now time.Time) (*Ring, error) {
	active := r.keys[len(r.keys)-1]
	if _, err := active.open(&root); err != nil {
		return nil, err
	}
	if len(r.keys) >= RingVersionsMax || active.Version == math.MaxUint32 {
		return nil, fmt.Errorf("%w: ring holds %d versions up to %d", ErrKeyState, len(r.keys), active.Version)
	}
	k, err := sealRingKey(rand, &root, &material, MasterKey{Version: active.Version + 1, State: StateActive, Created: now.UTC()})
	if err != nil {
		return nil, err
	}
	keys := make([]ringKey, len(r.keys), len(r.keys)+1)
	copy(keys, r.keys)
	keys[len(keys)-1].State = StateDecryptOnly
	return &Ring{keys: append(keys, k)}, nil
}

// Retire returns a ring in which version, which must be decrypt-only, is retired and its
// sealed material erased. It fails with ErrKeyVersion or ErrKeyState.
func (r *Ring) Retire(version uint32) (*Ring, error) {
	i, err := r.find(version)
	if err != nil {
		return nil, err
	}
	if s := r.keys[i].State; s != StateDecryptOnly {
		return nil, fmt.Errorf("%w: version %d is %s, only decrypt-only versions retire", ErrKeyState, version, s)
	}
	keys := append([]ringKey(nil), r.keys...)
	keys[i].State, keys[i].sealed = StateRetired, nil
	return &Ring{keys: keys}, nil
}

// Reseal returns the ring with every live version's material sealed again, from oldRoot
// to newRoot (root-key rotation). It fails with ErrAuth when oldRoot is wrong.
func (r *Ring) Reseal(rand io.Reader, oldRoot, newRoot Key) (*Ring, error) {
	keys := make([]ringKey, len(r.keys))
	for i, k := range r.keys {
		if k.State == StateRetired {
			keys[i] = k
			continue
		}
		material, err := k.open(&oldRoot)
		if err != nil {
			return nil, err
		}
		keys[i], err = sealRingKey(rand, &newRoot, &material, k.MasterKey)
		if err != nil {
			return nil, err
		}
	}
	return &Ring{keys: keys}, nil
}

// MarshalBinary encodes the ring for storage (FORMAT.md):
//
//	"CFMR" ‖ 0x01 ‖ u32 count ‖ count × (u32 version ‖ u8 state ‖ i64 unix seconds ‖
//	u32 nanoseconds ‖ u8 sealed length (0 or 60) ‖ sealed)
//
// all integers big-endian.
func (r *Ring) MarshalBinary() ([]byte, error) {
	out := make([]byte, 0, 9+len(r.keys)*(ringEntryBytes+ringSealedBytes))
	out = append(append(out, ringMagic[:]...), ringFormat)
	out = binary.BigEndian.AppendUint32(out, uint32(len(r.keys)))
	for _, k := range r.keys {
		out = binary.BigEndian.AppendUint32(out, k.Version)
		out = append(out, byte(k.State))
		out = binary.BigEndian.AppendUint64(out, uint64(k.Created.Unix()))
		out = binary.BigEndian.AppendUint32(out, uint32(k.Created.Nanosecond()))
		out = append(out, byte(len(k.sealed)))
		out = append(out, k.sealed...)
	}
	return out, nil
}

// ParseRing decodes a ring encoded by MarshalBinary. It does not retain b. It fails with
// ErrVersion on an unknown format and ErrRing on anything malformed or breaking the
// ring's invariants: 1..RingVersionsMax versions in increasing order, the last and only
// the last active, material present exactly for the versions that are not retired.
func ParseRing(b []byte) (*Ring, error) {
	if len(b) < 9 || [4]byte(b[:4]) != ringMagic {
		return nil, fmt.Errorf("%w: bad magic or %d bytes", ErrRing, len(b))
	}
	if b[4] != ringFormat {
		return nil, fmt.Errorf("%w: ring format %d", ErrVersion, b[4])
	}
	count := binary.BigEndian.Uint32(b[5:9])
	b = b[9:]
	if count == 0 || count > RingVersionsMax || uint64(count)*ringEntryBytes > uint64(len(b)) {
		return nil, fmt.Errorf("%w: %d versions in %d bytes", ErrRing, count, len(b))
	}
	keys := make([]ringKey, count)
	for i := range keys {
		if len(b) < ringEntryBytes {
			return nil, fmt.Errorf("%w: entry %d truncated", ErrRing, i)
		}
		k := &keys[i]
		k.Version = binary.BigEndian.Uint32(b[0:4])
		k.State = KeyState(b[4])
		sec := int64(binary.BigEndian.Uint64(b[5:13]))
		nsec := binary.BigEndian.Uint32(b[13:17])
		n := int(b[17])
		b = b[ringEntryBytes:]
		last := i == len(keys)-1
		switch {
		case k.Version == 0 || i > 0 && k.Version <= keys[i-1].Version:
			return nil, fmt.Errorf("%w: version %d out of order", ErrRing, k.Version)
		case nsec >= 1e9 || sec <= -ringSecondsMax || sec >= ringSecondsMax:
			return nil, fmt.Errorf("%w: version %d: bad time", ErrRing, k.Version)
		case last != (k.State == StateActive) || k.State != StateActive && k.State != StateDecryptOnly && k.State != StateRetired:
			return nil, fmt.Errorf("%w: version %d in state %s", ErrRing, k.Version, k.State)
		case k.State == StateRetired && n != 0 || k.State != StateRetired && n != ringSealedBytes:
			return nil, fmt.Errorf("%w: version %d: %d bytes of material", ErrRing, k.Version, n)
		case len(b) < n:
			return nil, fmt.Errorf("%w: version %d truncated", ErrRing, k.Version)
		}
		k.Created = time.Unix(sec, int64(nsec)).UTC()
		if n > 0 {
			k.sealed = append([]byte(nil), b[:n]...)
		}
		b = b[n:]
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrRing, len(b))
	}
	return &Ring{keys: keys}, nil
}
