package geo

import (
	"math"
	"slices"
)

// Kinds of Place.
const (
	PlaceKindRoad  = "road"  // a named road (or its ref)
	PlaceKindWater = "water" // a named waterway or water area
	PlaceKindPlace = "place" // a named place point: village, hamlet, town...
)

// Place is a named feature near a position, for people to read ("沿江路,
// 40 m"): see Network.NearestPlace.
type Place struct {
	Name  string  `json:"name"`
	Kind  string  `json:"kind"`   // PlaceKindRoad, PlaceKindWater or PlaceKindPlace
	DistM float64 `json:"dist_m"` // metres from the position to the feature
}

// The preference of NearestPlace.
//
//   - placeOnM: a named road, else a named waterway or water area, within
//     this distance is where the position is (GPS error and a road's width):
//     "on 沿江路" beats "near 下徐村", and a road beats the river beside it
//     (on a bridge, or on a riverside road, the road is the place to go).
//   - placeNearM: else a named place point within this distance (a hamlet's
//     or village's houses are around its point) is how people say where
//     they are.
const (
	placeOnM   = 30
	placeNearM = 300
)

// NearestPlace returns the named feature that best tells a person where p
// is, among those within maxM metres, and false if there is none (or the
// network is nil, or p invalid). The preference:
//
//  1. the nearest named road within 30 m (p is on it);
//  2. else the nearest named waterway or water area within 30 m (on its
//     bank);
//  3. else the nearest named place point (village, hamlet, town...) within
//     300 m (p is in it);
//  4. else the nearest of them all.
//
// A road or waterway's distance is to its nearest segment, a water area's
// to its boundary (a point inside a reservoir is as far from it as from
// its shore), a place's to its point; all are measured in a plane tangent
// at p (within a fraction of a percent over a few kilometres). Roads with
// only a ref (G320, X201) go by the ref; see ParseNetwork for the names
// read.
//
// The index (segments bucketed on a 250 m grid) is built on the first call;
// a lookup then visits the buckets within the distance it needs, a few
// microseconds (BenchmarkNearestPlace).
func (n *Network) NearestPlace(p LatLng, maxM float64) (Place, bool) {
	if n == nil || !p.Valid() || !(maxM > 0) {
		return Place{}, false
	}
	n.placesOnce.Do(func() { n.places = buildPlaceIndex(n.data) })
	return n.places.nearest(p, maxM)
}

// placeIndex holds the named features' segments (a place point is a
// segment of length 0) in a projection of metres east and north of the
// south-west corner of their bounding box (lat0, lng0), bucketed on a
// uniform grid.
type placeIndex struct {
	lat0, lng0 float64
	kx         float64 // metres per degree of longitude at the box's middle latitude
	cell       float64 // bucket size, metres
	nx, ny     int
	start      []int32 // bucket b = y*nx+x holds items[start[b]:start[b+1]]
	items      []int32 // segment indexes
	segs       []placeSeg
	names      []string // by feature
	kinds      []uint8  // by feature: kindRoad, kindWater, kindPlace
}

type placeSeg struct {
	ax, ay, bx, by float64
	feat           int32
}

const (
	kindRoad uint8 = iota
	kindWater
	kindPlace
	numKinds
)

var kindNames = [numKinds]string{PlaceKindRoad, PlaceKindWater, PlaceKindPlace}

const (
	placeBucketM   = 250
	maxPlaceBucket = 1 << 20 // buckets at most; coarser buckets past that
)

func buildPlaceIndex(d *netData) *placeIndex {
	ix := &placeIndex{}
	var lines [][]LatLng // per segment source: a polyline (or closed ring, or a point)
	var feats []int32
	add := func(name string, kind uint8, ls ...[]LatLng) {
		f := int32(len(ix.names))
		ix.names = append(ix.names, name)
		ix.kinds = append(ix.kinds, kind)
		for _, l := range ls {
			lines = append(lines, l)
			feats = append(feats, f)
		}
	}
	for _, r := range d.roads {
		if r.name != "" {
			add(r.name, kindRoad, r.lines...)
		}
	}
	for _, w := range d.waterways {
		if w.name != "" {
			add(w.name, kindWater, w.lines...)
		}
	}
	for _, a := range d.waterAreas {
		if a.name == "" {
			continue
		}
		var rings [][]LatLng
		for _, poly := range a.polys {
			for _, r := range poly {
				rings = append(rings, append(slices.Clip(r), r[0])) // closed
			}
		}
		add(a.name, kindWater, rings...)
	}
	for _, p := range d.places {
		add(p.name, kindPlace, []LatLng{p.p, p.p})
	}
	if len(lines) == 0 {
		return ix
	}
	south, west, north, east := 90.0, 180.0, -90.0, -180.0
	for _, l := range lines {
		for _, p := range l {
			south, north = min(south, p.Lat), max(north, p.Lat)
			west, east = min(west, p.Lng), max(east, p.Lng)
		}
	}
	ix.lat0, ix.lng0 = south, west
	ix.kx = mPerDegree * max(math.Cos((south+north)/2*degToRad), 0.01)
	w, h := (east-west)*ix.kx, (north-south)*mPerDegree
	ix.cell = placeBucketM
	for (w/ix.cell+1)*(h/ix.cell+1) > maxPlaceBucket {
		ix.cell *= 2
	}
	ix.nx, ix.ny = int(w/ix.cell)+1, int(h/ix.cell)+1
	nseg := 0
	for _, l := range lines {
		nseg += len(l) - 1
	}
	ix.segs = make([]placeSeg, 0, nseg)
	pairs := make([]uint64, 0, nseg+nseg/4) // bucket<<32 | segment
	for li, l := range lines {
		for j := 1; j < len(l); j++ {
			s := placeSeg{feat: feats[li]}
			s.ax, s.ay = ix.project(l[j-1])
			s.bx, s.by = ix.project(l[j])
			si := uint64(len(ix.segs))
			ix.segs = append(ix.segs, s)
			// Pieces no longer than a bucket, each in the (at most 2 x 2)
			// buckets of its bounding box: every bucket the segment
			// crosses, and a few it only nears.
			dx, dy := s.bx-s.ax, s.by-s.ay
			n := max(1, int(math.Ceil(math.Hypot(dx, dy)/ix.cell)))
			for k := range n {
				t0, t1 := float64(k)/float64(n), float64(k+1)/float64(n)
				x0, x1 := s.ax+t0*dx, s.ax+t1*dx
				y0, y1 := s.ay+t0*dy, s.ay+t1*dy
				for y := ix.bucket(min(y0, y1), ix.ny); y <= ix.bucket(max(y0, y1), ix.ny); y++ {
					for x := ix.bucket(min(x0, x1), ix.nx); x <= ix.bucket(max(x0, x1), ix.nx); x++ {
						pairs = append(pairs, uint64(y*ix.nx+x)<<32|si)
					}
				}
			}
		}
	}
	slices.Sort(pairs)
	pairs = slices.Compact(pairs)
	ix.start = make([]int32, ix.nx*ix.ny+1)
	ix.items = make([]int32, len(pairs))
	for i, pr := range pairs {
		ix.start[pr>>32+1]++
		ix.items[i] = int32(uint32(pr))
	}
	for b := 1; b < len(ix.start); b++ {
		ix.start[b] += ix.start[b-1]
	}
	return ix
}

func (ix *placeIndex) project(p LatLng) (float64, float64) {
	return (p.Lng - ix.lng0) * ix.kx, (p.Lat - ix.lat0) * mPerDegree
}

// bucket is the bucket row or column of coordinate v, clamped to [0, n).
func (ix *placeIndex) bucket(v float64, n int) int {
	return max(0, min(n-1, int(math.Floor(v/ix.cell))))
}

func (ix *placeIndex) nearest(p LatLng, maxM float64) (Place, bool) {
	if len(ix.segs) == 0 {
		return Place{}, false
	}
	px, py := ix.project(p)
	// East-west metres per projected metre at p's latitude: distances are
	// measured in the plane tangent at p.
	kp := math.Cos(p.Lat*degToRad) * mPerDegree / ix.kx
	pxs := px * kp
	step := ix.cell * min(kp, 1) // every ring of buckets is at least this much farther
	bx, by := int(math.Floor(px/ix.cell)), int(math.Floor(py/ix.cell))
	var best [numKinds]float64 // squared distances
	var bestFeat [numKinds]int32
	for k := range best {
		best[k], bestFeat[k] = math.Inf(1), -1
	}
	scan := func(x, y int) {
		if x < 0 || x >= ix.nx || y < 0 || y >= ix.ny {
			return
		}
		b := y*ix.nx + x
		for _, si := range ix.items[ix.start[b]:ix.start[b+1]] {
			s := &ix.segs[si]
			d := segDist2(pxs, py, s.ax*kp, s.ay, s.bx*kp, s.by)
			if k := ix.kinds[s.feat]; d < best[k] {
				best[k], bestFeat[k] = d, s.feat
			}
		}
	}
	answer := func(k uint8) (Place, bool) {
		return Place{Name: ix.names[bestFeat[k]], Kind: kindNames[k], DistM: math.Sqrt(best[k])}, true
	}
	on, near := min(placeOnM, maxM), min(placeNearM, maxM)
	// Rings nearer than r0 are off the grid (p is outside it).
	r0 := max(0, bx-(ix.nx-1), -bx, by-(ix.ny-1), -by)
	for r := r0; ; r++ {
		// Ring r: the buckets r steps from p's (some may be off the grid).
		for y := max(by-r, 0); y <= min(by+r, ix.ny-1); y++ {
			if y == by-r || y == by+r {
				for x := max(bx-r, 0); x <= min(bx+r, ix.nx-1); x++ {
					scan(x, y)
				}
			} else {
				scan(bx-r, y)
				scan(bx+r, y)
			}
		}
		// Everything within reach metres of p has been seen.
		reach := float64(r) * step
		if bx-r <= 0 && by-r <= 0 && bx+r >= ix.nx-1 && by+r >= ix.ny-1 {
			reach = math.Inf(1)
		}
		if reach < on {
			continue
		}
		if best[kindRoad] <= on*on {
			return answer(kindRoad)
		}
		if best[kindWater] <= on*on {
			return answer(kindWater)
		}
		if reach < near {
			continue
		}
		if best[kindPlace] <= near*near {
			return answer(kindPlace)
		}
		k := kindRoad
		for j := range numKinds {
			if best[j] < best[k] {
				k = j
			}
		}
		if d := math.Sqrt(best[k]); bestFeat[k] >= 0 && d <= maxM && d <= reach {
			return answer(k)
		}
		if reach >= maxM {
			return Place{}, false
		}
	}
}
