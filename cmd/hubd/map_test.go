package main

import (
	"context"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/longyou/hub/web/basemap/mbtilesgen"
)

// TestMapMBTiles: -map-mbtiles serves the file at /tiles to any member
// (bearer or ?token=) and GET /api/v1/map names it, in the -map-crs given.
func TestMapMBTiles(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "county.mbtiles")
	if _, err := mbtilesgen.Write(context.Background(), file, mbtilesgen.Options{MinZoom: 10, MaxZoom: 11}); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	const admin = "test-admin-token-map-0123456789abcdef"
	p := start(t, addr, "-data", filepath.Join(dir, "data"), "-admin-token", admin, "-map-mbtiles", file, "-map-crs", "gcj02")

	// A resident may read the map too.
	vid := p.village(admin, "地图村", "测试镇")
	code, out := p.call("POST", "/api/v1/members", admin, map[string]any{"name": "村民", "phone": "+8613800000101", "role": "resident",
		"village_id": vid, "home": map[string]any{"lat": 29.03, "lng": 119.17}})
	if code != 201 {
		t.Fatalf("member: %d %v", code, out)
	}
	res := out["token"].(string)
	code, out = p.call("GET", "/api/v1/map", res, nil)
	layers, _ := out["layers"].([]any)
	if code != 200 || out["crs"] != "gcj02" || out["network"] != false || len(layers) != 1 {
		t.Fatalf("GET /api/v1/map: %d %v", code, out)
	}
	l := layers[0].(map[string]any)
	if l["url"] != "/tiles/{z}/{x}/{y}" || l["min_zoom"] != 10.0 || l["max_zoom"] != 11.0 || l["attribution"] != "测试底图 test grid" {
		t.Fatalf("layer %v", l)
	}
	if code, _ := p.call("GET", "/api/v1/map", "", nil); code != 401 {
		t.Fatalf("GET /api/v1/map without a token: %d", code)
	}

	get := func(path string) (*http.Response, []byte) {
		t.Helper()
		r, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		body, _ := io.ReadAll(r.Body)
		return r, body
	}
	// The tile under 29.03 N 119.17 E at zoom 11 is x 1701, y 851.
	r, body := get("/tiles/11/1701/851?token=" + res)
	if r.StatusCode != 200 || r.Header.Get("Content-Type") != "image/png" || len(body) < 100 || string(body[1:4]) != "PNG" {
		t.Fatalf("tile: %d %q %d bytes", r.StatusCode, r.Header.Get("Content-Type"), len(body))
	}
	for path, want := range map[string]int{
		"/tiles/11/1701/851":                   401, // no token
		"/tiles/11/1701/851?token=wrong":       401,
		"/tiles/11/0/0?token=" + res:           404, // outside the file
		"/tiles/11/1701/99999?token=" + res:    400,
		"/tiles/12/3403/1702.png?token=" + res: 404, // deeper than the file
	} {
		if r, body := get(path); r.StatusCode != want {
			t.Fatalf("%s: %d %s, want %d", path, r.StatusCode, body, want)
		}
	}
}

// TestMapFromEnv: the map flags' environment twins.
func TestMapFromEnv(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	const admin = "test-admin-token-env-0123456789abcdef"
	p := startEnv(t, addr, []string{"HUB_MAP_TILES=tianditu", "HUB_MAP_TILES_KEY=0123abcd"}, "-data", dir, "-admin-token", admin)
	code, out := p.call("GET", "/api/v1/map", admin, nil)
	layers, _ := out["layers"].([]any)
	if code != 200 || out["crs"] != "wgs84" || len(layers) != 2 {
		t.Fatalf("GET /api/v1/map: %d %v", code, out)
	}
	for i, l := range layers {
		u := l.(map[string]any)["url"].(string)
		if !strings.HasSuffix(u, "&tk=0123abcd") || l.(map[string]any)["overlay"] != (i == 1) {
			t.Fatalf("layer %d: %v", i, l)
		}
	}
}

// TestMapBadFlags: a basemap hubd cannot use stops it at start, saying why.
func TestMapBadFlags(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-map-tiles", "tianditu"}, "needs the Tianditu key"},
		{[]string{"-map-tiles", "https://t.example.org/{z}/{x}.png"}, "{z}, {x} and {y}"},
		{[]string{"-map-mbtiles", filepath.Join(dir, "missing.mbtiles")}, "no such file"},
		{[]string{"-map-tiles", "osm", "-map-crs", "bd09"}, "-map-crs"},
	} {
		cmd := exec.Command(hubdBin, append([]string{"-addr", freeAddr(t), "-data", filepath.Join(dir, "data")}, tc.args...)...)
		cmd.Env = append(cmd.Environ(), "HUB_POSTGRES_URL=", "HUB_REDIS_URL=")
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(string(out), tc.want) {
			t.Fatalf("hubd %v: %v\n%s", tc.args, err, out)
		}
	}
}
