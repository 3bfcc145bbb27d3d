package api

import (
	"net/http"
	"slices"
	"time"

	"github.com/longyou/hub/service"
	"github.com/longyou/hub/storage"
)

// Report handling (docs/API.md v1.6 "report handling", issue 16 part 1):
// a report's history, the figures, and the list's township, level,
// overdue and assignee filters.

func (a *API) registerHandling(api func(pattern string, fn apiHandler)) {
	api("GET /api/v1/reports/{id}/history", a.handleReportHistory)
	api("GET /api/v1/reports/figures", a.handleReportFigures)
}

// handlingFilter reads the list's v1.6 filters: township (its villages;
// a township cadre only its own), level, overdue and assignee_id.
func (a *API) handlingFilter(r *http.Request, p *Principal, f *storage.ReportFilter) error {
	q := r.URL.Query()
	switch l := q.Get("level"); l {
	case "", storage.LevelVillage, storage.LevelTownship, storage.LevelCounty:
		f.Level = l
	default:
		return service.Invalid("level must be village, township or county")
	}
	switch o := q.Get("overdue"); o {
	case "":
	case "true", "false":
		v := o == "true"
		f.Overdue = &v
	default:
		return service.Invalid("overdue must be true or false")
	}
	f.AssigneeID = q.Get("assignee_id")
	if len(f.AssigneeID) > 64 {
		return service.Invalid("assignee_id is at most 64 characters")
	}
	township := q.Get("township")
	if township == "" {
		return nil
	}
	if f.VillageID != "" {
		return service.Invalid("give village_id or township, not both")
	}
	if len(township) > 100 {
		return service.Invalid("township is at most 100 characters")
	}
	if !may(p, ActReadReports, Scope{}) {
		if p.Role == storage.RoleCadre && p.Township == township {
			f.VillageIDs = slices.Clone(p.Governs)
			if f.VillageIDs == nil {
				f.VillageIDs = []string{}
			}
			return nil
		}
		if may(p, ActReadReports, village(p.VillageID)) {
			return service.Errorf(service.CodeForbidden, "a cadre reads its own township's reports")
		}
		return nil // residents and patrols: their own reports, whatever the filter
	}
	ids, err := a.members.TownshipVillages(r.Context(), township)
	if err != nil {
		return err
	}
	if ids == nil {
		ids = []string{}
	}
	f.VillageIDs = ids
	return nil
}

// handleReportHistory lists a report's changes to whoever may read it:
// its reporter, and staff per scope (404 for anyone else).
func (a *API) handleReportHistory(w http.ResponseWriter, r *http.Request, p *Principal) error {
	rep, err := a.reports.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if rep.MemberID != p.ID && !may(p, ActReadReports, village(rep.VillageID)) {
		return service.ErrNotFound
	}
	hs, err := a.reports.History(r.Context(), rep.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"history": hs})
	return nil
}

// maxFigureSpan bounds the period of the figures.
const maxFigureSpan = 400 * 24 * time.Hour

// handleReportFigures answers the figures of the reports made in
// [from, to) (default: the 30 days before now), of one village
// (village_id), one township (township) or, for commanders and admins,
// every village.
func (a *API) handleReportFigures(w http.ResponseWriter, r *http.Request, p *Principal) error {
	q := r.URL.Query()
	if !may(p, ActReadFigures, Scope{}) && !may(p, ActReadFigures, village(p.VillageID)) && len(p.Governs) == 0 {
		return service.ErrForbidden
	}
	to, from := a.node.Now().UTC(), time.Time{}
	for _, x := range []struct {
		name string
		t    *time.Time
	}{{"from", &from}, {"to", &to}} {
		if s := q.Get(x.name); s != "" {
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return service.Invalid("%s must be an RFC 3339 time (2026-07-01T00:00:00Z)", x.name)
			}
			*x.t = t.UTC()
		}
	}
	if from.IsZero() {
		from = to.Add(-30 * 24 * time.Hour)
	}
	if !from.Before(to) {
		return service.Invalid("from must be before to")
	}
	if to.Sub(from) > maxFigureSpan {
		return service.Invalid("the period is at most 400 days")
	}
	vid, township := q.Get("village_id"), q.Get("township")
	if vid != "" && township != "" {
		return service.Invalid("give village_id or township, not both")
	}
	if len(vid) > 64 || len(township) > 100 {
		return service.Invalid("village_id or township too long")
	}
	var ids []string // nil: every village
	switch {
	case vid != "":
		if !may(p, ActReadFigures, village(vid)) {
			return service.Errorf(service.CodeForbidden, "a cadre reads its own village's (or township's) figures")
		}
		ids = []string{vid}
	case township != "":
		if !may(p, ActReadFigures, Scope{}) && !(p.Role == storage.RoleCadre && p.Township == township) {
			return service.Errorf(service.CodeForbidden, "a cadre reads its own township's figures")
		}
		var err error
		if ids, err = a.members.TownshipVillages(r.Context(), township); err != nil {
			return err
		}
		if ids == nil {
			ids = []string{}
		}
	case !may(p, ActReadFigures, Scope{}):
		ids = append([]string{p.VillageID}, p.Governs...)
	}
	t, err := a.reports.FigureTable(r.Context(), from, to, ids)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, t)
	return nil
}
