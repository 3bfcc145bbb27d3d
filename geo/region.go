package geo

import (
	"errors"
	"math"
	"slices"
)

// ErrNotGeographic is returned by Compile for a villages area, which selects
// members by registration, not by position.
var ErrNotGeographic = errors.New("geo: area is not geographic")

// circleMarginM is the slack, in metres, between a cell's bound and a
// circle's radius before the cell is declared wholly inside or outside.
// Rounding in the chord computations is below a micrometre; one centimetre
// keeps classification safe whatever the rounding.
const circleMarginM = 0.01

// class is the position of a cell's extent relative to a region.
type class uint8

const (
	outside   class = iota // no point of the extent is in the region
	inside                 // every point of the extent is in the region
	straddles              // unknown: refine or test members one by one
)

// box is a latitude/longitude box in degrees. lngLo may be below -180 or
// lngHi above 180 when the box crosses the antimeridian; lngLo <= -180 and
// lngHi >= 180 together mean every longitude.
type box struct{ latLo, latHi, lngLo, lngHi float64 }

// cellGeo is a spherical cap that bounds a cell's extent, with what the
// classifiers need precomputed: for circles the centre as a unit vector and
// the half-angle's sine and cosine, so classifying a cell takes a chord
// length and a few multiplications instead of trigonometry; for polygons the
// cap's lat/lng bounding box.
type cellGeo struct {
	x, y, z  float64 // centre, unit vector
	beta     float64 // angular radius, radians
	sb, cb   float64 // sin(beta/2), cos(beta/2)
	box      box
	lat, lng float64 // centre, degrees
}

func newCellGeo(lat, lng, boundM float64) cellGeo {
	beta := boundM / EarthRadiusM
	x, y, z := unitVector(lat, lng)
	return cellGeo{x: x, y: y, z: z, beta: beta, sb: math.Sin(beta / 2), cb: math.Cos(beta / 2),
		box: capBox(lat, lng, boundM), lat: lat, lng: lng}
}

// boundM is the cap's radius in metres.
func (g *cellGeo) boundM() float64 { return g.beta * EarthRadiusM }

func unitVector(lat, lng float64) (x, y, z float64) {
	la, lo := lat*degToRad, lng*degToRad
	return math.Cos(la) * math.Cos(lo), math.Cos(la) * math.Sin(lo), math.Sin(la)
}

// capBox returns a lat/lng box holding every point within boundM metres of
// (lat, lng), padded by boxPadDeg. The latitude half-width of a cap of
// angular radius b is b; its longitude half-width is asin(sin b / cos lat),
// and a cap reaching a pole spans every longitude.
func capBox(lat, lng, boundM float64) box {
	beta := boundM / EarthRadiusM
	dLat := beta*radToDeg + boxPadDeg
	b := box{latLo: lat - dLat, latHi: lat + dLat, lngLo: -180, lngHi: 180}
	if b.latLo <= -90 || b.latHi >= 90 || beta >= math.Pi/2 {
		b.latLo, b.latHi = max(b.latLo, -90), min(b.latHi, 90)
		return b
	}
	s := math.Sin(beta) / math.Cos(lat*degToRad)
	if !(s < 1) {
		return b
	}
	dLng := math.Asin(s)*radToDeg + boxPadDeg
	if dLng >= 180 {
		return b
	}
	b.lngLo, b.lngHi = lng-dLng, lng+dLng
	return b
}

// Region is a compiled geographic area. It is immutable and safe for
// concurrent use.
type Region struct {
	area Area

	// circle and reach
	lat, lng       float64 // centre, degrees
	latR           float64
	sinLat, cosLat float64
	radiusM        float64
	cx, cy, cz     float64 // centre, unit vector
	// Angular radius widened and narrowed by circleMarginM, with the sine
	// and cosine of their halves, for classify.
	alphaOut, sOut, cOut float64
	alphaIn, sIn, cIn    float64
	// hIn and hOut bracket the haversine term h at distance radiusM, and
	// fast says Contains may evaluate h with polynomials; see Contains.
	hIn, hOut float64
	fast      bool

	pg *polygon // nil for a circle

	// iso is set for a reach compiled over a travel network (Network.Compile):
	// membership is then by cell, and the circle fields above hold a circle
	// around every reached cell, used only to skip far index cells.
	iso *Isochrone

	// parts is set for a union: the region is every point of any part.
	parts []*Region
}

// Compile validates a geographic area (it is normalized on a copy, so an
// unnormalized area is accepted too) and prepares it for Contains and Index
// queries.
func Compile(a Area) (*Region, error) {
	if a.Reach != nil {
		r := *a.Reach // Normalize fills defaults; never write the caller's copy
		a.Reach = &r
	}
	if a.Circle != nil {
		c := *a.Circle
		a.Circle = &c
	}
	if a.Union != nil {
		a.Union = slices.Clone(a.Union) // check copies each part's circle
	}
	ring, err := a.check()
	if err != nil {
		return nil, err
	}
	if !a.Geographic() {
		return nil, ErrNotGeographic
	}
	r := &Region{area: a}
	switch {
	case a.Union != nil:
		return compileUnion(a)
	case a.Circle != nil:
		r.setCircle(a.Circle.Lat, a.Circle.Lng, a.Circle.RadiusM)
	case a.Reach != nil:
		r.setCircle(a.Reach.Lat, a.Reach.Lng, ReachRadiusM(a.Reach.Minutes, a.Reach.Mode))
	default:
		r.area.Polygon = slices.Clone(a.Polygon)
		r.pg = newPolygon(ring)
	}
	return r, nil
}

func (r *Region) setCircle(lat, lng, radiusM float64) {
	r.lat, r.lng, r.radiusM = lat, lng, radiusM
	r.latR = lat * degToRad
	r.sinLat, r.cosLat = math.Sin(r.latR), math.Cos(r.latR)
	r.cx, r.cy, r.cz = unitVector(lat, lng)
	r.alphaOut = (radiusM + circleMarginM) / EarthRadiusM
	r.sOut, r.cOut = math.Sin(r.alphaOut/2), math.Cos(r.alphaOut/2)
	r.alphaIn = (radiusM - circleMarginM) / EarthRadiusM
	r.sIn, r.cIn = math.Sin(r.alphaIn/2), math.Cos(r.alphaIn/2)
	s := math.Sin(radiusM / (2 * EarthRadiusM))
	r.hIn, r.hOut = s*s*(1-hMargin), s*s*(1+hMargin)
	r.fast = math.Abs(lat) <= fastMaxLat
}

// Contains fast path. d <= radius is equivalent to h <= sin²(radius/2R) for
// the haversine term h, so a point whose h is clearly below or above that
// needs no sqrt or asin. Near the centre h can also be evaluated without
// calling sin and cos: with |dlat|, |dlng| <= fastMaxAngle radians, Taylor
// polynomials of the orders below are accurate to ~1e-16 relative, and with
// the centre at most fastMaxLat from the equator the member's cos(lat) stays
// above 0.08, so its relative error stays as small. Rounding adds ~1e-16.
// hMargin (1e-9 relative) dwarfs both, so whenever h is outside
// [hIn, hOut] the answer equals DistanceM(centre, p) <= radius exactly; inside
// that band, a few micrometres either side of the edge, Contains computes the
// distance just as DistanceM does.
const (
	hMargin      = 1e-9
	fastMaxAngle = 0.02 // radians, about 127 km
	fastMaxLat   = 80.0 // degrees
)

// Area returns the normalized area the region was compiled from.
func (r *Region) Area() Area { return r.area }

// Contains is the exact membership test of docs/API.md. For a circle or reach it
// is great-circle (haversine) distance <= radius, the same answer as
// DistanceM(centre, p) <= radius. For a polygon it is point-in-polygon with
// edges straight in lat/lng, where a point within 1e-9° of an edge (on it, up
// to rounding) is inside; lng -180 and 180 are the same meridian. For a
// reach over a travel network it is: p's NetworkRes cell is in the
// isochrone (Isochrone.Contains).
func (r *Region) Contains(p LatLng) bool {
	if r.parts != nil {
		return slices.ContainsFunc(r.parts, func(part *Region) bool { return part.Contains(p) })
	}
	if r.iso != nil {
		return r.iso.Contains(p)
	}
	if r.pg != nil {
		if r.pg.contains(p.Lat, p.Lng) {
			return true
		}
		switch p.Lng {
		case 180:
			return r.pg.contains(p.Lat, -180)
		case -180:
			return r.pg.contains(p.Lat, 180)
		}
		return false
	}
	la := p.Lat * degToRad
	dphi := la - r.latR
	dlam := (p.Lng - r.lng) * degToRad
	if r.fast && math.Abs(dphi) <= fastMaxAngle && math.Abs(dlam) <= fastMaxAngle {
		x, y, d2 := dphi/2, dlam/2, dphi*dphi
		s1 := x * (1 - x*x/6*(1-x*x/20*(1-x*x/42)))
		s2 := y * (1 - y*y/6*(1-y*y/20*(1-y*y/42)))
		cosd := 1 - d2/2*(1-d2/12*(1-d2/30*(1-d2/56)))
		sind := dphi * (1 - d2/6*(1-d2/20*(1-d2/42*(1-d2/72))))
		cos2 := r.cosLat*cosd - r.sinLat*sind // cos(lat) by the addition formula
		switch h := s1*s1 + r.cosLat*cos2*s2*s2; {
		case h < r.hIn:
			return true
		case h > r.hOut:
			return false
		}
	}
	return haversineM(r.latR, r.cosLat, r.lng, la, math.Cos(la), p.Lng) <= r.radiusM
}

// classify places a cell's bounding cap relative to the region. It may say
// straddles for a cap that is in fact inside or outside, never the reverse.
//
// For a circle of angular radius a and a cap of radius b whose centres are
// an angle t apart, the cap is outside if t > a+b and inside if t+b <= a.
// With the chord c = 2 sin(t/2) between the centres (exact from unit
// vectors, unlike an angle from a dot product) these read
// c² > 4 sin²((a+b)/2) and c² <= 4 sin²((a-b)/2), and the sines come from
// the precomputed half-angle sines and cosines by the addition formulas.
func (r *Region) classify(g *cellGeo) class {
	if r.parts != nil {
		return r.classifyUnion(g)
	}
	if r.pg != nil {
		return r.pg.classifyBox(g.box)
	}
	dx, dy, dz := g.x-r.cx, g.y-r.cy, g.z-r.cz
	c2 := dx*dx + dy*dy + dz*dz
	if r.alphaOut+g.beta < math.Pi {
		s := r.sOut*g.cb + r.cOut*g.sb
		if c2 > 4*s*s {
			return outside
		}
	}
	if r.alphaIn > g.beta {
		s := r.sIn*g.cb - r.cIn*g.sb
		if c2 <= 4*s*s {
			return inside
		}
	}
	return straddles
}

// perimeterM is the length of the region's boundary, used to pick the
// resolution of the preview cover.
func (r *Region) perimeterM() float64 {
	if r.parts != nil {
		s := 0.0
		for _, part := range r.parts {
			s += part.perimeterM()
		}
		return s
	}
	if r.pg == nil {
		return 2 * math.Pi * r.radiusM
	}
	s := 0.0
	for e := range r.pg.xs {
		x1, y1, x2, y2 := r.pg.edge(e)
		s += DistanceM(LatLng{y1, x1}, LatLng{y2, x2})
	}
	return s
}
