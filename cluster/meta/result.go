package meta

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Sentinel errors. Command results carry them as a Code; Result.Err returns an error
// that matches the sentinel with errors.Is, also after EncodeResult/DecodeResult.
var (
	ErrBucketExists       = errors.New("meta: bucket already exists")
	ErrBucketNotFound     = errors.New("meta: bucket not found")
	ErrBucketNotEmpty     = errors.New("meta: bucket not empty")
	ErrObjectNotFound     = errors.New("meta: object not found")
	ErrPreconditionFailed = errors.New("meta: precondition failed")
	ErrUploadNotFound     = errors.New("meta: upload not found")
	ErrInvalidPart        = errors.New("meta: invalid part")
	ErrInvalidPartOrder   = errors.New("meta: parts not in ascending order")
	ErrEntityTooSmall     = errors.New("meta: part smaller than the minimum")
	ErrConflict           = errors.New("meta: compare-and-set failed")
	ErrUserNotFound       = errors.New("meta: user not found")
	ErrUserExists         = errors.New("meta: user already exists")
	ErrCMKNotFound        = errors.New("meta: cmk not found")
	ErrKeyInUse           = errors.New("meta: master key version still in use")
	ErrInvalidArgument    = errors.New("meta: invalid argument")
	ErrMalformed          = errors.New("meta: malformed command")
	ErrStale              = errors.New("meta: log entry already applied")
	ErrInternal           = errors.New("meta: internal state machine error")
	ErrKeyRetired         = errors.New("meta: master key version retired")
)

// Code is the stable numeric form of a result error. Values never change.
type Code uint16

// Result codes.
const (
	CodeOK                 Code = 0
	CodeBucketExists       Code = 1
	CodeBucketNotFound     Code = 2
	CodeBucketNotEmpty     Code = 3
	CodeObjectNotFound     Code = 4
	CodePreconditionFailed Code = 5
	CodeUploadNotFound     Code = 6
	CodeInvalidPart        Code = 7
	CodeInvalidPartOrder   Code = 8
	CodeEntityTooSmall     Code = 9
	CodeConflict           Code = 10
	CodeUserNotFound       Code = 11
	CodeUserExists         Code = 12
	CodeCMKNotFound        Code = 13
	CodeKeyInUse           Code = 14
	CodeInvalidArgument    Code = 15
	CodeMalformed          Code = 16
	CodeStale              Code = 17
	CodeInternal           Code = 18
	CodeKeyRetired         Code = 19

	codeMax = CodeKeyRetired
)

var codeErrs = map[Code]error{
	CodeBucketExists:       ErrBucketExists,
	CodeBucketNotFound:     ErrBucketNotFound,
	CodeBucketNotEmpty:     ErrBucketNotEmpty,
	CodeObjectNotFound:     ErrObjectNotFound,
	CodePreconditionFailed: ErrPreconditionFailed,
	CodeUploadNotFound:     ErrUploadNotFound,
	CodeInvalidPart:        ErrInvalidPart,
	CodeInvalidPartOrder:   ErrInvalidPartOrder,
	CodeEntityTooSmall:     ErrEntityTooSmall,
	CodeConflict:           ErrConflict,
	CodeUserNotFound:       ErrUserNotFound,
	CodeUserExists:         ErrUserExists,
	CodeCMKNotFound:        ErrCMKNotFound,
	CodeKeyInUse:           ErrKeyInUse,
	CodeInvalidArgument:    ErrInvalidArgument,
	CodeMalformed:          ErrMalformed,
	CodeStale:              ErrStale,
	CodeInternal:           ErrInternal,
	CodeKeyRetired:         ErrKeyRetired,
}

// Sentinel returns the sentinel error of c, or nil for CodeOK and unknown codes.
func (c Code) Sentinel() error { return codeErrs[c] }

// CodeOf returns the code of the first sentinel err matches, CodeInternal for other
// non-nil errors, and CodeOK for nil.
func CodeOf(err error) Code {
	if err == nil {
		return CodeOK
	}
	for c := CodeBucketExists; c <= codeMax; c++ {
		if c != CodeInternal && errors.Is(err, codeErrs[c]) {
			return c
		}
	}
	return CodeInternal
}

// Error is a command failure carried in a Result: a stable code plus a message.
type Error struct {
	Code Code
	Msg  string
}

func (e *Error) Error() string {
	if e.Msg == "" {
		if s := e.Code.Sentinel(); s != nil {
			return s.Error()
		}
		return fmt.Sprintf("meta: error code %d", e.Code)
	}
	return e.Msg
}

// Unwrap returns the sentinel of the code, so errors.Is works.
func (e *Error) Unwrap() error { return e.Code.Sentinel() }

// Result is what applying one command produced. The state machine returns *Result
// from Apply for every command entry.
type Result struct {
	// Code is CodeOK on success.
	Code Code `json:"code,omitempty"`
	// Msg describes a failure; it never contains key material.
	Msg string `json:"msg,omitempty"`
	// VersionID is the committed version (CommitObject, CompleteUpload).
	VersionID ID `json:"vid,omitzero"`
	// Replaced is the version that was current before (CommitObject, DeleteObject,
	// CompleteUpload); zero if there was none.
	Replaced ID `json:"replaced,omitzero"`
	// Epoch is the new ring epoch, layout epoch or CMK revision.
	Epoch uint64 `json:"epoch,omitempty"`
	// Count is the number of items a batch command changed (Rewrap, RemoveGarbage).
	Count int `json:"count,omitempty"`
	// Version is the version record a CompleteUpload committed. It is not kept for
	// repeats of the request id: a repeated request gets the result without it.
	Version *Version `json:"version,omitempty"`
	// Index is the Raft log index that applied the command.
	Index uint64 `json:"index,omitempty"`
}

// Failure returns a Result carrying err's code and message.
func Failure(err error) *Result {
	return &Result{Code: CodeOf(err), Msg: err.Error()}
}

// Err returns nil on success, or an *Error matching the code's sentinel.
func (r *Result) Err() error {
	if r == nil || r.Code == CodeOK {
		return nil
	}
	return &Error{Code: r.Code, Msg: r.Msg}
}

var resultMagic = [2]byte{0xC0, 0xFD}

// resultVersion is the Result encoding version.
const resultVersion = 1

// EncodeResult encodes r for the network or for the idempotency table.
func EncodeResult(r *Result) ([]byte, error) {
	body, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("meta: encode result: %w", err)
	}
	out := make([]byte, 0, 3+len(body))
	out = append(out, resultMagic[0], resultMagic[1], resultVersion)
	return append(out, body...), nil
}

// DecodeResult decodes bytes from EncodeResult; garbage yields an error wrapping
// ErrMalformed, never a panic.
func DecodeResult(b []byte) (*Result, error) {
	if len(b) < 3 || b[0] != resultMagic[0] || b[1] != resultMagic[1] {
		return nil, fmt.Errorf("%w: bad result magic", ErrMalformed)
	}
	if b[2] != resultVersion {
		return nil, fmt.Errorf("%w: result version %d", ErrMalformed, b[2])
	}
	var r Result
	if err := strictJSON(b[3:], &r); err != nil {
		return nil, fmt.Errorf("%w: result body: %v", ErrMalformed, err)
	}
	return &r, nil
}
