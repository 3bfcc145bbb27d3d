package geo

import h3 "github.com/uber/h3-go/v4"

// CountCells counts points per H3 cell at resolution res (0..15), keyed by
// H3 string, the way Index.Density counts the members of the index: up to
// indexRes a point counts in the ancestor of its indexRes cell (H3 cells
// do not nest exactly, so near a cell's edge that ancestor may differ from
// the coarse cell the point itself lies in), finer in its own cell. Counts
// of the same points by both therefore match cell for cell. An invalid
// resolution gives an empty map.
func CountCells(pts []LatLng, res int) map[string]int {
	out := make(map[string]int)
	if res < 0 || res > h3.MaxResolution {
		return out
	}
	counts := make(map[h3.Cell]int)
	for _, p := range pts {
		if res <= indexRes {
			counts[cellParent(h3.LatLngToCell(h3.LatLng(p), indexRes), res)]++
		} else {
			counts[h3.LatLngToCell(h3.LatLng(p), res)]++
		}
	}
	for c, n := range counts {
		out[c.String()] = n
	}
	return out
}
