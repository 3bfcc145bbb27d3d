// Package basemap is the map under the command center's overlays, set once
// on the server for every operator (docs/API.md v1.3 "Maps"): a preset
// (OpenStreetMap, Tianditu vector or imagery, Amap), an XYZ URL template,
// or an MBTiles file that hubd serves itself for networks without
// internet. GET /api/v1/map answers Map.Info; GET /tiles/{z}/{x}/{y} is
// Map.Tiles.
//
// The stored positions stay WGS-84. Info names the tiles' coordinate
// system, and on a GCJ-02 basemap (Amap) the pages shift what they draw.
package basemap

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/longyou/hub/internal/errd"
)

// The coordinate systems of tiles (Info.CRS). Tianditu's CGCS2000 differs
// from WGS-84 by centimetres and is taken as WGS-84.
const (
	CRSWGS84 = "wgs84"
	CRSGCJ02 = "gcj02"
)

// TilesPath is the URL template of an MBTiles layer: the hub serves it
// (the pages append ?token=, as for media).
const TilesPath = "/tiles/{z}/{x}/{y}"

// Config is hubd's map flags (docs/API.md v1.3 "Maps"). The zero value is
// no basemap.
type Config struct {
	// Tiles is -map-tiles: a preset (osm, tianditu, tianditu-img, amap) or
	// an http(s) XYZ URL template with {z}, {x}, {y} (or {-y}) and
	// optionally {s}. Empty: no basemap, unless MBTiles is set.
	Tiles string
	// Key is -map-tiles-key: the Tianditu key (tk), required by the
	// Tianditu presets and unused by the others.
	Key string
	// CRS is -map-crs: the coordinate system of a URL template's or an
	// MBTiles file's tiles, wgs84 or gcj02. Empty means wgs84. Presets
	// know their own and ignore it.
	CRS string
	// MBTiles is -map-mbtiles: the path of a raster MBTiles file (png,
	// jpg, webp) to serve at TilesPath. It wins over Tiles.
	MBTiles string
	// Attribution is -map-attribution: the attribution line of a URL
	// template or an MBTiles file (plain text). Empty: the preset's, or the
	// MBTiles metadata's.
	Attribution string
}

// Info is the answer of GET /api/v1/map.
type Info struct {
	CRS    string  `json:"crs"`
	Layers []Layer `json:"layers"` // empty: no basemap
	// Network is whether the hub has a current travel network (the page
	// then offers its layer). The HTTP handler sets it; Map.Info leaves it
	// false.
	Network bool `json:"network"`
}

// Layer is one tile layer, in Leaflet's terms.
type Layer struct {
	// URL is the XYZ template; a path starting with "/" is served by the
	// hub and takes the token as ?token=.
	URL        string   `json:"url"`
	Subdomains []string `json:"subdomains"` // what {s} takes; empty without {s}
	// Attribution is plain text (the pages escape it).
	Attribution string `json:"attribution"`
	MinZoom     int    `json:"min_zoom"`
	MaxZoom     int    `json:"max_zoom"` // the deepest zoom with tiles; the pages may zoom further, scaling them
	Overlay     bool   `json:"overlay"`  // drawn above the base layer (annotations)
	// Bounds, when known ([west, south, east, north] in the layer's CRS),
	// is where the layer has tiles: the pages ask for none outside (an
	// MBTiles file covers one county). An addition to docs/API.md.
	Bounds *[4]float64 `json:"bounds,omitempty"`
}

// Map is an opened basemap. A nil *Map is no basemap.
type Map struct {
	info Info
	mb   *mbtiles // nil unless Config.MBTiles
}

// preset is a named basemap. Its URLs may hold {key}, replaced by
// Config.Key.
type preset struct {
	crs      string
	layers   []Layer
	needsKey bool
}

const tiandituAttribution = "© 天地图 Tianditu (国家地理信息公共服务平台)"

// tianditu is a Tianditu WMTS layer in the Web Mercator tile matrix set
// ("_w"), e.g. vec (vector) or cva (its annotations).
func tianditu(layer string, overlay bool) Layer {
	return Layer{
		URL: "https://t{s}.tianditu.gov.cn/" + layer + "_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=" + layer +
			"&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk={key}",
		Subdomains:  []string{"0", "1", "2", "3", "4", "5", "6", "7"},
		Attribution: tiandituAttribution,
		MinZoom:     1,
		MaxZoom:     18,
		Overlay:     overlay,
	}
}

var presets = map[string]preset{
	"osm": {crs: CRSWGS84, layers: []Layer{{
		URL: "https://tile.openstreetmap.org/{z}/{x}/{y}.png", Subdomains: []string{},
		Attribution: "© OpenStreetMap contributors", MinZoom: 0, MaxZoom: 19,
	}}},
	"tianditu":     {crs: CRSWGS84, needsKey: true, layers: []Layer{tianditu("vec", false), tianditu("cva", true)}},
	"tianditu-img": {crs: CRSWGS84, needsKey: true, layers: []Layer{tianditu("img", false), tianditu("cia", true)}},
	"amap": {crs: CRSGCJ02, layers: []Layer{{
		URL:         "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}",
		Subdomains:  []string{"1", "2", "3", "4"},
		Attribution: "© 高德地图 AutoNavi", MinZoom: 3, MaxZoom: 18,
	}}},
}

// presetNames lists the presets for error messages.
func presetNames() string {
	names := make([]string, 0, len(presets))
	for n := range presets {
		names = append(names, n)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// Open checks cfg and opens its basemap: the MBTiles file (read-only) when
// one is given, else the preset or URL template, else none. The errors
// name the flag at fault.
func Open(cfg Config) (_ *Map, err error) {
	defer errd.Wrap(&err, "basemap")
	crs := cfg.CRS
	switch crs {
	case "":
		crs = CRSWGS84
	case CRSWGS84, CRSGCJ02:
	default:
		return nil, fmt.Errorf("-map-crs %q: must be %s or %s", cfg.CRS, CRSWGS84, CRSGCJ02)
	}
	if cfg.MBTiles != "" {
		return openMBTiles(cfg.MBTiles, crs, cfg.Attribution)
	}
	if cfg.Tiles == "" {
		return &Map{info: Info{CRS: CRSWGS84, Layers: []Layer{}}}, nil
	}
	if !strings.Contains(cfg.Tiles, "://") && !strings.Contains(cfg.Tiles, "{") {
		p, ok := presets[cfg.Tiles]
		if !ok {
			return nil, fmt.Errorf("-map-tiles %q: not a preset (%s) nor an XYZ URL template", cfg.Tiles, presetNames())
		}
		key := strings.TrimSpace(cfg.Key)
		if p.needsKey && key == "" {
			return nil, fmt.Errorf("-map-tiles %s: needs the Tianditu key (-map-tiles-key, HUB_MAP_TILES_KEY; apply at console.tianditu.gov.cn)", cfg.Tiles)
		}
		layers := make([]Layer, len(p.layers))
		for i, l := range p.layers {
			l.URL = strings.ReplaceAll(l.URL, "{key}", url.QueryEscape(key))
			l.Subdomains = slices.Clone(l.Subdomains)
			if cfg.Attribution != "" {
				l.Attribution = cfg.Attribution
			}
			layers[i] = l
		}
		return &Map{info: Info{CRS: p.crs, Layers: layers}}, nil
	}
	if err := checkTemplate(cfg.Tiles); err != nil {
		return nil, fmt.Errorf("-map-tiles %q: %w", cfg.Tiles, err)
	}
	l := Layer{URL: cfg.Tiles, Subdomains: []string{}, Attribution: cfg.Attribution, MinZoom: 0, MaxZoom: 19}
	if strings.Contains(cfg.Tiles, "{s}") {
		l.Subdomains = []string{"a", "b", "c"} // Leaflet's default, as OSM-style servers name them
	}
	return &Map{info: Info{CRS: crs, Layers: []Layer{l}}}, nil
}

// errTemplate explains what a URL template needs.
var errTemplate = errors.New("an XYZ URL template is http(s) with {z}, {x} and {y} (or {-y}), e.g. https://tile.example.org/{z}/{x}/{y}.png")

// checkTemplate accepts an http(s) URL with {z}, {x} and {y} or {-y}.
func checkTemplate(tpl string) error {
	if !strings.Contains(tpl, "{z}") || !strings.Contains(tpl, "{x}") ||
		(!strings.Contains(tpl, "{y}") && !strings.Contains(tpl, "{-y}")) {
		return errTemplate
	}
	// Placeholders are not valid in a host name: parse an instance.
	inst := strings.NewReplacer("{s}", "a", "{z}", "1", "{x}", "1", "{y}", "1", "{-y}", "1", "{r}", "").Replace(tpl)
	u, err := url.Parse(inst)
	if err != nil {
		return fmt.Errorf("%w: %w", errTemplate, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errTemplate
	}
	return nil
}

// Info is the basemap as GET /api/v1/map shows it (Network false: the
// caller knows). Each call returns a fresh copy.
func (m *Map) Info() Info {
	if m == nil {
		return Info{CRS: CRSWGS84, Layers: []Layer{}}
	}
	info := Info{CRS: m.info.CRS, Layers: make([]Layer, len(m.info.Layers))}
	for i, l := range m.info.Layers {
		l.Subdomains = slices.Clone(l.Subdomains)
		if l.Bounds != nil {
			b := *l.Bounds
			l.Bounds = &b
		}
		info.Layers[i] = l
	}
	return info
}

// Close releases the MBTiles file. A nil Map, or one without a file, has
// nothing to release.
func (m *Map) Close() error {
	if m == nil || m.mb == nil {
		return nil
	}
	return m.mb.db.Close()
}
