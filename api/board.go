package api

import (
	"context"
	"net/http"
	"slices"

	"github.com/longyou/hub/service"
	"github.com/longyou/hub/service/board"
	"github.com/longyou/hub/service/reports"
	"github.com/longyou/hub/storage"
)

// The village board (docs/API.md v1.6, issue 16 part 2): likes and urging,
// rectification photos, good deeds and the board itself.

// The board's listings (paging.go).
const (
	listBoard = "board"
	listDeeds = "deeds"
)

func (a *API) registerBoard(api func(string, apiHandler)) {
	if a.board == nil {
		return
	}
	api("POST /api/v1/reports/{id}/like", a.handleReactReport(storage.ReactLike))
	api("POST /api/v1/reports/{id}/urge", a.handleReactReport(storage.ReactUrge))
	api("PUT /api/v1/reports/{id}/rectification", a.handleRectify)
	api("GET /api/v1/board", a.handleBoard)
	api("POST /api/v1/deeds", a.handleRecordDeed)
	api("GET /api/v1/deeds", a.handleListDeeds)
	api("GET /api/v1/deeds/{id}", a.handleGetDeed)
	api("POST /api/v1/deeds/{id}/confirm", a.handleDecideDeed(storage.DeedConfirmed))
	api("POST /api/v1/deeds/{id}/reject", a.handleDecideDeed(storage.DeedRejected))
	api("POST /api/v1/deeds/{id}/like", a.handleLikeDeed)
}

// markReacted sets liked and urged on the public reports of vs: whether
// p liked or urged each.
func (a *API) markReacted(ctx context.Context, p *Principal, vs []reports.Report) error {
	if a.board == nil {
		return nil
	}
	var ids []string
	for i := range vs {
		if vs[i].Visibility == storage.VisibilityPublic {
			ids = append(ids, vs[i].ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	mine, err := a.board.Reacted(ctx, p.ID, ids)
	if err != nil {
		return err
	}
	for i := range vs {
		if vs[i].Visibility != storage.VisibilityPublic {
			continue
		}
		liked := slices.Contains(mine[vs[i].ID], storage.ReactLike)
		urged := slices.Contains(mine[vs[i].ID], storage.ReactUrge)
		vs[i].Liked, vs[i].Urged = &liked, &urged
	}
	return nil
}

// onBoard: an upload is readable by who may read the board it is on (a
// public report's photo or rectification photo, a confirmed deed's photo,
// of the caller's village or, for a township cadre, a governed one).
func (a *API) onBoard(ctx context.Context, p *Principal, mediaID string) (bool, error) {
	if a.board == nil {
		return false, nil
	}
	villages := append([]string{p.VillageID}, p.Governs...)
	for _, v := range villages {
		if v == "" || !may(p, ActReadBoard, village(v)) {
			continue
		}
		ok, err := a.board.OnBoard(ctx, v, mediaID)
		if ok || (err != nil && !service.IsNotFound(err)) {
			return ok, err
		}
	}
	return false, nil
}

// handleReactReport likes or urges a public report, once per member: a
// repeat answers 200 with the counts unchanged.
func (a *API) handleReactReport(kind string) apiHandler {
	return func(w http.ResponseWriter, r *http.Request, p *Principal) error {
		rep, err := a.reports.Get(r.Context(), r.PathValue("id"))
		if err != nil {
			return err
		}
		if rep.Visibility != storage.VisibilityPublic {
			if rep.MemberID == p.ID || may(p, ActReadReports, village(rep.VillageID)) {
				return service.Errorf(service.CodeConflict, "only a public report is liked or urged")
			}
			return service.ErrNotFound
		}
		if !may(p, ActReadBoard, village(rep.VillageID)) {
			return service.Errorf(service.CodeForbidden, "only the village's members like or urge its reports")
		}
		c, err := a.board.React(r.Context(), storage.ItemReport, rep.ID, kind, p.actor())
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, c)
		return nil
	}
}

type rectifyRequest struct {
	Photos []string `json:"photos"`
}

// handleRectify sets a report's rectification photos (staff of its
// village).
func (a *API) handleRectify(w http.ResponseWriter, r *http.Request, p *Principal) error {
	var req rectifyRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	rep, err := a.reports.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if !may(p, ActHandleReport, village(rep.VillageID)) {
		return service.ErrForbidden
	}
	out, err := a.board.Rectify(r.Context(), rep.ID, req.Photos, p.actor())
	if err != nil {
		return err
	}
	vs := []reports.Report{a.reports.View(r.Context(), &out)}
	if err := a.markReacted(r.Context(), p, vs); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"report": vs[0]})
	return nil
}

// boardVillage is the village_id of a board or deeds request: the
// caller's own when not given.
func boardVillage(r *http.Request, p *Principal) (string, error) {
	v := r.URL.Query().Get("village_id")
	if v == "" {
		v = p.VillageID
	}
	if v == "" {
		return "", service.Invalid("village_id is required")
	}
	return v, nil
}

// handleBoard is a page of a village's board with its rectification rate.
func (a *API) handleBoard(w http.ResponseWriter, r *http.Request, p *Principal) error {
	v, err := boardVillage(r, p)
	if err != nil {
		return err
	}
	pg, err := parsePage(r.URL.Query(), listBoard)
	if err != nil {
		return err
	}
	if !may(p, ActReadBoard, village(v)) {
		return service.Errorf(service.CodeForbidden, "a village's board is its members' and its staff's")
	}
	page, err := a.board.Board(r.Context(), v, pg.after, pg.limit, p.ID)
	if err != nil {
		return err
	}
	out := map[string]any{"village_id": v, "items": page.Items, "rate": page.Rate, "next_before": ""}
	if page.Next > 0 {
		out["next_before"] = encodeCursor(listBoard, page.Next)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

type deedRequest struct {
	VillageID   string   `json:"village_id"`
	Title       string   `json:"title"`
	Text        string   `json:"text"`
	Photos      []string `json:"photos"`
	About       string   `json:"about"`
	HouseholdID string   `json:"household_id"`
}

func (a *API) deedView(ctx context.Context, p *Principal, d *storage.Deed) board.Deed {
	full := d.AuthorID == p.ID || may(p, ActConfirmDeed, village(d.VillageID))
	v := board.DeedView(d, a.board.Names(ctx, []string{d.AuthorID})[d.AuthorID], full)
	return v
}

func (a *API) handleRecordDeed(w http.ResponseWriter, r *http.Request, p *Principal) error {
	var req deedRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if req.VillageID == "" {
		req.VillageID = p.VillageID
	}
	if req.VillageID == "" {
		return service.Invalid("village_id is required")
	}
	d := board.DeedDraft{VillageID: req.VillageID, Title: req.Title, Text: req.Text, Photos: req.Photos,
		About: req.About, HouseholdID: req.HouseholdID}
	if err := board.CheckDeed(d); err != nil {
		return err
	}
	if !may(p, ActRecordDeed, village(req.VillageID)) {
		return service.Errorf(service.CodeForbidden, "a good deed is recorded in one's own village")
	}
	deed, err := a.board.RecordDeed(r.Context(), d, p.actor())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"deed": a.deedView(r.Context(), p, &deed)})
	return nil
}

// handleListDeeds lists a village's deeds to its staff (every status, or
// ?status=), and a member's own deeds to anyone else.
func (a *API) handleListDeeds(w http.ResponseWriter, r *http.Request, p *Principal) error {
	q := r.URL.Query()
	f := storage.DeedFilter{Status: q.Get("status")}
	switch f.Status {
	case "", storage.DeedPending, storage.DeedConfirmed, storage.DeedRejected:
	default:
		return service.Invalid("status must be pending, confirmed or rejected")
	}
	pg, err := parsePage(q, listDeeds)
	if err != nil {
		return err
	}
	f.Limit, f.After = pg.fetch(), pg.after
	v := q.Get("village_id")
	switch {
	case v != "" && may(p, ActConfirmDeed, village(v)):
		f.VillageID = v
	case v == "" && may(p, ActConfirmDeed, Scope{}):
	case v == "" && may(p, ActConfirmDeed, village(p.VillageID)):
		f.VillageID = p.VillageID
	case v != "" && v != p.VillageID:
		return service.Errorf(service.CodeForbidden, "a village's deeds are listed to its staff")
	default: // one's own deeds
		f.VillageID, f.AuthorID = v, p.ID
	}
	ds, err := a.board.ListDeeds(r.Context(), f)
	if err != nil {
		return err
	}
	ds, nextBefore := next(pg, listDeeds, ds, func(d *storage.Deed) int64 { return d.N })
	out := make([]board.Deed, len(ds))
	for i := range ds {
		out[i] = a.deedView(r.Context(), p, &ds[i])
	}
	writeJSON(w, http.StatusOK, listAnswer("deeds", out, nextBefore))
	return nil
}

// readableDeed reads a deed p may see: its author's, its village staff's,
// and once confirmed its village's members'; else not_found.
func (a *API) readableDeed(r *http.Request, p *Principal) (storage.Deed, error) {
	d, err := a.board.GetDeed(r.Context(), r.PathValue("id"))
	if err != nil {
		return storage.Deed{}, err
	}
	if d.AuthorID == p.ID || may(p, ActConfirmDeed, village(d.VillageID)) ||
		(d.Status == storage.DeedConfirmed && may(p, ActReadBoard, village(d.VillageID))) {
		return d, nil
	}
	return storage.Deed{}, service.ErrNotFound
}

func (a *API) handleGetDeed(w http.ResponseWriter, r *http.Request, p *Principal) error {
	d, err := a.readableDeed(r, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"deed": a.deedView(r.Context(), p, &d)})
	return nil
}

// handleDecideDeed confirms or rejects a pending deed (its village's
// staff); a deed decided already is a conflict.
func (a *API) handleDecideDeed(status string) apiHandler {
	return func(w http.ResponseWriter, r *http.Request, p *Principal) error {
		d, err := a.readableDeed(r, p)
		if err != nil {
			return err
		}
		if !may(p, ActConfirmDeed, village(d.VillageID)) {
			return service.ErrForbidden
		}
		out, err := a.board.Decide(r.Context(), d.ID, status, p.actor())
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, map[string]any{"deed": a.deedView(r.Context(), p, &out)})
		return nil
	}
}

// handleLikeDeed likes a confirmed deed, once per member.
func (a *API) handleLikeDeed(w http.ResponseWriter, r *http.Request, p *Principal) error {
	d, err := a.readableDeed(r, p)
	if err != nil {
		return err
	}
	if d.Status != storage.DeedConfirmed {
		return service.Errorf(service.CodeConflict, "only a confirmed good deed is liked")
	}
	if !may(p, ActReadBoard, village(d.VillageID)) {
		return service.Errorf(service.CodeForbidden, "only the village's members like its good deeds")
	}
	c, err := a.board.React(r.Context(), storage.ItemDeed, d.ID, storage.ReactLike, p.actor())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

// exportBoard adds to a member's export the good deeds it recorded (every
// page of them).
func (a *API) exportBoard(ctx context.Context, memberID string, out *MemberExport) error {
	if a.board == nil {
		return nil
	}
	name := a.board.Names(ctx, []string{memberID})[memberID]
	var after int64
	for {
		ds, err := a.board.ListDeeds(ctx, storage.DeedFilter{AuthorID: memberID, After: after, Limit: maxPageLimit})
		if err != nil {
			return err
		}
		for i := range ds {
			out.Deeds = append(out.Deeds, board.DeedView(&ds[i], name, true))
		}
		if len(ds) < maxPageLimit {
			return nil
		}
		after = ds[len(ds)-1].N
	}
}
