package geo

import (
	"fmt"
	"math"
	"strconv"
)

// Limits and defaults of docs/API.md's area object.
const (
	MaxRadiusM       = 100000 // a circle's radius_m is at most 100 km
	MaxPolygonPoints = 1000   // distinct vertices, the closing point not counted
	MaxReachMinutes  = 180
	MaxVillages      = 1000 // distinct village ids
	DefaultReachMins = 15
	DefaultReachMode = ModeWalk
	minPolygonPoints = 3
)

// Reach modes and their straight-line speeds (docs/API.md); ModeMotorbike
// (30 km/h) is declared with the network's modes in network_speed.go.
const (
	ModeWalk  = "walk"  // 5 km/h
	ModeBike  = "bike"  // 15 km/h
	ModeDrive = "drive" // 40 km/h

	walkSpeedKmH      = 5.0
	bikeSpeedKmH      = 15.0
	motorbikeSpeedKmH = 30.0
	driveSpeedKmH     = 40.0
)

// Area is docs/API.md's area object; exactly one field is set.
type Area struct {
	Circle   *Circle     `json:"circle,omitempty"`
	Polygon  [][]float64 `json:"polygon,omitempty"` // [[lat,lng],...]
	Reach    *Reach      `json:"reach,omitempty"`
	Villages []string    `json:"villages,omitempty"`
	// Union is every position inside any of its parts, each a circle or a
	// polygon (a CAP <area> of several shapes; see union.go).
	Union []Area `json:"union,omitempty"`
}

// Circle is every position within RadiusM metres (great-circle) of a centre.
type Circle struct {
	Lat     float64 `json:"lat"`
	Lng     float64 `json:"lng"`
	RadiusM float64 `json:"radius_m"`
}

// Reach is everyone who can reach a point within Minutes travelling by Mode,
// taken as a circle of radius ReachRadiusM(Minutes, Mode), or, compiled over
// a travel network (Network.Compile), as the cells of its isochrone.
type Reach struct {
	Lat     float64 `json:"lat"`
	Lng     float64 `json:"lng"`
	Minutes float64 `json:"minutes,omitempty"`
	Mode    string  `json:"mode,omitempty"`
}

// FieldError is a validation error naming the offending field with its JSON
// path (for example "area.circle.radius_m" or "area.polygon[3]"), so the API
// can answer a bad_request that tells the client exactly what to fix.
type FieldError struct{ Field, Msg string }

// Error implements error.
func (e FieldError) Error() string { return e.Field + ": " + e.Msg }

func fieldErr(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Normalize validates the area and fills defaults (reach: minutes 15, mode
// "walk"; villages: duplicates removed, first occurrence kept). It returns a
// *FieldError for anything wrong. A polygon is left as given (either
// direction, closing point or not); Compile accepts both.
func (a *Area) Normalize() error {
	if _, err := a.check(); err != nil {
		return err
	}
	return nil
}

// Geographic reports whether the area is a place (circle, polygon or reach)
// rather than a list of villages, that is whether it can be compiled into a
// Region and matched against positions.
func (a Area) Geographic() bool {
	return a.Circle != nil || a.Polygon != nil || a.Reach != nil || a.Union != nil
}

// ReachRadiusM returns the distance covered in minutes by mode: walk 5 km/h,
// bike 15 km/h, motorbike 30 km/h, drive 40 km/h; an empty mode is walk. An
// unknown mode or a non-positive duration gives 0.
func ReachRadiusM(minutes float64, mode string) float64 {
	if !(minutes > 0) {
		return 0
	}
	var kmh float64
	switch mode {
	case "", ModeWalk:
		kmh = walkSpeedKmH
	case ModeBike:
		kmh = bikeSpeedKmH
	case ModeMotorbike:
		kmh = motorbikeSpeedKmH
	case ModeDrive:
		kmh = driveSpeedKmH
	default:
		return 0
	}
	return kmh * 1000 / 60 * minutes
}

// check is Normalize; it also returns the parsed polygon ring (without the
// closing point) so Compile does not parse it twice.
func (a *Area) check() ([]LatLng, error) {
	n := 0
	for _, set := range []bool{a.Circle != nil, a.Polygon != nil, a.Reach != nil, a.Villages != nil, a.Union != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return nil, fieldErr("area", "exactly one of circle, polygon, reach, villages or union must be set")
	}
	switch {
	case a.Circle != nil:
		c := a.Circle
		if err := checkLatLng("area.circle", c.Lat, c.Lng); err != nil {
			return nil, err
		}
		if !(c.RadiusM > 0 && c.RadiusM <= MaxRadiusM) {
			return nil, fieldErr("area.circle.radius_m", "must be in (0, %d]", MaxRadiusM)
		}
	case a.Reach != nil:
		r := a.Reach
		if err := checkLatLng("area.reach", r.Lat, r.Lng); err != nil {
			return nil, err
		}
		if r.Minutes == 0 {
			r.Minutes = DefaultReachMins
		}
		if !(r.Minutes > 0 && r.Minutes <= MaxReachMinutes) {
			return nil, fieldErr("area.reach.minutes", "must be in (0, %d]", MaxReachMinutes)
		}
		switch r.Mode {
		case "":
			r.Mode = DefaultReachMode
		case ModeWalk, ModeBike, ModeMotorbike, ModeDrive:
		default:
			return nil, fieldErr("area.reach.mode", "must be walk, bike, motorbike or drive")
		}
	case a.Polygon != nil:
		return checkPolygon(a.Polygon)
	case a.Villages != nil:
		if err := a.checkVillages(); err != nil {
			return nil, err
		}
	case a.Union != nil:
		if err := a.checkUnion(); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

func checkLatLng(field string, lat, lng float64) *FieldError {
	if !validLat(lat) {
		return fieldErr(field+".lat", "must be a number in [-90, 90]")
	}
	if !validLng(lng) {
		return fieldErr(field+".lng", "must be a number in [-180, 180]")
	}
	return nil
}

func (a *Area) checkVillages() *FieldError {
	if len(a.Villages) == 0 {
		return fieldErr("area.villages", "must name at least one village")
	}
	seen := make(map[string]struct{}, len(a.Villages))
	out := a.Villages[:0:0]
	for i, id := range a.Villages {
		if id == "" {
			return fieldErr("area.villages["+strconv.Itoa(i)+"]", "must not be empty")
		}
		if _, dup := seen[id]; dup {
			continue
		}
		seen[id] = struct{}{}
		out = append(out, id)
	}
	if len(out) > MaxVillages {
		return fieldErr("area.villages", "at most %d villages", MaxVillages)
	}
	a.Villages = out
	return nil
}

// checkPolygon validates a ring and returns it without its closing point.
func checkPolygon(pts [][]float64) ([]LatLng, error) {
	if len(pts) > MaxPolygonPoints+1 {
		return nil, fieldErr("area.polygon", "at most %d points", MaxPolygonPoints)
	}
	ring := make([]LatLng, len(pts))
	for i, pt := range pts {
		field := "area.polygon[" + strconv.Itoa(i) + "]"
		if len(pt) != 2 {
			return nil, fieldErr(field, "must be [lat, lng]")
		}
		if !validLat(pt[0]) {
			return nil, fieldErr(field, "lat must be a number in [-90, 90]")
		}
		if !validLng(pt[1]) {
			return nil, fieldErr(field, "lng must be a number in [-180, 180]")
		}
		ring[i] = LatLng{pt[0], pt[1]}
	}
	if n := len(ring); n > 1 && ring[0] == ring[n-1] {
		ring = ring[:n-1]
	}
	n := len(ring)
	if n < minPolygonPoints {
		return nil, fieldErr("area.polygon", "needs at least %d distinct points", minPolygonPoints)
	}
	if n > MaxPolygonPoints {
		return nil, fieldErr("area.polygon", "at most %d points", MaxPolygonPoints)
	}
	for i := range n {
		j := (i + 1) % n
		field := "area.polygon[" + strconv.Itoa(j) + "]"
		if ring[i] == ring[j] {
			return nil, fieldErr(field, "repeats the previous point")
		}
		if math.Abs(ring[j].Lng-ring[i].Lng) > 180 {
			return nil, fieldErr(field, "edge from the previous point crosses the antimeridian (more than 180 degrees of longitude)")
		}
	}
	if ringArea2(ring) == 0 {
		return nil, fieldErr("area.polygon", "has zero area")
	}
	if i, j, bad := selfIntersection(ring); bad {
		return nil, fieldErr("area.polygon", "is not simple: edge %d-%d touches edge %d-%d", i, (i+1)%n, j, (j+1)%n)
	}
	return ring, nil
}
