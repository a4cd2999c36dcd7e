package meta

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func testLayout() Layout {
	return Layout{K: 4, M: 2, BlockBytes: 256 << 10, Nodes: []string{"n1", "n2", "n3", "n4", "n5", "n6"}, Missing: []int{5}}
}

func testVersion() Version {
	return Version{
		Bucket: "photos-1250000000", Key: "dir/a.txt", VersionID: ID{1, 2, 3}, Size: 13,
		ETag: "b62e10bcab55a88240bd9c436cffdcf9", CRC64: 11051210869376104954,
		ContentType: "text/plain", UserMeta: map[string]string{"b": "2", "a": "1"},
		Headers: ContentHeaders{CacheControl: "no-cache"}, Created: 1700000000123456789,
		Owner: "1250000000", ACL: ACL{Canned: "private"}, Layout: testLayout(),
		Stream: Stream{Format: 1, NoncePrefix: []byte{9, 9, 9, 9}, CipherBytes: 29},
		SSE:    SSE{Mode: ModeSSECOS, SealedDEK: []byte("sealed"), MasterKeyVersion: 3},
	}
}

// allCommands returns one valid command of every type.
func allCommands() []Command {
	v := testVersion()
	id := ID{7}
	return []Command{
		&CreateBucket{Bucket: Bucket{Name: "b-1", Owner: "u", Created: 5, SSEC: SSECBlocked}},
		&DeleteBucket{Name: "b-1"},
		&UpdateBucket{Name: "b-1", Fields: FieldEncryption, Encryption: BucketEncryption{Mode: ModeSSEKMS, CMKID: "k"}},
		&CommitObject{Version: v, IfMatch: "x", IfNoneMatch: true, ExpectCurrent: &id},
		&DeleteObject{Bucket: "b-1", Key: "k", IfMatch: "e"},
		&PutObjectACL{Bucket: "b-1", Key: "k", ACL: ACL{Canned: "public-read"}},
		&InitiateUpload{Upload: Upload{UploadID: id, Bucket: "b-1", Key: "k", SSE: v.SSE}},
		&PutPart{Bucket: "b-1", Key: "k", UploadID: id, Part: Part{Number: 1, ShardsID: ID{8}, Size: 5, Layout: testLayout()}},
		&CompleteUpload{Bucket: "b-1", Key: "k", UploadID: id, VersionID: ID{9}, Parts: []CompletePart{{1, "e"}}},
		&AbortUpload{Bucket: "b-1", Key: "k", UploadID: id},
		&PutUser{User: User{AccessKeyID: "AK", ID: "u", SealedSecret: []byte{1}}},
		&DeleteUser{AccessKeyID: "AK"},
		&SetKeyRing{ExpectEpoch: 2, Sealed: []byte{1, 2}, Active: 3, Retire: []uint32{1}},
		&Rewrap{Items: []RewrapItem{{Bucket: "b-1", Key: "k", VersionID: id, OldSealedDEK: []byte{1}, NewSealedDEK: []byte{2}, NewMasterKeyVersion: 4}}},
		&PutCMK{CMK: CMK{ID: "k1", Origin: OriginCoffer, State: CMKEnabled}, ExpectRevision: 1},
		&DeleteCMK{ID: "k1", ExpectRevision: 2},
		&SetLayout{Layout: ClusterLayout{Nodes: []StorageNode{{ID: "n1", State: NodeActive}}}},
		&RemoveGarbage{Seqs: []uint64{1, 2}},
		&UpdateLayout{Bucket: "b-1", Key: "k", VersionID: id, Nodes: []string{"a"}},
	}
}

func TestCommandRoundTrip(t *testing.T) {
	seen := map[CommandType]bool{}
	for _, c := range allCommands() {
		if err := c.Validate(); err != nil {
			t.Errorf("%T: Validate: %v", c, err)
		}
		seen[c.Type()] = true
		rid := ID{0xAA, byte(c.Type())}
		b, err := EncodeCommand(rid, c)
		if err != nil {
			t.Fatalf("%T: encode: %v", c, err)
		}
		gotID, got, err := DecodeCommand(b)
		if err != nil {
			t.Fatalf("%T: decode: %v", c, err)
		}
		if gotID != rid {
			t.Errorf("%T: request id %v, want %v", c, gotID, rid)
		}
		if diff := cmp.Diff(c, got); diff != "" {
			t.Errorf("%T round trip (-want +got):\n%s", c, diff)
		}
		b2, _ := EncodeCommand(rid, got)
		if !bytes.Equal(b, b2) {
			t.Errorf("%T: encoding not deterministic", c)
		}
	}
	for ct := CommandType(1); ct <= TypeUpdateLayout; ct++ {
		if !seen[ct] {
			t.Errorf("command type %d not covered", ct)
		}
	}
}

func TestDecodeCommandRejects(t *testing.T) {
	good, err := EncodeCommand(ID{1}, &DeleteBucket{Name: "b"})
	if err != nil {
		t.Fatal(err)
	}
	mut := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"short", good[:10]},
		{"magic", mut(func(b []byte) []byte { b[0] = 0; return b })},
		{"envelope version", mut(func(b []byte) []byte { b[2] = 9; return b })},
		{"unknown type", mut(func(b []byte) []byte { b[3] = 200; return b })},
		{"type zero", mut(func(b []byte) []byte { b[3] = 0; return b })},
		{"body version", mut(func(b []byte) []byte { b[4] = 2; return b })},
		{"no body", good[:envelopeBytes]},
		{"truncated body", good[:len(good)-1]},
		{"trailing", append(append([]byte(nil), good...), []byte(`{}`)...)},
		{"unknown field", append(append([]byte(nil), good[:envelopeBytes]...), []byte(`{"name":"b","evil":1}`)...)},
		{"array body", append(append([]byte(nil), good[:envelopeBytes]...), []byte(`[1]`)...)},
		{"null body", append(append([]byte(nil), good[:envelopeBytes]...), []byte(`null`)...)},
		{"wrong field type", append(append([]byte(nil), good[:envelopeBytes]...), []byte(`{"name":5}`)...)},
		{"oversize", append(append([]byte(nil), good[:envelopeBytes]...), make([]byte, CommandBytesMax)...)},
	}
	for _, tt := range tests {
		_, _, err := DecodeCommand(tt.in)
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err %v, want ErrMalformed", tt.name, err)
		}
	}
}

func TestValidateRejects(t *testing.T) {
	v := testVersion()
	badLayout := v
	badLayout.Layout.Nodes = badLayout.Layout.Nodes[:3]
	tooManyMissing := v
	tooManyMissing.Layout.Missing = []int{0, 1, 2}
	noDEK := v
	noDEK.SSE.SealedDEK = nil
	kmsNoKey := v
	kmsNoKey.SSE = SSE{Mode: ModeSSEKMS, SealedDEK: []byte{1}}
	bigMeta := v
	bigMeta.UserMeta = map[string]string{"x": strings.Repeat("a", UserMetaBytesMax)}
	withParts := v
	withParts.Parts = []PartEntry{{Number: 1}}
	tests := []struct {
		name string
		c    Command
	}{
		{"bucket upper case", &CreateBucket{Bucket: Bucket{Name: "Bad", Owner: "u"}}},
		{"bucket leading dash", &CreateBucket{Bucket: Bucket{Name: "-b", Owner: "u"}}},
		{"bucket too long", &CreateBucket{Bucket: Bucket{Name: strings.Repeat("a", BucketNameBytesMax+1), Owner: "u"}}},
		{"bucket no owner", &CreateBucket{Bucket: Bucket{Name: "b"}}},
		{"bucket bad sse-c policy", &CreateBucket{Bucket: Bucket{Name: "b", Owner: "u", SSEC: "maybe"}}},
		{"bucket enc sse-c", &UpdateBucket{Name: "b", Fields: FieldEncryption, Encryption: BucketEncryption{Mode: ModeSSEC}}},
		{"update no fields", &UpdateBucket{Name: "b"}},
		{"update unknown field", &UpdateBucket{Name: "b", Fields: 1 << 7}},
		{"empty key", &DeleteObject{Bucket: "b"}},
		{"key with NUL", &DeleteObject{Bucket: "b", Key: "a\x00b"}},
		{"key not utf-8", &DeleteObject{Bucket: "b", Key: "a\xffb"}},
		{"key too long", &DeleteObject{Bucket: "b", Key: strings.Repeat("k", KeyBytesMax+1)}},
		{"layout nodes", &CommitObject{Version: badLayout}},
		{"layout missing", &CommitObject{Version: tooManyMissing}},
		{"no dek", &CommitObject{Version: noDEK}},
		{"kms without key", &CommitObject{Version: kmsNoKey}},
		{"user meta too big", &CommitObject{Version: bigMeta}},
		{"commit with parts", &CommitObject{Version: withParts}},
		{"part zero", &PutPart{Bucket: "b", Key: "k", UploadID: ID{1}, Part: Part{Number: 0, ShardsID: ID{1}, Layout: testLayout()}}},
		{"part too big", &PutPart{Bucket: "b", Key: "k", UploadID: ID{1}, Part: Part{Number: PartNumberMax + 1, ShardsID: ID{1}, Layout: testLayout()}}},
		{"complete no parts", &CompleteUpload{Bucket: "b", Key: "k", UploadID: ID{1}, VersionID: ID{1}}},
		{"abort zero id", &AbortUpload{Bucket: "b", Key: "k"}},
		{"user no secret", &PutUser{User: User{AccessKeyID: "a", ID: "u"}}},
		{"ring retires active", &SetKeyRing{Sealed: []byte{1}, Active: 2, Retire: []uint32{2}}},
		{"rewrap empty", &Rewrap{}},
		{"cmk bad state", &PutCMK{CMK: CMK{ID: "k", Origin: OriginCoffer, State: "Gone"}}},
		{"layout dup node", &SetLayout{Layout: ClusterLayout{Nodes: []StorageNode{{ID: "a", State: NodeActive}, {ID: "a", State: NodeActive}}}}},
		{"garbage empty", &RemoveGarbage{}},
		{"heal no nodes", &UpdateLayout{Bucket: "b", Key: "k"}},
	}
	for _, tt := range tests {
		err := tt.c.Validate()
		if !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%s: Validate = %v, want ErrInvalidArgument", tt.name, err)
		}
	}
}

func TestResultErrorsSurviveEncoding(t *testing.T) {
	for c := CodeBucketExists; c <= codeMax; c++ {
		sentinel := c.Sentinel()
		if sentinel == nil {
			t.Fatalf("code %d has no sentinel", c)
		}
		if CodeOf(sentinel) != c {
			t.Errorf("CodeOf(%v) = %d, want %d", sentinel, CodeOf(sentinel), c)
		}
		r := Failure(errors.Join(errors.New("context"), sentinel))
		b, err := EncodeResult(r)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeResult(b)
		if err != nil {
			t.Fatal(err)
		}
		if !errors.Is(got.Err(), sentinel) {
			t.Errorf("code %d: decoded error %v does not match %v", c, got.Err(), sentinel)
		}
	}
	ok := &Result{VersionID: ID{1}, Epoch: 3, Version: &Version{Key: "k"}}
	b, _ := EncodeResult(ok)
	got, err := DecodeResult(b)
	if err != nil || got.Err() != nil || got.Epoch != 3 || got.VersionID != (ID{1}) || got.Version.Key != "k" {
		t.Errorf("ok result round trip: %+v %v", got, err)
	}
	if CodeOf(errors.New("other")) != CodeInternal || CodeOf(nil) != CodeOK {
		t.Error("CodeOf of foreign or nil errors")
	}
	for _, bad := range [][]byte{nil, {0xC0}, {0xC0, 0xFD, 9, '{', '}'}, {0xC0, 0xFD, 1, '['}} {
		if _, err := DecodeResult(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("DecodeResult(%q) = %v, want ErrMalformed", bad, err)
		}
	}
}

func TestIDText(t *testing.T) {
	id := ID{0xde, 0xad, 0xbe, 0xef}
	got, err := ParseID(id.String())
	if err != nil || got != id {
		t.Fatalf("ParseID(%s) = %v, %v", id, got, err)
	}
	for _, bad := range []string{"", "xyz", strings.Repeat("g", 32), strings.Repeat("a", 31)} {
		if _, err := ParseID(bad); err == nil {
			t.Errorf("ParseID(%q) accepted", bad)
		}
	}
}

func TestLayoutShards(t *testing.T) {
	l := testLayout()
	got := l.Shards()
	if len(got) != 5 || got[4] != (ShardLoc{Index: 4, Node: "n5"}) {
		t.Errorf("Shards() = %v", got)
	}
}

func TestClampList(t *testing.T) {
	for _, tt := range []struct{ in, want int }{{0, ListEntriesMax}, {-1, ListEntriesMax}, {5, 5}, {ListEntriesMax + 1, ListEntriesMax}} {
		if got := ClampList(tt.in); got != tt.want {
			t.Errorf("ClampList(%d) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func FuzzDecodeCommand(f *testing.F) {
	for _, c := range allCommands() {
		b, err := EncodeCommand(ID{1}, c)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{0xC0, 0xFE, 1, 4, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		id, c, err := DecodeCommand(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		_ = c.Validate()
		// A decoded command re-encodes and decodes to the same value.
		b2, err := EncodeCommand(id, c)
		if err != nil {
			return // e.g. re-encoding grew past CommandBytesMax
		}
		_, c2, err := DecodeCommand(b2)
		if err != nil {
			t.Fatalf("re-encoded command does not decode: %v", err)
		}
		// (JSON omitempty turns an empty slice into nil; that is no change.)
		if diff := cmp.Diff(c, c2, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("re-encode changed the command:\n%s", diff)
		}
	})
}

func TestBinaryCommitRejectsDamage(t *testing.T) {
	v := testVersion()
	v.ACL.Grants = []Grant{{GranteeType: "Group", Grantee: "all", Permission: "READ"}}
	good, err := EncodeCommand(ID{3}, &CommitObject{Version: v, IfMatch: "m"})
	if err != nil {
		t.Fatal(err)
	}
	if good[4] != bodyBinary {
		t.Fatalf("CommitObject body version %d", good[4])
	}
	// Every truncation fails cleanly.
	for n := 0; n < len(good); n++ {
		if _, _, err := DecodeCommand(good[:n]); !errors.Is(err, ErrMalformed) {
			t.Fatalf("truncated to %d: %v", n, err)
		}
	}
	bad := [][]byte{
		append(append([]byte(nil), good...), 0),               // trailing byte
		append(append([]byte(nil), good[:len(good)-1]...), 2), // expect flag 2
	}
	other, _ := EncodeCommand(ID{3}, &DeleteBucket{Name: "b"})
	other[4] = bodyBinary // binary body for a type without one
	bad = append(bad, other)
	for i, b := range bad {
		if _, _, err := DecodeCommand(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("case %d: %v", i, err)
		}
	}
}

func TestVersionBinaryMatchesJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	str := func() string { return strings.Repeat(string(rune('a'+r.IntN(26))), r.IntN(4)) }
	for range 300 {
		v := Version{Bucket: str(), Key: str(), Size: r.Int64(), ETag: str(), CRC64: r.Uint64(), Created: -r.Int64(),
			ContentType: str(), Headers: ContentHeaders{Expires: str(), ContentLanguage: str()}, Owner: str(), StorageClass: str()}
		binary.BigEndian.PutUint64(v.VersionID[:], r.Uint64())
		for range r.IntN(3) {
			if v.UserMeta == nil {
				v.UserMeta = map[string]string{}
			}
			v.UserMeta[str()] = str()
		}
		layout := func() Layout {
			l := Layout{K: r.IntN(10), M: r.IntN(4), BlockBytes: r.IntN(1 << 20), Epoch: r.Uint64()}
			for range r.IntN(4) {
				l.Nodes = append(l.Nodes, str())
				l.Missing = append(l.Missing, r.IntN(300)-10)
			}
			return l
		}
		v.Layout = layout()
		v.Stream = Stream{Format: uint16(r.IntN(1 << 16)), CipherBytes: r.Int64()}
		if r.IntN(2) == 0 {
			v.Stream.NoncePrefix = []byte{1, 2, 3, 4}
		}
		v.SSE = SSE{Mode: SSEMode(str()), SealedDEK: []byte(str()), MasterKeyVersion: r.Uint32(), CMKID: str(), Context: str()}
		for n := range r.IntN(3) {
			v.Parts = append(v.Parts, PartEntry{Number: n + 1, Size: r.Int64N(1 << 40), ETag: str(), CRC64: r.Uint64(), Layout: layout()})
		}
		got, rest, err := DecodeVersion(AppendVersion([]byte("x"), &v)[1:])
		if err != nil || len(rest) != 0 {
			t.Fatalf("decode: %v, %d bytes left", err, len(rest))
		}
		// The JSON and binary forms carry the same information.
		js, _ := json.Marshal(&v)
		var viaJSON Version
		if err := json.Unmarshal(js, &viaJSON); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(&viaJSON, got, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("binary round trip differs from JSON round trip:\n%s", diff)
		}
	}
}
