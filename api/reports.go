package api

import (
	"net/http"
	"strings"

	"github.com/longyou/hub/service"
	"github.com/longyou/hub/service/reports"
	"github.com/longyou/hub/storage"
)

// reportRequest is a new report (HTTP body; the WebSocket report command
// carries the same fields).
type reportRequest struct {
	Kind     string   `json:"kind"`
	Text     string   `json:"text"`
	Lat      *float64 `json:"lat"`
	Lng      *float64 `json:"lng"`
	Photos   []string `json:"photos"`
	ClientID string   `json:"client_id"`
	// Visibility: private (default) or public (v1.6).
	Visibility string `json:"visibility"`
}

func (req *reportRequest) draft() reports.Draft {
	return reports.Draft{Kind: req.Kind, Text: req.Text, Lat: req.Lat, Lng: req.Lng, Photos: req.Photos, ClientID: req.ClientID,
		Visibility: req.Visibility}
}

func (a *API) handleCreateReport(w http.ResponseWriter, r *http.Request, p *Principal) error {
	var req reportRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if !may(p, ActReceive, Scope{}) {
		return service.ErrForbidden
	}
	rep, err := a.reports.Create(r.Context(), req.draft(), p.actor())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"report": a.reports.View(r.Context(), &rep)})
	return nil
}

// handleListReports lists reports, a page at a time (docs/API.md v1.4):
// filters status (several, comma-separated), kind, village_id, since and
// until; order newest (default) or oldest; limit and before.
func (a *API) handleListReports(w http.ResponseWriter, r *http.Request, p *Principal) error {
	q := r.URL.Query()
	f := storage.ReportFilter{VillageID: q.Get("village_id"), Kind: q.Get("kind")}
	if s := q.Get("status"); s != "" {
		for st := range strings.SplitSeq(s, ",") {
			if err := a.reports.CheckStatus(st); err != nil {
				return err
			}
			f.Statuses = append(f.Statuses, st)
		}
	}
	if f.Kind != "" {
		if err := a.reports.CheckKind(f.Kind); err != nil {
			return err
		}
	}
	var err error
	if f.Since, f.Until, err = timeRange(q); err != nil {
		return err
	}
	list := listReportsNewest
	switch q.Get("order") {
	case "", "newest":
	case "oldest":
		f.Oldest, list = true, listReportsOldest
	default:
		return service.Invalid("order must be newest or oldest")
	}
	pg, err := parsePage(q, list)
	if err != nil {
		return err
	}
	f.Limit, f.After = pg.fetch(), pg.after
	if err := a.handlingFilter(r, p, &f); err != nil {
		return err
	}
	switch {
	case may(p, ActReadReports, Scope{}):
	case may(p, ActReadReports, village(p.VillageID)) || len(p.Governs) > 0:
		if f.VillageID != "" && !may(p, ActReadReports, village(f.VillageID)) {
			return service.Errorf(service.CodeForbidden, "a cadre reads its own village's reports")
		}
		if f.VillageID == "" && f.VillageIDs == nil {
			// Its village and, for a township cadre, its township's (v1.6);
			// one village as before (its index serves the order).
			if len(p.Governs) == 0 {
				f.VillageID = p.VillageID
			} else {
				f.VillageIDs = append([]string{p.VillageID}, p.Governs...)
			}
		}
	default: // residents and patrols: their own reports
		f.MemberID, f.VillageIDs = p.ID, nil
	}
	rs, err := a.reports.List(r.Context(), f)
	if err != nil {
		return err
	}
	rs, nextBefore := next(pg, list, rs, func(r *storage.Report) int64 { return r.CreatedSeq })
	out := a.reports.Views(r.Context(), rs)
	if out == nil {
		out = []reports.Report{}
	}
	if err := a.markReacted(r.Context(), p, out); err != nil { // api/board.go
		return err
	}
	writeJSON(w, http.StatusOK, listAnswer("reports", out, nextBefore))
	return nil
}

func (a *API) handleGetReport(w http.ResponseWriter, r *http.Request, p *Principal) error {
	rep, err := a.reports.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if rep.MemberID != p.ID && !may(p, ActReadReports, village(rep.VillageID)) {
		return service.ErrNotFound
	}
	vs := []reports.Report{a.reports.View(r.Context(), &rep)}
	if err := a.markReacted(r.Context(), p, vs); err != nil { // api/board.go
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"report": vs[0]})
	return nil
}

type reportPatch struct {
	Status     *string `json:"status"`
	Feedback   *string `json:"feedback"`
	AssigneeID *string `json:"assignee_id"` // v1.6
}

func (a *API) handleUpdateReport(w http.ResponseWriter, r *http.Request, p *Principal) error {
	var req reportPatch
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	patch := reports.Patch{Status: req.Status, Feedback: req.Feedback, AssigneeID: req.AssigneeID}
	if err := a.reports.CheckPatch(patch); err != nil {
		return err
	}
	rep, err := a.reports.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	// API.md: 403 when the role may not act on the object (a resident,
	// a patrol, a cadre of another village), whoever made it.
	if !may(p, ActHandleReport, village(rep.VillageID)) {
		return service.ErrForbidden
	}
	out, err := a.reports.Update(r.Context(), rep, patch, p.actor())
	if err != nil {
		return err
	}
	noteChange(r.Context(), auditReport(&rep), auditReport(&out)) // v1.6 audit trail
	writeJSON(w, http.StatusOK, map[string]any{"report": a.reports.View(r.Context(), &out)})
	return nil
}
