package geo

import (
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
)

// fc returns the features built on d as a FeatureCollection.
func fc(t testing.TB, d *demo) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"type": "FeatureCollection", "features": d.features})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustNetwork(t testing.TB, b []byte) *Network {
	t.Helper()
	n, err := ParseNetworkBytes(b)
	if err != nil {
		t.Fatalf("ParseNetwork: %v", err)
	}
	return n
}

// A road around the county centre, in GeoJSON, for the error cases.
const okRoad = `{"type":"Feature","properties":{"highway":"residential"},"geometry":{"type":"LineString","coordinates":[[119.17,29.03],[119.18,29.03]]}}`

func collection(features ...string) string {
	return `{"type":"FeatureCollection","features":[` + strings.Join(features, ",") + `]}`
}

func feature(props, geomType, coords string) string {
	return `{"type":"Feature","properties":` + props + `,"geometry":{"type":"` + geomType + `","coordinates":` + coords + `}}`
}

func TestParseNetworkErrors(t *testing.T) {
	t.Parallel()
	road := `{"highway":"primary"}`
	water := `{"natural":"water"}`
	cases := []struct {
		name, in  string
		tooLarge  bool
		field     string
		msgSubstr string
	}{
		{"not json", `nope`, false, "body", "FeatureCollection"},
		{"array", `[]`, false, "body", "FeatureCollection"},
		{"wrong type", `{"type":"Feature","features":[]}`, false, "type", "FeatureCollection"},
		{"no features", `{"type":"FeatureCollection"}`, false, "features", "missing"},
		{"features object", `{"type":"FeatureCollection","features":{}}`, false, "features", "array"},
		{"trailing data", collection(okRoad) + `{}`, false, "body", "after"},
		{"truncated", collection(okRoad)[:60], false, "features[0]", ""},
		{"feature type", collection(okRoad, `{"type":"Foo"}`), false, "features[1].type", "Feature"},
		{"properties not object", collection(`{"type":"Feature","properties":3,"geometry":null}`), false, "features[0]", ""},
		{"one position", collection(feature(road, "LineString", `[[119.17,29.03]]`)), false, "features[0].geometry.coordinates", "at least 2"},
		{"latitude", collection(okRoad, feature(road, "LineString", `[[119.17,95],[119.17,29]]`)), false, "features[1].geometry.coordinates[0]", "latitude"},
		{"position strings", collection(feature(road, "LineString", `[[119.17,29.03],["a","b"]]`)), false, "features[0].geometry.coordinates[1]", "numbers"},
		{"position short", collection(feature(road, "LineString", `[[119.17,29.03],[119.2]]`)), false, "features[0].geometry.coordinates[1]", "longitude, latitude"},
		{"coordinates missing", collection(`{"type":"Feature","properties":{"highway":"path"},"geometry":{"type":"LineString"}}`), false, "features[0].geometry.coordinates", "missing"},
		{"coordinates not array", collection(feature(road, "LineString", `5`)), false, "features[0].geometry.coordinates", "array"},
		{"multi nested", collection(feature(road, "MultiLineString", `[[[119.17,29.03],[119.18,29.03]],[[119.17,29.03],[119.18,"x"]]]`)), false, "features[0].geometry.coordinates[1][1]", "numbers"},
		{"antimeridian", collection(feature(road, "LineString", `[[179.9,29],[-179.9,29]]`)), false, "features[0].geometry.coordinates[1]", "antimeridian"},
		{"tag type", collection(feature(`{"highway":{"a":1}}`, "LineString", `[[119.17,29.03],[119.18,29.03]]`)), false, "features[0].properties.highway", "string"},
		{"nested tag type", collection(feature(`{"tags":{"waterway":[1]}}`, "LineString", `[[119.17,29.03],[119.18,29.03]]`)), false, "features[0].properties.tags.waterway", "string"},
		{"tags not object", collection(feature(`{"tags":5}`, "LineString", `[[119.17,29.03],[119.18,29.03]]`)), false, "features[0].properties.tags", "object"},
		{"bridge tag type", collection(feature(`{"highway":"primary","bridge":[]}`, "LineString", `[[119.17,29.03],[119.18,29.03]]`)), false, "features[0].properties.bridge", "string"},
		{"ring short", collection(feature(water, "Polygon", `[[[119.17,29.03],[119.18,29.03],[119.17,29.03]]]`)), false, "features[0].geometry.coordinates[0]", "3 distinct"},
		{"polygon empty", collection(feature(water, "Polygon", `[]`)), false, "features[0].geometry.coordinates", "outer ring"},
		{"nothing usable", collection(feature(`{"building":"yes"}`, "Polygon", `[[[119.17,29.03],[119.18,29.03],[119.18,29.04]]]`)), false, "features", "no roads"},
		{"polar", collection(feature(road, "LineString", `[[0,85],[1,85]]`)), false, "features", "latitudes"},
		{"extent", collection(feature(road, "LineString", `[[110,20],[120,30]]`)), true, "features", "span"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			n, err := ParseNetwork(strings.NewReader(tc.in))
			checkNetworkErr(t, n, err, tc.tooLarge, tc.field, tc.msgSubstr)
		})
	}
}

func checkNetworkErr(t *testing.T, n *Network, err error, tooLarge bool, field, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("accepted, stats %+v", n.Stats())
	}
	want := ErrBadNetwork
	if tooLarge {
		want = ErrNetworkTooLarge
	}
	var fe *FieldError
	if !errors.Is(err, want) || !errors.As(err, &fe) {
		t.Fatalf("error %v: want %v with a *FieldError", err, want)
	}
	if fe.Field != field || !strings.Contains(fe.Msg, msg) {
		t.Fatalf("error %v: want field %q and a message containing %q", err, field, msg)
	}
}

// spaces is an endless JSON whitespace reader.
type spaces struct{}

func (spaces) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	return len(p), nil
}

func TestParseNetworkLimits(t *testing.T) {
	t.Parallel()
	road := func(pts string) string { return feature(`{"highway":"track"}`, "LineString", pts) }
	lim := netLimits{bytes: 4000, features: 3, points: 6, lineKm: 5, cells: 1000}
	cases := []struct {
		name, in, field, msg string
	}{
		{"features", collection(okRoad, okRoad, okRoad, okRoad), "features", "more than 3 features"},
		{"points", collection(road(`[[119.17,29.03],[119.171,29.03],[119.172,29.03],[119.173,29.03]]`), road(`[[119.17,29.03],[119.171,29.03],[119.172,29.03]]`)),
			"features[1].geometry.coordinates[2]", "more than 6 points"},
		{"length", collection(road(`[[119.17,29.03],[119.2,29.03],[119.23,29.03]]`)), "features[0].geometry.coordinates[2]", "longer than 5 km"},
		{"cells", collection(road(`[[119.17,29.03],[119.17,29.04]]`)), "features", "cells"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			n, err := parseNetwork(strings.NewReader(tc.in), lim)
			checkNetworkErr(t, n, err, true, tc.field, tc.msg)
		})
	}
	t.Run("bytes", func(t *testing.T) {
		t.Parallel()
		r := io.MultiReader(strings.NewReader(`{"type":"FeatureCollection","features":[`+okRoad+`,`), spaces{})
		n, err := ParseNetwork(r)
		checkNetworkErr(t, n, err, true, "body", "bytes")
	})
}

func TestParseNetworkTags(t *testing.T) {
	t.Parallel()
	line := `[[119.17,29.03],[119.18,29.03]]`
	in := collection(
		feature(`{"highway":"residential"}`, "LineString", line),
		feature(`{"tags":{"highway":"Primary","bridge":"yes"},"@id":"way/1"}`, "LineString", line), // osmtogeojson's nested tags, any case
		feature(`{"highway":"secondary","bridge":true,"lanes":2}`, "MultiLineString", `[`+line+`,`+line+`]`),
		feature(`{"highway":"track","ford":"yes"}`, "LineString", line),
		feature(`{"highway":"proposed"}`, "LineString", line),        // not a road (yet)
		feature(`{"highway":"bus_stop"}`, "Point", `[119.17,29.03]`), // a node
		feature(`{"ford":"stepping_stones"}`, "Point", `[119.175,29.03]`),
		feature(`{"waterway":"river"}`, "LineString", `[[119.17,29.02],[119.18,29.04]]`),
		feature(`{"waterway":"stream","tunnel":"culvert"}`, "LineString", line), // underground
		feature(`{"waterway":"ditch"}`, "LineString", line),                     // too small to stop anyone
		feature(`{"waterway":"riverbank"}`, "Polygon", `[[[119.17,29.02],[119.171,29.02],[119.171,29.021]]]`),
		feature(`{"natural":"water"}`, "MultiPolygon", `[[[[119.17,29.02],[119.171,29.02],[119.171,29.021],[119.17,29.02]]]]`),
		feature(`{"landuse":"reservoir","name":"x"}`, "Polygon", `[[[119.16,29.02],[119.161,29.02],[119.161,29.021],[119.16,29.02]]]`),
		feature(`{"building":"yes"}`, "Polygon", `[[[119.16,29.02],[119.161,29.02],[119.161,29.021],[119.16,29.02]]]`),
		`{"type":"Feature","properties":null,"geometry":null}`,
	)
	n := mustNetwork(t, []byte(in))
	st := n.Stats()
	want := NetworkStats{Features: 15, Ignored: 6, Roads: 4, Bridges: 2, Fords: 2, WaterLines: 1, WaterAreas: 3}
	got := NetworkStats{Features: st.Features, Ignored: st.Ignored, Roads: st.Roads, Bridges: st.Bridges, Fords: st.Fords, WaterLines: st.WaterLines, WaterAreas: st.WaterAreas}
	if got != want {
		t.Fatalf("stats %+v, want %+v", got, want)
	}
	if st.Cells == 0 || st.RoadCells == 0 || st.BlockedEdges == 0 {
		t.Fatalf("nothing built: %+v", st)
	}
}

func TestSpeedsAccess(t *testing.T) {
	t.Parallel()
	tags := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	p := roadSpeeds["primary"]
	for _, tc := range []struct {
		tags func(string) string
		want speeds
	}{
		{tags(), p},
		{tags("access", "no"), speeds{}},
		{tags("access", "private"), p},
		{tags("foot", "no"), speeds{0, 15, 45, 50}},
		{tags("vehicle", "no"), speeds{5, 0, 0, 0}},
		{tags("motor_vehicle", "no"), speeds{5, 15, 0, 0}},
		{tags("motorcar", "no", "bicycle", "no"), speeds{5, 0, 45, 0}},
	} {
		if got := p.access(tc.tags); got != tc.want {
			t.Errorf("access: %v, want %v", got, tc.want)
		}
	}
}

func TestNetworkVersion(t *testing.T) {
	t.Parallel()
	a := collection(okRoad, feature(`{"waterway":"river"}`, "LineString", `[[119.17,29.02],[119.18,29.04]]`))
	// Reformatted, with an ignored feature, tags nested: the same network.
	b := "{\n \"features\": [" + okRoad + ",\n" + feature(`{"amenity":"school"}`, "Point", `[1,2]`) + "," +
		feature(`{"tags":{"waterway":"river"},"note":"q"}`, "LineString", `[[119.17,29.02,12.5],[119.18,29.04,3]]`) + "],\n \"type\": \"FeatureCollection\"}"
	c := collection(okRoad, feature(`{"waterway":"river"}`, "LineString", `[[119.17,29.02],[119.18,29.0401]]`))
	va, vb, vc := mustNetwork(t, []byte(a)).Version(), mustNetwork(t, []byte(b)).Version(), mustNetwork(t, []byte(c)).Version()
	if va == "" || va != vb || va == vc {
		t.Fatalf("versions %q %q %q: want the first two equal and the third different", va, vb, vc)
	}
	if (*Network)(nil).Version() != "" {
		t.Fatalf("nil network has a version")
	}
	// Names and places are part of the version: a renamed road or river,
	// or a new hamlet, is a new version; a name moved into the tags object
	// is not.
	named := collection(feature(`{"highway":"residential","name":"沿江路"}`, "LineString", `[[119.17,29.03],[119.18,29.03]]`),
		feature(`{"waterway":"river","name":"衢江"}`, "LineString", `[[119.17,29.02],[119.18,29.04]]`))
	vn := mustNetwork(t, []byte(named)).Version()
	for what, in := range map[string]string{
		"road renamed": collection(feature(`{"highway":"residential","name":"滨江路"}`, "LineString", `[[119.17,29.03],[119.18,29.03]]`),
			feature(`{"waterway":"river","name":"衢江"}`, "LineString", `[[119.17,29.02],[119.18,29.04]]`)),
		"river renamed": collection(feature(`{"highway":"residential","name":"沿江路"}`, "LineString", `[[119.17,29.03],[119.18,29.03]]`),
			feature(`{"waterway":"river","name":"灵山港"}`, "LineString", `[[119.17,29.02],[119.18,29.04]]`)),
		"place added": collection(feature(`{"highway":"residential","name":"沿江路"}`, "LineString", `[[119.17,29.03],[119.18,29.03]]`),
			feature(`{"waterway":"river","name":"衢江"}`, "LineString", `[[119.17,29.02],[119.18,29.04]]`),
			feature(`{"place":"hamlet","name":"下徐村"}`, "Point", `[119.175,29.035]`)),
	} {
		if v := mustNetwork(t, []byte(in)).Version(); v == vn || v == va {
			t.Errorf("%s: version %q unchanged", what, v)
		}
	}
	nested := collection(feature(`{"tags":{"highway":"residential","name":"沿江路"}}`, "LineString", `[[119.17,29.03],[119.18,29.03]]`),
		feature(`{"tags":{"waterway":"river","name":"衢江"}}`, "LineString", `[[119.17,29.02],[119.18,29.04]]`))
	if v := mustNetwork(t, []byte(nested)).Version(); v != vn {
		t.Errorf("names in the tags object: version %q, want %q", v, vn)
	}
}

func TestDemoNetwork(t *testing.T) {
	t.Parallel()
	b := DemoNetwork(county)
	if string(b) != string(DemoNetwork(county)) {
		t.Fatalf("DemoNetwork is not deterministic")
	}
	st := demoNetwork(t).Stats()
	if st.Bridges < 4 || st.Fords < 2 || st.WaterLines < 2 || st.WaterAreas < 2 || st.Roads < 50 || st.Ignored != 0 {
		t.Fatalf("demo network stats %+v", st)
	}
	t.Logf("demo network: %d bytes, %+v", len(b), st)
}
