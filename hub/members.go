package hub

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/longyou/hub/notify"
	"github.com/longyou/hub/storage"
)

type villageRequest struct {
	Name     string          `json:"name"`
	Township string          `json:"township"`
	Center   *storage.LatLng `json:"center"`
}

func (h *Hub) handleCreateVillage(w http.ResponseWriter, r *http.Request, p *Principal) error {
	if !p.isCommand() {
		return errForbidden
	}
	var req villageRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	v, err := h.CreateVillage(r.Context(), req.Name, req.Township, req.Center, false)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"village": v})
	return nil
}

// CreateVillage validates and stores a village.
func (h *Hub) CreateVillage(ctx context.Context, name, township string, center *storage.LatLng, demo bool) (storage.Village, error) {
	if err := checkText("name", name, 100, false); err != nil {
		return storage.Village{}, err
	}
	if err := checkText("township", township, 100, true); err != nil {
		return storage.Village{}, err
	}
	if err := checkLatLng("center", center, false); err != nil {
		return storage.Village{}, err
	}
	v := storage.Village{ID: newID("v_"), Name: name, Township: township, Center: *center, Demo: demo, CreatedAt: h.now()}
	if err := h.store.CreateVillage(ctx, &v); err != nil {
		return storage.Village{}, err
	}
	return v, nil
}

func (h *Hub) handleListVillages(w http.ResponseWriter, r *http.Request, _ *Principal) error {
	vs, err := h.store.ListVillages(r.Context())
	if err != nil {
		return err
	}
	if vs == nil {
		vs = []storage.Village{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"villages": vs})
	return nil
}

// MemberRequest is the body of POST /api/v1/members.
type MemberRequest struct {
	Name      string          `json:"name"`
	Phone     string          `json:"phone"`
	Role      storage.Role    `json:"role"`
	VillageID string          `json:"village_id"`
	Home      *storage.LatLng `json:"home"`
	Lang      string          `json:"lang"`
}

// NewMember is a created member with its one-time token.
type NewMember struct {
	Member storage.Member `json:"member"`
	Token  string         `json:"token"`
}

func (h *Hub) handleCreateMember(w http.ResponseWriter, r *http.Request, p *Principal) error {
	if !p.isCommand() {
		return errForbidden
	}
	var req MemberRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if req.Role == storage.RoleAdmin && p.Role != storage.RoleAdmin {
		return apiErr(CodeForbidden, "only an admin may create admins")
	}
	out, err := h.CreateMembers(r.Context(), []MemberRequest{req}, false)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, out[0])
	return nil
}

// validateMember checks one member request against the known villages.
func validateMember(req *MemberRequest, villages map[string]bool) error {
	if err := checkText("name", req.Name, 100, false); err != nil {
		return err
	}
	if !validRole(req.Role) {
		return badRequest("role must be one of resident, patrol, cadre, commander, admin")
	}
	needsVillage := req.Role == storage.RoleResident || req.Role == storage.RolePatrol || req.Role == storage.RoleCadre
	if req.Phone == "" && needsVillage {
		return badRequest("phone is required for a %s", req.Role)
	}
	if req.Phone != "" && !notify.ValidE164(req.Phone) {
		return badRequest("phone must be E.164, like +8613800000000")
	}
	if req.VillageID == "" && needsVillage {
		return badRequest("village_id is required for a %s", req.Role)
	}
	if req.VillageID != "" && !villages[req.VillageID] {
		return badRequest("unknown village_id %q", req.VillageID)
	}
	if req.Lang != "" && req.Lang != "zh-CN" && req.Lang != "en" {
		return badRequest("lang must be zh-CN or en")
	}
	return checkLatLng("home", req.Home, true)
}

// CreateMembersDemo creates members flagged as demo data.
func (h *Hub) CreateMembersDemo(ctx context.Context, reqs []MemberRequest) ([]NewMember, error) {
	return h.CreateMembers(ctx, reqs, true)
}

// CreateMembers validates and stores members in one write, each with a new
// token, and adds them to the directory.
func (h *Hub) CreateMembers(ctx context.Context, reqs []MemberRequest, demo bool) ([]NewMember, error) {
	vs, err := h.store.ListVillages(ctx)
	if err != nil {
		return nil, err
	}
	villages := make(map[string]bool, len(vs))
	for _, v := range vs {
		villages[v.ID] = true
	}
	now := h.now()
	rows := make([]storage.NewMember, len(reqs))
	out := make([]NewMember, len(reqs))
	for i := range reqs {
		req := &reqs[i]
		if err := validateMember(req, villages); err != nil {
			if len(reqs) > 1 {
				return nil, fmt.Errorf("member %d: %w", i, err)
			}
			return nil, err
		}
		tok := NewToken()
		m := storage.Member{
			ID: newID("m_"), Name: req.Name, Phone: req.Phone, Role: req.Role,
			VillageID: req.VillageID, Home: req.Home, Lang: req.Lang, Demo: demo, CreatedAt: now,
		}
		rows[i] = storage.NewMember{Member: m, TokenHash: HashToken(tok)}
		out[i] = NewMember{Member: m, Token: tok}
	}
	if err := h.store.CreateMembers(ctx, rows); err != nil {
		if errors.Is(err, storage.ErrConflict) {
			return nil, apiErr(CodeConflict, "a member with this phone number exists")
		}
		return nil, err
	}
	for i := range out {
		h.dir.add(&out[i].Member, now)
		h.coverNewPosition(ctx, out[i].Member.ID)
	}
	return out, nil
}

// handleMe returns the caller's own record: pages use it to check a token
// and learn the role before they open a WebSocket.
func (h *Hub) handleMe(w http.ResponseWriter, r *http.Request, p *Principal) error {
	m, err := h.store.GetMember(r.Context(), p.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"member": m})
	return nil
}

func (h *Hub) handleGetMember(w http.ResponseWriter, r *http.Request, p *Principal) error {
	m, err := h.store.GetMember(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if m.ID != p.ID && !p.mayReadVillage(m.VillageID) {
		return errNotFound // never confirm another member exists
	}
	writeJSON(w, http.StatusOK, map[string]any{"member": m})
	return nil
}

// EnsureAdmin makes sure an admin can sign in. With a token, that token is
// given to the admin (created when there is none); without one, an admin
// is created only if the store has none, and its new token is returned so
// the operator can be shown it once.
func (h *Hub) EnsureAdmin(ctx context.Context, token string) (shown string, err error) {
	n, err := h.store.CountMembers(ctx, storage.RoleAdmin)
	if err != nil {
		return "", err
	}
	if token == "" && n > 0 {
		return "", nil
	}
	if token != "" {
		if _, err := h.store.MemberByToken(ctx, HashToken(token)); err == nil {
			return "", nil
		}
	}
	if n > 0 && token != "" {
		if ids := h.dir.withRole(storage.RoleAdmin, "", 1); len(ids) == 1 {
			return "", h.store.AddToken(ctx, ids[0], HashToken(token))
		}
	}
	out, err := h.CreateMembers(ctx, []MemberRequest{{Name: "admin", Role: storage.RoleAdmin}}, false)
	if err != nil {
		return "", err
	}
	if token != "" {
		return "", h.store.AddToken(ctx, out[0].Member.ID, HashToken(token))
	}
	return out[0].Token, nil
}

// maxListMembers caps GET /api/v1/members: it serves map layers (patrols,
// cadres), not bulk export.
const maxListMembers = 2000

// handleListMembers lists members by role and village for those who may
// see them: command any, a cadre its own village. It is an extension of
// docs/API.md for the command center's map (patrols' live positions).
func (h *Hub) handleListMembers(w http.ResponseWriter, r *http.Request, p *Principal) error {
	q := r.URL.Query()
	role, village := storage.Role(q.Get("role")), q.Get("village_id")
	if role == "" {
		return badRequest("role is required (resident, patrol, cadre, commander or admin)")
	}
	if !validRole(role) {
		return badRequest("role must be one of resident, patrol, cadre, commander, admin")
	}
	switch {
	case p.isCommand():
	case p.Role == storage.RoleCadre && (village == "" || village == p.VillageID):
		village = p.VillageID
	default:
		return errForbidden
	}
	ids := h.dir.withRole(role, village, maxListMembers)
	out := make([]storage.Member, 0, len(ids))
	for _, id := range ids {
		m, err := h.store.GetMember(r.Context(), id)
		if err != nil {
			return err
		}
		if m.Live != nil && h.now().Sub(m.Live.At) >= h.cfg.LiveTTL {
			m.Live = nil // stale: the map should not show it as live
		}
		out = append(out, m)
	}
	writeJSON(w, http.StatusOK, map[string]any{"members": out})
	return nil
}
