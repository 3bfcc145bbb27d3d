package basemap

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestOpenRefuses(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	notSQLite := filepath.Join(dir, "junk.mbtiles")
	if err := os.WriteFile(notSQLite, []byte(strings.Repeat("not a database ", 100)), 0o600); err != nil {
		t.Fatal(err)
	}
	noTiles := filepath.Join(dir, "notiles.mbtiles")
	writeMBTiles(t, noTiles, nil, nil, false)
	vector := filepath.Join(dir, "vector.mbtiles")
	writeMBTiles(t, vector, map[string]string{"format": "pbf"}, nil, true)
	tiff := filepath.Join(dir, "tiff.mbtiles")
	writeMBTiles(t, tiff, map[string]string{"format": "tiff"}, nil, true)
	empty := filepath.Join(dir, "empty.mbtiles")
	writeMBTiles(t, empty, map[string]string{}, nil, true)

	for _, tc := range []struct {
		name string
		cfg  Config
		want string // in the error
	}{
		{"unknown preset", Config{Tiles: "google"}, `-map-tiles "google": not a preset (amap, osm, tianditu, tianditu-img)`},
		{"template without z", Config{Tiles: "https://t.example.org/{x}/{y}.png"}, "{z}, {x} and {y}"},
		{"template without y", Config{Tiles: "https://t.example.org/{z}/{x}.png"}, "{z}, {x} and {y}"},
		{"not http", Config{Tiles: "ftp://t.example.org/{z}/{x}/{y}.png"}, "http(s)"},
		{"file URL", Config{Tiles: "file:///srv/{z}/{x}/{y}.png"}, "http(s)"},
		{"no host", Config{Tiles: "https:///{z}/{x}/{y}.png"}, "http(s)"},
		{"tianditu without key", Config{Tiles: "tianditu"}, "needs the Tianditu key (-map-tiles-key"},
		{"tianditu-img without key", Config{Tiles: "tianditu-img", Key: "  "}, "needs the Tianditu key"},
		{"bad crs", Config{Tiles: "osm", CRS: "bd09"}, `-map-crs "bd09": must be wgs84 or gcj02`},
		{"mbtiles missing", Config{MBTiles: filepath.Join(dir, "nope.mbtiles")}, "no such file"},
		{"mbtiles a folder", Config{MBTiles: dir}, "is a folder"},
		{"mbtiles not sqlite", Config{MBTiles: notSQLite}, "not an MBTiles file"},
		{"mbtiles without tiles table", Config{MBTiles: noTiles}, "no tiles table"},
		{"mbtiles vector", Config{MBTiles: vector}, "vector tiles (format pbf) are not supported"},
		{"mbtiles unknown format", Config{MBTiles: tiff}, `format "tiff" is not supported`},
		{"mbtiles without tiles", Config{MBTiles: empty}, "has no tiles"},
		{"mbtiles bad crs", Config{MBTiles: empty, CRS: "WGS-84"}, "-map-crs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m, err := Open(tc.cfg)
			if err == nil {
				m.Close()
				t.Fatalf("Open(%+v) succeeded", tc.cfg)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not say %q", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "basemap: ") {
				t.Fatalf("error %q lacks the package prefix", err)
			}
		})
	}
}

func TestOpenPresetsAndTemplates(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		cfg  Config
		want string // Info as JSON
	}{
		{"none", Config{}, `{"crs":"wgs84","layers":[],"network":false}`},
		{"none ignores crs", Config{CRS: "gcj02"}, `{"crs":"wgs84","layers":[],"network":false}`},
		{"osm", Config{Tiles: "osm", CRS: "gcj02"},
			`{"crs":"wgs84","layers":[{"url":"https://tile.openstreetmap.org/{z}/{x}/{y}.png","subdomains":[],"attribution":"© OpenStreetMap contributors","min_zoom":0,"max_zoom":19,"overlay":false}],"network":false}`},
		{"tianditu", Config{Tiles: "tianditu", Key: "ab12&x"},
			`{"crs":"wgs84","layers":[` +
				`{"url":"https://t{s}.tianditu.gov.cn/vec_w/wmts?SERVICE=WMTS\u0026REQUEST=GetTile\u0026VERSION=1.0.0\u0026LAYER=vec\u0026STYLE=default\u0026TILEMATRIXSET=w\u0026FORMAT=tiles\u0026TILEMATRIX={z}\u0026TILEROW={y}\u0026TILECOL={x}\u0026tk=ab12%26x","subdomains":["0","1","2","3","4","5","6","7"],"attribution":"© 天地图 Tianditu (国家地理信息公共服务平台)","min_zoom":1,"max_zoom":18,"overlay":false},` +
				`{"url":"https://t{s}.tianditu.gov.cn/cva_w/wmts?SERVICE=WMTS\u0026REQUEST=GetTile\u0026VERSION=1.0.0\u0026LAYER=cva\u0026STYLE=default\u0026TILEMATRIXSET=w\u0026FORMAT=tiles\u0026TILEMATRIX={z}\u0026TILEROW={y}\u0026TILECOL={x}\u0026tk=ab12%26x","subdomains":["0","1","2","3","4","5","6","7"],"attribution":"© 天地图 Tianditu (国家地理信息公共服务平台)","min_zoom":1,"max_zoom":18,"overlay":true}` +
				`],"network":false}`},
		{"amap", Config{Tiles: "amap", Attribution: "高德"},
			`{"crs":"gcj02","layers":[{"url":"https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn\u0026size=1\u0026scale=1\u0026style=8\u0026x={x}\u0026y={y}\u0026z={z}","subdomains":["1","2","3","4"],"attribution":"高德","min_zoom":3,"max_zoom":18,"overlay":false}],"network":false}`},
		{"template", Config{Tiles: "https://{s}.tiles.example.cn/{z}/{x}/{-y}.png", CRS: "gcj02", Attribution: "县测绘队"},
			`{"crs":"gcj02","layers":[{"url":"https://{s}.tiles.example.cn/{z}/{x}/{-y}.png","subdomains":["a","b","c"],"attribution":"县测绘队","min_zoom":0,"max_zoom":19,"overlay":false}],"network":false}`},
		{"template on a LAN", Config{Tiles: "http://10.0.0.5:8081/tiles/{z}/{x}/{y}.jpg"},
			`{"crs":"wgs84","layers":[{"url":"http://10.0.0.5:8081/tiles/{z}/{x}/{y}.jpg","subdomains":[],"attribution":"","min_zoom":0,"max_zoom":19,"overlay":false}],"network":false}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m, err := Open(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			got, _ := json.Marshal(m.Info())
			if string(got) != tc.want {
				t.Fatalf("Info:\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestInfoIsACopy(t *testing.T) {
	t.Parallel()
	m, err := Open(Config{Tiles: "tianditu", Key: "k"})
	if err != nil {
		t.Fatal(err)
	}
	a := m.Info()
	a.Layers[0].Subdomains[0] = "x"
	a.Layers[1].URL = "changed"
	a.Network = true
	b := m.Info()
	if b.Layers[0].Subdomains[0] != "0" || b.Layers[1].URL == "changed" || b.Network {
		t.Fatalf("Info shares state between calls: %+v", b)
	}
	var nilMap *Map
	if got, _ := json.Marshal(nilMap.Info()); string(got) != `{"crs":"wgs84","layers":[],"network":false}` {
		t.Fatalf("nil Map Info: %s", got)
	}
	if err := nilMap.Close(); err != nil {
		t.Fatal(err)
	}
}
