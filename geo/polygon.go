package geo

import (
	"math"
	"slices"
)

// Polygons are handled in plain latitude/longitude space (x = lng, y = lat)
// because docs/API.md defines their edges as straight in latitude/longitude.

// epsEdgeDeg is how close to an edge, in degrees (about 0.1 mm), a point must
// be to count as on the edge and therefore inside. An exact zero tolerance
// would make "a point on the edge is inside" depend on the last bit of a
// midpoint computed by the client; 1e-9° absorbs that rounding and is far
// below any position accuracy.
const epsEdgeDeg = 1e-9

// boxPadDeg enlarges every box that is tested against the edges (about 1 cm).
// It is much larger than both epsEdgeDeg and the floating-point error of the
// tests, so "no edge crosses the padded box" proves every point of the box is
// more than epsEdgeDeg from every edge and gets the same Contains answer.
const boxPadDeg = 1e-7

// edge is a polygon edge from (x1,y1) to (x2,y2), x = lng, y = lat.
type edge struct{ x1, y1, x2, y2 float64 }

// polygon is a compiled ring with two acceleration structures: a grid of
// edges (for the on-edge test and for cell classification, so a 1000-point
// polygon is not O(cells*edges)) and horizontal bands of edges (for the
// crossing-number test, which only needs edges spanning the point's
// latitude).
type polygon struct {
	xs, ys                 []float64 // vertices: lng, lat; ring without the closing point
	edges                  []edge    // edge i runs from vertex i to vertex i+1 (mod n)
	minX, maxX, minY, maxY float64

	gx, gy    int     // grid columns and rows
	gw, gh    float64 // grid cell width and height, degrees
	gridStart []int32 // edges of grid cell i: gridEdges[gridStart[i]:gridStart[i+1]]
	gridEdges []int32

	nb        int
	bh        float64
	bandStart []int32
	bandEdges []int32
}

func newPolygon(ring []LatLng) *polygon {
	n := len(ring)
	pg := &polygon{
		xs:   make([]float64, n),
		ys:   make([]float64, n),
		minX: math.Inf(1), maxX: math.Inf(-1),
		minY: math.Inf(1), maxY: math.Inf(-1),
	}
	for i, p := range ring {
		pg.xs[i], pg.ys[i] = p.Lng, p.Lat
		pg.minX, pg.maxX = min(pg.minX, p.Lng), max(pg.maxX, p.Lng)
		pg.minY, pg.maxY = min(pg.minY, p.Lat), max(pg.maxY, p.Lat)
	}
	pg.edges = make([]edge, n)
	for i := range n {
		q := ring[(i+1)%n]
		pg.edges[i] = edge{ring[i].Lng, ring[i].Lat, q.Lng, q.Lat}
	}
	g := int(math.Ceil(math.Sqrt(float64(n))))
	pg.gx, pg.gy = g, g
	pg.gw = max((pg.maxX-pg.minX)/float64(g), 1e-12)
	pg.gh = max((pg.maxY-pg.minY)/float64(g), 1e-12)
	pg.nb = min(n, 256)
	pg.bh = max((pg.maxY-pg.minY)/float64(pg.nb), 1e-12)

	cells := make([][]int32, pg.gx*pg.gy)
	bands := make([][]int32, pg.nb)
	for e := range n {
		x1, y1, x2, y2 := pg.edge(e)
		// Bands are padded by epsEdgeDeg so that contains finds, in the
		// point's band, the edges it might lie on as well as those it
		// might cross.
		for b := pg.band(min(y1, y2) - epsEdgeDeg); b <= pg.band(max(y1, y2)+epsEdgeDeg); b++ {
			bands[b] = append(bands[b], int32(e))
		}
		// Register the edge in every grid cell it passes within boxPadDeg
		// of: walk its columns and, in each, the rows its y-range covers.
		if x1 > x2 {
			x1, y1, x2, y2 = x2, y2, x1, y1
		}
		for c := pg.col(x1 - boxPadDeg); c <= pg.col(x2+boxPadDeg); c++ {
			lo := pg.minX + float64(c)*pg.gw - boxPadDeg
			hi := lo + pg.gw + 2*boxPadDeg
			if c == pg.gx-1 {
				hi = math.Inf(1)
			}
			if c == 0 {
				lo = math.Inf(-1)
			}
			xa, xb := max(x1, lo), min(x2, hi)
			if xa > xb {
				continue
			}
			ya, yb := y1, y2
			if dx := x2 - x1; dx > 0 {
				ta := min(max((xa-x1)/dx, 0), 1)
				tb := min(max((xb-x1)/dx, 0), 1)
				ya, yb = y1+ta*(y2-y1), y1+tb*(y2-y1)
			}
			for r := pg.row(min(ya, yb) - boxPadDeg); r <= pg.row(max(ya, yb)+boxPadDeg); r++ {
				cells[r*pg.gx+c] = append(cells[r*pg.gx+c], int32(e))
			}
		}
	}
	pg.gridStart, pg.gridEdges = flatten(cells)
	pg.bandStart, pg.bandEdges = flatten(bands)
	return pg
}

// flatten packs lists into one slice with offsets (fewer, smaller
// allocations than a slice per cell).
func flatten(lists [][]int32) (start, all []int32) {
	start = make([]int32, len(lists)+1)
	total := 0
	for i, l := range lists {
		start[i] = int32(total)
		total += len(l)
	}
	start[len(lists)] = int32(total)
	all = make([]int32, 0, total)
	for _, l := range lists {
		all = append(all, l...)
	}
	return start, all
}

func (pg *polygon) edge(e int) (x1, y1, x2, y2 float64) {
	g := &pg.edges[e]
	return g.x1, g.y1, g.x2, g.y2
}

// col, row and band map a coordinate to its grid column, row or band. They
// are monotonic and clamp, so ranges computed with them never miss a cell.
func (pg *polygon) col(x float64) int  { return clampIdx((x-pg.minX)/pg.gw, pg.gx) }
func (pg *polygon) row(y float64) int  { return clampIdx((y-pg.minY)/pg.gh, pg.gy) }
func (pg *polygon) band(y float64) int { return clampIdx((y-pg.minY)/pg.bh, pg.nb) }

func clampIdx(f float64, n int) int {
	if !(f > 0) { // also NaN
		return 0
	}
	if f >= float64(n-1) {
		return n - 1
	}
	return int(f)
}

// contains is the exact point-in-polygon test: within epsEdgeDeg of an edge
// is inside, otherwise the crossing number decides (even-odd rule, so the
// ring direction does not matter). One pass over the edges of the point's
// band does both.
func (pg *polygon) contains(lat, lng float64) bool {
	if !(lat >= pg.minY-epsEdgeDeg && lat <= pg.maxY+epsEdgeDeg && lng >= pg.minX-epsEdgeDeg && lng <= pg.maxX+epsEdgeDeg) {
		return false // also NaN
	}
	b := pg.band(lat)
	inside := false
	for _, e := range pg.bandEdges[pg.bandStart[b]:pg.bandStart[b+1]] {
		g := &pg.edges[e]
		if lng >= min(g.x1, g.x2)-epsEdgeDeg && lng <= max(g.x1, g.x2)+epsEdgeDeg &&
			lat >= min(g.y1, g.y2)-epsEdgeDeg && lat <= max(g.y1, g.y2)+epsEdgeDeg &&
			segDist2(lng, lat, g.x1, g.y1, g.x2, g.y2) <= epsEdgeDeg*epsEdgeDeg {
			return true
		}
		if crosses(g, lat, lng) {
			inside = !inside
		}
	}
	return inside
}

// crosses reports whether the ray from (lng, lat) towards +lng crosses the
// edge. The half-open rule (y1 > lat) != (y2 > lat) counts a vertex on the
// ray exactly once.
func crosses(g *edge, lat, lng float64) bool {
	return (g.y1 > lat) != (g.y2 > lat) && lng < g.x1+(lat-g.y1)/(g.y2-g.y1)*(g.x2-g.x1)
}

// crossings is the crossing-number parity for a point known to be far from
// every edge.
func (pg *polygon) crossings(lat, lng float64) bool {
	b := pg.band(lat)
	inside := false
	for _, e := range pg.bandEdges[pg.bandStart[b]:pg.bandStart[b+1]] {
		if crosses(&pg.edges[e], lat, lng) {
			inside = !inside
		}
	}
	return inside
}

// segDist2 is the squared distance from (px,py) to segment (x1,y1)-(x2,y2).
func segDist2(px, py, x1, y1, x2, y2 float64) float64 {
	dx, dy := x2-x1, y2-y1
	t := 0.0
	if l2 := dx*dx + dy*dy; l2 > 0 {
		t = min(max(((px-x1)*dx+(py-y1)*dy)/l2, 0), 1)
	}
	ex, ey := x1+t*dx-px, y1+t*dy-py
	return ex*ex + ey*ey
}

// classifyBox classifies a lat/lng box that may extend past ±180 in
// longitude (a cell near the antimeridian): such a box is split into its two
// wrapped parts and is inside (or outside) only if both parts are.
func (pg *polygon) classifyBox(b box) class {
	switch {
	case b.lngLo <= -180 && b.lngHi >= 180:
		return pg.classifyPlain(b.latLo, b.latHi, -180, 180)
	case b.lngLo < -180:
		return combine(pg.classifyPlain(b.latLo, b.latHi, b.lngLo+360, 180), pg.classifyPlain(b.latLo, b.latHi, -180, b.lngHi))
	case b.lngHi > 180:
		return combine(pg.classifyPlain(b.latLo, b.latHi, b.lngLo, 180), pg.classifyPlain(b.latLo, b.latHi, -180, b.lngHi-360))
	}
	return pg.classifyPlain(b.latLo, b.latHi, b.lngLo, b.lngHi)
}

func combine(a, b class) class {
	if a == b {
		return a
	}
	return straddles
}

// classifyPlain classifies the box [latLo,latHi]x[lngLo,lngHi] (already
// padded by boxPadDeg): outside if it misses the polygon's bounding box or no
// edge crosses it and its centre is outside; inside if no edge crosses it and
// its centre is inside; straddling otherwise.
func (pg *polygon) classifyPlain(latLo, latHi, lngLo, lngHi float64) class {
	if latHi < pg.minY-epsEdgeDeg || latLo > pg.maxY+epsEdgeDeg || lngHi < pg.minX-epsEdgeDeg || lngLo > pg.maxX+epsEdgeDeg {
		return outside
	}
	if latLo <= pg.minY && latHi >= pg.maxY && lngLo <= pg.minX && lngHi >= pg.maxX {
		return straddles // the box holds the whole ring
	}
	c0, c1 := pg.col(lngLo), pg.col(lngHi)
	for r := pg.row(latLo); r <= pg.row(latHi); r++ {
		for c := c0; c <= c1; c++ {
			cell := r*pg.gx + c
			for _, e := range pg.gridEdges[pg.gridStart[cell]:pg.gridStart[cell+1]] {
				x1, y1, x2, y2 := pg.edge(int(e))
				if segHitsBox(x1, y1, x2, y2, lngLo, latLo, lngHi, latHi) {
					return straddles
				}
			}
		}
	}
	if pg.crossings((latLo+latHi)/2, (lngLo+lngHi)/2) {
		return inside
	}
	return outside
}

// segHitsBox reports whether a segment meets a box (closed). It is exact up
// to rounding; callers pad the box so rounding only ever errs towards "hits".
func segHitsBox(x1, y1, x2, y2, bxl, byl, bxh, byh float64) bool {
	if max(x1, x2) < bxl || min(x1, x2) > bxh || max(y1, y2) < byl || min(y1, y2) > byh {
		return false
	}
	// Separating axis along the segment's normal: the box misses the line
	// if all four corners are strictly on one side.
	dx, dy := x2-x1, y2-y1
	s1 := dx*(byl-y1) - dy*(bxl-x1)
	s2 := dx*(byl-y1) - dy*(bxh-x1)
	s3 := dx*(byh-y1) - dy*(bxl-x1)
	s4 := dx*(byh-y1) - dy*(bxh-x1)
	if (s1 > 0 && s2 > 0 && s3 > 0 && s4 > 0) || (s1 < 0 && s2 < 0 && s3 < 0 && s4 < 0) {
		return false
	}
	return true
}

// ringArea2 is twice the signed shoelace area of the ring, in degrees²,
// computed relative to the first vertex to limit cancellation.
func ringArea2(ring []LatLng) float64 {
	x0, y0 := ring[0].Lng, ring[0].Lat
	s := 0.0
	for i := 1; i+1 < len(ring); i++ {
		ax, ay := ring[i].Lng-x0, ring[i].Lat-y0
		bx, by := ring[i+1].Lng-x0, ring[i+1].Lat-y0
		s += ax*by - ay*bx
	}
	return s
}

// selfIntersection finds two edges of the ring that touch, other than
// neighbours meeting at their shared vertex: neighbours are only reported
// when they fold back over each other. Edges are swept in order of their
// smallest longitude, so only edges whose bounding boxes overlap are
// compared; a typical ring costs O(n log n).
func selfIntersection(ring []LatLng) (int, int, bool) {
	n := len(ring)
	type seg struct {
		x1, y1, x2, y2         float64
		minX, maxX, minY, maxY float64
		i                      int
	}
	segs := make([]seg, n)
	for i := range n {
		a, b := ring[i], ring[(i+1)%n]
		segs[i] = seg{a.Lng, a.Lat, b.Lng, b.Lat,
			min(a.Lng, b.Lng), max(a.Lng, b.Lng), min(a.Lat, b.Lat), max(a.Lat, b.Lat), i}
	}
	slices.SortFunc(segs, func(a, b seg) int {
		switch {
		case a.minX < b.minX:
			return -1
		case a.minX > b.minX:
			return 1
		}
		return a.i - b.i
	})
	for a := range segs {
		s := &segs[a]
		for b := a + 1; b < n && segs[b].minX <= s.maxX; b++ {
			t := &segs[b]
			if t.minY > s.maxY || t.maxY < s.minY {
				continue
			}
			i, j := s.i, t.i
			if i > j {
				i, j = j, i
			}
			var bad bool
			switch {
			case j == i+1: // edge i ends where edge j starts
				bad = foldsBack(ring[i], ring[j], ring[(j+1)%n])
			case i == 0 && j == n-1: // edge j ends where edge 0 starts
				bad = foldsBack(ring[j], ring[0], ring[1])
			default:
				bad = segsTouch(s.x1, s.y1, s.x2, s.y2, t.x1, t.y1, t.x2, t.y2)
			}
			if bad {
				return i, j, true
			}
		}
	}
	return 0, 0, false
}

// foldsBack reports whether consecutive edges a-b and b-c overlap along a
// line, that is whether c lies on the ray from b back towards a.
func foldsBack(a, b, c LatLng) bool {
	ax, ay := a.Lng-b.Lng, a.Lat-b.Lat
	cx, cy := c.Lng-b.Lng, c.Lat-b.Lat
	return ax*cy-ay*cx == 0 && ax*cx+ay*cy > 0
}

func orient(ax, ay, bx, by, cx, cy float64) int {
	v := (bx-ax)*(cy-ay) - (by-ay)*(cx-ax)
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	}
	return 0
}

// onSeg reports whether (px,py), known to be collinear with the segment,
// lies within its bounding box.
func onSeg(x1, y1, x2, y2, px, py float64) bool {
	return px >= min(x1, x2) && px <= max(x1, x2) && py >= min(y1, y2) && py <= max(y1, y2)
}

// segsTouch reports whether closed segments p1-p2 and p3-p4 share a point.
func segsTouch(x1, y1, x2, y2, x3, y3, x4, y4 float64) bool {
	d1 := orient(x3, y3, x4, y4, x1, y1)
	d2 := orient(x3, y3, x4, y4, x2, y2)
	d3 := orient(x1, y1, x2, y2, x3, y3)
	d4 := orient(x1, y1, x2, y2, x4, y4)
	if d1*d2 < 0 && d3*d4 < 0 {
		return true
	}
	return (d1 == 0 && onSeg(x3, y3, x4, y4, x1, y1)) ||
		(d2 == 0 && onSeg(x3, y3, x4, y4, x2, y2)) ||
		(d3 == 0 && onSeg(x1, y1, x2, y2, x3, y3)) ||
		(d4 == 0 && onSeg(x1, y1, x2, y2, x4, y4))
}
