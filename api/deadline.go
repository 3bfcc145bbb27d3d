package api

import (
	"context"
	"net/http"
	"strings"
	"time"
)

// Deadlines of an HTTP request (docs/API.md v1.4): how long the client may
// take to send its body, how long the whole answer may take to write, and
// how long the hub may work on it (store calls included) before it answers
// 503 unavailable. A body that never finishes is cut at its read deadline
// (the connection is closed), not held for minutes; a stalled database
// gives 503 within the work deadline, not a hung request.
type deadlines struct {
	read, write, work time.Duration
}

var (
	// Most routes: a JSON body of at most 1 MiB.
	defaultDeadlines = deadlines{read: 15 * time.Second, write: 30 * time.Second, work: 10 * time.Second}
	// Uploads (photos up to 5 MiB, a travel network up to 32 MiB) from
	// phones on rural mobile networks, and parsing a network.
	uploadDeadlines = deadlines{read: 2 * time.Minute, write: 2 * time.Minute, work: time.Minute}
	// Roster imports (v1.5): a county's sheet of up to 64 MiB, checked and
	// written in one transaction.
	importDeadlines = deadlines{read: 5 * time.Minute, write: 5 * time.Minute, work: 5 * time.Minute}
)

// deadlinesFor is the deadlines of a route pattern ("POST /api/v1/media").
func deadlinesFor(route string) deadlines {
	switch {
	case route == "POST /api/v1/media", route == "POST /api/v1/geo/network",
		route == "POST /api/v1/invitations", // a village, or the county, at once
		strings.HasPrefix(route, "GET /api/v1/geo/network.geojson"):
		return uploadDeadlines
	case strings.HasPrefix(route, "POST /api/v1/import/"):
		return importDeadlines
	}
	return defaultDeadlines
}

// withDeadlines applies a route's deadlines around next. The connection's
// read and write deadlines bound the client; the context bounds the work.
// After the handler the write deadline is left a few seconds ahead for the
// final flush; the next request on the connection sets its own (and the
// WebSocket upgrade clears them, see serveWS).
func withDeadlines(d deadlines, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		now := time.Now()
		_ = rc.SetReadDeadline(now.Add(d.read))
		_ = rc.SetWriteDeadline(now.Add(d.write))
		ctx, cancel := context.WithTimeout(r.Context(), d.work)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}
