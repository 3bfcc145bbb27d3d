package basemap

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the database/sql driver "sqlite", as storage/sqlite uses it

	"github.com/longyou/hub/internal/errd"
)

// mbtiles is an open MBTiles file (https://github.com/mapbox/mbtiles-spec):
// SQLite with tiles(zoom_level, tile_column, tile_row, tile_data), rows
// numbered TMS-style from the south, and metadata(name, value).
type mbtiles struct {
	db *sql.DB
	// ctype is the tiles' Content-Type from the format metadata; empty:
	// sniffed from each tile.
	ctype string
}

// maxZoom bounds the zoom of a tile address (2^30 tiles a side is far
// below a centimetre).
const maxZoom = 30

// tileTimeout bounds one tile's query.
const tileTimeout = 5 * time.Second

var formatTypes = map[string]string{"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp"}

// openMBTiles opens path read-only and immutable (hubd never writes it;
// replace the file and restart to change it) and reads its metadata.
func openMBTiles(path, crs, attribution string) (_ *Map, err error) {
	defer errd.Wrap(&err, "-map-mbtiles "+path)
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(abs)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, errors.New("is a folder, not an MBTiles file")
	}
	// A file: URI, so that SQLite applies mode and immutable (modernc.org/sqlite
	// drops the query of a plain file name).
	dsn := (&url.URL{Scheme: "file", Path: abs, RawQuery: "mode=ro&immutable=1"}).String()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = db.Close()
		}
	}()
	db.SetMaxOpenConns(4)
	db.SetMaxIdleConns(4)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	tables := map[string]bool{}
	rows, err := db.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name IN ('tiles', 'metadata')`)
	if err != nil {
		return nil, fmt.Errorf("not an MBTiles file: %w", err)
	}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return nil, err
		}
		tables[n] = true
	}
	if err := rows.Close(); err != nil {
		return nil, fmt.Errorf("not an MBTiles file: %w", err)
	}
	if !tables["tiles"] {
		return nil, errors.New("not an MBTiles file: it has no tiles table")
	}
	meta := map[string]string{}
	if tables["metadata"] {
		rows, err := db.QueryContext(ctx, `SELECT name, value FROM metadata`)
		if err != nil {
			return nil, fmt.Errorf("read metadata: %w", err)
		}
		for rows.Next() {
			var n, v sql.NullString
			if err := rows.Scan(&n, &v); err != nil {
				rows.Close()
				return nil, fmt.Errorf("read metadata: %w", err)
			}
			meta[strings.ToLower(n.String)] = v.String
		}
		if err := rows.Close(); err != nil {
			return nil, fmt.Errorf("read metadata: %w", err)
		}
	}

	mb := &mbtiles{db: db}
	switch f := strings.ToLower(strings.TrimSpace(meta["format"])); f {
	case "":
		// Older files name no format: look at one tile.
		var data []byte
		err := db.QueryRowContext(ctx, `SELECT tile_data FROM tiles LIMIT 1`).Scan(&data)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, errors.New("the file has no tiles")
		}
		if err != nil {
			return nil, fmt.Errorf("read a tile: %w", err)
		}
		if ct := sniff(data); ct == "" {
			return nil, errors.New("its tiles are not png, jpg or webp images (vector tiles are not supported)")
		}
	case "pbf", "mvt":
		return nil, errors.New("vector tiles (format pbf) are not supported: give a raster MBTiles file (png, jpg or webp)")
	default:
		ct, ok := formatTypes[f]
		if !ok {
			return nil, fmt.Errorf("format %q is not supported: png, jpg or webp", f)
		}
		mb.ctype = ct
	}

	l := Layer{URL: TilesPath, Subdomains: []string{}, Attribution: attribution}
	if l.Attribution == "" {
		l.Attribution = plainText(meta["attribution"])
	}
	minZ, errMin := strconv.Atoi(strings.TrimSpace(meta["minzoom"]))
	maxZ, errMax := strconv.Atoi(strings.TrimSpace(meta["maxzoom"]))
	if errMin != nil || errMax != nil {
		var lo, hi sql.NullInt64
		if err := db.QueryRowContext(ctx, `SELECT min(zoom_level), max(zoom_level) FROM tiles`).Scan(&lo, &hi); err != nil {
			return nil, fmt.Errorf("read the zoom levels: %w", err)
		}
		if !lo.Valid {
			return nil, errors.New("the file has no tiles")
		}
		if errMin != nil {
			minZ = int(lo.Int64)
		}
		if errMax != nil {
			maxZ = int(hi.Int64)
		}
	}
	if minZ < 0 || maxZ > maxZoom || minZ > maxZ {
		return nil, fmt.Errorf("zoom levels %d-%d are out of range (0-%d)", minZ, maxZ, maxZoom)
	}
	l.MinZoom, l.MaxZoom = minZ, maxZ
	if b, ok := parseBounds(meta["bounds"]); ok {
		l.Bounds = &b
	}
	return &Map{info: Info{CRS: crs, Layers: []Layer{l}}, mb: mb}, nil
}

var tags = regexp.MustCompile(`<[^>]*>`)

// plainText turns an MBTiles attribution, often HTML (a link), into the
// plain text the pages show.
func plainText(s string) string {
	return strings.TrimSpace(html.UnescapeString(tags.ReplaceAllString(s, "")))
}

// parseBounds reads the metadata's "west,south,east,north".
func parseBounds(s string) ([4]float64, bool) {
	var b [4]float64
	parts := strings.Split(s, ",")
	if len(parts) != 4 {
		return b, false
	}
	for i, p := range parts {
		v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil {
			return b, false
		}
		b[i] = v
	}
	if b[0] < -180 || b[2] > 180 || b[1] < -90 || b[3] > 90 || b[0] >= b[2] || b[1] >= b[3] {
		return b, false
	}
	return b, true
}

// sniff is the image type of a tile, or "" when it is none the pages show.
func sniff(data []byte) string {
	switch ct := http.DetectContentType(data); ct {
	case "image/png", "image/jpeg", "image/webp":
		return ct
	}
	return ""
}

// Tiles serves GET /tiles/{z}/{x}/{y} (XYZ numbering; y may carry an
// extension such as .png) from the MBTiles file: 400 for an address that
// is no tile, 404 for a tile the file lacks or without a file. Mounted
// with that pattern it reads the path values; elsewhere the path's last
// three segments. The caller authenticates.
func (m *Map) Tiles() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if m == nil || m.mb == nil {
			http.Error(w, "no MBTiles basemap on this hub", http.StatusNotFound)
			return
		}
		z, x, y, ok := tileAddr(r)
		if !ok {
			http.Error(w, fmt.Sprintf("bad tile address: /tiles/{z}/{x}/{y} with 0 <= z <= %d and 0 <= x, y < 2^z", maxZoom), http.StatusBadRequest)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), tileTimeout)
		defer cancel()
		var data []byte
		err := m.mb.db.QueryRowContext(ctx, `SELECT tile_data FROM tiles WHERE zoom_level = ? AND tile_column = ? AND tile_row = ?`,
			z, x, (int64(1)<<z)-1-y).Scan(&data)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && len(data) == 0) {
			http.Error(w, "no such tile", http.StatusNotFound)
			return
		}
		if err != nil {
			if r.Context().Err() == nil {
				http.Error(w, "could not read the tile", http.StatusInternalServerError)
			}
			return
		}
		ct := m.mb.ctype
		if ct == "" {
			if ct = sniff(data); ct == "" {
				ct = "application/octet-stream"
			}
		}
		h := w.Header()
		h.Set("Content-Type", ct)
		h.Set("Content-Length", strconv.Itoa(len(data)))
		h.Set("Cache-Control", "public, max-age=86400")
		h.Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(data)
	})
}

// tileAddr reads and checks z, x and y.
func tileAddr(r *http.Request) (z, x, y int64, ok bool) {
	zs, xs, ys := r.PathValue("z"), r.PathValue("x"), r.PathValue("y")
	if zs == "" && xs == "" && ys == "" {
		parts := strings.Split(strings.TrimSuffix(r.URL.Path, "/"), "/")
		if len(parts) < 3 {
			return 0, 0, 0, false
		}
		zs, xs, ys = parts[len(parts)-3], parts[len(parts)-2], parts[len(parts)-1]
	}
	if i := strings.IndexByte(ys, '.'); i >= 0 {
		ys = ys[:i]
	}
	num := func(s string) (int64, bool) {
		v, err := strconv.ParseInt(s, 10, 64)
		return v, err == nil && v >= 0 && s[0] != '+'
	}
	var okz, okx, oky bool
	z, okz = num(zs)
	x, okx = num(xs)
	y, oky = num(ys)
	if !okz || !okx || !oky || z > maxZoom || x >= int64(1)<<z || y >= int64(1)<<z {
		return 0, 0, 0, false
	}
	return z, x, y, true
}
