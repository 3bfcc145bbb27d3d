package api

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/longyou/hub/api/cap"
	"github.com/longyou/hub/geo"
	"github.com/longyou/hub/service"
	"github.com/longyou/hub/service/alerting"
	"github.com/longyou/hub/storage"
)

// CAP export (docs/API.md "v1.5 (CAP export and the public feed)"): every
// alert as a CAP 1.2 message other agencies' readers take, and an Atom feed
// of the active ones.

// CAPConfig is how the hub signs its CAP messages and whether its feed is
// public.
type CAPConfig struct {
	// Sender is <sender>: the deployment's name, unique among agencies
	// (no spaces or commas); empty means the public URL's host.
	Sender string
	// SenderName is <senderName>, the agency people read; empty means
	// 龙游县应急指挥中心 (the county's command center).
	SenderName string
	// PublicFeed lets anyone read the Atom feed and the CAP messages of
	// the alerts addressed to everyone (not exercises, not staff-only
	// mobilizations) without a token: a public warning page.
	PublicFeed bool
}

// capTZ is the county's time: CAP readers show <sent> and <expires> as
// written, so they carry +08:00.
var capTZ = time.FixedZone("CST", 8*3600)

func (a *API) registerCAP(mux *http.ServeMux) {
	mux.Handle("GET /api/v1/alerts.atom", a.Instrument("GET /api/v1/alerts.atom", a.maybeAuthed(a.handleAlertFeed)))
	mux.Handle("GET /api/v1/alerts/{id}/cap", a.Instrument("GET /api/v1/alerts/{id}/cap", a.maybeAuthed(a.handleAlertCAP)))
}

// maybeAuthed is authed for a route that, with -public-feed, anyone may
// read: without a token (and only then) fn runs with a nil principal when
// the feed is public; a token given is checked as everywhere.
func (a *API) maybeAuthed(fn apiHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p *Principal
		var err error
		if bearer(r) != "" || !a.cap.PublicFeed {
			p, err = a.authenticate(r)
		}
		if err == nil {
			err = fn(w, r, p)
		}
		if err != nil {
			a.WriteError(r.Context(), w, err)
		}
	})
}

// wantsCAP tells whether the request's Accept header asks for CAP.
func wantsCAP(r *http.Request) bool {
	for part := range strings.SplitSeq(r.Header.Get("Accept"), ",") {
		if mt, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && mt == cap.ContentType {
			return true
		}
	}
	return false
}

// publicAlert tells whether an alert is for everyone: not limited to
// staff roles (residents are addressed).
func publicAlert(al *storage.Alert) bool {
	return al.Roles == nil || slices.Contains(al.Roles, storage.RoleResident)
}

// capReadable checks that the caller (nil: anonymous, public feed) may
// read the alert's CAP message: staff who may read the alert, and, with
// the public feed, anyone for an alert addressed to everyone.
func (a *API) capReadable(p *Principal, al *storage.Alert) error {
	switch {
	case p != nil && may(p, ActReadAlert, Scope{Villages: al.Villages}):
		return nil
	case a.cap.PublicFeed && publicAlert(al):
		return nil
	case p == nil:
		return service.ErrNotFound // a staff-only alert does not exist for the public
	}
	return service.ErrForbidden
}

// handleAlertCAP serves GET /api/v1/alerts/{id}/cap: the alert's current
// message (a cancelled alert's Cancel), or ?msg=alert the original one.
func (a *API) handleAlertCAP(w http.ResponseWriter, r *http.Request, p *Principal) error {
	al, err := a.alerting.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := a.capReadable(p, &al); err != nil {
		return err
	}
	return a.writeCAP(w, r, &al)
}

func (a *API) writeCAP(w http.ResponseWriter, r *http.Request, al *storage.Alert) error {
	msg := r.URL.Query().Get("msg")
	if msg != "" && msg != "alert" && msg != "cancel" && msg != "update" {
		return service.Invalid("msg must be alert, update, cancel or absent")
	}
	cancel := msg == "cancel" || (msg == "" && al.Status == storage.AlertCancelled)
	if cancel && al.Status != storage.AlertCancelled {
		return service.Errorf(service.CodeNotFound, "the alert was not cancelled: it has no Cancel message")
	}
	update := msg == "update" || (msg == "" && !cancel && al.UpdateSeq > 0) // v1.6
	if update && al.UpdateSeq == 0 {
		return service.Errorf(service.CodeNotFound, "the alert was never updated: it has no Update message")
	}
	m, err := a.capMessage(r.Context(), al, cancel)
	if err != nil {
		return err
	}
	if update {
		capAsUpdate(m, al)
	}
	doc, err := m.MarshalCAP()
	if err != nil {
		return fmt.Errorf("cap export of alert %s: %w", al.ID, err)
	}
	w.Header().Set("Content-Type", cap.ContentType+"; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(doc)
	return nil
}

// capSender is <sender>.
func (a *API) capSender() string {
	if a.cap.Sender != "" {
		return a.cap.Sender
	}
	if u, err := url.Parse(a.publicURL); err == nil && u.Host != "" {
		return u.Host
	}
	return "longyou-hub"
}

func (a *API) capSenderName() string {
	if a.cap.SenderName != "" {
		return a.cap.SenderName
	}
	return "龙游县应急指挥中心"
}

// capSent is a time as CAP writes it: whole seconds, county time.
func capSent(t time.Time) time.Time { return t.In(capTZ).Truncate(time.Second) }

// capMessage is the CAP message of an alert: the Alert message, or, when
// cancel is set, the Cancel message that refers to it.
func (a *API) capMessage(ctx context.Context, al *storage.Alert, cancel bool) (*cap.Alert, error) {
	m := &cap.Alert{
		Identifier: al.ID,
		Sender:     a.capSender(),
		Sent:       capSent(al.CreatedAt),
		Status:     cap.StatusActual,
		MsgType:    cap.MsgAlert,
		Scope:      cap.ScopePublic,
	}
	if !publicAlert(al) {
		roles := make([]string, len(al.Roles))
		for i, r := range al.Roles {
			roles[i] = string(r)
		}
		m.Scope, m.Restriction = cap.ScopeRestricted, "hub roles: "+strings.Join(roles, " ")
	}
	info := cap.Info{
		Language:    "zh-CN",
		Categories:  []cap.Category{cap.CategorySafety},
		Event:       al.Title,
		Urgency:     "Immediate",
		Severity:    cap.CAPSeverity(al.Severity),
		Certainty:   "Likely",
		Expires:     capSent(al.ExpiresAt),
		SenderName:  a.capSenderName(),
		Headline:    al.Title,
		Description: al.Body,
		Web:         strings.TrimRight(a.publicURL, "/") + "/m",
		Parameters:  []cap.ValuePair{{ValueName: "hub_kind", Value: al.Kind}},
	}
	switch al.Kind {
	case "mobilization":
		info.ResponseTypes, info.Certainty = []cap.ResponseType{"Execute"}, "Observed"
	case "all_clear":
		info.ResponseTypes, info.Urgency, info.Certainty = []cap.ResponseType{"AllClear"}, "Past", "Observed"
	default:
		info.ResponseTypes = []cap.ResponseType{"Prepare"}
	}
	area, err := a.capArea(ctx, al)
	if err != nil {
		return nil, err
	}
	info.Areas = []cap.Area{area}
	if al.Exercise { // v1.6
		m.Status = cap.StatusExercise
		m.Note = "演练 / exercise"
	}
	infos := capInfosOf(al, &info) // v1.6: an imported alert's info blocks
	if cancel {
		at := al.CreatedAt
		if al.CancelledAt != nil {
			at = *al.CancelledAt
		}
		m.References = []cap.Reference{{Sender: m.Sender, Identifier: m.Identifier, Sent: m.Sent}}
		m.Identifier += ".cancel"
		m.Sent, m.MsgType = capSent(at), cap.MsgCancel
		m.Note = "预警已解除 / the alert was cancelled"
		for i := range infos {
			infos[i].Urgency, infos[i].Certainty = "Past", "Observed"
			infos[i].ResponseTypes = []cap.ResponseType{"AllClear"}
		}
	}
	m.Infos = infos
	return m, nil
}

// capArea is the alert's area as CAP writes areas: a circle, a polygon
// (closed ring, lat,lon), the reached area's outline over the current
// travel network (or its straight-line circle without one), or the
// villages by name and, where they have one, division code.
func (a *API) capArea(ctx context.Context, al *storage.Alert) (cap.Area, error) {
	var ar geo.Area
	if err := json.Unmarshal(al.Area, &ar); err != nil {
		return cap.Area{}, fmt.Errorf("alert %s: stored area: %w", al.ID, err)
	}
	out := cap.Area{}
	switch {
	case ar.Union != nil:
		out.AreaDesc = fmt.Sprintf("%d 处划定区域的合并范围", len(ar.Union))
		for _, part := range ar.Union {
			al2 := *al
			al2.Area, _ = json.Marshal(part)
			pa, err := a.capArea(ctx, &al2)
			if err != nil {
				return cap.Area{}, err
			}
			out.Polygons = append(out.Polygons, pa.Polygons...)
			out.Circles = append(out.Circles, pa.Circles...)
			out.Geocodes = append(out.Geocodes, pa.Geocodes...)
		}
	case ar.Circle != nil:
		out.AreaDesc = fmt.Sprintf("以 %.5f,%.5f 为中心、半径 %s 的范围", ar.Circle.Lat, ar.Circle.Lng, km(ar.Circle.RadiusM))
		out.Circles = []cap.Circle{{Lat: ar.Circle.Lat, Lon: ar.Circle.Lng, RadiusKm: round4(ar.Circle.RadiusM / 1000)}}
	case len(ar.Polygon) > 0:
		out.AreaDesc = "指挥中心划定的区域"
		ring := make(cap.Polygon, 0, len(ar.Polygon)+1)
		for _, pt := range ar.Polygon {
			ring = append(ring, [2]float64{pt[0], pt[1]})
		}
		if ring[0] != ring[len(ring)-1] {
			ring = append(ring, ring[0])
		}
		out.Polygons = []cap.Polygon{ring}
	case ar.Reach != nil:
		mins := ar.Reach.Minutes
		if mins == 0 {
			mins = geo.DefaultReachMins
		}
		out.AreaDesc = fmt.Sprintf("%s %g 分钟可达范围（%.5f,%.5f）", modeZH(ar.Reach.Mode), mins, ar.Reach.Lat, ar.Reach.Lng)
		if a.travel != nil {
			if reg, _, err := a.travel.Compile(ar); err == nil {
				if iso := reg.Isochrone(); iso != nil {
					for _, poly := range iso.Outline() {
						if len(poly) == 0 || len(poly[0]) < 4 {
							continue
						}
						ring := make(cap.Polygon, len(poly[0]))
						for i, pt := range poly[0] { // GeoJSON: lng, lat
							ring[i] = [2]float64{pt[1], pt[0]}
						}
						out.Polygons = append(out.Polygons, ring)
					}
				}
			}
		}
		if len(out.Polygons) == 0 {
			r := geo.ReachRadiusM(mins, ar.Reach.Mode)
			out.Circles = []cap.Circle{{Lat: ar.Reach.Lat, Lon: ar.Reach.Lng, RadiusKm: round4(r / 1000)}}
		}
	case len(ar.Villages) > 0:
		vs, err := a.members.Villages(ctx)
		if err != nil {
			return cap.Area{}, err
		}
		byID := make(map[string]storage.Village, len(vs))
		for _, v := range vs {
			byID[v.ID] = v
		}
		var names []string
		for _, id := range ar.Villages {
			v, ok := byID[id]
			if !ok {
				names = append(names, id)
				continue
			}
			names = append(names, strings.TrimSpace(v.Township+" "+v.Name))
			if code := villageCode(v); code != "" {
				out.Geocodes = append(out.Geocodes, cap.ValuePair{ValueName: "GB/T 2260", Value: code})
			}
		}
		out.AreaDesc = strings.Join(names, "、")
	default:
		out.AreaDesc = "龙游县"
	}
	return out, nil
}

func km(m float64) string {
	if m < 1000 {
		return strconv.FormatFloat(math.Round(m), 'f', -1, 64) + " 米"
	}
	return strconv.FormatFloat(math.Round(m/100)/10, 'f', -1, 64) + " 公里"
}

func round4(f float64) float64 { return math.Round(f*1e4) / 1e4 }

func modeZH(mode string) string {
	switch mode {
	case "bike":
		return "骑行"
	case "motorbike":
		return "摩托车"
	case "drive":
		return "驾车"
	}
	return "步行"
}

// handleAlertFeed serves GET /api/v1/alerts.atom: the active alerts the
// caller may read (anonymous with -public-feed: those for everyone), newest
// first, each linking to its CAP message.
func (a *API) handleAlertFeed(w http.ResponseWriter, r *http.Request, p *Principal) error {
	staff := p != nil && (may(p, ActReadAlert, Scope{}) || may(p, ActReadAlert, Scope{Villages: []string{p.VillageID}}))
	if !staff && !a.cap.PublicFeed {
		return service.ErrForbidden
	}
	als, err := a.alerting.List(r.Context(), alerting.Filter{Status: storage.AlertActive, Limit: 500})
	if err != nil {
		return err
	}
	base := strings.TrimRight(a.publicURL, "/")
	var entries []cap.FeedEntry
	updated := time.Unix(0, 0)
	for i := range als {
		al := &als[i]
		if a.capReadable(p, al) != nil {
			continue
		}
		m, err := a.capMessage(r.Context(), al, false)
		if err != nil {
			return err
		}
		e := cap.EntryFor(m, base+"/api/v1/alerts/"+url.PathEscape(al.ID)+"/cap", "zh-CN")
		e.ID = "urn:longyou-hub:" + m.Sender + ":alert:" + al.ID
		e.Published = m.Sent
		entries = append(entries, e)
		if m.Sent.After(updated) {
			updated = m.Sent
		}
	}
	doc, err := cap.Feed(a.capSenderName()+" 生效预警", base+"/api/v1/alerts.atom", updated, entries)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/atom+xml; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(doc)
	return nil
}

// villageCode is a village's administrative division code, "" when it has
// none.
func villageCode(v storage.Village) string { return v.Code }
