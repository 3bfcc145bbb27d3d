package hub

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"time"

	"github.com/uber/h3-go/v4"

	"github.com/longyou/hub/geo"
	"github.com/longyou/hub/storage"
)

// Alert kinds and severities (docs/API.md; severities as CAP 1.2).
var (
	alertKinds = []string{"warning", "mobilization", "all_clear"}
	severities = map[string]int{"extreme": 4, "severe": 3, "moderate": 2, "minor": 1}
)

const (
	defaultAlertTTL = 24 * time.Hour
	maxAlertTTL     = 7 * 24 * time.Hour
	maxSMSFallback  = 24 * 3600
)

// AlertRequest is the body of POST /api/v1/alerts and /alerts/preview.
type AlertRequest struct {
	Kind              string          `json:"kind"`
	Severity          string          `json:"severity"`
	Title             string          `json:"title"`
	Body              string          `json:"body"`
	Area              *geo.Area       `json:"area"`
	Roles             *[]storage.Role `json:"roles"`
	ExpiresAt         *time.Time      `json:"expires_at"`
	SMSFallbackAfterS *int            `json:"sms_fallback_after_s"`
}

// alertEvent is the alert object of the alert event (docs/API.md).
type alertEvent struct {
	ID        string          `json:"id"`
	Kind      string          `json:"kind"`
	Severity  string          `json:"severity"`
	Title     string          `json:"title"`
	Body      string          `json:"body"`
	Area      json.RawMessage `json:"area"`
	CreatedAt time.Time       `json:"created_at"`
	ExpiresAt time.Time       `json:"expires_at"`
}

func alertEventView(a *storage.Alert) alertEvent {
	return alertEvent{ID: a.ID, Kind: a.Kind, Severity: a.Severity, Title: a.Title, Body: a.Body,
		Area: a.Area, CreatedAt: a.CreatedAt, ExpiresAt: a.ExpiresAt}
}

// validate checks everything but village existence and permissions.
func (req *AlertRequest) validate(now time.Time) error {
	if !slices.Contains(alertKinds, req.Kind) {
		return badRequest("kind must be warning, mobilization or all_clear")
	}
	if _, ok := severities[req.Severity]; !ok {
		return badRequest("severity must be extreme, severe, moderate or minor")
	}
	if err := checkText("title", req.Title, 200, false); err != nil {
		return err
	}
	if err := checkText("body", req.Body, 4000, true); err != nil {
		return err
	}
	if req.Area == nil {
		return badRequest("area is required")
	}
	if err := req.Area.Normalize(); err != nil {
		return geoErr(err)
	}
	if req.Roles != nil {
		if len(*req.Roles) == 0 {
			return badRequest("roles must not be empty (omit it to address every role)")
		}
		for _, r := range *req.Roles {
			if !validRole(r) {
				return badRequest("roles: unknown role %q", r)
			}
		}
	}
	if req.ExpiresAt != nil {
		if !req.ExpiresAt.After(now) {
			return badRequest("expires_at must be in the future")
		}
		if req.ExpiresAt.Sub(now) > maxAlertTTL {
			return badRequest("expires_at must be at most 7 days ahead")
		}
	}
	if s := req.SMSFallbackAfterS; s != nil && (*s < 0 || *s > maxSMSFallback) {
		return badRequest("sms_fallback_after_s must be between 0 and %d", maxSMSFallback)
	}
	return nil
}

// mayAlert: commanders and admins anywhere; a cadre only with a villages
// area that names its own village alone.
func (p *Principal) mayAlert(villages []string) bool {
	if p.isCommand() {
		return true
	}
	return p.Role == storage.RoleCadre && len(villages) == 1 && villages[0] == p.VillageID
}

// audience resolves who an alert request addresses, now.
type audience struct {
	ids    []string
	region *geo.Region
	mask   uint8
}

func (h *Hub) resolveAudience(ctx context.Context, req *AlertRequest, p *Principal) (*audience, error) {
	if err := req.validate(h.now()); err != nil {
		return nil, err
	}
	if !p.mayAlert(req.Area.Villages) {
		if p.Role == storage.RoleCadre {
			return nil, apiErr(CodeForbidden, "a cadre may only alert its own village, with a villages area")
		}
		return nil, errForbidden
	}
	var roles []storage.Role
	if req.Roles != nil {
		roles = *req.Roles
	}
	au := &audience{mask: roleMask(roles)}
	if !req.Area.Geographic() {
		for _, id := range req.Area.Villages {
			if _, err := h.store.GetVillage(ctx, id); err != nil {
				if toAPIError(err).Code == CodeNotFound {
					return nil, badRequest("area.villages: unknown village %q", id)
				}
				return nil, err
			}
		}
		au.ids = h.dir.inVillages(req.Area.Villages, au.mask)
		return au, nil
	}
	r, err := geo.Compile(*req.Area)
	if err != nil {
		return nil, geoErr(err)
	}
	au.region = r
	au.ids = h.dir.inRegion(r, au.mask, h.now())
	return au, nil
}

func (h *Hub) countConnected(ids []string) int {
	n := 0
	for _, id := range ids {
		if h.conns.connected(id) {
			n++
		}
	}
	return n
}

func (h *Hub) handlePreviewAlert(w http.ResponseWriter, r *http.Request, p *Principal) error {
	var req AlertRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	au, err := h.resolveAudience(r.Context(), &req, p)
	if err != nil {
		return err
	}
	var cells []string
	if au.region != nil {
		cells = au.region.Cells()
	} else {
		cells = h.memberCells(au.ids)
	}
	if cells == nil {
		cells = []string{}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"targeted": len(au.ids), "connected": h.countConnected(au.ids), "cells": cells,
	})
	return nil
}

// memberCells lists the resolution-7 cells (about 5 km²) holding members,
// to show a villages area on the map.
func (h *Hub) memberCells(ids []string) []string {
	now := h.now()
	seen := map[h3.Cell]bool{}
	var out []string
	for _, id := range ids {
		p, ok := h.dir.position(id, now)
		if !ok {
			continue
		}
		c := h3.LatLngToCell(h3.LatLng{Lat: p.Lat, Lng: p.Lng}, 7)
		if seen[c] {
			continue
		}
		seen[c] = true
		out = append(out, c.String())
	}
	return out
}

func (h *Hub) handleCreateAlert(w http.ResponseWriter, r *http.Request, p *Principal) error {
	if h.shuttingDown.Load() {
		return errUnavailable
	}
	var req AlertRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	a, targeted, connected, err := h.SendAlert(r.Context(), &req, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"alert": h.alertView(a), "targeted": targeted, "connected": connected})
	return nil
}

// SendAlert validates, targets, stores (durably) and fans out an alert.
func (h *Hub) SendAlert(ctx context.Context, req *AlertRequest, p *Principal) (*storage.Alert, int, int, error) {
	au, err := h.resolveAudience(ctx, req, p)
	if err != nil {
		return nil, 0, 0, err
	}
	now := h.now()
	area, _ := json.Marshal(req.Area)
	a := &storage.Alert{
		ID: newID("a_"), Kind: req.Kind, Severity: req.Severity, Title: req.Title, Body: req.Body,
		Area: area, Villages: req.Area.Villages, CreatedBy: p.ID, CreatedAt: now,
		ExpiresAt: now.Add(defaultAlertTTL), Status: storage.AlertActive,
		SMSFallbackAfterS: req.SMSFallbackAfterS,
	}
	if req.Roles != nil {
		a.Roles = *req.Roles
	}
	if req.ExpiresAt != nil {
		a.ExpiresAt = req.ExpiresAt.UTC()
	}
	targets := make([]storage.Target, len(au.ids))
	connected := 0
	for i, id := range au.ids {
		online := h.conns.connected(id)
		if online {
			connected++
		}
		targets[i] = storage.Target{MemberID: id, SMSDueAt: h.smsDue(a, id, online, now), SMSPriority: severities[a.Severity]}
	}
	body, _ := json.Marshal(alertEventView(a))
	ev := &storage.Event{Type: storage.EventAlert, AlertID: a.ID, Body: body, CreatedAt: now}
	storeStart := time.Now()
	if err := h.store.CreateAlert(ctx, a, ev, targets); err != nil {
		return nil, 0, 0, err
	}
	stored := time.Since(storeStart)
	h.metrics.stored.WithLabelValues(ev.Type).Inc()
	aa, err := compileActive(*a)
	if err != nil {
		return nil, 0, 0, err
	}
	h.alerts.put(aa)
	publishStart := time.Now()
	h.publish(ctx, ev, au.ids, nil)
	published := time.Since(publishStart)
	h.sms.Wake()
	h.progress.touch(a.ID)
	h.log.InfoContext(ctx, "alert sent", "alert", a.ID, "kind", a.Kind, "severity", a.Severity,
		"targeted", len(au.ids), "connected", connected, "by", p.ID,
		"store_ms", stored.Milliseconds(), "publish_ms", published.Milliseconds(),
		"total_ms", time.Since(storeStart).Milliseconds())
	return a, len(au.ids), connected, nil
}

// smsDue is docs/API.md's fallback policy: with sms_fallback_after_s set, a
// member not connected gets an SMS at once, a connected one after that many
// seconds unless it answered first; without it, no SMS.
func (h *Hub) smsDue(a *storage.Alert, memberID string, online bool, now time.Time) time.Time {
	if a.SMSFallbackAfterS == nil || !h.dir.hasPhone(memberID) {
		return time.Time{}
	}
	if !online {
		return now
	}
	return now.Add(time.Duration(*a.SMSFallbackAfterS) * time.Second)
}

// alertView is the alert object of the HTTP API, with its status as of now.
func (h *Hub) alertView(a *storage.Alert) *storage.Alert {
	v := *a
	if v.Status == storage.AlertActive && !v.ExpiresAt.After(h.now()) {
		v.Status = storage.AlertExpired
	}
	if v.Roles == nil {
		v.Roles = []storage.Role{}
	}
	return &v
}

func (h *Hub) loadAlert(ctx context.Context, id string, p *Principal) (*storage.Alert, error) {
	a, err := h.store.GetAlert(ctx, id)
	if err != nil {
		return nil, err
	}
	if !p.mayReadAlert(&a) {
		return nil, errForbidden
	}
	return &a, nil
}

func (h *Hub) handleGetAlert(w http.ResponseWriter, r *http.Request, p *Principal) error {
	a, err := h.loadAlert(r.Context(), r.PathValue("id"), p)
	if err != nil {
		return err
	}
	prog, err := h.store.AlertProgress(r.Context(), a.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"alert": h.alertView(a), "progress": prog})
	return nil
}

var responseFilters = []string{"", "none", storage.RespReceived, storage.RespSafe, storage.RespNeedHelp, storage.RespComing, storage.RespUnavailable}

func (h *Hub) handleRecipients(w http.ResponseWriter, r *http.Request, p *Principal) error {
	resp := r.URL.Query().Get("response")
	if !slices.Contains(responseFilters, resp) {
		return badRequest("response must be received, safe, need_help, coming, unavailable or none")
	}
	a, err := h.loadAlert(r.Context(), r.PathValue("id"), p)
	if err != nil {
		return err
	}
	rs, err := h.store.ListRecipients(r.Context(), a.ID, storage.RecipientFilter{Response: resp})
	if err != nil {
		return err
	}
	if rs == nil {
		rs = []storage.Recipient{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"recipients": rs})
	return nil
}

func (h *Hub) handleCancelAlert(w http.ResponseWriter, r *http.Request, p *Principal) error {
	a, err := h.store.GetAlert(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if !p.mayAlert(a.Villages) {
		return errForbidden
	}
	out, err := h.CancelAlert(r.Context(), a.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"alert": h.alertView(out)})
	return nil
}

// CancelAlert cancels an active alert, tells every member it was addressed
// to, stops its pending SMS and sends the all-clear SMS to those who got
// one.
func (h *Hub) CancelAlert(ctx context.Context, id string) (*storage.Alert, error) {
	now := h.now()
	ev := &storage.Event{Type: storage.EventAlertCancel, AlertID: id, CreatedAt: now}
	a, err := h.store.CancelAlert(ctx, id, now, ev)
	if err != nil {
		return nil, err
	}
	h.metrics.stored.WithLabelValues(ev.Type).Inc()
	h.alerts.remove(id)
	rs, err := h.store.ListRecipients(ctx, id, storage.RecipientFilter{})
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(rs))
	for i := range rs {
		ids[i] = rs[i].MemberID
	}
	h.publish(ctx, ev, ids, nil)
	if err := h.queueAllClear(ctx, &a, now); err != nil {
		h.log.ErrorContext(ctx, "queue all-clear SMS", "alert", id, "err", err)
	}
	h.progress.touch(id)
	return &a, nil
}

func (h *Hub) handleListAlerts(w http.ResponseWriter, r *http.Request, p *Principal) error {
	status := r.URL.Query().Get("status")
	if !slices.Contains([]string{"", storage.AlertActive, storage.AlertCancelled, storage.AlertExpired}, status) {
		return badRequest("status must be active, cancelled or expired")
	}
	var out []*storage.Alert
	switch {
	case p.isCommand() || p.Role == storage.RoleCadre:
		f := storage.AlertFilter{Status: status, Now: h.now()}
		if !p.isCommand() {
			f.Village = p.VillageID
		}
		as, err := h.store.ListAlerts(r.Context(), f)
		if err != nil {
			return err
		}
		for i := range as {
			out = append(out, h.alertView(&as[i]))
		}
	default:
		// Residents and patrols: the active alerts addressed to them.
		if status != "" && status != storage.AlertActive {
			break
		}
		evs, err := h.store.ActiveAlertsFor(r.Context(), p.ID, h.now())
		if err != nil {
			return err
		}
		for _, ev := range evs {
			a, err := h.store.GetAlert(r.Context(), ev.AlertID)
			if err != nil {
				return err
			}
			v := h.alertView(&a)
			v.CreatedBy, v.SMSFallbackAfterS = "", nil
			out = append(out, v)
		}
	}
	if out == nil {
		out = []*storage.Alert{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"alerts": out})
	return nil
}

// coverNewPosition addresses to a member every active alert that covers it
// now but did not before (it moved in, or was just created) and pushes
// those alerts to its connections.
func (h *Hub) coverNewPosition(ctx context.Context, memberID string) {
	role, village, ok := h.dir.member(memberID)
	if !ok {
		return
	}
	now := h.now()
	pos, hasPos := h.dir.position(memberID, now)
	for _, aa := range h.alerts.list(now) {
		if !aa.covers(role, village, pos, hasPos) {
			continue
		}
		// Most connects are of members already addressed: a read first
		// keeps them off the store's single write path.
		if done, err := h.store.IsTargeted(ctx, aa.alert.ID, memberID); err == nil && done {
			continue
		}
		online := h.conns.connected(memberID)
		t := storage.Target{MemberID: memberID, SMSDueAt: h.smsDue(&aa.alert, memberID, online, now), SMSPriority: severities[aa.alert.Severity]}
		added, err := h.store.AddTargets(ctx, aa.alert.ID, []storage.Target{t}, now)
		if err != nil {
			h.log.ErrorContext(ctx, "address alert to member who moved in", "alert", aa.alert.ID, "member", memberID, "err", err)
			continue
		}
		if len(added) == 0 {
			continue
		}
		env := &Envelope{Type: storage.EventAlert, Seq: aa.alert.Seq, AlertID: aa.alert.ID,
			At: now, Frame: aa.frame, Members: added}
		if err := h.broker.Publish(ctx, env); err != nil {
			h.log.ErrorContext(ctx, "publish alert to member who moved in", "err", err)
		}
		h.progress.touch(aa.alert.ID)
		if !t.SMSDueAt.IsZero() {
			h.sms.Wake()
		}
	}
}

func (h *Hub) loadActiveAlerts(ctx context.Context) error {
	as, err := h.store.ListAlerts(ctx, storage.AlertFilter{Status: storage.AlertActive, Now: h.now(), Limit: 10000})
	if err != nil {
		return err
	}
	for _, a := range as {
		aa, err := compileActive(a)
		if err != nil {
			h.log.Error("cannot compile stored alert", "alert", a.ID, "err", err)
			continue
		}
		h.alerts.put(aa)
	}
	return nil
}
