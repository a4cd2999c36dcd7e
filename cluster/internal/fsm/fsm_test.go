package fsm

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/raft"

	"github.com/coffer-io/coffer/cluster/meta"
)

func TestConfigValidate(t *testing.T) {
	var c Config
	c.EnsureDefaults()
	c.MemTableBytes = 1
	c.RequestWindow = 1
	c.CacheBytes = -1
	err := c.Validate()
	for _, want := range []string{"Dir", "MemTableBytes", "RequestWindow", "CacheBytes"} {
		if err == nil || !contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want a complaint about %s", err, want)
		}
	}
	c = Config{Dir: "/x"}
	c.EnsureDefaults()
	if err := c.Validate(); err != nil {
		t.Errorf("defaulted config invalid: %v", err)
	}
}

func contains(s, sub string) bool {
	return len(sub) == 0 || len(s) >= len(sub) && (s[:len(sub)] == sub || contains(s[1:], sub))
}

func TestBuckets(t *testing.T) {
	x := newTester(t)
	x.ok(bucket("b1"))
	x.fail(bucket("b1"), meta.ErrBucketExists)
	x.ok(&meta.CreateBucket{Bucket: meta.Bucket{Name: "b2", Owner: "other"}})
	all, err := x.f.ListBuckets("")
	if err != nil || len(all) != 2 || all[0].Name != "b1" || all[1].Name != "b2" {
		t.Fatalf("ListBuckets = %v, %v", all, err)
	}
	mine, _ := x.f.ListBuckets("other")
	if len(mine) != 1 || mine[0].Name != "b2" {
		t.Fatalf("ListBuckets(other) = %v", mine)
	}

	x.ok(&meta.UpdateBucket{Name: "b1", Fields: meta.FieldACL | meta.FieldSSEC, ACL: meta.ACL{Canned: "public-read"}, SSEC: meta.SSECBlocked,
		Encryption: meta.BucketEncryption{Mode: meta.ModeSSECOS}})
	b, err := x.f.GetBucket("b1")
	if err != nil {
		t.Fatal(err)
	}
	if b.ACL.Canned != "public-read" || b.SSEC != meta.SSECBlocked || b.Encryption.Mode != "" {
		t.Errorf("field mask not honoured: %+v", b)
	}
	x.ok(&meta.UpdateBucket{Name: "b1", Fields: meta.FieldEncryption, Encryption: meta.BucketEncryption{Mode: meta.ModeSSEKMS, CMKID: "k"}})
	b, _ = x.f.GetBucket("b1")
	if b.Encryption.CMKID != "k" || b.ACL.Canned != "public-read" {
		t.Errorf("encryption update: %+v", b)
	}
	x.fail(&meta.UpdateBucket{Name: "nope", Fields: meta.FieldACL}, meta.ErrBucketNotFound)

	// Not empty: an object, then an upload.
	v := version("b1", "k", id(1), 10, 1)
	x.ok(&meta.CommitObject{Version: v})
	x.fail(&meta.DeleteBucket{Name: "b1"}, meta.ErrBucketNotEmpty)
	x.ok(&meta.DeleteObject{Bucket: "b1", Key: "k"})
	x.ok(&meta.InitiateUpload{Upload: meta.Upload{UploadID: id(5), Bucket: "b1", Key: "u", SSE: v.SSE}})
	x.fail(&meta.DeleteBucket{Name: "b1"}, meta.ErrBucketNotEmpty)
	x.ok(&meta.AbortUpload{Bucket: "b1", Key: "u", UploadID: id(5)})
	x.ok(&meta.DeleteBucket{Name: "b1"})
	x.fail(&meta.DeleteBucket{Name: "b1"}, meta.ErrBucketNotFound)
	if _, err := x.f.GetBucket("b1"); !errors.Is(err, meta.ErrBucketNotFound) {
		t.Errorf("GetBucket after delete: %v", err)
	}
	st, _ := x.f.Stats()
	if st.Buckets != 1 || st.Objects != 0 || st.Uploads != 0 {
		t.Errorf("stats %+v", st)
	}
	x.fail(&meta.CommitObject{Version: version("gone", "k", id(2), 1, 1)}, meta.ErrBucketNotFound)
	x.fail(bucket("Bad_Name"), meta.ErrInvalidArgument)
	if err := x.f.Check(); err != nil {
		t.Error(err)
	}
}

func TestCommitPreconditions(t *testing.T) {
	v1 := version("b", "k", id(1), 10, 1)
	v2 := version("b", "k", id(2), 20, 1)
	zero := meta.ID{}
	wrong := id(9)
	tests := []struct {
		name    string
		exists  bool
		cmd     meta.CommitObject
		wantErr error
	}{
		{"create", false, meta.CommitObject{Version: v2}, nil},
		{"overwrite", true, meta.CommitObject{Version: v2}, nil},
		{"if-none-match on new key", false, meta.CommitObject{Version: v2, IfNoneMatch: true}, nil},
		{"if-none-match on existing", true, meta.CommitObject{Version: v2, IfNoneMatch: true}, meta.ErrPreconditionFailed},
		{"if-match hit", true, meta.CommitObject{Version: v2, IfMatch: `"` + v1.ETag + `"`}, nil},
		{"if-match miss", true, meta.CommitObject{Version: v2, IfMatch: "nope"}, meta.ErrPreconditionFailed},
		{"if-match on missing key", false, meta.CommitObject{Version: v2, IfMatch: v1.ETag}, meta.ErrPreconditionFailed},
		{"expect current hit", true, meta.CommitObject{Version: v2, ExpectCurrent: &v1.VersionID}, nil},
		{"expect current miss", true, meta.CommitObject{Version: v2, ExpectCurrent: &wrong}, meta.ErrPreconditionFailed},
		{"expect absent hit", false, meta.CommitObject{Version: v2, ExpectCurrent: &zero}, nil},
		{"expect absent miss", true, meta.CommitObject{Version: v2, ExpectCurrent: &zero}, meta.ErrPreconditionFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := newTester(t)
			x.ok(bucket("b"))
			if tt.exists {
				x.ok(&meta.CommitObject{Version: v1})
			}
			cmd := tt.cmd
			r := x.apply(&cmd)
			if !errors.Is(r.Err(), tt.wantErr) || (tt.wantErr == nil && r.Err() != nil) {
				t.Fatalf("got %v, want %v", r.Err(), tt.wantErr)
			}
			got, err := x.f.GetObject("b", "k")
			garbage, _ := x.f.GarbageList(0, 0)
			switch {
			case tt.wantErr != nil && tt.exists:
				if err != nil || got.VersionID != v1.VersionID || len(garbage) != 0 {
					t.Errorf("failed commit changed state: %v %v garbage=%d", got, err, len(garbage))
				}
			case tt.wantErr != nil:
				if !errors.Is(err, meta.ErrObjectNotFound) {
					t.Errorf("failed commit created the key: %v", err)
				}
			default:
				if err != nil || got.VersionID != v2.VersionID || got.Size != 20 {
					t.Fatalf("GetObject = %+v, %v", got, err)
				}
				if tt.exists != (r.Replaced == v1.VersionID) {
					t.Errorf("Replaced = %v", r.Replaced)
				}
				if tt.exists != (len(garbage) == 1) {
					t.Errorf("garbage %v", garbage)
				}
				if tt.exists && (garbage[0].VersionID != v1.VersionID || garbage[0].Reason != meta.ReasonOverwritten ||
					len(garbage[0].Pieces) != 1 || len(garbage[0].Pieces[0].Shards) != 6) {
					t.Errorf("garbage item %+v", garbage[0])
				}
			}
		})
	}
}

func TestCommitSameVersionIsNoop(t *testing.T) {
	x := newTester(t)
	x.ok(bucket("b"))
	v := version("b", "k", id(1), 10, 1)
	x.ok(&meta.CommitObject{Version: v})
	r := x.ok(&meta.CommitObject{Version: v, IfNoneMatch: true})
	if !r.Replaced.IsZero() {
		t.Errorf("Replaced = %v", r.Replaced)
	}
	if g, _ := x.f.GarbageList(0, 0); len(g) != 0 {
		t.Errorf("re-commit garbaged its own shards: %v", g)
	}
	if c, _ := x.f.Census(); c[1] != 1 {
		t.Errorf("census %v", c)
	}
}

func TestDeleteObjectAndACL(t *testing.T) {
	x := newTester(t)
	x.ok(bucket("b"))
	v := version("b", "k", id(1), 10, 1)
	x.ok(&meta.CommitObject{Version: v})
	wrong := id(7)
	x.fail(&meta.PutObjectACL{Bucket: "b", Key: "k", ExpectCurrent: &wrong}, meta.ErrPreconditionFailed)
	x.ok(&meta.PutObjectACL{Bucket: "b", Key: "k", ExpectCurrent: &v.VersionID, ACL: meta.ACL{Canned: "public-read"}})
	got, _ := x.f.GetObject("b", "k")
	if got.ACL.Canned != "public-read" {
		t.Errorf("ACL %+v", got.ACL)
	}
	x.fail(&meta.PutObjectACL{Bucket: "b", Key: "nope"}, meta.ErrObjectNotFound)
	x.fail(&meta.DeleteObject{Bucket: "b", Key: "k", IfMatch: "nope"}, meta.ErrPreconditionFailed)
	x.fail(&meta.DeleteObject{Bucket: "b", Key: "k", ExpectCurrent: &wrong}, meta.ErrPreconditionFailed)
	r := x.ok(&meta.DeleteObject{Bucket: "b", Key: "k", IfMatch: v.ETag})
	if r.Replaced != v.VersionID {
		t.Errorf("Replaced %v", r.Replaced)
	}
	x.fail(&meta.DeleteObject{Bucket: "b", Key: "k"}, meta.ErrObjectNotFound)
	x.fail(&meta.DeleteObject{Bucket: "nob", Key: "k"}, meta.ErrBucketNotFound)
	if _, err := x.f.GetObject("b", "k"); !errors.Is(err, meta.ErrObjectNotFound) {
		t.Errorf("GetObject after delete: %v", err)
	}
	if _, err := x.f.GetObject("nob", "k"); !errors.Is(err, meta.ErrBucketNotFound) {
		t.Errorf("GetObject in missing bucket: %v", err)
	}
	g, _ := x.f.GarbageList(0, 0)
	if len(g) != 1 || g[0].Reason != meta.ReasonDeleted || g[0].Seq != 1 {
		t.Errorf("garbage %+v", g)
	}
	st, _ := x.f.Stats()
	if st.Objects != 0 || st.Bytes != 0 || st.Garbage != 1 {
		t.Errorf("stats %+v", st)
	}
	if c, _ := x.f.Census(); len(c) != 0 {
		t.Errorf("census %v", c)
	}
}

func part(n int, sid meta.ID, size int64) meta.Part {
	return meta.Part{Number: n, ShardsID: sid, Size: size, ETag: "p" + string(rune('0'+n)), CRC64: uint64(n), Layout: layout()}
}

func TestMultipart(t *testing.T) {
	x := newTester(t)
	x.ok(bucket("b"))
	up := id(0xA1)
	sse := meta.SSE{Mode: meta.ModeNone, SealedDEK: []byte("updek"), MasterKeyVersion: 2}
	x.fail(&meta.InitiateUpload{Upload: meta.Upload{UploadID: up, Bucket: "nob", Key: "k", SSE: sse}}, meta.ErrBucketNotFound)
	x.ok(&meta.InitiateUpload{Upload: meta.Upload{UploadID: up, Bucket: "b", Key: "k", SSE: sse, ContentType: "video/mp4", Owner: "o"}})
	x.fail(&meta.InitiateUpload{Upload: meta.Upload{UploadID: up, Bucket: "b", Key: "k", SSE: sse}}, meta.ErrConflict)
	if c, _ := x.f.Census(); c[2] != 1 {
		t.Fatalf("census after initiate %v", c)
	}
	x.fail(&meta.PutPart{Bucket: "b", Key: "k", UploadID: id(0xFF), Part: part(1, id(1), 5)}, meta.ErrUploadNotFound)
	x.fail(&meta.PutPart{Bucket: "b", Key: "other", UploadID: up, Part: part(1, id(1), 5)}, meta.ErrUploadNotFound)
	x.ok(&meta.PutPart{Bucket: "b", Key: "k", UploadID: up, Part: part(1, id(1), 100)})
	x.ok(&meta.PutPart{Bucket: "b", Key: "k", UploadID: up, Part: part(2, id(2), 100)})
	x.ok(&meta.PutPart{Bucket: "b", Key: "k", UploadID: up, Part: part(3, id(3), 7)})
	x.ok(&meta.PutPart{Bucket: "b", Key: "k", UploadID: up, Part: part(4, id(4), 50)})
	// Replace part 2: the old shards become garbage; the same ShardsID again does not.
	x.ok(&meta.PutPart{Bucket: "b", Key: "k", UploadID: up, Part: part(2, id(22), 100)})
	x.ok(&meta.PutPart{Bucket: "b", Key: "k", UploadID: up, Part: part(2, id(22), 100)})
	g, _ := x.f.GarbageList(0, 0)
	if len(g) != 1 || g[0].Reason != meta.ReasonPartReplace || g[0].Pieces[0].ShardsID != id(2) || g[0].Pieces[0].Part != 2 {
		t.Fatalf("garbage after part replace: %+v", g)
	}

	lp, err := x.f.ListParts("b", "k", up, meta.ListPartsOptions{MaxParts: 2})
	if err != nil || len(lp.Parts) != 2 || !lp.IsTruncated || lp.NextPartNumberMarker != 2 {
		t.Fatalf("ListParts page 1 = %+v, %v", lp, err)
	}
	lp, _ = x.f.ListParts("b", "k", up, meta.ListPartsOptions{PartNumberMarker: 2})
	if len(lp.Parts) != 2 || lp.Parts[0].Number != 3 || lp.IsTruncated {
		t.Fatalf("ListParts page 2 = %+v", lp)
	}
	if _, err := x.f.ListParts("b", "k", id(0xFF), meta.ListPartsOptions{}); !errors.Is(err, meta.ErrUploadNotFound) {
		t.Errorf("ListParts unknown upload: %v", err)
	}

	complete := func(parts ...meta.CompletePart) *meta.CompleteUpload {
		return &meta.CompleteUpload{Bucket: "b", Key: "k", UploadID: up, Parts: parts, VersionID: id(0xB1),
			ETag: "multi-2", CRC64: 42, Created: 77, MinPartBytes: 10}
	}
	x.fail(complete(cp(2, "p2"), cp(1, "p1")), meta.ErrInvalidPartOrder)
	x.fail(complete(cp(1, "p1"), cp(1, "p1")), meta.ErrInvalidPartOrder)
	x.fail(complete(cp(1, "p1"), cp(5, "p5")), meta.ErrInvalidPart)
	x.fail(complete(cp(1, "wrong")), meta.ErrInvalidPart)
	x.fail(complete(cp(3, "p3"), cp(4, "p4")), meta.ErrEntityTooSmall)
	c := complete(cp(1, `"p1"`), cp(2, "p2"), cp(4, "p4"))
	c.UploadID = id(0xFE)
	x.fail(c, meta.ErrUploadNotFound)

	// An existing object is replaced by the completed one.
	old := version("b", "k", id(0xC1), 3, 1)
	x.ok(&meta.CommitObject{Version: old})
	c.UploadID = up
	r := x.ok(c)
	if r.Replaced != old.VersionID || r.Version == nil {
		t.Fatalf("complete result %+v", r)
	}
	got, err := x.f.GetObject("b", "k")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(r.Version, got); diff != "" {
		t.Errorf("result version differs from stored (-result +stored):\n%s", diff)
	}
	if got.Size != 250 || len(got.Parts) != 3 || got.Parts[1].ShardsID != id(22) || got.Parts[2].Number != 4 ||
		got.ContentType != "video/mp4" || got.SSE.MasterKeyVersion != 2 || got.ETag != "multi-2" || got.Created != 77 {
		t.Errorf("completed version %+v", got)
	}
	if _, err := x.f.GetUpload("b", "k", up); !errors.Is(err, meta.ErrUploadNotFound) {
		t.Errorf("upload still present: %v", err)
	}
	g, _ = x.f.GarbageList(1, 0)
	if len(g) != 2 || g[0].Reason != meta.ReasonPartUnused || len(g[0].Pieces) != 1 || g[0].Pieces[0].Part != 3 ||
		g[1].Reason != meta.ReasonOverwritten || g[1].VersionID != old.VersionID {
		t.Fatalf("garbage after complete %+v", g)
	}
	if cen, _ := x.f.Census(); len(cen) != 1 || cen[2] != 1 {
		t.Errorf("census after complete %v", cen)
	}
	// A retry of the completion under a new request id succeeds without change.
	r2 := x.ok(c)
	if r2.VersionID != id(0xB1) {
		t.Errorf("retry result %+v", r2)
	}
	// Healing a part of the multipart object.
	x.fail(&meta.UpdateLayout{Bucket: "b", Key: "k", VersionID: id(0xB1), Part: 3, Nodes: layout().Nodes}, meta.ErrInvalidPart)
	x.fail(&meta.UpdateLayout{Bucket: "b", Key: "k", VersionID: id(0xB1), Part: 0, Nodes: layout().Nodes}, meta.ErrInvalidPart)
	r = x.ok(&meta.UpdateLayout{Bucket: "b", Key: "k", VersionID: id(0xB1), Part: 4, Nodes: []string{"n1", "n2", "n3", "n9", "n5", "n6"}})
	got, _ = x.f.GetObject("b", "k")
	if r.Epoch != 1 || got.Parts[2].Layout.Nodes[3] != "n9" || got.Parts[2].Layout.Epoch != 1 {
		t.Errorf("healed part layout %+v", got.Parts[2].Layout)
	}

	// Abort enqueues every part.
	up2 := id(0xA2)
	x.ok(&meta.InitiateUpload{Upload: meta.Upload{UploadID: up2, Bucket: "b", Key: "k2", SSE: sse}})
	x.ok(&meta.PutPart{Bucket: "b", Key: "k2", UploadID: up2, Part: part(1, id(0x31), 100)})
	x.ok(&meta.PutPart{Bucket: "b", Key: "k2", UploadID: up2, Part: part(2, id(0x32), 100)})
	x.fail(&meta.AbortUpload{Bucket: "b", Key: "k2", UploadID: up}, meta.ErrUploadNotFound)
	x.ok(&meta.AbortUpload{Bucket: "b", Key: "k2", UploadID: up2})
	g, _ = x.f.GarbageList(0, 0)
	last := g[len(g)-1]
	if last.Reason != meta.ReasonAborted || len(last.Pieces) != 2 || last.VersionID != up2 {
		t.Errorf("abort garbage %+v", last)
	}
	if lp, err := x.f.ListParts("b", "k2", up2, meta.ListPartsOptions{}); !errors.Is(err, meta.ErrUploadNotFound) {
		t.Errorf("parts after abort: %+v %v", lp, err)
	}
	st, _ := x.f.Stats()
	if st.Uploads != 0 || st.Objects != 1 || st.Bytes != 250 {
		t.Errorf("stats %+v", st)
	}
	if cen, _ := x.f.Census(); len(cen) != 1 || cen[2] != 1 {
		t.Errorf("census after abort %v", cen)
	}
	if err := x.f.Check(); err != nil {
		t.Error(err)
	}
}

func cp(n int, etag string) meta.CompletePart { return meta.CompletePart{Number: n, ETag: etag} }

func TestUsers(t *testing.T) {
	x := newTester(t)
	u := meta.User{AccessKeyID: "AKID1", SealedSecret: []byte("sealed"), ID: "100", DisplayName: "alice", Admin: true}
	x.ok(&meta.PutUser{User: u, IfAbsent: true})
	x.fail(&meta.PutUser{User: u, IfAbsent: true}, meta.ErrUserExists)
	u.DisplayName = "alice2"
	x.ok(&meta.PutUser{User: u})
	x.ok(&meta.PutUser{User: meta.User{AccessKeyID: "AKID0", SealedSecret: []byte("s"), ID: "101"}})
	got, err := x.f.GetUser("AKID1")
	if err != nil || got.DisplayName != "alice2" || !got.Admin {
		t.Fatalf("GetUser = %+v, %v", got, err)
	}
	all, _ := x.f.ListUsers()
	if len(all) != 2 || all[0].AccessKeyID != "AKID0" {
		t.Errorf("ListUsers %+v", all)
	}
	x.ok(&meta.DeleteUser{AccessKeyID: "AKID1"})
	x.fail(&meta.DeleteUser{AccessKeyID: "AKID1"}, meta.ErrUserNotFound)
	if _, err := x.f.GetUser("AKID1"); !errors.Is(err, meta.ErrUserNotFound) {
		t.Errorf("GetUser after delete: %v", err)
	}
}

func TestKeyRingAndRewrap(t *testing.T) {
	x := newTester(t)
	x.ok(bucket("b"))
	r := x.ok(&meta.SetKeyRing{ExpectEpoch: 0, Sealed: []byte("ring1"), Active: 1})
	if r.Epoch != 1 {
		t.Fatalf("epoch %d", r.Epoch)
	}
	x.fail(&meta.SetKeyRing{ExpectEpoch: 0, Sealed: []byte("ring2"), Active: 2}, meta.ErrConflict)
	x.ok(&meta.SetKeyRing{ExpectEpoch: 1, Sealed: []byte("ring2"), Active: 2})
	ring, _ := x.f.KeyRing()
	if ring.Epoch != 2 || ring.Active != 2 || string(ring.Sealed) != "ring2" {
		t.Fatalf("ring %+v", ring)
	}
	for i := byte(1); i <= 3; i++ {
		x.ok(&meta.CommitObject{Version: version("b", "k"+string(rune('0'+i)), id(i), 1, 1)})
	}
	kms := version("b", "kms", id(9), 1, 0)
	kms.SSE = meta.SSE{Mode: meta.ModeSSEKMS, SealedDEK: []byte("x"), CMKID: "cmk"}
	x.ok(&meta.CommitObject{Version: kms})
	x.ok(&meta.InitiateUpload{Upload: meta.Upload{UploadID: id(0x50), Bucket: "b", Key: "up", SSE: meta.SSE{Mode: meta.ModeSSECOS, SealedDEK: []byte("u"), MasterKeyVersion: 1}}})
	if c, _ := x.f.Census(); c[1] != 4 || len(c) != 1 {
		t.Fatalf("census %v", c)
	}
	x.fail(&meta.SetKeyRing{ExpectEpoch: 2, Sealed: []byte("ring3"), Active: 2, Retire: []uint32{1}}, meta.ErrKeyInUse)

	refs, err := x.f.VersionsByMasterKey(1, nil, 2)
	if err != nil || len(refs) != 2 || refs[0].Key != "k1" || refs[1].Key != "k2" || string(refs[0].SealedDEK) != "dek-\x01\x00" {
		t.Fatalf("VersionsByMasterKey page 1 = %+v, %v", refs, err)
	}
	more, _ := x.f.VersionsByMasterKey(1, &refs[1], 10)
	if len(more) != 2 || more[0].Key != "k3" || !more[1].Upload || more[1].VersionID != id(0x50) {
		t.Fatalf("VersionsByMasterKey page 2 = %+v", more)
	}
	all := append(refs, more...)
	items := make([]meta.RewrapItem, 0, len(all)+1)
	for _, ref := range all {
		items = append(items, meta.RewrapItem{Bucket: ref.Bucket, Key: ref.Key, VersionID: ref.VersionID, Upload: ref.Upload,
			OldSealedDEK: ref.SealedDEK, NewSealedDEK: append([]byte("new-"), ref.SealedDEK...), NewMasterKeyVersion: 2})
	}
	// Stale items are skipped: a changed DEK, a replaced version, a KMS object.
	items[0].OldSealedDEK = []byte("stale")
	items = append(items, meta.RewrapItem{Bucket: "b", Key: "kms", VersionID: id(9), OldSealedDEK: []byte("x"), NewSealedDEK: []byte("y"), NewMasterKeyVersion: 2})
	x.ok(&meta.CommitObject{Version: version("b", "k2", id(0x22), 1, 2)})
	r = x.ok(&meta.Rewrap{Items: items})
	if r.Count != 2 {
		t.Errorf("rewrapped %d, want 2 (k3 and the upload)", r.Count)
	}
	c, _ := x.f.Census()
	if c[1] != 1 || c[2] != 3 {
		t.Errorf("census after rewrap %v", c)
	}
	k3, _ := x.f.GetObject("b", "k3")
	if k3.SSE.MasterKeyVersion != 2 || string(k3.SSE.SealedDEK) != "new-dek-\x03\x00" {
		t.Errorf("k3 sse %+v", k3.SSE)
	}
	up, _ := x.f.GetUpload("b", "up", id(0x50))
	if up.SSE.MasterKeyVersion != 2 {
		t.Errorf("upload sse %+v", up.SSE)
	}
	if refs, _ := x.f.VersionsByMasterKey(1, nil, 0); len(refs) != 1 || refs[0].Key != "k1" {
		t.Errorf("left under version 1: %+v", refs)
	}
	x.ok(&meta.Rewrap{Items: []meta.RewrapItem{{Bucket: "b", Key: "k1", VersionID: id(1), OldSealedDEK: []byte("dek-\x01\x00"), NewSealedDEK: []byte("n"), NewMasterKeyVersion: 2}}})
	x.ok(&meta.SetKeyRing{ExpectEpoch: 2, Sealed: []byte("ring3"), Active: 2, Retire: []uint32{1}})
	// A retired version gains no users: commits, uploads and rewraps under it fail.
	x.fail(&meta.CommitObject{Version: version("b", "late", id(0x31), 1, 1)}, meta.ErrKeyRetired)
	x.fail(&meta.InitiateUpload{Upload: meta.Upload{UploadID: id(0x32), Bucket: "b", Key: "late", SSE: meta.SSE{Mode: meta.ModeNone, SealedDEK: []byte("d"), MasterKeyVersion: 1}}}, meta.ErrKeyRetired)
	x.fail(&meta.Rewrap{Items: []meta.RewrapItem{{Bucket: "b", Key: "k3", VersionID: id(3), OldSealedDEK: []byte("new-dek-\x03\x00"), NewSealedDEK: []byte("z"), NewMasterKeyVersion: 1}}}, meta.ErrKeyRetired)
	x.fail(&meta.SetKeyRing{ExpectEpoch: 3, Sealed: []byte("ring4"), Active: 1}, meta.ErrKeyRetired)
	kmsLate := version("b", "late", id(0x33), 1, 1)
	kmsLate.SSE = meta.SSE{Mode: meta.ModeSSEKMS, SealedDEK: []byte("x"), CMKID: "cmk", MasterKeyVersion: 1}
	x.ok(&meta.CommitObject{Version: kmsLate}) // not sealed by the ring: unaffected
	x.fail(&meta.SetKeyRing{ExpectEpoch: 3, Sealed: []byte("ring4"), Active: 3, Retire: []uint32{2}}, meta.ErrKeyInUse)
	ring, _ = x.f.KeyRing()
	if !slices.Equal(ring.Retired, []uint32{1}) {
		t.Errorf("retired %v", ring.Retired)
	}
	// Retirement survives a restart.
	x.f.Close()
	f, err := Open(Config{Dir: "/fsm", FS: x.fs})
	if err != nil {
		t.Fatal(err)
	}
	x.f = f
	x.fail(&meta.CommitObject{Version: version("b", "later", id(0x34), 1, 1)}, meta.ErrKeyRetired)
	if err := x.f.Check(); err != nil {
		t.Error(err)
	}
}

func TestCMKs(t *testing.T) {
	x := newTester(t)
	k := meta.CMK{ID: "k1", Alias: "a", Origin: meta.OriginCoffer, State: meta.CMKEnabled, SealedMaterial: []byte("m"), Created: 5}
	r := x.ok(&meta.PutCMK{CMK: k})
	if r.Epoch != 1 {
		t.Fatalf("revision %d", r.Epoch)
	}
	x.fail(&meta.PutCMK{CMK: k}, meta.ErrConflict)
	x.fail(&meta.PutCMK{CMK: meta.CMK{ID: "zz", Origin: meta.OriginCoffer, State: meta.CMKEnabled}, ExpectRevision: 1}, meta.ErrCMKNotFound)
	k.State = meta.CMKDisabled
	x.fail(&meta.PutCMK{CMK: k, ExpectRevision: 5}, meta.ErrConflict)
	x.ok(&meta.PutCMK{CMK: k, ExpectRevision: 1})
	got, err := x.f.GetCMK("k1")
	if err != nil || got.State != meta.CMKDisabled || got.Revision != 2 {
		t.Fatalf("GetCMK %+v %v", got, err)
	}
	x.ok(&meta.PutCMK{CMK: meta.CMK{ID: "k0", Origin: meta.OriginExternal, State: meta.CMKPendingImport}})
	if all, _ := x.f.ListCMKs(); len(all) != 2 || all[0].ID != "k0" {
		t.Errorf("ListCMKs %+v", all)
	}
	// Aliases are unique.
	x.fail(&meta.PutCMK{CMK: meta.CMK{ID: "k2", Alias: "a", Origin: meta.OriginCoffer, State: meta.CMKEnabled}}, meta.ErrConflict)
	if byAlias, err := x.f.GetCMKByAlias("a"); err != nil || byAlias.ID != "k1" {
		t.Errorf("GetCMKByAlias = %+v, %v", byAlias, err)
	}
	if _, err := x.f.GetCMKByAlias("nope"); !errors.Is(err, meta.ErrCMKNotFound) {
		t.Errorf("GetCMKByAlias(nope) = %v", err)
	}
	x.fail(&meta.DeleteCMK{ID: "k1", ExpectRevision: 1}, meta.ErrConflict)
	x.ok(&meta.DeleteCMK{ID: "k1", ExpectRevision: 2})
	x.fail(&meta.DeleteCMK{ID: "k1", ExpectRevision: 2}, meta.ErrCMKNotFound)
	if _, err := x.f.GetCMK("k1"); !errors.Is(err, meta.ErrCMKNotFound) {
		t.Errorf("GetCMK after delete: %v", err)
	}
}

func TestLayoutAndGarbage(t *testing.T) {
	x := newTester(t)
	nodes := []meta.StorageNode{{ID: "n2", Zone: "z", State: meta.NodeActive}, {ID: "n1", Zone: "z", State: meta.NodeDraining, CapacityBytes: 5}}
	r := x.ok(&meta.SetLayout{Layout: meta.ClusterLayout{Nodes: nodes, DefaultK: 4, DefaultM: 2}})
	if r.Epoch != 1 {
		t.Fatal(r.Epoch)
	}
	x.fail(&meta.SetLayout{Layout: meta.ClusterLayout{Nodes: nodes}}, meta.ErrConflict)
	l, _ := x.f.Layout()
	if l.Epoch != 1 || l.Nodes[0].ID != "n1" || l.DefaultK != 4 {
		t.Errorf("layout %+v", l)
	}

	x.ok(bucket("b"))
	v := version("b", "k", id(1), 1, 1)
	v.Layout.Missing = []int{5}
	x.ok(&meta.CommitObject{Version: v})
	heal := &meta.UpdateLayout{Bucket: "b", Key: "k", VersionID: id(1), ExpectEpoch: 0,
		Nodes: []string{"n1", "n2", "n7", "n4", "n5", "n8"}}
	x.fail(&meta.UpdateLayout{Bucket: "b", Key: "k", VersionID: id(2), Nodes: heal.Nodes}, meta.ErrObjectNotFound)
	x.fail(&meta.UpdateLayout{Bucket: "b", Key: "k", VersionID: id(1), Nodes: heal.Nodes[:3]}, meta.ErrInvalidArgument)
	x.ok(heal)
	x.fail(heal, meta.ErrConflict)
	got, _ := x.f.GetObject("b", "k")
	if got.Layout.Epoch != 1 || got.Layout.Nodes[2] != "n7" || len(got.Layout.Missing) != 0 {
		t.Errorf("healed layout %+v", got.Layout)
	}
	g, _ := x.f.GarbageList(0, 0)
	// Only shard 2 moved off a node that held it; shard 5 was missing before.
	if len(g) != 1 || g[0].Reason != meta.ReasonHealed || len(g[0].Pieces[0].Shards) != 1 ||
		g[0].Pieces[0].Shards[0] != (meta.ShardLoc{Index: 2, Node: "n3"}) {
		t.Fatalf("heal garbage %+v", g)
	}
	for i := byte(2); i < 6; i++ {
		x.ok(&meta.CommitObject{Version: version("b", "k", id(i), 1, 1)})
	}
	g, _ = x.f.GarbageList(0, 2)
	if len(g) != 2 || g[0].Seq != 1 || g[1].Seq != 2 {
		t.Fatalf("GarbageList page %+v", g)
	}
	g, _ = x.f.GarbageList(2, 0)
	if len(g) != 3 || g[0].Seq != 3 {
		t.Fatalf("GarbageList after 2: %+v", g)
	}
	r = x.ok(&meta.RemoveGarbage{Seqs: []uint64{1, 3, 3, 99}})
	if r.Count != 2 {
		t.Errorf("removed %d", r.Count)
	}
	g, _ = x.f.GarbageList(0, 0)
	if len(g) != 3 || g[0].Seq != 2 || g[1].Seq != 4 {
		t.Errorf("garbage after remove %+v", g)
	}
	st, _ := x.f.Stats()
	if st.Garbage != 3 {
		t.Errorf("stats garbage %d", st.Garbage)
	}
	if err := x.f.Check(); err != nil {
		t.Error(err)
	}
}

func TestIdempotentRequest(t *testing.T) {
	x := newTesterCfg(t, Config{RequestWindow: 16})
	x.ok(bucket("b"))
	rid := id(0x77, 1)
	v := version("b", "k", id(1), 10, 1)
	r1 := x.applyID(rid, &meta.CommitObject{Version: v})
	x.ok(&meta.CommitObject{Version: version("b", "k", id(2), 20, 1)})
	before := dump(t, x.f)
	// The repeat returns the stored result and changes nothing, even though applying
	// it again would now replace version 2.
	r2 := x.applyID(rid, &meta.CommitObject{Version: v})
	if diff := cmp.Diff(r1, r2); diff != "" {
		t.Fatalf("repeat result differs:\n%s", diff)
	}
	after := dump(t, x.f)
	// Only the applied index moved.
	if len(before) != len(after) {
		t.Fatalf("repeat changed the key count %d -> %d", len(before), len(after))
	}
	for i := range before {
		if before[i][0] != string(kApplied) && before[i] != after[i] {
			t.Fatalf("repeat changed key %q", before[i][0])
		}
	}
	// A failed command is remembered too.
	rf := x.applyID(id(0x77, 2), bucket("b"))
	if !errors.Is(rf.Err(), meta.ErrBucketExists) {
		t.Fatal(rf.Err())
	}
	x.ok(&meta.DeleteObject{Bucket: "b", Key: "k"})
	if r := x.applyID(id(0x77, 2), bucket("b")); !errors.Is(r.Err(), meta.ErrBucketExists) || r.Index != rf.Index {
		t.Fatalf("repeat of a failure %+v", r)
	}
	// Past the window the id is forgotten and the command applies again.
	for range 20 {
		x.ok(&meta.PutUser{User: meta.User{AccessKeyID: "a", ID: "u", SealedSecret: []byte{1}}})
	}
	r3 := x.applyID(rid, &meta.CommitObject{Version: v})
	if r3.Err() != nil || r3.Index == r1.Index {
		t.Fatalf("after the window: %+v", r3)
	}
	// Expired ids were collected.
	n := 0
	for _, kv := range dump(t, x.f) {
		if kv[0][0] == pRequest {
			n++
		}
	}
	if n > 18 {
		t.Errorf("%d request ids kept with a window of 16", n)
	}
}

func TestSkipAppliedAndRestart(t *testing.T) {
	fs := vfs.NewMem()
	x := newTesterCfg(t, Config{FS: fs})
	x.ok(bucket("b"))
	e := x.entry(x.nextReq(), &meta.CommitObject{Version: version("b", "k", id(1), 10, 1)})
	if r := x.f.Apply(e).(*meta.Result); r.Err() != nil {
		t.Fatal(r.Err())
	}
	if x.f.AppliedIndex() != 2 {
		t.Fatalf("applied %d", x.f.AppliedIndex())
	}
	if err := x.f.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := Open(Config{Dir: "/fsm", FS: fs})
	if err != nil {
		t.Fatal(err)
	}
	x.f = f
	if f.AppliedIndex() != 2 {
		t.Fatalf("applied after reopen %d", f.AppliedIndex())
	}
	// Raft replays the tail: entry 2 is skipped (and answered from the request table),
	// a never-seen command at an old index is not applied.
	before := dump(t, f)
	r := f.Apply(e).(*meta.Result)
	if r.Err() != nil || r.Index != 2 {
		t.Errorf("replayed entry result %+v", r)
	}
	old := &raft.Log{Index: 1, Type: raft.LogCommand}
	old.Data, _ = meta.EncodeCommand(id(0x99), bucket("c"))
	if r := f.Apply(old).(*meta.Result); !errors.Is(r.Err(), meta.ErrStale) {
		t.Errorf("old index result %v", r.Err())
	}
	if diff := cmp.Diff(before, dump(t, f)); diff != "" {
		t.Errorf("skipped entries changed state:\n%s", diff)
	}
	// Mixed batch: old entries skipped, new ones applied; configuration entries
	// advance the index and get nil.
	x.idx = 2
	batch := []*raft.Log{e, {Index: 3, Type: raft.LogConfiguration}, x.entry(x.nextReq(), bucket("c"))}
	batch[2].Index = 4
	out := f.ApplyBatch(batch)
	if out[1] != nil || out[2].(*meta.Result).Err() != nil || f.AppliedIndex() != 4 {
		t.Errorf("batch results %v applied %d", out, f.AppliedIndex())
	}
	if _, err := f.GetBucket("c"); err != nil {
		t.Error(err)
	}
	// Counters survive the restart: stats, and garbage numbering continues.
	x.idx = f.AppliedIndex()
	x.ok(&meta.CommitObject{Version: version("b", "k", id(2), 30, 1)})
	x.ok(&meta.CommitObject{Version: version("b", "k", id(3), 40, 1)})
	f.Close()
	if f, err = Open(Config{Dir: "/fsm", FS: fs}); err != nil {
		t.Fatal(err)
	}
	x.f = f
	x.ok(&meta.CommitObject{Version: version("b", "k", id(4), 50, 1)})
	g, _ := f.GarbageList(0, 0)
	if len(g) != 3 || g[2].Seq != 3 || g[2].VersionID != id(3) {
		t.Errorf("garbage after restarts %+v", g)
	}
	if st, _ := f.Stats(); st.Objects != 1 || st.Bytes != 50 || st.Buckets != 2 || st.Garbage != 3 {
		t.Errorf("stats after restarts %+v", st)
	}
}

func TestMalformedEntries(t *testing.T) {
	x := newTester(t)
	enc, _ := meta.EncodeCommand(meta.ID{}, bucket("b"))
	cases := [][]byte{nil, []byte("garbage"), enc[:len(enc)-2], enc}
	for i, data := range cases {
		r := x.f.Apply(&raft.Log{Index: uint64(i + 1), Type: raft.LogCommand, Data: data}).(*meta.Result)
		if r.Err() == nil {
			t.Errorf("case %d accepted", i)
		}
	}
	if x.f.AppliedIndex() != uint64(len(cases)) {
		t.Errorf("applied %d", x.f.AppliedIndex())
	}
	if b, _ := x.f.ListBuckets(""); len(b) != 0 {
		t.Errorf("buckets %v", b)
	}
}

func TestBatchSeesEarlierCommands(t *testing.T) {
	x := newTester(t)
	var logs []*raft.Log
	logs = append(logs, x.entry(x.nextReq(), bucket("b")))
	for i := byte(1); i <= 5; i++ {
		logs = append(logs, x.entry(x.nextReq(), &meta.CommitObject{Version: version("b", "k", id(i), int64(i), 1)}))
	}
	// The same request id twice in one batch: the second is answered from the table.
	rid := x.nextReq()
	logs = append(logs, x.entry(rid, bucket("c")), x.entry(rid, bucket("c")))
	out := x.f.ApplyBatch(logs)
	if a, b := out[6].(*meta.Result), out[7].(*meta.Result); a.Index != b.Index {
		t.Errorf("duplicate in batch applied twice: %+v %+v", a, b)
	}
	for i, o := range out {
		if err := o.(*meta.Result).Err(); err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
	}
	if out[5].(*meta.Result).Replaced != id(4) {
		t.Errorf("last replaced %v", out[5].(*meta.Result).Replaced)
	}
	st, _ := x.f.Stats()
	g, _ := x.f.GarbageList(0, 0)
	if st.Objects != 1 || st.Bytes != 5 || len(g) != 4 {
		t.Errorf("stats %+v garbage %d", st, len(g))
	}
}

func TestOpenRejectsForeignDirectory(t *testing.T) {
	fs := vfs.NewMem()
	if err := fs.MkdirAll("/x", 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := fs.Create("/x/CURRENT", vfs.WriteCategoryUnspecified)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("something else"))
	f.Close()
	if _, err := Open(Config{Dir: "/x", FS: fs}); !errors.Is(err, ErrNotOurs) {
		t.Errorf("Open = %v, want ErrNotOurs", err)
	}
	// CURRENT names a generation whose directory is gone: refuse, do not start empty.
	x := newTesterCfg(t, Config{FS: fs, Dir: "/y"})
	x.ok(bucket("b"))
	x.f.Close()
	if err := fs.RemoveAll("/y/db-0"); err != nil {
		t.Fatal(err)
	}
	if f, err := Open(Config{Dir: "/y", FS: fs}); err == nil {
		f.Close()
		t.Error("Open created an empty database over a lost generation")
	}
}

func TestScanVersions(t *testing.T) {
	x := newTester(t)
	x.ok(bucket("a"))
	x.ok(bucket("ab"))
	x.ok(bucket("b"))
	want := []string{"a/k1", "a/k2", "a/k2/x", "ab/k", "b/z"}
	for i, bk := range want {
		b, k, _ := strings.Cut(bk, "/")
		x.ok(&meta.CommitObject{Version: version(b, k, id(byte(i+1)), 1, 1)})
	}
	var got []string
	var ab, ak string
	for {
		page, err := x.f.ScanVersions(ab, ak, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range page {
			got = append(got, v.Bucket+"/"+v.Key)
		}
		if len(page) < 2 {
			break
		}
		ab, ak = page[len(page)-1].Bucket, page[len(page)-1].Key
	}
	if !slices.Equal(got, want) {
		t.Errorf("ScanVersions pages = %v, want %v", got, want)
	}
	if _, live, _ := x.f.ShardsOwner(id(3)); !live {
		t.Error("committed version's shards not live")
	}
	x.ok(&meta.DeleteObject{Bucket: "a", Key: "k2/x"})
	if _, live, _ := x.f.ShardsOwner(id(3)); live {
		t.Error("deleted version's shards still live")
	}
}

func TestOpenRemovesLeftoverGenerations(t *testing.T) {
	fs := vfs.NewMem()
	x := newTesterCfg(t, Config{FS: fs})
	x.ok(bucket("b"))
	x.f.Close()
	// A restore that crashed before switching CURRENT leaves its generation behind.
	if err := fs.MkdirAll("/fsm/db-7", 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := Open(Config{Dir: "/fsm", FS: fs})
	if err != nil {
		t.Fatal(err)
	}
	x.f = f
	if _, err := f.GetBucket("b"); err != nil {
		t.Error(err)
	}
	names, _ := fs.List("/fsm")
	if slices.Contains(names, "db-7") {
		t.Errorf("leftover generation kept: %v", names)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close = %v", err)
	}
	if _, err := f.GetBucket("b"); !errors.Is(err, ErrClosed) {
		t.Errorf("read after Close = %v", err)
	}
	if r := f.Apply(x.entry(x.nextReq(), bucket("c"))).(*meta.Result); r.Code != meta.CodeInternal {
		t.Errorf("apply after Close = %+v", r)
	}
	if _, err := f.Snapshot(); !errors.Is(err, ErrClosed) {
		t.Errorf("snapshot after Close = %v", err)
	}
}

func TestCompleteRepeatOmitsVersion(t *testing.T) {
	x := newTester(t)
	x.ok(bucket("b"))
	sse := meta.SSE{Mode: meta.ModeSSECOS, SealedDEK: []byte("d"), MasterKeyVersion: 1}
	x.ok(&meta.InitiateUpload{Upload: meta.Upload{UploadID: id(1), Bucket: "b", Key: "k", SSE: sse}})
	x.ok(&meta.PutPart{Bucket: "b", Key: "k", UploadID: id(1), Part: part(1, id(2), 10)})
	c := &meta.CompleteUpload{Bucket: "b", Key: "k", UploadID: id(1), Parts: []meta.CompletePart{cp(1, "p1")}, VersionID: id(3)}
	rid := id(0x42)
	first := x.applyID(rid, c)
	again := x.applyID(rid, c)
	if first.Err() != nil || first.Version == nil || again.Version != nil || again.VersionID != first.VersionID || again.Index != first.Index {
		t.Errorf("first %+v, repeat %+v", first, again)
	}
}

func TestUploadIDsArePerKey(t *testing.T) {
	x := newTester(t)
	x.ok(bucket("b"))
	sse := meta.SSE{Mode: meta.ModeSSECOS, SealedDEK: []byte("d"), MasterKeyVersion: 1}
	for _, k := range []string{"k1", "k2"} {
		x.ok(&meta.InitiateUpload{Upload: meta.Upload{UploadID: id(1), Bucket: "b", Key: k, SSE: sse}})
	}
	x.ok(&meta.PutPart{Bucket: "b", Key: "k1", UploadID: id(1), Part: part(1, id(0x11), 10)})
	x.ok(&meta.PutPart{Bucket: "b", Key: "k2", UploadID: id(1), Part: part(1, id(0x21), 20)})
	x.ok(&meta.AbortUpload{Bucket: "b", Key: "k1", UploadID: id(1)})
	lp, err := x.f.ListParts("b", "k2", id(1), meta.ListPartsOptions{})
	if err != nil || len(lp.Parts) != 1 || lp.Parts[0].ShardsID != id(0x21) {
		t.Fatalf("parts of k2 after aborting k1: %+v %v", lp, err)
	}
	if err := x.f.Check(); err != nil {
		t.Error(err)
	}
}
