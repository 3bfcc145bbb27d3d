package basemap

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
)

// tile is one row of an MBTiles tiles table (TMS row numbering).
type tile struct {
	z, x, row int
	data      []byte
}

// writeMBTiles writes an MBTiles file by hand, the way other tools do:
// meta nil means no metadata table, withTiles false no tiles table.
func writeMBTiles(t *testing.T, path string, meta map[string]string, tiles []tile, withTiles bool) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`CREATE TABLE other (a INTEGER)`) // a SQLite file even without the MBTiles tables
	if meta != nil {
		exec(`CREATE TABLE metadata (name TEXT, value TEXT)`)
		for k, v := range meta {
			exec(`INSERT INTO metadata (name, value) VALUES (?, ?)`, k, v)
		}
	}
	if withTiles {
		exec(`CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB)`)
		exec(`CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row)`)
		for _, tl := range tiles {
			exec(`INSERT INTO tiles VALUES (?, ?, ?, ?)`, tl.z, tl.x, tl.row, tl.data)
		}
	}
}

// solid is a small image of one colour, encoded as PNG or JPEG.
func solid(t *testing.T, c color.RGBA, asJPEG bool) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	var buf bytes.Buffer
	var err error
	if asJPEG {
		err = jpeg.Encode(&buf, img, nil)
	} else {
		err = png.Encode(&buf, img)
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func get(t *testing.T, h http.Handler, path string) (*http.Response, []byte) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	res := rec.Result()
	body, _ := io.ReadAll(res.Body)
	return res, body
}

func TestMBTilesServesXYZ(t *testing.T) {
	t.Parallel()
	north := solid(t, color.RGBA{200, 0, 0, 255}, false) // z1 x0, XYZ y 0 (the northern half)
	south := solid(t, color.RGBA{0, 0, 200, 255}, false) // z1 x0, XYZ y 1
	deep := solid(t, color.RGBA{0, 200, 0, 255}, false)
	path := filepath.Join(t.TempDir(), "county.mbtiles")
	writeMBTiles(t, path, map[string]string{
		"name": "county", "format": "png", "bounds": "118.9,28.8,119.5,29.3",
		"attribution": `<a href="https://example.org">© 县测绘 &amp; 朋友</a>`,
	}, []tile{
		{1, 0, 1, north},
		{1, 0, 0, south},
		{3, 6, 4, deep}, // XYZ y = 7-4 = 3
	}, true)

	m, err := Open(Config{MBTiles: path, CRS: "gcj02"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() }) // after the parallel subtests
	got, _ := json.Marshal(m.Info())
	want := `{"crs":"gcj02","layers":[{"url":"/tiles/{z}/{x}/{y}","subdomains":[],"attribution":"© 县测绘 \u0026 朋友","min_zoom":1,"max_zoom":3,"overlay":false,"bounds":[118.9,28.8,119.5,29.3]}],"network":false}`
	if string(got) != want {
		t.Fatalf("Info:\n got %s\nwant %s", got, want)
	}

	// Mounted as the server mounts it, and bare (the path's last segments).
	mux := http.NewServeMux()
	mux.Handle("GET /tiles/{z}/{x}/{y}", m.Tiles())
	for name, h := range map[string]http.Handler{"mux": mux, "bare": m.Tiles()} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			for _, tc := range []struct {
				path string
				want []byte
			}{
				{"/tiles/1/0/0", north},
				{"/tiles/1/0/1", south},
				{"/tiles/3/6/3", deep},
				{"/tiles/3/6/3.png", deep},
			} {
				res, body := get(t, h, tc.path)
				if res.StatusCode != http.StatusOK || !bytes.Equal(body, tc.want) {
					t.Fatalf("%s: %d, %d bytes (want the tile of %d bytes)", tc.path, res.StatusCode, len(body), len(tc.want))
				}
				if ct := res.Header.Get("Content-Type"); ct != "image/png" {
					t.Fatalf("%s: Content-Type %q", tc.path, ct)
				}
				if cc := res.Header.Get("Cache-Control"); cc != "public, max-age=86400" {
					t.Fatalf("%s: Cache-Control %q", tc.path, cc)
				}
			}
			for _, tc := range []struct {
				path string
				code int
			}{
				{"/tiles/1/1/0", http.StatusNotFound}, // in range, not in the file
				{"/tiles/3/6/4", http.StatusNotFound}, // the unflipped row: not there
				{"/tiles/0/0/0", http.StatusNotFound},
				{"/tiles/1/2/0", http.StatusBadRequest}, // x beyond 2^z
				{"/tiles/1/0/2", http.StatusBadRequest},
				{"/tiles/31/0/0", http.StatusBadRequest},
				{"/tiles/a/0/0", http.StatusBadRequest},
				{"/tiles/1/-1/0", http.StatusBadRequest},
				{"/tiles/1/+0/0", http.StatusBadRequest},
				{"/tiles/1/0/0x1", http.StatusBadRequest},
				{"/tiles/99999999999999999999/0/0", http.StatusBadRequest},
			} {
				if res, body := get(t, h, tc.path); res.StatusCode != tc.code {
					t.Fatalf("%s: %d %s, want %d", tc.path, res.StatusCode, body, tc.code)
				}
			}
		})
	}
}

func TestMBTilesSniffsWithoutFormat(t *testing.T) {
	t.Parallel()
	jpg := solid(t, color.RGBA{10, 120, 10, 255}, true)
	path := filepath.Join(t.TempDir(), "old.mbtiles")
	// No metadata table at all: zooms from the tiles, type from the bytes.
	writeMBTiles(t, path, nil, []tile{{5, 26, 18, jpg}, {7, 106, 74, jpg}}, true)
	m, err := Open(Config{MBTiles: path, Attribution: "本地底图"})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	l := m.Info().Layers[0]
	if l.MinZoom != 5 || l.MaxZoom != 7 || l.Attribution != "本地底图" || l.Bounds != nil || m.Info().CRS != "wgs84" {
		t.Fatalf("layer %+v", l)
	}
	res, body := get(t, m.Tiles(), "/tiles/5/26/13")
	if res.StatusCode != http.StatusOK || !bytes.Equal(body, jpg) || res.Header.Get("Content-Type") != "image/jpeg" {
		t.Fatalf("%d %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
}

func TestTilesWithoutMBTiles(t *testing.T) {
	t.Parallel()
	var nilMap *Map
	if res, _ := get(t, nilMap.Tiles(), "/tiles/1/0/0"); res.StatusCode != http.StatusNotFound {
		t.Fatalf("nil Map: %d", res.StatusCode)
	}
	m, err := Open(Config{Tiles: "osm"})
	if err != nil {
		t.Fatal(err)
	}
	if res, _ := get(t, m.Tiles(), "/tiles/1/0/0"); res.StatusCode != http.StatusNotFound {
		t.Fatalf("osm Map: %d", res.StatusCode)
	}
}
