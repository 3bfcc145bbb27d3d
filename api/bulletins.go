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

// handleListBulletins lists bulletins newest first, a page at a time
// (docs/API.md v1.4): filters village_id, category, since and until;
// limit and before.
func (a *API) handleListBulletins(w http.ResponseWriter, r *http.Request, p *Principal) error {
	q := r.URL.Query()
	v := q.Get("village_id")
	f := storage.BulletinFilter{VillageID: v, WithCountyWide: true, Category: q.Get("category")}
	if f.Category != "" {
		if err := a.bulletins.CheckCategory(f.Category); err != nil {
			return err
		}
	}
	var err error
	if f.Since, f.Until, err = timeRange(q); err != nil {
		return err
	}
	pg, err := parsePage(q, listBulletins)
	if err != nil {
		return err
	}
	f.Limit, f.After = pg.fetch(), pg.after
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
	bs, nextBefore := next(pg, listBulletins, bs, func(b *storage.Bulletin) int64 { return b.Seq })
	out := bulletins.Views(bs)
	if out == nil {
		out = []bulletins.Bulletin{}
	}
	writeJSON(w, http.StatusOK, listAnswer("bulletins", out, nextBefore))
	return nil
}
