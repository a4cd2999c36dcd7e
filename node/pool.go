package node

import (
	"sync"
)

// idLocks serialises writers of one ShardID.
type idLocks struct {
	mu sync.Mutex
	m  map[ShardID]*idLock // mu guards m and every idLock.refs
}

type idLock struct {
	sync.Mutex
	refs int
}

// lock locks id and returns its unlock function.
func (l *idLocks) lock(id ShardID) func() {
	l.mu.Lock()
	e := l.m[id]
	if e == nil {
		e = &idLock{}
		l.m[id] = e
	}
	e.refs++
	l.mu.Unlock()
	e.Lock()
	return func() {
		e.Unlock()
		l.mu.Lock()
		if e.refs--; e.refs == 0 {
			delete(l.m, id)
		}
		l.mu.Unlock()
	}
}

// bufPool hands out reusable byte buffers; a buffer too small for a request is
// replaced by a larger one, so the pool converges on the largest frame in use.
type bufPool struct{ p sync.Pool }

func (b *bufPool) get(n int) *[]byte {
	if v, ok := b.p.Get().(*[]byte); ok && cap(*v) >= n {
		*v = (*v)[:n]
		return v
	}
	buf := make([]byte, n)
	return &buf
}

// put returns a buffer; its bytes must not be used afterwards. Invariants builds
// poison them so a use after put shows up as corruption in tests.
func (b *bufPool) put(v *[]byte) {
	if invariants {
		buf := (*v)[:cap(*v)]
		for i := range buf {
			buf[i] = 0xdb
		}
	}
	b.p.Put(v)
}
