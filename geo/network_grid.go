package geo

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"slices"

	h3 "github.com/uber/h3-go/v4"
)

// NetworkRes is the H3 resolution of travel networks and isochrones.
//
// Resolution 10 cells have a 66 m edge (15,000 m², 114 m between
// neighbouring centres): finer than a village street block, so roads a block
// apart stay apart and a member is placed to within about 60 m, while a
// 15-minute drive (up to ~12 km along roads) covers some tens of thousands
// of cells (a 10 km circle holds ~21,000) and its Dijkstra takes a few
// milliseconds. Resolution 11 (25 m edge) would place roads and river banks
// more finely but holds 7 times as many cells: a county grid of ~1,000,000
// cells (~80 MB) and a 15-minute drive of a few hundred thousand settled
// states, past the 50 ms target on this 2-core machine. Resolution 9 (174 m
// edge) would merge the two banks of a stream with its riverside road.
const NetworkRes = 10

// Build constants.
//
//   - networkMarginM: the grid spans the features' bounding box plus this
//     margin, so that a point just beyond the last road still gets an
//     isochrone (walking off-road).
//   - wallRings: the grid's outermost rings are walls that no isochrone
//     enters, so every cell within leafRings of a reached cell is in the grid
//     (see Isochrone.classifyLeaf).
//   - sampleStepM: lines are sampled every 20 m. Two samples 20 m apart are
//     in the same or neighbouring cells (crossing a cell between two
//     non-adjacent neighbours takes at least ~57 m), so a road's cells form
//     a connected chain; a crossing of a water line and a centre-to-centre
//     step is within 10 m of a sample, which lies in one of the step's two
//     cells (a point of the step is at least ~28 m from any third cell).
//   - crossRadiusM: a step across water within this distance of where a
//     bridge, tunnel or ford crosses it is allowed (for the modes of that
//     road). Two cell edges: the step nearest an oblique crossing (down to
//     30°) is within that distance.
const (
	networkMarginM = 2000
	wallRings      = 4
	sampleStepM    = 20
	crossRadiusM   = 2 * 66
)

// Cell flags.
const (
	cellWet  uint8 = 1 << iota // centre inside a water area
	cellWall                   // in the grid's outer band: never entered
	cellRoad                   // some road crosses it
)

// grid is the network rasterized: every NetworkRes cell of the extent, in
// cell order, with its neighbours as indexes (a compact cell->index map for
// Dijkstra: no hashing, no calls into C) and per mode the pace (seconds per
// metre, +Inf where the mode cannot be) and the steps water blocks.
type grid struct {
	cells []h3.Cell    // sorted
	ctr   []LatLng     // centres
	nbr   [][6]int32   // neighbour indexes; -1: none (outside the grid, or a pentagon's sixth)
	half  [][6]float32 // half the distance between the centres, metres
	flags []uint8      // cellWet, cellWall, cellRoad
	pace  [numModes][]float32
	// block[m][i] bit k: the step from cell i to nbr[i][k] crosses water
	// where mode m cannot. ringOnly[i] bit k: only water-area boundaries are
	// crossed there, no waterway line (so a bank cell is reached, see search).
	block    [numModes][]uint8
	ringOnly []uint8
}

func (g *grid) index(c h3.Cell) int32 {
	i, ok := slices.BinarySearch(g.cells, c)
	if !ok {
		return -1
	}
	return int32(i)
}

func (g *grid) locate(p LatLng) int32 {
	return g.index(h3.LatLngToCell(h3.LatLng(p), NetworkRes))
}

func (g *grid) slot(i, j int32) int {
	for k, n := range g.nbr[i] {
		if n == j {
			return k
		}
	}
	return -1
}

// builder holds what building needs and the network does not keep.
type builder struct {
	d   *netData
	g   *grid
	ctr []LatLng // g.ctr

	segs      []waterSeg
	cellWater map[int32][]int32 // water segments sampled in each cell
	zone      map[int32]bool    // cells with water segments and their neighbours
	cellRoads map[int32][]int32 // roads in zone cells
	cellCross map[int32][]int32 // bridge/tunnel/ford roads in each cell
	points    []netFord         // where crossings meet water, and ford points
	pointsAt  map[int32][]int32 // points by cell

	seen  []uint32 // BFS stamps
	stamp uint32
}

type waterSeg struct {
	a, b LatLng
	ring bool // a water area's boundary, not a waterway line
}

func buildNetwork(d *netData) (*Network, error) {
	b := &builder{d: d, g: &grid{}}
	if err := b.makeGrid(); err != nil {
		return nil, err
	}
	b.walls()
	b.water()
	b.roads()
	b.blockWater()
	n := &Network{version: d.version(), stats: d.stats, g: b.g, data: d}
	for _, f := range b.g.flags {
		if f&cellRoad != 0 {
			n.stats.RoadCells++
		}
		if f&cellWet != 0 {
			n.stats.WetCells++
		}
	}
	n.stats.Cells = len(b.g.cells)
	n.stats.LineKm = math.Round(d.lineM) / 1000
	return n, nil
}

// allPoints calls fn for every position the network uses.
func (d *netData) allPoints(fn func(LatLng)) {
	for _, r := range d.roads {
		for _, l := range r.lines {
			for _, p := range l {
				fn(p)
			}
		}
	}
	for _, w := range d.waterways {
		for _, l := range w.lines {
			for _, p := range l {
				fn(p)
			}
		}
	}
	for _, a := range d.waterAreas {
		for _, poly := range a.polys {
			for _, l := range poly {
				for _, p := range l {
					fn(p)
				}
			}
		}
	}
	for _, f := range d.fords {
		fn(f.p)
	}
}

// version hashes what the network uses, in input order: its travel data
// and the names and places shown to people (NearestPlace, Features), so a
// renamed road or a new hamlet is a new version too. Features without a
// name hash as they did before names were kept, so a network without names
// keeps its version.
func (d *netData) version() string {
	h := sha256.New()
	var buf []byte
	pts := func(tag byte, l []LatLng) {
		buf = append(buf[:0], tag)
		buf = binary.LittleEndian.AppendUint32(buf, uint32(len(l)))
		for _, p := range l {
			buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(p.Lat))
			buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(p.Lng))
		}
		h.Write(buf)
	}
	name := func(tag byte, s string) {
		if s != "" {
			buf = append(buf[:0], tag)
			buf = binary.LittleEndian.AppendUint32(buf, uint32(len(s)))
			h.Write(append(buf, s...))
		}
	}
	for _, r := range d.roads {
		buf = append(buf[:0], 'r', byte(r.cross))
		for _, s := range r.speeds {
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(s))
		}
		buf = append(buf, r.class...)
		h.Write(buf)
		for _, l := range r.lines {
			pts('l', l)
		}
		name('n', r.name)
	}
	for _, w := range d.waterways {
		for _, l := range w.lines {
			pts('w', l)
		}
		name('n', w.name)
	}
	for _, a := range d.waterAreas {
		for _, poly := range a.polys {
			h.Write([]byte{'a'})
			for _, l := range poly {
				pts('g', l)
			}
		}
		name('n', a.name)
	}
	for _, f := range d.fords {
		pts('f'+byte(f.modes), []LatLng{f.p})
	}
	for _, p := range d.places {
		pts('p', []LatLng{p.p})
		name('c', p.class)
		name('n', p.name)
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// makeGrid lists the cells of the features' bounding box plus the margin,
// with their neighbours and centres.
func (b *builder) makeGrid() error {
	st := &b.d.stats
	st.South, st.West, st.North, st.East = 90, 180, -90, -180
	found := false
	b.d.allPoints(func(p LatLng) {
		found = true
		st.South, st.North = min(st.South, p.Lat), max(st.North, p.Lat)
		st.West, st.East = min(st.West, p.Lng), max(st.East, p.Lng)
	})
	if !found {
		*st = NetworkStats{Features: st.Features, Ignored: st.Ignored}
		return badNetwork("features", "no roads, waterways, water areas or fords")
	}
	if st.South < -80 || st.North > 80 {
		return badNetwork("features", "travel networks must lie between latitudes -80 and 80")
	}
	dLat := networkMarginM / mPerDegree
	south, north := st.South-dLat, st.North+dLat
	dLng := networkMarginM / (mPerDegree * math.Cos(max(math.Abs(south), math.Abs(north))*degToRad))
	west, east := st.West-dLng, st.East+dLng
	hM := (north - south) * mPerDegree
	wM := (east - west) * mPerDegree * math.Cos((south+north)/2*degToRad)
	limit := b.d.lim.cells
	if est := hM * wM / h3.HexagonAreaAvgM2(NetworkRes); est > float64(limit) || east-west > 90 {
		return tooLarge("features", "the features span %.0f x %.0f km (with a %d km margin): about %.0f cells at resolution %d, over the limit of %d",
			wM/1000, hM/1000, networkMarginM/1000, est, NetworkRes, limit)
	}
	loop := h3.GeoLoop{{Lat: south, Lng: west}, {Lat: south, Lng: east}, {Lat: north, Lng: east}, {Lat: north, Lng: west}}
	cells := h3.PolygonToCells(h3.GeoPolygon{GeoLoop: loop}, NetworkRes)
	if len(cells) > limit {
		return tooLarge("features", "%d cells at resolution %d, over the limit of %d", len(cells), NetworkRes, limit)
	}
	slices.Sort(cells)
	cells = slices.Compact(cells)
	g := b.g
	n := len(cells)
	g.cells = cells
	g.nbr = make([][6]int32, n)
	g.half = make([][6]float32, n)
	g.flags = make([]uint8, n)
	g.ringOnly = make([]uint8, n)
	for m := range numModes {
		g.pace[m] = make([]float32, n)
		g.block[m] = make([]uint8, n)
	}
	g.ctr = make([]LatLng, n)
	b.ctr = g.ctr
	for i, c := range cells {
		g.ctr[i] = LatLng(h3.CellToLatLng(c))
	}
	for i, c := range cells {
		k := 0
		g.nbr[i] = [6]int32{-1, -1, -1, -1, -1, -1}
		for _, nc := range h3.GridDisk(c, 1) {
			if nc == c || nc == 0 || k == 6 {
				continue
			}
			j := g.index(nc)
			if j < 0 {
				g.flags[i] |= cellWall // on the border; walls() widens the band
			} else {
				g.half[i][k] = float32(DistanceM(b.ctr[i], b.ctr[j]) / 2)
			}
			g.nbr[i][k] = j
			k++
		}
	}
	b.seen = make([]uint32, n)
	return nil
}

// mPerDegree is the length of a degree of latitude on the sphere.
const mPerDegree = EarthRadiusM * math.Pi / 180

// disk returns the cells within k steps of i (i included), through the
// neighbour lists.
func (b *builder) disk(i int32, k int, out []int32) []int32 {
	b.stamp++
	out = append(out[:0], i)
	b.seen[i] = b.stamp
	for lo, r := 0, 0; r < k; r++ {
		hi := len(out)
		for _, c := range out[lo:hi] {
			for _, nb := range b.g.nbr[c] {
				if nb >= 0 && b.seen[nb] != b.stamp {
					b.seen[nb] = b.stamp
					out = append(out, nb)
				}
			}
		}
		lo = hi
	}
	return out
}

// walls marks the grid's outer wallRings rings and sets every cell's
// off-road pace.
func (b *builder) walls() {
	g := b.g
	var ring []int32
	for i, f := range g.flags {
		if f&cellWall != 0 {
			ring = append(ring, int32(i))
		}
	}
	for range wallRings - 1 {
		var next []int32
		for _, c := range ring {
			for _, nb := range g.nbr[c] {
				if nb >= 0 && g.flags[nb]&cellWall == 0 {
					g.flags[nb] |= cellWall
					next = append(next, nb)
				}
			}
		}
		ring = next
	}
	for m := range numModes {
		off := pace(offRoadSpeeds[m])
		for i, f := range g.flags {
			g.pace[m][i] = off
			if f&cellWall != 0 {
				g.pace[m][i] = float32(math.Inf(1))
			}
		}
	}
}

// water marks wet cells (centre in a water area: no off-road travel there)
// and samples every waterway line and water-area boundary into cellWater.
func (b *builder) water() {
	g := b.g
	inf := float32(math.Inf(1))
	for _, wa := range b.d.waterAreas {
		for _, a := range wa.polys {
			poly := h3.GeoPolygon{GeoLoop: loopOf(a[0])}
			for _, h := range a[1:] {
				poly.Holes = append(poly.Holes, loopOf(h))
			}
			for _, c := range h3.PolygonToCells(poly, NetworkRes) {
				if i := g.index(c); i >= 0 {
					g.flags[i] |= cellWet
					for m := range numModes {
						g.pace[m][i] = inf
					}
				}
			}
			for _, ring := range a {
				for j := range ring {
					b.segs = append(b.segs, waterSeg{ring[j], ring[(j+1)%len(ring)], true})
				}
			}
		}
	}
	for _, w := range b.d.waterways {
		for _, l := range w.lines {
			for j := 1; j < len(l); j++ {
				b.segs = append(b.segs, waterSeg{l[j-1], l[j], false})
			}
		}
	}
	b.cellWater = make(map[int32][]int32)
	b.zone = make(map[int32]bool)
	for s, w := range b.segs {
		b.sample(w.a, w.b, func(i int32) {
			if l := b.cellWater[i]; len(l) == 0 || l[len(l)-1] != int32(s) {
				b.cellWater[i] = append(l, int32(s))
			}
		})
	}
	for i := range b.cellWater {
		b.zone[i] = true
		for _, nb := range g.nbr[i] {
			if nb >= 0 {
				b.zone[nb] = true
			}
		}
	}
}

func loopOf(ring []LatLng) h3.GeoLoop {
	l := make(h3.GeoLoop, len(ring))
	for i, p := range ring {
		l[i] = h3.LatLng(p)
	}
	return l
}

// sample calls fn with the cell of every sample along a->b, sampleStepM
// apart, ends included (consecutive repeats may occur).
func (b *builder) sample(a, c LatLng, fn func(int32)) {
	n := max(1, int(math.Ceil(DistanceM(a, c)/sampleStepM)))
	for i := 0; i <= n; i++ {
		t := float64(i) / float64(n)
		if i := b.g.locate(LatLng{a.Lat + t*(c.Lat-a.Lat), a.Lng + t*(c.Lng-a.Lng)}); i >= 0 {
			fn(i)
		}
	}
}

// chain returns the cells of a polyline as a connected chain: each cell a
// neighbour of the one before (bisecting further where two samples are not
// neighbours, which the sampling step should make impossible).
func (b *builder) chain(l []LatLng) []int32 {
	var out []int32
	add := func(i int32) {
		if n := len(out); n == 0 || out[n-1] != i {
			out = append(out, i)
		}
	}
	var fill func(p, q LatLng, i, j int32, depth int)
	fill = func(p, q LatLng, i, j int32, depth int) {
		if i == j || b.g.slot(i, j) >= 0 || depth == 0 {
			return
		}
		m := LatLng{(p.Lat + q.Lat) / 2, (p.Lng + q.Lng) / 2}
		k := b.g.locate(m)
		if k < 0 {
			return
		}
		fill(p, m, i, k, depth-1)
		add(k)
		fill(m, q, k, j, depth-1)
	}
	var prevP LatLng
	prev := int32(-1)
	for s := 1; s < len(l); s++ {
		a, c := l[s-1], l[s]
		n := max(1, int(math.Ceil(DistanceM(a, c)/sampleStepM)))
		for k := 0; k <= n; k++ {
			t := float64(k) / float64(n)
			p := LatLng{a.Lat + t*(c.Lat-a.Lat), a.Lng + t*(c.Lng-a.Lng)}
			i := b.g.locate(p)
			if i < 0 {
				continue
			}
			if prev >= 0 && i != prev {
				fill(prevP, p, prev, i, 8)
			}
			add(i)
			prev, prevP = i, p
		}
	}
	return out
}

// roads sets the pace of road cells (the fastest road of each mode in the
// cell) and records, near water, which roads and crossings are in each cell
// and where crossings meet water.
func (b *builder) roads() {
	g := b.g
	b.cellRoads = make(map[int32][]int32)
	b.cellCross = make(map[int32][]int32)
	b.pointsAt = make(map[int32][]int32)
	addTo := func(m map[int32][]int32, i, id int32) {
		if l := m[i]; len(l) == 0 || l[len(l)-1] != id {
			m[i] = append(l, id)
		}
	}
	for id, r := range b.d.roads {
		var p [numModes]float32
		for m := range numModes {
			p[m] = pace(r.speeds[m])
		}
		for _, l := range r.lines {
			for _, i := range b.chain(l) {
				g.flags[i] |= cellRoad
				for m := range numModes {
					g.pace[m][i] = min(g.pace[m][i], p[m])
				}
				if b.zone[i] {
					addTo(b.cellRoads, i, int32(id))
					if r.cross != 0 {
						addTo(b.cellCross, i, int32(id))
					}
				}
			}
			if r.cross != 0 {
				b.crossPoints(l, r.cross)
			}
		}
	}
	b.points = append(b.points, b.d.fords...)
	for pi, f := range b.points {
		if i := g.locate(f.p); i >= 0 {
			b.pointsAt[i] = append(b.pointsAt[i], int32(pi))
		}
	}
}

// crossPoints records where a bridge, tunnel or ford way crosses water.
func (b *builder) crossPoints(l []LatLng, modes modeMask) {
	var near []int32
	cand := map[int32]bool{}
	for s := 1; s < len(l); s++ {
		clear(cand)
		b.sample(l[s-1], l[s], func(i int32) {
			if !b.zone[i] {
				return
			}
			near = b.disk(i, 1, near)
			for _, c := range near {
				for _, w := range b.cellWater[c] {
					cand[w] = true
				}
			}
		})
		for w := range cand {
			if x, ok := intersect(l[s-1], l[s], b.segs[w].a, b.segs[w].b); ok {
				b.points = append(b.points, netFord{x, modes})
			}
		}
	}
}

// blockWater blocks, per mode, every step between neighbouring cells whose
// centre-to-centre segment crosses a waterway line or a water-area boundary,
// unless a crossing lets the mode pass there: both cells are on one bridge,
// tunnel or ford way; or the step crosses within crossRadiusM of where one
// meets the water (or of a ford point); or, for a water-area boundary only,
// both cells are on one road (a riverside road whose cells' centres fall
// either side of a mapped bank).
func (b *builder) blockWater() {
	g := b.g
	type acc struct {
		blocked modeMask
		line    bool
	}
	edges := map[[2]int32]*acc{}
	var near []int32
	for c, ws := range b.cellWater {
		for _, v := range g.nbr[c] {
			if v < 0 {
				continue
			}
			for _, w := range ws {
				seg := b.segs[w]
				x, ok := intersect(b.ctr[c], b.ctr[v], seg.a, seg.b)
				if !ok {
					continue
				}
				allowed := b.crossModes(c, v, x, seg.ring, &near)
				if allowed == allModes {
					continue
				}
				key := [2]int32{min(c, v), max(c, v)}
				e := edges[key]
				if e == nil {
					e = &acc{}
					edges[key] = e
				}
				e.blocked |= allModes &^ allowed
				e.line = e.line || !seg.ring
			}
		}
	}
	for key, e := range edges {
		c, v := key[0], key[1]
		kc, kv := g.slot(c, v), g.slot(v, c)
		if kc < 0 || kv < 0 {
			continue
		}
		for m := range numModes {
			if e.blocked&(1<<m) != 0 {
				g.block[m][c] |= 1 << kc
				g.block[m][v] |= 1 << kv
			}
		}
		if !e.line {
			g.ringOnly[c] |= 1 << kc
			g.ringOnly[v] |= 1 << kv
		}
		if e.blocked&(1<<mWalk) != 0 {
			b.d.stats.BlockedEdges++
		}
	}
}

// crossModes are the modes that may step from c to v across water at x.
func (b *builder) crossModes(c, v int32, x LatLng, ring bool, near *[]int32) modeMask {
	var mm modeMask
	for _, id := range b.cellCross[c] {
		if slices.Contains(b.cellCross[v], id) {
			mm |= b.d.roads[id].cross
		}
	}
	if ring {
		for _, id := range b.cellRoads[c] {
			if slices.Contains(b.cellRoads[v], id) {
				mm |= b.d.roads[id].speeds.modes()
			}
		}
	}
	if mm == allModes || len(b.points) == 0 {
		return mm
	}
	*near = b.disk(c, 3, *near)
	for _, q := range *near {
		for _, pi := range b.pointsAt[q] {
			if p := b.points[pi]; DistanceM(p.p, x) <= crossRadiusM {
				mm |= p.modes
			}
		}
	}
	return mm
}

// intersect returns where segments a-b and c-d meet, computed in a plane
// tangent at a (metres east and north; exact enough over a few hundred
// metres). Touching counts as meeting; collinear overlapping segments meet
// at the middle of the overlap.
func intersect(a, b, c, d LatLng) (LatLng, bool) {
	k := math.Cos(a.Lat * degToRad)
	xy := func(p LatLng) (float64, float64) { return (p.Lng - a.Lng) * k, p.Lat - a.Lat }
	bx, by := xy(b)
	cx, cy := xy(c)
	dx, dy := xy(d)
	sx, sy := dx-cx, dy-cy
	den := bx*sy - by*sx
	qx, qy := cx, cy // c - a
	if den == 0 {
		if qx*by-qy*bx != 0 { // parallel
			return LatLng{}, false
		}
		// collinear: overlap of the projections on a-b
		l2 := bx*bx + by*by
		if l2 == 0 {
			return LatLng{}, false
		}
		t0, t1 := (cx*bx+cy*by)/l2, (dx*bx+dy*by)/l2
		lo, hi := max(0, min(t0, t1)), min(1, max(t0, t1))
		if lo > hi {
			return LatLng{}, false
		}
		t := (lo + hi) / 2
		return LatLng{a.Lat + t*(b.Lat-a.Lat), a.Lng + t*(b.Lng-a.Lng)}, true
	}
	t := (qx*sy - qy*sx) / den
	u := (qx*by - qy*bx) / den
	if t < 0 || t > 1 || u < 0 || u > 1 {
		return LatLng{}, false
	}
	return LatLng{a.Lat + t*(b.Lat-a.Lat), a.Lng + t*(b.Lng-a.Lng)}, true
}
