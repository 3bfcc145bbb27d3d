package geo

import (
	"container/list"
	"sync"
)

// Isochrone cache bounds: at most isoCacheEntries isochrones holding at most
// isoCacheCells cells in total (about 20 bytes a cell with the boundary
// sets, so ~20 MB). A 15-minute drive on the demo network is ~25,000 cells;
// a 15-minute walk ~1,000.
const (
	isoCacheEntries = 256
	isoCacheCells   = 1_000_000
)

type isoKey struct {
	start, src int32 // start cell, and where the search began (see source)
	m          mode
	minutes    float64
}

// isoCache is a least-recently-used cache of isochrones. Two callers
// missing the same key at once both compute it; the second put wins, with
// an equal result.
type isoCache struct {
	mu      sync.Mutex // guards the following fields
	entries map[isoKey]*list.Element
	lru     list.List // of *isoEntry, most recent first
	cells   int
	hits    uint64
	misses  uint64
}

type isoEntry struct {
	key isoKey
	iso *Isochrone
}

func (c *isoCache) get(k isoKey) *Isochrone {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[k]
	if !ok {
		c.misses++
		return nil
	}
	c.hits++
	c.lru.MoveToFront(e)
	return e.Value.(*isoEntry).iso
}

func (c *isoCache) put(k isoKey, iso *Isochrone) {
	size := len(iso.cells) + len(iso.near)
	if size > isoCacheCells {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = make(map[isoKey]*list.Element)
	}
	if e, ok := c.entries[k]; ok {
		c.remove(e)
	}
	c.entries[k] = c.lru.PushFront(&isoEntry{k, iso})
	c.cells += size
	for c.lru.Len() > isoCacheEntries || c.cells > isoCacheCells {
		c.remove(c.lru.Back())
	}
}

func (c *isoCache) remove(e *list.Element) {
	ent := c.lru.Remove(e).(*isoEntry)
	delete(c.entries, ent.key)
	c.cells -= len(ent.iso.cells) + len(ent.iso.near)
}

// CacheStats returns the isochrone cache's hits and misses so far.
func (n *Network) CacheStats() (hits, misses uint64) {
	if n == nil {
		return 0, 0
	}
	n.cache.mu.Lock()
	defer n.cache.mu.Unlock()
	return n.cache.hits, n.cache.misses
}
