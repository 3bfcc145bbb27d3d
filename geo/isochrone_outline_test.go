package geo

import (
	"math"
	"slices"
	"testing"

	h3 "github.com/uber/h3-go/v4"
)

// inMultiPolygon is the even-odd test over every ring of a GeoJSON
// MultiPolygon's coordinates (the same as "in an outer ring and in none of
// its holes" for a valid one).
func inMultiPolygon(mp [][][][2]float64, p LatLng) bool {
	in := false
	for _, poly := range mp {
		for _, ring := range poly {
			for i := 1; i < len(ring); i++ {
				a, b := ring[i-1], ring[i]
				if (a[1] > p.Lat) != (b[1] > p.Lat) && p.Lng < a[0]+(p.Lat-a[1])*(b[0]-a[0])/(b[1]-a[1]) {
					in = !in
				}
			}
		}
	}
	return in
}

// ringArea is a ring's signed area in squared degrees, positive
// counter-clockwise.
func ringArea(ring [][2]float64) float64 {
	a := 0.0
	for i := 1; i < len(ring); i++ {
		a += ring[i-1][0]*ring[i][1] - ring[i][0]*ring[i-1][1]
	}
	return a / 2
}

// checkOutline checks the outline's form and that it holds every reached
// cell's centre and none of the unreached cells' near it.
func checkOutline(t *testing.T, iso *Isochrone, what string) [][][][2]float64 {
	t.Helper()
	mp := iso.Outline()
	if len(mp) == 0 {
		t.Fatalf("%s: empty outline for %d cells", what, iso.Len())
	}
	points := 0
	for i, poly := range mp {
		for j, ring := range poly {
			points += len(ring)
			if len(ring) < 4 || ring[0] != ring[len(ring)-1] {
				t.Fatalf("%s: polygon %d ring %d: %d points, closed %v", what, i, j, len(ring), ring[0] == ring[len(ring)-1])
			}
			if a := ringArea(ring); (j == 0) != (a > 0) {
				t.Fatalf("%s: polygon %d ring %d: signed area %g (outer rings counter-clockwise, holes clockwise)", what, i, j, a)
			}
		}
	}
	for c := range iso.All() {
		if p := LatLng(h3.CellToLatLng(c)); !inMultiPolygon(mp, p) {
			t.Fatalf("%s: reached cell %v's centre %v is outside the outline", what, c, p)
		}
	}
	for _, c := range iso.near {
		if p := LatLng(h3.CellToLatLng(c)); inMultiPolygon(mp, p) {
			t.Fatalf("%s: unreached cell %v's centre %v is inside the outline", what, c, p)
		}
	}
	// Points well away: beyond every reached cell.
	for _, brg := range []float64{0, math.Pi / 2, math.Pi, 3 * math.Pi / 2} {
		if p := dest(iso.centre, brg, iso.reachM+500); inMultiPolygon(mp, p) {
			t.Fatalf("%s: %v, 500 m beyond the farthest cell, is inside the outline", what, p)
		}
	}
	if again := iso.Outline(); len(again) == 0 || &again[0] != &mp[0] {
		t.Fatalf("%s: the outline is not cached", what)
	}
	t.Logf("%s: %d cells, %d polygons, %d rings in the first, %d points", what, iso.Len(), len(mp), len(mp[0]), points)
	return mp
}

func TestOutlineDemo(t *testing.T) {
	t.Parallel()
	n := demoNetwork(t)
	for _, tc := range []struct {
		p       LatLng
		mode    string
		minutes float64
	}{
		{benchStart, ModeWalk, 15},
		{benchStart, ModeBike, 10},
		{benchStart, ModeMotorbike, 15},
		{benchStart, ModeDrive, 15},
		{benchStart, ModeDrive, 30},
		{local(county, 3000, -2000), ModeWalk, 30},
		{local(county, -6000, -9000), ModeWalk, 10}, // in the reservoir
		{local(county, 0, 0), ModeWalk, 5},          // in the river
	} {
		iso := mustIso(t, n, tc.p, tc.mode, tc.minutes)
		checkOutline(t, iso, tc.mode+" "+formatMin(tc.minutes))
	}
}

func formatMin(m float64) string {
	return string(rune('0'+int(m)/10)) + string(rune('0'+int(m)%10)) + "min"
}

// isoOf builds an isochrone over given cells (no network), as compute
// would package it, without the deep bits (which only save work).
func isoOf(cells []h3.Cell, centre LatLng) *Isochrone {
	slices.Sort(cells)
	cells = slices.Compact(cells)
	iso := &Isochrone{cells: cells, secs: make([]float32, len(cells)), deep: make([]uint64, (len(cells)+63)/64), centre: centre}
	set := map[h3.Cell]bool{}
	for _, c := range cells {
		set[c] = true
	}
	for _, c := range cells {
		iso.reachM = max(iso.reachM, DistanceM(centre, LatLng(h3.CellToLatLng(c))))
		for _, v := range h3.GridDisk(c, leafRings) {
			if !set[v] {
				iso.near = append(iso.near, v)
			}
		}
	}
	slices.Sort(iso.near)
	iso.near = slices.Compact(iso.near)
	return iso
}

func TestOutlineShapes(t *testing.T) {
	t.Parallel()
	c0 := h3.LatLngToCell(h3.LatLng(county), NetworkRes)
	minus := func(a, b []h3.Cell) []h3.Cell {
		return slices.DeleteFunc(a, func(c h3.Cell) bool { return slices.Contains(b, c) })
	}
	far := h3.LatLngToCell(h3.LatLng(local(county, 3000, 0)), NetworkRes)
	island := h3.LatLngToCell(h3.LatLng(local(county, 10000, 0)), NetworkRes)

	one := checkOutline(t, isoOf([]h3.Cell{c0}, county), "one cell")
	if len(one) != 1 || len(one[0]) != 1 || len(one[0][0]) != 7 {
		t.Fatalf("one cell: %v, want one hexagon", one)
	}
	// The hexagon's corners are within a few metres of H3's.
	for _, v := range h3.CellToBoundary(c0) {
		best := math.Inf(1)
		for _, q := range one[0][0] {
			best = min(best, DistanceM(LatLng(v), LatLng{q[1], q[0]}))
		}
		if best > 3 {
			t.Fatalf("one cell: H3 corner %v is %.1f m from the outline's", v, best)
		}
	}

	ring := checkOutline(t, isoOf(minus(h3.GridDisk(c0, 6), h3.GridDisk(c0, 1)), county), "ring")
	if len(ring) != 1 || len(ring[0]) != 2 {
		t.Fatalf("disk with a hole: %d polygons, %d rings, want 1 with a hole", len(ring), len(ring[0]))
	}
	two := checkOutline(t, isoOf(append(h3.GridDisk(c0, 4), h3.GridDisk(far, 2)...), county), "two blobs")
	if len(two) != 2 {
		t.Fatalf("two blobs: %d polygons", len(two))
	}
	// An island in a hole in a ring.
	nested := append(minus(h3.GridDisk(island, 8), h3.GridDisk(island, 4)), h3.GridDisk(island, 1)...)
	mp := checkOutline(t, isoOf(nested, local(county, 10000, 0)), "island")
	if len(mp) != 2 || len(mp[0])+len(mp[1]) != 3 {
		t.Fatalf("island in a hole: %d polygons", len(mp))
	}
	if (&Isochrone{}).Outline() != nil {
		t.Fatalf("no cells: an outline")
	}
}
