package server

import (
	"sync/atomic"
	"testing"

	"github.com/longyou/hub/storage"
	"github.com/longyou/hub/web/basemap"
)

// TestMapInfo: GET /api/v1/map shows Config.Map to any role, and
// Config.HasNetwork as it is now; without a Map, no layers and no tiles.
func TestMapInfo(t *testing.T) {
	t.Parallel()
	m, err := basemap.Open(basemap.Config{Tiles: "amap"})
	if err != nil {
		t.Fatal(err)
	}
	var network atomic.Bool
	e := newEnv(t, func(c *Config) {
		c.Map = m
		c.HasNetwork = network.Load
	})
	_, res := e.member(storage.RoleResident, 0, storage.LatLng{Lat: 29.03, Lng: 119.17})
	code, out := e.call("GET", "/api/v1/map", res, nil)
	layers, _ := out["layers"].([]any)
	if code != 200 || out["crs"] != "gcj02" || out["network"] != false || len(layers) != 1 {
		t.Fatalf("GET /api/v1/map: %d %v", code, out)
	}
	network.Store(true)
	if _, out := e.call("GET", "/api/v1/map", res, nil); out["network"] != true {
		t.Fatalf("network not shown: %v", out)
	}
	if code, body := e.callRaw("GET", "/tiles/1/0/0", res, nil); code != 404 {
		t.Fatalf("tiles without MBTiles: %d %s", code, body)
	}
	if code, _ := e.callRaw("GET", "/tiles/1/0/0", "", nil); code != 401 {
		t.Fatalf("tiles without a token: %d", code)
	}

	bare := newEnv(t)
	code, out = bare.call("GET", "/api/v1/map", bare.admin, nil)
	if layers, _ := out["layers"].([]any); code != 200 || out["crs"] != "wgs84" || out["network"] != false || layers == nil || len(layers) != 0 {
		t.Fatalf("no basemap: %d %v", code, out)
	}
}

// TestMapInfoNetwork: without Config.HasNetwork, network follows the
// node's travel network: uploaded, then removed.
func TestMapInfoNetwork(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	network := func() any {
		t.Helper()
		code, out := e.call("GET", "/api/v1/map", e.admin, nil)
		if code != 200 {
			t.Fatalf("GET /api/v1/map: %d %v", code, out)
		}
		return out["network"]
	}
	if got := network(); got != false {
		t.Fatalf("network before any upload: %v", got)
	}
	fc := map[string]any{"type": "FeatureCollection", "features": []any{map[string]any{
		"type": "Feature", "properties": map[string]any{"highway": "residential"},
		"geometry": map[string]any{"type": "LineString", "coordinates": [][2]float64{{119.17, 29.03}, {119.18, 29.03}}},
	}}}
	if code, out := e.call("POST", "/api/v1/geo/network", e.admin, fc); code != 201 {
		t.Fatalf("upload: %d %v", code, out)
	}
	if got := network(); got != true {
		t.Fatalf("network after the upload: %v", got)
	}
	if code, out := e.call("DELETE", "/api/v1/geo/network", e.admin, nil); code != 200 {
		t.Fatalf("remove: %d %v", code, out)
	}
	if got := network(); got != false {
		t.Fatalf("network after the removal: %v", got)
	}
}
