package meta

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// The compact binary form of a Version, used for the hot CommitObject command (body
// version 2) and by the state machine to store versions. Layout, in order; "u" is a
// uvarint, "i" a zigzag varint, "s" and "b" a uvarint length then the bytes, "id" 16
// raw bytes, "n×" a uvarint count then that many elements:
//
//	version: s Bucket, s Key, id VersionID, i Size, s ETag, u CRC64, s ContentType,
//	         s CacheControl, s ContentDisposition, s ContentEncoding, s ContentLanguage,
//	         s Expires, n×(s name, s value) UserMeta sorted by name, s StorageClass,
//	         i Created, s Owner, acl, layout, stream, sse, n×part
//	acl:     s Canned, n×(s GranteeType, s Grantee, s Permission)
//	layout:  i K, i M, i BlockBytes, n×(s node), n×(i missing), u Epoch
//	stream:  u Format, b NoncePrefix, i CipherBytes
//	sse:     s Mode, b SealedDEK, u MasterKeyVersion, s CMKID, s Context,
//	         b CustomerSalt, b CustomerHMAC
//	part:    i Number, id ShardsID, i Size, s ETag, u CRC64, layout, stream
//
// Empty slices and maps decode as nil.

// errShort reports a binary body that ends early or holds impossible lengths.
var errShort = errors.New("truncated or oversized field")

type benc struct{ b []byte }

func (e *benc) u(v uint64)  { e.b = binary.AppendUvarint(e.b, v) }
func (e *benc) i(v int64)   { e.b = binary.AppendVarint(e.b, v) }
func (e *benc) s(v string)  { e.u(uint64(len(v))); e.b = append(e.b, v...) }
func (e *benc) by(v []byte) { e.u(uint64(len(v))); e.b = append(e.b, v...) }
func (e *benc) id(v ID)     { e.b = append(e.b, v[:]...) }

type bdec struct {
	b   []byte
	err error
}

func (d *bdec) fail() {
	if d.err == nil {
		d.err = errShort
	}
	d.b = nil
}

func (d *bdec) u() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *bdec) i() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

// int reads a varint that must fit an int32 (counts, numbers, sizes of layouts).
func (d *bdec) int() int {
	v := d.i()
	if v < -1<<31 || v > 1<<31-1 {
		d.fail()
		return 0
	}
	return int(v)
}

func (d *bdec) raw(n uint64) []byte {
	if n > uint64(len(d.b)) {
		d.fail()
		return nil
	}
	out := d.b[:n]
	d.b = d.b[n:]
	return out
}

func (d *bdec) s() string { return string(d.raw(d.u())) }

func (d *bdec) by() []byte {
	r := d.raw(d.u())
	if len(r) == 0 {
		return nil
	}
	return append([]byte(nil), r...)
}

func (d *bdec) id() ID {
	var v ID
	copy(v[:], d.raw(16))
	return v
}

// count reads an element count; every element takes at least one byte, so a count
// larger than what remains is damage (and never drives an allocation).
func (d *bdec) count() int {
	n := d.u()
	if n > uint64(len(d.b)) {
		d.fail()
		return 0
	}
	return int(n)
}

func (e *benc) layout(l *Layout) {
	e.i(int64(l.K))
	e.i(int64(l.M))
	e.i(int64(l.BlockBytes))
	e.u(uint64(len(l.Nodes)))
	for _, n := range l.Nodes {
		e.s(n)
	}
	e.u(uint64(len(l.Missing)))
	for _, m := range l.Missing {
		e.i(int64(m))
	}
	e.u(l.Epoch)
}

func (d *bdec) layout(l *Layout) {
	l.K, l.M, l.BlockBytes = d.int(), d.int(), d.int()
	if n := d.count(); n > 0 {
		l.Nodes = make([]string, n)
		for i := range l.Nodes {
			l.Nodes[i] = d.s()
		}
	}
	if n := d.count(); n > 0 {
		l.Missing = make([]int, n)
		for i := range l.Missing {
			l.Missing[i] = d.int()
		}
	}
	l.Epoch = d.u()
}

func (e *benc) stream(s *Stream) {
	e.u(uint64(s.Format))
	e.by(s.NoncePrefix)
	e.i(s.CipherBytes)
}

func (d *bdec) stream(s *Stream) {
	f := d.u()
	if f > 0xffff {
		d.fail()
	}
	s.Format = uint16(f)
	s.NoncePrefix = d.by()
	s.CipherBytes = d.i()
}

// AppendVersion appends the binary form of v to dst.
func AppendVersion(dst []byte, v *Version) []byte {
	e := benc{b: dst}
	e.s(v.Bucket)
	e.s(v.Key)
	e.id(v.VersionID)
	e.i(v.Size)
	e.s(v.ETag)
	e.u(v.CRC64)
	e.s(v.ContentType)
	h := &v.Headers
	e.s(h.CacheControl)
	e.s(h.ContentDisposition)
	e.s(h.ContentEncoding)
	e.s(h.ContentLanguage)
	e.s(h.Expires)
	names := make([]string, 0, len(v.UserMeta))
	for k := range v.UserMeta {
		names = append(names, k)
	}
	slices.Sort(names)
	e.u(uint64(len(names)))
	for _, k := range names {
		e.s(k)
		e.s(v.UserMeta[k])
	}
	e.s(v.StorageClass)
	e.i(v.Created)
	e.s(v.Owner)
	e.s(v.ACL.Canned)
	e.u(uint64(len(v.ACL.Grants)))
	for _, g := range v.ACL.Grants {
		e.s(g.GranteeType)
		e.s(g.Grantee)
		e.s(g.Permission)
	}
	e.layout(&v.Layout)
	e.stream(&v.Stream)
	s := &v.SSE
	e.s(string(s.Mode))
	e.by(s.SealedDEK)
	e.u(uint64(s.MasterKeyVersion))
	e.s(s.CMKID)
	e.s(s.Context)
	e.by(s.CustomerSalt)
	e.by(s.CustomerHMAC)
	e.u(uint64(len(v.Parts)))
	for i := range v.Parts {
		p := &v.Parts[i]
		e.i(int64(p.Number))
		e.id(p.ShardsID)
		e.i(p.Size)
		e.s(p.ETag)
		e.u(p.CRC64)
		e.layout(&p.Layout)
		e.stream(&p.Stream)
	}
	return e.b
}

// DecodeVersion decodes the binary form written by AppendVersion and returns the
// bytes after it. Damage yields an error wrapping ErrMalformed, never a panic. The
// result does not alias b.
func DecodeVersion(b []byte) (*Version, []byte, error) {
	d := bdec{b: b}
	v := new(Version)
	d.version(v)
	if d.err != nil {
		return nil, nil, fmt.Errorf("%w: version: %v", ErrMalformed, d.err)
	}
	return v, d.b, nil
}

func (d *bdec) version(v *Version) {
	v.Bucket, v.Key, v.VersionID = d.s(), d.s(), d.id()
	v.Size, v.ETag, v.CRC64 = d.i(), d.s(), d.u()
	v.ContentType = d.s()
	v.Headers = ContentHeaders{CacheControl: d.s(), ContentDisposition: d.s(), ContentEncoding: d.s(), ContentLanguage: d.s(), Expires: d.s()}
	if n := d.count(); n > 0 {
		v.UserMeta = make(map[string]string, n)
		for range n {
			k := d.s()
			v.UserMeta[k] = d.s()
		}
	}
	v.StorageClass, v.Created, v.Owner = d.s(), d.i(), d.s()
	v.ACL.Canned = d.s()
	if n := d.count(); n > 0 {
		v.ACL.Grants = make([]Grant, n)
		for i := range v.ACL.Grants {
			v.ACL.Grants[i] = Grant{GranteeType: d.s(), Grantee: d.s(), Permission: d.s()}
		}
	}
	d.layout(&v.Layout)
	d.stream(&v.Stream)
	s := &v.SSE
	s.Mode, s.SealedDEK = SSEMode(d.s()), d.by()
	mkv := d.u()
	if mkv > 0xffffffff {
		d.fail()
	}
	s.MasterKeyVersion = uint32(mkv)
	s.CMKID, s.Context, s.CustomerSalt, s.CustomerHMAC = d.s(), d.s(), d.by(), d.by()
	if n := d.count(); n > 0 {
		v.Parts = make([]PartEntry, n)
		for i := range v.Parts {
			p := &v.Parts[i]
			p.Number, p.ShardsID, p.Size, p.ETag, p.CRC64 = d.int(), d.id(), d.i(), d.s(), d.u()
			d.layout(&p.Layout)
			d.stream(&p.Stream)
			if d.err != nil {
				return
			}
		}
	}
}

// appendCommitObject is body version 2 of CommitObject: the binary version, then
// s IfMatch, one byte IfNoneMatch (0 or 1), one byte 0 or 1 for ExpectCurrent
// followed by its id when 1.
func appendCommitObject(dst []byte, c *CommitObject) []byte {
	dst = AppendVersion(dst, &c.Version)
	e := benc{b: dst}
	e.s(c.IfMatch)
	e.b = append(e.b, boolByte(c.IfNoneMatch))
	if c.ExpectCurrent == nil {
		return append(e.b, 0)
	}
	e.b = append(e.b, 1)
	e.id(*c.ExpectCurrent)
	return e.b
}

func decodeCommitObject(b []byte) (*CommitObject, error) {
	d := bdec{b: b}
	c := &CommitObject{}
	d.version(&c.Version)
	c.IfMatch = d.s()
	flags := d.raw(2)
	if d.err == nil {
		if flags[0] > 1 || flags[1] > 1 {
			return nil, fmt.Errorf("%w: commit flags %v", ErrMalformed, flags)
		}
		c.IfNoneMatch = flags[0] == 1
		if flags[1] == 1 {
			id := d.id()
			c.ExpectCurrent = &id
		}
	}
	if d.err != nil {
		return nil, fmt.Errorf("%w: commit body: %v", ErrMalformed, d.err)
	}
	if len(d.b) != 0 {
		return nil, fmt.Errorf("%w: %d bytes after commit body", ErrMalformed, len(d.b))
	}
	return c, nil
}

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}
