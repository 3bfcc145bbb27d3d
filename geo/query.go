package geo

import (
	h3 "github.com/uber/h3-go/v4"
)

// directTestMax is the member count (all tags) at or below which a
// straddling cell is not refined further: its members are tested with
// Contains directly. Visiting and classifying up to seven children costs
// about as much as testing a dozen members, so refining a cell this small
// cannot pay off.
const directTestMax = 16

// allTags is the tag mask selecting every member.
const allTags = 0xFF

// count returns how many members of the subtree have a tag in mask.
func (n *node) count(mask uint8) int {
	if mask == allTags {
		return int(n.total)
	}
	c := int32(0)
	for t := range n.tags {
		if mask&(1<<t) != 0 {
			c += n.tags[t]
		}
	}
	return int(c)
}

// Query appends to dst every member whose position is inside r and whose tag
// bit is in tagMask (mask&(1<<tag) != 0), each once, in no particular order.
// It walks only non-empty cells: cells inside r contribute their members
// without a per-member test, cells outside are skipped, and members of cells
// straddling the edge are tested with r.Contains, so the result is exactly
// the members for which r.Contains is true. It reads one consistent snapshot
// of the index and does not allocate when dst has room.
func (ix *Index) Query(r *Region, tagMask uint8, dst []uint32) []uint32 {
	if r == nil || tagMask == 0 {
		return dst
	}
	ix.rlockAll()
	defer ix.runlockAll()
	for i := range ix.shards {
		for _, root := range ix.shards[i].rootList {
			dst = r.collect(root, tagMask, dst)
		}
	}
	return dst
}

// Count returns how many members Query would return, without materialising
// them: a cell inside the region contributes its stored count.
func (ix *Index) Count(r *Region, tagMask uint8) int {
	if r == nil || tagMask == 0 {
		return 0
	}
	ix.rlockAll()
	defer ix.runlockAll()
	total := 0
	for i := range ix.shards {
		for _, root := range ix.shards[i].rootList {
			total += r.countIn(root, tagMask)
		}
	}
	return total
}

// classifyNode places an index cell relative to the region: by its bounding
// cap, or for an isochrone by its cells (classifyLeaf), the cap only
// skipping cells far from every reached cell.
func (r *Region) classifyNode(n *node) class {
	cl := r.classify(&n.geo)
	if r.iso == nil || cl == outside {
		return cl
	}
	if cellRes(n.cell) != indexRes {
		return straddles
	}
	return r.iso.classifyLeaf(n.cell)
}

// testDirectly says a straddling inner node is small enough to test its
// members one by one rather than refine. Not for isochrones: their test
// locates each member's cell (a call into H3, ~1.4 µs), while a leaf is
// classified by two binary searches and mostly comes out inside or outside.
func (r *Region) testDirectly(n *node) bool {
	return r.iso == nil && n.total <= directTestMax
}

func (r *Region) collect(n *node, mask uint8, dst []uint32) []uint32 {
	c := n.count(mask)
	if c == 0 {
		return dst
	}
	switch r.classifyNode(n) {
	case outside:
		return dst
	case inside:
		return appendAll(n, mask, c == int(n.total), dst)
	}
	if n.kids == nil || r.testDirectly(n) {
		return r.appendTested(n, mask, dst)
	}
	for _, k := range n.kids {
		if k != nil {
			dst = r.collect(k, mask, dst)
		}
	}
	return dst
}

// appendAll appends every member of the subtree with a tag in mask; every
// says all of them match, so tags need not be looked at.
func appendAll(n *node, mask uint8, every bool, dst []uint32) []uint32 {
	if n.kids == nil {
		m := n.mem
		if every {
			return append(dst, m.refs...)
		}
		for i, t := range m.tags {
			if mask&(1<<t) != 0 {
				dst = append(dst, m.refs[i])
			}
		}
		return dst
	}
	for _, k := range n.kids {
		if k != nil && (every || k.count(mask) > 0) {
			dst = appendAll(k, mask, every, dst)
		}
	}
	return dst
}

// appendTested appends the members of the subtree with a tag in mask that
// r contains.
func (r *Region) appendTested(n *node, mask uint8, dst []uint32) []uint32 {
	if n.kids == nil {
		m := n.mem
		for i, t := range m.tags {
			if mask&(1<<t) != 0 && r.Contains(m.pos[i]) {
				dst = append(dst, m.refs[i])
			}
		}
		return dst
	}
	for _, k := range n.kids {
		if k != nil && k.count(mask) > 0 {
			dst = r.appendTested(k, mask, dst)
		}
	}
	return dst
}

func (r *Region) countIn(n *node, mask uint8) int {
	c := n.count(mask)
	if c == 0 {
		return 0
	}
	switch r.classifyNode(n) {
	case outside:
		return 0
	case inside:
		return c
	}
	if n.kids == nil || r.testDirectly(n) {
		return r.countTested(n, mask)
	}
	total := 0
	for _, k := range n.kids {
		if k != nil {
			total += r.countIn(k, mask)
		}
	}
	return total
}

func (r *Region) countTested(n *node, mask uint8) int {
	if n.kids == nil {
		c := 0
		m := n.mem
		for i, t := range m.tags {
			if mask&(1<<t) != 0 && r.Contains(m.pos[i]) {
				c++
			}
		}
		return c
	}
	c := 0
	for _, k := range n.kids {
		if k != nil && k.count(mask) > 0 {
			c += r.countTested(k, mask)
		}
	}
	return c
}

// Density returns member counts per H3 cell at resolution res (0..15), only
// non-empty cells, keyed by H3 string, for a map layer. Up to resolution 9
// it reads the counts kept in the tree; finer resolutions locate every member
// again. Shards are read one after another, so a member moving meanwhile may
// be missed or counted twice: fine for a picture, unlike Query. An invalid
// resolution gives an empty map.
func (ix *Index) Density(res int) map[string]int {
	out := make(map[string]int)
	if res < 0 || res > h3.MaxResolution {
		return out
	}
	counts := make(map[h3.Cell]int)
	var pts []LatLng
	for i := range ix.shards {
		s := &ix.shards[i]
		s.mu.RLock()
		for _, root := range s.rootList {
			if res <= indexRes {
				countAt(root, res, counts)
			} else {
				pts = appendPositions(root, pts)
			}
		}
		s.mu.RUnlock()
		for _, p := range pts { // outside the lock: locating is the slow part
			counts[h3.LatLngToCell(h3.LatLng(p), res)]++
		}
		pts = pts[:0]
	}
	for c, k := range counts {
		out[c.String()] += k
	}
	return out
}

func countAt(n *node, res int, counts map[h3.Cell]int) {
	if cellRes(n.cell) == res {
		counts[n.cell] += int(n.total)
		return
	}
	for _, k := range n.kids {
		if k != nil {
			countAt(k, res, counts)
		}
	}
}

func appendPositions(n *node, pts []LatLng) []LatLng {
	if n.kids == nil {
		return append(pts, n.mem.pos...)
	}
	for _, k := range n.kids {
		if k != nil {
			pts = appendPositions(k, pts)
		}
	}
	return pts
}
