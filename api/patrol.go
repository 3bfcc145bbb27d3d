package api

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/longyou/hub/service"
	"github.com/longyou/hub/service/patrol"
	"github.com/longyou/hub/storage"
)

// Patrol rounds, visits, emergency periods and tallies (docs/API.md v1.6
// "patrol rounds, visits and tallies", issue 16 parts 4 and 6).
//
// A patrol (or cadre) walks rounds from its own village and visits the
// households of the villages it works in; it reads its own rounds. Cadres
// read their village's rounds, overdue visits and tallies (a township
// cadre its township's), command any.

func (a *API) registerPatrol(api func(pattern string, fn apiHandler)) {
	if a.patrol == nil {
		return
	}
	api("POST /api/v1/rounds", a.handleStartRound)
	api("GET /api/v1/rounds", a.handleListRounds)
	api("GET /api/v1/rounds/open", a.handleOpenRound)
	api("GET /api/v1/rounds/{id}", a.handleGetRound)
	api("POST /api/v1/rounds/{id}/end", a.handleEndRound)
	api("GET /api/v1/visits/due", a.handleDueVisits)
	api("GET /api/v1/visits/overdue", a.handleOverdueVisits)
	api("POST /api/v1/visits", a.handleAddVisit)
	api("GET /api/v1/visits", a.handleListVisits)
	api("POST /api/v1/emergencies", a.handleCreateEmergency)
	api("GET /api/v1/emergencies", a.handleListEmergencies)
	api("GET /api/v1/tallies", a.handleTallies)
	api("GET /api/v1/tallies.csv", a.handleTalliesCSV)
}

// PatrolRound and PatrolVisit are a round and a visit as the API shows
// them (the patrol service's views, also the bodies of its events).
type (
	PatrolRound = patrol.RoundView
	PatrolVisit = patrol.VisitView
)

func (a *API) roundView(r *storage.Round) PatrolRound { return patrol.ViewRound(r, a.node.Now()) }

func visitView(v *storage.Visit) PatrolVisit { return patrol.ViewVisit(v) }

// mayReadRound: the round's patrol, and the staff who read its village's
// rounds.
func mayReadRound(p *Principal, r *storage.Round) bool {
	return r.MemberID == p.ID || may(p, ActReadPatrol, village(r.VillageID))
}

func (a *API) handleStartRound(w http.ResponseWriter, r *http.Request, p *Principal) error {
	if !may(p, ActPatrol, village(p.VillageID)) {
		return service.ErrForbidden
	}
	var req struct {
		Kind string `json:"kind"`
	}
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	rd, err := a.patrol.StartRound(r.Context(), p.Member, req.Kind)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"round": a.roundView(&rd)})
	return nil
}

func (a *API) handleEndRound(w http.ResponseWriter, r *http.Request, p *Principal) error {
	rd, err := a.patrol.Round(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if !mayReadRound(p, &rd) {
		return service.ErrNotFound
	}
	var req struct {
		Summary string `json:"summary"`
	}
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	out, err := a.patrol.EndRound(r.Context(), rd, req.Summary)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"round": a.roundView(&out)})
	return nil
}

func (a *API) handleOpenRound(w http.ResponseWriter, r *http.Request, p *Principal) error {
	rd, ok, err := a.patrol.OpenRound(r.Context(), p.ID)
	if err != nil {
		return err
	}
	// The round kinds (policy data) come along for the page's picker.
	if !ok {
		writeJSON(w, http.StatusOK, map[string]any{"round": nil, "kinds": a.patrol.RoundKinds()})
		return nil
	}
	writeJSON(w, http.StatusOK, map[string]any{"round": a.roundView(&rd), "kinds": a.patrol.RoundKinds()})
	return nil
}

func (a *API) handleGetRound(w http.ResponseWriter, r *http.Request, p *Principal) error {
	rd, err := a.patrol.Round(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if !mayReadRound(p, &rd) {
		return service.ErrNotFound // never confirm another's round exists
	}
	track, reports, err := a.patrol.RoundDetail(r.Context(), &rd)
	if err != nil {
		return err
	}
	coords := trackCoords(track)
	view := a.roundView(&rd)
	if rd.EndedAt == nil {
		view.Reports = len(reports)
	}
	writeJSON(w, http.StatusOK, map[string]any{"round": view, "report_ids": reports,
		"track": map[string]any{"type": "Feature", "properties": map[string]any{"round_id": rd.ID},
			"geometry": map[string]any{"type": "LineString", "coordinates": coords}}})
	return nil
}

func (a *API) handleListRounds(w http.ResponseWriter, r *http.Request, p *Principal) error {
	q := r.URL.Query()
	f := storage.RoundFilter{MemberID: q.Get("member_id"), Kind: q.Get("kind"), Before: q.Get("before"), Limit: defaultPageLimit}
	if f.Kind != "" && !a.patrol.ValidRoundKind(f.Kind) {
		return service.Invalid("kind must be one of %v", a.patrol.RoundKinds())
	}
	var err error
	if f.From, f.To, err = spanQuery(q.Get("from"), q.Get("to"), false); err != nil {
		return err
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxPageLimit {
			return service.Invalid("limit must be an integer from 1 to %d", maxPageLimit)
		}
		f.Limit = n
	}
	v := q.Get("village_id")
	switch {
	case v != "":
		if !may(p, ActReadPatrol, village(v)) {
			if f.MemberID != p.ID {
				return service.ErrForbidden
			}
		}
		f.VillageIDs = []string{v}
	case may(p, ActReadPatrol, Scope{}):
	case may(p, ActReadPatrol, village(p.VillageID)) || len(p.Governs) > 0:
		f.VillageIDs = append([]string{p.VillageID}, p.Governs...)
	default:
		// A patrol (or anyone else) reads its own rounds.
		if f.MemberID != "" && f.MemberID != p.ID {
			return service.ErrForbidden
		}
		f.MemberID = p.ID
	}
	rs, err := a.patrol.Rounds(r.Context(), f)
	if err != nil {
		return err
	}
	out := make([]PatrolRound, len(rs))
	for i := range rs {
		out[i] = a.roundView(&rs[i])
	}
	next := ""
	if len(rs) == f.Limit {
		next = rs[len(rs)-1].ID
	}
	writeJSON(w, http.StatusOK, map[string]any{"rounds": out, "next_before": next})
	return nil
}

// DueVisit is a watched household due (or overdue) for a visit.
type DueVisit struct {
	Household struct {
		ID        string `json:"id"`
		VillageID string `json:"village_id"`
		Name      string `json:"name"`
		Watch     string `json:"watch"`
	} `json:"household"`
	EveryS    int64        `json:"every_s"`
	DueAt     time.Time    `json:"due_at"`
	Overdue   bool         `json:"overdue"`
	OverdueS  int64        `json:"overdue_s"`
	LastVisit *PatrolVisit `json:"last_visit"`
}

func (a *API) dueViews(ds []patrol.Due) []DueVisit {
	now := a.node.Now()
	out := make([]DueVisit, len(ds))
	for i, d := range ds {
		o := &out[i]
		o.Household.ID, o.Household.VillageID, o.Household.Name, o.Household.Watch =
			d.Household.ID, d.Household.VillageID, d.Household.Name, d.Household.Watch
		o.EveryS, o.DueAt, o.Overdue = int64(d.Every/time.Second), d.DueAt, d.Overdue
		if d.Overdue {
			o.OverdueS = int64(now.Sub(d.DueAt) / time.Second)
		}
		if d.LastVisit != nil {
			v := visitView(d.LastVisit)
			o.LastVisit = &v
		}
	}
	return out
}

// dueVillages are the villages a due or overdue list covers: village_id,
// else the caller's village (and the township it governs), else, for
// command, every village.
func (a *API) dueVillages(r *http.Request, p *Principal, act Action) ([]string, error) {
	if v := r.URL.Query().Get("village_id"); v != "" {
		if !may(p, act, village(v)) {
			return nil, service.ErrForbidden
		}
		return []string{v}, nil
	}
	if may(p, act, Scope{}) {
		vs, err := a.patrol.Villages(r.Context())
		if err != nil {
			return nil, err
		}
		ids := make([]string, len(vs))
		for i := range vs {
			ids[i] = vs[i].ID
		}
		return ids, nil
	}
	var ids []string
	for _, v := range append([]string{p.VillageID}, p.Governs...) {
		if may(p, act, village(v)) {
			ids = append(ids, v)
		}
	}
	if len(ids) == 0 {
		return nil, service.ErrForbidden
	}
	return ids, nil
}

func (a *API) dueList(w http.ResponseWriter, r *http.Request, p *Principal, act Action, onlyOverdue bool) error {
	vs, err := a.dueVillages(r, p, act)
	if err != nil {
		return err
	}
	var all []patrol.Due
	for _, v := range vs {
		ds, err := a.patrol.DueVisits(r.Context(), v, onlyOverdue)
		if err != nil {
			return err
		}
		all = append(all, ds...)
	}
	patrol.SortDue(all)
	writeJSON(w, http.StatusOK, map[string]any{"due": a.dueViews(all)})
	return nil
}

func (a *API) handleDueVisits(w http.ResponseWriter, r *http.Request, p *Principal) error {
	return a.dueList(w, r, p, ActReadHouseholds, false)
}

func (a *API) handleOverdueVisits(w http.ResponseWriter, r *http.Request, p *Principal) error {
	return a.dueList(w, r, p, ActReadPatrol, true)
}

func (a *API) handleAddVisit(w http.ResponseWriter, r *http.Request, p *Principal) error {
	var req struct {
		HouseholdID string   `json:"household_id"`
		Note        string   `json:"note"`
		Photos      []string `json:"photos"`
	}
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if req.HouseholdID == "" {
		return service.Invalid("household_id is required")
	}
	h, err := a.patrol.Household(r.Context(), req.HouseholdID)
	if err != nil {
		return err
	}
	if !may(p, ActPatrol, village(h.VillageID)) {
		if may(p, ActReadHouseholds, village(h.VillageID)) {
			return service.ErrForbidden
		}
		return service.ErrNotFound
	}
	v, err := a.patrol.AddVisit(r.Context(), p.Member, h, req.Note, req.Photos)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"visit": visitView(&v)})
	return nil
}

func (a *API) handleListVisits(w http.ResponseWriter, r *http.Request, p *Principal) error {
	q := r.URL.Query()
	id := q.Get("household_id")
	if id == "" {
		return service.Invalid("household_id is required")
	}
	limit := defaultPageLimit
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxPageLimit {
			return service.Invalid("limit must be an integer from 1 to %d", maxPageLimit)
		}
		limit = n
	}
	h, err := a.patrol.Household(r.Context(), id)
	if err != nil {
		return err
	}
	if !may(p, ActReadHouseholds, village(h.VillageID)) {
		return service.ErrNotFound
	}
	vs, err := a.patrol.Visits(r.Context(), h.ID, limit)
	if err != nil {
		return err
	}
	out := make([]PatrolVisit, len(vs))
	for i := range vs {
		out[i] = visitView(&vs[i])
	}
	writeJSON(w, http.StatusOK, map[string]any{"visits": out})
	return nil
}

// PatrolEmergency is an emergency period as the API shows it.
type PatrolEmergency struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	From      time.Time `json:"from"`
	To        time.Time `json:"to"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
}

func emergencyView(e *storage.Emergency) PatrolEmergency {
	return PatrolEmergency{ID: e.ID, Name: e.Name, From: e.From, To: e.To, CreatedBy: e.CreatedBy, CreatedAt: e.CreatedAt}
}

func (a *API) handleCreateEmergency(w http.ResponseWriter, r *http.Request, p *Principal) error {
	if !may(p, ActNameEmergency, Scope{}) {
		return service.ErrForbidden
	}
	var req struct {
		Name string `json:"name"`
		From string `json:"from"`
		To   string `json:"to"`
	}
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	from, to, err := spanQuery(req.From, req.To, true)
	if err != nil {
		return err
	}
	e, err := a.patrol.CreateEmergency(r.Context(), p.ID, req.Name, from, to)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"emergency": emergencyView(&e)})
	return nil
}

func (a *API) handleListEmergencies(w http.ResponseWriter, r *http.Request, p *Principal) error {
	if roleTable[ActReadTallies][p.Role] == no {
		return service.ErrForbidden
	}
	es, err := a.patrol.Emergencies(r.Context())
	if err != nil {
		return err
	}
	out := make([]PatrolEmergency, len(es))
	for i := range es {
		out[i] = emergencyView(&es[i])
	}
	writeJSON(w, http.StatusOK, map[string]any{"emergencies": out})
	return nil
}

// ExportRound is a round in a member's data export (v1.4 export, v1.6):
// the round and its track as [lng, lat, unix_seconds] points.
type ExportRound struct {
	PatrolRound
	Track [][3]float64 `json:"track"`
}

// exportRounds lists a member's rounds (the newest 1,000) with their
// tracks for its data export.
func (a *API) exportRounds(ctx context.Context, memberID string) ([]ExportRound, error) {
	rs, err := a.patrol.Rounds(ctx, storage.RoundFilter{MemberID: memberID, Limit: 1000})
	if err != nil {
		return nil, err
	}
	out := make([]ExportRound, len(rs))
	for i := range rs {
		track, _, err := a.patrol.RoundDetail(ctx, &rs[i])
		if err != nil {
			return nil, err
		}
		out[i] = ExportRound{PatrolRound: a.roundView(&rs[i]), Track: trackCoords(track)}
	}
	return out, nil
}

func trackCoords(track []storage.TrackPoint) [][3]float64 {
	coords := make([][3]float64, len(track))
	for i, pt := range track {
		coords[i] = [3]float64{pt.Lng, pt.Lat, float64(pt.At.Unix())}
	}
	return coords
}
