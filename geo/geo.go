// Package geo finds the members inside an alert area without scanning every
// member.
//
// An Area (the API's area object) is validated by Normalize and compiled into
// a Region, whose Contains is the exact test the API promises: great-circle
// distance for circles and reach, point-in-polygon with edges straight in
// latitude/longitude for polygons, a point on the edge being inside. An Index
// keeps members in a sparse tree of H3 cells and answers Query/Count by
// walking only the cells that hold members: cells whose whole extent lies
// inside the region contribute their members without a per-member test,
// cells that straddle the edge are refined and, at the bottom, their members
// are tested with Contains, and cells outside are dropped. The result is
// therefore exactly what a brute-force scan with Contains would give.
//
// A reach area can also be compiled over a travel Network (roads, water,
// bridges and fords read from GeoJSON by ParseNetwork): it is then the
// Isochrone of the point, the H3 cells at NetworkRes reachable within its
// minutes by its mode, and a member is inside when its cell is reached.
// Index.Query answers it the same way, cells wholly inside or outside whole.
// Without a network it stays the straight-line circle (Region.Fallback).
//
// The package imports no other package of the project, so hub, storage and
// loadtest can all use it.
package geo

import "math"

// EarthRadiusM is the radius of the sphere on which docs/API.md measures all
// distances (the IUGG mean radius), in metres.
const EarthRadiusM = 6371008.8

// Resolutions used by the index. They are constants rather than options so
// that every node of the hub buckets members identically.
//
// indexRes is the finest resolution: members are bucketed by their res-9
// cell (about 0.1 km², 174 m average edge). A village of a few hundred homes
// clustered within ~1 km spans roughly ten res-9 cells, so a leaf holds tens
// of members. That keeps the tree small (the 1,000,000-member benchmark
// county has ~52k leaves and ~14k inner nodes of ~180 bytes; the whole index
// is ~115 MB, mostly the two per-member maps) and makes emitting a large
// interior cheap: whole leaves are copied, and at res 10 the 10 km circle
// benchmark ran 2-3 times slower for visiting five times as many leaves. Yet
// the band of leaves straddling an area's edge is only ~200 m wide on each
// side, so the exact per-member test runs on a few thousand members even for
// a 10 km circle, at a few nanoseconds each. Small areas (a 200 m circle)
// work the same way: their few straddling leaves are tested member by
// member. A straddling cell holding few members is tested directly instead
// of being refined further (directTestMax), so query cost follows the number
// of members near the edge, not the number of cells.
//
// shardRes decides the shard of a member: the hash of its res-5 ancestor
// (about 250 km², 8.5 km edge). A county of ~10,000 km² spreads over ~40 such
// cells, enough to spread writers over the 64 shards, while each shard's
// copy of the coarse ancestors (res 0..4) that a query re-walks stays a
// handful of nodes. Members of one village are in one shard, so a locate
// that moves a member within its village changes one shard.
const (
	indexRes = 9
	shardRes = 5
)

const (
	degToRad = math.Pi / 180
	radToDeg = 180 / math.Pi
)

// LatLng is a WGS84 position in decimal degrees.
type LatLng struct {
	Lat float64 `json:"lat"`
	Lng float64 `json:"lng"`
}

// Valid reports whether p is a finite position with lat in [-90, 90] and lng
// in [-180, 180], the only positions the API accepts.
func (p LatLng) Valid() bool {
	return validLat(p.Lat) && validLng(p.Lng)
}

func validLat(v float64) bool { return v >= -90 && v <= 90 } // false for NaN
func validLng(v float64) bool { return v >= -180 && v <= 180 }

// DistanceM returns the great-circle distance in metres between a and b on a
// sphere of radius EarthRadiusM (haversine formula, which stays accurate for
// the short distances that matter here).
func DistanceM(a, b LatLng) float64 {
	la, lb := a.Lat*degToRad, b.Lat*degToRad
	return haversineM(la, math.Cos(la), a.Lng, lb, math.Cos(lb), b.Lng)
}

// haversineM is DistanceM with the first point's latitude (radians) and its
// cosine precomputed. Region.Contains uses it with the same operations as
// DistanceM so that Contains(p) == (DistanceM(centre, p) <= radius) bit for
// bit. Latitudes are in radians, longitudes in degrees.
func haversineM(lat1, cos1, lng1, lat2, cos2, lng2 float64) float64 {
	s1 := math.Sin((lat2 - lat1) / 2)
	s2 := math.Sin((lng2 - lng1) * degToRad / 2)
	h := s1*s1 + cos1*cos2*s2*s2
	if h > 1 {
		h = 1
	}
	return 2 * EarthRadiusM * math.Asin(math.Sqrt(h))
}
