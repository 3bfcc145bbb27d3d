package geo

import (
	"math"
	"slices"
	"sort"

	h3 "github.com/uber/h3-go/v4"
)

// outlineToleranceM is how far Outline's simplified rings may stray from the
// cells' exact boundary. A res-10 boundary is a zigzag of 66 m hexagon edges
// whose teeth stand ~33 m out; at 25 m the simplification straightens many
// of them (a 15-minute drive's outline keeps about half of its points) while
// a reached cell's centre, at least 57 m inside its own edges, stays inside,
// and an unreached one outside.
const outlineToleranceM = 25

// Outline returns the reached cells as the coordinates of a GeoJSON
// MultiPolygon, for drawing the isochrone on a map: [polygon][ring][point],
// each point [longitude, latitude] rounded to 1e-6 degrees (0.1 m), rings
// closed, each polygon's outer ring first (counter-clockwise) and then its
// holes (clockwise), as RFC 7946 asks. Nil for an isochrone without cells.
//
// It is for display: targeting uses the cells (Contains, Region). The
// outline follows the union of the cells' hexagons, traced from the
// boundary edges between reached and unreached cells, with two
// approximations, both well within half a cell:
//
//   - a hexagon's corner is taken as the mean of the centres of the three
//     cells meeting there (exact for the regular hexagons of H3's planar
//     projection; within a metre or so on the sphere at this resolution),
//     which makes neighbouring cells share corners exactly, so the rings
//     close without matching floating-point coordinates;
//   - each ring is then simplified (Douglas-Peucker) to within
//     outlineToleranceM of that boundary.
//
// h3-go v4.1.0's CellsToMultiPolygon is not implemented (it panics), hence
// this. The cost is an H3 neighbour lookup for each reached cell near the
// edge and a centre for each cell on it: about 10 ms for a 15-minute drive
// of the demo county (6,500 cells), 20 ms for 27,000 cells
// (BenchmarkOutline). It is computed once, on the first call, and
// shared: callers must not modify the result.
func (iso *Isochrone) Outline() [][][][2]float64 {
	iso.outlineOnce.Do(func() { iso.outline = iso.traceOutline() })
	return iso.outline
}

// vertexKey names a hexagon corner by the three cells that meet there,
// sorted.
type vertexKey [3]h3.Cell

type outlineEdge struct {
	to   vertexKey
	from LatLng
	done bool
}

// outlineTracer holds the working state of traceOutline.
type outlineTracer struct {
	iso   *Isochrone
	ctr   map[h3.Cell]LatLng
	edges map[vertexKey]*outlineEdge
	order []vertexKey // edges' start keys in insertion order, for a deterministic result
}

func (t *outlineTracer) reached(c h3.Cell) bool {
	_, ok := slices.BinarySearch(t.iso.cells, c)
	return ok
}

func (t *outlineTracer) centre(c h3.Cell) LatLng {
	p, ok := t.ctr[c]
	if !ok {
		p = LatLng(h3.CellToLatLng(c))
		t.ctr[c] = p
	}
	return p
}

// vertex is the corner shared by cells a, b and c.
func (t *outlineTracer) vertex(a, b, c h3.Cell) (vertexKey, LatLng) {
	k := vertexKey{a, b, c}
	slices.Sort(k[:])
	p, q, r := t.centre(k[0]), t.centre(k[1]), t.centre(k[2])
	return k, LatLng{(p.Lat + q.Lat + r.Lat) / 3, (p.Lng + q.Lng + r.Lng) / 3}
}

func (iso *Isochrone) traceOutline() [][][][2]float64 {
	if len(iso.cells) == 0 {
		return nil
	}
	t := &outlineTracer{iso: iso, ctr: map[h3.Cell]LatLng{}, edges: map[vertexKey]*outlineEdge{}}
	type nb struct {
		c   h3.Cell
		ang float64
	}
	var ring []nb
	for i, c := range iso.cells {
		if i/64 < len(iso.deep) && iso.deep[i/64]&(1<<(i%64)) != 0 {
			continue // every cell within leafRings is reached: no edge here
		}
		disk := h3.GridDisk(c, 1)
		edge := false
		for _, n := range disk {
			if n != c && !t.reached(n) {
				edge = true
				break
			}
		}
		if !edge {
			continue
		}
		// The neighbours counter-clockwise (east-north plane) around c.
		o := t.centre(c)
		k := math.Cos(o.Lat * degToRad)
		ring = ring[:0]
		for _, n := range disk {
			if n != c {
				p := t.centre(n)
				ring = append(ring, nb{n, math.Atan2(p.Lat-o.Lat, (p.Lng-o.Lng)*k)})
			}
		}
		sort.Slice(ring, func(a, b int) bool { return ring[a].ang < ring[b].ang })
		// The edge facing an unreached neighbour runs, counter-clockwise
		// around c (c on its left), from the corner it shares with the
		// previous neighbour to the one it shares with the next.
		m := len(ring)
		for j, n := range ring {
			if t.reached(n.c) {
				continue
			}
			from, p := t.vertex(c, ring[(j+m-1)%m].c, n.c)
			to, _ := t.vertex(c, n.c, ring[(j+1)%m].c)
			if _, dup := t.edges[from]; !dup {
				t.edges[from] = &outlineEdge{to: to, from: p}
				t.order = append(t.order, from)
			}
		}
	}
	return t.assemble()
}

// assemble links the boundary edges into rings, simplifies them and groups
// holes with the outer ring that holds them.
func (t *outlineTracer) assemble() [][][][2]float64 {
	type ringInfo struct {
		pts                    []LatLng // closed
		area                   float64  // signed, positive counter-clockwise
		south, west, north, ea float64
	}
	lat0 := t.iso.centre.Lat
	k := math.Cos(lat0 * degToRad)
	var outers, holes []ringInfo
	for _, start := range t.order {
		e := t.edges[start]
		if e.done {
			continue
		}
		var pts []LatLng
		for key := start; ; {
			e := t.edges[key]
			if e == nil || e.done {
				break // closed (or, were the edges inconsistent, cut short)
			}
			e.done = true
			pts = append(pts, e.from)
			key = e.to
		}
		if len(pts) < 3 {
			continue
		}
		pts = append(pts, pts[0])
		pts = simplifyRing(pts, outlineToleranceM)
		r := ringInfo{pts: pts, south: 90, west: 180, north: -90, ea: -180}
		for i, p := range pts {
			r.south, r.north = min(r.south, p.Lat), max(r.north, p.Lat)
			r.west, r.ea = min(r.west, p.Lng), max(r.ea, p.Lng)
			if i > 0 {
				q := pts[i-1]
				r.area += (q.Lng - p.Lng) * k * (q.Lat + p.Lat - 2*lat0)
			}
		}
		r.area /= 2
		if r.area >= 0 {
			outers = append(outers, r)
		} else {
			holes = append(holes, r)
		}
	}
	polys := make([][][][2]float64, len(outers))
	for i, o := range outers {
		polys[i] = [][][2]float64{lngLatRing(o.pts)}
	}
	for _, h := range holes {
		p := h.pts[0]
		best := -1
		for i, o := range outers {
			if p.Lat < o.south || p.Lat > o.north || p.Lng < o.west || p.Lng > o.ea || !inRing(o.pts, p) {
				continue
			}
			if best < 0 || o.area < outers[best].area {
				best = i
			}
		}
		if best >= 0 {
			polys[best] = append(polys[best], lngLatRing(h.pts))
		}
	}
	return polys
}

func lngLatRing(pts []LatLng) [][2]float64 {
	out := make([][2]float64, len(pts))
	for i, p := range pts {
		out[i] = [2]float64{math.Round(p.Lng*1e6) / 1e6, math.Round(p.Lat*1e6) / 1e6}
	}
	return out
}

// inRing reports whether p is inside the closed ring (even-odd rule).
func inRing(ring []LatLng, p LatLng) bool {
	in := false
	for i := 1; i < len(ring); i++ {
		a, b := ring[i-1], ring[i]
		if (a.Lat > p.Lat) != (b.Lat > p.Lat) && p.Lng < a.Lng+(p.Lat-a.Lat)*(b.Lng-a.Lng)/(b.Lat-a.Lat) {
			in = !in
		}
	}
	return in
}

// simplifyRing simplifies a closed ring (last point equal to the first) by
// Douglas-Peucker to within tolM metres, keeping the first point and the
// point farthest from it, so at least a triangle remains.
func simplifyRing(pts []LatLng, tolM float64) []LatLng {
	n := len(pts) - 1 // distinct points
	if n <= 4 {
		return pts
	}
	// A plane tangent at the first point, in metres.
	o := pts[0]
	k := math.Cos(o.Lat*degToRad) * mPerDegree
	xy := make([][2]float64, len(pts))
	far, farD := 0, -1.0
	for i, p := range pts {
		xy[i] = [2]float64{(p.Lng - o.Lng) * k, (p.Lat - o.Lat) * mPerDegree}
		if d := xy[i][0]*xy[i][0] + xy[i][1]*xy[i][1]; i < n && d > farD {
			far, farD = i, d
		}
	}
	keep := make([]bool, len(pts))
	keep[0], keep[far], keep[n] = true, true, true
	tol2 := tolM * tolM
	var dp func(a, b int)
	dp = func(a, b int) {
		for b-a > 1 {
			best, bestD := -1, tol2
			for i := a + 1; i < b; i++ {
				d := segDist2(xy[i][0], xy[i][1], xy[a][0], xy[a][1], xy[b][0], xy[b][1])
				if d > bestD {
					best, bestD = i, d
				}
			}
			if best < 0 {
				return
			}
			keep[best] = true
			dp(a, best)
			a = best
		}
	}
	dp(0, far)
	dp(far, n)
	out := make([]LatLng, 0, n/2)
	for i, p := range pts {
		if keep[i] {
			out = append(out, p)
		}
	}
	if len(out) < 4 { // fewer than 3 distinct points: keep the ring as it was
		return pts
	}
	return out
}
