package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/longyou/hub/api/cap"
	"github.com/longyou/hub/geo"
	"github.com/longyou/hub/service"
	"github.com/longyou/hub/service/alerting"
	"github.com/longyou/hub/storage"
)

// CAP import (docs/API.md "v1.6 (CAP import, updates and exercises,
// issue 14)"): POST /api/v1/alerts with Content-Type application/cap+xml.

// isCAP tells whether a request's body is a CAP document.
func isCAP(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == cap.ContentType
}

// capMeta is what the hub keeps of a CAP message beside the alert's own
// fields: the alert's "cap" object (docs/API.md v1.6).
type capMeta struct {
	Sender     string     `json:"sender"`
	Identifier string     `json:"identifier"`
	Sent       time.Time  `json:"sent"`
	Status     string     `json:"status"`
	MsgType    string     `json:"msg_type"`
	Scope      string     `json:"scope,omitempty"`
	Note       string     `json:"note,omitempty"`
	Infos      []capInfoM `json:"infos"`
	// Geocodes are the division codes of the message's areas (as given).
	Geocodes []string `json:"geocodes,omitempty"`
}

// capInfoM is one <info> as kept: each member reads the one of its
// language (zh first).
type capInfoM struct {
	Language     string   `json:"language"`
	Event        string   `json:"event"`
	Category     []string `json:"category"`
	Urgency      string   `json:"urgency"`
	Severity     string   `json:"severity"`
	Certainty    string   `json:"certainty"`
	ResponseType []string `json:"response_type,omitempty"`
	SenderName   string   `json:"sender_name,omitempty"`
	Headline     string   `json:"headline,omitempty"`
	Description  string   `json:"description,omitempty"`
	Instruction  string   `json:"instruction,omitempty"`
	Web          string   `json:"web,omitempty"`
	AreaDesc     string   `json:"area_desc,omitempty"`
	// Title and Body are the hub's title and body in this language.
	Title string `json:"title"`
	Body  string `json:"body"`
}

func strs[S ~string](ss []S) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = string(s)
	}
	return out
}

// metaOf is the kept part of a CAP message; zh is the info the hub's own
// title and body come from.
func metaOf(m *cap.Alert) capMeta {
	out := capMeta{Sender: m.Sender, Identifier: m.Identifier, Sent: m.Sent, Status: string(m.Status),
		MsgType: string(m.MsgType), Scope: string(m.Scope), Note: m.Note, Infos: []capInfoM{}}
	for i := range m.Infos {
		in := &m.Infos[i]
		var descs []string
		for _, ar := range in.Areas {
			if ar.AreaDesc != "" && !slices.Contains(descs, ar.AreaDesc) {
				descs = append(descs, ar.AreaDesc)
			}
		}
		out.Infos = append(out.Infos, capInfoM{Language: in.Lang(), Event: in.Event, Category: strs(in.Categories),
			Urgency: string(in.Urgency), Severity: string(in.Severity), Certainty: string(in.Certainty),
			ResponseType: strs(in.ResponseTypes), SenderName: in.SenderName, Headline: in.Headline,
			Description: in.Description, Instruction: in.Instruction, Web: in.Web,
			AreaDesc: strings.Join(descs, "；"), Title: clipRunes(cap.Title(in), 200), Body: clipRunes(cap.Body(in), 4000)})
	}
	for _, dc := range m.DivisionCodes() {
		out.Geocodes = append(out.Geocodes, dc.Code)
	}
	return out
}

// clipRunes shortens s to at most n characters, with an ellipsis when cut:
// a CAP headline or description may be longer than the hub's title and
// body allow.
func clipRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// capBadRequest answers a CAP document the parser refused: 413 over 1
// MiB, else 400 with the parser's message (naming the element).
func capBadRequest(err error) error {
	if errors.Is(err, cap.ErrTooLarge) {
		return service.Errorf(service.CodeTooLarge, "the CAP document is larger than 1 MiB")
	}
	return service.Invalid("%s", err.Error())
}

// handleImportCAP serves POST /api/v1/alerts with a CAP document: a new
// alert (msgType Alert), an update in place (Update) or a cancel (Cancel)
// of the alert its references name; the same message again answers 200
// with the alert it concerns.
func (a *API) handleImportCAP(w http.ResponseWriter, r *http.Request, p *Principal) error {
	data, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, cap.MaxSize))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return capBadRequest(cap.ErrTooLarge)
		}
		return service.Invalid("could not read the body")
	}
	var fallback *int
	if v := r.URL.Query().Get("sms_fallback_after_s"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return service.Invalid("sms_fallback_after_s must be a whole number of seconds")
		}
		fallback = &n
	}
	code, out, err := a.ImportCAP(r.Context(), data, p, fallback)
	if err != nil {
		return err
	}
	writeJSON(w, code, out)
	return nil
}

// ImportCAP imports a CAP document as p (docs/API.md v1.6): the HTTP
// status and answer of POST /api/v1/alerts, or the error to answer.
func (a *API) ImportCAP(ctx context.Context, data []byte, p *Principal, fallback *int) (int, map[string]any, error) {
	m, err := cap.Parse(data)
	if err != nil {
		return 0, nil, capBadRequest(err)
	}
	switch m.Status {
	case cap.StatusActual, cap.StatusExercise, cap.StatusTest:
	default:
		return 0, nil, service.Invalid("cap: status: %s is not accepted: only Actual (live), Exercise and Test (演练) are", m.Status)
	}
	switch m.MsgType {
	case cap.MsgAlert, cap.MsgUpdate, cap.MsgCancel:
	default:
		return 0, nil, service.Invalid("cap: msgType: %s is not accepted: only Alert, Update and Cancel are", m.MsgType)
	}
	if code, out, err := a.capDuplicate(ctx, p, m.Sender, m.Identifier); code != 0 || err != nil {
		return code, out, err
	}
	imp := &storage.CAPImport{Sender: m.Sender, Identifier: m.Identifier, MsgType: string(m.MsgType), At: a.alerting.Now()}
	var code int
	var out map[string]any
	switch m.MsgType {
	case cap.MsgAlert:
		code, out, err = a.capCreate(ctx, p, m, imp, fallback)
	case cap.MsgUpdate:
		code, out, err = a.capUpdate(ctx, p, m, imp)
	default:
		code, out, err = a.capCancel(ctx, p, m, imp)
	}
	if err != nil && service.From(err).Code == service.CodeConflict {
		// A concurrent import of the same message won: answer as a retry.
		if code, out, err2 := a.capDuplicate(ctx, p, m.Sender, m.Identifier); code != 0 || err2 != nil {
			return code, out, err2
		}
	}
	return code, out, err
}

// capDuplicate answers 200 with the alert a message imported before
// concerns; code 0 when it was never imported.
func (a *API) capDuplicate(ctx context.Context, p *Principal, sender, identifier string) (int, map[string]any, error) {
	al, msgType, err := a.alerting.CAPImported(ctx, sender, identifier)
	if service.IsNotFound(err) {
		return 0, nil, nil
	}
	if err != nil {
		return 0, nil, err
	}
	if !may(p, ActSendAlert, Scope{Villages: al.Villages}) {
		return 0, nil, service.ErrForbidden
	}
	return http.StatusOK, map[string]any{"alert": a.alertNow(&al), "duplicate": true, "msg_type": msgType}, nil
}

// capChange is the hub's side of a CAP Alert or Update: severity, kind,
// title, body, area, expiry and what is kept.
type capChange struct {
	kind, severity, title, body string
	area                        *geo.Area
	expires                     time.Time
	meta                        json.RawMessage
}

func (a *API) capChangeOf(ctx context.Context, m *cap.Alert) (capChange, error) {
	zh := m.InfoFor("zh-CN")
	if zh == nil {
		return capChange{}, service.Invalid("cap: info: an alert needs at least one info block")
	}
	meta := metaOf(m)
	mj, err := json.Marshal(meta)
	if err != nil {
		return capChange{}, err
	}
	now := a.alerting.Now()
	def, maxTTL := a.alerting.TTLs()
	c := capChange{kind: cap.HubKind(zh), severity: cap.HubSeverity(zh.Severity), meta: mj,
		title: clipRunes(cap.Title(zh), 200), body: clipRunes(cap.Body(zh), 4000), expires: m.ExpiresAt(now.Add(def))}
	if strings.TrimSpace(c.title) == "" {
		return capChange{}, service.Invalid("cap: info.headline: needed (or info.event) for the alert's title")
	}
	if !c.expires.After(now) {
		return capChange{}, service.Invalid("cap: info.expires: the alert has expired already (%s)", c.expires.Format(time.RFC3339))
	}
	if c.expires.Sub(now) > maxTTL {
		c.expires = now.Add(maxTTL) // the hub's longest alert; the message's own expiry is kept in cap
	}
	c.area, err = a.capAreaOf(ctx, m)
	return c, err
}

// capAreaOf is the hub's area of a CAP message: the union of every
// polygon and circle (polygons first, then circles), or, without any, the
// villages whose division code a geocode prefixes.
func (a *API) capAreaOf(ctx context.Context, m *cap.Alert) (*geo.Area, error) {
	return capAreaIn(m, func() ([]storage.Village, error) { return a.members.Villages(ctx) })
}

// capAreaIn is capAreaOf with the county's villages read by villages
// (only when the message has no shape).
func capAreaIn(m *cap.Alert, villages func() ([]storage.Village, error)) (*geo.Area, error) {
	var polys, circles []geo.Area
	for _, sh := range m.Shapes() {
		switch {
		case sh.Circle != nil:
			circles = append(circles, geo.Area{Circle: &geo.Circle{Lat: sh.Circle.Lat, Lng: sh.Circle.Lng, RadiusM: sh.Circle.RadiusM}})
		default:
			ring := sh.Polygon
			if len(ring) > 1 && ring[0] == ring[len(ring)-1] {
				ring = ring[:len(ring)-1] // the hub's polygons are open rings
			}
			pts := make([][]float64, len(ring))
			for i, pt := range ring {
				pts[i] = []float64{pt[0], pt[1]}
			}
			polys = append(polys, geo.Area{Polygon: pts})
		}
	}
	parts := append(polys, circles...)
	switch len(parts) {
	case 0:
	case 1:
		return &parts[0], nil
	default:
		return &geo.Area{Union: parts}, nil
	}
	// areas counts the geocodes: an <area> with a description alone
	// ("U.S. nationwide") names no narrower place than the whole county.
	areas := 0
	for i := range m.Infos {
		for _, ar := range m.Infos[i].Areas {
			areas += len(ar.Geocodes)
		}
	}
	codes := m.DivisionCodes()
	if areas > 0 && len(codes) == 0 {
		return nil, service.Invalid("cap: info.area: no polygon, circle or administrative division geocode: the hub cannot tell whom to alert")
	}
	vs, err := villages()
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, v := range vs {
		if areas == 0 { // no shape and no geocode: the whole county
			ids = append(ids, v.ID)
			continue
		}
		for _, dc := range codes {
			if v.Code != "" && strings.HasPrefix(v.Code, dc.Prefix) {
				ids = append(ids, v.ID)
				break
			}
		}
	}
	switch {
	case len(ids) > 0:
	case areas == 0:
		return nil, service.Invalid("cap: info.area: the message names no place and the county has no village yet")
	default:
		return nil, service.Invalid("cap: info.area.geocode: no village of this county has a code under %s", codes[0].Code)
	}
	return &geo.Area{Villages: ids}, nil
}

func (a *API) capCreate(ctx context.Context, p *Principal, m *cap.Alert, imp *storage.CAPImport, fallback *int) (int, map[string]any, error) {
	if a.node.ShuttingDown() {
		return 0, nil, service.ErrUnavailable
	}
	d, err := a.capDraft(ctx, m)
	if err != nil {
		return 0, nil, err
	}
	d.Import, d.SMSFallbackAfterS = imp, fallback
	if err := a.checkSend(&d, p); err != nil {
		return 0, nil, err
	}
	sent, err := a.alerting.Send(ctx, d, p.actor())
	if err != nil {
		return 0, nil, err
	}
	out := map[string]any{"alert": a.alertNow(&sent.Alert), "targeted": sent.Targeted, "connected": sent.Connected,
		"approximate": sent.Approximate, "no_phone": sent.NoPhone}
	return http.StatusCreated, out, nil
}

// capDraft is the draft of a CAP Alert message.
func (a *API) capDraft(ctx context.Context, m *cap.Alert) (alerting.Draft, error) {
	c, err := a.capChangeOf(ctx, m)
	if err != nil {
		return alerting.Draft{}, err
	}
	exp := c.expires
	return alerting.Draft{Kind: c.kind, Severity: c.severity, Title: c.title, Body: c.body, Area: c.area,
		ExpiresAt: &exp, Exercise: m.Exercise(), Meta: c.meta}, nil
}

// capReferred is the alert an Update or Cancel refers to: the newest of its
// references that this hub imported, or that is one of the hub's own CAP
// messages (its sender, an alert id, or an alert id with ".update.N" or
// ".cancel"). 404 when none is.
func (a *API) capReferred(ctx context.Context, m *cap.Alert) (storage.Alert, error) {
	if len(m.References) == 0 {
		return storage.Alert{}, service.Invalid("cap: references: an %s needs the message it refers to", m.MsgType)
	}
	for i := len(m.References) - 1; i >= 0; i-- {
		ref := m.References[i]
		al, _, err := a.alerting.CAPImported(ctx, ref.Sender, ref.Identifier)
		if err == nil {
			return al, nil
		}
		if !service.IsNotFound(err) {
			return storage.Alert{}, err
		}
		if ref.Sender == a.capSender() {
			id, _, _ := strings.Cut(ref.Identifier, ".")
			al, err := a.alerting.Get(ctx, id)
			if err == nil {
				return al, nil
			}
			if !service.IsNotFound(err) {
				return storage.Alert{}, err
			}
		}
	}
	return storage.Alert{}, service.Errorf(service.CodeNotFound, "cap: references: no alert of this hub was made from %s,%s",
		m.References[len(m.References)-1].Sender, m.References[len(m.References)-1].Identifier)
}

func (a *API) capUpdate(ctx context.Context, p *Principal, m *cap.Alert, imp *storage.CAPImport) (int, map[string]any, error) {
	al, err := a.capReferred(ctx, m)
	if err != nil {
		return 0, nil, err
	}
	if !may(p, ActSendAlert, Scope{Villages: al.Villages}) {
		return 0, nil, service.ErrForbidden
	}
	c, err := a.capChangeOf(ctx, m)
	if err != nil {
		return 0, nil, err
	}
	if !may(p, ActSendAlert, Scope{Villages: c.area.Villages}) {
		return 0, nil, service.ErrForbidden
	}
	exp := c.expires
	up, err := a.alerting.Update(ctx, al.ID, alerting.Change{Severity: &c.severity, Title: &c.title, Body: &c.body,
		Area: c.area, ExpiresAt: &exp, Meta: c.meta, Import: imp}, p.actor())
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, updateAnswer(a, &up), nil
}

func (a *API) capCancel(ctx context.Context, p *Principal, m *cap.Alert, imp *storage.CAPImport) (int, map[string]any, error) {
	al, err := a.capReferred(ctx, m)
	if err != nil {
		return 0, nil, err
	}
	if !may(p, ActSendAlert, Scope{Villages: al.Villages}) {
		return 0, nil, service.ErrForbidden
	}
	out, err := a.alerting.CancelBy(ctx, al.ID, p.ID, imp)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"alert": a.alertNow(&out)}, nil
}

func updateAnswer(a *API, up *alerting.Updated) map[string]any {
	return map[string]any{"alert": a.alertNow(&up.Alert), "targeted": up.Targeted, "added": up.Added, "removed": up.Removed}
}

// updateRequest is the body of POST /api/v1/alerts/{id}/update: the fields
// to change, the others kept.
type updateRequest struct {
	Severity  *string    `json:"severity"`
	Title     *string    `json:"title"`
	Body      *string    `json:"body"`
	Area      *geo.Area  `json:"area"`
	ExpiresAt *time.Time `json:"expires_at"`
}

// handleUpdateAlert serves POST /api/v1/alerts/{id}/update: an update in
// place (same roles as cancel; a cadre's new area must be its village).
func (a *API) handleUpdateAlert(w http.ResponseWriter, r *http.Request, p *Principal) error {
	var req updateRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	al, err := a.alerting.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if !may(p, ActSendAlert, Scope{Villages: al.Villages}) {
		return service.ErrForbidden
	}
	if req.Severity == nil && req.Title == nil && req.Body == nil && req.Area == nil && req.ExpiresAt == nil {
		return service.Invalid("nothing to update: give severity, title, body, area or expires_at")
	}
	c := alerting.Change{Severity: req.Severity, Title: req.Title, Body: req.Body, Area: req.Area, ExpiresAt: req.ExpiresAt}
	d, err := alerting.DraftOf(&al, &c)
	if err != nil {
		return err
	}
	if err := a.alerting.Validate(&d); err != nil {
		return err
	}
	if !may(p, ActSendAlert, Scope{Villages: d.Area.Villages}) {
		return service.ErrForbidden
	}
	up, err := a.alerting.Update(r.Context(), al.ID, c, p.actor())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, updateAnswer(a, &up))
	return nil
}
