package kms

import (
	"sync"
	"time"
)

// CacheEntriesMax bounds the entries of a Cache; a full cache drops everything.
const CacheEntriesMax = 1024

// Cache holds unsealed material of CMKs for at most TTL. An entry is returned only
// while younger than the TTL, so a change made elsewhere (a disable on another
// gateway) takes effect within the TTL; Forget drops one at once. Safe for concurrent
// use.
type Cache struct {
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex // guards entries
	entries map[string]cacheEntry
}

type cacheEntry struct {
	at  time.Time
	val any
}

// NewCache returns a cache whose entries live ttl by clock now.
func NewCache(ttl time.Duration, now func() time.Time) *Cache {
	return &Cache{ttl: ttl, now: now, entries: map[string]cacheEntry{}}
}

// Get returns the value cached for id, if it is younger than the TTL.
func (c *Cache) Get(id string) (any, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[id]
	if !ok {
		return nil, false
	}
	if c.now().Sub(e.at) >= c.ttl {
		delete(c.entries, id)
		return nil, false
	}
	return e.val, true
}

// Put caches val for id from now.
func (c *Cache) Put(id string, val any) {
	if c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= CacheEntriesMax {
		c.entries = map[string]cacheEntry{}
	}
	c.entries[id] = cacheEntry{at: c.now(), val: val}
}

// Forget drops the entry of id.
func (c *Cache) Forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, id)
}
