package meta

import (
	"encoding/hex"
	"errors"
	"fmt"
	"unicode/utf8"
)

// ID is a 16-byte identifier: object version ids, upload ids, request ids and the ids
// under which a set of shards was written. It encodes as 32 lowercase hex characters in
// JSON and in String.
type ID [16]byte

// String returns the id as 32 lowercase hex characters.
func (id ID) String() string { return hex.EncodeToString(id[:]) }

// IsZero reports whether every byte of the id is zero.
func (id ID) IsZero() bool { return id == ID{} }

// MarshalText implements encoding.TextMarshaler.
func (id ID) MarshalText() ([]byte, error) {
	out := make([]byte, 32)
	hex.Encode(out, id[:])
	return out, nil
}

// UnmarshalText implements encoding.TextUnmarshaler; it accepts exactly 32 hex digits.
func (id *ID) UnmarshalText(b []byte) error {
	if len(b) != 32 {
		return fmt.Errorf("meta: id must be 32 hex digits, got %d bytes", len(b))
	}
	var tmp ID
	if _, err := hex.Decode(tmp[:], b); err != nil {
		return fmt.Errorf("meta: bad id: %w", err)
	}
	*id = tmp
	return nil
}

// ParseID parses 32 hex digits into an ID.
func ParseID(s string) (ID, error) {
	var id ID
	err := id.UnmarshalText([]byte(s))
	return id, err
}

// Limits enforced by Validate. Units are in the names.
const (
	// BucketNameBytesMax bounds a bucket name ("name-appid" in COS).
	BucketNameBytesMax = 63
	// KeyBytesMax bounds an object key (COS allows 850 UTF-8 bytes; S3 1024).
	KeyBytesMax = 1024
	// UserMetaBytesMax bounds the sum of user metadata names and values (COS: 2 KB).
	UserMetaBytesMax = 2048
	// PartNumberMax is the largest part number of a multipart upload.
	PartNumberMax = 10000
	// ShardsMax bounds k+m of an erasure layout (Reed–Solomon over GF(2^8)).
	ShardsMax = 256
	// ListEntriesMax caps the entries (objects plus common prefixes, uploads, parts)
	// one list call returns; it is also the default.
	ListEntriesMax = 1000
	// BatchItemsMax bounds the items in one Rewrap or RemoveGarbage command.
	BatchItemsMax = 1000
	// StorageNodesMax bounds the storage nodes of a layout.
	StorageNodesMax = 4096
	// CommandBytesMax bounds an encoded command (one Raft log entry).
	CommandBytesMax = 4 << 20
	// SealedBytesMax bounds any sealed blob (DEK, ring, CMK material, secret).
	SealedBytesMax = 64 << 10
)

// SSEMode names how an object's data key is protected (DESIGN.md section 6.1).
type SSEMode string

// The SSE modes. ModeNone still encrypts at rest under the master-key ring; the API
// reports it as unencrypted.
const (
	ModeNone   SSEMode = "none"
	ModeSSECOS SSEMode = "sse-cos"
	ModeSSEKMS SSEMode = "sse-kms"
	ModeSSEC   SSEMode = "sse-c"
)

// Valid reports whether m is one of the four modes.
func (m SSEMode) Valid() bool {
	switch m {
	case ModeNone, ModeSSECOS, ModeSSEKMS, ModeSSEC:
		return true
	}
	return false
}

// UsesMasterKey reports whether a DEK under mode m is sealed by the master-key ring
// and therefore counted in the census.
func (m SSEMode) UsesMasterKey() bool { return m == ModeNone || m == ModeSSECOS }

// Grant is one entry of an access control list.
type Grant struct {
	// GranteeType is "CanonicalUser", "RootAccount" or "Group".
	GranteeType string `json:"type"`
	// Grantee is the user id (qcs::cam::uin/...) or the group URI.
	Grantee string `json:"grantee"`
	// Permission is READ, WRITE, READ_ACP, WRITE_ACP or FULL_CONTROL.
	Permission string `json:"perm"`
}

// ACL is a canned ACL plus explicit grants (cos-api.md section 5.11).
type ACL struct {
	// Canned is the x-cos-acl value ("private", "public-read", "default", ...); empty
	// means private for buckets and "default" (inherit) for objects.
	Canned string `json:"canned,omitempty"`
	// Grants are explicit grants, in request order.
	Grants []Grant `json:"grants,omitempty"`
}

// BucketEncryption is a bucket's default encryption, applied when a PUT names none.
type BucketEncryption struct {
	// Mode is ModeSSECOS or ModeSSEKMS; empty means no default.
	Mode SSEMode `json:"mode,omitempty"`
	// CMKID is the KMS key for ModeSSEKMS; empty selects the default CMK.
	CMKID string `json:"cmk,omitempty"`
}

// SSECPolicy says whether a bucket accepts SSE-C writes.
type SSECPolicy string

// SSE-C policies. The empty value means SSECAllowed.
const (
	SSECAllowed SSECPolicy = "allowed"
	SSECBlocked SSECPolicy = "blocked"
)

// Bucket is a bucket record.
type Bucket struct {
	// Name is the bucket name as addressed ("name-appid").
	Name string `json:"name"`
	// Owner is the owning user's id (APPID/uid).
	Owner string `json:"owner"`
	// ACL is the bucket ACL.
	ACL ACL `json:"acl"`
	// Encryption is the default encryption; zero means none.
	Encryption BucketEncryption `json:"enc"`
	// SSEC is the SSE-C policy; empty means allowed.
	SSEC SSECPolicy `json:"ssec,omitempty"`
	// Created is the creation time in unix nanoseconds, chosen by the caller.
	Created int64 `json:"created"`
}

// Layout is the erasure layout of one stored shard set (a whole object or one part).
type Layout struct {
	// K is the number of data shards.
	K int `json:"k"`
	// M is the number of parity shards.
	M int `json:"m"`
	// BlockBytes is the shard block size B.
	BlockBytes int `json:"b"`
	// Nodes holds the storage node id per shard index; len(Nodes) == K+M.
	Nodes []string `json:"nodes"`
	// Missing lists shard indexes that were never stored (write quorum met without
	// them) or were lost; healing restores them.
	Missing []int `json:"missing,omitempty"`
	// Epoch counts layout changes (healing); UpdateLayout compares it.
	Epoch uint64 `json:"epoch"`
}

// Validate checks k, m, block size, node count and missing indexes.
func (l *Layout) Validate() error {
	var errs []error
	if l.K < 1 || l.M < 0 || l.K+l.M > ShardsMax {
		errs = append(errs, fmt.Errorf("layout k=%d m=%d out of range", l.K, l.M))
	}
	if l.BlockBytes <= 0 {
		errs = append(errs, fmt.Errorf("layout block size %d", l.BlockBytes))
	}
	if len(l.Nodes) != l.K+l.M {
		errs = append(errs, fmt.Errorf("layout has %d nodes, want k+m=%d", len(l.Nodes), l.K+l.M))
	}
	seen := map[int]bool{}
	for _, i := range l.Missing {
		if i < 0 || i >= l.K+l.M || seen[i] {
			errs = append(errs, fmt.Errorf("layout missing index %d invalid", i))
			continue
		}
		seen[i] = true
	}
	if len(l.Missing) > l.M {
		errs = append(errs, fmt.Errorf("layout misses %d shards, more than m=%d", len(l.Missing), l.M))
	}
	return errors.Join(errs...)
}

// Shards returns the locations of the shards this layout holds (all indexes except
// Missing), in index order.
func (l *Layout) Shards() []ShardLoc {
	missing := map[int]bool{}
	for _, i := range l.Missing {
		missing[i] = true
	}
	out := make([]ShardLoc, 0, len(l.Nodes))
	for i, n := range l.Nodes {
		if !missing[i] {
			out = append(out, ShardLoc{Index: i, Node: n})
		}
	}
	return out
}

// ShardLoc names one shard: its index in the shard set and the node holding it.
type ShardLoc struct {
	// Index is the shard index, 0 ≤ Index < k+m.
	Index int `json:"i"`
	// Node is the storage node id.
	Node string `json:"node"`
}

// SSE is the key record of one object version or upload.
type SSE struct {
	// Mode is how the DEK is protected.
	Mode SSEMode `json:"mode"`
	// SealedDEK is the data key sealed per Mode (opaque here).
	SealedDEK []byte `json:"dek"`
	// MasterKeyVersion is the ring version that sealed the DEK (ModeNone, ModeSSECOS).
	MasterKeyVersion uint32 `json:"mkv,omitempty"`
	// CMKID is the KMS key that sealed the DEK (ModeSSEKMS).
	CMKID string `json:"cmk,omitempty"`
	// Context is the KMS encryption context as sent by the client (ModeSSEKMS).
	Context string `json:"ctx,omitempty"`
	// CustomerSalt is the salt of the SSE-C key derivation (ModeSSEC).
	CustomerSalt []byte `json:"salt,omitempty"`
	// CustomerHMAC is HMAC-SHA256(customer key, salt) (ModeSSEC); never the key.
	CustomerHMAC []byte `json:"hmac,omitempty"`
}

func (s *SSE) validate() error {
	var errs []error
	if !s.Mode.Valid() {
		errs = append(errs, fmt.Errorf("sse mode %q", s.Mode))
	}
	if len(s.SealedDEK) == 0 || len(s.SealedDEK) > SealedBytesMax {
		errs = append(errs, fmt.Errorf("sealed dek of %d bytes", len(s.SealedDEK)))
	}
	if s.Mode == ModeSSEKMS && s.CMKID == "" {
		errs = append(errs, errors.New("sse-kms without cmk id"))
	}
	if s.Mode == ModeSSEC && (len(s.CustomerSalt) == 0 || len(s.CustomerHMAC) == 0) {
		errs = append(errs, errors.New("sse-c without salt and hmac"))
	}
	return errors.Join(errs...)
}

// Stream describes the encrypted stream of a shard set (sse format, DESIGN.md 5.1).
type Stream struct {
	// Format is the sse stream format version.
	Format uint16 `json:"fmt"`
	// NoncePrefix is the random nonce prefix of this object or part (4 bytes today).
	NoncePrefix []byte `json:"np"`
	// CipherBytes is the ciphertext length the shards encode.
	CipherBytes int64 `json:"cb"`
}

// ContentHeaders are the stored content headers echoed on GET and HEAD.
type ContentHeaders struct {
	CacheControl       string `json:"cc,omitempty"`
	ContentDisposition string `json:"cd,omitempty"`
	ContentEncoding    string `json:"ce,omitempty"`
	ContentLanguage    string `json:"cl,omitempty"`
	Expires            string `json:"ex,omitempty"`
}

// PartEntry is one part of a completed multipart object, in object order.
type PartEntry struct {
	// Number is the part number given by the client.
	Number int `json:"n"`
	// ShardsID is the id the part's shards were written under.
	ShardsID ID `json:"sid"`
	// Size is the plaintext size of the part.
	Size int64 `json:"size"`
	// ETag is the part's ETag (hex MD5 as the gateway stores it).
	ETag string `json:"etag"`
	// CRC64 is CRC-64/ECMA of the part's plaintext.
	CRC64 uint64 `json:"crc"`
	// Layout is the part's own erasure layout.
	Layout Layout `json:"layout"`
	// Stream is the part's encrypted stream info (its own nonce prefix).
	Stream Stream `json:"stream"`
}

// Version is the record of one object version (DESIGN.md section 4).
type Version struct {
	// Bucket and Key name the object.
	Bucket string `json:"bucket"`
	Key    string `json:"key"`
	// VersionID identifies this version; for a simple object it is also the id its
	// shards were written under.
	VersionID ID `json:"vid"`
	// Size is the plaintext size.
	Size int64 `json:"size"`
	// ETag is the ETag as the gateway serves it, without quotes.
	ETag string `json:"etag"`
	// CRC64 is CRC-64/ECMA of the whole plaintext.
	CRC64 uint64 `json:"crc"`
	// ContentType is the stored Content-Type.
	ContentType string `json:"ct,omitempty"`
	// Headers are the other stored content headers.
	Headers ContentHeaders `json:"hdr"`
	// UserMeta holds x-cos-meta-* values keyed by the lowercase suffix.
	UserMeta map[string]string `json:"um,omitempty"`
	// StorageClass is the x-cos-storage-class; empty means STANDARD.
	StorageClass string `json:"sc,omitempty"`
	// Created is the last-modified time in unix nanoseconds, chosen by the caller.
	Created int64 `json:"created"`
	// Owner is the owner's user id.
	Owner string `json:"owner"`
	// ACL is the object ACL.
	ACL ACL `json:"acl"`
	// Layout is the erasure layout of a simple object; zero for multipart objects.
	Layout Layout `json:"layout"`
	// Stream is the encrypted stream info of a simple object.
	Stream Stream `json:"stream"`
	// SSE is the key record.
	SSE SSE `json:"sse"`
	// Parts is the part table of a multipart object, in object order; empty for simple
	// objects.
	Parts []PartEntry `json:"parts,omitempty"`
}

// IsMultipart reports whether v was assembled from parts.
func (v *Version) IsMultipart() bool { return len(v.Parts) > 0 }

// ShardSets returns every shard set of v: the object itself or each part.
func (v *Version) ShardSets() []GarbagePiece {
	if !v.IsMultipart() {
		return []GarbagePiece{{ShardsID: v.VersionID, Shards: v.Layout.Shards()}}
	}
	out := make([]GarbagePiece, 0, len(v.Parts))
	for i := range v.Parts {
		p := &v.Parts[i]
		out = append(out, GarbagePiece{ShardsID: p.ShardsID, Part: p.Number, Shards: p.Layout.Shards()})
	}
	return out
}

// Validate checks a version submitted for commit (multipart versions are built by
// the state machine from the upload and are not passed here).
func (v *Version) Validate() error {
	errs := []error{ValidateBucketName(v.Bucket), ValidateKey(v.Key)}
	if v.VersionID.IsZero() {
		errs = append(errs, errors.New("zero version id"))
	}
	if v.Size < 0 {
		errs = append(errs, fmt.Errorf("negative size %d", v.Size))
	}
	errs = append(errs, validateUserMeta(v.UserMeta), v.SSE.validate())
	if len(v.Parts) == 0 {
		errs = append(errs, v.Layout.Validate())
	}
	return errors.Join(errs...)
}

// Upload is an in-progress multipart upload.
type Upload struct {
	// UploadID identifies the upload (chosen by the gateway, random).
	UploadID ID `json:"uid"`
	// Bucket and Key name the target object.
	Bucket string `json:"bucket"`
	Key    string `json:"key"`
	// Initiated is the initiation time in unix nanoseconds.
	Initiated int64 `json:"init"`
	// Owner is the initiator's user id.
	Owner string `json:"owner"`
	// SSE is the key record; all parts use keys derived from its DEK.
	SSE SSE `json:"sse"`
	// ContentType, Headers, UserMeta, StorageClass and ACL become the object's.
	ContentType  string            `json:"ct,omitempty"`
	Headers      ContentHeaders    `json:"hdr"`
	UserMeta     map[string]string `json:"um,omitempty"`
	StorageClass string            `json:"sc,omitempty"`
	ACL          ACL               `json:"acl"`
}

// Validate checks an upload record.
func (u *Upload) Validate() error {
	errs := []error{ValidateBucketName(u.Bucket), ValidateKey(u.Key), validateUserMeta(u.UserMeta), u.SSE.validate()}
	if u.UploadID.IsZero() {
		errs = append(errs, errors.New("zero upload id"))
	}
	return errors.Join(errs...)
}

// Part is one uploaded part of an in-progress upload.
type Part struct {
	// Number is the part number, 1..PartNumberMax.
	Number int `json:"n"`
	// ShardsID is the id the part's shards were written under (unique per upload of
	// the part, so a re-upload never overwrites the shards it replaces).
	ShardsID ID `json:"sid"`
	// Size is the plaintext size.
	Size int64 `json:"size"`
	// ETag is the part ETag (hex MD5).
	ETag string `json:"etag"`
	// CRC64 is CRC-64/ECMA of the plaintext.
	CRC64 uint64 `json:"crc"`
	// Uploaded is the upload time in unix nanoseconds.
	Uploaded int64 `json:"t"`
	// Layout is the part's erasure layout.
	Layout Layout `json:"layout"`
	// Stream is the part's stream info.
	Stream Stream `json:"stream"`
}

// Validate checks a part record.
func (p *Part) Validate() error {
	var errs []error
	if p.Number < 1 || p.Number > PartNumberMax {
		errs = append(errs, fmt.Errorf("part number %d out of 1..%d", p.Number, PartNumberMax))
	}
	if p.ShardsID.IsZero() {
		errs = append(errs, errors.New("zero shards id"))
	}
	if p.Size < 0 {
		errs = append(errs, fmt.Errorf("negative part size %d", p.Size))
	}
	errs = append(errs, p.Layout.Validate())
	return errors.Join(errs...)
}

// User is an API user.
type User struct {
	// AccessKeyID is the SecretId / access key id; unique.
	AccessKeyID string `json:"ak"`
	// SealedSecret is the secret key sealed by the root key (opaque here).
	SealedSecret []byte `json:"secret"`
	// ID is the user id (APPID/uid) used as owner.
	ID string `json:"id"`
	// DisplayName is shown in listings and the console.
	DisplayName string `json:"name,omitempty"`
	// Admin grants every permission including the admin API.
	Admin bool `json:"admin,omitempty"`
	// Policies are named policies attached to the user.
	Policies []string `json:"policies,omitempty"`
	// Created is the creation time in unix nanoseconds.
	Created int64 `json:"created"`
}

// KeyRing is the master-key ring: sealed by the root key, opaque to the state machine.
type KeyRing struct {
	// Sealed is the ring (all versions and their states) sealed by the root key.
	Sealed []byte `json:"sealed"`
	// Active is the version new objects are sealed under.
	Active uint32 `json:"active"`
	// Epoch counts ring updates; SetKeyRing compares it. Zero means no ring yet.
	Epoch uint64 `json:"epoch"`
	// Retired lists the versions retired so far, ascending. Set by the state machine
	// from SetKeyRing.Retire; commands that would seal a DEK under one of them fail
	// with ErrKeyRetired.
	Retired []uint32 `json:"retired,omitempty"`
}

// CMK origins and states (DESIGN.md section 6.2).
const (
	OriginCoffer   = "COFFER"
	OriginExternal = "EXTERNAL"

	CMKEnabled         = "Enabled"
	CMKDisabled        = "Disabled"
	CMKPendingImport   = "PendingImport"
	CMKPendingDeletion = "PendingDeletion"
)

// CMK is a KMS customer master key.
type CMK struct {
	// ID is the key id (UUID text).
	ID string `json:"id"`
	// Alias is an optional unique-by-convention alias.
	Alias string `json:"alias,omitempty"`
	// Description is free text.
	Description string `json:"desc,omitempty"`
	// Origin is OriginCoffer or OriginExternal.
	Origin string `json:"origin"`
	// State is CMKEnabled, CMKDisabled, CMKPendingImport or CMKPendingDeletion.
	State string `json:"state"`
	// DeletionDate is when a pending deletion takes effect (unix nanoseconds), or 0.
	DeletionDate int64 `json:"deldate,omitempty"`
	// SealedMaterial is the key material (all versions) sealed by the root key.
	SealedMaterial []byte `json:"material,omitempty"`
	// RotationEnabled turns on scheduled rotation.
	RotationEnabled bool `json:"rot,omitempty"`
	// LastRotated is the last rotation time in unix nanoseconds, or 0.
	LastRotated int64 `json:"lastrot,omitempty"`
	// Created is the creation time in unix nanoseconds.
	Created int64 `json:"created"`
	// Revision counts updates; PutCMK and DeleteCMK compare it. Set by the state machine.
	Revision uint64 `json:"rev"`
}

// Storage node states.
const (
	NodeActive   = "active"
	NodeDraining = "draining"
	NodeDead     = "dead"
)

// StorageNode is one storage node of the cluster layout.
type StorageNode struct {
	// ID is the stable node id.
	ID string `json:"id"`
	// Zone is the failure domain placement spreads over.
	Zone string `json:"zone"`
	// Addrs are the shard RPC addresses.
	Addrs []string `json:"addrs"`
	// CapacityBytes is the usable capacity.
	CapacityBytes int64 `json:"cap"`
	// State is NodeActive, NodeDraining or NodeDead.
	State string `json:"state"`
}

// ClusterLayout is the set of storage nodes plus erasure defaults.
type ClusterLayout struct {
	// Nodes are the storage nodes, sorted by ID.
	Nodes []StorageNode `json:"nodes"`
	// DefaultK and DefaultM are the erasure defaults for new objects (0: gateway default).
	DefaultK int `json:"k,omitempty"`
	DefaultM int `json:"m,omitempty"`
	// Epoch counts layout updates; SetLayout compares it. Set by the state machine.
	Epoch uint64 `json:"epoch"`
}

// Garbage reasons.
const (
	ReasonOverwritten = "overwritten"
	ReasonDeleted     = "deleted"
	ReasonPartReplace = "part-replaced"
	ReasonPartUnused  = "part-unused"
	ReasonAborted     = "aborted"
	ReasonHealed      = "healed"
)

// GarbagePiece names the shards of one shard set to delete.
type GarbagePiece struct {
	// ShardsID is the id the shards were written under.
	ShardsID ID `json:"sid"`
	// Part is the part number, or 0 for a simple object.
	Part int `json:"part,omitempty"`
	// Shards are the locations to delete.
	Shards []ShardLoc `json:"shards"`
}

// GarbageItem is one entry of the garbage queue.
type GarbageItem struct {
	// Seq is the queue position, assigned by the state machine, strictly increasing.
	Seq uint64 `json:"seq"`
	// Bucket, Key and VersionID name the replaced version or the upload (VersionID is
	// then the upload id).
	Bucket    string `json:"bucket"`
	Key       string `json:"key"`
	VersionID ID     `json:"vid"`
	// Pieces are the shard sets to delete.
	Pieces []GarbagePiece `json:"pieces"`
	// Reason is one of the Reason constants.
	Reason string `json:"reason"`
	// Index is the Raft log index that enqueued the item.
	Index uint64 `json:"index"`
}

// Stats summarizes the object keyspace.
type Stats struct {
	Buckets int64 `json:"buckets"`
	Objects int64 `json:"objects"`
	Bytes   int64 `json:"bytes"`
	Uploads int64 `json:"uploads"`
	Garbage int64 `json:"garbage"`
}

// ValidateBucketName checks a bucket name: 1..BucketNameBytesMax bytes of lowercase
// letters, digits, '-' and '.', not starting or ending with '-' or '.'.
func ValidateBucketName(name string) error {
	if len(name) == 0 || len(name) > BucketNameBytesMax {
		return fmt.Errorf("%w: bucket name length %d", ErrInvalidArgument, len(name))
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.'
		if !ok {
			return fmt.Errorf("%w: bucket name has byte %#x", ErrInvalidArgument, c)
		}
	}
	if f, l := name[0], name[len(name)-1]; f == '-' || f == '.' || l == '-' || l == '.' {
		return fmt.Errorf("%w: bucket name %q starts or ends with '-' or '.'", ErrInvalidArgument, name)
	}
	return nil
}

// ValidateKey checks an object key: 1..KeyBytesMax bytes of valid UTF-8 (JSON bodies
// would silently replace invalid bytes), no NUL.
func ValidateKey(key string) error {
	if len(key) == 0 || len(key) > KeyBytesMax {
		return fmt.Errorf("%w: key length %d", ErrInvalidArgument, len(key))
	}
	if !utf8.ValidString(key) {
		return fmt.Errorf("%w: key is not valid UTF-8", ErrInvalidArgument)
	}
	for i := 0; i < len(key); i++ {
		if key[i] == 0 {
			return fmt.Errorf("%w: key contains NUL", ErrInvalidArgument)
		}
	}
	return nil
}

func validateUserMeta(m map[string]string) error {
	n := 0
	for k, v := range m {
		n += len(k) + len(v)
	}
	if n > UserMetaBytesMax {
		return fmt.Errorf("%w: user metadata of %d bytes exceeds %d", ErrInvalidArgument, n, UserMetaBytesMax)
	}
	return nil
}
