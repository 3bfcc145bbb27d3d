package hub

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/longyou/hub/storage"
)

// reportKinds of docs/API.md, and how soon each must be handled: hazards to life
// within 30 minutes, the rest within a day.
var reportKinds = map[string]time.Duration{
	"flood": 30 * time.Minute, "fire": 30 * time.Minute, "landslide": 30 * time.Minute,
	"freeze": 2 * time.Hour, "road": 2 * time.Hour, "water": 4 * time.Hour,
	"sanitation": 24 * time.Hour, "dispute": 24 * time.Hour, "other": 24 * time.Hour,
}

const maxPhotos = 9

// ReportRequest is a new report (HTTP body or WebSocket command).
type ReportRequest struct {
	Kind   string   `json:"kind"`
	Text   string   `json:"text"`
	Lat    *float64 `json:"lat"`
	Lng    *float64 `json:"lng"`
	Photos []string `json:"photos"`
	// ClientID (optional) is the reporter's idempotency key: sending the
	// same report again after a lost answer returns the stored one.
	ClientID string `json:"client_id"`
}

func (h *Hub) handleCreateReport(w http.ResponseWriter, r *http.Request, p *Principal) error {
	var req ReportRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	rep, err := h.CreateReport(r.Context(), &req, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"report": rep})
	return nil
}

// CreateReport validates, stores (durably) and fans out a report. Its
// village is the reporter's.
func (h *Hub) CreateReport(ctx context.Context, req *ReportRequest, p *Principal) (*storage.Report, error) {
	if h.shuttingDown.Load() {
		return nil, errUnavailable
	}
	sla, ok := reportKinds[req.Kind]
	if !ok {
		return nil, badRequest("kind must be one of flood, fire, landslide, freeze, road, water, sanitation, dispute, other")
	}
	if err := checkText("text", req.Text, 2000, true); err != nil {
		return nil, err
	}
	if req.Lat == nil || req.Lng == nil || !validLatLng(*req.Lat, *req.Lng) {
		return nil, badRequest("lat and lng are required, lat in [-90, 90], lng in [-180, 180]")
	}
	if len(req.ClientID) > 64 {
		return nil, badRequest("client_id is at most 64 characters")
	}
	if len(req.Photos) > maxPhotos {
		return nil, badRequest("at most %d photos", maxPhotos)
	}
	for _, id := range req.Photos {
		m, _, err := h.store.GetMedia(ctx, id)
		if err != nil || m.OwnerID != p.ID {
			return nil, badRequest("photos: unknown media id %q", id)
		}
	}
	if !h.limits.allow(p.ID, "report") {
		return nil, apiErr(CodeRateLimited, "too many reports; wait a moment")
	}
	now := h.now()
	photos := req.Photos
	if photos == nil {
		photos = []string{}
	}
	rep := &storage.Report{
		ID: newID("r_"), Kind: req.Kind, Text: req.Text, Lat: *req.Lat, Lng: *req.Lng,
		Photos: photos, MemberID: p.ID, VillageID: p.VillageID, Status: storage.ReportNew,
		CreatedAt: now, UpdatedAt: now, DueAt: now.Add(sla), ClientID: req.ClientID,
	}
	ev := reportEvent(rep)
	if err := h.store.CreateReport(ctx, rep, ev); err != nil {
		if errors.Is(err, storage.ErrConflict) && req.ClientID != "" {
			// A retry of a report that was stored: answer with it again.
			rs, lerr := h.store.ListReports(ctx, storage.ReportFilter{MemberID: p.ID, ClientID: req.ClientID, Limit: 1})
			if lerr == nil && len(rs) == 1 {
				return &rs[0], nil
			}
		}
		return nil, err
	}
	rep.Seq = ev.Seq
	h.metrics.stored.WithLabelValues(ev.Type).Inc()
	h.publish(ctx, ev, nil, nil)
	return rep, nil
}

func reportEvent(rep *storage.Report) *storage.Event {
	view := *rep
	view.Seq = 0
	body, _ := json.Marshal(&view)
	return &storage.Event{Type: storage.EventReport, VillageID: rep.VillageID, MemberID: rep.MemberID,
		Body: body, CreatedAt: rep.UpdatedAt}
}

func (h *Hub) handleListReports(w http.ResponseWriter, r *http.Request, p *Principal) error {
	q := r.URL.Query()
	f := storage.ReportFilter{Status: q.Get("status"), VillageID: q.Get("village_id")}
	if f.Status != "" && !validReportStatus(f.Status) {
		return badRequest("status must be new, accepted, in_progress, resolved or rejected")
	}
	switch {
	case p.isCommand():
	case p.Role == storage.RoleCadre:
		if f.VillageID != "" && f.VillageID != p.VillageID {
			return apiErr(CodeForbidden, "a cadre reads its own village's reports")
		}
		f.VillageID = p.VillageID
	default: // residents and patrols: their own reports
		f.MemberID = p.ID
	}
	rs, err := h.store.ListReports(r.Context(), f)
	if err != nil {
		return err
	}
	if rs == nil {
		rs = []storage.Report{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"reports": rs})
	return nil
}

func (h *Hub) handleGetReport(w http.ResponseWriter, r *http.Request, p *Principal) error {
	rep, err := h.store.GetReport(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if rep.MemberID != p.ID && !p.mayReadVillage(rep.VillageID) {
		return errNotFound
	}
	writeJSON(w, http.StatusOK, map[string]any{"report": rep})
	return nil
}

func validReportStatus(s string) bool {
	return slices.Contains([]string{storage.ReportNew, storage.ReportAccepted, storage.ReportInProgress, storage.ReportResolved, storage.ReportRejected}, s)
}

// reportTransitions: a report moves forward; resolved and rejected are
// final. Staying in the same status (to change the feedback) is allowed.
var reportTransitions = map[string][]string{
	storage.ReportNew:        {storage.ReportAccepted, storage.ReportInProgress, storage.ReportResolved, storage.ReportRejected},
	storage.ReportAccepted:   {storage.ReportInProgress, storage.ReportResolved, storage.ReportRejected},
	storage.ReportInProgress: {storage.ReportResolved, storage.ReportRejected},
}

type reportPatch struct {
	Status   *string `json:"status"`
	Feedback *string `json:"feedback"`
}

func (h *Hub) handleUpdateReport(w http.ResponseWriter, r *http.Request, p *Principal) error {
	var req reportPatch
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if req.Status == nil && req.Feedback == nil {
		return badRequest("give status, feedback or both")
	}
	if req.Status != nil && !validReportStatus(*req.Status) {
		return badRequest("status must be new, accepted, in_progress, resolved or rejected")
	}
	if req.Feedback != nil {
		if err := checkText("feedback", *req.Feedback, 2000, true); err != nil {
			return err
		}
	}
	rep, err := h.store.GetReport(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if !p.mayReadVillage(rep.VillageID) {
		if rep.MemberID == p.ID {
			return errForbidden
		}
		return errNotFound
	}
	from := rep.Status
	if req.Status != nil && *req.Status != from {
		if !slices.Contains(reportTransitions[from], *req.Status) {
			return apiErr(CodeConflict, "a %s report cannot become %s", from, *req.Status)
		}
		rep.Status = *req.Status
	}
	if req.Feedback != nil {
		rep.Feedback = *req.Feedback
	}
	rep.UpdatedAt = h.now()
	ev := reportEvent(&rep)
	if err := h.store.UpdateReport(r.Context(), &rep, from, ev); err != nil {
		return err
	}
	h.metrics.stored.WithLabelValues(ev.Type).Inc()
	h.publish(r.Context(), ev, nil, nil)
	writeJSON(w, http.StatusOK, map[string]any{"report": rep})
	return nil
}
