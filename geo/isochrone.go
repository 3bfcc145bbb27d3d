package geo

import (
	"iter"
	"math"
	"slices"
	"sync"

	h3 "github.com/uber/h3-go/v4"
)

// Isochrone is the set of NetworkRes cells from which the start point can
// be reached within a number of minutes by a travel mode, with each cell's
// travel time. Travel times are symmetric (a step costs the same both ways),
// so it is equally the set reachable from the start. It is immutable and
// shared by every caller that asks for the same (cell, mode, minutes) of a
// network.
//
// The model, over the cells of the network's grid:
//
//   - A step goes from a cell to one of its six neighbours and costs half
//     the distance between their centres at each cell's pace:
//     d/2 / v(a) + d/2 / v(b). Each half of the step lies in one cell, so
//     this is the time spent in each (the slower of the two would charge the
//     whole step at the slow speed and make every road cell next to a field
//     slow; the mean of the two speeds would let 40 km/h in one cell carry a
//     walk across the next). It is symmetric and never less than either
//     half at its own speed.
//   - A cell's speed for a mode is the fastest road of that mode crossing it
//     (roadSpeeds), else the mode's off-road speed (walk 3 km/h, bike
//     4 km/h, none for motorbike and car).
//   - Water: a step whose centre-to-centre segment crosses a waterway line
//     or a water area's boundary is impossible, except near a bridge, tunnel
//     or ford that allows the mode (see blockWater). A cell whose centre is
//     in a water area has no off-road speed: only its roads are travelled.
//     Such a cell next to a reached cell, across the bank or with no road,
//     is itself reached (it holds the bank and whoever is on it) but
//     nothing is reached through it. Where a res-10 cell holds both banks of
//     a narrow waterway, membership of the cell is decided by the side its
//     centre is on.
//   - Motorbike and car trips are a walk, a ride on roads of that mode, and
//     a walk (from the point to the vehicle and from the vehicle to the
//     member), searched as three layers of the same cells; a walk alone
//     counts too. Bike and walk are one layer.
//   - A start point in a water cell without a road begins on the dry
//     neighbouring cell nearest to it, so a point by the river reaches its
//     own bank and not the other.
type Isochrone struct {
	mode    string
	minutes float64
	version string
	start   h3.Cell

	cells []h3.Cell // sorted
	secs  []float32 // travel time of each cell, seconds
	deep  []uint64  // bit i: every cell within leafRings of cells[i] is reached
	near  []h3.Cell // sorted: unreached cells within leafRings of a reached one

	centre LatLng  // the start cell's centre
	reachM float64 // every reached cell's centre is within this distance of centre

	outlineOnce sync.Once
	outline     [][][][2]float64 // see Outline
}

// Isochrone returns the cells reachable within minutes (in (0,
// MaxReachMinutes]) by mode (walk, bike, motorbike or drive) from p. It
// returns nil when the network cannot answer: a nil network, an invalid
// point, mode or duration, or a point the network does not cover (Covers):
// callers then fall back to the straight-line circle (ReachRadiusM) and
// should say so ("fallback: straight-line circle").
//
// Results are cached per (start cell, mode, minutes) in an LRU bounded by
// the total number of cells held (isoCacheCells); the network version is
// part of the key implicitly, as each Network has its own cache and is
// immutable.
func (n *Network) Isochrone(p LatLng, mode string, minutes float64) *Isochrone {
	if n == nil || !p.Valid() || !(minutes > 0 && minutes <= MaxReachMinutes) {
		return nil
	}
	m, ok := parseMode(mode)
	if !ok {
		return nil
	}
	g := n.g
	s := g.locate(p)
	if s < 0 || g.flags[s]&cellWall != 0 {
		return nil
	}
	src, d0 := g.source(s, p, m)
	key := isoKey{start: s, src: src, m: m, minutes: minutes}
	if iso := n.cache.get(key); iso != nil {
		return iso
	}
	iso := n.compute(s, src, d0, m, minutes)
	n.cache.put(key, iso)
	return iso
}

// source is where the search begins: the start cell, or for a start in
// water the nearest dry neighbour (-1 if none) and the cost of stepping to
// it.
func (g *grid) source(s int32, p LatLng, m mode) (int32, float64) {
	lm := m.foot()
	if !math.IsInf(float64(g.pace[lm][s]), 1) {
		return s, 0
	}
	best, cost, bestM := int32(-1), 0.0, math.Inf(1)
	for k, v := range g.nbr[s] {
		bit := uint8(1) << k
		if v < 0 || math.IsInf(float64(g.pace[lm][v]), 1) || (g.block[lm][s]&bit != 0 && g.ringOnly[s]&bit == 0) {
			continue
		}
		if d := DistanceM(p, g.ctr[v]); d < bestM {
			best, bestM = v, d
			cost = float64(g.half[s][k]) * float64(offPace[lm]+g.pace[lm][v])
		}
	}
	return best, cost
}

// foot is the mode of a trip's walking legs: walk and bike travel in one
// layer, vehicles' trips begin and end on foot.
func (m mode) foot() mode {
	if m.vehicle() {
		return mWalk
	}
	return m
}

// offPace is each mode's off-road pace, the pace of entering a bank cell.
var offPace = func() (p [numModes]float32) {
	for m := range numModes {
		p[m] = pace(offRoadSpeeds[m])
	}
	return p
}()

// compute runs the search and packages its result.
func (n *Network) compute(s, src int32, d0 float64, m mode, minutes float64) *Isochrone {
	sc, _ := n.scratch.Get().(*scratch)
	if sc == nil {
		sc = &scratch{}
	}
	defer n.scratch.Put(sc)
	g := n.g
	limit := minutes * 60
	g.search(src, d0, m, limit, sc)
	sc.reach(s, 0, limit) // the point's own cell, whatever else
	iso := &Isochrone{mode: modeNames[m], minutes: minutes, version: n.version, start: g.cells[s], centre: g.ctr[s]}
	slices.Sort(sc.touched) // index order is cell order
	iso.cells = make([]h3.Cell, len(sc.touched))
	iso.secs = make([]float32, len(sc.touched))
	for i, c := range sc.touched {
		iso.cells[i] = g.cells[c]
		iso.secs[i] = float32(sc.best[c])
		iso.reachM = max(iso.reachM, DistanceM(iso.centre, g.ctr[c]))
	}
	g.edges(sc, iso)
	return iso
}

// scratch is a search's working memory, reused through a pool: arrays over
// the grid's cells (and states) reset in O(1) by a generation stamp.
type scratch struct {
	gen     uint32
	dist    []float64 // per state: cell*layers + layer
	distGen []uint32
	best    []float64 // per cell: earliest arrival in any layer or as a bank cell
	bestGen []uint32
	mark    []uint32 // per cell, for edges()
	touched []int32  // cells reached, in the order reached
	heap    minHeap
}

func (sc *scratch) reset(cells, states int) {
	if len(sc.best) != cells || len(sc.dist) < states {
		*sc = scratch{dist: make([]float64, states), distGen: make([]uint32, states),
			best: make([]float64, cells), bestGen: make([]uint32, cells), mark: make([]uint32, cells),
			touched: sc.touched, heap: sc.heap}
	}
	sc.gen++
	if sc.gen == 0 { // wrapped: old stamps could collide
		clear(sc.distGen)
		clear(sc.bestGen)
		clear(sc.mark)
		sc.gen = 1
	}
	sc.touched = sc.touched[:0]
	sc.heap = sc.heap[:0]
}

// reach records that cell c is reached at time t.
func (sc *scratch) reach(c int32, t, limit float64) {
	if t > limit {
		return
	}
	if sc.bestGen[c] != sc.gen {
		sc.bestGen[c] = sc.gen
		sc.best[c] = t
		sc.touched = append(sc.touched, c)
	} else if t < sc.best[c] {
		sc.best[c] = t
	}
}

// Layers of a vehicle trip.
const (
	layerBefore = iota // walking from the start to the vehicle
	layerIn            // riding
	layerAfter         // walking from the vehicle
)

// search is Dijkstra from src (at time d0) over (cell, layer) states, up to
// limit seconds; each cell's earliest arrival ends in sc.best.
func (g *grid) search(src int32, d0 float64, m mode, limit float64, sc *scratch) {
	layers := int32(1)
	if m.vehicle() {
		layers = 3
	}
	sc.reset(len(g.cells), len(g.cells)*int(layers))
	if src < 0 {
		return
	}
	relax := func(s int32, d float64) {
		if d <= limit && (sc.distGen[s] != sc.gen || d < sc.dist[s]) {
			sc.distGen[s], sc.dist[s] = sc.gen, d
			sc.heap.push(d, s)
		}
	}
	relax(src*layers, d0)
	inf := float32(math.Inf(1))
	for len(sc.heap) > 0 {
		d, s := sc.heap.pop()
		if d > sc.dist[s] {
			continue // stale
		}
		u, layer := s/layers, s%layers
		sc.reach(u, d, limit)
		lm := m
		if layers == 3 {
			switch layer {
			case layerBefore:
				if g.pace[m][u] != inf {
					relax(s+1, d) // get on
				}
				lm = mWalk
			case layerIn:
				relax(s+1, d) // get off
			case layerAfter:
				lm = mWalk
			}
		}
		foot := lm == mWalk || lm == mBike
		pace := g.pace[lm]
		pu := float64(pace[u])
		bl, ro := g.block[lm][u], g.ringOnly[u]
		for k, v := range g.nbr[u] {
			if v < 0 {
				continue
			}
			bit := uint8(1) << k
			pv := pace[v]
			if bl&bit != 0 || pv == inf {
				// A bank cell: reached, not gone through (see Isochrone).
				if foot && g.flags[v]&(cellWet|cellWall) == cellWet && (bl&bit == 0 || ro&bit != 0) {
					sc.reach(v, d+float64(g.half[u][k])*(pu+float64(offPace[lm])), limit)
				}
				continue
			}
			relax(v*layers+layer, d+float64(g.half[u][k])*(pu+float64(pv)))
		}
	}
}

// leafRings bounds, in grid steps, how far the res-10 cell of a point can
// be from the centre child of the point's res-9 cell: the point is within
// the res-9 hexagon (circumradius ~174 m), its res-10 cell's centre within
// another 66 m, while centres 3 steps away are ~300 m or more apart.
// TestLeafRings finds at most 2 in practice.
const leafRings = 3

// edges computes deep and near (see classifyLeaf) by two breadth-first
// walks from the boundary of the reached set. Reached cells are at least
// wallRings from the grid's edge, so every cell within leafRings of them is
// in the grid.
func (g *grid) edges(sc *scratch, iso *Isochrone) {
	reached := func(c int32) bool { return sc.bestGen[c] == sc.gen }
	var out, in []int32 // unreached and reached cells of the current ring
	for _, c := range sc.touched {
		for _, v := range g.nbr[c] {
			if v >= 0 && !reached(v) && sc.mark[v] != sc.gen {
				sc.mark[v] = sc.gen
				out = append(out, v)
			}
		}
	}
	first := slices.Clone(out)
	for r := 1; ; r++ {
		for _, c := range out {
			iso.near = append(iso.near, g.cells[c])
		}
		if r == leafRings {
			break
		}
		var next []int32
		for _, c := range out {
			for _, v := range g.nbr[c] {
				if v >= 0 && !reached(v) && sc.mark[v] != sc.gen {
					sc.mark[v] = sc.gen
					next = append(next, v)
				}
			}
		}
		out = next
	}
	slices.Sort(iso.near)
	// Reached cells within leafRings of an unreached one are not deep.
	in = first
	for r := 0; r < leafRings; r++ {
		var next []int32
		for _, c := range in {
			for _, v := range g.nbr[c] {
				if v >= 0 && reached(v) && sc.mark[v] != sc.gen {
					sc.mark[v] = sc.gen
					next = append(next, v)
				}
			}
		}
		in = next
	}
	iso.deep = make([]uint64, (len(iso.cells)+63)/64)
	for i, c := range sc.touched { // sorted, like iso.cells
		if sc.mark[c] != sc.gen {
			iso.deep[i/64] |= 1 << (i % 64)
		}
	}
}

// classifyLeaf places an index leaf (a res-9 cell, whose members are in
// its hexagon) relative to the isochrone: inside if every cell within
// leafRings of its centre child is reached, outside if none is, else
// straddles.
func (iso *Isochrone) classifyLeaf(leaf h3.Cell) class {
	c0 := centreChild(leaf, NetworkRes)
	if i, ok := slices.BinarySearch(iso.cells, c0); ok {
		if iso.deep[i/64]&(1<<(i%64)) != 0 {
			return inside
		}
		return straddles
	}
	if _, ok := slices.BinarySearch(iso.near, c0); ok {
		return straddles
	}
	return outside
}

// centreChild is c's centre child at resolution r > cellRes(c), as h3's
// CenterChild: digits below c's resolution set to 0.
func centreChild(c h3.Cell, r int) h3.Cell {
	u := uint64(c)&^(0xF<<h3ResShift) | uint64(r)<<h3ResShift
	for d := cellRes(c) + 1; d <= r; d++ {
		u &^= 7 << (3 * (15 - d))
	}
	return h3.Cell(u)
}

// Mode is the isochrone's travel mode.
func (iso *Isochrone) Mode() string { return iso.mode }

// MaxMinutes is the travel time the isochrone was computed for.
func (iso *Isochrone) MaxMinutes() float64 { return iso.minutes }

// Version is the version of the network it was computed on.
func (iso *Isochrone) Version() string { return iso.version }

// StartCell is the cell of the start point.
func (iso *Isochrone) StartCell() h3.Cell { return iso.start }

// Len is the number of cells reached.
func (iso *Isochrone) Len() int { return len(iso.cells) }

// All yields the cells reached, in cell order, with their travel time in
// minutes.
func (iso *Isochrone) All() iter.Seq2[h3.Cell, float64] {
	return func(yield func(h3.Cell, float64) bool) {
		for i, c := range iso.cells {
			if !yield(c, float64(iso.secs[i])/60) {
				return
			}
		}
	}
}

// CellMinutes is the travel time of a cell, if reached.
func (iso *Isochrone) CellMinutes(c h3.Cell) (float64, bool) {
	i, ok := slices.BinarySearch(iso.cells, c)
	if !ok {
		return 0, false
	}
	return float64(iso.secs[i]) / 60, true
}

// MinutesTo is the travel time between the start and p (an ETA), if p's
// cell is reached.
func (iso *Isochrone) MinutesTo(p LatLng) (float64, bool) {
	if !p.Valid() {
		return 0, false
	}
	return iso.CellMinutes(h3.LatLngToCell(h3.LatLng(p), NetworkRes))
}

// Contains reports whether p's NetworkRes cell is reached.
func (iso *Isochrone) Contains(p LatLng) bool {
	_, ok := iso.MinutesTo(p)
	return ok
}

// minHeap is a binary min-heap of search states by time, typed so that
// push and pop neither box nor call through an interface.
type minHeap []heapItem

type heapItem struct {
	d float64
	s int32
}

func (h *minHeap) push(d float64, s int32) {
	*h = append(*h, heapItem{d, s})
	a := *h
	i := len(a) - 1
	for i > 0 {
		p := (i - 1) / 2
		if a[p].d <= d {
			break
		}
		a[i] = a[p]
		i = p
	}
	a[i] = heapItem{d, s}
}

func (h *minHeap) pop() (float64, int32) {
	a := *h
	top := a[0]
	last := a[len(a)-1]
	a = a[:len(a)-1]
	*h = a
	n := len(a)
	if n == 0 {
		return top.d, top.s
	}
	i := 0
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		if r := l + 1; r < n && a[r].d < a[l].d {
			l = r
		}
		if a[l].d >= last.d {
			break
		}
		a[i] = a[l]
		i = l
	}
	a[i] = last
	return top.d, top.s
}
