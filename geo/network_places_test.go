package geo

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
)

func TestParseNetworkNames(t *testing.T) {
	t.Parallel()
	line := `[[119.17,29.03],[119.18,29.03]]`
	long := strings.Repeat("长", maxNameRunes) + " x"
	in := collection(
		feature(`{"highway":"primary","name":" 龙游大道 "}`, "LineString", line),
		feature(`{"highway":"secondary","name":"Longyou Road","name:zh":"龙游路"}`, "LineString", line),
		feature(`{"highway":"secondary","name":"龙南路","name:zh":"Other"}`, "LineString", line),
		feature(`{"highway":"tertiary","ref":"X201"}`, "LineString", line),
		feature(`{"highway":"tertiary","name":"`+long+`"}`, "LineString", line),
		feature(`{"tags":{"waterway":"river","name":"衢江"}}`, "LineString", `[[119.17,29.02],[119.18,29.04]]`),
		feature(`{"natural":"water","name":"社阳水库"}`, "Polygon", `[[[119.16,29.02],[119.161,29.02],[119.161,29.021],[119.16,29.02]]]`),
		feature(`{"place":"Hamlet","name":"下徐村"}`, "Point", `[119.175,29.035]`),
		feature(`{"tags":{"place":"village","name":"横山村"}}`, "Point", `[119.176,29.036]`),
		feature(`{"place":"hamlet"}`, "Point", `[119.175,29.035]`),                                                   // no name
		feature(`{"place":"country","name":"中国"}`, "Point", `[119.175,29.035]`),                                      // not a local place
		feature(`{"place":"village","name":"某村"}`, "Polygon", `[[[119.16,29.02],[119.161,29.02],[119.161,29.021]]]`), // an area
		feature(`{"place":"hamlet","name":7}`, "Point", `[119.177,29.037]`),                                          // a number: its text
	)
	n := mustNetwork(t, []byte(in))
	st := n.Stats()
	if st.Places != 3 || st.Ignored != 3 || st.Roads != 5 || st.Features != 13 {
		t.Fatalf("stats %+v: want 3 places, 3 ignored, 5 roads", st)
	}
	var names []string
	for _, r := range n.data.roads {
		names = append(names, r.name)
	}
	want := []string{"龙游大道", "龙游路", "龙南路", "X201", strings.Repeat("长", maxNameRunes)}
	if fmt.Sprint(names) != fmt.Sprint(want) {
		t.Fatalf("road names %q, want %q", names, want)
	}
	if w, a := n.data.waterways[0].name, n.data.waterAreas[0].name; w != "衢江" || a != "社阳水库" {
		t.Fatalf("water names %q %q", w, a)
	}
	if p := n.data.places; len(p) != 3 || p[0].name != "下徐村" || p[0].class != "hamlet" || p[1].name != "横山村" || p[2].name != "7" {
		t.Fatalf("places %+v", p)
	}
	bad := collection(okRoad, feature(`{"highway":"primary","name":{"zh":"x"}}`, "LineString", line))
	checkNetworkErr(t, nil, func() error { _, err := ParseNetworkBytes([]byte(bad)); return err }(), false, "features[1].properties.name", "string")
}

// placesNetwork: around the county centre (x east, y north, metres), a
// named road along y = 0 and a named river along y = -100 from x = -2000
// to 2000, a bridge across at x = 1500, a hamlet at (500, 200), a named
// reservoir south, an unnamed road at y = 1000.
func placesNetwork(t testing.TB) *Network {
	d := &demo{c: county}
	d.line(road("secondary", "name", "沿江路"), [2]float64{-2000, 0}, [2]float64{2000, 0})
	d.line(map[string]string{"waterway": "river", "name": "衢江"}, [2]float64{-2000, -100}, [2]float64{2000, -100})
	d.line(road("primary", "name", "衢江一桥", "bridge", "yes"), [2]float64{1500, -300}, [2]float64{1500, 0})
	d.line(road("residential"), [2]float64{-2000, 1000}, [2]float64{2000, 1000})
	d.polygon(map[string]string{"landuse": "reservoir", "name": "社阳水库"}, [][2]float64{{-1000, -1500}, {0, -1500}, {0, -1000}, {-1000, -1000}})
	d.features = append(d.features, demoFeature{"Feature", map[string]string{"place": "hamlet", "name": "下徐村"}, demoGeometry{"Point", d.at(500, 200)}})
	return mustNetwork(t, fc(t, d))
}

func TestNearestPlace(t *testing.T) {
	t.Parallel()
	n := placesNetwork(t)
	for _, tc := range []struct {
		x, y, maxM float64
		name, kind string
		dist       float64 // approximate, ±2 m; 0: not checked
	}{
		{0, 10, 2000, "沿江路", PlaceKindRoad, 10},             // on the road
		{0, -95, 2000, "衢江", PlaceKindWater, 5},             // on the river, the road 95 m away
		{0, -80, 2000, "衢江", PlaceKindWater, 20},            // nearer the river than the road, both not on
		{0, -40, 2000, "沿江路", PlaceKindRoad, 40},            // nearer the road
		{500, 150, 2000, "下徐村", PlaceKindPlace, 50},         // in the hamlet, the road 150 m away
		{500, 25, 2000, "沿江路", PlaceKindRoad, 25},           // on the road through the hamlet
		{800, 450, 2000, "下徐村", PlaceKindPlace, 0},          // 390 m from the hamlet, 450 from the road
		{-1500, 400, 2000, "沿江路", PlaceKindRoad, 400},       // nothing near: the nearest
		{1500, -100, 2000, "衢江一桥", PlaceKindRoad, 0},        // on the bridge over the river
		{-500, -1600, 2000, "社阳水库", PlaceKindWater, 100},    // by the reservoir
		{-500, -1250, 2000, "社阳水库", PlaceKindWater, 250},    // in it: distance to its shore
		{-1500, 1500, 2000, "沿江路", PlaceKindRoad, 1500},     // the unnamed road is not a place
		{-1500, 1500, 1000, "", "", 0},                      // nothing within 1 km
		{0, 10, 5, "", "", 0},                               // nothing within 5 m
		{100000, 0, 2000, "", "", 0},                        // far away
		{-5000, 0, math.Inf(1), "沿江路", PlaceKindRoad, 3000}, // no limit
	} {
		p := local(county, tc.x, tc.y)
		got, ok := n.NearestPlace(p, tc.maxM)
		if ok != (tc.name != "") || got.Name != tc.name || got.Kind != tc.kind || (tc.dist > 0 && math.Abs(got.DistM-tc.dist) > 2) {
			t.Errorf("(%v, %v) within %v: %+v %v, want %s %s %v m", tc.x, tc.y, tc.maxM, got, ok, tc.name, tc.kind, tc.dist)
		}
	}
	if _, ok := (*Network)(nil).NearestPlace(county, 2000); ok {
		t.Errorf("nil network: a place")
	}
	if _, ok := n.NearestPlace(LatLng{math.NaN(), 0}, 2000); ok {
		t.Errorf("invalid point: a place")
	}
	if _, ok := n.NearestPlace(county, 0); ok {
		t.Errorf("maxM 0: a place")
	}
	// A network without names has no places.
	if _, ok := riverNetwork(t, "").NearestPlace(county, 5000); ok {
		t.Errorf("no names: a place")
	}
}

// bruteNearest is nearest's rule over every segment, without the buckets.
func (ix *placeIndex) bruteNearest(p LatLng, maxM float64) (Place, bool) {
	px, py := ix.project(p)
	kp := math.Cos(p.Lat*degToRad) * mPerDegree / ix.kx
	best := [numKinds]float64{math.Inf(1), math.Inf(1), math.Inf(1)}
	feat := [numKinds]int32{-1, -1, -1}
	for _, s := range ix.segs {
		d := math.Sqrt(segDist2(px*kp, py, s.ax*kp, s.ay, s.bx*kp, s.by))
		if k := ix.kinds[s.feat]; d < best[k] {
			best[k], feat[k] = d, s.feat
		}
	}
	pick := func(k uint8) (Place, bool) {
		return Place{Name: ix.names[feat[k]], Kind: kindNames[k], DistM: best[k]}, true
	}
	on, near := min(placeOnM, maxM), min(placeNearM, maxM)
	switch {
	case best[kindRoad] <= on:
		return pick(kindRoad)
	case best[kindWater] <= on:
		return pick(kindWater)
	case best[kindPlace] <= near:
		return pick(kindPlace)
	}
	k := kindRoad
	for j := range numKinds {
		if best[j] < best[k] {
			k = j
		}
	}
	if best[k] <= maxM {
		return pick(k)
	}
	return Place{}, false
}

// TestNearestPlaceIndex compares lookups with a scan of every segment, on
// the demo county and beyond it.
func TestNearestPlaceIndex(t *testing.T) {
	t.Parallel()
	n := demoNetwork(t)
	n.NearestPlace(county, 1) // build the index
	ix := n.places
	rng := rand.New(rand.NewPCG(15, 0))
	kinds := map[string]int{}
	for i := range 20000 {
		p := local(county, (rng.Float64()-0.5)*50000, (rng.Float64()-0.5)*34000)
		maxM := []float64{2000, 300, 50, 5000}[i%4]
		got, ok := n.NearestPlace(p, maxM)
		want, wok := ix.bruteNearest(p, maxM)
		if ok != wok || got.Name != want.Name || got.Kind != want.Kind || math.Abs(got.DistM-want.DistM) > 1e-6 {
			t.Fatalf("%v within %v: %+v %v, want %+v %v", p, maxM, got, ok, want, wok)
		}
		if ok {
			kinds[got.Kind]++
		}
	}
	if kinds[PlaceKindRoad] == 0 || kinds[PlaceKindWater] == 0 || kinds[PlaceKindPlace] == 0 {
		t.Fatalf("kinds found %v: want each", kinds)
	}
	t.Logf("kinds found: %v", kinds)

	// A dense county: buckets full of segments.
	ix = buildPlaceIndex(denseNames())
	for i := range 200 {
		p := local(county, (rng.Float64()-0.5)*44000, (rng.Float64()-0.5)*44000)
		maxM := []float64{2000, 300, 50, 25}[i%4]
		got, ok := ix.nearest(p, maxM)
		want, wok := ix.bruteNearest(p, maxM)
		if ok != wok || got.Name != want.Name || got.Kind != want.Kind || math.Abs(got.DistM-want.DistM) > 1e-6 {
			t.Fatalf("dense: %v within %v: %+v %v, want %+v %v", p, maxM, got, ok, want, wok)
		}
	}
}

// TestNearestPlaceDemo: the demo county reads like a Chinese county.
func TestNearestPlaceDemo(t *testing.T) {
	t.Parallel()
	n := demoNetwork(t)
	for _, tc := range []struct {
		x, y       float64
		name, kind string
	}{
		{-1000, riverY(-1000) + 20, "衢江一桥", PlaceKindRoad},
		{-1000, riverY(-1000) + 1000, "龙游大道", PlaceKindRoad},
		{-2300, 2000, "太平路", PlaceKindRoad},
		{-7600, -3100, "下徐村", PlaceKindPlace},
		{-500, riverY(-500) + 20, "衢江", PlaceKindWater},
		{-6000, -8400, "社阳水库", PlaceKindWater},
	} {
		got, ok := n.NearestPlace(local(county, tc.x, tc.y), 2000)
		if !ok || got.Name != tc.name || got.Kind != tc.kind {
			t.Errorf("(%v, %v): %+v %v, want %s (%s)", tc.x, tc.y, got, ok, tc.name, tc.kind)
		}
	}
	if st := n.Stats(); st.Places < 5 {
		t.Errorf("demo places: %d", st.Places)
	}
}

func TestFeatures(t *testing.T) {
	t.Parallel()
	line := `[[119.17,29.03],[119.18,29.03]]`
	custom := collection(
		feature(`{"highway":"primary","name":"龙游大道","foot":"no"}`, "LineString", line),
		feature(`{"highway":"secondary","access":"no","ref":"S222"}`, "MultiLineString", `[`+line+`,[[119.17,29.031],[119.18,29.031]]]`),
		feature(`{"highway":"tertiary","tunnel":"yes","motor_vehicle":"no"}`, "LineString", line),
		feature(`{"highway":"track","ford":"stepping_stones","vehicle":"no"}`, "LineString", line),
		feature(`{"highway":"track","ford":"Boat","bicycle":"no","motorcar":"no"}`, "MultiLineString", `[`+line+`]`),
		feature(`{"waterway":"canal","name":"x\"<&>"}`, "MultiLineString", `[[[119.17,29.02],[119.18,29.04]],[[119.17,29.021],[119.18,29.041]]]`),
		feature(`{"waterway":"riverbank"}`, "MultiPolygon", `[[[[119.16,29.02],[119.17,29.02],[119.17,29.03],[119.16,29.02]],[[119.165,29.021],[119.168,29.021],[119.168,29.024]]],[[[119.15,29.02],[119.151,29.02],[119.151,29.021]]]]`),
		feature(`{"ford":"yes"}`, "Point", `[119.175,29.03]`),
		feature(`{"ford":"stepping_stones"}`, "Point", `[119.176,29.03]`),
		feature(`{"place":"locality","name":"石佛"}`, "Point", `[119.1712345678901,29.0312345678901]`),
		feature(`{"building":"yes"}`, "Point", `[119.175,29.03]`),
	)
	for name, in := range map[string][]byte{"demo": DemoNetwork(county), "custom": []byte(custom)} {
		n := mustNetwork(t, in)
		b := n.Features()
		if &b[0] != &n.Features()[0] {
			t.Fatalf("%s: Features not cached", name)
		}
		var doc struct {
			Type     string `json:"type"`
			Features []struct {
				Properties map[string]any `json:"properties"`
				Geometry   struct {
					Type string `json:"type"`
				} `json:"geometry"`
			} `json:"features"`
		}
		if err := json.Unmarshal(b, &doc); err != nil || doc.Type != "FeatureCollection" {
			t.Fatalf("%s: not a FeatureCollection (%v): %.300s", name, err, b)
		}
		kinds := map[string]int{}
		for _, f := range doc.Features {
			kinds[f.Properties["kind"].(string)]++
		}
		st := n.Stats()
		if kinds["road"] != st.Roads || kinds["water"] != st.WaterLines+st.WaterAreas || kinds["place"] != st.Places || len(doc.Features) != st.Features-st.Ignored {
			t.Fatalf("%s: kinds %v for stats %+v", name, kinds, st)
		}
		again := mustNetwork(t, b)
		st2 := again.Stats()
		// Ignored features are gone; rings given open come back closed,
		// with their closing point and edge counted.
		st.Features, st.Ignored, st2.Features, st2.Ignored = 0, 0, 0, 0
		if name == "custom" {
			st.Points, st.LineKm, st2.Points, st2.LineKm = 0, 0, 0, 0
		}
		if again.Version() != n.Version() || st2 != st {
			t.Fatalf("%s: parsed again: version %s, stats %+v; want %s, %+v", name, again.Version(), st2, n.Version(), st)
		}
		if string(again.Features()) != string(b) {
			t.Fatalf("%s: Features of the features differ", name)
		}
		t.Logf("%s: %d bytes, %v", name, len(b), kinds)
	}
	if (*Network)(nil).Features() != nil {
		t.Fatalf("nil network: features")
	}
}

// denseNames is a county's worth of named features, straight into the
// index: named roads every 300 m both ways over 40 x 40 km with a point
// every 30 m (~360,000 segments), winding named streams, and 2,000 places.
func denseNames() *netData {
	d := &netData{}
	rng := rand.New(rand.NewPCG(7, 0))
	path := func(f func(t float64) (float64, float64), n int) []LatLng {
		l := make([]LatLng, n+1)
		for i := range l {
			x, y := f(float64(i) / float64(n))
			l[i] = local(county, x, y)
		}
		return l
	}
	for i := range 134 {
		c := -20000 + 300*float64(i)
		d.roads = append(d.roads,
			netRoad{class: "residential", name: fmt.Sprintf("东%d路", i), lines: [][]LatLng{path(func(t float64) (float64, float64) { return -20000 + 40000*t, c }, 1333)}},
			netRoad{class: "residential", name: fmt.Sprintf("北%d街", i), lines: [][]LatLng{path(func(t float64) (float64, float64) { return c, -20000 + 40000*t }, 1333)}})
	}
	for i := range 20 {
		c := -19000 + 2000*float64(i)
		d.waterways = append(d.waterways, netWaterway{class: "stream", name: fmt.Sprintf("溪%d", i),
			lines: [][]LatLng{path(func(t float64) (float64, float64) { return c + 500*math.Sin(t*40), -20000 + 40000*t }, 800)}})
	}
	for i := range 2000 {
		d.places = append(d.places, netPlace{class: "hamlet", name: fmt.Sprintf("村%d", i), p: local(county, (rng.Float64()-0.5)*40000, (rng.Float64()-0.5)*40000)})
	}
	return d
}

// BenchmarkNearestPlace: lookups within 2 km at random points of the demo
// county and of a dense county (denseNames); the target is under 20 µs.
func BenchmarkNearestPlace(b *testing.B) {
	demoIx := demoNetwork(b)
	demoIx.NearestPlace(county, 1)
	for _, tc := range []struct {
		name string
		ix   func() *placeIndex
		half float64
	}{
		{"demo", func() *placeIndex { return demoIx.places }, 20000},
		{"dense", func() *placeIndex { return buildPlaceIndex(denseNames()) }, 20000},
	} {
		b.Run(tc.name, func(b *testing.B) {
			ix := tc.ix()
			rng := rand.New(rand.NewPCG(1, 2))
			pts := make([]LatLng, 4096)
			for i := range pts {
				pts[i] = local(county, (rng.Float64()-0.5)*2*tc.half, (rng.Float64()-0.5)*2*tc.half)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				ix.nearest(pts[i%len(pts)], 2000)
				i++
			}
			b.ReportMetric(float64(len(ix.segs)), "segments")
		})
	}
	b.Run("build/dense", func(b *testing.B) {
		d := denseNames()
		b.ReportAllocs()
		for b.Loop() {
			buildPlaceIndex(d)
		}
	})
}

// TestLazyConcurrent: the outline, the place index and the features are
// built once, whoever asks first, and shared.
func TestLazyConcurrent(t *testing.T) {
	t.Parallel()
	n := placesNetwork(t)
	iso := mustIso(t, n, local(county, 0, 200), ModeWalk, 10)
	var wg sync.WaitGroup
	outs := make([][][][][2]float64, 8)
	feats := make([][]byte, 8)
	for i := range 8 {
		wg.Go(func() {
			outs[i] = iso.Outline()
			feats[i] = n.Features()
			if pl, ok := n.NearestPlace(local(county, 0, 10), 1000); !ok || pl.Name != "沿江路" {
				t.Errorf("nearest place %+v %v", pl, ok)
			}
		})
	}
	wg.Wait()
	for i := range 8 {
		if &outs[i][0] != &outs[0][0] || &feats[i][0] != &feats[0][0] {
			t.Fatalf("built more than once")
		}
	}
}
