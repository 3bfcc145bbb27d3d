package api

import "net/http"

// Authed serves next to any authenticated member (every role), with the
// token as a bearer header or, for browsers (<img>, Leaflet's tiles), as
// ?token=; a missing or bad token is docs/API.md's 401. The route names the
// request metric. The server mounts GET /api/v1/map and the basemap's
// tiles (web/basemap) with it.
func (a *API) Authed(route string, next http.Handler) http.Handler {
	return a.Instrument(route, a.authed(func(w http.ResponseWriter, r *http.Request, _ *Principal) error {
		next.ServeHTTP(w, r)
		return nil
	}))
}
