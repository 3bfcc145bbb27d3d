package api

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/longyou/hub/service"
	"github.com/longyou/hub/storage"
)

// The audit trail (issue 14, docs/API.md v1.6): every successful (2xx)
// request other than a GET on a route mounted with api() or public() is
// recorded, whoever wrote its handler, so routes added later are covered
// without doing anything. A handler adds what a route pattern cannot say:
// the object before and after the change (noteChange); the id of what it
// made is read from its answer when its path does not name it.
//
// When: the row is written after the handler's change committed and
// before the request's handler returns (its small answer is still in
// net/http's buffer, so a client normally sees the 2xx after the row is
// stored), in its own transaction. Not in the change's transaction: that
// would need every service and store method (and every route other
// engineers add) to carry the audit row through, and a route would be
// audited only if its author remembered to. The price is a window in
// which a crash, or a store failing between the two writes, leaves a
// committed change without its row: such a failure is logged at error
// level and counted (hub_audit_write_failures_total), so an operator can
// alert on it. A failed audit write does not turn the committed change
// into an error answer (the client would retry a change that was made).

// AuditStore is the store of the trail (storage.Audit).
type AuditStore interface {
	AppendAudit(ctx context.Context, e *storage.AuditEntry) error
	ListAudit(ctx context.Context, f storage.AuditFilter) ([]storage.AuditEntry, error)
}

// ActReadAudit: see ActReadAudit in auth.go.

// auditMaxSniff bounds the answer body read for the id of a created
// object.
const auditMaxSniff = 64 << 10

// secretPathValues are path wildcards that carry a secret (an answer
// link's code): never stored as the target.
var secretPathValues = []string{"code", "token", "secret"}

// auditNote is what a handler adds to its request's audit row.
type auditNote struct {
	before, after json.RawMessage
	target        string
}

type auditNoteKey struct{}

// noteChange records the object before and after a change in the
// request's audit row (nil: none). Secrets must not be passed; members go
// through auditMember.
func noteChange(ctx context.Context, before, after any) {
	n, _ := ctx.Value(auditNoteKey{}).(*auditNote)
	if n == nil {
		return
	}
	n.before, n.after = auditJSON(before), auditJSON(after)
}

func auditJSON(v any) json.RawMessage {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil || string(b) == "null" {
		return nil
	}
	return b
}

// auditMember is a member as the trail keeps it: its record without the
// live position (not a change anyone makes), the phone number masked to
// its last four digits (the trail outlives an erasure; who can read the
// trail can read the member anyway).
func auditMember(m *storage.Member) map[string]any {
	var out map[string]any
	b, _ := json.Marshal(memberView(m))
	_ = json.Unmarshal(b, &out)
	delete(out, "live")
	if ph, _ := out["phone"].(string); len(ph) > 4 {
		out["phone"] = strings.Repeat("*", len(ph)-4) + ph[len(ph)-4:]
	}
	return out
}

// auditWriter keeps the status and, for a 2xx, the start of the body.
type auditWriter struct {
	http.ResponseWriter
	code  int
	sniff bool
	body  bytes.Buffer
}

func (w *auditWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *auditWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	if w.sniff && w.code < 300 && w.body.Len()+len(b) <= auditMaxSniff {
		w.body.Write(b)
	}
	return w.ResponseWriter.Write(b)
}

func (w *auditWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// audited wraps a route's handler so that its successful non-GET requests
// are recorded; p is nil on a public route.
func (a *API) audited(pattern string, fn func(w http.ResponseWriter, r *http.Request, p *Principal) error) func(w http.ResponseWriter, r *http.Request, p *Principal) error {
	method, path, _ := strings.Cut(pattern, " ")
	if a.audit == nil || method == "" || method == http.MethodGet || method == http.MethodHead {
		return fn
	}
	names := pathNames(path)
	return func(w http.ResponseWriter, r *http.Request, p *Principal) error {
		note := &auditNote{}
		r = r.WithContext(context.WithValue(r.Context(), auditNoteKey{}, note))
		target := pathTarget(r, names)
		aw := &auditWriter{ResponseWriter: w, sniff: target == ""}
		err := fn(aw, r, p)
		if err != nil || aw.code >= 300 || !changes(pattern, r) {
			return err
		}
		if aw.code == 0 {
			aw.code = http.StatusOK
		}
		if note.target != "" {
			target = note.target
		} else if target == "" {
			target = createdID(aw.body.Bytes())
		}
		e := storage.AuditEntry{At: a.node.Now().UTC(), Addr: remoteAddr(r), Method: method, Route: pattern,
			Target: target, Status: aw.code, Before: note.before, After: note.after}
		if p != nil {
			e.ActorID, e.ActorRole, e.TokenID = p.ID, p.Role, p.Token.ID
		}
		a.appendAudit(r.Context(), &e)
		return nil
	}
}

// changes tells whether a successful request may have changed something:
// not an alert preview, not a dry run (?dry_run=1 of the imports).
func changes(pattern string, r *http.Request) bool {
	if strings.HasSuffix(pattern, "/preview") {
		return false
	}
	dry, err := strconv.ParseBool(r.URL.Query().Get("dry_run"))
	return err != nil || !dry
}

// appendAudit stores e; a failure is logged and counted, never answered.
func (a *API) appendAudit(ctx context.Context, e *storage.AuditEntry) {
	// The request's context may be cancelled (the client went away) after
	// the change committed: the row is written anyway, bounded.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := a.audit.AppendAudit(ctx, e); err != nil {
		a.auditFailures.Inc()
		a.log.Error("AUDIT ROW NOT WRITTEN for a committed change", "route", e.Route, "target", e.Target,
			"actor", e.ActorID, "status", e.Status, "err", err)
	}
}

// auditWS records a WebSocket command that changed something.
func (a *API) auditWS(ctx context.Context, p *Principal, command, target string) {
	if a.audit == nil {
		return
	}
	e := storage.AuditEntry{At: a.node.Now().UTC(), ActorID: p.ID, ActorRole: p.Role, TokenID: p.Token.ID,
		Method: "WS", Route: "WS " + command, Target: target, Status: http.StatusOK}
	a.appendAudit(ctx, &e)
}

// pathNames are the wildcard names of a route path, secrets left out.
func pathNames(path string) []string {
	var out []string
	for _, seg := range strings.Split(path, "/") {
		if len(seg) > 2 && seg[0] == '{' && seg[len(seg)-1] == '}' {
			name := strings.TrimSuffix(seg[1:len(seg)-1], "...")
			if !slices.Contains(secretPathValues, name) {
				out = append(out, name)
			}
		}
	}
	return out
}

// pathTarget is the request's path values, joined by "/".
func pathTarget(r *http.Request, names []string) string {
	vals := make([]string, 0, len(names))
	for _, n := range names {
		vals = append(vals, r.PathValue(n))
	}
	return strings.Join(vals, "/")
}

// createdID finds the id of what an answer made: {"<name>": {"id": ...}}.
func createdID(body []byte) string {
	var top map[string]json.RawMessage
	if json.Unmarshal(body, &top) != nil {
		return ""
	}
	keys := make([]string, 0, len(top))
	for k := range top {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		var obj struct {
			ID json.RawMessage `json:"id"`
		}
		if json.Unmarshal(top[k], &obj) != nil || len(obj.ID) == 0 {
			continue
		}
		var id string
		if json.Unmarshal(obj.ID, &id) == nil && id != "" {
			return id
		}
		var n json.Number
		if json.Unmarshal(obj.ID, &n) == nil {
			return n.String() // as written
		}
	}
	return ""
}

// remoteAddr is the client's address as the connection shows it. The hub
// has no trusted-proxy setting, so X-Forwarded-For (which any client can
// write) is never believed.
func remoteAddr(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// initAudit sets up the trail's store and failure counter.
func (a *API) initAudit(st AuditStore) {
	a.audit = st
	a.auditFailures = prometheus.NewCounter(prometheus.CounterOpts{Name: "hub_audit_write_failures_total",
		Help: "Successful changes whose audit row could not be written."})
	if err := a.metrics.Registry.Register(a.auditFailures); err != nil {
		if are, ok := err.(prometheus.AlreadyRegisteredError); ok {
			a.auditFailures = are.ExistingCollector.(prometheus.Counter)
		}
	}
}

// AuditEntry is an entry of the trail on the wire.
type AuditEntry struct {
	Seq       int64           `json:"seq"`
	At        time.Time       `json:"at"`
	ActorID   string          `json:"actor_id"`
	ActorRole storage.Role    `json:"actor_role"`
	TokenID   string          `json:"token_id"`
	Addr      string          `json:"addr"`
	Method    string          `json:"method"`
	Route     string          `json:"route"`
	Target    string          `json:"target"`
	Status    int             `json:"status"`
	Before    json.RawMessage `json:"before,omitempty"`
	After     json.RawMessage `json:"after,omitempty"`
}

func auditView(e *storage.AuditEntry) AuditEntry {
	return AuditEntry{Seq: e.Seq, At: e.At, ActorID: e.ActorID, ActorRole: e.ActorRole, TokenID: e.TokenID,
		Addr: e.Addr, Method: e.Method, Route: e.Route, Target: e.Target, Status: e.Status, Before: e.Before, After: e.After}
}

const listAudit = "audit"

func (a *API) registerAudit(api func(pattern string, fn apiHandler)) {
	if a.audit == nil {
		return
	}
	api("GET /api/v1/audit", a.handleListAudit)
	api("GET /api/v1/audit/export.csv", a.handleExportAudit)
}

// auditFilter reads the filters: actor, action, target, since/until (from
// and to are the same).
func auditFilter(r *http.Request) (storage.AuditFilter, error) {
	q := r.URL.Query()
	for _, alias := range [][2]string{{"from", "since"}, {"to", "until"}} {
		if v := q.Get(alias[0]); v != "" && q.Get(alias[1]) == "" {
			q.Set(alias[1], v)
		}
	}
	f := storage.AuditFilter{ActorID: q.Get("actor"), Action: q.Get("action"), Target: q.Get("target")}
	for _, s := range []string{f.ActorID, f.Action, f.Target} {
		if len(s) > 200 {
			return f, service.Invalid("actor, action and target are at most 200 bytes")
		}
	}
	var err error
	f.Since, f.Until, err = timeRange(q)
	return f, err
}

func (a *API) handleListAudit(w http.ResponseWriter, r *http.Request, p *Principal) error {
	if !may(p, ActReadAudit, Scope{}) {
		return service.ErrForbidden
	}
	f, err := auditFilter(r)
	if err != nil {
		return err
	}
	pg, err := parsePage(r.URL.Query(), listAudit)
	if err != nil {
		return err
	}
	f.Limit, f.BeforeSeq = pg.fetch(), pg.after
	es, err := a.audit.ListAudit(r.Context(), f)
	if err != nil {
		return err
	}
	es, nextBefore := next(pg, listAudit, es, func(e *storage.AuditEntry) int64 { return e.Seq })
	out := make([]AuditEntry, len(es))
	for i := range es {
		out[i] = auditView(&es[i])
	}
	writeJSON(w, http.StatusOK, listAnswer("entries", out, nextBefore))
	return nil
}

// auditExportMax bounds one export; a longer trail is exported by time
// ranges.
const auditExportMax = 200_000

func (a *API) handleExportAudit(w http.ResponseWriter, r *http.Request, p *Principal) error {
	if !may(p, ActReadAudit, Scope{}) {
		return service.ErrForbidden
	}
	f, err := auditFilter(r)
	if err != nil {
		return err
	}
	f.Limit = 1000
	es, err := a.audit.ListAudit(r.Context(), f) // the first page before any byte: errors are still JSON
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="audit.csv"`)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"seq", "at", "actor_id", "actor_role", "token_id", "addr", "method", "route", "target",
		"status", "before", "after"})
	n := 0
	for len(es) > 0 && n < auditExportMax {
		for i := range es {
			e := &es[i]
			_ = cw.Write([]string{strconv.FormatInt(e.Seq, 10), e.At.Format(time.RFC3339Nano), csvCell(e.ActorID),
				string(e.ActorRole), csvCell(e.TokenID), csvCell(e.Addr), e.Method, csvCell(e.Route), csvCell(e.Target),
				strconv.Itoa(e.Status), csvCell(string(e.Before)), csvCell(string(e.After))})
		}
		n += len(es)
		if len(es) < f.Limit {
			break
		}
		f.BeforeSeq = es[len(es)-1].Seq
		if es, err = a.audit.ListAudit(r.Context(), f); err != nil {
			// The status is sent: end the file short, and say so in the log.
			a.log.Error("audit export cut short", "err", err)
			break
		}
	}
	cw.Flush()
	return nil
}

// csvCell keeps a spreadsheet from reading a cell as a formula.
func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// auditReport is what a report's handling changes.
func auditReport(r *storage.Report) map[string]any {
	return map[string]any{"status": r.Status, "feedback": r.Feedback}
}

// auditAlert is what a cancel changes.
func auditAlert(al *storage.Alert) map[string]any {
	return map[string]any{"status": al.Status, "cancelled_at": al.CancelledAt}
}
