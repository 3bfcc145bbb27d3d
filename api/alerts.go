package api

import (
	"net/http"
	"slices"
	"time"

	"github.com/longyou/hub/geo"
	"github.com/longyou/hub/service"
	"github.com/longyou/hub/service/alerting"
	"github.com/longyou/hub/storage"
)

// alertRequest is the body of POST /api/v1/alerts and /alerts/preview.
type alertRequest struct {
	Kind              string          `json:"kind"`
	Severity          string          `json:"severity"`
	Title             string          `json:"title"`
	Body              string          `json:"body"`
	Area              *geo.Area       `json:"area"`
	Roles             *[]storage.Role `json:"roles"`
	ExpiresAt         *time.Time      `json:"expires_at"`
	SMSFallbackAfterS *int            `json:"sms_fallback_after_s"`
	VoiceAfterS       *int            `json:"voice_after_s"` // v1.5: -1 no call, nil the default
	Exercise          bool            `json:"exercise"`      // v1.6: 演练, to staff roles only
}

func (req *alertRequest) draft() alerting.Draft {
	d := alerting.Draft{Kind: req.Kind, Severity: req.Severity, Title: req.Title, Body: req.Body,
		Area: req.Area, ExpiresAt: req.ExpiresAt, SMSFallbackAfterS: req.SMSFallbackAfterS, VoiceAfterS: req.VoiceAfterS,
		Exercise: req.Exercise}
	if req.Roles != nil {
		d.Roles = *req.Roles
		if d.Roles == nil {
			d.Roles = []storage.Role{}
		}
	}
	return d
}

// checkSend validates a draft, then asks may: validation errors come
// before permission errors, as docs/API.md's examples expect.
func (a *API) checkSend(d *alerting.Draft, p *Principal) error {
	if err := a.alerting.Validate(d); err != nil {
		return err
	}
	if !may(p, ActSendAlert, Scope{Villages: d.Area.Villages}) {
		if p.Role == storage.RoleCadre {
			return service.Errorf(service.CodeForbidden, "a cadre may only alert its own village, with a villages area")
		}
		return service.ErrForbidden
	}
	return nil
}

func (a *API) handlePreviewAlert(w http.ResponseWriter, r *http.Request, p *Principal) error {
	var req alertRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	d := req.draft()
	if err := a.checkSend(&d, p); err != nil {
		return err
	}
	pv, err := a.alerting.Preview(r.Context(), d)
	if err != nil {
		return err
	}
	out := map[string]any{"targeted": pv.Targeted, "connected": pv.Connected, "cells": pv.Cells,
		"approximate": pv.Approximate, "no_phone": pv.NoPhone, "sms": pv.SMS, "voice": pv.Voice,
		"voice_after_s": a.alerting.VoiceAfter(&d)}
	if pv.Reach != nil {
		out["reach"] = pv.Reach
		out["outline"] = outlineGeometry(pv.Outline)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) handleCreateAlert(w http.ResponseWriter, r *http.Request, p *Principal) error {
	if a.node.ShuttingDown() {
		return service.ErrUnavailable
	}
	if isCAP(r) {
		return a.handleImportCAP(w, r, p) // v1.6 (cap_in.go)
	}
	var req alertRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	d := req.draft()
	if err := a.checkSend(&d, p); err != nil {
		return err
	}
	sent, err := a.alerting.Send(r.Context(), d, p.actor())
	if err != nil {
		return err
	}
	out := map[string]any{"alert": a.alertNow(&sent.Alert), "targeted": sent.Targeted, "connected": sent.Connected,
		"approximate": sent.Approximate, "no_phone": sent.NoPhone}
	if sent.Reach != nil {
		out["reach"] = sent.Reach
	}
	writeJSON(w, http.StatusCreated, out)
	return nil
}

// alertNow is the alert object of the HTTP API, with its status as of now.
func (a *API) alertNow(al *storage.Alert) *Alert {
	return alertView(al, a.alerting.Status(al))
}

// loadAlert reads an alert the caller may see the progress of.
func (a *API) loadAlert(r *http.Request, p *Principal) (*storage.Alert, error) {
	al, err := a.alerting.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	if !may(p, ActReadAlert, Scope{Villages: al.Villages}) {
		return nil, service.ErrForbidden
	}
	return &al, nil
}

func (a *API) handleGetAlert(w http.ResponseWriter, r *http.Request, p *Principal) error {
	al, err := a.loadAlert(r, p)
	if err != nil {
		return err
	}
	if wantsCAP(r) {
		return a.writeCAP(w, r, al)
	}
	prog, err := a.alerting.ProgressOf(r.Context(), al)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"alert": a.alertNow(al), "progress": prog})
	return nil
}

func (a *API) handleRecipients(w http.ResponseWriter, r *http.Request, p *Principal) error {
	resp := r.URL.Query().Get("response")
	if err := alerting.CheckResponseFilter(resp); err != nil {
		return err
	}
	al, err := a.alerting.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if !may(p, ActReadAlert, Scope{Villages: al.Villages}) {
		if may(p, ActReadHouseholds, village(p.VillageID)) && (al.Villages == nil || slices.Contains(al.Villages, p.VillageID)) {
			return a.writeHouseholds(w, r, p, &al, resp) // v1.5: a patrol's households (api/behalf.go)
		}
		return service.ErrForbidden
	}
	order := r.URL.Query().Get("order")
	if order != "" && order != "eta" {
		return service.Invalid("order must be eta or absent")
	}
	rs, err := a.alerting.RecipientsInfo(r.Context(), &al, resp, order == "eta")
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"recipients": recipientsFor(p, rs)})
	return nil
}

func (a *API) handleCancelAlert(w http.ResponseWriter, r *http.Request, p *Principal) error {
	al, err := a.alerting.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if !may(p, ActSendAlert, Scope{Villages: al.Villages}) {
		return service.ErrForbidden
	}
	out, err := a.alerting.CancelBy(r.Context(), al.ID, p.ID, nil)
	if err != nil {
		return err
	}
	noteChange(r.Context(), auditAlert(&al), auditAlert(&out)) // v1.6 audit trail
	writeJSON(w, http.StatusOK, map[string]any{"alert": a.alertNow(&out)})
	return nil
}

// handleListAlerts lists alerts newest first, a page at a time
// (docs/API.md v1.4): filters status, since and until; limit and before.
// Residents and patrols get the active alerts addressed to them, not paged.
func (a *API) handleListAlerts(w http.ResponseWriter, r *http.Request, p *Principal) error {
	q := r.URL.Query()
	status := q.Get("status")
	if err := alerting.CheckStatusFilter(status); err != nil {
		return err
	}
	since, until, err := timeRange(q)
	if err != nil {
		return err
	}
	pg, err := parsePage(q, listAlerts)
	if err != nil {
		return err
	}
	var out []*Alert
	nextBefore := ""
	switch {
	case may(p, ActReadAlert, Scope{}), may(p, ActReadAlert, Scope{Villages: []string{p.VillageID}}):
		f := alerting.Filter{Status: status, Since: since, Until: until, After: pg.after, Limit: pg.fetch()}
		if !may(p, ActReadAlert, Scope{}) {
			f.Village = p.VillageID
		}
		as, err := a.alerting.List(r.Context(), f)
		if err != nil {
			return err
		}
		as, nextBefore = next(pg, listAlerts, as, func(a *storage.Alert) int64 { return a.Seq })
		for i := range as {
			out = append(out, a.alertNow(&as[i]))
		}
	default:
		// Residents and patrols: the active alerts addressed to them.
		if status != "" && status != storage.AlertActive {
			break
		}
		as, err := a.alerting.ActiveFor(r.Context(), p.ID)
		if err != nil {
			return err
		}
		for i := range as {
			v := a.alertNow(&as[i])
			v.CreatedBy, v.SMSFallbackAfterS, v.VoiceAfterS = "", nil, nil
			v.UpdatedBy, v.CancelledBy = "", "" // v1.6
			out = append(out, v)
		}
	}
	if out == nil {
		out = []*Alert{}
	}
	writeJSON(w, http.StatusOK, listAnswer("alerts", out, nextBefore))
	return nil
}
