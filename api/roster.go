package api

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/longyou/hub/hub"
	"github.com/longyou/hub/service"
	"github.com/longyou/hub/service/members"
	"github.com/longyou/hub/storage"
)

// The roster (docs/API.md v1.5, issue 12): imports of a county's
// spreadsheet, member edits and deactivation, "I am at this house now",
// and the member list's filters.

func (a *API) registerRoster(api func(pattern string, fn apiHandler)) {
	api("POST /api/v1/import/members", a.handleImportMembers)
	api("POST /api/v1/import/villages", a.handleImportVillages)
	api("PUT /api/v1/members/{id}/home", a.handleSetHome)
}

// readSheet reads an uploaded sheet: its format (from Content-Type and
// its first bytes) and its bytes, at most members.MaxSheetBytes.
func readSheet(r *http.Request) (string, []byte, error) {
	if r.ContentLength > members.MaxSheetBytes {
		return "", nil, service.Errorf(service.CodeTooLarge, "a sheet is at most %d MiB", members.MaxSheetBytes>>20)
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, members.MaxSheetBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return "", nil, service.Errorf(service.CodeTooLarge, "a sheet is at most %d MiB", members.MaxSheetBytes>>20)
		}
		return "", nil, service.Invalid("could not read the body")
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	format := members.SheetFormat(ct, body)
	if format == "" {
		return "", nil, service.Invalid("the body must be a CSV (Content-Type text/csv) or an XLSX " +
			"(application/vnd.openxmlformats-officedocument.spreadsheetml.sheet)")
	}
	return format, body, nil
}

// dryRun reads ?dry_run= (1/true or 0/false).
func dryRun(r *http.Request) (bool, error) {
	s := r.URL.Query().Get("dry_run")
	if s == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, service.Invalid("dry_run must be 1 or 0")
	}
	return b, nil
}

type importFunc func(r *http.Request, format string, body []byte, dry bool, by members.Importer) (*members.ImportReport, error)

// serveImport runs an import and answers its report: 200, or with row
// errors 400 with the error object and the report beside it.
func (a *API) serveImport(w http.ResponseWriter, r *http.Request, p *Principal, run importFunc) error {
	dry, err := dryRun(r)
	if err != nil {
		return err
	}
	format, body, err := readSheet(r)
	if err != nil {
		return err
	}
	rep, err := run(r, format, body, dry, members.Importer{ID: p.ID, Role: p.Role})
	if err != nil {
		if rep == nil {
			return err
		}
		se := service.From(err)
		writeJSON(w, status(se.Code), map[string]any{"error": errorJSON{Code: se.Code, Message: se.Message}, "import": rep})
		return nil
	}
	writeJSON(w, http.StatusOK, map[string]any{"import": rep})
	return nil
}

func (a *API) handleImportMembers(w http.ResponseWriter, r *http.Request, p *Principal) error {
	if !may(p, ActCreateMember, Scope{}) {
		return service.ErrForbidden
	}
	return a.serveImport(w, r, p, func(r *http.Request, format string, body []byte, dry bool, by members.Importer) (*members.ImportReport, error) {
		return a.members.ImportMembers(r.Context(), format, body, dry, by)
	})
}

func (a *API) handleImportVillages(w http.ResponseWriter, r *http.Request, p *Principal) error {
	if !may(p, ActCreateVillage, Scope{}) {
		return service.ErrForbidden
	}
	return a.serveImport(w, r, p, func(r *http.Request, format string, body []byte, dry bool, by members.Importer) (*members.ImportReport, error) {
		return a.members.ImportVillages(r.Context(), format, body, dry, by)
	})
}

// homeRequest is the body of PUT /api/v1/members/{id}/home.
type homeRequest struct {
	Lat       *float64 `json:"lat"`
	Lng       *float64 `json:"lng"`
	AccuracyM *float64 `json:"accuracy_m"`
}

// handleSetHome is "I am at this house now": a patrol or cadre of the
// member's village, a commander, an admin, or the member itself sets its
// home where they stand.
func (a *API) handleSetHome(w http.ResponseWriter, r *http.Request, p *Principal) error {
	m, err := a.members.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	ok := m.ID == p.ID || may(p, ActUpdateMember, Scope{}) ||
		((p.Role == storage.RolePatrol || p.Role == storage.RoleCadre) && p.VillageID != "" && p.VillageID == m.VillageID)
	if !ok {
		if may(p, ActReadMember, village(m.VillageID)) || p.Role == storage.RolePatrol || p.Role == storage.RoleCadre {
			return service.ErrForbidden
		}
		return service.ErrNotFound // never confirm another member exists
	}
	var req homeRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if req.Lat == nil || req.Lng == nil {
		return service.Invalid("lat and lng are required")
	}
	out, err := a.members.SetHomeHere(r.Context(), m.ID, *req.Lat, *req.Lng, req.AccuracyM)
	if err != nil {
		return err
	}
	a.log.InfoContext(r.Context(), "member home set here", "member", m.ID, "by", p.ID)
	writeJSON(w, http.StatusOK, map[string]any{"member": memberView(&out)})
	return nil
}

// memberEditPatch is the v1.5 part of PATCH /api/v1/members/{id}.
type memberEditPatch struct {
	Name      *string       `json:"name"`
	Phone     *string       `json:"phone"`
	Role      *storage.Role `json:"role"`
	VillageID *string       `json:"village_id"`
	Lang      *string       `json:"lang"`
	Active    *bool         `json:"active"`
}

func (e *memberEditPatch) any() bool {
	return e.Name != nil || e.Phone != nil || e.Role != nil || e.VillageID != nil || e.Lang != nil || e.Active != nil
}

// commandsMember is a commander's or admin's reach over m: an admin any member,
// a commander any but commanders and admins.
func commandsMember(p *Principal, m *storage.Member) bool {
	switch p.Role {
	case storage.RoleAdmin:
		return true
	case storage.RoleCommander:
		return m.Role != storage.RoleCommander && m.Role != storage.RoleAdmin
	}
	return false
}

// checkEdit decides whether p may make the v1.5 changes of e to m
// (docs/API.md v1.5): commanders and admins within the role rules, a
// cadre the residents and patrols of its own village without role or
// village changes.
func checkEdit(p *Principal, m *storage.Member, e *memberEditPatch) error {
	if !e.any() {
		return nil
	}
	if e.Active != nil && !*e.Active && m.ID == p.ID {
		return service.Invalid("you cannot deactivate yourself")
	}
	switch p.Role {
	case storage.RoleAdmin, storage.RoleCommander:
		if !commandsMember(p, m) {
			return service.Errorf(service.CodeForbidden, "only an admin may change a commander or an admin")
		}
		if e.Role != nil && p.Role != storage.RoleAdmin && (*e.Role == storage.RoleCommander || *e.Role == storage.RoleAdmin) {
			return service.Errorf(service.CodeForbidden, "only an admin may make commanders and admins")
		}
		return nil
	case storage.RoleCadre:
		if m.VillageID != p.VillageID || (m.Role != storage.RoleResident && m.Role != storage.RolePatrol) {
			return service.Errorf(service.CodeForbidden, "a cadre changes the residents and patrols of its own village")
		}
		if e.Role != nil || e.VillageID != nil {
			return service.Errorf(service.CodeForbidden, "a cadre may not change a member's role or village")
		}
		return nil
	}
	return service.Errorf(service.CodeForbidden, "only staff may change this")
}

// editOf is the service change of a PATCH body.
func editOf(e *memberEditPatch, old *memberPatch) (members.Edit, error) {
	out := members.Edit{Name: e.Name, Phone: e.Phone, Role: e.Role, VillageID: e.VillageID, Lang: e.Lang,
		Active: e.Active, Address: old.Address, TravelMode: old.TravelMode}
	if old.Home != nil {
		out.SetHome = true
		if string(old.Home) != "null" {
			var h LatLng
			if err := unmarshalStrict(old.Home, &h); err != nil {
				return members.Edit{}, service.Invalid("home: %s", service.From(err).Message)
			}
			out.Home = h.record()
		}
	}
	return out, nil
}

// membersCursor pages the filtered member list by member id.
func membersCursor(id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte("1:members:" + id))
}

func decodeMembersCursor(s string) (string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return "", false
	}
	id, ok := strings.CutPrefix(string(b), "1:members:")
	return id, ok && id != ""
}

// filtered tells whether a member list asks for the v1.5 filters (or
// paging, or no role): those are read from the store and paged.
func filtered(r *http.Request) bool {
	q := r.URL.Query()
	return q.Get("role") == "" || q.Has("active") || q.Has("q") || q.Has("limit") || q.Has("before")
}

// listMembersFiltered serves GET /api/v1/members with the v1.5 filters:
// role, village_id, active, q (name or phone substring), signed_in; paged
// by ?limit= and ?before= (next_before), ordered by id. A cadre lists its
// own village. signed_in filters each page after it is read (the store
// does not know who signed in), so a page may hold fewer than limit rows
// while next_before says more follow.
func (a *API) listMembersFiltered(w http.ResponseWriter, r *http.Request, p *Principal) error {
	q := r.URL.Query()
	f := storage.MemberFilter{Role: storage.Role(q.Get("role")), VillageID: q.Get("village_id"), Query: q.Get("q")}
	if f.Role != "" && !hub.ValidRole(f.Role) {
		return service.Invalid("role must be one of resident, patrol, cadre, commander, admin")
	}
	switch {
	case may(p, ActListMembers, Scope{}):
	case f.VillageID == "" && may(p, ActListMembers, village(p.VillageID)), f.VillageID != "" && may(p, ActListMembers, village(f.VillageID)):
		f.VillageID = p.VillageID
	default:
		return service.ErrForbidden
	}
	if s := q.Get("active"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return service.Invalid("active must be true or false")
		}
		f.Active = &b
	}
	signedIn := q.Get("signed_in")
	switch signedIn {
	case "", "true", "false":
	default:
		return service.Invalid("signed_in must be true or false")
	}
	limit := defaultPageLimit
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxPageLimit {
			return service.Invalid("limit must be an integer from 1 to %d", maxPageLimit)
		}
		limit = n
	}
	if s := q.Get("before"); s != "" {
		id, ok := decodeMembersCursor(s)
		if !ok {
			return service.Invalid("before is not a cursor of this list (pass next_before of a page)")
		}
		f.After = id
	}
	f.Limit = limit + 1
	out, err := a.members.Find(r.Context(), f)
	if err != nil {
		return err
	}
	nextBefore := ""
	if len(out) > limit {
		out = out[:limit]
		nextBefore = membersCursor(out[len(out)-1].ID)
	}
	list, err := a.signedInViews(r.Context(), out, signedIn)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listAnswer("members", list, nextBefore))
	return nil
}

// decodeMemberPatch reads a PATCH body: the v1.3 fields and the v1.5 ones.
func decodeMemberPatch(r *http.Request) (memberPatch, memberEditPatch, error) {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxJSONBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return memberPatch{}, memberEditPatch{}, service.Errorf(service.CodeTooLarge, "the body is larger than %d bytes", maxJSONBody)
		}
		return memberPatch{}, memberEditPatch{}, service.Invalid("could not read the body")
	}
	var old memberPatch
	var e memberEditPatch
	if err := unmarshalStrict(body, &old); err != nil {
		return memberPatch{}, memberEditPatch{}, err
	}
	if err := json.Unmarshal(body, &e); err != nil {
		return memberPatch{}, memberEditPatch{}, service.Invalid("invalid JSON: %s", jsonErrText(err))
	}
	return old, e, nil
}
