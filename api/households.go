package api

import (
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/longyou/hub/service"
	"github.com/longyou/hub/service/members"
	"github.com/longyou/hub/storage"
)

// Households (docs/API.md v1.6, issue 16): a village's homes and their
// members, and the watched ones patrols visit. Cadres keep their own
// village's (a township cadre its township's), command any; patrols and
// cadres read their village's; a member reads its own household.

func (a *API) registerHouseholds(api func(pattern string, fn apiHandler)) {
	api("POST /api/v1/households", a.handleCreateHousehold)
	api("GET /api/v1/households", a.handleListHouseholds)
	api("GET /api/v1/households/{id}", a.handleGetHousehold)
	api("PATCH /api/v1/households/{id}", a.handleUpdateHousehold)
}

// HomeHousehold is a household (v1.6) as the API shows it.
type HomeHousehold struct {
	ID        string    `json:"id"`
	VillageID string    `json:"village_id"`
	Name      string    `json:"name"`
	MemberIDs []string  `json:"member_ids"`
	Watch     string    `json:"watch"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func homeView(h *storage.Household) HomeHousehold {
	ids := h.MemberIDs
	if ids == nil {
		ids = []string{}
	}
	return HomeHousehold{ID: h.ID, VillageID: h.VillageID, Name: h.Name, MemberIDs: ids, Watch: h.Watch,
		CreatedAt: h.CreatedAt, UpdatedAt: h.UpdatedAt}
}

type householdRequest struct {
	VillageID *string   `json:"village_id"`
	Name      *string   `json:"name"`
	MemberIDs *[]string `json:"member_ids"`
	Watch     *string   `json:"watch"`
}

func (a *API) handleCreateHousehold(w http.ResponseWriter, r *http.Request, p *Principal) error {
	var req householdRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if req.VillageID == nil || *req.VillageID == "" {
		return service.Invalid("village_id is required")
	}
	if !may(p, ActManageHouseholds, village(*req.VillageID)) {
		return service.ErrForbidden
	}
	h, err := a.members.CreateHousehold(r.Context(), members.HouseholdInput{VillageID: *req.VillageID, Name: req.Name,
		MemberIDs: req.MemberIDs, Watch: req.Watch}, p.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"household": homeView(&h)})
	return nil
}

func (a *API) handleUpdateHousehold(w http.ResponseWriter, r *http.Request, p *Principal) error {
	h, err := a.members.Household(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if !may(p, ActManageHouseholds, village(h.VillageID)) {
		if may(p, ActReadHouseholds, village(h.VillageID)) {
			return service.ErrForbidden
		}
		return service.ErrNotFound
	}
	var req householdRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if req.VillageID != nil && *req.VillageID != h.VillageID {
		return service.Invalid("village_id cannot change")
	}
	out, err := a.members.UpdateHousehold(r.Context(), h, members.HouseholdInput{Name: req.Name, MemberIDs: req.MemberIDs, Watch: req.Watch})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"household": homeView(&out)})
	return nil
}

// mayReadHousehold: staff of its village, and its own members.
func mayReadHousehold(p *Principal, h *storage.Household) bool {
	if may(p, ActReadHouseholds, village(h.VillageID)) {
		return true
	}
	return slices.Contains(h.MemberIDs, p.ID)
}

func (a *API) handleGetHousehold(w http.ResponseWriter, r *http.Request, p *Principal) error {
	id := r.PathValue("id")
	if id == "mine" {
		h, ok, err := a.members.HouseholdOf(r.Context(), p.ID)
		if err != nil {
			return err
		}
		if !ok {
			return service.Errorf(service.CodeNotFound, "you belong to no household")
		}
		writeJSON(w, http.StatusOK, map[string]any{"household": homeView(&h)})
		return nil
	}
	h, err := a.members.Household(r.Context(), id)
	if err != nil {
		return err
	}
	if !mayReadHousehold(p, &h) {
		return service.ErrNotFound // never confirm another household exists
	}
	writeJSON(w, http.StatusOK, map[string]any{"household": homeView(&h)})
	return nil
}

func (a *API) handleListHouseholds(w http.ResponseWriter, r *http.Request, p *Principal) error {
	q := r.URL.Query()
	v := q.Get("village_id")
	if v == "" {
		v = p.VillageID
	}
	if v == "" && !may(p, ActReadHouseholds, Scope{}) {
		return service.Invalid("village_id is required")
	}
	if v != "" && !may(p, ActReadHouseholds, village(v)) {
		return service.ErrForbidden
	}
	f := storage.HouseholdFilter{VillageID: v, After: q.Get("after"), Limit: defaultPageLimit}
	switch w := q.Get("watch"); w {
	case "":
	case "any":
		f.Watched = true
	case storage.WatchBackbone, storage.WatchService, storage.WatchControl:
		f.Watch = w
	default:
		return service.Invalid("watch must be backbone, service, control or any")
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxPageLimit {
			return service.Invalid("limit must be an integer from 1 to %d", maxPageLimit)
		}
		f.Limit = n
	}
	hs, err := a.members.Households(r.Context(), f)
	if err != nil {
		return err
	}
	out := make([]HomeHousehold, len(hs))
	for i := range hs {
		out[i] = homeView(&hs[i])
	}
	next := ""
	if len(hs) == f.Limit {
		next = hs[len(hs)-1].ID
	}
	writeJSON(w, http.StatusOK, map[string]any{"households": out, "next_after": next})
	return nil
}
