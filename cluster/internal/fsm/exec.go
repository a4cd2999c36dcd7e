package fsm

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/coffer-io/coffer/cluster/meta"
)

// execute applies one validated command to t. A returned error becomes a failure
// Result and t is discarded.
func execute(t *txn, c meta.Command) (*meta.Result, error) {
	switch c := c.(type) {
	case *meta.CreateBucket:
		return execCreateBucket(t, c)
	case *meta.DeleteBucket:
		return execDeleteBucket(t, c)
	case *meta.UpdateBucket:
		return execUpdateBucket(t, c)
	case *meta.CommitObject:
		return execCommitObject(t, c)
	case *meta.DeleteObject:
		return execDeleteObject(t, c)
	case *meta.PutObjectACL:
		return execPutObjectACL(t, c)
	case *meta.InitiateUpload:
		return execInitiateUpload(t, c)
	case *meta.PutPart:
		return execPutPart(t, c)
	case *meta.CompleteUpload:
		return execCompleteUpload(t, c)
	case *meta.AbortUpload:
		return execAbortUpload(t, c)
	case *meta.PutUser:
		return execPutUser(t, c)
	case *meta.DeleteUser:
		return execDeleteUser(t, c)
	case *meta.SetKeyRing:
		return execSetKeyRing(t, c)
	case *meta.Rewrap:
		return execRewrap(t, c)
	case *meta.PutCMK:
		return execPutCMK(t, c)
	case *meta.DeleteCMK:
		return execDeleteCMK(t, c)
	case *meta.SetLayout:
		return execSetLayout(t, c)
	case *meta.RemoveGarbage:
		return execRemoveGarbage(t, c)
	case *meta.UpdateLayout:
		return execUpdateLayout(t, c)
	}
	return nil, fmt.Errorf("%w: command type %d has no executor", meta.ErrMalformed, c.Type())
}

func ok() (*meta.Result, error) { return &meta.Result{}, nil }

func requireBucket(t *txn, name string) (*meta.Bucket, error) {
	var b meta.Bucket
	found, err := t.getRecord(bucketKey(name), &b)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("%w: %s", meta.ErrBucketNotFound, name)
	}
	return &b, nil
}

// bucketExists fails with meta.ErrBucketNotFound unless the bucket exists.
func bucketExists(t *txn, name string) error {
	_, found, err := t.get(bucketKey(name))
	if err == nil && !found {
		err = fmt.Errorf("%w: %s", meta.ErrBucketNotFound, name)
	}
	return err
}

func execCreateBucket(t *txn, c *meta.CreateBucket) (*meta.Result, error) {
	_, found, err := t.get(bucketKey(c.Bucket.Name))
	if err != nil {
		return nil, err
	}
	if found {
		return nil, fmt.Errorf("%w: %s", meta.ErrBucketExists, c.Bucket.Name)
	}
	st, err := t.getStats()
	if err != nil {
		return nil, err
	}
	st.Buckets++
	if err := t.putRecord(bucketKey(c.Bucket.Name), &c.Bucket); err != nil {
		return nil, err
	}
	return ok()
}

// hasAny reports whether any key with prefix p exists in the batch.
func hasAny(t *txn, p []byte) (bool, error) {
	found := false
	err := t.iterate(p, prefixEnd(p), func(_, _ []byte) error {
		found = true
		return errStop
	})
	if err == errStop {
		err = nil
	}
	return found, err
}

var errStop = errors.New("fsm: stop iteration")

func execDeleteBucket(t *txn, c *meta.DeleteBucket) (*meta.Result, error) {
	if err := bucketExists(t, c.Name); err != nil {
		return nil, err
	}
	for _, p := range [][]byte{objectPrefix(c.Name), uploadPrefix(c.Name)} {
		found, err := hasAny(t, p)
		if err != nil {
			return nil, err
		}
		if found {
			return nil, fmt.Errorf("%w: %s", meta.ErrBucketNotEmpty, c.Name)
		}
	}
	st, err := t.getStats()
	if err != nil {
		return nil, err
	}
	st.Buckets--
	t.del(bucketKey(c.Name))
	return ok()
}

func execUpdateBucket(t *txn, c *meta.UpdateBucket) (*meta.Result, error) {
	b, err := requireBucket(t, c.Name)
	if err != nil {
		return nil, err
	}
	if c.Fields&meta.FieldACL != 0 {
		b.ACL = c.ACL
	}
	if c.Fields&meta.FieldEncryption != 0 {
		b.Encryption = c.Encryption
	}
	if c.Fields&meta.FieldSSEC != 0 {
		b.SSEC = c.SSEC
	}
	if err := t.putRecord(bucketKey(c.Name), b); err != nil {
		return nil, err
	}
	return ok()
}

// checkPreconditions applies If-Match and the expected current version id.
func checkPreconditions(cur *meta.Version, ifMatch string, expect *meta.ID) error {
	if ifMatch != "" && (cur == nil || trimETag(cur.ETag) != trimETag(ifMatch)) {
		return fmt.Errorf("%w: If-Match", meta.ErrPreconditionFailed)
	}
	if expect != nil {
		switch {
		case expect.IsZero() && cur != nil:
			return fmt.Errorf("%w: key has a current version", meta.ErrPreconditionFailed)
		case !expect.IsZero() && (cur == nil || cur.VersionID != *expect):
			return fmt.Errorf("%w: current version is not %s", meta.ErrPreconditionFailed, expect)
		}
	}
	return nil
}

func trimETag(s string) string { return strings.Trim(s, `"`) }

// addVersion makes v current: census, master-key index and stats.
func addVersion(t *txn, v *meta.Version) error {
	if v.SSE.Mode.UsesMasterKey() {
		if err := t.census(v.SSE.MasterKeyVersion, 1); err != nil {
			return err
		}
		t.put(mkKey(v.SSE.MasterKeyVersion, kindObject, v.Bucket, v.Key, v.VersionID), nil)
	}
	for _, set := range v.ShardSets() {
		t.put(shardsKey(set.ShardsID), encodeShardsRef(kindObject, set.Part, v.Bucket, v.Key, v.VersionID))
	}
	st, err := t.getStats()
	if err != nil {
		return err
	}
	st.Objects++
	st.Bytes += v.Size
	return t.putVersion(v)
}

// dropVersion removes v from census, index and stats and enqueues its shards. The
// object key itself is left to the caller (overwritten or deleted).
func dropVersion(t *txn, v *meta.Version, reason string) error {
	if v.SSE.Mode.UsesMasterKey() {
		if err := t.census(v.SSE.MasterKeyVersion, -1); err != nil {
			return err
		}
		t.del(mkKey(v.SSE.MasterKeyVersion, kindObject, v.Bucket, v.Key, v.VersionID))
	}
	for _, set := range v.ShardSets() {
		t.del(shardsKey(set.ShardsID))
	}
	st, err := t.getStats()
	if err != nil {
		return err
	}
	st.Objects--
	st.Bytes -= v.Size
	return t.enqueueGarbage(meta.GarbageItem{
		Bucket: v.Bucket, Key: v.Key, VersionID: v.VersionID,
		Pieces: v.ShardSets(), Reason: reason,
	})
}

func execCommitObject(t *txn, c *meta.CommitObject) (*meta.Result, error) {
	v := &c.Version
	cur, err := t.getVersion(v.Bucket, v.Key)
	if err != nil {
		return nil, err
	}
	if cur == nil { // a current version implies the bucket exists (it cannot be deleted non-empty)
		if err := bucketExists(t, v.Bucket); err != nil {
			return nil, err
		}
	}
	if cur != nil && cur.VersionID == v.VersionID {
		// The same version committed again (a retry under a new request id after an
		// unknown outcome): it is already current; never garbage its own shards.
		return &meta.Result{VersionID: v.VersionID}, nil
	}
	if c.IfNoneMatch && cur != nil {
		return nil, fmt.Errorf("%w: key exists", meta.ErrPreconditionFailed)
	}
	if err := checkPreconditions(cur, c.IfMatch, c.ExpectCurrent); err != nil {
		return nil, err
	}
	if err := t.checkSealable(&v.SSE); err != nil {
		return nil, err
	}
	res := &meta.Result{VersionID: v.VersionID}
	if cur != nil {
		if err := dropVersion(t, cur, meta.ReasonOverwritten); err != nil {
			return nil, err
		}
		res.Replaced = cur.VersionID
	}
	if err := addVersion(t, v); err != nil {
		return nil, err
	}
	return res, nil
}

func execDeleteObject(t *txn, c *meta.DeleteObject) (*meta.Result, error) {
	if err := bucketExists(t, c.Bucket); err != nil {
		return nil, err
	}
	cur, err := t.getVersion(c.Bucket, c.Key)
	if err != nil {
		return nil, err
	}
	if cur == nil {
		return nil, fmt.Errorf("%w: %s/%s", meta.ErrObjectNotFound, c.Bucket, c.Key)
	}
	if err := checkPreconditions(cur, c.IfMatch, c.ExpectCurrent); err != nil {
		return nil, err
	}
	if err := dropVersion(t, cur, meta.ReasonDeleted); err != nil {
		return nil, err
	}
	t.del(objectKey(c.Bucket, c.Key))
	return &meta.Result{Replaced: cur.VersionID}, nil
}

func execPutObjectACL(t *txn, c *meta.PutObjectACL) (*meta.Result, error) {
	cur, err := t.getVersion(c.Bucket, c.Key)
	if err != nil {
		return nil, err
	}
	if cur == nil {
		return nil, fmt.Errorf("%w: %s/%s", meta.ErrObjectNotFound, c.Bucket, c.Key)
	}
	if err := checkPreconditions(cur, "", c.ExpectCurrent); err != nil {
		return nil, err
	}
	cur.ACL = c.ACL
	if err := t.putVersion(cur); err != nil {
		return nil, err
	}
	return &meta.Result{VersionID: cur.VersionID}, nil
}

func getUpload(t *txn, bucket, key string, id meta.ID) (*meta.Upload, error) {
	var u meta.Upload
	found, err := t.getRecord(uploadKey(bucket, key, id), &u)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, nil
	}
	return &u, nil
}

func execInitiateUpload(t *txn, c *meta.InitiateUpload) (*meta.Result, error) {
	u := &c.Upload
	if err := bucketExists(t, u.Bucket); err != nil {
		return nil, err
	}
	old, err := getUpload(t, u.Bucket, u.Key, u.UploadID)
	if err != nil {
		return nil, err
	}
	if old != nil {
		return nil, fmt.Errorf("%w: upload id %s taken", meta.ErrConflict, u.UploadID)
	}
	if err := t.checkSealable(&u.SSE); err != nil {
		return nil, err
	}
	if u.SSE.Mode.UsesMasterKey() {
		if err := t.census(u.SSE.MasterKeyVersion, 1); err != nil {
			return nil, err
		}
		t.put(mkKey(u.SSE.MasterKeyVersion, kindUpload, u.Bucket, u.Key, u.UploadID), nil)
	}
	st, err := t.getStats()
	if err != nil {
		return nil, err
	}
	st.Uploads++
	if err := t.putRecord(uploadKey(u.Bucket, u.Key, u.UploadID), u); err != nil {
		return nil, err
	}
	return ok()
}

func partPiece(p *meta.Part) meta.GarbagePiece {
	return meta.GarbagePiece{ShardsID: p.ShardsID, Part: p.Number, Shards: p.Layout.Shards()}
}

func execPutPart(t *txn, c *meta.PutPart) (*meta.Result, error) {
	u, err := getUpload(t, c.Bucket, c.Key, c.UploadID)
	if err != nil {
		return nil, err
	}
	if u == nil {
		return nil, fmt.Errorf("%w: %s", meta.ErrUploadNotFound, c.UploadID)
	}
	var old meta.Part
	found, err := t.getRecord(partKey(c.Bucket, c.Key, c.UploadID, c.Part.Number), &old)
	if err != nil {
		return nil, err
	}
	if found && old.ShardsID != c.Part.ShardsID {
		t.del(shardsKey(old.ShardsID))
		if err := t.enqueueGarbage(meta.GarbageItem{
			Bucket: c.Bucket, Key: c.Key, VersionID: c.UploadID,
			Pieces: []meta.GarbagePiece{partPiece(&old)}, Reason: meta.ReasonPartReplace,
		}); err != nil {
			return nil, err
		}
	}
	t.put(shardsKey(c.Part.ShardsID), encodeShardsRef(kindUpload, c.Part.Number, c.Bucket, c.Key, c.UploadID))
	if err := t.putRecord(partKey(c.Bucket, c.Key, c.UploadID, c.Part.Number), &c.Part); err != nil {
		return nil, err
	}
	return ok()
}

// loadParts returns every stored part of an upload in part-number order.
func loadParts(t *txn, u *meta.Upload) ([]meta.Part, error) {
	var parts []meta.Part
	p := partPrefix(u.Bucket, u.Key, u.UploadID)
	err := t.iterate(p, prefixEnd(p), func(_, v []byte) error {
		var part meta.Part
		if err := decodeRecord(v, &part); err != nil {
			return fmt.Errorf("%w: %v", meta.ErrInternal, err)
		}
		parts = append(parts, part)
		return nil
	})
	return parts, err
}

// removeUpload deletes the upload record, its parts, census and index entries.
func removeUpload(t *txn, u *meta.Upload, parts []meta.Part) error {
	for i := range parts {
		t.del(partKey(u.Bucket, u.Key, u.UploadID, parts[i].Number))
		t.del(shardsKey(parts[i].ShardsID))
	}
	if u.SSE.Mode.UsesMasterKey() {
		if err := t.census(u.SSE.MasterKeyVersion, -1); err != nil {
			return err
		}
		t.del(mkKey(u.SSE.MasterKeyVersion, kindUpload, u.Bucket, u.Key, u.UploadID))
	}
	st, err := t.getStats()
	if err != nil {
		return err
	}
	st.Uploads--
	t.del(uploadKey(u.Bucket, u.Key, u.UploadID))
	return nil
}

func execCompleteUpload(t *txn, c *meta.CompleteUpload) (*meta.Result, error) {
	u, err := getUpload(t, c.Bucket, c.Key, c.UploadID)
	if err != nil {
		return nil, err
	}
	cur, err := t.getVersion(c.Bucket, c.Key)
	if err != nil {
		return nil, err
	}
	if u == nil {
		if cur != nil && cur.VersionID == c.VersionID {
			// Completed before (a retry under a new request id).
			return &meta.Result{VersionID: cur.VersionID, Version: cur}, nil
		}
		return nil, fmt.Errorf("%w: %s", meta.ErrUploadNotFound, c.UploadID)
	}
	parts, err := loadParts(t, u)
	if err != nil {
		return nil, err
	}
	byNum := make(map[int]*meta.Part, len(parts))
	for i := range parts {
		byNum[parts[i].Number] = &parts[i]
	}
	v := &meta.Version{
		Bucket: c.Bucket, Key: c.Key, VersionID: c.VersionID, ETag: c.ETag, CRC64: c.CRC64,
		ContentType: u.ContentType, Headers: u.Headers, UserMeta: u.UserMeta,
		StorageClass: u.StorageClass, Created: c.Created, Owner: u.Owner, ACL: u.ACL, SSE: u.SSE,
		Parts: make([]meta.PartEntry, 0, len(c.Parts)),
	}
	used := make(map[int]bool, len(c.Parts))
	for i, cp := range c.Parts {
		if i > 0 && cp.Number <= c.Parts[i-1].Number {
			return nil, fmt.Errorf("%w: part %d after %d", meta.ErrInvalidPartOrder, cp.Number, c.Parts[i-1].Number)
		}
		p := byNum[cp.Number]
		if p == nil || trimETag(p.ETag) != trimETag(cp.ETag) {
			return nil, fmt.Errorf("%w: part %d missing or ETag mismatch", meta.ErrInvalidPart, cp.Number)
		}
		if i < len(c.Parts)-1 && p.Size < c.MinPartBytes {
			return nil, fmt.Errorf("%w: part %d has %d bytes", meta.ErrEntityTooSmall, cp.Number, p.Size)
		}
		used[cp.Number] = true
		v.Size += p.Size
		v.Parts = append(v.Parts, meta.PartEntry{
			Number: p.Number, ShardsID: p.ShardsID, Size: p.Size, ETag: p.ETag, CRC64: p.CRC64,
			Layout: p.Layout, Stream: p.Stream,
		})
	}
	if c.IfNoneMatch && cur != nil {
		return nil, fmt.Errorf("%w: key exists", meta.ErrPreconditionFailed)
	}
	var unused []meta.GarbagePiece
	for i := range parts {
		if !used[parts[i].Number] {
			unused = append(unused, partPiece(&parts[i]))
		}
	}
	if len(unused) > 0 {
		if err := t.enqueueGarbage(meta.GarbageItem{
			Bucket: c.Bucket, Key: c.Key, VersionID: c.UploadID, Pieces: unused, Reason: meta.ReasonPartUnused,
		}); err != nil {
			return nil, err
		}
	}
	if err := removeUpload(t, u, parts); err != nil {
		return nil, err
	}
	res := &meta.Result{VersionID: v.VersionID, Version: v}
	if cur != nil {
		if err := dropVersion(t, cur, meta.ReasonOverwritten); err != nil {
			return nil, err
		}
		res.Replaced = cur.VersionID
	}
	if err := addVersion(t, v); err != nil {
		return nil, err
	}
	return res, nil
}

func execAbortUpload(t *txn, c *meta.AbortUpload) (*meta.Result, error) {
	u, err := getUpload(t, c.Bucket, c.Key, c.UploadID)
	if err != nil {
		return nil, err
	}
	if u == nil {
		return nil, fmt.Errorf("%w: %s", meta.ErrUploadNotFound, c.UploadID)
	}
	parts, err := loadParts(t, u)
	if err != nil {
		return nil, err
	}
	if len(parts) > 0 {
		pieces := make([]meta.GarbagePiece, len(parts))
		for i := range parts {
			pieces[i] = partPiece(&parts[i])
		}
		if err := t.enqueueGarbage(meta.GarbageItem{
			Bucket: c.Bucket, Key: c.Key, VersionID: c.UploadID, Pieces: pieces, Reason: meta.ReasonAborted,
		}); err != nil {
			return nil, err
		}
	}
	if err := removeUpload(t, u, parts); err != nil {
		return nil, err
	}
	return ok()
}

func execPutUser(t *txn, c *meta.PutUser) (*meta.Result, error) {
	if c.IfAbsent {
		_, found, err := t.get(userKey(c.User.AccessKeyID))
		if err != nil {
			return nil, err
		}
		if found {
			return nil, fmt.Errorf("%w: %s", meta.ErrUserExists, c.User.AccessKeyID)
		}
	}
	if err := t.putRecord(userKey(c.User.AccessKeyID), &c.User); err != nil {
		return nil, err
	}
	return ok()
}

func execDeleteUser(t *txn, c *meta.DeleteUser) (*meta.Result, error) {
	_, found, err := t.get(userKey(c.AccessKeyID))
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("%w: %s", meta.ErrUserNotFound, c.AccessKeyID)
	}
	t.del(userKey(c.AccessKeyID))
	return ok()
}

func execSetKeyRing(t *txn, c *meta.SetKeyRing) (*meta.Result, error) {
	var ring meta.KeyRing
	if _, err := t.getRecord(kRing, &ring); err != nil {
		return nil, err
	}
	if ring.Epoch != c.ExpectEpoch {
		return nil, fmt.Errorf("%w: ring epoch is %d, not %d", meta.ErrConflict, ring.Epoch, c.ExpectEpoch)
	}
	for _, v := range c.Retire {
		b, found, err := t.get(censusKey(v))
		if err != nil {
			return nil, err
		}
		if found && u64(b) > 0 {
			return nil, fmt.Errorf("%w: version %d seals %d keys", meta.ErrKeyInUse, v, u64(b))
		}
	}
	if slices.Contains(ring.Retired, c.Active) {
		return nil, fmt.Errorf("%w: active version %d", meta.ErrKeyRetired, c.Active)
	}
	retired := slices.Clone(ring.Retired)
	for _, v := range c.Retire {
		if !slices.Contains(retired, v) {
			retired = append(retired, v)
		}
	}
	slices.Sort(retired)
	if len(retired) == 0 {
		retired = nil
	}
	t.local.retired = retired
	ring = meta.KeyRing{Sealed: c.Sealed, Active: c.Active, Epoch: c.ExpectEpoch + 1, Retired: retired}
	if err := t.putRecord(kRing, &ring); err != nil {
		return nil, err
	}
	return &meta.Result{Epoch: ring.Epoch}, nil
}

func execRewrap(t *txn, c *meta.Rewrap) (*meta.Result, error) {
	n := 0
	for i := range c.Items {
		it := &c.Items[i]
		var sse *meta.SSE
		var save func() error
		if it.Upload {
			u, err := getUpload(t, it.Bucket, it.Key, it.VersionID)
			if err != nil {
				return nil, err
			}
			if u == nil {
				continue
			}
			sse = &u.SSE
			save = func() error { return t.putRecord(uploadKey(u.Bucket, u.Key, u.UploadID), u) }
		} else {
			v, err := t.getVersion(it.Bucket, it.Key)
			if err != nil {
				return nil, err
			}
			if v == nil || v.VersionID != it.VersionID {
				continue
			}
			sse = &v.SSE
			save = func() error { return t.putVersion(v) }
		}
		if !sse.Mode.UsesMasterKey() || !bytes.Equal(sse.SealedDEK, it.OldSealedDEK) {
			continue
		}
		if slices.Contains(t.local.retired, it.NewMasterKeyVersion) {
			return nil, fmt.Errorf("%w: rewrap target version %d", meta.ErrKeyRetired, it.NewMasterKeyVersion)
		}
		kind := kindObject
		if it.Upload {
			kind = kindUpload
		}
		if err := t.census(sse.MasterKeyVersion, -1); err != nil {
			return nil, err
		}
		t.del(mkKey(sse.MasterKeyVersion, kind, it.Bucket, it.Key, it.VersionID))
		sse.SealedDEK = it.NewSealedDEK
		sse.MasterKeyVersion = it.NewMasterKeyVersion
		if err := t.census(sse.MasterKeyVersion, 1); err != nil {
			return nil, err
		}
		t.put(mkKey(sse.MasterKeyVersion, kind, it.Bucket, it.Key, it.VersionID), nil)
		if err := save(); err != nil {
			return nil, err
		}
		n++
	}
	return &meta.Result{Count: n}, nil
}

func execPutCMK(t *txn, c *meta.PutCMK) (*meta.Result, error) {
	var cur meta.CMK
	found, err := t.getRecord(cmkKey(c.CMK.ID), &cur)
	if err != nil {
		return nil, err
	}
	switch {
	case c.ExpectRevision == 0 && found:
		return nil, fmt.Errorf("%w: cmk %s exists", meta.ErrConflict, c.CMK.ID)
	case c.ExpectRevision != 0 && !found:
		return nil, fmt.Errorf("%w: %s", meta.ErrCMKNotFound, c.CMK.ID)
	case found && cur.Revision != c.ExpectRevision:
		return nil, fmt.Errorf("%w: cmk revision is %d, not %d", meta.ErrConflict, cur.Revision, c.ExpectRevision)
	}
	if c.CMK.Alias != "" {
		taken := ""
		err := t.iterate([]byte{pCMK}, []byte{pCMK + 1}, func(_, v []byte) error {
			var other meta.CMK
			if err := decodeRecord(v, &other); err != nil {
				return fmt.Errorf("%w: %v", meta.ErrInternal, err)
			}
			if other.Alias == c.CMK.Alias && other.ID != c.CMK.ID {
				taken = other.ID
				return errStop
			}
			return nil
		})
		if err != nil && err != errStop {
			return nil, err
		}
		if taken != "" {
			return nil, fmt.Errorf("%w: alias %q belongs to cmk %s", meta.ErrConflict, c.CMK.Alias, taken)
		}
	}
	k := c.CMK
	k.Revision = c.ExpectRevision + 1
	if err := t.putRecord(cmkKey(k.ID), &k); err != nil {
		return nil, err
	}
	return &meta.Result{Epoch: k.Revision}, nil
}

func execDeleteCMK(t *txn, c *meta.DeleteCMK) (*meta.Result, error) {
	var cur meta.CMK
	found, err := t.getRecord(cmkKey(c.ID), &cur)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("%w: %s", meta.ErrCMKNotFound, c.ID)
	}
	if cur.Revision != c.ExpectRevision {
		return nil, fmt.Errorf("%w: cmk revision is %d, not %d", meta.ErrConflict, cur.Revision, c.ExpectRevision)
	}
	t.del(cmkKey(c.ID))
	return ok()
}

func execSetLayout(t *txn, c *meta.SetLayout) (*meta.Result, error) {
	var cur meta.ClusterLayout
	if _, err := t.getRecord(kLayout, &cur); err != nil {
		return nil, err
	}
	if cur.Epoch != c.ExpectEpoch {
		return nil, fmt.Errorf("%w: layout epoch is %d, not %d", meta.ErrConflict, cur.Epoch, c.ExpectEpoch)
	}
	l := c.Layout
	l.Nodes = slices.Clone(l.Nodes)
	slices.SortFunc(l.Nodes, func(a, b meta.StorageNode) int { return strings.Compare(a.ID, b.ID) })
	l.Epoch = c.ExpectEpoch + 1
	if err := t.putRecord(kLayout, &l); err != nil {
		return nil, err
	}
	return &meta.Result{Epoch: l.Epoch}, nil
}

func execRemoveGarbage(t *txn, c *meta.RemoveGarbage) (*meta.Result, error) {
	n := 0
	for _, seq := range c.Seqs {
		_, found, err := t.get(garbageKey(seq))
		if err != nil {
			return nil, err
		}
		if !found {
			continue
		}
		t.del(garbageKey(seq))
		st, err := t.getStats()
		if err != nil {
			return nil, err
		}
		st.Garbage--
		n++
	}
	return &meta.Result{Count: n}, nil
}

func execUpdateLayout(t *txn, c *meta.UpdateLayout) (*meta.Result, error) {
	v, err := t.getVersion(c.Bucket, c.Key)
	if err != nil {
		return nil, err
	}
	if v == nil || v.VersionID != c.VersionID {
		return nil, fmt.Errorf("%w: %s/%s version %s", meta.ErrObjectNotFound, c.Bucket, c.Key, c.VersionID)
	}
	var l *meta.Layout
	shardsID := v.VersionID
	switch {
	case c.Part == 0 && !v.IsMultipart():
		l = &v.Layout
	case c.Part > 0:
		for i := range v.Parts {
			if v.Parts[i].Number == c.Part {
				l, shardsID = &v.Parts[i].Layout, v.Parts[i].ShardsID
			}
		}
	}
	if l == nil {
		return nil, fmt.Errorf("%w: no shard set for part %d", meta.ErrInvalidPart, c.Part)
	}
	if l.Epoch != c.ExpectEpoch {
		return nil, fmt.Errorf("%w: layout epoch is %d, not %d", meta.ErrConflict, l.Epoch, c.ExpectEpoch)
	}
	next := meta.Layout{K: l.K, M: l.M, BlockBytes: l.BlockBytes, Nodes: c.Nodes, Missing: c.Missing, Epoch: l.Epoch + 1}
	if err := next.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", meta.ErrInvalidArgument, err)
	}
	missing := map[int]bool{}
	for _, i := range next.Missing {
		missing[i] = true
	}
	var moved []meta.ShardLoc
	for _, s := range l.Shards() {
		if missing[s.Index] || next.Nodes[s.Index] != s.Node {
			moved = append(moved, s)
		}
	}
	if len(moved) > 0 {
		if err := t.enqueueGarbage(meta.GarbageItem{
			Bucket: v.Bucket, Key: v.Key, VersionID: v.VersionID, Reason: meta.ReasonHealed,
			Pieces: []meta.GarbagePiece{{ShardsID: shardsID, Part: c.Part, Shards: moved}},
		}); err != nil {
			return nil, err
		}
	}
	*l = next
	if err := t.putVersion(v); err != nil {
		return nil, err
	}
	return &meta.Result{VersionID: v.VersionID, Epoch: next.Epoch}, nil
}
