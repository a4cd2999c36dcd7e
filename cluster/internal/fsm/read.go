package fsm

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/coffer-io/coffer/cluster/meta"
)

// reader runs fn against the live database while holding the read lock, so Restore
// cannot swap or close it underneath.
func (f *FSM) read(fn func(db *pebble.DB) error) error {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.h == nil {
		return ErrClosed
	}
	return fn(f.h.db)
}

// getRaw returns a copy of the value at k, or found=false.
func getRaw(db *pebble.DB, k []byte) ([]byte, bool, error) {
	v, closer, err := db.Get(k)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("fsm: read: %w", err)
	}
	out := append([]byte(nil), v...)
	return out, true, closer.Close()
}

func getRecord(db *pebble.DB, k []byte, v any) (bool, error) {
	b, found, err := getRaw(db, k)
	if !found || err != nil {
		return false, err
	}
	return true, decodeRecord(b, v)
}

// scan calls fn for each key in [lower, upper) in order until fn returns false.
func scan(db *pebble.DB, lower, upper []byte, fn func(k, v []byte) (bool, error)) error {
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return fmt.Errorf("fsm: %w", err)
	}
	for valid := it.First(); valid; valid = it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			it.Close()
			return fmt.Errorf("fsm: %w", err)
		}
		more, err := fn(it.Key(), v)
		if err != nil {
			it.Close()
			return err
		}
		if !more {
			break
		}
	}
	if err := errors.Join(it.Error(), it.Close()); err != nil {
		return fmt.Errorf("fsm: %w", err)
	}
	return nil
}

// GetBucket returns a bucket, or meta.ErrBucketNotFound.
func (f *FSM) GetBucket(name string) (*meta.Bucket, error) {
	var b meta.Bucket
	err := f.read(func(db *pebble.DB) error {
		found, err := getRecord(db, bucketKey(name), &b)
		if err == nil && !found {
			err = fmt.Errorf("%w: %s", meta.ErrBucketNotFound, name)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &b, nil
}

// ListBuckets returns all buckets in name order, only those of owner when owner is
// not empty.
func (f *FSM) ListBuckets(owner string) ([]meta.Bucket, error) {
	var out []meta.Bucket
	err := f.read(func(db *pebble.DB) error {
		return scan(db, []byte{pBucket}, []byte{pBucket + 1}, func(_, v []byte) (bool, error) {
			var b meta.Bucket
			if err := decodeRecord(v, &b); err != nil {
				return false, err
			}
			if owner == "" || b.Owner == owner {
				out = append(out, b)
			}
			return true, nil
		})
	})
	return out, err
}

// GetObject returns the current version of bucket/key, or meta.ErrObjectNotFound
// (meta.ErrBucketNotFound when the bucket does not exist).
func (f *FSM) GetObject(bucket, key string) (*meta.Version, error) {
	var v *meta.Version
	err := f.read(func(db *pebble.DB) error {
		b, found, err := getRaw(db, objectKey(bucket, key))
		if err != nil {
			return err
		}
		if !found {
			if _, found, err := getRaw(db, bucketKey(bucket)); err != nil || !found {
				return errors.Join(err, fmt.Errorf("%w: %s", meta.ErrBucketNotFound, bucket))
			}
			return fmt.Errorf("%w: %s/%s", meta.ErrObjectNotFound, bucket, key)
		}
		v, err = decodeVersion(b)
		return err
	})
	return v, err
}

// GetUpload returns an in-progress upload, or meta.ErrUploadNotFound.
func (f *FSM) GetUpload(bucket, key string, id meta.ID) (*meta.Upload, error) {
	var u meta.Upload
	err := f.read(func(db *pebble.DB) error {
		found, err := getRecord(db, uploadKey(bucket, key, id), &u)
		if err == nil && !found {
			err = fmt.Errorf("%w: %s", meta.ErrUploadNotFound, id)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &u, nil
}

// GetUser returns a user by access key id, or meta.ErrUserNotFound.
func (f *FSM) GetUser(accessKeyID string) (*meta.User, error) {
	var u meta.User
	err := f.read(func(db *pebble.DB) error {
		found, err := getRecord(db, userKey(accessKeyID), &u)
		if err == nil && !found {
			err = fmt.Errorf("%w: %s", meta.ErrUserNotFound, accessKeyID)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &u, nil
}

// ListUsers returns all users in access key id order.
func (f *FSM) ListUsers() ([]meta.User, error) {
	var out []meta.User
	err := f.read(func(db *pebble.DB) error {
		return scan(db, []byte{pUser}, []byte{pUser + 1}, func(_, v []byte) (bool, error) {
			var u meta.User
			if err := decodeRecord(v, &u); err != nil {
				return false, err
			}
			out = append(out, u)
			return true, nil
		})
	})
	return out, err
}

// KeyRing returns the master-key ring; a zero ring (Epoch 0) when none was set.
func (f *FSM) KeyRing() (meta.KeyRing, error) {
	var r meta.KeyRing
	err := f.read(func(db *pebble.DB) error {
		_, err := getRecord(db, kRing, &r)
		return err
	})
	return r, err
}

// Census returns, per master-key version, how many current object versions and open
// uploads have a DEK sealed under it. Versions with a zero count are absent.
func (f *FSM) Census() (map[uint32]uint64, error) {
	out := map[uint32]uint64{}
	err := f.read(func(db *pebble.DB) error {
		return scan(db, []byte{pCensus}, []byte{pCensus + 1}, func(k, v []byte) (bool, error) {
			if len(k) != 5 || len(v) != 8 {
				return false, fmt.Errorf("%w: census entry", ErrCorrupt)
			}
			out[binary.BigEndian.Uint32(k[1:])] = u64(v)
			return true, nil
		})
	})
	return out, err
}

// GetCMK returns a CMK, or meta.ErrCMKNotFound.
func (f *FSM) GetCMK(id string) (*meta.CMK, error) {
	var c meta.CMK
	err := f.read(func(db *pebble.DB) error {
		found, err := getRecord(db, cmkKey(id), &c)
		if err == nil && !found {
			err = fmt.Errorf("%w: %s", meta.ErrCMKNotFound, id)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// GetCMKByAlias returns the CMK with the given alias (aliases are unique: PutCMK
// refuses a taken one), or meta.ErrCMKNotFound.
func (f *FSM) GetCMKByAlias(alias string) (*meta.CMK, error) {
	all, err := f.ListCMKs()
	if err != nil {
		return nil, err
	}
	for i := range all {
		if all[i].Alias == alias && alias != "" {
			return &all[i], nil
		}
	}
	return nil, fmt.Errorf("%w: alias %q", meta.ErrCMKNotFound, alias)
}

// ListCMKs returns all CMKs in id order.
func (f *FSM) ListCMKs() ([]meta.CMK, error) {
	var out []meta.CMK
	err := f.read(func(db *pebble.DB) error {
		return scan(db, []byte{pCMK}, []byte{pCMK + 1}, func(_, v []byte) (bool, error) {
			var c meta.CMK
			if err := decodeRecord(v, &c); err != nil {
				return false, err
			}
			out = append(out, c)
			return true, nil
		})
	})
	return out, err
}

// Layout returns the cluster layout; Epoch 0 when none was set.
func (f *FSM) Layout() (meta.ClusterLayout, error) {
	var l meta.ClusterLayout
	err := f.read(func(db *pebble.DB) error {
		_, err := getRecord(db, kLayout, &l)
		return err
	})
	return l, err
}

// GarbageList returns up to limit garbage items with Seq > after, in Seq order
// (limit clamped by meta.ClampList).
func (f *FSM) GarbageList(after uint64, limit int) ([]meta.GarbageItem, error) {
	limit = meta.ClampList(limit)
	var out []meta.GarbageItem
	err := f.read(func(db *pebble.DB) error {
		lower := []byte{pGarbage}
		if after < ^uint64(0) {
			lower = garbageKey(after + 1)
		} else {
			return nil
		}
		return scan(db, lower, []byte{pGarbage + 1}, func(_, v []byte) (bool, error) {
			var g meta.GarbageItem
			if err := decodeRecord(v, &g); err != nil {
				return false, err
			}
			out = append(out, g)
			return len(out) < limit, nil
		})
	})
	return out, err
}

// VersionsByMasterKey returns up to limit DEKs sealed under master-key version v,
// starting after the reference after (nil: from the start), ordered by kind (objects,
// then uploads), bucket, key and id. Pass the last returned reference to continue.
func (f *FSM) VersionsByMasterKey(v uint32, after *meta.KeyRef, limit int) ([]meta.KeyRef, error) {
	limit = meta.ClampList(limit)
	lower := mkPrefix(v)
	if after != nil {
		kind := kindObject
		if after.Upload {
			kind = kindUpload
		}
		lower = append(mkKey(v, kind, after.Bucket, after.Key, after.VersionID), 0)
	}
	var out []meta.KeyRef
	err := f.read(func(db *pebble.DB) error {
		var refs []meta.KeyRef
		err := scan(db, lower, prefixEnd(mkPrefix(v)), func(k, _ []byte) (bool, error) {
			kind, bucket, key, id, ok := parseMKKey(k)
			if !ok {
				return false, fmt.Errorf("%w: master-key index entry", ErrCorrupt)
			}
			refs = append(refs, meta.KeyRef{Bucket: bucket, Key: key, VersionID: id, Upload: kind == kindUpload})
			return len(refs) < limit, nil
		})
		if err != nil {
			return err
		}
		for i := range refs {
			r := &refs[i]
			var sse meta.SSE
			if r.Upload {
				var u meta.Upload
				found, err := getRecord(db, uploadKey(r.Bucket, r.Key, r.VersionID), &u)
				if err != nil || !found {
					return errors.Join(err, fmt.Errorf("%w: index names a missing upload", ErrCorrupt))
				}
				sse = u.SSE
			} else {
				b, found, err := getRaw(db, objectKey(r.Bucket, r.Key))
				if err != nil || !found {
					return errors.Join(err, fmt.Errorf("%w: index names a missing object", ErrCorrupt))
				}
				ver, err := decodeVersion(b)
				if err != nil {
					return err
				}
				sse = ver.SSE
			}
			r.SealedDEK = sse.SealedDEK
		}
		out = refs
		return nil
	})
	return out, err
}

// Stats returns object, byte, bucket, upload and garbage counts.
func (f *FSM) Stats() (meta.Stats, error) {
	var s meta.Stats
	err := f.read(func(db *pebble.DB) error {
		_, err := getRecord(db, kStats, &s)
		return err
	})
	return s, err
}

// ShardsOwner reports whether the shard set written under id is live — referenced by
// a current object version or by a part of an open upload — and by what. A storage
// node's sweeper deletes unreferenced shards only after its own grace period, since a
// PUT writes shards before it commits.
func (f *FSM) ShardsOwner(id meta.ID) (meta.ShardsRef, bool, error) {
	var ref meta.ShardsRef
	var live bool
	err := f.read(func(db *pebble.DB) error {
		v, found, err := getRaw(db, shardsKey(id))
		if err != nil || !found {
			return err
		}
		r, ok := decodeShardsRef(v)
		if !ok {
			return fmt.Errorf("%w: shards index entry", ErrCorrupt)
		}
		ref, live = r, true
		return nil
	})
	return ref, live, err
}

// ScanVersions returns up to limit current versions across all buckets in (bucket,
// key) order, starting after (afterBucket, afterKey); empty afterBucket starts at the
// beginning. Healing and scrubbing jobs page through the keyspace with it.
func (f *FSM) ScanVersions(afterBucket, afterKey string, limit int) ([]*meta.Version, error) {
	limit = meta.ClampList(limit)
	lower := []byte{pObject}
	if afterBucket != "" {
		lower = append(objectKey(afterBucket, afterKey), 0)
	}
	var out []*meta.Version
	err := f.read(func(db *pebble.DB) error {
		return scan(db, lower, []byte{pObject + 1}, func(_, v []byte) (bool, error) {
			ver, err := decodeVersion(v)
			if err != nil {
				return false, err
			}
			out = append(out, ver)
			return len(out) < limit, nil
		})
	})
	return out, err
}
