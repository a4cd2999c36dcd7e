package fsm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/coffer-io/coffer/cluster/meta"
)

// ListObjects returns a page of the current objects of a bucket (List Objects v1
// semantics, see meta.ListObjectsOptions). When the delimiter rolls keys up into a
// common prefix, the iterator seeks past every key under it instead of visiting them.
// It fails with meta.ErrBucketNotFound.
func (f *FSM) ListObjects(bucket string, opts meta.ListObjectsOptions) (meta.ListObjectsResult, error) {
	var res meta.ListObjectsResult
	err := f.read(func(db *pebble.DB) error {
		if _, found, err := getRaw(db, bucketKey(bucket)); err != nil || !found {
			return errors.Join(err, fmt.Errorf("%w: %s", meta.ErrBucketNotFound, bucket))
		}
		base := objectPrefix(bucket)
		lower := append(append([]byte(nil), base...), opts.Prefix...)
		upper := prefixEnd(lower)
		start := lower
		if opts.Marker != "" {
			m := append(append(append([]byte(nil), base...), opts.Marker...), 0)
			if bytes.Compare(m, start) > 0 {
				start = m
			}
		}
		it, err := db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
		if err != nil {
			return fmt.Errorf("fsm: %w", err)
		}
		err = listObjects(it, base, start, opts, &res)
		return errors.Join(err, it.Close())
	})
	return res, err
}

func listObjects(it *pebble.Iterator, base, start []byte, opts meta.ListObjectsOptions, res *meta.ListObjectsResult) error {
	limit := meta.ClampList(opts.MaxKeys)
	delim := []byte(opts.Delimiter)
	plen := len(opts.Prefix)
	n := 0
	var seekBuf []byte
	var owner, class string
	for valid := it.SeekGE(start); valid; {
		key := it.Key()[len(base):]
		if len(delim) > 0 {
			if i := bytes.Index(key[plen:], delim); i >= 0 {
				cp := key[:plen+i+len(delim)]
				// Seek past every key under this common prefix.
				seekBuf = append(append(seekBuf[:0], base...), cp...)
				next := prefixEnd(seekBuf)
				if string(cp) > opts.Marker {
					if n == limit {
						res.IsTruncated = true
						break
					}
					res.CommonPrefixes = append(res.CommonPrefixes, string(cp))
					res.NextMarker = string(cp)
					n++
				}
				if next == nil {
					break
				}
				valid = it.SeekGE(next)
				continue
			}
		}
		if n == limit {
			res.IsTruncated = true
			break
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return fmt.Errorf("fsm: %w", err)
		}
		s, err := decodeSummary(v)
		if err != nil {
			return err
		}
		k := string(key)
		// Owners and storage classes repeat from key to key: reuse the last string.
		if string(s.owner) != owner {
			owner = string(s.owner)
		}
		if string(s.class) != class {
			class = string(s.class)
		}
		res.Objects = append(res.Objects, meta.ObjectSummary{
			Key: k, Size: s.size, ETag: string(s.etag), LastModified: s.created,
			Owner: owner, StorageClass: class,
		})
		res.NextMarker = k
		n++
		valid = it.Next()
	}
	if !res.IsTruncated {
		res.NextMarker = ""
	}
	return it.Error()
}

// ListUploads returns a page of the in-progress uploads of a bucket, ordered by key
// and upload id, with the same prefix/delimiter roll-up as ListObjects. It fails with
// meta.ErrBucketNotFound.
func (f *FSM) ListUploads(bucket string, opts meta.ListUploadsOptions) (meta.ListUploadsResult, error) {
	var res meta.ListUploadsResult
	err := f.read(func(db *pebble.DB) error {
		if _, found, err := getRaw(db, bucketKey(bucket)); err != nil || !found {
			return errors.Join(err, fmt.Errorf("%w: %s", meta.ErrBucketNotFound, bucket))
		}
		base := uploadPrefix(bucket)
		lower := append(append([]byte(nil), base...), opts.Prefix...)
		upper := prefixEnd(lower)
		start := lower
		if opts.KeyMarker != "" {
			m := append(append([]byte(nil), base...), opts.KeyMarker...)
			if opts.UploadIDMarker.IsZero() {
				m = append(m, 1) // past key‖0x00‖id of every upload of KeyMarker
			} else {
				m = append(append(append(m, 0), opts.UploadIDMarker[:]...), 0)
			}
			if bytes.Compare(m, start) > 0 {
				start = m
			}
		}
		it, err := db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
		if err != nil {
			return fmt.Errorf("fsm: %w", err)
		}
		err = listUploads(it, base, start, opts, &res)
		return errors.Join(err, it.Close())
	})
	return res, err
}

func listUploads(it *pebble.Iterator, base, start []byte, opts meta.ListUploadsOptions, res *meta.ListUploadsResult) error {
	limit := meta.ClampList(opts.MaxUploads)
	delim := []byte(opts.Delimiter)
	plen := len(opts.Prefix)
	n := 0
	for valid := it.SeekGE(start); valid; {
		full := it.Key()
		if len(full) < len(base)+17 || full[len(full)-17] != 0 {
			return fmt.Errorf("%w: upload key", ErrCorrupt)
		}
		key := full[len(base) : len(full)-17]
		if len(delim) > 0 && len(key) >= plen {
			if i := bytes.Index(key[plen:], delim); i >= 0 {
				cp := key[:plen+i+len(delim)]
				next := prefixEnd(append(append([]byte(nil), base...), cp...))
				if string(cp) > opts.KeyMarker {
					if n == limit {
						res.IsTruncated = true
						break
					}
					res.CommonPrefixes = append(res.CommonPrefixes, string(cp))
					res.NextKeyMarker, res.NextUploadIDMarker = string(cp), meta.ID{}
					n++
				}
				if next == nil {
					break
				}
				valid = it.SeekGE(next)
				continue
			}
		}
		if n == limit {
			res.IsTruncated = true
			break
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return fmt.Errorf("fsm: %w", err)
		}
		var u meta.Upload
		if err := decodeRecord(v, &u); err != nil {
			return err
		}
		res.Uploads = append(res.Uploads, meta.UploadSummary{
			Key: u.Key, UploadID: u.UploadID, Initiated: u.Initiated, Owner: u.Owner, StorageClass: u.StorageClass,
		})
		res.NextKeyMarker, res.NextUploadIDMarker = u.Key, u.UploadID
		n++
		valid = it.Next()
	}
	if !res.IsTruncated {
		res.NextKeyMarker, res.NextUploadIDMarker = "", meta.ID{}
	}
	return it.Error()
}

// ListParts returns a page of the parts of an upload in part-number order. It fails
// with meta.ErrUploadNotFound.
func (f *FSM) ListParts(bucket, key string, id meta.ID, opts meta.ListPartsOptions) (meta.ListPartsResult, error) {
	var res meta.ListPartsResult
	limit := meta.ClampList(opts.MaxParts)
	err := f.read(func(db *pebble.DB) error {
		if _, found, err := getRaw(db, uploadKey(bucket, key, id)); err != nil || !found {
			return errors.Join(err, fmt.Errorf("%w: %s", meta.ErrUploadNotFound, id))
		}
		marker := max(opts.PartNumberMarker, 0)
		if marker >= meta.PartNumberMax {
			return nil
		}
		prefix := partPrefix(bucket, key, id)
		return scan(db, partKey(bucket, key, id, marker+1), prefixEnd(prefix), func(k, v []byte) (bool, error) {
			if len(res.Parts) == limit {
				res.IsTruncated = true
				return false, nil
			}
			var p meta.Part
			if err := decodeRecord(v, &p); err != nil {
				return false, err
			}
			if len(k) != len(prefix)+4 || int(binary.BigEndian.Uint32(k[len(prefix):])) != p.Number {
				return false, fmt.Errorf("%w: part key", ErrCorrupt)
			}
			res.Parts = append(res.Parts, p)
			res.NextPartNumberMarker = p.Number
			return true, nil
		})
	})
	if !res.IsTruncated {
		res.NextPartNumberMarker = 0
	}
	return res, err
}
