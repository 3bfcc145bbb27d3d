package web

import (
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

// builtFS is a minimal build as build.sh lays it out.
func builtFS() fstest.MapFS {
	return fstest.MapFS{
		"index.html":                   {Data: []byte(`<!doctype html><title>cmd</title><script type="module" src="/assets/abc123/js/command.js"></script>`)},
		"m.html":                       {Data: []byte(`<!doctype html><title>m</title>`)},
		"a.html":                       {Data: []byte(`<!doctype html><title>a</title>`)},
		"assets/abc123/js/command.js":  {Data: []byte(`console.log("command")`)},
		"assets/abc123/css/common.css": {Data: []byte(`body{}`)},
		"assets/abc123/css/common.css.gz": {Data: func() []byte {
			var b bytes.Buffer
			w := gzip.NewWriter(&b)
			_, _ = w.Write([]byte(`body{}`))
			_ = w.Close()
			return b.Bytes()
		}()},
		"assets/abc123/vendor/leaflet.js": {Data: []byte(`/* leaflet */`)},
		"assets/abc123/img/icon.svg":      {Data: []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`)},
		"assets/abc123/js/secret.go":      {Data: []byte(`package x`)},
	}
}

func get(t *testing.T, h http.Handler, path string, hdr ...string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestPages(t *testing.T) {
	t.Parallel()
	h := newHandler(builtFS())
	for _, tc := range []struct{ path, want string }{
		{"/", "<title>cmd</title>"},
		{"/m", "<title>m</title>"},
		{"/a/AbC-_12", "<title>a</title>"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			t.Parallel()
			res := get(t, h, tc.path)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("status %d", res.StatusCode)
			}
			if ct := res.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			if cc := res.Header.Get("Cache-Control"); cc != "no-cache" {
				t.Errorf("Cache-Control %q, want no-cache", cc)
			}
			if rp := res.Header.Get("Referrer-Policy"); rp != "no-referrer" {
				t.Errorf("Referrer-Policy %q: the page URL carries the token", rp)
			}
			if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
				t.Errorf("Content-Security-Policy %q", csp)
			}
			if b := body(t, res); !strings.Contains(b, tc.want) {
				t.Errorf("body %q lacks %q", b, tc.want)
			}
			// Revalidation: the same ETag answers 304.
			etag := res.Header.Get("ETag")
			if etag == "" {
				t.Fatal("no ETag")
			}
			if res2 := get(t, h, tc.path, "If-None-Match", etag); res2.StatusCode != http.StatusNotModified {
				t.Errorf("If-None-Match: status %d, want 304", res2.StatusCode)
			}
			// gzip when asked.
			res3 := get(t, h, tc.path, "Accept-Encoding", "gzip, br")
			if res3.Header.Get("Content-Encoding") != "gzip" {
				t.Fatalf("no gzip")
			}
			zr, err := gzip.NewReader(res3.Body)
			if err != nil {
				t.Fatal(err)
			}
			if b, _ := io.ReadAll(zr); !strings.Contains(string(b), tc.want) {
				t.Errorf("gzip body %q lacks %q", b, tc.want)
			}
		})
	}
}

func TestAssets(t *testing.T) {
	t.Parallel()
	h := newHandler(builtFS())
	for _, tc := range []struct {
		path, accept  string
		status        int
		ctype, encode string
	}{
		{"/assets/abc123/js/command.js", "", 200, "text/javascript; charset=utf-8", ""},
		{"/assets/abc123/css/common.css", "", 200, "text/css; charset=utf-8", ""},
		{"/assets/abc123/css/common.css", "gzip", 200, "text/css; charset=utf-8", "gzip"},
		{"/assets/abc123/css/common.css", "gzip;q=0", 200, "text/css; charset=utf-8", ""},
		{"/assets/abc123/img/icon.svg", "", 200, "image/svg+xml", ""},
		{"/assets/abc123/js/missing.js", "", 404, "", ""},
		{"/assets/abc123/js/", "", 404, "", ""},
		{"/assets/abc123/js", "", 404, "", ""},
		{"/assets/abc123/js/secret.go", "", 404, "", ""}, // unknown types are not served
		{"/assets/abc123/../../index.html", "", 404, "", ""},
		{"/elsewhere", "", 404, "", ""},
		{"/m/", "", 404, "", ""},
		{"/a", "", 404, "", ""},
		{"/a/", "", 404, "", ""},
		{"/a/x/y", "", 404, "", ""},
	} {
		t.Run(tc.path+"|"+tc.accept, func(t *testing.T) {
			t.Parallel()
			res := get(t, h, tc.path, "Accept-Encoding", tc.accept)
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", res.StatusCode, tc.status)
			}
			if tc.status != 200 {
				return
			}
			if ct := res.Header.Get("Content-Type"); ct != tc.ctype {
				t.Errorf("Content-Type %q, want %q", ct, tc.ctype)
			}
			if ce := res.Header.Get("Content-Encoding"); ce != tc.encode {
				t.Errorf("Content-Encoding %q, want %q", ce, tc.encode)
			}
			if cc := res.Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") {
				t.Errorf("Cache-Control %q: hashed assets are cached for good", cc)
			}
		})
	}
}

func TestMethodNotAllowed(t *testing.T) {
	t.Parallel()
	h := newHandler(builtFS())
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("status %d", rec.Code)
	}
}

// TestNotBuilt: a fresh clone has only dist/README.md; both pages say how
// to build, and no asset is served.
func TestNotBuilt(t *testing.T) {
	t.Parallel()
	h := newHandler(fstest.MapFS{"README.md": {Data: []byte("placeholder")}})
	for _, path := range []string{"/", "/m"} {
		res := get(t, h, path)
		if res.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("%s: status %d, want 503", path, res.StatusCode)
		}
		if ct := res.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("%s: Content-Type %q", path, ct)
		}
		if b := body(t, res); !strings.Contains(b, NotBuiltMessage) {
			t.Errorf("%s: body lacks %q", path, NotBuiltMessage)
		}
	}
	if res := get(t, h, "/assets/x/js/command.js"); res.StatusCode != http.StatusNotFound {
		t.Errorf("asset: status %d, want 404", res.StatusCode)
	}
}

// TestHandler runs against what is embedded now: the real build when
// build.sh ran, the placeholder otherwise. Either way the pages are HTML.
func TestHandler(t *testing.T) {
	t.Parallel()
	h := Handler()
	_, err := fs.Stat(dist, "dist/index.html")
	built := err == nil
	for _, path := range []string{"/", "/m"} {
		res := get(t, h, path)
		if ct := res.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("%s: Content-Type %q", path, ct)
		}
		b := body(t, res)
		switch {
		case built && res.StatusCode != http.StatusOK:
			t.Errorf("%s: status %d with a build", path, res.StatusCode)
		case built && strings.Contains(b, "__ASSETS__"):
			t.Errorf("%s: build.sh left the assets placeholder in the page", path)
		case !built && !strings.Contains(b, NotBuiltMessage):
			t.Errorf("%s: without a build the page must say %q", path, NotBuiltMessage)
		}
	}
	if !built {
		return
	}
	// Every asset a page names is served.
	res := get(t, h, "/")
	page := body(t, res)
	for _, part := range strings.Split(page, `"`) {
		if !strings.HasPrefix(part, "/assets/") {
			continue
		}
		if r := get(t, h, part); r.StatusCode != http.StatusOK {
			t.Errorf("%s: status %d", part, r.StatusCode)
		}
	}
}
