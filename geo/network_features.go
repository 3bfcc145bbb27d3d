package geo

import (
	"encoding/json"
	"strconv"
)

// Features returns the features the network uses as a GeoJSON
// FeatureCollection, for the command center's map to draw as a layer:
//
//   - roads: {"kind":"road","highway":"<class>","name":...,"bridge":true,
//     "tunnel":true,"ford":"yes"|"stepping_stones"} (name and flags only
//     when set; "foot", "bicycle", "motorcycle" or "motorcar":"no" where
//     the road is closed to a mode its class allows), LineString or
//     MultiLineString;
//   - waterways: {"kind":"water","waterway":"river|stream|canal|drain","name":...};
//   - water areas: {"kind":"water","natural":"water","name":...}, Polygon
//     or MultiPolygon, rings closed;
//   - fords: {"kind":"ford","ford":"yes"|"stepping_stones"}, Point;
//   - places: {"kind":"place","place":"<class>","name":...}, Point.
//
// The tags kept are those ParseNetwork reads, so the document parsed again
// is the same network (the same Version); coordinates are written exactly
// as read. It is built on the first call and shared: callers must not
// modify it. Nil for a nil network.
func (n *Network) Features() []byte {
	if n == nil {
		return nil
	}
	n.featuresOnce.Do(func() { n.features = n.data.featureCollection() })
	return n.features
}

// accessTags are the tags that close a road to each mode (see
// speeds.access), in mode order.
var accessTags = [numModes]string{"foot", "bicycle", "motorcycle", "motorcar"}

func (d *netData) featureCollection() []byte {
	w := &fcWriter{b: make([]byte, 0, 1<<16)}
	w.b = append(w.b, `{"type":"FeatureCollection","features":[`...)
	for _, r := range d.roads {
		w.begin("road")
		w.prop("highway", r.class)
		w.prop("name", r.name)
		if r.bridge {
			w.b = append(w.b, `,"bridge":true`...)
		}
		if r.tunnel {
			w.b = append(w.b, `,"tunnel":true`...)
		}
		w.prop("ford", r.ford)
		class := roadSpeeds[r.class]
		for m, tag := range accessTags {
			if class[m] > 0 && r.speeds[m] == 0 {
				w.prop(tag, "no")
			}
		}
		w.lines(r.lines)
	}
	for _, ww := range d.waterways {
		w.begin("water")
		w.prop("waterway", ww.class)
		w.prop("name", ww.name)
		w.lines(ww.lines)
	}
	for _, a := range d.waterAreas {
		w.begin("water")
		w.prop("natural", "water")
		w.prop("name", a.name)
		w.polygons(a.polys)
	}
	for _, f := range d.fords {
		w.begin("ford")
		if f.modes == allModes {
			w.prop("ford", "yes")
		} else {
			w.prop("ford", "stepping_stones")
		}
		w.point(f.p)
	}
	for _, p := range d.places {
		w.begin("place")
		w.prop("place", p.class)
		w.prop("name", p.name)
		w.point(p.p)
	}
	w.b = append(w.b, "]}"...)
	return w.b
}

type fcWriter struct {
	b []byte
	n int
}

func (w *fcWriter) begin(kind string) {
	if w.n > 0 {
		w.b = append(w.b, ',')
	}
	w.n++
	w.b = append(w.b, `{"type":"Feature","properties":{"kind":"`...)
	w.b = append(w.b, kind...)
	w.b = append(w.b, '"')
}

// prop writes a string property, unless empty.
func (w *fcWriter) prop(k, v string) {
	if v == "" {
		return
	}
	w.b = append(w.b, ",\""...)
	w.b = append(w.b, k...)
	w.b = append(w.b, "\":"...)
	s, _ := json.Marshal(v) // a string always marshals
	w.b = append(w.b, s...)
}

func (w *fcWriter) geometry(typ string) {
	w.b = append(w.b, `},"geometry":{"type":"`...)
	w.b = append(w.b, typ...)
	w.b = append(w.b, `","coordinates":`...)
}

func (w *fcWriter) end() { w.b = append(w.b, "}}"...) }

func (w *fcWriter) pos(p LatLng) {
	w.b = append(w.b, '[')
	w.b = strconv.AppendFloat(w.b, p.Lng, 'g', -1, 64) // exact, and short
	w.b = append(w.b, ',')
	w.b = strconv.AppendFloat(w.b, p.Lat, 'g', -1, 64)
	w.b = append(w.b, ']')
}

// path writes positions; closed repeats the first at the end (a ring).
func (w *fcWriter) path(l []LatLng, closed bool) {
	w.b = append(w.b, '[')
	for i, p := range l {
		if i > 0 {
			w.b = append(w.b, ',')
		}
		w.pos(p)
	}
	if closed {
		w.b = append(w.b, ',')
		w.pos(l[0])
	}
	w.b = append(w.b, ']')
}

func (w *fcWriter) point(p LatLng) {
	w.geometry("Point")
	w.pos(p)
	w.end()
}

func (w *fcWriter) lines(ls [][]LatLng) {
	if len(ls) == 1 {
		w.geometry("LineString")
		w.path(ls[0], false)
	} else {
		w.geometry("MultiLineString")
		w.b = append(w.b, '[')
		for i, l := range ls {
			if i > 0 {
				w.b = append(w.b, ',')
			}
			w.path(l, false)
		}
		w.b = append(w.b, ']')
	}
	w.end()
}

func (w *fcWriter) polygon(rings [][]LatLng) {
	w.b = append(w.b, '[')
	for i, r := range rings {
		if i > 0 {
			w.b = append(w.b, ',')
		}
		w.path(r, true)
	}
	w.b = append(w.b, ']')
}

func (w *fcWriter) polygons(ps [][][]LatLng) {
	if len(ps) == 1 {
		w.geometry("Polygon")
		w.polygon(ps[0])
	} else {
		w.geometry("MultiPolygon")
		w.b = append(w.b, '[')
		for i, p := range ps {
			if i > 0 {
				w.b = append(w.b, ',')
			}
			w.polygon(p)
		}
		w.b = append(w.b, ']')
	}
	w.end()
}
