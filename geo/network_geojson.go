package geo

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// netData is a network's features as decoded, before rasterization.
type netData struct {
	lim        netLimits
	roads      []netRoad
	waterways  []netWaterway
	waterAreas []netWaterArea
	fords      []netFord
	places     []netPlace
	stats      NetworkStats
	lineM      float64
}

type netRoad struct {
	class  string
	name   string // "" if none
	speeds speeds
	cross  modeMask // modes that pass water on it: a bridge, tunnel or ford way
	bridge bool     // bridge=*
	tunnel bool     // tunnel=* (passes water like a bridge)
	ford   string   // "", "yes" or "stepping_stones"
	lines  [][]LatLng
}

// netWaterway is a waterway line feature.
type netWaterway struct {
	class string // river, stream, canal or drain
	name  string
	lines [][]LatLng
}

// netWaterArea is a water-area feature.
type netWaterArea struct {
	name  string
	polys [][][]LatLng // each: outer ring, then holes; rings without the closing point
}

// netPlace is a named place point (place=village, hamlet...).
type netPlace struct {
	class string
	name  string
	p     LatLng
}

type netFord struct {
	p     LatLng
	modes modeMask
}

type rawFeature struct {
	Type       string                     `json:"type"`
	Geometry   *rawGeometry               `json:"geometry"`
	Properties map[string]json.RawMessage `json:"properties"`
}

type rawGeometry struct {
	Type        string          `json:"type"`
	Coordinates json.RawMessage `json:"coordinates"`
}

// netLimits are ParseNetwork's limits; tests lower them.
type netLimits struct {
	bytes, features, points int
	lineKm                  float64
	cells                   int
}

var defaultLimits = netLimits{MaxNetworkBytes, MaxNetworkFeatures, MaxNetworkPoints, MaxNetworkLineKm, MaxNetworkCells}

// decodeNetwork streams the FeatureCollection feature by feature, so memory
// follows what is kept (compact coordinates), not the JSON text.
func decodeNetwork(r io.Reader, lim netLimits) (*netData, error) {
	lr := &io.LimitedReader{R: r, N: int64(lim.bytes) + 1}
	d := &netData{lim: lim}
	err := d.decode(json.NewDecoder(lr))
	if lr.N <= 0 {
		return nil, tooLarge("body", "more than %d bytes", lim.bytes)
	}
	if err != nil {
		return nil, err
	}
	return d, nil
}

func (d *netData) decode(dec *json.Decoder) error {
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return badNetwork("body", "must be a GeoJSON FeatureCollection object")
	}
	sawFeatures := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return badNetwork("body", "%v", err)
		}
		switch key, _ := tok.(string); key {
		case "type":
			var s string
			if err := dec.Decode(&s); err != nil || s != "FeatureCollection" {
				return badNetwork("type", `must be "FeatureCollection"`)
			}
		case "features":
			if err := d.decodeFeatures(dec); err != nil {
				return err
			}
			sawFeatures = true
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return badNetwork(key, "%v", err)
			}
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return badNetwork("body", "%v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return badNetwork("body", "unexpected data after the FeatureCollection")
	}
	if !sawFeatures {
		return badNetwork("features", "missing")
	}
	return nil
}

func (d *netData) decodeFeatures(dec *json.Decoder) error {
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return badNetwork("features", "must be an array")
	}
	i := 0
	for dec.More() {
		field := "features[" + strconv.Itoa(i) + "]"
		if i >= d.lim.features {
			return tooLarge("features", "more than %d features", d.lim.features)
		}
		var f rawFeature
		if err := dec.Decode(&f); err != nil {
			return badNetwork(field, "%v", err)
		}
		if err := d.add(field, &f); err != nil {
			return err
		}
		i++
	}
	if _, err := dec.Token(); err != nil {
		return badNetwork("features", "%v", err)
	}
	d.stats.Features = i
	return nil
}

// tags reads OSM tags from a feature's properties or their "tags" object.
// The first malformed value read is kept in err.
type tags struct {
	top, nested map[string]json.RawMessage
	field       string
	err         error
}

func (t *tags) get(k string) string { return t.read(k, tagString) }

// text reads a tag as written (case kept, spaces trimmed), for names.
func (t *tags) text(k string) string { return t.read(k, tagText) }

func (t *tags) read(k string, conv func(json.RawMessage) (string, bool)) string {
	raw, ok := t.top[k]
	where := t.field + ".properties." + k
	if !ok {
		raw, ok = t.nested[k]
		where = t.field + ".properties.tags." + k
	}
	if !ok {
		return ""
	}
	s, ok := conv(raw)
	if !ok && t.err == nil {
		t.err = badNetwork(where, "must be a string, true, false or a number")
	}
	return s
}

// maxNameRunes bounds a feature's name as kept: names are display data.
const maxNameRunes = 100

// name is the name of a feature people would read: name, or name:zh when
// name is missing or has no Chinese character (a name in pinyin or
// English where name:zh gives the Chinese), or for a road its ref (G320,
// X201: many county roads have no other name); cut to maxNameRunes.
func (t *tags) name(road bool) string {
	n := t.text("name")
	if zh := t.text("name:zh"); zh != "" && !hasHan(n) {
		n = zh
	}
	if n == "" && road {
		n = t.text("ref")
	}
	if utf8.RuneCountInString(n) > maxNameRunes {
		n = strings.TrimSpace(string([]rune(n)[:maxNameRunes]))
	}
	return n
}

func hasHan(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}

// tagText is a tag value as written, trimmed: a string, a number's text,
// true and false as yes and no.
func tagText(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return "", false
		}
		return strings.TrimSpace(s), true
	}
	return tagString(raw)
}

// tagString is a tag value as OSM would write it, lower case (the values
// compared are all lower case in OSM).
func tagString(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "", false
	}
	switch c := raw[0]; {
	case c == '"':
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return "", false
		}
		return strings.ToLower(strings.TrimSpace(s)), true
	case string(raw) == "true":
		return "yes", true
	case string(raw) == "false":
		return "no", true
	case string(raw) == "null":
		return "", true
	case c == '-' || (c >= '0' && c <= '9'):
		return string(raw), true
	}
	return "", false
}

// yes reports an OSM yes-like value: anything set but "no" (bridge=viaduct,
// ford=stepping_stones, tunnel=culvert...).
func yes(v string) bool { return v != "" && v != "no" }

var waterwayLines = map[string]bool{"river": true, "stream": true, "canal": true, "drain": true}

// placeClasses are the place=* values of named place points kept for
// NearestPlace: settlements and named localities.
var placeClasses = map[string]bool{"city": true, "town": true, "village": true, "hamlet": true,
	"isolated_dwelling": true, "neighbourhood": true, "suburb": true, "locality": true}

// add classifies one feature and keeps what the network uses.
func (d *netData) add(field string, f *rawFeature) error {
	if f.Type != "Feature" {
		return badNetwork(field+".type", `must be "Feature"`)
	}
	t := &tags{top: f.Properties, field: field}
	if raw, ok := f.Properties["tags"]; ok && string(bytes.TrimSpace(raw)) != "null" {
		if err := json.Unmarshal(raw, &t.nested); err != nil {
			return badNetwork(field+".properties.tags", "must be an object")
		}
	}
	gt := ""
	if f.Geometry != nil {
		gt = f.Geometry.Type
	}
	line := gt == "LineString" || gt == "MultiLineString"
	poly := gt == "Polygon" || gt == "MultiPolygon"
	hw, ww := t.get("highway"), t.get("waterway")
	ford := t.get("ford")
	sp, road := roadSpeeds[hw]
	var err error
	switch {
	case t.err != nil:
		return t.err
	case road && line:
		sp = sp.access(t.get)
		r := netRoad{class: hw, name: t.name(true), speeds: sp}
		r.bridge, r.tunnel = yes(t.get("bridge")), yes(t.get("tunnel"))
		if r.bridge || r.tunnel {
			r.cross = sp.modes()
			d.stats.Bridges++
		}
		switch {
		case ford == "stepping_stones":
			r.cross |= sp.modes() & (1<<mWalk | 1<<mBike)
			r.ford = ford
			d.stats.Fords++
		case yes(ford):
			r.cross |= sp.modes()
			r.ford = "yes"
			d.stats.Fords++
		}
		if r.lines, err = d.lines(f.Geometry, field); err == nil {
			d.roads = append(d.roads, r)
			d.stats.Roads++
		}
	case gt == "Point" && yes(ford):
		mm := allModes
		if ford == "stepping_stones" {
			mm = 1<<mWalk | 1<<mBike
		}
		var p LatLng
		if p, err = d.point(f.Geometry, field); err == nil {
			d.fords = append(d.fords, netFord{p, mm})
			d.stats.Fords++
		}
	case waterwayLines[ww] && line && !yes(t.get("tunnel")):
		w := netWaterway{class: ww, name: t.name(false)}
		if w.lines, err = d.lines(f.Geometry, field); err == nil {
			d.waterways = append(d.waterways, w)
			d.stats.WaterLines++
		}
	case poly && (t.get("natural") == "water" || ww == "riverbank" || t.get("landuse") == "reservoir"):
		a := netWaterArea{name: t.name(false)}
		if a.polys, err = d.polygons(f.Geometry, field); err == nil {
			d.waterAreas = append(d.waterAreas, a)
			d.stats.WaterAreas++
		}
	case gt == "Point" && placeClasses[t.get("place")] && t.name(false) != "":
		pl := netPlace{class: t.get("place"), name: t.name(false)}
		if pl.p, err = d.point(f.Geometry, field); err == nil {
			d.places = append(d.places, pl)
			d.stats.Places++
		}
	default:
		d.stats.Ignored++
	}
	if err == nil {
		err = t.err
	}
	return err
}

// coords reads one geometry's coordinates token by token, counting points
// against MaxNetworkPoints as it goes.
type coords struct {
	d     *netData
	dec   *json.Decoder
	field string
}

func (d *netData) coords(g *rawGeometry, field string) (*coords, error) {
	field += ".geometry.coordinates"
	if len(g.Coordinates) == 0 || string(g.Coordinates) == "null" {
		return nil, badNetwork(field, "missing")
	}
	return &coords{d: d, dec: json.NewDecoder(bytes.NewReader(g.Coordinates)), field: field}, nil
}

func (c *coords) open(field string) error {
	if tok, err := c.dec.Token(); err != nil || tok != json.Delim('[') {
		return badNetwork(field, "must be an array")
	}
	return nil
}

// each calls fn for every element of an array, with the element's field path.
func (c *coords) each(field string, fn func(field string) error) error {
	if err := c.open(field); err != nil {
		return err
	}
	for i := 0; c.dec.More(); i++ {
		if err := fn(field + "[" + strconv.Itoa(i) + "]"); err != nil {
			return err
		}
	}
	if _, err := c.dec.Token(); err != nil {
		return badNetwork(field, "%v", err)
	}
	return nil
}

func (c *coords) position(field string) (LatLng, error) {
	var v [2]float64
	n := 0
	err := c.each(field, func(string) error {
		tok, err := c.dec.Token()
		x, ok := tok.(float64)
		if err != nil || !ok {
			return badNetwork(field, "must be [longitude, latitude] numbers")
		}
		if n < 2 {
			v[n] = x
		}
		n++
		return nil
	})
	if err != nil {
		return LatLng{}, err
	}
	if n < 2 {
		return LatLng{}, badNetwork(field, "must be [longitude, latitude]")
	}
	p := LatLng{Lat: v[1], Lng: v[0]}
	if !validLng(p.Lng) || !validLat(p.Lat) {
		return LatLng{}, badNetwork(field, "longitude must be in [-180, 180] and latitude in [-90, 90]")
	}
	if c.d.stats.Points++; c.d.stats.Points > c.d.lim.points {
		return LatLng{}, tooLarge(field, "more than %d points", c.d.lim.points)
	}
	return p, nil
}

// path reads an array of positions; ring says it is a polygon ring (closed,
// returned without the closing point).
func (c *coords) path(field string, ring bool) ([]LatLng, error) {
	var pts []LatLng
	err := c.each(field, func(f string) error {
		p, err := c.position(f)
		if err != nil {
			return err
		}
		if n := len(pts); n > 0 {
			if math.Abs(p.Lng-pts[n-1].Lng) > 180 {
				return badNetwork(f, "the segment from the previous position crosses the antimeridian")
			}
			c.d.lineM += DistanceM(pts[n-1], p)
			if c.d.lineM > c.d.lim.lineKm*1000 {
				return tooLarge(f, "roads and water longer than %.0f km in total", c.d.lim.lineKm)
			}
		}
		pts = append(pts, p)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !ring {
		if len(pts) < 2 {
			return nil, badNetwork(field, "a line needs at least 2 positions")
		}
		return pts, nil
	}
	if n := len(pts); n > 1 && pts[0] == pts[n-1] {
		pts = pts[:n-1]
	}
	if len(pts) < 3 {
		return nil, badNetwork(field, "a ring needs at least 3 distinct positions")
	}
	return pts, nil
}

func (d *netData) point(g *rawGeometry, field string) (LatLng, error) {
	c, err := d.coords(g, field)
	if err != nil {
		return LatLng{}, err
	}
	return c.position(c.field)
}

func (d *netData) lines(g *rawGeometry, field string) ([][]LatLng, error) {
	c, err := d.coords(g, field)
	if err != nil {
		return nil, err
	}
	if g.Type == "LineString" {
		l, err := c.path(c.field, false)
		return [][]LatLng{l}, err
	}
	var out [][]LatLng
	err = c.each(c.field, func(f string) error {
		l, err := c.path(f, false)
		out = append(out, l)
		return err
	})
	return out, err
}

func (d *netData) polygons(g *rawGeometry, field string) ([][][]LatLng, error) {
	c, err := d.coords(g, field)
	if err != nil {
		return nil, err
	}
	polygon := func(f string) ([][]LatLng, error) {
		var rings [][]LatLng
		err := c.each(f, func(f string) error {
			r, err := c.path(f, true)
			rings = append(rings, r)
			return err
		})
		if err == nil && len(rings) == 0 {
			err = badNetwork(f, "a polygon needs an outer ring")
		}
		return rings, err
	}
	if g.Type == "Polygon" {
		p, err := polygon(c.field)
		return [][][]LatLng{p}, err
	}
	var out [][][]LatLng
	err = c.each(c.field, func(f string) error {
		p, err := polygon(f)
		out = append(out, p)
		return err
	})
	return out, err
}
