// Package api is the hub's public interface: the HTTP routes of
// docs/API.md, bearer authentication, the one authorization check (may),
// the wire types and decoding rules, error rendering, and the handler of
// the commands clients send on their WebSocket.
package api

import (
	"bytes"
	"cmp"
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

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/longyou/hub/hub"
	"github.com/longyou/hub/internal/metrics"
	"github.com/longyou/hub/service"
	"github.com/longyou/hub/service/alerting"
	"github.com/longyou/hub/service/board"
	"github.com/longyou/hub/service/bulletins"
	"github.com/longyou/hub/service/credit"
	"github.com/longyou/hub/service/invites"
	"github.com/longyou/hub/service/letters"
	"github.com/longyou/hub/service/members"
	"github.com/longyou/hub/service/patrol"
	"github.com/longyou/hub/service/reports"
	"github.com/longyou/hub/service/travel"
	"github.com/longyou/hub/storage"
)

// maxJSONBody bounds a JSON request body; larger is 413 too_large.
const maxJSONBody = 1 << 20

// Pinger is the store's health check (readyz).
type Pinger interface {
	Ping(ctx context.Context) error
}

// Config is what the API serves.
type Config struct {
	Node      *hub.Node
	Store     Pinger
	Members   *members.Service
	Alerting  *alerting.Service
	Reports   *reports.Service
	Bulletins *bulletins.Service
	Travel    *travel.Service  // the travel network; nil: no network routes' data (reach by circles)
	Invites   *invites.Service // invitations, login codes, answer links; nil: none of their routes
	Letters   *letters.Service // the villager mailbox (v1.6); nil: its routes answer not_found
	Credit    *credit.Service  // inspections, boards, credit points (v1.6); nil: none of their routes
	Logger    *slog.Logger     // nil: slog.Default()
	// PublicURL is where people reach the hub (links in CAP messages and
	// the feed); empty means http://localhost.
	PublicURL string
	CAP       CAPConfig
	Audit     AuditStore     // the audit trail (audit.go); nil: nothing recorded, no audit routes
	Templates TemplateStore  // alert templates (templates.go); nil: no template routes
	Policy    PolicyKeeper   // the rules in force (policy.go); nil: no policy routes
	Board     *board.Service // the village board (v1.6); nil: none of its routes
	// Patrol is the patrol service (rounds, visits, tallies; v1.6); nil:
	// none of its routes.
	Patrol *patrol.Service
}

// API serves docs/API.md.
type API struct {
	node        *hub.Node
	store       Pinger
	members     *members.Service
	alerting    *alerting.Service
	reports     *reports.Service
	bulletins   *bulletins.Service
	travel      *travel.Service
	log         *slog.Logger
	metrics     *metrics.Metrics
	probe       writeProbe // readyz's cached write probe (privacy.go)
	invites     *invites.Service
	addrLimiter *service.Limiter // per client address, of the routes without a bearer (invites.go)
	publicURL   string
	cap         CAPConfig
	// The audit trail and templates (audit.go, templates.go).
	audit         AuditStore
	auditFailures prometheus.Counter
	templates     TemplateStore
	policy        PolicyKeeper
	letters       *letters.Service
	board         *board.Service
	credit        *credit.Service
	patrol        *patrol.Service
}

// New returns the API; Register mounts its routes.
func New(cfg Config) *API {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	a := &API{node: cfg.Node, store: cfg.Store, members: cfg.Members, alerting: cfg.Alerting,
		reports: cfg.Reports, bulletins: cfg.Bulletins, travel: cfg.Travel, log: cfg.Logger, metrics: cfg.Node.Metrics(),
		invites: cfg.Invites, publicURL: cmp.Or(cfg.PublicURL, "http://localhost"), cap: cfg.CAP,
		letters: cfg.Letters, board: cfg.Board, credit: cfg.Credit, patrol: cfg.Patrol}
	a.initAudit(cfg.Audit)
	a.templates = cfg.Templates
	a.policy = cfg.Policy
	return a
}

// apiHandler is an authenticated API handler. Returning an error writes it
// as docs/API.md's error object.
type apiHandler func(w http.ResponseWriter, r *http.Request, p *Principal) error

// Register mounts the API on mux: /api/v1, /ws, /healthz, /readyz,
// /metrics and /debug/pprof/.
func (a *API) Register(mux *http.ServeMux) {
	api := func(pattern string, fn apiHandler) {
		mux.Handle(pattern, a.Instrument(pattern, a.authed(a.audited(pattern, fn))))
	}
	api("POST /api/v1/villages", a.handleCreateVillage)
	api("GET /api/v1/villages", a.handleListVillages)
	api("POST /api/v1/members", a.handleCreateMember)
	api("GET /api/v1/me", a.handleMe)
	api("GET /api/v1/members", a.handleListMembers)
	api("GET /api/v1/members/{id}", a.handleGetMember)
	api("PATCH /api/v1/members/{id}", a.handleUpdateMember)
	api("GET /api/v1/members/{id}/export", a.handleExportMember)
	api("DELETE /api/v1/members/{id}", a.handleEraseMember)
	api("POST /api/v1/geo/network", a.handlePutNetwork)
	api("DELETE /api/v1/geo/network", a.handleDeleteNetwork)
	api("GET /api/v1/geo/network", a.handleGetNetwork)
	api("GET /api/v1/geo/network.geojson", a.handleNetworkGeoJSON)
	api("GET /api/v1/geo/isochrone", a.handleIsochrone)
	api("POST /api/v1/alerts", a.handleCreateAlert)
	api("POST /api/v1/alerts/preview", a.handlePreviewAlert)
	api("GET /api/v1/alerts", a.handleListAlerts)
	api("GET /api/v1/alerts/{id}", a.handleGetAlert)
	api("GET /api/v1/alerts/{id}/recipients", a.handleRecipients)
	api("POST /api/v1/alerts/{id}/cancel", a.handleCancelAlert)
	api("POST /api/v1/alerts/{id}/update", a.handleUpdateAlert) // v1.6 (cap_in.go)
	api("POST /api/v1/reports", a.handleCreateReport)
	api("GET /api/v1/reports", a.handleListReports)
	api("GET /api/v1/reports/{id}", a.handleGetReport)
	api("PATCH /api/v1/reports/{id}", a.handleUpdateReport)
	api("POST /api/v1/bulletins", a.handleCreateBulletin)
	api("GET /api/v1/bulletins", a.handleListBulletins)
	api("POST /api/v1/media", a.handleUploadMedia)
	api("GET /api/v1/media/{id}", a.handleGetMedia)
	api("GET /api/v1/density", a.handleDensity)
	a.registerTokens(api)
	a.registerCAP(mux)
	a.registerCAPFeed(mux) // v1.6 (cap_feed.go)
	a.registerRoster(api)
	a.registerBehalf(api)
	a.registerInvites(mux, api)
	api("PUT /api/v1/members/{id}/township", a.handleSetTownship)
	a.registerHouseholds(api)
	a.registerAudit(api)
	a.registerTemplates(api)
	a.registerLetters(api)
	a.registerPolicy(api)
	a.registerHandling(api)
	a.registerBoard(api)
	a.registerCredit(api)
	a.registerPatrol(api)
	mux.Handle("/api/", a.Instrument("unknown", a.authed(func(http.ResponseWriter, *http.Request, *Principal) error {
		return service.Errorf(service.CodeNotFound, "no such endpoint")
	})))
	mux.Handle("GET /ws", a.recoverHTTP("ws", http.HandlerFunc(a.serveWS)))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", a.handleReady)
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.metrics.Registry, promhttp.HandlerOpts{}))
	// Profiles for operators (admin token only), e.g.
	// curl -H "Authorization: Bearer $ADMIN" -o cpu.prof \
	//   'http://host/debug/pprof/profile?seconds=20'
	// (the token goes in the header: ?token= is refused here, v1.4).
	mux.Handle("GET /debug/pprof/", a.authed(func(w http.ResponseWriter, r *http.Request, p *Principal) error {
		if !may(p, ActProfile, Scope{}) {
			return service.ErrForbidden
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
}

func (a *API) handleReady(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2e9)
	defer cancel()
	status := map[string]string{"store": "ok", "broker": "ok"}
	code := http.StatusOK
	if a.node.ShuttingDown() {
		status["hub"], code = "shutting down", http.StatusServiceUnavailable
	}
	// The details (host, user, database) go to the log only.
	if err := a.store.Ping(ctx); err != nil {
		status["store"], code = "unavailable", http.StatusServiceUnavailable
		a.log.Warn("readyz: store unavailable", "err", err)
	} else if err := a.probeWrite(ctx); err != nil {
		status["store"], code = "cannot write", http.StatusServiceUnavailable
		a.log.Warn("readyz: store cannot write", "err", err)
	}
	if err := a.node.Ping(ctx); err != nil {
		status["broker"], code = "unavailable", http.StatusServiceUnavailable
		a.log.Warn("readyz: broker unavailable", "err", err)
	}
	writeJSON(w, code, status)
}

// authed authenticates the bearer token and runs fn with the principal.
func (a *API) authed(fn apiHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := a.authenticate(r)
		if err == nil {
			err = fn(w, r, p)
		}
		if err != nil {
			a.WriteError(r.Context(), w, err)
		}
	})
}

func (a *API) authenticate(r *http.Request) (*Principal, error) {
	tok := bearer(r)
	if tok == "" {
		return nil, service.Errorf(service.CodeUnauthorized, "a bearer token is required")
	}
	if len(tok) > 512 {
		return nil, service.Errorf(service.CodeUnauthorized, "invalid token")
	}
	m, t, err := a.members.SignIn(r.Context(), tok)
	if err != nil {
		return nil, err
	}
	p := &Principal{Member: m, Token: t}
	if m.Township != "" && m.Role == storage.RoleCadre {
		if p.Governs, err = a.members.TownshipVillages(r.Context(), m.Township); err != nil {
			return nil, err
		}
	}
	return p, nil
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

// Unwrap lets http.ResponseController reach the connection (deadlines).
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Instrument counts the route's requests by status code and turns a panic
// into a logged, counted 500.
func (a *API) Instrument(route string, next http.Handler) http.Handler {
	next = withDeadlines(deadlinesFor(route), a.recoverHTTP(route, next))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(sw, r)
		a.metrics.Requests.WithLabelValues(route, strconv.Itoa(sw.code)).Inc()
	})
}

// recoverHTTP turns a panic in one request into a logged, counted 500.
func (a *API) recoverHTTP(where string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				a.metrics.Panics.WithLabelValues(where).Inc()
				a.log.Error("panic in request", "route", where, "panic", v, "stack", string(debug.Stack()))
				writeJSON(w, http.StatusInternalServerError, map[string]any{"error": errorJSON{Code: service.CodeInternal, Message: "internal error"}})
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// WriteError writes err as docs/API.md's error object with its status;
// internal errors are logged.
func (a *API) WriteError(ctx context.Context, w http.ResponseWriter, err error) {
	se := service.From(err)
	switch {
	case se.Code == service.CodeInternal:
		a.log.LogAttrs(ctx, slog.LevelError, "request failed", slog.Any("err", err))
	case se == service.ErrStoreUnavailable:
		a.log.LogAttrs(ctx, slog.LevelWarn, "request failed: store unavailable", slog.Any("err", err))
	}
	writeJSON(w, status(se.Code), map[string]any{"error": errorJSON{Code: se.Code, Message: se.Message}})
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
			return service.Errorf(service.CodeTooLarge, "the body is larger than %d bytes", maxJSONBody)
		}
		return service.Invalid("could not read the body")
	}
	return unmarshalStrict(body, v)
}

// unmarshalStrict decodes exactly one JSON value; unknown fields are
// allowed (docs/API.md lets clients and servers extend), wrong types are not.
func unmarshalStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		return service.Invalid("invalid JSON: %s", jsonErrText(err))
	}
	if dec.More() {
		return service.Invalid("invalid JSON: trailing data after the object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return service.Invalid("invalid JSON: trailing data after the object")
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
