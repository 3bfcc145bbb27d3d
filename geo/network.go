package geo

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"

	h3 "github.com/uber/h3-go/v4"
)

// Errors of ParseNetwork, wrapped together with a *FieldError naming the
// feature and field where there is one (errors.Is and errors.As both work).
var (
	ErrBadNetwork      = errors.New("geo: bad travel network")
	ErrNetworkTooLarge = errors.New("geo: travel network too large")
)

// Limits of ParseNetwork, so that an upload, hostile or mistaken, cannot
// exhaust memory or time. A real county fits easily: Longyou (1,143 km²) has
// a few tens of thousands of OSM ways with a few hundred thousand points and
// some thousands of km of roads and streams.
//
//   - MaxNetworkBytes: the GeoJSON text.
//   - MaxNetworkFeatures: features in the collection, used or ignored.
//   - MaxNetworkPoints: positions of the features used (roads, water, fords).
//   - MaxNetworkLineKm: total length of roads, waterways and water-area
//     boundaries; rasterizing costs one H3 lookup per 20 m (~1.4 µs), so
//     20,000 km take about 1.4 s.
//   - MaxNetworkCells: resolution-10 cells of the network's grid (its
//     bounding box plus a margin of networkMarginM on each side), at about
//     100 bytes each, so at most ~50 MB: about 7,500 km², for instance
//     85 x 85 km.
const (
	MaxNetworkBytes    = 32 << 20
	MaxNetworkFeatures = 200_000
	MaxNetworkPoints   = 2_000_000
	MaxNetworkLineKm   = 20_000
	MaxNetworkCells    = 500_000
)

// Network is a travel network built from GeoJSON: roads with their class,
// waterways and water areas, bridges and fords, rasterized into H3 cells at
// NetworkRes for travel-time isochrones; and the names of roads, water and
// places, for NearestPlace and the map (Features). It is immutable (but for
// its isochrone cache and what it builds lazily, once) and safe for
// concurrent use. A nil *Network is valid and means "no network":
// Isochrone returns nil, Compile gives the straight-line circle,
// NearestPlace finds nothing and Features is nil.
type Network struct {
	version string
	stats   NetworkStats
	g       *grid
	data    *netData // the features as read, for NearestPlace and Features

	placesOnce   sync.Once
	places       *placeIndex
	featuresOnce sync.Once
	features     []byte

	cache   isoCache
	scratch sync.Pool // *scratch, one per concurrent search
}

// NetworkStats describes what ParseNetwork found and built.
type NetworkStats struct {
	Features   int `json:"features"`    // in the collection
	Ignored    int `json:"ignored"`     // features neither road, water, ford nor named place (buildings, unknown highway classes, ...)
	Roads      int `json:"roads"`       // highway features used
	Bridges    int `json:"bridges"`     // roads tagged bridge (or tunnel, which also passes water)
	Fords      int `json:"fords"`       // ford ways and ford points
	WaterLines int `json:"water_lines"` // waterway lines (river, stream, canal, drain)
	WaterAreas int `json:"water_areas"` // water polygons
	Places     int `json:"places"`      // named place points (place=village, hamlet, ...)
	Points     int `json:"points"`      // positions used

	LineKm float64 `json:"line_km"` // length of roads, waterways and water-area boundaries

	Cells        int `json:"cells"`         // grid cells at NetworkRes
	RoadCells    int `json:"road_cells"`    // cells some road crosses
	WetCells     int `json:"wet_cells"`     // cells whose centre is in a water area
	BlockedEdges int `json:"blocked_edges"` // neighbour pairs water separates (for walking)

	South float64 `json:"south"` // bounding box of the features, degrees
	West  float64 `json:"west"`
	North float64 `json:"north"`
	East  float64 `json:"east"`
}

// ParseNetwork reads a GeoJSON FeatureCollection (as exported from
// OpenStreetMap by overpass-turbo, osmtogeojson or QGIS, or written by a
// county survey) and builds the travel network. What it reads, per feature:
//
//   - roads: LineString or MultiLineString with highway=<class> (classes and
//     speeds in roadSpeeds; an unknown class is ignored); bridge=<anything
//     but no> or tunnel=<anything but no> lets the road pass water, as does
//     ford=yes (ford=stepping_stones: on foot or carrying a bike);
//   - fords: a Point with ford=yes|stepping_stones (OSM maps most fords as a
//     node where a road meets a waterway);
//   - waterways: LineString or MultiLineString with waterway=river, stream,
//     canal or drain, unless tunnel=<anything but no> (a culvert);
//   - water areas: Polygon or MultiPolygon with natural=water,
//     waterway=riverbank or landuse=reservoir;
//   - places: a Point with place=city, town, village, hamlet,
//     isolated_dwelling, neighbourhood, suburb or locality and a name (for
//     NearestPlace; they play no part in travel).
//
// Roads, waterways and water areas keep their name too (name, or name:zh
// when name has no Chinese; for roads, ref when there is no name): see
// tags.name.
//
// Tags are read from the properties, or from a "tags" object inside them
// (older osmtogeojson); string values as OSM writes them, and for a survey's
// convenience true/false as yes/no and numbers as their text. Any other
// feature is counted in Stats().Ignored and not looked at further.
// Coordinates are GeoJSON's [longitude, latitude], an altitude ignored.
//
// A malformed input fails with an error wrapping ErrBadNetwork and a
// *FieldError whose Field names the place, such as
// "features[12].geometry.coordinates[3]"; input over the limits above fails
// with ErrNetworkTooLarge (and a *FieldError).
func ParseNetwork(r io.Reader) (*Network, error) {
	return parseNetwork(r, defaultLimits)
}

func parseNetwork(r io.Reader, lim netLimits) (*Network, error) {
	d, err := decodeNetwork(r, lim)
	if err != nil {
		return nil, err
	}
	return buildNetwork(d)
}

// ParseNetworkBytes is ParseNetwork on a byte slice.
func ParseNetworkBytes(b []byte) (*Network, error) {
	return ParseNetwork(bytes.NewReader(b))
}

// Version identifies the network's content: a hash of the features it uses
// (their kind, tags that matter, names and coordinates, and the named
// places), so the same data uploaded twice, reformatted or with other
// features around it, has the same version, and a renamed road makes a new
// one (names are shown to people). "" for a nil network.
func (n *Network) Version() string {
	if n == nil {
		return ""
	}
	return n.version
}

// Stats describes the network; zero for a nil network.
func (n *Network) Stats() NetworkStats {
	if n == nil {
		return NetworkStats{}
	}
	return n.stats
}

// Covers reports whether isochrones from p are computed on the network: p is
// valid and inside the network's grid, away from its outer margin. Where it
// does not, callers fall back to the straight-line circle.
func (n *Network) Covers(p LatLng) bool {
	if n == nil || !p.Valid() {
		return false
	}
	i := n.g.index(h3.LatLngToCell(h3.LatLng(p), NetworkRes))
	return i >= 0 && n.g.flags[i]&cellWall == 0
}

func badNetwork(field, format string, args ...any) error {
	return fmt.Errorf("%w: %w", ErrBadNetwork, fieldErr(field, format, args...))
}

func tooLarge(field, format string, args ...any) error {
	return fmt.Errorf("%w: %w", ErrNetworkTooLarge, fieldErr(field, format, args...))
}
