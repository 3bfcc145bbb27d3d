// Package mbtilesgen writes a small raster MBTiles file of generated
// tiles: a plain grid, one colour per zoom level, for testing the
// MBTiles basemap (web/e2e.sh, cmd/hubd's tests) where no real tiles may
// be downloaded. cmd/mkmbtiles is its command line.
package mbtilesgen

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"strconv"

	_ "modernc.org/sqlite" // the database/sql driver "sqlite"

	"github.com/longyou/hub/internal/errd"
)

// Options says what to generate. The zero value covers the demo county
// (around 29.03 N, 119.17 E) from zoom 8 to 13.
type Options struct {
	// Bounds is [west, south, east, north] in degrees. Zero: the demo county.
	Bounds [4]float64
	// MinZoom and MaxZoom are the zoom levels written (both zero: 8 to 13).
	MinZoom, MaxZoom int
	// Name is the metadata name. Empty: "longyou-test-grid".
	Name string
}

// DemoBounds covers the demo county with some margin.
var DemoBounds = [4]float64{118.85, 28.80, 119.50, 29.30}

// Write creates the file at path (replacing one already there) and
// returns how many tiles it wrote.
func Write(ctx context.Context, path string, o Options) (n int, err error) {
	defer errd.Wrap(&err, "mbtilesgen: write "+path)
	if o.Bounds == [4]float64{} {
		o.Bounds = DemoBounds
	}
	if o.MinZoom == 0 && o.MaxZoom == 0 {
		o.MinZoom, o.MaxZoom = 8, 13
	}
	if o.Name == "" {
		o.Name = "longyou-test-grid"
	}
	b := o.Bounds
	if b[0] >= b[2] || b[1] >= b[3] || b[0] < -180 || b[2] > 180 || b[1] < -85 || b[3] > 85 {
		return 0, fmt.Errorf("bad bounds %v: west,south,east,north", b)
	}
	if o.MinZoom < 0 || o.MaxZoom > 18 || o.MinZoom > o.MaxZoom {
		return 0, fmt.Errorf("bad zoom levels %d-%d (0-18)", o.MinZoom, o.MaxZoom)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return 0, err
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		return 0, err
	}
	defer func() {
		if cerr := db.Close(); err == nil {
			err = cerr
		}
	}()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	for _, q := range []string{
		`CREATE TABLE metadata (name TEXT, value TEXT)`,
		`CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB)`,
		`CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row)`,
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return 0, err
		}
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	meta := [][2]string{
		{"name", o.Name}, {"format", "png"}, {"type", "baselayer"}, {"version", "1.1"},
		{"description", "generated grid tiles for tests (web/basemap/mbtilesgen)"},
		{"attribution", "测试底图 test grid"},
		{"bounds", f(b[0]) + "," + f(b[1]) + "," + f(b[2]) + "," + f(b[3])},
		{"center", f((b[0]+b[2])/2) + "," + f((b[1]+b[3])/2) + "," + strconv.Itoa((o.MinZoom+o.MaxZoom)/2)},
		{"minzoom", strconv.Itoa(o.MinZoom)}, {"maxzoom", strconv.Itoa(o.MaxZoom)},
	}
	for _, kv := range meta {
		if _, err := tx.ExecContext(ctx, `INSERT INTO metadata (name, value) VALUES (?, ?)`, kv[0], kv[1]); err != nil {
			return 0, err
		}
	}
	ins, err := tx.PrepareContext(ctx, `INSERT INTO tiles (zoom_level, tile_column, tile_row, tile_data) VALUES (?, ?, ?, ?)`)
	if err != nil {
		return 0, err
	}
	defer ins.Close()
	for z := o.MinZoom; z <= o.MaxZoom; z++ {
		// Every tile that touches the bounds, so a map limited to them asks
		// for none the file lacks.
		x0, y0 := tileXY(b[0], b[3], z)
		x1, y1 := tileXY(b[2], b[1], z)
		for x := x0; x <= x1; x++ {
			for y := y0; y <= y1; y++ {
				data, err := render(z, x, y)
				if err != nil {
					return n, err
				}
				if _, err := ins.ExecContext(ctx, z, x, (1<<z)-1-y, data); err != nil {
					return n, err
				}
				n++
			}
		}
	}
	return n, tx.Commit()
}

// tileXY is the XYZ tile holding a point at zoom z (Web Mercator).
func tileXY(lng, lat float64, z int) (x, y int) {
	n := float64(int(1) << z)
	x = int(math.Floor((lng + 180) / 360 * n))
	r := lat * math.Pi / 180
	y = int(math.Floor((1 - math.Log(math.Tan(r)+1/math.Cos(r))/math.Pi) / 2 * n))
	clamp := func(v int) int { return min(max(v, 0), int(n)-1) }
	return clamp(x), clamp(y)
}

// zoomColours are the background of each zoom level, cycling: the zoom is
// visible at a glance.
var zoomColours = []color.RGBA{
	{232, 240, 226, 255}, {226, 236, 244, 255}, {244, 238, 224, 255},
	{238, 228, 242, 255}, {224, 242, 238, 255}, {246, 230, 230, 255},
}

// render draws one 256-pixel tile: the zoom's colour, a checkerboard shade
// by tile, a thin grid of quarters and a darker tile border.
func render(z, x, y int) ([]byte, error) {
	bg := zoomColours[z%len(zoomColours)]
	if (x+y)%2 == 1 {
		bg = color.RGBA{bg.R - 12, bg.G - 12, bg.B - 12, 255}
	}
	pal := color.Palette{bg, color.RGBA{190, 190, 190, 255}, color.RGBA{120, 130, 140, 255}}
	img := image.NewPaletted(image.Rect(0, 0, 256, 256), pal)
	for i := 0; i < 256; i++ {
		for j := 0; j < 256; j++ {
			switch {
			case i < 2 || j < 2:
				img.SetColorIndex(i, j, 2)
			case i%64 == 0 || j%64 == 0:
				img.SetColorIndex(i, j, 1)
			}
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
