// Command mkmbtiles writes a small MBTiles file of generated grid tiles
// (web/basemap/mbtilesgen) for trying `hubd -map-mbtiles` and for the
// browser tests, where no real tiles may be downloaded:
//
//	go run ./web/basemap/cmd/mkmbtiles -o /tmp/county.mbtiles
//	go run ./cmd/hubd -demo -map-mbtiles /tmp/county.mbtiles
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/longyou/hub/web/basemap/mbtilesgen"
)

func main() {
	out := flag.String("o", "county.mbtiles", "the file to write (replaced if it exists)")
	bounds := flag.String("bounds", "", "west,south,east,north in degrees (default: the demo county)")
	minZ := flag.Int("minzoom", 8, "lowest zoom level")
	maxZ := flag.Int("maxzoom", 13, "deepest zoom level")
	flag.Parse()
	o := mbtilesgen.Options{MinZoom: *minZ, MaxZoom: *maxZ}
	if *bounds != "" {
		parts := strings.Split(*bounds, ",")
		if len(parts) != 4 {
			fail(fmt.Errorf("-bounds %q: want west,south,east,north", *bounds))
		}
		for i, p := range parts {
			v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
			if err != nil {
				fail(fmt.Errorf("-bounds %q: %w", *bounds, err))
			}
			o.Bounds[i] = v
		}
	}
	n, err := mbtilesgen.Write(context.Background(), *out, o)
	if err != nil {
		fail(err)
	}
	fmt.Fprintf(os.Stderr, "mkmbtiles: wrote %d tiles to %s\n", n, *out)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "mkmbtiles:", err)
	os.Exit(1)
}
