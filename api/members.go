package api

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"

	"github.com/longyou/hub/hub"
	"github.com/longyou/hub/service"
	"github.com/longyou/hub/service/members"
	"github.com/longyou/hub/storage"
)

type villageRequest struct {
	Name     string  `json:"name"`
	Township string  `json:"township"`
	Center   *LatLng `json:"center"`
	Code     string  `json:"code"` // v1.5
}

func (a *API) handleCreateVillage(w http.ResponseWriter, r *http.Request, p *Principal) error {
	if !may(p, ActCreateVillage, Scope{}) {
		return service.ErrForbidden
	}
	var req villageRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	v, err := a.members.CreateVillageCode(r.Context(), req.Name, req.Township, req.Code, req.Center.record(), false)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"village": villageView(&v)})
	return nil
}

func (a *API) handleListVillages(w http.ResponseWriter, r *http.Request, _ *Principal) error {
	vs, err := a.members.Villages(r.Context())
	if err != nil {
		return err
	}
	out := views(vs, villageView)
	if out == nil {
		out = []Village{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"villages": out})
	return nil
}

// memberRequest is the body of POST /api/v1/members.
type memberRequest struct {
	Name      string       `json:"name"`
	Phone     string       `json:"phone"`
	Role      storage.Role `json:"role"`
	VillageID string       `json:"village_id"`
	Home      *LatLng      `json:"home"`
	Lang      string       `json:"lang"`
	// v1.3
	Address    string `json:"address"`
	TravelMode string `json:"travel_mode"`
}

func (a *API) handleCreateMember(w http.ResponseWriter, r *http.Request, p *Principal) error {
	if !may(p, ActCreateMember, Scope{}) {
		return service.ErrForbidden
	}
	var req memberRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if req.Role == storage.RoleAdmin && !may(p, ActCreateAdmin, Scope{}) {
		return service.Errorf(service.CodeForbidden, "only an admin may create admins")
	}
	out, err := a.members.CreateBy(r.Context(), []members.Input{{Name: req.Name, Phone: req.Phone, Role: req.Role,
		VillageID: req.VillageID, Home: req.Home.record(), Lang: req.Lang,
		Address: req.Address, TravelMode: req.TravelMode}}, false, p.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, NewMember{Member: memberView(&out[0].Member), Token: out[0].Token})
	return nil
}

// handleMe returns the caller's own record: pages use it to check a token
// and learn the role before they open a WebSocket.
func (a *API) handleMe(w http.ResponseWriter, r *http.Request, p *Principal) error {
	m, err := a.members.Get(r.Context(), p.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"member": memberView(&m)})
	return nil
}

func (a *API) handleGetMember(w http.ResponseWriter, r *http.Request, p *Principal) error {
	m, err := a.members.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if m.ID != p.ID && !may(p, ActReadMember, village(m.VillageID)) {
		return service.ErrNotFound // never confirm another member exists
	}
	view := memberView(&m)
	if may(p, ActReadMember, village(m.VillageID)) {
		vs, err := a.signedInViews(r.Context(), []storage.Member{m}, "")
		if err != nil {
			return err
		}
		view = vs[0]
	}
	writeJSON(w, http.StatusOK, map[string]any{"member": view})
	return nil
}

// memberPatch is the body of PATCH /api/v1/members/{id} (docs/API.md
// v1.3). Home is raw so that null (remove) and absent (keep) differ.
type memberPatch struct {
	Address    *string         `json:"address"`
	TravelMode *string         `json:"travel_mode"`
	Home       json.RawMessage `json:"home"`
}

func (a *API) handleUpdateMember(w http.ResponseWriter, r *http.Request, p *Principal) error {
	m, err := a.members.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	self := m.ID == p.ID
	staff := may(p, ActUpdateMember, village(m.VillageID))
	if !self && !staff {
		if may(p, ActReadMember, village(m.VillageID)) {
			return service.ErrForbidden
		}
		return service.ErrNotFound // never confirm another member exists
	}
	req, e, err := decodeMemberPatch(r)
	if err != nil {
		return err
	}
	if req.Home != nil && !staff {
		return service.Errorf(service.CodeForbidden, "your home position is set by your village committee")
	}
	if err := checkEdit(p, &m, &e); err != nil { // v1.5 fields (roster.go)
		return err
	}
	edit, err := editOf(&e, &req)
	if err != nil {
		return err
	}
	out, err := a.members.Edit(r.Context(), m.ID, edit)
	if err != nil {
		return err
	}
	noteChange(r.Context(), auditMember(&m), auditMember(&out)) // v1.6 audit trail
	writeJSON(w, http.StatusOK, map[string]any{"member": memberView(&out)})
	return nil
}

// handleListMembers lists members by role and village for those who may
// see them: command any, a cadre its own village. It is an extension of
// docs/API.md for the command center's map (patrols' live positions).
func (a *API) handleListMembers(w http.ResponseWriter, r *http.Request, p *Principal) error {
	if filtered(r) { // v1.5 filters and paging (roster.go)
		return a.listMembersFiltered(w, r, p)
	}
	q := r.URL.Query()
	role, v := storage.Role(q.Get("role")), q.Get("village_id")
	if role == "" {
		return service.Invalid("role is required (resident, patrol, cadre, commander or admin)")
	}
	if !hub.ValidRole(role) {
		return service.Invalid("role must be one of resident, patrol, cadre, commander, admin")
	}
	switch {
	case may(p, ActListMembers, Scope{}):
	case v == "" && may(p, ActListMembers, village(p.VillageID)), v != "" && may(p, ActListMembers, village(v)):
		v = p.VillageID
	default:
		return service.ErrForbidden
	}
	switch q.Get("signed_in") {
	case "", "true", "false":
	default:
		return service.Invalid("signed_in must be true or false")
	}
	out, err := a.members.List(r.Context(), role, v)
	if err != nil {
		return err
	}
	list, err := a.signedInViews(r.Context(), out, q.Get("signed_in"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"members": list})
	return nil
}

func (a *API) handleUploadMedia(w http.ResponseWriter, r *http.Request, p *Principal) error {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err := members.CheckMediaType(ct); err != nil {
		return err
	}
	if r.ContentLength > members.MaxMediaBytes {
		return service.Errorf(service.CodeTooLarge, "an image is at most 5 MiB")
	}
	data, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, members.MaxMediaBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return service.Errorf(service.CodeTooLarge, "an image is at most 5 MiB")
		}
		return service.Invalid("could not read the body")
	}
	if len(data) == 0 {
		return service.Invalid("the image is empty")
	}
	// The bytes must be what the header says: no HTML served as an image.
	if sniffed := http.DetectContentType(data); sniffed != ct {
		return service.Invalid("the body is not a %s image", ct)
	}
	if err := a.members.AllowUpload(p.ID); err != nil {
		return err
	}
	m, err := a.members.PutMedia(r.Context(), p.ID, ct, data)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"media": map[string]any{
		"id": m.ID, "url": "/api/v1/media/" + m.ID, "content_type": m.ContentType, "size": m.Size,
	}})
	return nil
}

// handleGetMedia serves an image to its owner and to those who may read
// the reports it is a photo of (mayReadMedia). Browsers pass the token as
// ?token=.
func (a *API) handleGetMedia(w http.ResponseWriter, r *http.Request, p *Principal) error {
	m, data, err := a.members.GetMedia(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if ok, err := a.mayReadMedia(r.Context(), p, &m); err != nil {
		return err
	} else if !ok {
		return service.ErrNotFound
	}
	w.Header().Set("Content-Type", m.ContentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "private, max-age=86400")
	_, _ = w.Write(data)
	return nil
}
