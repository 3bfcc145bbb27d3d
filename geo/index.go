package geo

import (
	"errors"
	"sync"
	"sync/atomic"

	h3 "github.com/uber/h3-go/v4"
)

// Errors returned by Index.Put.
var (
	ErrBadPosition = errors.New("geo: position must be finite with lat in [-90, 90] and lng in [-180, 180]")
	ErrBadTag      = errors.New("geo: tag must be in 0..7")
)

// numShards is the number of index shards (and of member-directory shards).
// 64 matches the hub's registry (STYLE.md §6): enough that writers in
// different places rarely share a lock, few enough that a query read-locking
// all of them costs about a microsecond.
const numShards = 64

// Index holds members at positions and answers "who is inside this region".
// It is safe for concurrent use.
//
// Members are kept in a sparse tree of H3 cells, resolution 0 down to
// indexRes, holding only cells that contain members. Each node caches its
// bounding cap (so queries never call into C) and per-tag member counts (so
// Count and empty subtrees cost nothing); each leaf holds its members'
// positions. The tree is split into numShards shards by a hash of each
// member's res-5 ancestor; a shard owns whole res-5 subtrees plus its own
// copy of their coarse ancestors.
//
// Lock order: refShard.mu, then shard.mu in ascending shard index. Put and
// Remove hold their member's refShard.mu while changing one or two shards (a
// move between shards holds both, so it is atomic). Query, Count and Get
// read-lock shards in ascending order, all at once for Query and Count: a
// query sees one consistent snapshot, so a member moving while an alert is
// sent is found exactly once, never twice and never zero times. The price is
// that writers wait while a query runs: well under a millisecond for a 10 km
// circle over a million members, tens of milliseconds for a query returning
// all of them.
type Index struct {
	shards [numShards]shard
	refs   [numShards]refShard
	n      atomic.Int64
}

// shard is one part of the cell tree.
type shard struct {
	mu sync.RWMutex // guards the following fields
	// roots holds the res-0 nodes by base cell number; rootList the same
	// nodes densely, for queries.
	roots    [h3.NumBaseCells]*node
	rootList []*node
	slots    map[uint32]slot // where each member of this shard is

	_ [64]byte // keep shards on separate cache lines
}

// refShard maps members to the shard that holds them and serializes updates
// of one member.
type refShard struct {
	mu    sync.Mutex       // guards the following field
	where map[uint32]uint8 // member -> shard index

	_ [64]byte
}

// node is one non-empty H3 cell of the tree.
type node struct {
	geo    cellGeo
	cell   h3.Cell
	parent *node
	kids   *[7]*node // by child digit; nil for leaves
	mem    *members  // leaves only
	total  int32
	tags   [8]int32
}

// members are the members of a leaf, stored as parallel arrays: a leaf
// wholly inside a region is emitted with one copy of refs, and the
// per-member test of a straddling leaf scans pos linearly.
type members struct {
	refs []uint32
	tags []uint8
	pos  []LatLng
}

func (m *members) add(ref uint32, p LatLng, tag uint8) int {
	m.refs = append(m.refs, ref)
	m.tags = append(m.tags, tag)
	m.pos = append(m.pos, p)
	return len(m.refs) - 1
}

// del removes entry i by moving the last entry into its place and returns
// the ref of the moved member (i itself if it was last).
func (m *members) del(i int) (moved uint32) {
	last := len(m.refs) - 1
	m.refs[i], m.tags[i], m.pos[i] = m.refs[last], m.tags[last], m.pos[last]
	moved = m.refs[i]
	m.refs, m.tags, m.pos = m.refs[:last], m.tags[:last], m.pos[:last]
	if c := cap(m.refs); c > 32 && last < c/4 { // give back memory after a crowd leaves
		m.refs = append([]uint32(nil), m.refs...)
		m.tags = append([]uint8(nil), m.tags...)
		m.pos = append([]LatLng(nil), m.pos...)
	}
	return moved
}

type slot struct {
	leaf *node
	idx  int32
}

// NewIndex returns an empty index.
func NewIndex() *Index {
	ix := &Index{}
	for i := range ix.shards {
		ix.shards[i].slots = make(map[uint32]slot)
		ix.refs[i].where = make(map[uint32]uint8)
	}
	return ix
}

// mix64 is a 64-bit finalizer (from MurmurHash3), spreading neighbouring
// cells and sequential member refs over the shards.
func mix64(u uint64) uint64 {
	u ^= u >> 33
	u *= 0xff51afd7ed558ccd
	u ^= u >> 33
	u *= 0xc4ceb9fe1a85ec53
	u ^= u >> 33
	return u
}

func shardOf(leaf h3.Cell) uint8 {
	return uint8(mix64(uint64(cellParent(leaf, shardRes))) % numShards)
}

func (ix *Index) refShard(ref uint32) *refShard {
	return &ix.refs[mix64(uint64(ref))%numShards]
}

// Set inserts member ref at p with tag, or moves it there. It is Put for
// callers that validated their input: an invalid position or tag is ignored
// and the member keeps its previous position.
func (ix *Index) Set(ref uint32, p LatLng, tag uint8) {
	_ = ix.Put(ref, p, tag)
}

// Put inserts member ref at p with tag (0..7, the hub uses it for the role),
// or moves it there. It fails with ErrBadPosition or ErrBadTag, leaving the
// index unchanged.
func (ix *Index) Put(ref uint32, p LatLng, tag uint8) error {
	if !p.Valid() {
		return ErrBadPosition
	}
	if tag > 7 {
		return ErrBadTag
	}
	cell := h3.LatLngToCell(h3.LatLng(p), indexRes) // outside any lock: it is the slow part
	if cell == 0 {
		return ErrBadPosition // h3 failed; cannot happen for a valid position
	}
	to := shardOf(cell)

	rs := ix.refShard(ref)
	rs.mu.Lock()
	defer rs.mu.Unlock()
	from, had := rs.where[ref]
	switch {
	case !had:
		s := &ix.shards[to]
		s.mu.Lock()
		s.insert(ref, cell, p, tag)
		s.mu.Unlock()
		ix.n.Add(1)
	case from == to:
		s := &ix.shards[to]
		s.mu.Lock()
		s.move(ref, cell, p, tag)
		s.mu.Unlock()
	default:
		a, b := &ix.shards[min(from, to)], &ix.shards[max(from, to)]
		a.mu.Lock()
		b.mu.Lock()
		ix.shards[from].remove(ref)
		ix.shards[to].insert(ref, cell, p, tag)
		b.mu.Unlock()
		a.mu.Unlock()
	}
	if !had || from != to {
		rs.where[ref] = to
	}
	return nil
}

// Remove deletes member ref; removing an absent member does nothing.
func (ix *Index) Remove(ref uint32) {
	rs := ix.refShard(ref)
	rs.mu.Lock()
	defer rs.mu.Unlock()
	from, had := rs.where[ref]
	if !had {
		return
	}
	s := &ix.shards[from]
	s.mu.Lock()
	s.remove(ref)
	s.mu.Unlock()
	delete(rs.where, ref)
	ix.n.Add(-1)
}

// Get returns member ref's position and tag.
func (ix *Index) Get(ref uint32) (p LatLng, tag uint8, ok bool) {
	rs := ix.refShard(ref)
	rs.mu.Lock()
	defer rs.mu.Unlock()
	from, had := rs.where[ref]
	if !had {
		return LatLng{}, 0, false
	}
	s := &ix.shards[from]
	s.mu.RLock()
	defer s.mu.RUnlock()
	sl := s.slots[ref]
	return sl.leaf.mem.pos[sl.idx], sl.leaf.mem.tags[sl.idx], true
}

// Len returns the number of members.
func (ix *Index) Len() int { return int(ix.n.Load()) }

func (ix *Index) rlockAll() {
	for i := range ix.shards {
		ix.shards[i].mu.RLock()
	}
}

func (ix *Index) runlockAll() {
	for i := range ix.shards {
		ix.shards[i].mu.RUnlock()
	}
}

func newNode(cell h3.Cell, parent *node) *node {
	return &node{cell: cell, parent: parent, geo: geoFor(cell)}
}

// insert adds a member that is not in the shard. The caller holds s.mu.
func (s *shard) insert(ref uint32, cell h3.Cell, p LatLng, tag uint8) {
	base := cellBase(cell)
	n := s.roots[base]
	if n == nil {
		n = newNode(cellParent(cell, 0), nil)
		s.roots[base] = n
		s.rootList = append(s.rootList, n)
	}
	n.total++
	n.tags[tag]++
	for r := 1; r <= indexRes; r++ {
		if n.kids == nil {
			n.kids = new([7]*node)
		}
		d := cellDigit(cell, r)
		k := n.kids[d]
		if k == nil {
			k = newNode(cellParent(cell, r), n)
			n.kids[d] = k
		}
		k.total++
		k.tags[tag]++
		n = k
	}
	if n.mem == nil {
		n.mem = &members{}
	}
	s.slots[ref] = slot{n, int32(n.mem.add(ref, p, tag))}
}

// move updates a member already in the shard. A member staying in its leaf
// (the common case: a live position a few metres from the last) is updated
// in place. The caller holds s.mu.
func (s *shard) move(ref uint32, cell h3.Cell, p LatLng, tag uint8) {
	sl := s.slots[ref]
	if sl.leaf.cell != cell {
		s.remove(ref)
		s.insert(ref, cell, p, tag)
		return
	}
	m := sl.leaf.mem
	m.pos[sl.idx] = p
	if old := m.tags[sl.idx]; old != tag {
		m.tags[sl.idx] = tag
		for n := sl.leaf; n != nil; n = n.parent {
			n.tags[old]--
			n.tags[tag]++
		}
	}
}

// remove deletes a member of the shard, fixing counts on its path and
// dropping nodes left empty, so that every node in the tree has members.
// The caller holds s.mu.
func (s *shard) remove(ref uint32) {
	sl, ok := s.slots[ref]
	if !ok {
		return
	}
	delete(s.slots, ref)
	leaf := sl.leaf
	tag := leaf.mem.tags[sl.idx]
	if moved := leaf.mem.del(int(sl.idx)); moved != ref {
		s.slots[moved] = slot{leaf, sl.idx}
	}
	for n := leaf; n != nil; {
		up := n.parent
		n.total--
		n.tags[tag]--
		if n.total == 0 {
			s.detach(n)
		}
		n = up
	}
}

func (s *shard) detach(n *node) {
	if n.parent != nil {
		n.parent.kids[cellDigit(n.cell, cellRes(n.cell))] = nil
		n.parent = nil
		return
	}
	base := cellBase(n.cell)
	s.roots[base] = nil
	for i, r := range s.rootList {
		if r == n {
			last := len(s.rootList) - 1
			s.rootList[i] = s.rootList[last]
			s.rootList[last] = nil
			s.rootList = s.rootList[:last]
			break
		}
	}
}
