package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/longyou/hub/service/travel"
	"github.com/longyou/hub/storage"
)

// The synthetic county of these tests, around village 0 (29.03, 119.17):
// a river along latitude 29.030; the reach point A 390 m south of it; X,
// 800 m north of A across the river; a village road from A north to the
// bank and from the other bank to X (no bridge: version 1; a footbridge
// joining them: version 2); a bridge 4 km east; a straight tertiary road
// (沿江路) east from A, with Y 3 km along it.
var (
	ptA = storage.LatLng{Lat: 29.0265, Lng: 119.17}
	ptX = storage.LatLng{Lat: 29.0337, Lng: 119.17}
	ptY = storage.LatLng{Lat: 29.0265, Lng: 119.2008} // 3.0 km east of A
)

type feature struct {
	props map[string]any
	geom  string // GeoJSON geometry
}

func line(props map[string]any, pts ...[2]float64) feature {
	var b strings.Builder
	for i, p := range pts {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "[%g,%g]", p[1], p[0]) // [lng,lat]
	}
	return feature{props, `{"type":"LineString","coordinates":[` + b.String() + `]}`}
}

func collection(fs ...feature) []byte {
	var parts []string
	for _, f := range fs {
		p, _ := json.Marshal(f.props)
		parts = append(parts, `{"type":"Feature","properties":`+string(p)+`,"geometry":`+f.geom+`}`)
	}
	return []byte(`{"type":"FeatureCollection","features":[` + strings.Join(parts, ",") + `]}`)
}

// testNetwork is the synthetic county; withFootbridge adds the footbridge
// between A and X.
func testNetwork(withFootbridge bool) []byte {
	fs := []feature{
		line(map[string]any{"waterway": "river", "name": "衢江"}, [2]float64{29.030, 119.10}, [2]float64{29.030, 119.26}),
		// The village road, in two pieces, one on each bank.
		line(map[string]any{"highway": "residential", "name": "村道"}, [2]float64{ptA.Lat, 119.17}, [2]float64{29.0290, 119.17}),
		line(map[string]any{"highway": "residential", "name": "村道"}, [2]float64{29.0310, 119.17}, [2]float64{ptX.Lat, 119.17}),
		// The bridge 4 km east, on a road from the east road north.
		line(map[string]any{"highway": "tertiary", "name": "东桥路"}, [2]float64{29.0265, 119.211}, [2]float64{29.0285, 119.211}),
		line(map[string]any{"highway": "tertiary", "bridge": "yes", "name": "衢江二桥"}, [2]float64{29.0285, 119.211}, [2]float64{29.0315, 119.211}),
		line(map[string]any{"highway": "tertiary", "name": "东桥路"}, [2]float64{29.0315, 119.211}, [2]float64{29.040, 119.211}),
		// The straight road east from A.
		line(map[string]any{"highway": "tertiary", "name": "沿江路"}, [2]float64{ptA.Lat, 119.17}, [2]float64{ptA.Lat, 119.25}),
	}
	if withFootbridge {
		fs = append(fs, line(map[string]any{"highway": "footway", "bridge": "yes", "name": "便桥"},
			[2]float64{29.0290, 119.17}, [2]float64{29.0310, 119.17}))
	}
	return collection(fs...)
}

func reachBody(p storage.LatLng, mode string) map[string]any {
	return map[string]any{
		"kind": "mobilization", "severity": "severe", "title": "集结", "body": "请到河边集合",
		"area": map[string]any{"reach": map[string]any{"lat": p.Lat, "lng": p.Lng, "minutes": 15, "mode": mode}},
	}
}

func (e *testEnv) putNetwork(body []byte) (int, map[string]any) {
	e.t.Helper()
	return e.call("POST", "/api/v1/geo/network", e.admin, body)
}

// preview previews a reach and returns the targeted count and the reach
// object.
func (e *testEnv) previewReach(tok string, p storage.LatLng, mode string) (int64, map[string]any, map[string]any) {
	e.t.Helper()
	code, out := e.call("POST", "/api/v1/alerts/preview", tok, reachBody(p, mode))
	if code != http.StatusOK {
		e.t.Fatalf("preview: %d %v", code, out)
	}
	r, _ := out["reach"].(map[string]any)
	return num(out["targeted"]), r, out
}

func TestReachFollowsRiverAndBridges(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, cmdTok := e.member(storage.RoleCommander, -1, outside)
	e.member(storage.RoleResident, 0, ptX) // 800 m across the river

	// No network: v1's straight-line circle (1.25 km on foot) holds X, and
	// the preview says it is a fallback.
	n, reach, out := e.previewReach(cmdTok, ptA, "walk")
	if n != 1 || reach["method"] != "circle" || reach["fallback"] != travel.FallbackNoNetwork {
		t.Fatalf("without a network: targeted %d, reach %v", n, reach)
	}
	if out["outline"] != nil {
		t.Fatalf("a circle has no outline: %v", out["outline"])
	}

	// Version 1: the river with the only bridge 4 km away: X is out.
	code, put := e.putNetwork(testNetwork(false))
	if code != http.StatusCreated {
		t.Fatalf("upload: %d %v", code, put)
	}
	v1 := put["network"].(map[string]any)
	n, reach, out = e.previewReach(cmdTok, ptA, "walk")
	if n != 0 || reach["method"] != "network" || reach["network_version"] != v1["version"] || num(reach["resolution"]) != 10 {
		t.Fatalf("network v1: targeted %d (want 0: the river is between), reach %v", n, reach)
	}
	outline, _ := out["outline"].(map[string]any)
	if outline == nil || outline["type"] != "MultiPolygon" {
		t.Fatalf("network reach outline: %v", out["outline"])
	}

	// The same content again: no new version.
	code, again := e.putNetwork(testNetwork(false))
	if code != http.StatusOK || again["network"].(map[string]any)["seq"] != v1["seq"] {
		t.Fatalf("same network again: %d %v, want 200 with seq %v", code, again, v1["seq"])
	}

	// Version 2 adds a footbridge next to A: X is in.
	if code, put = e.putNetwork(testNetwork(true)); code != http.StatusCreated {
		t.Fatalf("upload v2: %d %v", code, put)
	}
	n, reach, _ = e.previewReach(cmdTok, ptA, "walk")
	if n != 1 || reach["network_version"] != put["network"].(map[string]any)["version"] {
		t.Fatalf("network v2 (footbridge): targeted %d, want 1; reach %v", n, reach)
	}
	// The alert itself targets the same and says how.
	code, sent := e.call("POST", "/api/v1/alerts", cmdTok, reachBody(ptA, "walk"))
	if code != http.StatusCreated || num(sent["targeted"]) != 1 || sent["reach"].(map[string]any)["method"] != "network" {
		t.Fatalf("send: %d %v", code, sent)
	}

	// History, newest first.
	code, got := e.call("GET", "/api/v1/geo/network", cmdTok, nil)
	hist, _ := got["history"].([]any)
	if code != http.StatusOK || len(hist) != 2 || got["network"].(map[string]any)["seq"] != hist[0].(map[string]any)["seq"] {
		t.Fatalf("GET network: %d %v", code, got)
	}

	// Removed: the circle again.
	if code, out := e.call("DELETE", "/api/v1/geo/network", e.admin, nil); code != http.StatusOK {
		t.Fatalf("delete: %d %v", code, out)
	}
	n, reach, _ = e.previewReach(cmdTok, ptA, "walk")
	if n != 1 || reach["method"] != "circle" || reach["fallback"] != travel.FallbackNoNetwork {
		t.Fatalf("after removal: targeted %d, reach %v", n, reach)
	}
	if code, _ := e.call("GET", "/api/v1/geo/network.geojson", cmdTok, nil); code != http.StatusNotFound {
		t.Fatalf("network.geojson without a network: %d, want 404", code)
	}
}

func TestReachOutsideNetworkFallsBack(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, cmdTok := e.member(storage.RoleCommander, -1, outside)
	if code, out := e.putNetwork(testNetwork(false)); code != http.StatusCreated {
		t.Fatalf("upload: %d %v", code, out)
	}
	_, reach, _ := e.previewReach(cmdTok, storage.LatLng{Lat: 29.5, Lng: 119.17}, "walk")
	if reach["method"] != "circle" || reach["fallback"] != travel.FallbackOutsideNetwork {
		t.Fatalf("a point 50 km away: reach %v, want circle/outside_network", reach)
	}
}

func TestResponderOwnModeAndETA(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, cmdTok := e.member(storage.RoleCommander, -1, outside)
	if code, out := e.putNetwork(testNetwork(true)); code != http.StatusCreated {
		t.Fatalf("upload: %d %v", code, out)
	}
	walker, _ := e.member(storage.RolePatrol, 0, ptY) // 3 km along the road, no mode: walks with the alert
	biker, bikerTok := e.member(storage.RolePatrol, 0, ptY)
	near, _ := e.member(storage.RolePatrol, 0, ptX)
	// The biker sets its own mode (a member may).
	code, out := e.call("PATCH", "/api/v1/members/"+biker.ID, bikerTok, map[string]any{"travel_mode": "bike"})
	if code != http.StatusOK || out["member"].(map[string]any)["travel_mode"] != "bike" {
		t.Fatalf("PATCH travel_mode: %d %v", code, out)
	}

	// On foot, Y is 36 minutes away: the biker (12 min) is in, the walker out.
	n, reach, _ := e.previewReach(cmdTok, ptA, "walk")
	byMode := reach["by_mode"].(map[string]any)
	if n != 2 || num(byMode["bike"]) != 1 || num(byMode["walk"]) != 1 {
		t.Fatalf("walk reach with a biker: targeted %d, by_mode %v; want 2 (near walker, biker)", n, byMode)
	}
	// By bike the whole area rides: everyone at Y is in.
	if n, _, _ = e.previewReach(cmdTok, ptA, "bike"); n != 3 {
		t.Fatalf("bike reach: targeted %d, want 3", n)
	}

	code, sent := e.call("POST", "/api/v1/alerts", cmdTok, reachBody(ptA, "walk"))
	if code != http.StatusCreated || num(sent["targeted"]) != 2 {
		t.Fatalf("send: %d %v", code, sent)
	}
	id := sent["alert"].(map[string]any)["id"].(string)
	code, rec := e.call("GET", "/api/v1/alerts/"+id+"/recipients?order=eta", cmdTok, nil)
	rs, _ := rec["recipients"].([]any)
	if code != http.StatusOK || len(rs) != 2 {
		t.Fatalf("recipients: %d %v", code, rec)
	}
	first, second := rs[0].(map[string]any), rs[1].(map[string]any)
	if first["member_id"] != near.ID || second["member_id"] != biker.ID {
		t.Fatalf("order=eta: %v then %v, want the near walker then the biker", first["member_id"], second["member_id"])
	}
	eNear, _ := first["eta_min_computed"].(float64)
	eBike, _ := second["eta_min_computed"].(float64)
	// The near one walks ~0.8 km of road (~10 min); the biker rides 3 km at
	// 15 km/h (12 min) plus the cells' halves at each end.
	if !(eNear > 5 && eNear < 15) || !(eBike > 10 && eBike < 15) || second["travel_mode"] != "bike" {
		t.Fatalf("computed ETAs: near %v, biker %v (%v)", first["eta_min_computed"], second["eta_min_computed"], second["travel_mode"])
	}
	if first["village_name"] != e.villages[0].Name {
		t.Fatalf("recipient village_name = %v", first["village_name"])
	}
	if code, _ := e.call("GET", "/api/v1/alerts/"+id+"/recipients?order=name", cmdTok, nil); code != http.StatusBadRequest {
		t.Fatalf("order=name: %d, want 400", code)
	}

	// The walker takes a motorbike: moved in by the active alert's check.
	code, out = e.call("PATCH", "/api/v1/members/"+walker.ID, cmdTok, map[string]any{"travel_mode": "motorbike"})
	if code != http.StatusOK {
		t.Fatalf("PATCH by commander: %d %v", code, out)
	}
	code, got := e.call("GET", "/api/v1/alerts/"+id, cmdTok, nil)
	if code != http.StatusOK || num(got["progress"].(map[string]any)["targeted"]) != 3 {
		t.Fatalf("after the walker took a motorbike: %d %v, want 3 targeted", code, got["progress"])
	}
}

func TestMemberPatchRoles(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, cmdTok := e.member(storage.RoleCommander, -1, outside)
	res, resTok := e.member(storage.RoleResident, 0, inside)
	other, _ := e.member(storage.RoleResident, 1, outside)
	_, cadreTok := e.member(storage.RoleCadre, 0, inside)

	cases := []struct {
		name  string
		tok   string
		id    string
		body  any
		code  int
		check func(m map[string]any) bool
	}{
		{"own address", resTok, res.ID, map[string]any{"address": "3组12号"}, 200,
			func(m map[string]any) bool { return m["address"] == "3组12号" && m["home"] != nil }},
		{"own mode", resTok, res.ID, map[string]any{"travel_mode": "bike"}, 200,
			func(m map[string]any) bool { return m["travel_mode"] == "bike" && m["address"] == "3组12号" }},
		{"clear own mode", resTok, res.ID, map[string]any{"travel_mode": ""}, 200,
			func(m map[string]any) bool { return m["travel_mode"] == nil }},
		{"own home: not a resident's to set", resTok, res.ID, map[string]any{"home": map[string]any{"lat": 29, "lng": 119}}, 403, nil},
		{"another member", resTok, other.ID, map[string]any{"address": "x"}, 404, nil},
		{"bad mode", resTok, res.ID, map[string]any{"travel_mode": "horse"}, 400, nil},
		{"address too long", resTok, res.ID, map[string]any{"address": strings.Repeat("长", 201)}, 400, nil},
		{"cadre, own village", cadreTok, res.ID, map[string]any{"home": map[string]any{"lat": 29.0301, "lng": 119.1701}}, 200,
			func(m map[string]any) bool {
				h, _ := m["home"].(map[string]any)
				return h != nil && h["lat"] == 29.0301
			}},
		{"cadre, other village", cadreTok, other.ID, map[string]any{"address": "x"}, 404, nil},
		{"bad home", cmdTok, res.ID, map[string]any{"home": map[string]any{"lat": 95, "lng": 119}}, 400, nil},
		{"commander removes home", cmdTok, other.ID, map[string]any{"home": nil}, 200,
			func(m map[string]any) bool { return m["home"] == nil }},
		{"unknown member", cmdTok, "m_nobody", map[string]any{"address": "x"}, 404, nil},
		{"not JSON", cmdTok, res.ID, "{", 400, nil},
	}
	for _, c := range cases {
		code, out := e.call("PATCH", "/api/v1/members/"+c.id, c.tok, c.body)
		if code != c.code {
			t.Errorf("%s: %d %v, want %d", c.name, code, out, c.code)
			continue
		}
		if c.check != nil && !c.check(out["member"].(map[string]any)) {
			t.Errorf("%s: member %v", c.name, out["member"])
		}
	}
	// What was refused changed nothing.
	m, err := e.store.GetMember(context.Background(), res.ID)
	if err != nil || m.Address != "3组12号" || m.TravelMode != "" || m.Home == nil || m.Home.Lat != 29.0301 {
		t.Fatalf("stored member after the cases: %+v, %v", m, err)
	}
}

func TestNetworkRolesAndBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, cmdTok := e.member(storage.RoleCommander, -1, outside)
	_, resTok := e.member(storage.RoleResident, 0, inside)
	_, cadreTok := e.member(storage.RoleCadre, 0, inside)
	good := testNetwork(false)

	for _, c := range []struct {
		method, path, tok string
		body              any
		code              int
	}{
		{"POST", "/api/v1/geo/network", cmdTok, good, 403},
		{"POST", "/api/v1/geo/network", cadreTok, good, 403},
		{"POST", "/api/v1/geo/network", "", good, 401},
		{"DELETE", "/api/v1/geo/network", cmdTok, nil, 403},
		{"GET", "/api/v1/geo/network", resTok, nil, 403},
		{"GET", "/api/v1/geo/network", cadreTok, nil, 200},
		{"GET", "/api/v1/geo/network.geojson", resTok, nil, 403},
		{"GET", "/api/v1/geo/isochrone?lat=29.0265&lng=119.17", resTok, nil, 403},
		{"GET", "/api/v1/geo/isochrone?lat=29.0265&lng=119.17&mode=horse", cmdTok, nil, 400},
		{"GET", "/api/v1/geo/isochrone?lng=119.17", cmdTok, nil, 400},
		{"POST", "/api/v1/geo/network", e.admin, "not json", 400},
		{"POST", "/api/v1/geo/network", e.admin, `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"highway":"primary"},"geometry":{"type":"LineString","coordinates":[[119.1,29.0],[119.2,"x"]]}}]}`, 400},
	} {
		code, out := e.call(c.method, c.path, c.tok, c.body)
		if code != c.code {
			t.Errorf("%s %s as %q: %d %v, want %d", c.method, c.path, c.tok, code, out, c.code)
		}
		if code == 400 && strings.Contains(c.path, "network") && !strings.Contains(fmt.Sprint(out), "features[0]") && c.body != "not json" {
			t.Errorf("bad feature error does not name it: %v", out)
		}
	}
	// Nothing was stored by the refusals.
	if _, err := e.store.NetworkHead(context.Background()); err == nil {
		t.Fatalf("a refused upload stored a network")
	}
	// Too large: 413.
	big := make([]byte, 33<<20)
	if code, _ := e.callRaw("POST", "/api/v1/geo/network", e.admin, big); code != http.StatusRequestEntityTooLarge {
		t.Fatalf("33 MiB upload: %d, want 413", code)
	}

	// The isochrone route and the drawable GeoJSON, with a network.
	if code, out := e.putNetwork(good); code != http.StatusCreated {
		t.Fatalf("upload: %d %v", code, out)
	}
	code, iso := e.call("GET", "/api/v1/geo/isochrone?lat=29.0265&lng=119.17&minutes=10&mode=bike", cmdTok, nil)
	if code != http.StatusOK || num(iso["cells"]) < 10 || iso["reach"].(map[string]any)["mode"] != "bike" || iso["outline"] == nil {
		t.Fatalf("isochrone: %d %v", code, iso)
	}
	code, raw := e.callRaw("GET", "/api/v1/geo/network.geojson", cadreTok, nil)
	var fc struct {
		Type     string            `json:"type"`
		Features []json.RawMessage `json:"features"`
	}
	if code != http.StatusOK || json.Unmarshal(raw, &fc) != nil || fc.Type != "FeatureCollection" || len(fc.Features) < 7 {
		t.Fatalf("network.geojson: %d %.200s", code, raw)
	}
}

func TestReportPlace(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if code, out := e.putNetwork(testNetwork(false)); code != http.StatusCreated {
		t.Fatalf("upload: %d %v", code, out)
	}
	_, resTok := e.member(storage.RoleResident, 0, inside)
	// 60 m south of 沿江路, 1 km east of A.
	code, out := e.call("POST", "/api/v1/reports", resTok, map[string]any{"kind": "road", "text": "路面塌陷",
		"lat": ptA.Lat - 0.00054, "lng": 119.1803})
	if code != http.StatusCreated {
		t.Fatalf("report: %d %v", code, out)
	}
	pl, _ := out["report"].(map[string]any)["place"].(map[string]any)
	if pl == nil || pl["village"] != e.villages[0].Name || pl["name"] != "沿江路" || pl["kind"] != "road" ||
		num(pl["dist_m"]) < 40 || num(pl["dist_m"]) > 80 {
		t.Fatalf("report place: %v", pl)
	}
	// Far from every named thing: the village only.
	code, out = e.call("POST", "/api/v1/reports", resTok, map[string]any{"kind": "road", "text": "x", "lat": 29.3, "lng": 119.17})
	pl, _ = out["report"].(map[string]any)["place"].(map[string]any)
	if code != http.StatusCreated || pl == nil || pl["name"] != "" || pl["village"] != e.villages[0].Name {
		t.Fatalf("far report place: %d %v", code, pl)
	}
}

// TestNetworkReachesOtherNodes: a network stored through one node is used
// by another node on the same store within the poll interval.
func TestNetworkReachesOtherNodes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	other, err := New(context.Background(), Config{Store: e.store, Logger: testLogger(t), NodeID: "other"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = other.Shutdown(ctx)
	})
	if _, ok := other.Travel().Current(); ok {
		t.Fatal("the other node has a network before any upload")
	}
	code, out := e.putNetwork(testNetwork(false))
	if code != http.StatusCreated {
		t.Fatalf("upload: %d %v", code, out)
	}
	want := out["network"].(map[string]any)["version"]
	deadline := time.Now().Add(travel.PollInterval + 5*time.Second)
	for {
		if v, ok := other.Travel().Current(); ok && v.Version == want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the other node did not load version %v within %s", want, travel.PollInterval+5*time.Second)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// A restart loads it from the store at once.
	third, err := New(context.Background(), Config{Store: e.store, Logger: testLogger(t), NodeID: "third"})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = third.Shutdown(context.Background()) }()
	if v, ok := third.Travel().Current(); !ok || v.Version != want {
		t.Fatalf("a new node starts with %v, want %v", v.Version, want)
	}
}
