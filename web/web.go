// Package web serves the hub's two pages, the command center (GET /) and
// the resident and patrol page (GET /m), and their static files
// (GET /assets/...). The pages speak only the public contract (docs/API.md and
// the README's extensions), exactly as any other client would.
//
// The files are built by web/build.sh into web/dist and embedded here.
// build.sh puts every asset under /assets/<build id>/, a hash of all its
// inputs, so assets are cached for a year and the two pages, which name
// the current build id, are revalidated on every load (no-cache + ETag).
// Without a build (a fresh clone), the pages answer 503 with a page that
// says how to build them, so the Go code always compiles and runs.
package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"
)

//go:embed dist
var dist embed.FS

// NotBuiltMessage is the text of the page served when the assets are
// missing.
const NotBuiltMessage = "assets not built: run web/build.sh"

// Handler serves GET / (command center), GET /m (resident and patrol page),
// GET /a/{code} (the answer page of an SMS answer link) and GET
// /assets/... from the embedded build. Any other path is 404.
func Handler() http.Handler {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // "dist" is a valid path: cannot happen
	}
	return newHandler(sub)
}

// page is one HTML page, kept in memory with its gzip form and ETag.
type page struct {
	body, gz []byte
	etag     string
}

type handler struct {
	pages  map[string]*page // by URL path: "/" and "/m"
	assets fs.FS            // rooted at dist/assets
	built  bool
}

// pageFiles maps each page's URL path to its file in dist.
var pageFiles = map[string]string{"/": "index.html", "/m": "m.html", "/a": "a.html"}

func newHandler(fsys fs.FS) *handler {
	h := &handler{pages: map[string]*page{}, built: true}
	for url, name := range pageFiles {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			h.built = false
			break
		}
		h.pages[url] = newPage(b)
	}
	if !h.built {
		np := newPage([]byte(notBuiltPage))
		h.pages = map[string]*page{"/": np, "/m": np, "/a": np}
	}
	if sub, err := fs.Sub(fsys, "assets"); err == nil {
		h.assets = sub
	}
	return h
}

func newPage(b []byte) *page {
	sum := sha256.Sum256(b)
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return &page{body: b, gz: buf.Bytes(), etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
}

const notBuiltPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Longyou hub: assets not built</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font:18px/1.5 system-ui,sans-serif;margin:3em auto;max-width:40em;padding:0 1em">
<h1>` + NotBuiltMessage + `</h1>
<p>The web pages of this hub were not built into the binary. From the repository root run
<code>web/build.sh</code> (needs Node.js and npm), then rebuild and restart <code>hubd</code>.</p>
<p>网页资源尚未构建：请运行 <code>web/build.sh</code>，然后重新编译并启动 <code>hubd</code>。</p>
<p>The API, the WebSocket and the ops endpoints work without the pages.</p>
</body></html>
`

// contentTypes is fixed here rather than taken from the system's mime
// tables, which differ between machines.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
	".png":  "image/png",
	".jpg":  "image/jpeg",
	".webp": "image/webp",
	".ico":  "image/x-icon",
	".json": "application/json",
	".txt":  "text/plain; charset=utf-8",
	".map":  "application/json",
}

// contentSecurityPolicy: scripts and sockets only from the hub itself;
// images also from any http(s) origin because the base-map tile server is
// a setting of the command center.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data: blob: https: http:; connect-src 'self' ws: wss:; " +
	"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if p, ok := h.pages[r.URL.Path]; ok && r.URL.Path != "/a" {
		h.servePage(w, r, p)
		return
	}
	// The answer page of an SMS answer link: /a/{code}, one path segment
	// (the page reads the code from its own address).
	if code, ok := strings.CutPrefix(r.URL.Path, "/a/"); ok && code != "" && !strings.Contains(code, "/") {
		h.servePage(w, r, h.pages["/a"])
		return
	}
	if rest, ok := strings.CutPrefix(r.URL.Path, "/assets/"); ok && h.built {
		h.serveAsset(w, r, rest)
		return
	}
	http.NotFound(w, r)
}

func (h *handler) servePage(w http.ResponseWriter, r *http.Request, p *page) {
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Content-Security-Policy", contentSecurityPolicy)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	// The pages are opened with ?token=; never leak it to a tile server.
	hd.Set("Referrer-Policy", "no-referrer")
	if !h.built {
		hd.Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write(p.body)
		return
	}
	hd.Set("Cache-Control", "no-cache")
	hd.Set("ETag", p.etag)
	hd.Set("Vary", "Accept-Encoding")
	if etagMatch(r.Header.Get("If-None-Match"), p.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := p.body
	if acceptsGzip(r) {
		hd.Set("Content-Encoding", "gzip")
		body = p.gz
	}
	http.ServeContent(w, r, "", zeroTime, bytes.NewReader(body))
}

// serveAsset serves dist/assets/<name>, its .gz twin when the client takes
// gzip. Assets under a build id directory never change, so they are cached
// for a year.
func (h *handler) serveAsset(w http.ResponseWriter, r *http.Request, name string) {
	if name == "" || strings.HasSuffix(name, "/") || !fs.ValidPath(name) || path.Clean(name) != name {
		http.NotFound(w, r)
		return
	}
	ct, ok := contentTypes[path.Ext(name)]
	if !ok {
		http.NotFound(w, r)
		return
	}
	f, gz := h.openAsset(name, acceptsGzip(r))
	if f == nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	hd := w.Header()
	hd.Set("Content-Type", ct)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Vary", "Accept-Encoding")
	if strings.Contains(name, "/") {
		hd.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		hd.Set("Cache-Control", "no-cache")
	}
	if gz {
		hd.Set("Content-Encoding", "gzip")
	}
	if rs, ok := f.(io.ReadSeeker); ok {
		http.ServeContent(w, r, "", zeroTime, rs)
		return
	}
	b, err := io.ReadAll(f)
	if err != nil {
		http.Error(w, "read error", http.StatusInternalServerError)
		return
	}
	http.ServeContent(w, r, "", zeroTime, bytes.NewReader(b))
}

// openAsset opens name (or name.gz when wantGzip and it exists); it
// returns nil for a missing file or a directory.
func (h *handler) openAsset(name string, wantGzip bool) (fs.File, bool) {
	if h.assets == nil {
		return nil, false
	}
	if wantGzip {
		if f := openFile(h.assets, name+".gz"); f != nil {
			return f, true
		}
	}
	return openFile(h.assets, name), false
}

func openFile(fsys fs.FS, name string) fs.File {
	f, err := fsys.Open(name)
	if err != nil {
		return nil
	}
	if st, err := f.Stat(); err != nil || st.IsDir() {
		_ = f.Close()
		return nil
	}
	return f
}

// zeroTime makes ServeContent skip Last-Modified: embedded files have no
// modification time.
var zeroTime time.Time

// acceptsGzip reports whether Accept-Encoding names gzip with a non-zero
// quality.
func acceptsGzip(r *http.Request) bool {
	for part := range strings.SplitSeq(r.Header.Get("Accept-Encoding"), ",") {
		enc, params, _ := strings.Cut(part, ";")
		if !strings.EqualFold(strings.TrimSpace(enc), "gzip") {
			continue
		}
		for p := range strings.SplitSeq(params, ";") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(p), "q="); ok {
				q, err := strconv.ParseFloat(v, 64)
				return err == nil && q > 0
			}
		}
		return true
	}
	return false
}

func etagMatch(header, etag string) bool {
	for part := range strings.SplitSeq(header, ",") {
		part = strings.TrimPrefix(strings.TrimSpace(part), "W/")
		if part == etag || part == "*" {
			return true
		}
	}
	return false
}
