package geo

import (
	"errors"
	"math"
	"testing"
)

// FuzzParseNetwork feeds arbitrary bytes to ParseNetwork: it must never
// panic, must fail only with its errors (naming a field), and a network it
// accepts must answer isochrones and region queries.
func FuzzParseNetwork(f *testing.F) {
	f.Add([]byte(collection(okRoad)))
	f.Add([]byte(collection(okRoad, feature(`{"waterway":"river"}`, "LineString", `[[119.17,29.02],[119.18,29.04]]`),
		feature(`{"highway":"primary","bridge":"yes"}`, "LineString", `[[119.175,29.025],[119.175,29.035]]`),
		feature(`{"ford":"yes"}`, "Point", `[119.172,29.024]`),
		feature(`{"natural":"water"}`, "Polygon", `[[[119.16,29.02],[119.165,29.02],[119.165,29.025],[119.16,29.02]],[[119.162,29.021],[119.163,29.021],[119.163,29.022]]]`))))
	f.Add([]byte(collection(feature(`{"tags":{"highway":"path","foot":"no"}}`, "MultiLineString", `[[[0,0],[0.001,0.001,5]],[[0,0],[0,0]]]`))))
	f.Add([]byte(collection(feature(`{"landuse":"reservoir"}`, "MultiPolygon", `[[[[1,1],[1.01,1],[1.01,1.01]]]]`))))
	f.Add([]byte(`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"highway":true},"geometry":null}]}`))
	f.Add([]byte(`{"features":[],"type":"FeatureCollection","bbox":[1,2,3,4]}`))
	f.Add([]byte(`{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"LineString","coordinates":[[1e400,0],[0,0]]},"properties":{"highway":"road"}}]}`))
	f.Add([]byte(`nul`))
	f.Add([]byte(collection(feature(`{"highway":"primary","name":"龙游大道","ref":"G1"}`, "LineString", `[[119.17,29.03],[119.18,29.03]]`),
		feature(`{"waterway":"river","name:zh":"衢江"}`, "LineString", `[[119.17,29.02],[119.18,29.04]]`),
		feature(`{"place":"hamlet","name":"下徐村"}`, "Point", `[119.175,29.035]`),
		feature(`{"place":"town","name":"far"}`, "Point", `[-170,-85]`))))
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := ParseNetworkBytes(data)
		if err != nil {
			var fe *FieldError
			if !(errors.Is(err, ErrBadNetwork) || errors.Is(err, ErrNetworkTooLarge)) || !errors.As(err, &fe) || n != nil {
				t.Fatalf("error %v: want ErrBadNetwork or ErrNetworkTooLarge with a *FieldError, and no network", err)
			}
			return
		}
		st := n.Stats()
		if st.Cells == 0 || n.Version() == "" {
			t.Fatalf("accepted an empty network: %+v", st)
		}
		p := LatLng{(st.South + st.North) / 2, (st.West + st.East) / 2}
		if !n.Covers(p) {
			t.Fatalf("network does not cover the middle of its features %v", p)
		}
		for _, mode := range []string{ModeWalk, ModeDrive} {
			iso := n.Isochrone(p, mode, 5)
			if iso == nil || !iso.Contains(p) {
				t.Fatalf("%s isochrone at the middle: %v", mode, iso)
			}
			for _, m := range iso.All() {
				if math.IsNaN(m) || m < 0 || m > 5 {
					t.Fatalf("cell at %v min", m)
				}
			}
			ix := NewIndex()
			ix.Set(1, p, 0)
			if got := ix.Query(iso.Region(), allTags, nil); len(got) != 1 {
				t.Fatalf("query of the start point: %v", got)
			}
			if len(iso.Outline()) == 0 {
				t.Fatalf("%s isochrone at the middle: no outline", mode)
			}
		}
		if pl, ok := n.NearestPlace(p, 2000); ok && (pl.Name == "" || !(pl.DistM >= 0 && pl.DistM <= 2000)) {
			t.Fatalf("nearest place %+v", pl)
		}
		// The features drawn are the network (unless writing them out
		// crossed a limit, as closing open rings may).
		if again, err := ParseNetworkBytes(n.Features()); err == nil && again.Version() != n.Version() {
			t.Fatalf("features parsed again: version %s, want %s", again.Version(), n.Version())
		} else if err != nil && !errors.Is(err, ErrNetworkTooLarge) {
			t.Fatalf("features parsed again: %v", err)
		}
	})
}
