package fsm

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/coffer-io/coffer/cluster/meta"
)

// naiveList is the reference for ListObjects: a plain pass over sorted keys.
func naiveList(keys []string, o meta.ListObjectsOptions) meta.ListObjectsResult {
	type entry struct {
		s  string
		cp bool
	}
	var entries []entry
	seen := map[string]bool{}
	for _, k := range keys {
		if !strings.HasPrefix(k, o.Prefix) || k <= o.Marker {
			continue
		}
		if o.Delimiter != "" {
			if i := strings.Index(k[len(o.Prefix):], o.Delimiter); i >= 0 {
				cp := k[:len(o.Prefix)+i+len(o.Delimiter)]
				if cp > o.Marker && !seen[cp] {
					seen[cp] = true
					entries = append(entries, entry{cp, true})
				}
				continue
			}
		}
		entries = append(entries, entry{k, false})
	}
	limit := meta.ClampList(o.MaxKeys)
	var res meta.ListObjectsResult
	if len(entries) > limit {
		entries = entries[:limit]
		res.IsTruncated = true
		res.NextMarker = entries[limit-1].s
	}
	for _, e := range entries {
		if e.cp {
			res.CommonPrefixes = append(res.CommonPrefixes, e.s)
		} else {
			res.Objects = append(res.Objects, meta.ObjectSummary{Key: e.s})
		}
	}
	return res
}

func randomKey(r *rand.Rand) string {
	parts := []string{"a", "b", "/", "é", "中", "z", "~", "a/", "/b", ".", "\x7f"}
	n := 1 + r.IntN(6)
	var sb strings.Builder
	for range n {
		sb.WriteString(parts[r.IntN(len(parts))])
	}
	return sb.String()
}

func TestListObjectsAgainstReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := range 4 {
		x := newTester(t)
		x.ok(bucket("b"))
		x.ok(bucket("b2")) // a neighbouring bucket must never leak into the listing
		x.ok(&meta.CommitObject{Version: version("b2", "a", id(0xEE), 1, 1)})
		set := map[string]bool{}
		for range 40 + r.IntN(150) {
			k := randomKey(r)
			if set[k] {
				continue
			}
			set[k] = true
			vid := id(byte(len(set)), byte(len(set)>>8), 0xAB)
			x.ok(&meta.CommitObject{Version: version("b", k, vid, int64(len(k)), 1)})
		}
		keys := make([]string, 0, len(set))
		for k := range set {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for range 40 {
			o := meta.ListObjectsOptions{
				Prefix:    []string{"", "", "a", "a/", "é", "中", "zz", "/"}[r.IntN(8)],
				Delimiter: []string{"", "/", "/", "é", "a/", "~"}[r.IntN(6)],
				MaxKeys:   []int{0, 1, 2, 3, 7, 1000}[r.IntN(6)],
			}
			if r.IntN(3) == 0 {
				o.Marker = randomKey(r)
			}
			// Page through, comparing every page with the reference.
			for page := 0; ; page++ {
				want := naiveList(keys, o)
				got, err := x.f.ListObjects("b", o)
				if err != nil {
					t.Fatal(err)
				}
				for i := range got.Objects {
					if got.Objects[i].Size != int64(len(got.Objects[i].Key)) || got.Objects[i].Owner != "owner" {
						t.Fatalf("summary %+v", got.Objects[i])
					}
					got.Objects[i] = meta.ObjectSummary{Key: got.Objects[i].Key}
				}
				if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
					t.Fatalf("round %d opts %#v page %d (-want +got):\n%s", round, o, page, diff)
				}
				if !got.IsTruncated {
					break
				}
				o.Marker = got.NextMarker
			}
		}
	}
	x := newTester(t)
	if _, err := x.f.ListObjects("nope", meta.ListObjectsOptions{}); err == nil {
		t.Error("listing a missing bucket succeeded")
	}
}

func TestListUploads(t *testing.T) {
	x := newTester(t)
	x.ok(bucket("b"))
	sse := meta.SSE{Mode: meta.ModeSSECOS, SealedDEK: []byte("d"), MasterKeyVersion: 1}
	type up struct {
		key string
		id  meta.ID
	}
	ups := []up{{"a/1", id(3)}, {"a/1", id(1)}, {"a/2", id(2)}, {"b", id(9)}, {"b", id(4)}, {"c/x/y", id(5)}}
	for _, u := range ups {
		x.ok(&meta.InitiateUpload{Upload: meta.Upload{UploadID: u.id, Bucket: "b", Key: u.key, SSE: sse, Initiated: 5, Owner: "o"}})
	}
	all, err := x.f.ListUploads("b", meta.ListUploadsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, u := range all.Uploads {
		got = append(got, fmt.Sprintf("%s:%d", u.Key, u.UploadID[0]))
	}
	want := []string{"a/1:1", "a/1:3", "a/2:2", "b:4", "b:9", "c/x/y:5"}
	if !slices.Equal(got, want) || all.IsTruncated {
		t.Fatalf("all uploads %v", got)
	}
	// Paging by (key, upload id) visits each upload once.
	var paged []string
	o := meta.ListUploadsOptions{MaxUploads: 2}
	for {
		page, err := x.f.ListUploads("b", o)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range page.Uploads {
			paged = append(paged, fmt.Sprintf("%s:%d", u.Key, u.UploadID[0]))
		}
		if !page.IsTruncated {
			break
		}
		o.KeyMarker, o.UploadIDMarker = page.NextKeyMarker, page.NextUploadIDMarker
	}
	if !slices.Equal(paged, want) {
		t.Errorf("paged %v", paged)
	}
	d, _ := x.f.ListUploads("b", meta.ListUploadsOptions{Delimiter: "/"})
	if !slices.Equal(d.CommonPrefixes, []string{"a/", "c/"}) || len(d.Uploads) != 2 || d.Uploads[0].Key != "b" {
		t.Errorf("delimited %+v", d)
	}
	d, _ = x.f.ListUploads("b", meta.ListUploadsOptions{Prefix: "a/1"})
	if len(d.Uploads) != 2 {
		t.Errorf("prefix %+v", d)
	}
	d, _ = x.f.ListUploads("b", meta.ListUploadsOptions{KeyMarker: "a/1"})
	if len(d.Uploads) != 4 || d.Uploads[0].Key != "a/2" {
		t.Errorf("key marker %+v", d)
	}
	if _, err := x.f.ListUploads("nope", meta.ListUploadsOptions{}); err == nil {
		t.Error("missing bucket")
	}
}

// model is the naive reference for the census property test.
type model struct {
	objects map[string]modelObj // "bucket/key"
	uploads map[meta.ID]modelUpload
}

type modelObj struct {
	vid    meta.ID
	size   int64
	sse    meta.SSE
	shards map[meta.ID]int // shards id -> part number (0 for a simple object)
}

type modelPart struct {
	size int64
	sid  meta.ID
}

type modelUpload struct {
	key   string
	sse   meta.SSE
	parts map[int]modelPart
}

// live returns every live shard set of the model.
func (m *model) live() map[meta.ID]meta.ShardsRef {
	out := map[meta.ID]meta.ShardsRef{}
	for k, o := range m.objects {
		for sid, pn := range o.shards {
			out[sid] = meta.ShardsRef{Bucket: "b", Key: k, VersionID: o.vid, Part: pn}
		}
	}
	for uid, u := range m.uploads {
		for pn, p := range u.parts {
			out[p.sid] = meta.ShardsRef{Bucket: "b", Key: u.key, VersionID: uid, Upload: true, Part: pn}
		}
	}
	return out
}

func (m *model) census() map[uint32]uint64 {
	c := map[uint32]uint64{}
	for _, o := range m.objects {
		if o.sse.Mode.UsesMasterKey() {
			c[o.sse.MasterKeyVersion]++
		}
	}
	for _, u := range m.uploads {
		if u.sse.Mode.UsesMasterKey() {
			c[u.sse.MasterKeyVersion]++
		}
	}
	return c
}

func randomSSE(r *rand.Rand, n int) meta.SSE {
	dek := []byte(fmt.Sprintf("dek%d", n))
	switch r.IntN(5) {
	case 0:
		return meta.SSE{Mode: meta.ModeSSEKMS, SealedDEK: dek, CMKID: "cmk"}
	case 1:
		return meta.SSE{Mode: meta.ModeSSEC, SealedDEK: dek, CustomerSalt: []byte{1}, CustomerHMAC: []byte{2}}
	case 2:
		return meta.SSE{Mode: meta.ModeNone, SealedDEK: dek, MasterKeyVersion: uint32(1 + r.IntN(3))}
	}
	return meta.SSE{Mode: meta.ModeSSECOS, SealedDEK: dek, MasterKeyVersion: uint32(1 + r.IntN(3))}
}

func TestCensusAgainstModel(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 9))
	x := newTester(t)
	x.ok(bucket("b"))
	m := &model{objects: map[string]modelObj{}, uploads: map[meta.ID]modelUpload{}}
	keys := []string{"k1", "k2", "k3", "d/k4", "d/k5"}
	n := 0
	for step := range 400 {
		n++
		key := keys[r.IntN(len(keys))]
		switch op := r.IntN(8); op {
		case 0, 1: // commit
			v := version("b", key, id(byte(n), byte(n>>8), 1), int64(r.IntN(1000)), 0)
			v.SSE = randomSSE(r, n)
			x.ok(&meta.CommitObject{Version: v})
			m.objects[key] = modelObj{vid: v.VersionID, size: v.Size, sse: v.SSE, shards: map[meta.ID]int{v.VersionID: 0}}
		case 2: // delete
			r := x.apply(&meta.DeleteObject{Bucket: "b", Key: key})
			if _, ok := m.objects[key]; ok != (r.Err() == nil) {
				t.Fatalf("step %d: delete %s: %v (model has it: %v)", step, key, r.Err(), ok)
			}
			delete(m.objects, key)
		case 3: // rewrap everything under one version to another
			from, to := uint32(1+r.IntN(3)), uint32(1+r.IntN(3))
			refs, err := x.f.VersionsByMasterKey(from, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(refs) == 0 {
				continue
			}
			var items []meta.RewrapItem
			for _, ref := range refs {
				items = append(items, meta.RewrapItem{Bucket: ref.Bucket, Key: ref.Key, VersionID: ref.VersionID, Upload: ref.Upload,
					OldSealedDEK: ref.SealedDEK, NewSealedDEK: []byte(fmt.Sprintf("re%d", n)), NewMasterKeyVersion: to})
			}
			res := x.ok(&meta.Rewrap{Items: items})
			if res.Count != len(items) {
				t.Fatalf("step %d: rewrapped %d of %d", step, res.Count, len(items))
			}
			for k, o := range m.objects {
				if o.sse.Mode.UsesMasterKey() && o.sse.MasterKeyVersion == from {
					o.sse.MasterKeyVersion, o.sse.SealedDEK = to, []byte(fmt.Sprintf("re%d", n))
					m.objects[k] = o
				}
			}
			for k, u := range m.uploads {
				if u.sse.Mode.UsesMasterKey() && u.sse.MasterKeyVersion == from {
					u.sse.MasterKeyVersion, u.sse.SealedDEK = to, []byte(fmt.Sprintf("re%d", n))
					m.uploads[k] = u
				}
			}
		case 4: // initiate
			uid := id(byte(n), byte(n>>8), 2)
			sse := randomSSE(r, n)
			x.ok(&meta.InitiateUpload{Upload: meta.Upload{UploadID: uid, Bucket: "b", Key: key, SSE: sse}})
			m.uploads[uid] = modelUpload{key: key, sse: sse, parts: map[int]modelPart{}}
		case 5, 6: // put part or complete
			uid, u, ok := pickUpload(r, m)
			if !ok {
				continue
			}
			if op == 5 || len(u.parts) == 0 {
				pn := 1 + r.IntN(3)
				size := int64(r.IntN(100))
				sid := id(byte(n), byte(n>>8), 3)
				x.ok(&meta.PutPart{Bucket: "b", Key: u.key, UploadID: uid, Part: meta.Part{Number: pn, ShardsID: sid, Size: size, ETag: "e", Layout: layout()}})
				u.parts[pn] = modelPart{size: size, sid: sid}
				continue
			}
			var cps []meta.CompletePart
			var size int64
			shards := map[meta.ID]int{}
			for pn := 1; pn <= 3; pn++ {
				// Complete with a random non-empty subset of the parts.
				if p, ok := u.parts[pn]; ok && (len(cps) == 0 || r.IntN(3) > 0) {
					cps = append(cps, meta.CompletePart{Number: pn, ETag: "e"})
					size += p.size
					shards[p.sid] = pn
				}
			}
			vid := id(byte(n), byte(n>>8), 4)
			x.ok(&meta.CompleteUpload{Bucket: "b", Key: u.key, UploadID: uid, Parts: cps, VersionID: vid, ETag: "m"})
			m.objects[u.key] = modelObj{vid: vid, size: size, sse: u.sse, shards: shards}
			delete(m.uploads, uid)
		case 7: // abort
			uid, _, ok := pickUpload(r, m)
			if !ok {
				continue
			}
			x.ok(&meta.AbortUpload{Bucket: "b", Key: m.uploads[uid].key, UploadID: uid})
			delete(m.uploads, uid)
		}
		got, err := x.f.Census()
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(m.census(), got); diff != "" {
			t.Fatalf("step %d: census (-model +fsm):\n%s", step, diff)
		}
		// Listing and stats agree with the model too.
		list, err := x.f.ListObjects("b", meta.ListObjectsOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var bytes int64
		want := map[string]int64{}
		for k, o := range m.objects {
			want[k] = o.size
			bytes += o.size
		}
		gotObjs := map[string]int64{}
		for _, o := range list.Objects {
			gotObjs[o.Key] = o.Size
		}
		if diff := cmp.Diff(want, gotObjs, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("step %d: listing (-model +fsm):\n%s", step, diff)
		}
		if step%10 == 0 {
			if err := x.f.Check(); err != nil {
				t.Fatalf("step %d: %v", step, err)
			}
		}
		if diff := cmp.Diff(m.live(), liveShards(t, x.f), cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("step %d: live shard sets (-model +fsm):\n%s", step, diff)
		}
		st, _ := x.f.Stats()
		if st.Objects != int64(len(m.objects)) || st.Bytes != bytes || st.Uploads != int64(len(m.uploads)) {
			t.Fatalf("step %d: stats %+v, model %d objects %d bytes %d uploads", step, st, len(m.objects), bytes, len(m.uploads))
		}
	}
}

func pickUpload(r *rand.Rand, m *model) (meta.ID, modelUpload, bool) {
	if len(m.uploads) == 0 {
		return meta.ID{}, modelUpload{}, false
	}
	ids := make([]meta.ID, 0, len(m.uploads))
	for k := range m.uploads {
		ids = append(ids, k)
	}
	slices.SortFunc(ids, func(a, b meta.ID) int { return strings.Compare(string(a[:]), string(b[:])) })
	uid := ids[r.IntN(len(ids))]
	return uid, m.uploads[uid], true
}

// liveShards reads the whole shards index, checking ShardsOwner agrees with it.
func liveShards(t *testing.T, f *FSM) map[meta.ID]meta.ShardsRef {
	out := map[meta.ID]meta.ShardsRef{}
	for _, kv := range dump(t, f) {
		if kv[0][0] != pShards {
			continue
		}
		var sid meta.ID
		copy(sid[:], kv[0][1:])
		ref, live, err := f.ShardsOwner(sid)
		if err != nil || !live {
			t.Fatalf("ShardsOwner(%v) = %v, %v", sid, live, err)
		}
		out[sid] = ref
	}
	return out
}

type naiveUpload struct {
	key string
	id  meta.ID
}

// naiveUploads is the reference for ListUploads.
func naiveUploads(all []naiveUpload, o meta.ListUploadsOptions) meta.ListUploadsResult {
	type entry struct {
		up naiveUpload
		cp string
	}
	var entries []entry
	seen := map[string]bool{}
	for _, u := range all {
		if !strings.HasPrefix(u.key, o.Prefix) {
			continue
		}
		if o.KeyMarker != "" {
			after := u.key > o.KeyMarker
			if !o.UploadIDMarker.IsZero() && u.key == o.KeyMarker {
				after = string(u.id[:]) > string(o.UploadIDMarker[:])
			}
			if !after {
				continue
			}
		}
		if o.Delimiter != "" {
			if i := strings.Index(u.key[len(o.Prefix):], o.Delimiter); i >= 0 {
				cp := u.key[:len(o.Prefix)+i+len(o.Delimiter)]
				if cp > o.KeyMarker && !seen[cp] {
					seen[cp] = true
					entries = append(entries, entry{cp: cp})
				}
				continue
			}
		}
		entries = append(entries, entry{up: u})
	}
	limit := meta.ClampList(o.MaxUploads)
	var res meta.ListUploadsResult
	if len(entries) > limit {
		entries = entries[:limit]
		res.IsTruncated = true
		if last := entries[limit-1]; last.cp != "" {
			res.NextKeyMarker = last.cp
		} else {
			res.NextKeyMarker, res.NextUploadIDMarker = last.up.key, last.up.id
		}
	}
	for _, e := range entries {
		if e.cp != "" {
			res.CommonPrefixes = append(res.CommonPrefixes, e.cp)
		} else {
			res.Uploads = append(res.Uploads, meta.UploadSummary{Key: e.up.key, UploadID: e.up.id})
		}
	}
	return res
}

func TestListUploadsAgainstReference(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	x := newTester(t)
	x.ok(bucket("b"))
	sse := meta.SSE{Mode: meta.ModeSSECOS, SealedDEK: []byte("d"), MasterKeyVersion: 1}
	var all []naiveUpload
	for i := range 150 {
		u := naiveUpload{key: randomKey(r), id: id(byte(r.IntN(4)), byte(i), 0x5A)}
		x.ok(&meta.InitiateUpload{Upload: meta.Upload{UploadID: u.id, Bucket: "b", Key: u.key, SSE: sse}})
		all = append(all, u)
	}
	slices.SortFunc(all, func(a, b naiveUpload) int {
		if c := strings.Compare(a.key, b.key); c != 0 {
			return c
		}
		return strings.Compare(string(a.id[:]), string(b.id[:]))
	})
	for range 40 {
		o := meta.ListUploadsOptions{
			Prefix:     []string{"", "", "a", "a/", "é", "/"}[r.IntN(6)],
			Delimiter:  []string{"", "/", "é", "a/"}[r.IntN(4)],
			MaxUploads: []int{0, 2, 3, 7}[r.IntN(4)],
		}
		if r.IntN(3) == 0 {
			o.KeyMarker = all[r.IntN(len(all))].key
			if r.IntN(2) == 0 {
				o.UploadIDMarker = all[r.IntN(len(all))].id
			}
		}
		for page := 0; ; page++ {
			want := naiveUploads(all, o)
			got, err := x.f.ListUploads("b", o)
			if err != nil {
				t.Fatal(err)
			}
			for i := range got.Uploads {
				got.Uploads[i] = meta.UploadSummary{Key: got.Uploads[i].Key, UploadID: got.Uploads[i].UploadID}
			}
			if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Fatalf("opts %#v page %d (-want +got):\n%s", o, page, diff)
			}
			if !got.IsTruncated {
				break
			}
			o.KeyMarker, o.UploadIDMarker = got.NextKeyMarker, got.NextUploadIDMarker
		}
	}
}
