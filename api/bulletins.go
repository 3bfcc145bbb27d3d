package api

import (
	"net/http"

	"github.com/longyou/hub/service"
	"github.com/longyou/hub/service/bulletins"
	"github.com/longyou/hub/storage"
)

type bulletinRequest struct {
	VillageID string `json:"village_id"`
	Category  string `json:"category"`
	Title     string `json:"title"`
	Body      string `json:"body"`
}

func (a *API) handleCreateBulletin(w http.ResponseWriter, r *http.Request, p *Principal) error {
	if a.node.ShuttingDown() {
		return service.ErrUnavailable
	}
	var req bulletinRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if !may(p, ActPublishBulletin, village(req.VillageID)) {
		return service.ErrForbidden
	}
	b, err := a.bulletins.Publish(r.Context(), bulletins.Draft{VillageID: req.VillageID, Category: req.Category,
		Title: req.Title, Body: req.Body}, p.actor())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"bulletin": bulletins.View(&b)})
	return nil
}

func (a *API) handleListBulletins(w http.ResponseWriter, r *http.Request, p *Principal) error {
	v := r.URL.Query().Get("village_id")
	f := storage.BulletinFilter{VillageID: v, WithCountyWide: true}
	if !may(p, ActReadBulletins, Scope{}) {
		// Members read their own village's and the county's bulletins.
		if v != "" && !may(p, ActReadBulletins, village(v)) {
			return service.Errorf(service.CodeForbidden, "you read your own village's bulletins")
		}
		f.VillageID = p.VillageID
	}
	bs, err := a.bulletins.List(r.Context(), f)
	if err != nil {
		return err
	}
	out := bulletins.Views(bs)
	if out == nil {
		out = []bulletins.Bulletin{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"bulletins": out})
	return nil
}
