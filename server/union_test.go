package server

import (
	"net/http"
	"strings"
	"testing"

	"github.com/longyou/hub/storage"
)

// An alert whose area is a union of a circle and a polygon addresses the
// members inside either shape and nobody else; a bad part is a 400 naming
// it.
func TestAlertUnionArea(t *testing.T) {
	e := newEnv(t)
	inCircle, _ := e.member(storage.RoleResident, 0, storage.LatLng{Lat: 29.030, Lng: 119.170})
	inSquare, _ := e.member(storage.RoleResident, 1, storage.LatLng{Lat: 29.130, Lng: 119.170})
	between, _ := e.member(storage.RoleResident, 0, storage.LatLng{Lat: 29.080, Lng: 119.170})
	area := map[string]any{"union": []any{
		map[string]any{"circle": map[string]any{"lat": 29.03, "lng": 119.17, "radius_m": 1000}},
		map[string]any{"polygon": [][]float64{{29.12, 119.16}, {29.14, 119.16}, {29.14, 119.18}, {29.12, 119.18}}},
	}}
	body := map[string]any{"kind": "warning", "severity": "severe", "title": "暴雨", "body": "减少外出", "area": area}
	code, pv := e.call("POST", "/api/v1/alerts/preview", e.admin, body)
	if code != http.StatusOK || pv["targeted"] != float64(2) {
		t.Fatalf("preview: %d %v, want 2 targeted", code, pv)
	}
	code, out := e.call("POST", "/api/v1/alerts", e.admin, body)
	if code != http.StatusCreated || out["targeted"] != float64(2) {
		t.Fatalf("send: %d %v", code, out)
	}
	id := out["alert"].(map[string]any)["id"].(string)
	_, rs := e.call("GET", "/api/v1/alerts/"+id+"/recipients", e.admin, nil)
	got := map[string]bool{}
	for _, r := range rs["recipients"].([]any) {
		got[r.(map[string]any)["member_id"].(string)] = true
	}
	if len(got) != 2 || !got[inCircle.ID] || !got[inSquare.ID] || got[between.ID] {
		t.Errorf("recipients %v: want the member in the circle and the one in the square, not the one between", got)
	}
	a := validCAP(t, mustCAP(t, e, id))
	if ar := a.Infos[0].Areas[0]; len(ar.Circles) != 1 || len(ar.Polygons) != 1 {
		t.Errorf("CAP area of a union: %+v, want one circle and one polygon", ar)
	}

	bad := map[string]any{"kind": "warning", "severity": "severe", "title": "x", "body": "y", "area": map[string]any{"union": []any{
		map[string]any{"circle": map[string]any{"lat": 29.03, "lng": 119.17, "radius_m": 1000}},
		map[string]any{"reach": map[string]any{"lat": 29.03, "lng": 119.17}},
	}}}
	code, out = e.call("POST", "/api/v1/alerts", e.admin, bad)
	if code != http.StatusBadRequest || errCode(out) != "bad_request" {
		t.Fatalf("a reach in a union: %d %v, want 400", code, out)
	}
	if msg := out["error"].(map[string]any)["message"].(string); !strings.Contains(msg, "area.union[1]") {
		t.Errorf("message %q does not name area.union[1]", msg)
	}
}
