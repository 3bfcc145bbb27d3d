package hub

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/longyou/hub/storage"
	"github.com/longyou/hub/web"
)

// maxJSONBody bounds a JSON request body; larger is 413 too_large.
const maxJSONBody = 1 << 20

// apiHandler is an authenticated API handler. Returning an error writes it
// as docs/API.md's error object.
type apiHandler func(w http.ResponseWriter, r *http.Request, p *Principal) error

func (h *Hub) routes() http.Handler {
	mux := http.NewServeMux()
	api := func(pattern string, fn apiHandler) {
		mux.Handle(pattern, h.instrument(pattern, h.authed(fn)))
	}
	api("POST /api/v1/villages", h.handleCreateVillage)
	api("GET /api/v1/villages", h.handleListVillages)
	api("POST /api/v1/members", h.handleCreateMember)
	api("GET /api/v1/me", h.handleMe)
	api("GET /api/v1/members", h.handleListMembers)
	api("GET /api/v1/members/{id}", h.handleGetMember)
	api("POST /api/v1/alerts", h.handleCreateAlert)
	api("POST /api/v1/alerts/preview", h.handlePreviewAlert)
	api("GET /api/v1/alerts", h.handleListAlerts)
	api("GET /api/v1/alerts/{id}", h.handleGetAlert)
	api("GET /api/v1/alerts/{id}/recipients", h.handleRecipients)
	api("POST /api/v1/alerts/{id}/cancel", h.handleCancelAlert)
	api("POST /api/v1/reports", h.handleCreateReport)
	api("GET /api/v1/reports", h.handleListReports)
	api("GET /api/v1/reports/{id}", h.handleGetReport)
	api("PATCH /api/v1/reports/{id}", h.handleUpdateReport)
	api("POST /api/v1/bulletins", h.handleCreateBulletin)
	api("GET /api/v1/bulletins", h.handleListBulletins)
	api("POST /api/v1/media", h.handleUploadMedia)
	api("GET /api/v1/media/{id}", h.handleGetMedia)
	api("GET /api/v1/density", h.handleDensity)
	mux.Handle("/api/", h.instrument("unknown", h.authed(func(http.ResponseWriter, *http.Request, *Principal) error {
		return apiErr(CodeNotFound, "no such endpoint")
	})))
	mux.Handle("GET /ws", h.recoverHTTP("ws", http.HandlerFunc(h.serveWS)))
	mux.Handle("POST "+webhookPath, h.instrument("twilio_status", http.HandlerFunc(h.handleTwilioStatus)))
	// The pages (command center and member page) speak only the API above.
	pages := web.Handler()
	mux.Handle("GET /{$}", pages)
	mux.Handle("GET /m", pages)
	mux.Handle("GET /assets/", pages)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", h.handleReady)
	mux.Handle("GET /metrics", promhttp.HandlerFor(h.cfg.Registry, promhttp.HandlerOpts{}))
	// Profiles for operators (admin token only), e.g.
	// go tool pprof 'http://host/debug/pprof/profile?seconds=20&token=...'
	mux.Handle("GET /debug/pprof/", h.authed(func(w http.ResponseWriter, r *http.Request, p *Principal) error {
		if p.Role != storage.RoleAdmin {
			return errForbidden
		}
		switch strings.TrimPrefix(r.URL.Path, "/debug/pprof/") {
		case "profile":
			pprof.Profile(w, r)
		case "trace":
			pprof.Trace(w, r)
		default:
			pprof.Index(w, r)
		}
		return nil
	}))
	return mux
}

func (h *Hub) handleReady(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2e9)
	defer cancel()
	status := map[string]string{"store": "ok", "broker": "ok"}
	code := http.StatusOK
	if h.shuttingDown.Load() {
		status["hub"], code = "shutting down", http.StatusServiceUnavailable
	}
	if err := h.store.Ping(ctx); err != nil {
		status["store"], code = err.Error(), http.StatusServiceUnavailable
	}
	if p, ok := h.broker.(interface{ Ping(context.Context) error }); ok {
		if err := p.Ping(ctx); err != nil {
			status["broker"], code = err.Error(), http.StatusServiceUnavailable
		}
	}
	writeJSON(w, code, status)
}

// authed authenticates the bearer token and runs fn with the principal.
func (h *Hub) authed(fn apiHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := h.authenticate(r)
		if err == nil {
			err = fn(w, r, p)
		}
		if err != nil {
			h.writeError(r.Context(), w, err)
		}
	})
}

func (h *Hub) authenticate(r *http.Request) (*Principal, error) {
	tok := bearer(r)
	if tok == "" {
		return nil, apiErr(CodeUnauthorized, "a bearer token is required")
	}
	if len(tok) > 512 {
		return nil, apiErr(CodeUnauthorized, "invalid token")
	}
	m, err := h.store.MemberByToken(r.Context(), HashToken(tok))
	if err != nil {
		if ae := toAPIError(err); ae.Code == CodeNotFound {
			return nil, apiErr(CodeUnauthorized, "invalid token")
		}
		return nil, err
	}
	return &Principal{Member: m}, nil
}

// statusWriter remembers the status code for the request metric.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (s *statusWriter) WriteHeader(code int) {
	s.code = code
	s.ResponseWriter.WriteHeader(code)
}

func (h *Hub) instrument(route string, next http.Handler) http.Handler {
	next = h.recoverHTTP(route, next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(sw, r)
		h.metrics.requests.WithLabelValues(route, strconv.Itoa(sw.code)).Inc()
	})
}

// recoverHTTP turns a panic in one request into a logged, counted 500.
func (h *Hub) recoverHTTP(where string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				h.metrics.panics.WithLabelValues(where).Inc()
				h.log.Error("panic in request", "route", where, "panic", v, "stack", string(debug.Stack()))
				writeJSON(w, http.StatusInternalServerError, map[string]any{"error": &APIError{Code: CodeInternal, Message: "internal error"}})
			}
		}()
		next.ServeHTTP(w, r)
	})
}

func (h *Hub) writeError(ctx context.Context, w http.ResponseWriter, err error) {
	ae := toAPIError(err)
	if ae.Code == CodeInternal {
		h.log.LogAttrs(ctx, slog.LevelError, "request failed", slog.Any("err", err))
	}
	writeJSON(w, ae.Status(), map[string]any{"error": ae})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// decodeJSON reads one JSON object into v: 413 over maxJSONBody, 400 for
// anything that is not exactly one well-typed JSON value.
func decodeJSON(r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxJSONBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return apiErr(CodeTooLarge, "the body is larger than %d bytes", maxJSONBody)
		}
		return badRequest("could not read the body")
	}
	return unmarshalStrict(body, v)
}

// unmarshalStrict decodes exactly one JSON value; unknown fields are
// allowed (docs/API.md lets clients and servers extend), wrong types are not.
func unmarshalStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		return badRequest("invalid JSON: %s", jsonErrText(err))
	}
	if dec.More() {
		return badRequest("invalid JSON: trailing data after the object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return badRequest("invalid JSON: trailing data after the object")
	}
	return nil
}

func jsonErrText(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field != "" {
			return "field " + te.Field + " must be " + te.Type.String()
		}
		return "expected " + te.Type.String()
	}
	return err.Error()
}
