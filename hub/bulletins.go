package hub

import (
	"encoding/json"
	"net/http"
	"slices"

	"github.com/longyou/hub/storage"
)

// bulletinCategories: public notices of village, party and finance
// affairs, jobs, and general notices.
var bulletinCategories = []string{"village_affairs", "party_affairs", "finance", "jobs", "notice", "other"}

type bulletinRequest struct {
	VillageID string `json:"village_id"`
	Category  string `json:"category"`
	Title     string `json:"title"`
	Body      string `json:"body"`
}

func (h *Hub) handleCreateBulletin(w http.ResponseWriter, r *http.Request, p *Principal) error {
	if h.shuttingDown.Load() {
		return errUnavailable
	}
	var req bulletinRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	switch {
	case p.isCommand():
	case p.Role == storage.RoleCadre && req.VillageID != "" && req.VillageID == p.VillageID:
	default:
		return errForbidden
	}
	if !slices.Contains(bulletinCategories, req.Category) {
		return badRequest("category must be one of village_affairs, party_affairs, finance, jobs, notice, other")
	}
	if err := checkText("title", req.Title, 200, false); err != nil {
		return err
	}
	if err := checkText("body", req.Body, 10000, true); err != nil {
		return err
	}
	if req.VillageID != "" {
		if _, err := h.store.GetVillage(r.Context(), req.VillageID); err != nil {
			if toAPIError(err).Code == CodeNotFound {
				return badRequest("unknown village_id %q", req.VillageID)
			}
			return err
		}
	}
	now := h.now()
	b := &storage.Bulletin{ID: newID("b_"), VillageID: req.VillageID, Category: req.Category,
		Title: req.Title, Body: req.Body, AuthorID: p.ID, PublishedAt: now}
	view := *b
	body, _ := json.Marshal(&view)
	ev := &storage.Event{Type: storage.EventBulletin, VillageID: b.VillageID, Body: body, CreatedAt: now}
	if err := h.store.CreateBulletin(r.Context(), b, ev); err != nil {
		return err
	}
	b.Seq = ev.Seq
	h.metrics.stored.WithLabelValues(ev.Type).Inc()
	h.publish(r.Context(), ev, nil, nil)
	writeJSON(w, http.StatusCreated, map[string]any{"bulletin": b})
	return nil
}

func (h *Hub) handleListBulletins(w http.ResponseWriter, r *http.Request, p *Principal) error {
	v := r.URL.Query().Get("village_id")
	f := storage.BulletinFilter{VillageID: v, WithCountyWide: true}
	if !p.isCommand() {
		// Members read their own village's and the county's bulletins.
		if v != "" && v != p.VillageID {
			return apiErr(CodeForbidden, "you read your own village's bulletins")
		}
		f.VillageID = p.VillageID
	}
	bs, err := h.store.ListBulletins(r.Context(), f)
	if err != nil {
		return err
	}
	if bs == nil {
		bs = []storage.Bulletin{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"bulletins": bs})
	return nil
}
