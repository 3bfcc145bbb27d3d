package mbtilesgen_test

import (
	"context"
	"image/png"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"testing"

	"go.uber.org/goleak"

	"github.com/longyou/hub/web/basemap"
	"github.com/longyou/hub/web/basemap/mbtilesgen"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestWriteCoversTheBounds opens the generated file as hubd does and asks
// for the tile under the demo county's centre and the corners at each zoom.
func TestWriteCoversTheBounds(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "grid.mbtiles")
	n, err := mbtilesgen.Write(context.Background(), path, mbtilesgen.Options{MinZoom: 9, MaxZoom: 12})
	if err != nil {
		t.Fatal(err)
	}
	if n < 4 || n > 400 {
		t.Fatalf("%d tiles", n)
	}
	m, err := basemap.Open(basemap.Config{MBTiles: path})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	l := m.Info().Layers[0]
	if l.MinZoom != 9 || l.MaxZoom != 12 || l.Bounds == nil || *l.Bounds != mbtilesgen.DemoBounds {
		t.Fatalf("layer %+v", l)
	}
	b := mbtilesgen.DemoBounds
	for z := 9; z <= 12; z++ {
		for _, p := range [][2]float64{{119.17, 29.03}, {b[0], b[1]}, {b[0], b[3]}, {b[2], b[1]}, {b[2], b[3]}} {
			x, y := mbtilesgen.TileXY(p[0], p[1], z)
			rec := httptest.NewRecorder()
			m.Tiles().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/tiles/"+strconv.Itoa(z)+"/"+strconv.Itoa(x)+"/"+strconv.Itoa(y), nil))
			if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "image/png" {
				t.Fatalf("z%d %v: %d %s", z, p, rec.Code, rec.Body)
			}
			img, err := png.Decode(rec.Body)
			if err != nil || img.Bounds().Dx() != 256 {
				t.Fatalf("z%d %v: not a 256 px PNG: %v", z, p, err)
			}
		}
	}
}
