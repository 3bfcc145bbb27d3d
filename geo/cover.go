package geo

import (
	"sync"

	h3 "github.com/uber/h3-go/v4"
)

// Bounds on where members of a cell can be.
//
// An index cell at resolution r stands for every member whose res-9 cell has
// it as H3 parent. Aperture-7 children do not tile their parent exactly, so
// those members can lie outside the parent's hexagon: in the ideal hexagonal
// lattice the descendants reach at most sqrt(3)/(sqrt(7)-1) ≈ 1.0524 times
// the parent's circumradius from its centre (children centres sit at
// sqrt(3/7) of the parent's edge, and the series converges). Sampling H3
// itself worldwide, pentagons and icosahedron edges included, gives at most
// ~1.053 (TestCellBound checks this with margin). descendantFactor = 1.25
// leaves a wide margin for projection distortion; the cost is only that a
// few more cells near an area's edge are refined instead of being answered
// wholesale.
//
// A res-9 leaf holds members whose own cell it is, so they lie in its
// hexagon: leafFactor only has to absorb rounding and the curved edges of
// cells cut by icosahedron faces. boundPadM adds an absolute margin for a
// point exactly on a cell boundary, which H3 may assign to either side.
const (
	descendantFactor = 1.25
	leafFactor       = 1.1
	boundPadM        = 0.5
)

// H3 index layout (64 bits): mode and reserved bits, 4-bit resolution at bit
// 52, 7-bit base cell at bit 45, then fifteen 3-bit digits, digit r at bit
// 3*(15-r); digits beyond the resolution are 7. The index's ancestry is in
// these bits, so parents and digits are computed without calling into C.
const (
	h3ResShift  = 52
	h3BaseShift = 45
)

func cellRes(c h3.Cell) int  { return int(uint64(c)>>h3ResShift) & 0xF }
func cellBase(c h3.Cell) int { return int(uint64(c)>>h3BaseShift) & 0x7F }

// cellDigit is the child digit (0..6) of c's ancestor at resolution r-1
// leading to its ancestor at r.
func cellDigit(c h3.Cell, r int) int { return int(uint64(c)>>(3*(15-r))) & 7 }

// cellParent is c's ancestor at resolution r <= cellRes(c), as h3's Parent.
func cellParent(c h3.Cell, r int) h3.Cell {
	u := uint64(c)&^(0xF<<h3ResShift) | uint64(r)<<h3ResShift
	return h3.Cell(u | (1<<(3*(15-r)) - 1))
}

// cellGeoOf computes a cap around c's centre of factor times c's
// circumradius (the largest great-circle distance from centre to a boundary
// vertex) plus boundPadM. It calls into H3, so the index caches it per node.
func cellGeoOf(c h3.Cell, factor float64) cellGeo {
	ctr := LatLng(h3.CellToLatLng(c))
	circ := 0.0
	for _, v := range h3.CellToBoundary(c) {
		circ = max(circ, DistanceM(ctr, LatLng(v)))
	}
	return newCellGeo(ctr.Lat, ctr.Lng, factor*circ+boundPadM)
}

// geoFor is the bounding cap of an index cell at resolution res.
func geoFor(c h3.Cell) cellGeo {
	if cellRes(c) == indexRes {
		return cellGeoOf(c, leafFactor)
	}
	return cellGeoOf(c, descendantFactor)
}

type baseGeo struct {
	cell h3.Cell
	geo  cellGeo
}

// baseGeos are the 122 resolution-0 cells with their caps, computed once.
var baseGeos = sync.OnceValue(func() []baseGeo {
	cells := h3.Res0Cells()
	out := make([]baseGeo, len(cells))
	for i, c := range cells {
		out[i] = baseGeo{c, cellGeoOf(c, descendantFactor)}
	}
	return out
})

// Preview cover limits: the cover is meant to be drawn on a map, so it is
// kept to at most maxCoverCells cells by choosing a resolution whose edge is
// about perimeter/coverEdgeDivisor (a few dozen cells along the boundary),
// and falling back to coarser resolutions if it still comes out larger.
const (
	maxCoverCells    = 1000
	maxCoverRes      = 11
	coverEdgeDivisor = 60
)

// Cells returns the region's H3 cover for the preview endpoint, compacted
// (interior cells as coarse as possible) and capped at 1000 cells. Every
// point of the region is in one of the cells; cells near the boundary may
// reach slightly outside it. It is for display only: Index.Query does not use
// it and is exact.
func (r *Region) Cells() []string {
	cells := r.cover()
	out := make([]string, len(cells))
	for i, c := range cells {
		out[i] = c.String()
	}
	return out
}

func (r *Region) cover() []h3.Cell {
	if r.iso != nil {
		return r.iso.cover()
	}
	res := 0
	target := r.perimeterM() / coverEdgeDivisor
	for res < maxCoverRes && h3.HexagonEdgeLengthAvgM(res+1) >= target {
		res++
	}
	for ; res > 0; res-- {
		if out, ok := r.coverAt(res); ok {
			return out
		}
	}
	out, _ := r.coverAt(0) // at most 122 cells
	return out
}

func (r *Region) coverAt(res int) ([]h3.Cell, bool) {
	var out []h3.Cell
	for _, b := range baseGeos() {
		var ok bool
		if out, _, ok = r.coverCell(b.cell, b.geo, res, out); !ok {
			return nil, false
		}
	}
	return out, true
}

// coverCell appends the cells at resolution res (or coarser, for whole
// subtrees) that cover the part of the region in c's extent. full reports
// that every descendant of c at res was taken, so the caller can replace
// them by c itself (compaction).
func (r *Region) coverCell(c h3.Cell, g cellGeo, res int, out []h3.Cell) (_ []h3.Cell, full, ok bool) {
	switch r.classify(&g) {
	case outside:
		return out, false, true
	case inside:
		out = append(out, c)
		return out, true, len(out) <= maxCoverCells
	}
	if cellRes(c) == res {
		out = append(out, c)
		return out, true, len(out) <= maxCoverCells
	}
	mark := len(out)
	all := true
	for _, k := range c.ImmediateChildren() {
		factor := descendantFactor
		if cellRes(k) == res {
			factor = leafFactor
		}
		var f bool
		if out, f, ok = r.coverCell(k, cellGeoOf(k, factor), res, out); !ok {
			return out, false, false
		}
		all = all && f
	}
	if all {
		out = append(out[:mark], c)
	}
	return out, all, len(out) <= maxCoverCells
}
