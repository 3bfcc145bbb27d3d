package geo

import (
	"slices"

	h3 "github.com/uber/h3-go/v4"
)

// Compile is the package's Compile with a travel network: a reach area
// whose point the network covers becomes its isochrone (Region.Isochrone),
// and a member is in it when the member's NetworkRes cell is reached: that
// is the targeting rule for travel-time reach, unlike the circle's exact
// distance, since travel times are known per cell. Index.Query and Count
// take such a region like any other, without testing every member: index
// cells whose members' cells are all reached, or none, are answered whole
// (classifyLeaf), and only members of cells on the isochrone's edge are
// located one by one.
//
// Without a network (n nil), for a point the network does not cover, and
// for the other kinds of area, it is Compile: a reach is then today's
// straight-line circle, and Region.Fallback says so, for the preview to
// show "fallback: straight-line circle".
func (n *Network) Compile(a Area) (*Region, error) {
	r, err := Compile(a)
	if err != nil || r.area.Reach == nil {
		return r, err
	}
	ra := r.area.Reach
	iso := n.Isochrone(LatLng{ra.Lat, ra.Lng}, ra.Mode, ra.Minutes)
	if iso == nil {
		return r, nil
	}
	return iso.region(r.area), nil
}

// Region returns the isochrone as a region for Index.Query, with the reach
// area it stands for (the start cell's centre, its minutes and mode).
func (iso *Isochrone) Region() *Region {
	return iso.region(Area{Reach: &Reach{Lat: iso.centre.Lat, Lng: iso.centre.Lng, Minutes: iso.minutes, Mode: iso.mode}})
}

// isoBoundPadM widens the circle around the reached cells' centres so that
// it holds every point of those cells (circumradius 66 m at most, with room
// for distortion).
const isoBoundPadM = 150

func (iso *Isochrone) region(a Area) *Region {
	r := &Region{area: a, iso: iso}
	r.setCircle(iso.centre.Lat, iso.centre.Lng, iso.reachM+isoBoundPadM)
	return r
}

// Isochrone returns the isochrone a reach region was compiled to, or nil
// for a straight-line reach and the other kinds of area.
func (r *Region) Isochrone() *Isochrone { return r.iso }

// Fallback reports whether the region is a reach taken as the straight-line
// circle (no network, or a point beyond it), not by travel time.
func (r *Region) Fallback() bool { return r.area.Reach != nil && r.iso == nil }

// cover is Region.cover for an isochrone: its cells compacted, or, if that
// is over maxCoverCells, their ancestors at the finest resolution that fits.
// Being ancestors by index digits, these cover the reached cells roughly,
// which is what a map needs.
func (iso *Isochrone) cover() []h3.Cell {
	cells := iso.cells
	for res := NetworkRes; ; res-- {
		if len(cells) == 0 {
			return nil
		}
		out := h3.CompactCells(cells)
		if len(out) <= maxCoverCells || res == 0 {
			return out
		}
		var up []h3.Cell
		for _, c := range cells {
			p := cellParent(c, res-1)
			if n := len(up); n == 0 || up[n-1] != p {
				up = append(up, p)
			}
		}
		slices.Sort(up)
		cells = slices.Compact(up)
	}
}
