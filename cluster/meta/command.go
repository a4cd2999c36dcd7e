package meta

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
)

// CommandType identifies a command in the Raft log. Values never change.
type CommandType uint8

// Command types.
const (
	TypeCreateBucket   CommandType = 1
	TypeDeleteBucket   CommandType = 2
	TypeUpdateBucket   CommandType = 3
	TypeCommitObject   CommandType = 4
	TypeDeleteObject   CommandType = 5
	TypePutObjectACL   CommandType = 6
	TypeInitiateUpload CommandType = 7
	TypePutPart        CommandType = 8
	TypeCompleteUpload CommandType = 9
	TypeAbortUpload    CommandType = 10
	TypePutUser        CommandType = 11
	TypeDeleteUser     CommandType = 12
	TypeSetKeyRing     CommandType = 13
	TypeRewrap         CommandType = 14
	TypePutCMK         CommandType = 15
	TypeDeleteCMK      CommandType = 16
	TypeSetLayout      CommandType = 17
	TypeRemoveGarbage  CommandType = 18
	TypeUpdateLayout   CommandType = 19
)

// Command is one typed state-machine command. Validate checks what can be checked
// without state; errors wrap ErrInvalidArgument.
type Command interface {
	Type() CommandType
	Validate() error
}

// newCommand returns a zero command of type t, or nil if t is unknown.
func newCommand(t CommandType) Command {
	switch t {
	case TypeCreateBucket:
		return &CreateBucket{}
	case TypeDeleteBucket:
		return &DeleteBucket{}
	case TypeUpdateBucket:
		return &UpdateBucket{}
	case TypeCommitObject:
		return &CommitObject{}
	case TypeDeleteObject:
		return &DeleteObject{}
	case TypePutObjectACL:
		return &PutObjectACL{}
	case TypeInitiateUpload:
		return &InitiateUpload{}
	case TypePutPart:
		return &PutPart{}
	case TypeCompleteUpload:
		return &CompleteUpload{}
	case TypeAbortUpload:
		return &AbortUpload{}
	case TypePutUser:
		return &PutUser{}
	case TypeDeleteUser:
		return &DeleteUser{}
	case TypeSetKeyRing:
		return &SetKeyRing{}
	case TypeRewrap:
		return &Rewrap{}
	case TypePutCMK:
		return &PutCMK{}
	case TypeDeleteCMK:
		return &DeleteCMK{}
	case TypeSetLayout:
		return &SetLayout{}
	case TypeRemoveGarbage:
		return &RemoveGarbage{}
	case TypeUpdateLayout:
		return &UpdateLayout{}
	}
	return nil
}

func invalid(errs ...error) error {
	if err := errors.Join(errs...); err != nil {
		if errors.Is(err, ErrInvalidArgument) {
			return err
		}
		return fmt.Errorf("%w: %w", ErrInvalidArgument, err)
	}
	return nil
}

// CreateBucket creates a bucket. Fails with ErrBucketExists.
type CreateBucket struct {
	Bucket Bucket `json:"bucket"`
}

// DeleteBucket deletes an empty bucket (no objects, no uploads). Fails with
// ErrBucketNotFound or ErrBucketNotEmpty.
type DeleteBucket struct {
	Name string `json:"name"`
}

// BucketField selects the fields UpdateBucket changes.
type BucketField uint8

// Bucket fields for UpdateBucket.Fields.
const (
	FieldACL BucketField = 1 << iota
	FieldEncryption
	FieldSSEC
	bucketFieldsAll = FieldACL | FieldEncryption | FieldSSEC
)

// UpdateBucket changes the fields of a bucket named by Fields: PUT bucket ACL,
// PUT/DELETE bucket encryption (a zero Encryption deletes it), PUT SSE-C policy.
// Fails with ErrBucketNotFound.
type UpdateBucket struct {
	Name       string           `json:"name"`
	Fields     BucketField      `json:"fields"`
	ACL        ACL              `json:"acl"`
	Encryption BucketEncryption `json:"enc"`
	SSEC       SSECPolicy       `json:"ssec,omitempty"`
}

// CommitObject makes Version the current version of its key. Preconditions, all
// optional: IfMatch (the current version's ETag must equal it), IfNoneMatch (the key
// must have no current version; x-cos-forbid-overwrite), ExpectCurrent (the current
// version id must equal it; the zero id means "no current version"). Atomically it
// swaps the current version, updates the census and stats and enqueues the replaced
// version into the garbage queue. Fails with ErrBucketNotFound or
// ErrPreconditionFailed. Result.Replaced names the replaced version.
type CommitObject struct {
	Version       Version `json:"version"`
	IfMatch       string  `json:"ifmatch,omitempty"`
	IfNoneMatch   bool    `json:"ifnonematch,omitempty"`
	ExpectCurrent *ID     `json:"expect,omitempty"`
}

// DeleteObject removes the current version of a key and enqueues it as garbage, with
// the same optional preconditions as CommitObject. Deleting a missing key fails with
// ErrObjectNotFound (the gateway answers 204 anyway) or ErrBucketNotFound.
type DeleteObject struct {
	Bucket        string `json:"bucket"`
	Key           string `json:"key"`
	IfMatch       string `json:"ifmatch,omitempty"`
	ExpectCurrent *ID    `json:"expect,omitempty"`
}

// PutObjectACL replaces the ACL of the current version (only if it is ExpectCurrent,
// when set). Fails with ErrObjectNotFound or ErrPreconditionFailed.
type PutObjectACL struct {
	Bucket        string `json:"bucket"`
	Key           string `json:"key"`
	ExpectCurrent *ID    `json:"expect,omitempty"`
	ACL           ACL    `json:"acl"`
}

// InitiateUpload records a new multipart upload. Fails with ErrBucketNotFound, or
// ErrConflict if the key already has an upload with this id (ids need only be unique
// per key; the gateway draws them at random).
type InitiateUpload struct {
	Upload Upload `json:"upload"`
}

// PutPart records an uploaded part; a part with the same number is replaced and its
// shards enqueued as garbage. Fails with ErrUploadNotFound.
type PutPart struct {
	Bucket   string `json:"bucket"`
	Key      string `json:"key"`
	UploadID ID     `json:"uid"`
	Part     Part   `json:"part"`
}

// CompletePart names one part chosen by Complete Multipart Upload.
type CompletePart struct {
	Number int    `json:"n"`
	ETag   string `json:"etag"`
}

// CompleteUpload commits the chosen parts as the new current version of the key,
// builds the part table from the stored parts, enqueues unused parts and the replaced
// version as garbage and removes the upload, atomically. The gateway supplies the new
// VersionID, the object ETag and CRC64 (combined from the parts) and the time. Parts
// must be ascending (ErrInvalidPartOrder), each must exist with the given ETag
// (ErrInvalidPart), and every part but the last must be at least MinPartBytes
// (ErrEntityTooSmall). IfNoneMatch forbids overwriting an existing key. Fails with
// ErrUploadNotFound. Result.Version holds the committed record.
type CompleteUpload struct {
	Bucket       string         `json:"bucket"`
	Key          string         `json:"key"`
	UploadID     ID             `json:"uid"`
	Parts        []CompletePart `json:"parts"`
	VersionID    ID             `json:"vid"`
	ETag         string         `json:"etag"`
	CRC64        uint64         `json:"crc"`
	Created      int64          `json:"created"`
	MinPartBytes int64          `json:"minpart,omitempty"`
	IfNoneMatch  bool           `json:"ifnonematch,omitempty"`
}

// AbortUpload removes an upload and enqueues all its parts as garbage. Fails with
// ErrUploadNotFound.
type AbortUpload struct {
	Bucket   string `json:"bucket"`
	Key      string `json:"key"`
	UploadID ID     `json:"uid"`
}

// PutUser creates or replaces a user; with IfAbsent it fails with ErrUserExists when
// the access key id is taken.
type PutUser struct {
	User     User `json:"user"`
	IfAbsent bool `json:"ifabsent,omitempty"`
}

// DeleteUser removes a user. Fails with ErrUserNotFound.
type DeleteUser struct {
	AccessKeyID string `json:"ak"`
}

// SetKeyRing replaces the master-key ring only if the current ring epoch equals
// ExpectEpoch (0 for the first ring); the new epoch is ExpectEpoch+1 (Result.Epoch).
// Retire lists versions the new ring retires: each must have a census count of zero
// (else ErrKeyInUse), and from then on CommitObject, InitiateUpload and Rewrap refuse
// DEKs sealed under them (ErrKeyRetired), so a retired version never gains a user.
// Retirement is permanent. Fails with ErrConflict.
type SetKeyRing struct {
	ExpectEpoch uint64   `json:"expect"`
	Sealed      []byte   `json:"sealed"`
	Active      uint32   `json:"active"`
	Retire      []uint32 `json:"retire,omitempty"`
}

// RewrapItem replaces the sealed DEK of one object version (or, with Upload, of an
// in-progress upload whose id is VersionID) if it still is OldSealedDEK.
type RewrapItem struct {
	Bucket              string `json:"bucket"`
	Key                 string `json:"key"`
	VersionID           ID     `json:"vid"`
	Upload              bool   `json:"upload,omitempty"`
	OldSealedDEK        []byte `json:"old"`
	NewSealedDEK        []byte `json:"new"`
	NewMasterKeyVersion uint32 `json:"mkv"`
}

// Rewrap re-seals DEKs under a new master-key version, updating the census. Items
// whose target is gone or whose sealed DEK changed are skipped; Result.Count is the
// number rewrapped.
type Rewrap struct {
	Items []RewrapItem `json:"items"`
}

// PutCMK creates (ExpectRevision 0; the id must be free) or updates a CMK whose
// revision equals ExpectRevision. A non-empty alias must not belong to another CMK,
// so concurrent creators of a default key agree on one. Result.Epoch is the new
// revision. Fails with ErrConflict or ErrCMKNotFound.
type PutCMK struct {
	CMK            CMK    `json:"cmk"`
	ExpectRevision uint64 `json:"expect"`
}

// DeleteCMK removes a CMK at revision ExpectRevision. Fails with ErrCMKNotFound or
// ErrConflict.
type DeleteCMK struct {
	ID             string `json:"id"`
	ExpectRevision uint64 `json:"expect"`
}

// SetLayout replaces the cluster layout if its epoch equals ExpectEpoch; Result.Epoch
// is the new epoch. Fails with ErrConflict.
type SetLayout struct {
	ExpectEpoch uint64        `json:"expect"`
	Layout      ClusterLayout `json:"layout"`
}

// RemoveGarbage acknowledges garbage items whose shards were deleted; unknown
// sequence numbers are ignored. Result.Count is the number removed.
type RemoveGarbage struct {
	Seqs []uint64 `json:"seqs"`
}

// UpdateLayout moves shards of one version (Part 0) or of one of its parts to new
// nodes after healing, if the layout epoch still equals ExpectEpoch. Nodes is the new
// node per shard index, Missing the indexes still missing. Shards whose node changed
// are enqueued as garbage at their old location. Fails with ErrObjectNotFound,
// ErrInvalidPart or ErrConflict. Result.Epoch is the new layout epoch.
type UpdateLayout struct {
	Bucket      string   `json:"bucket"`
	Key         string   `json:"key"`
	VersionID   ID       `json:"vid"`
	Part        int      `json:"part,omitempty"`
	ExpectEpoch uint64   `json:"expect"`
	Nodes       []string `json:"nodes"`
	Missing     []int    `json:"missing,omitempty"`
}

func (*CreateBucket) Type() CommandType   { return TypeCreateBucket }
func (*DeleteBucket) Type() CommandType   { return TypeDeleteBucket }
func (*UpdateBucket) Type() CommandType   { return TypeUpdateBucket }
func (*CommitObject) Type() CommandType   { return TypeCommitObject }
func (*DeleteObject) Type() CommandType   { return TypeDeleteObject }
func (*PutObjectACL) Type() CommandType   { return TypePutObjectACL }
func (*InitiateUpload) Type() CommandType { return TypeInitiateUpload }
func (*PutPart) Type() CommandType        { return TypePutPart }
func (*CompleteUpload) Type() CommandType { return TypeCompleteUpload }
func (*AbortUpload) Type() CommandType    { return TypeAbortUpload }
func (*PutUser) Type() CommandType        { return TypePutUser }
func (*DeleteUser) Type() CommandType     { return TypeDeleteUser }
func (*SetKeyRing) Type() CommandType     { return TypeSetKeyRing }
func (*Rewrap) Type() CommandType         { return TypeRewrap }
func (*PutCMK) Type() CommandType         { return TypePutCMK }
func (*DeleteCMK) Type() CommandType      { return TypeDeleteCMK }
func (*SetLayout) Type() CommandType      { return TypeSetLayout }
func (*RemoveGarbage) Type() CommandType  { return TypeRemoveGarbage }
func (*UpdateLayout) Type() CommandType   { return TypeUpdateLayout }

// Validate implements Command.
func (c *CreateBucket) Validate() error {
	errs := []error{ValidateBucketName(c.Bucket.Name)}
	if c.Bucket.Owner == "" {
		errs = append(errs, errors.New("bucket without owner"))
	}
	errs = append(errs, validateEncryption(c.Bucket.Encryption), validateSSEC(c.Bucket.SSEC))
	return invalid(errs...)
}

func validateEncryption(e BucketEncryption) error {
	switch e.Mode {
	case "", ModeSSECOS, ModeSSEKMS:
		return nil
	}
	return fmt.Errorf("bucket default encryption mode %q", e.Mode)
}

func validateSSEC(p SSECPolicy) error {
	switch p {
	case "", SSECAllowed, SSECBlocked:
		return nil
	}
	return fmt.Errorf("sse-c policy %q", p)
}

// Validate implements Command.
func (c *DeleteBucket) Validate() error { return invalid(ValidateBucketName(c.Name)) }

// Validate implements Command.
func (c *UpdateBucket) Validate() error {
	errs := []error{ValidateBucketName(c.Name), validateEncryption(c.Encryption), validateSSEC(c.SSEC)}
	if c.Fields == 0 || c.Fields&^bucketFieldsAll != 0 {
		errs = append(errs, fmt.Errorf("bucket field mask %#x", c.Fields))
	}
	return invalid(errs...)
}

// Validate implements Command.
func (c *CommitObject) Validate() error {
	errs := []error{c.Version.Validate()}
	if len(c.Version.Parts) > 0 {
		errs = append(errs, errors.New("commit with a part table; use CompleteUpload"))
	}
	return invalid(errs...)
}

// Validate implements Command.
func (c *DeleteObject) Validate() error {
	return invalid(ValidateBucketName(c.Bucket), ValidateKey(c.Key))
}

// Validate implements Command.
func (c *PutObjectACL) Validate() error {
	return invalid(ValidateBucketName(c.Bucket), ValidateKey(c.Key))
}

// Validate implements Command.
func (c *InitiateUpload) Validate() error { return invalid(c.Upload.Validate()) }

// Validate implements Command.
func (c *PutPart) Validate() error {
	errs := []error{ValidateBucketName(c.Bucket), ValidateKey(c.Key), c.Part.Validate()}
	if c.UploadID.IsZero() {
		errs = append(errs, errors.New("zero upload id"))
	}
	return invalid(errs...)
}

// Validate implements Command.
func (c *CompleteUpload) Validate() error {
	errs := []error{ValidateBucketName(c.Bucket), ValidateKey(c.Key)}
	if c.UploadID.IsZero() || c.VersionID.IsZero() {
		errs = append(errs, errors.New("zero upload or version id"))
	}
	if len(c.Parts) == 0 || len(c.Parts) > PartNumberMax {
		errs = append(errs, fmt.Errorf("%d parts", len(c.Parts)))
	}
	if c.MinPartBytes < 0 {
		errs = append(errs, fmt.Errorf("negative minimum part size"))
	}
	return invalid(errs...)
}

// Validate implements Command.
func (c *AbortUpload) Validate() error {
	errs := []error{ValidateBucketName(c.Bucket), ValidateKey(c.Key)}
	if c.UploadID.IsZero() {
		errs = append(errs, errors.New("zero upload id"))
	}
	return invalid(errs...)
}

// Validate implements Command.
func (c *PutUser) Validate() error {
	var errs []error
	if c.User.AccessKeyID == "" || len(c.User.AccessKeyID) > 128 {
		errs = append(errs, fmt.Errorf("access key id of %d bytes", len(c.User.AccessKeyID)))
	}
	if c.User.ID == "" {
		errs = append(errs, errors.New("user without id"))
	}
	if len(c.User.SealedSecret) == 0 || len(c.User.SealedSecret) > SealedBytesMax {
		errs = append(errs, fmt.Errorf("sealed secret of %d bytes", len(c.User.SealedSecret)))
	}
	return invalid(errs...)
}

// Validate implements Command.
func (c *DeleteUser) Validate() error {
	if c.AccessKeyID == "" {
		return invalid(errors.New("empty access key id"))
	}
	return nil
}

// Validate implements Command.
func (c *SetKeyRing) Validate() error {
	var errs []error
	if len(c.Sealed) == 0 || len(c.Sealed) > SealedBytesMax {
		errs = append(errs, fmt.Errorf("sealed ring of %d bytes", len(c.Sealed)))
	}
	if slices.Contains(c.Retire, c.Active) {
		errs = append(errs, fmt.Errorf("retiring the active version %d", c.Active))
	}
	return invalid(errs...)
}

// Validate implements Command.
func (c *Rewrap) Validate() error {
	var errs []error
	if len(c.Items) == 0 || len(c.Items) > BatchItemsMax {
		errs = append(errs, fmt.Errorf("%d rewrap items", len(c.Items)))
	}
	for i := range c.Items {
		it := &c.Items[i]
		if err := errors.Join(ValidateBucketName(it.Bucket), ValidateKey(it.Key)); err != nil {
			errs = append(errs, fmt.Errorf("item %d: %w", i, err))
		}
		if len(it.NewSealedDEK) == 0 || len(it.NewSealedDEK) > SealedBytesMax || len(it.OldSealedDEK) == 0 {
			errs = append(errs, fmt.Errorf("item %d: sealed dek sizes", i))
		}
	}
	return invalid(errs...)
}

// Validate implements Command.
func (c *PutCMK) Validate() error {
	var errs []error
	if c.CMK.ID == "" {
		errs = append(errs, errors.New("cmk without id"))
	}
	switch c.CMK.Origin {
	case OriginCoffer, OriginExternal:
	default:
		errs = append(errs, fmt.Errorf("cmk origin %q", c.CMK.Origin))
	}
	switch c.CMK.State {
	case CMKEnabled, CMKDisabled, CMKPendingImport, CMKPendingDeletion:
	default:
		errs = append(errs, fmt.Errorf("cmk state %q", c.CMK.State))
	}
	if len(c.CMK.SealedMaterial) > SealedBytesMax {
		errs = append(errs, fmt.Errorf("sealed material of %d bytes", len(c.CMK.SealedMaterial)))
	}
	return invalid(errs...)
}

// Validate implements Command.
func (c *DeleteCMK) Validate() error {
	if c.ID == "" {
		return invalid(errors.New("empty cmk id"))
	}
	return nil
}

// Validate implements Command.
func (c *SetLayout) Validate() error {
	var errs []error
	if len(c.Layout.Nodes) > StorageNodesMax {
		errs = append(errs, fmt.Errorf("%d storage nodes", len(c.Layout.Nodes)))
	}
	seen := map[string]bool{}
	for _, n := range c.Layout.Nodes {
		if n.ID == "" || seen[n.ID] {
			errs = append(errs, fmt.Errorf("storage node id %q empty or repeated", n.ID))
		}
		seen[n.ID] = true
		switch n.State {
		case NodeActive, NodeDraining, NodeDead:
		default:
			errs = append(errs, fmt.Errorf("storage node %q state %q", n.ID, n.State))
		}
	}
	if c.Layout.DefaultK < 0 || c.Layout.DefaultM < 0 || c.Layout.DefaultK+c.Layout.DefaultM > ShardsMax {
		errs = append(errs, fmt.Errorf("erasure defaults %d+%d", c.Layout.DefaultK, c.Layout.DefaultM))
	}
	return invalid(errs...)
}

// Validate implements Command.
func (c *RemoveGarbage) Validate() error {
	if len(c.Seqs) == 0 || len(c.Seqs) > BatchItemsMax {
		return invalid(fmt.Errorf("%d garbage sequence numbers", len(c.Seqs)))
	}
	return nil
}

// Validate implements Command.
func (c *UpdateLayout) Validate() error {
	errs := []error{ValidateBucketName(c.Bucket), ValidateKey(c.Key)}
	if c.Part < 0 || c.Part > PartNumberMax {
		errs = append(errs, fmt.Errorf("part %d", c.Part))
	}
	if len(c.Nodes) == 0 || len(c.Nodes) > ShardsMax {
		errs = append(errs, fmt.Errorf("%d nodes", len(c.Nodes)))
	}
	return invalid(errs...)
}

var commandMagic = [2]byte{0xC0, 0xFE}

// Envelope constants (see the package doc for the layout).
const (
	// EnvelopeVersion is the envelope format version.
	EnvelopeVersion = 1
	// envelopeBytes is the envelope header size before the body.
	envelopeBytes = 21
	// bodyJSON is body version 1: the command as JSON (every type).
	bodyJSON = 1
	// bodyBinary is body version 2: the binary form (CommitObject only).
	bodyBinary = 2
)

// EncodeCommand encodes c with request id id as one Raft log entry. It fails on an
// unknown command type or an entry larger than CommandBytesMax; it does not call
// Validate. CommitObject, the hot command, uses the binary body version 2; every
// other type the JSON body version 1, which replaces invalid UTF-8 in strings — so
// validate first (Validate rejects keys that are not UTF-8).
func EncodeCommand(id ID, c Command) ([]byte, error) {
	if c == nil || newCommand(c.Type()) == nil {
		return nil, fmt.Errorf("%w: unknown command", ErrInvalidArgument)
	}
	var out []byte
	if co, ok := c.(*CommitObject); ok {
		out = make([]byte, 0, 512)
		out = appendEnvelope(out, id, c.Type(), bodyBinary)
		out = appendCommitObject(out, co)
	} else {
		var buf bytes.Buffer
		buf.Grow(256)
		buf.Write(appendEnvelope(nil, id, c.Type(), bodyJSON))
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(c); err != nil {
			return nil, fmt.Errorf("meta: encode command: %w", err)
		}
		out = buf.Bytes()
		out = out[:len(out)-1] // Encoder appends '\n'
	}
	if len(out) > CommandBytesMax {
		return nil, fmt.Errorf("%w: command of %d bytes exceeds %d", ErrInvalidArgument, len(out), CommandBytesMax)
	}
	return out, nil
}

func appendEnvelope(dst []byte, id ID, t CommandType, body byte) []byte {
	dst = append(dst, commandMagic[0], commandMagic[1], EnvelopeVersion, byte(t), body)
	return append(dst, id[:]...)
}

// PeekRequestID returns the request id of an encoded command without decoding the
// body. It fails with ErrMalformed when the envelope is damaged.
func PeekRequestID(b []byte) (ID, error) {
	var id ID
	if len(b) < envelopeBytes || b[0] != commandMagic[0] || b[1] != commandMagic[1] {
		return id, fmt.Errorf("%w: bad envelope", ErrMalformed)
	}
	copy(id[:], b[5:envelopeBytes])
	return id, nil
}

// DecodeCommand decodes an entry produced by EncodeCommand. Any damage — bad magic,
// unknown envelope or body version, unknown type, bad JSON, unknown fields, trailing
// bytes, oversize — yields an error wrapping ErrMalformed, never a panic. The command
// is not validated; call Validate. b is not retained.
func DecodeCommand(b []byte) (ID, Command, error) {
	var id ID
	if len(b) > CommandBytesMax {
		return id, nil, fmt.Errorf("%w: %d bytes exceeds %d", ErrMalformed, len(b), CommandBytesMax)
	}
	id, err := PeekRequestID(b)
	if err != nil {
		return id, nil, err
	}
	if b[2] != EnvelopeVersion {
		return id, nil, fmt.Errorf("%w: envelope version %d", ErrMalformed, b[2])
	}
	c := newCommand(CommandType(b[3]))
	if c == nil {
		return id, nil, fmt.Errorf("%w: unknown command type %d", ErrMalformed, b[3])
	}
	switch {
	case b[4] == bodyBinary && c.Type() == TypeCommitObject:
		co, err := decodeCommitObject(b[envelopeBytes:])
		if err != nil {
			return id, nil, err
		}
		return id, co, nil
	case b[4] != bodyJSON:
		return id, nil, fmt.Errorf("%w: command type %d body version %d", ErrMalformed, b[3], b[4])
	}
	if err := strictJSON(b[envelopeBytes:], c); err != nil {
		return id, nil, fmt.Errorf("%w: command type %d: %v", ErrMalformed, b[3], err)
	}
	return id, c, nil
}

// strictJSON decodes exactly one JSON object into v, rejecting unknown fields,
// non-object values and trailing data.
func strictJSON(b []byte, v any) error {
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) == 0 || b[0] != '{' {
		return errors.New("body is not a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data after body")
	}
	return nil
}
