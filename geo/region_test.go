package geo

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	h3 "github.com/uber/h3-go/v4"
)

func TestDistanceM(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		a, b LatLng
		want float64
	}{
		{LatLng{0, 0}, LatLng{1, 0}, EarthRadiusM * math.Pi / 180},
		{LatLng{0, 0}, LatLng{0, 180}, EarthRadiusM * math.Pi},
		{LatLng{90, 0}, LatLng{-90, 0}, EarthRadiusM * math.Pi},
		{LatLng{10, 179.5}, LatLng{10, -179.5}, 2 * EarthRadiusM * math.Asin(math.Cos(10*degToRad)*math.Sin(0.5*degToRad))},
		{county, county, 0},
	} {
		got := DistanceM(tt.a, tt.b)
		if math.Abs(got-tt.want) > 1e-6*tt.want+1e-9 {
			t.Errorf("DistanceM(%v, %v) = %.6f, want %.6f", tt.a, tt.b, got, tt.want)
		}
		if back := DistanceM(tt.b, tt.a); back != got {
			t.Errorf("DistanceM not symmetric: %v vs %v", got, back)
		}
	}
}

func TestContainsCircle(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(5, 6))
	for _, rad := range []float64{0.5, 50, 200, 1250, 10000, 100000} {
		r := mustCompile(t, circleArea(county, rad))
		if !r.Contains(county) {
			t.Fatalf("r=%v: centre not inside", rad)
		}
		for range 200 {
			brg := rng.Float64() * 2 * math.Pi
			in, out := dest(county, brg, rad-0.01), dest(county, brg, rad+0.01)
			if !r.Contains(in) || r.Contains(out) {
				t.Fatalf("r=%v bearing %v: 1 cm inside %v / outside %v", rad, brg, r.Contains(in), r.Contains(out))
			}
			// Contains is exactly DistanceM <= radius, including at the edge.
			on := dest(county, brg, rad)
			if r.Contains(on) != (DistanceM(county, on) <= rad) || r.Contains(on) != (DistanceM(on, county) <= rad) {
				t.Fatalf("Contains disagrees with DistanceM at %v", on)
			}
		}
	}
	r := mustCompile(t, circleArea(county, 10))
	for _, p := range []LatLng{{math.NaN(), 0}, {0, math.NaN()}, {math.Inf(1), 0}} {
		if r.Contains(p) {
			t.Fatalf("Contains(%v) = true", p)
		}
	}
	// Across the antimeridian and over a pole.
	am := mustCompile(t, circleArea(LatLng{0, 180}, 20000))
	if !am.Contains(LatLng{0, -179.9}) || !am.Contains(LatLng{0, 179.9}) || !am.Contains(LatLng{0, -180}) {
		t.Fatalf("circle on the antimeridian misses a side")
	}
	pole := mustCompile(t, circleArea(LatLng{89.9, 0}, 30000))
	if !pole.Contains(LatLng{90, 123}) || !pole.Contains(LatLng{89.9, 180}) || pole.Contains(LatLng{89.5, 180}) {
		t.Fatalf("circle over the pole is wrong")
	}
}

func TestContainsPolygon(t *testing.T) {
	t.Parallel()
	sq := [][]float64{{0, 0}, {0, 1}, {1, 1}, {1, 0}} // lat, lng
	u := ringToArea(uRing(county, 3000, 3000, 500, 0))
	uRegion := mustCompile(t, u)
	uRingPts, _ := checkPolygon(u.Polygon)
	tests := []struct {
		name string
		poly [][]float64
		p    LatLng
		want bool
	}{
		{"inside", sq, LatLng{0.5, 0.5}, true},
		{"outside", sq, LatLng{1.5, 0.5}, false},
		{"vertex", sq, LatLng{1, 1}, true},
		{"other vertex", sq, LatLng{0, 0}, true},
		{"edge", sq, LatLng{0.5, 1}, true},
		{"edge bottom", sq, LatLng{0, 0.25}, true},
		{"just outside edge", sq, LatLng{0.5, 1 + 1e-8}, false},
		{"within tolerance of edge", sq, LatLng{0.5, 1 + 5e-10}, true},
		{"on extension of edge", sq, LatLng{0, 1.5}, false},
		{"level with vertex, outside", sq, LatLng{1, -0.5}, false},
		{"chevron, level with notch vertex", LatLngRing(LatLng{0, 0}, LatLng{2, 1}, LatLng{0, 2}, LatLng{1, 1}), LatLng{1, 0.9}, true},
		{"chevron, below notch", LatLngRing(LatLng{0, 0}, LatLng{2, 1}, LatLng{0, 2}, LatLng{1, 1}), LatLng{0.5, 1}, false},
		{"diamond, level with side vertex", LatLngRing(LatLng{0, 1}, LatLng{1, 2}, LatLng{2, 1}, LatLng{1, 0}), LatLng{1, 0.5}, true},
		{"diamond, level with side vertex, outside", LatLngRing(LatLng{0, 1}, LatLng{1, 2}, LatLng{2, 1}, LatLng{1, 0}), LatLng{1, 2.5}, false},
		{"clockwise", [][]float64{{0, 0}, {1, 0}, {1, 1}, {0, 1}}, LatLng{0.5, 0.5}, true},
		{"closed", append(slices.Clone(sq), sq[0]), LatLng{0.5, 0.5}, true},
		{"closed, edge", append(slices.Clone(sq), sq[0]), LatLng{0, 0.5}, true},
		{"U notch", u.Polygon, local(county, 0, 700), false},
		{"U arm", u.Polygon, local(county, -1250, 700), true},
		{"U bottom", u.Polygon, local(county, 0, -1250), true},
		{"U notch floor vertex", u.Polygon, uRingPts[4], true},
		{"antimeridian as -180", [][]float64{{10, 170}, {10, 180}, {20, 180}, {20, 170}}, LatLng{15, -180}, true},
		{"antimeridian as 180", [][]float64{{10, -170}, {10, -180}, {20, -180}, {20, -170}}, LatLng{15, 180}, true},
		{"antimeridian, other side", [][]float64{{10, 170}, {10, 180}, {20, 180}, {20, 170}}, LatLng{15, -179.99}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := mustCompile(t, Area{Polygon: tt.poly})
			if got := r.Contains(tt.p); got != tt.want {
				t.Fatalf("Contains(%v) = %v, want %v", tt.p, got, tt.want)
			}
		})
	}
	if uRegion.Contains(LatLng{math.NaN(), county.Lng}) {
		t.Fatalf("NaN inside")
	}
}

// LatLngRing builds a polygon from points, for readable tables.
func LatLngRing(pts ...LatLng) [][]float64 {
	out := make([][]float64, len(pts))
	for i, p := range pts {
		out[i] = []float64{p.Lat, p.Lng}
	}
	return out
}

// TestContainsPolygonProbes checks Contains on every kind of shape the
// oracle test uses: vertices and edge points are inside, and for convex
// rings the point 1 m inside each edge is in and 1 m outside is out.
func TestContainsPolygonProbes(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(9, 9))
	for i := range 40 {
		var ring []LatLng
		switch i % 4 {
		case 0:
			ring = convexRing(rng, county, 100+rng.Float64()*50000, 3+rng.IntN(60))
		case 1:
			ring = starRing(county, 5000, 1000, 5+rng.IntN(100), rng.Float64())
		case 2:
			ring = polarRing(rng, county, 20000, 10+rng.IntN(990))
		default:
			ring = uRing(county, 4000, 2500, 300, rng.Float64()*3)
		}
		r := mustCompile(t, ringToArea(ring))
		onEdge, off, in := edgeProbes(ring, 200)
		for _, p := range onEdge {
			if !r.Contains(p) {
				t.Fatalf("shape %d: point %v on the edge is not inside", i, p)
			}
		}
		if isConvex(ring) {
			for j, p := range off {
				if r.Contains(p) != in[j] {
					t.Fatalf("shape %d: point %v 1 m %s the edge: Contains = %v", i, p, map[bool]string{true: "inside", false: "outside"}[in[j]], !in[j])
				}
			}
		}
		// Direction and closing point do not matter.
		rev := slices.Clone(ring)
		slices.Reverse(rev)
		closed := ringToArea(append(slices.Clone(ring), ring[0]))
		r2, r3 := mustCompile(t, ringToArea(rev)), mustCompile(t, closed)
		for _, p := range append(off, onEdge...) {
			if r.Contains(p) != r2.Contains(p) || r.Contains(p) != r3.Contains(p) {
				t.Fatalf("shape %d: reversed or closed ring disagrees at %v", i, p)
			}
		}
	}
}

func TestCellBits(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 1))
	for range 500 {
		p := LatLng{math.Asin(2*rng.Float64()-1) * radToDeg, rng.Float64()*360 - 180}
		c := h3.LatLngToCell(h3.LatLng(p), 15)
		if cellRes(c) != 15 || cellBase(c) != c.BaseCellNumber() {
			t.Fatalf("res/base of %v", c)
		}
		for r := 0; r <= 15; r++ {
			if got, want := cellParent(c, r), c.Parent(r); got != want {
				t.Fatalf("cellParent(%v, %d) = %v, want %v", c, r, got, want)
			}
			if r > 0 {
				// the digit leads from the res r-1 ancestor to the res r one
				kids := c.Parent(r - 1).ImmediateChildren()
				want := c.Parent(r)
				d := cellDigit(c, r)
				found := false
				for _, k := range kids {
					if k == want && cellDigit(k, r) == d {
						found = true
					}
				}
				if !found {
					t.Fatalf("digit %d of %v at res %d does not lead to %v", d, c, r, want)
				}
			}
		}
	}
}

// TestCellBound checks the claim behind descendantFactor and leafFactor:
// every point whose res-9 cell descends from a cell lies within that cell's
// bound. Points are sampled in a ring just around each cell's circumradius,
// where descendants stick out, for cells near the county, at random places
// and around all twelve pentagons (where H3 is most distorted).
func TestCellBound(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(2, 3))
	samples := 300
	if testing.Short() {
		samples = 60
	}
	worst := 0.0
	for r := 0; r <= indexRes; r++ {
		var cells []h3.Cell
		for range 6 {
			cells = append(cells, h3.LatLngToCell(h3.LatLng(local(county, rng.NormFloat64()*30000, rng.NormFloat64()*30000)), r))
			cells = append(cells, h3.LatLngToCell(h3.LatLng{Lat: math.Asin(2*rng.Float64()-1) * radToDeg, Lng: rng.Float64()*360 - 180}, r))
		}
		for _, pc := range h3.Pentagons(r) {
			cells = append(cells, pc)
			if r >= 2 {
				cells = append(cells, pc.GridDisk(1)[rng.IntN(6)])
			}
		}
		for _, c := range cells {
			g := geoFor(c)
			ctr := LatLng{g.lat, g.lng}
			circ := 0.0
			for _, v := range c.Boundary() {
				circ = max(circ, DistanceM(ctr, LatLng(v)))
			}
			for range samples {
				p := dest(ctr, rng.Float64()*2*math.Pi, circ*(0.9+0.35*rng.Float64()))
				if cellParent(h3.LatLngToCell(h3.LatLng(p), indexRes), r) != c {
					continue
				}
				d := DistanceM(ctr, p)
				if d > g.boundM() {
					t.Fatalf("point %v of cell %v (res %d) is %.1f m from its centre, bound %.1f m", p, c, r, d, g.boundM())
				}
				worst = max(worst, d/circ)
			}
			// The box must hold the whole bound cap.
			for range 20 {
				p := dest(ctr, rng.Float64()*2*math.Pi, g.boundM()*0.999)
				b := g.box
				inLng := (p.Lng >= b.lngLo && p.Lng <= b.lngHi) || (p.Lng+360 >= b.lngLo && p.Lng+360 <= b.lngHi) || (p.Lng-360 >= b.lngLo && p.Lng-360 <= b.lngHi)
				if p.Lat < b.latLo || p.Lat > b.latHi || !inLng {
					t.Fatalf("cap point %v of cell %v outside its box %+v", p, c, b)
				}
			}
		}
	}
	t.Logf("largest distance of a descendant point from its cell centre: %.4f circumradii (bound uses %.2f)", worst, descendantFactor)
}

func TestCells(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(4, 4))
	areas := []Area{
		circleArea(county, 200),
		circleArea(county, 3000),
		circleArea(county, 100000),
		{Reach: &Reach{Lat: county.Lat, Lng: county.Lng, Mode: ModeBike}},
		ringToArea(starRing(county, 20000, 6000, 8, 0)),
		ringToArea(uRing(county, 5000, 4000, 800, 1)),
		ringToArea(polarRing(rng, county, 30000, 1000)),
		circleArea(LatLng{0, 180}, 30000),
		circleArea(LatLng{90, 0}, 50000),
	}
	for i, a := range areas {
		r := mustCompile(t, a)
		strs := r.Cells()
		if len(strs) == 0 || len(strs) > maxCoverCells {
			t.Fatalf("area %d: %d cells", i, len(strs))
		}
		set := map[h3.Cell]bool{}
		finest := 0
		for _, s := range strs {
			c, err := ParseCell(s)
			if err != nil {
				t.Fatalf("area %d: bad cell %q: %v", i, s, err)
			}
			if set[c] {
				t.Fatalf("area %d: duplicate cell %s", i, s)
			}
			set[c] = true
			finest = max(finest, c.Resolution())
		}
		for c := range set { // compacted: no cell together with an ancestor
			for r := 0; r < c.Resolution(); r++ {
				if set[c.Parent(r)] {
					t.Fatalf("area %d: %v and its ancestor %v both in the cover", i, c, c.Parent(r))
				}
			}
		}
		// Every point of the area lies in a cover cell (as an index
		// descendant at the cover's finest resolution).
		var c0 LatLng
		var reach float64
		if r.pg == nil {
			c0, reach = LatLng{r.lat, r.lng}, r.radiusM
		} else {
			c0 = LatLng{(r.pg.minY + r.pg.maxY) / 2, (r.pg.minX + r.pg.maxX) / 2}
			reach = 1.1 * DistanceM(c0, LatLng{r.pg.minY, r.pg.minX})
		}
		hits := 0
		for range 3000 {
			p := dest(c0, rng.Float64()*2*math.Pi, reach*math.Sqrt(rng.Float64()))
			if !r.Contains(p) {
				continue
			}
			hits++
			fc := h3.LatLngToCell(h3.LatLng(p), finest)
			covered := false
			for res := 0; res <= finest && !covered; res++ {
				covered = set[cellParent(fc, res)]
			}
			if !covered {
				t.Fatalf("area %d: point %v inside the area but in no cover cell", i, p)
			}
		}
		if hits == 0 {
			t.Fatalf("area %d: no sample inside", i)
		}
	}
}

// TestContainsMatchesDistance checks that the trig-free fast path of
// Contains answers exactly DistanceM(centre, p) <= radius, for points a few
// micrometres to kilometres from the edge, at every latitude.
func TestContainsMatchesDistance(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(8, 8))
	for range 300 {
		c := LatLng{rng.Float64()*180 - 90, rng.Float64()*360 - 180}
		if rng.IntN(3) == 0 {
			c = local(county, rng.NormFloat64()*30000, rng.NormFloat64()*30000)
		}
		rad := 1 * math.Pow(1e5, rng.Float64())
		r := mustCompile(t, circleArea(c, rad))
		for range 200 {
			off := []float64{1e-6, 1e-4, 0.01, 1, 100, 10000}[rng.IntN(6)] * (2*rng.Float64() - 1)
			p := dest(c, rng.Float64()*2*math.Pi, max(0, rad+off))
			if got, want := r.Contains(p), DistanceM(c, p) <= rad; got != want {
				t.Fatalf("circle %v r=%v: Contains(%v) = %v, DistanceM = %.9f", c, rad, p, got, DistanceM(c, p))
			}
		}
	}
}

// TestClassifySound checks the other half of the index's guarantee (the
// first is TestCellBound): when classify declares a cap inside or outside a
// region, Contains agrees for every point of the cap. Points are drawn all
// over each cap, with extra weight near its rim.
func TestClassifySound(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(6, 6))
	decided := 0
	for i := range 54 {
		a, what := randomRegion(rng, i)
		r := mustCompile(t, a)
		for range 120 {
			// A cap somewhere around the region, of a size from a res-9
			// leaf to a res-4 cell.
			ctr := local(county, rng.NormFloat64()*30000, rng.NormFloat64()*30000)
			g := newCellGeo(ctr.Lat, ctr.Lng, 100*math.Pow(300, rng.Float64()))
			cls := r.classify(&g)
			if cls == straddles {
				continue
			}
			decided++
			for range 25 {
				d := g.boundM() * math.Sqrt(rng.Float64())
				if rng.IntN(2) == 0 {
					d = g.boundM() * (1 - 1e-9*rng.Float64())
				}
				p := dest(ctr, rng.Float64()*2*math.Pi, d)
				if r.Contains(p) != (cls == inside) {
					t.Fatalf("%s: cap at %v radius %.1f m classified %v, but Contains(%v) = %v", what, ctr, g.boundM(), cls, p, r.Contains(p))
				}
			}
		}
	}
	if decided < 500 {
		t.Fatalf("only %d caps classified inside or outside: test too weak", decided)
	}
}
