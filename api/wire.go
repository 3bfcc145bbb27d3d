package api

import (
	"encoding/json"
	"github.com/longyou/hub/service/alerting"
	"time"

	"github.com/longyou/hub/storage"
)

// The wire types of the HTTP API (docs/API.md): what handlers decode and
// write. They are apart from the storage records on purpose, so that the
// tables and the contract can change apart. The objects that travel in the
// event log (report, bulletin, alert event) are the wire types of the
// service that emits them (reports.Report, bulletins.Bulletin,
// alerting.EventBody), reused here where the contract says the object is
// the same; so is the alert progress (alerting.Progress), which that
// service also pushes. Their JSON is pinned by testdata/wire: the pages
// and the load tester read it byte for byte.

// LatLng is a WGS84 position in decimal degrees.
type LatLng struct {
	Lat float64 `json:"lat"`
	Lng float64 `json:"lng"`
}

func latLngView(p *storage.LatLng) *LatLng {
	if p == nil {
		return nil
	}
	return &LatLng{Lat: p.Lat, Lng: p.Lng}
}

// record is the storage form of a decoded position (nil stays nil).
func (p *LatLng) record() *storage.LatLng {
	if p == nil {
		return nil
	}
	return &storage.LatLng{Lat: p.Lat, Lng: p.Lng}
}

// Position is a member's live position as last sent with locate.
type Position struct {
	Lat       float64   `json:"lat"`
	Lng       float64   `json:"lng"`
	AccuracyM float64   `json:"accuracy_m,omitempty"`
	At        time.Time `json:"at"`
}

func positionView(p *storage.Position) *Position {
	if p == nil {
		return nil
	}
	return &Position{Lat: p.Lat, Lng: p.Lng, AccuracyM: p.AccuracyM, At: p.At}
}

// Village is a village of the county.
type Village struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Township  string    `json:"township"`
	Center    LatLng    `json:"center"`
	Demo      bool      `json:"demo,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	// v1.5
	Code string `json:"code,omitempty"`
}

func villageView(v *storage.Village) Village {
	return Village{ID: v.ID, Name: v.Name, Township: v.Township, Center: LatLng{Lat: v.Center.Lat, Lng: v.Center.Lng},
		Demo: v.Demo, CreatedAt: v.CreatedAt, Code: v.Code}
}

// Member is a member's record (GET /me, /members, the welcome frame).
type Member struct {
	ID        string       `json:"id"`
	Name      string       `json:"name"`
	Phone     string       `json:"phone,omitempty"`
	Role      storage.Role `json:"role"`
	VillageID string       `json:"village_id,omitempty"`
	Home      *LatLng      `json:"home,omitempty"`
	Lang      string       `json:"lang,omitempty"`
	Demo      bool         `json:"demo,omitempty"`
	CreatedAt time.Time    `json:"created_at"`
	Live      *Position    `json:"live,omitempty"`
	// v1.3
	Address    string `json:"address,omitempty"`
	TravelMode string `json:"travel_mode,omitempty"`
	// v1.5: Active is false for a deactivated member; HomeApproximate is
	// true when it has no home and is placed at its village's centre.
	Active          bool `json:"active"`
	HomeApproximate bool `json:"home_approximate"`
	// v1.5: whether the member holds a token that was ever used (staff
	// views only; absent elsewhere).
	SignedIn *bool `json:"signed_in,omitempty"`
	// v1.6: the township a cadre or commander governs.
	Township string `json:"township,omitempty"`
}

func memberView(m *storage.Member) Member {
	return Member{ID: m.ID, Name: m.Name, Phone: m.Phone, Role: m.Role, VillageID: m.VillageID,
		Home: latLngView(m.Home), Lang: m.Lang, Demo: m.Demo, CreatedAt: m.CreatedAt, Live: positionView(m.Live),
		Address: m.Address, TravelMode: m.TravelMode, Active: !m.Inactive,
		HomeApproximate: m.Home == nil && m.VillageID != "", Township: m.Township}
}

// memberJSON is the member object of the welcome frame: the core sends
// these bytes as they are and knows no wire shape of a member.
func memberJSON(m *storage.Member) json.RawMessage {
	b, _ := json.Marshal(memberView(m))
	return b
}

// NewMember is a created member with its one-time token.
type NewMember struct {
	Member Member `json:"member"`
	Token  string `json:"token"`
}

// Alert is the alert object of the HTTP API: the whole record, with its
// status as of now.
type Alert struct {
	ID       string          `json:"id"`
	Kind     string          `json:"kind"`
	Severity string          `json:"severity"`
	Title    string          `json:"title"`
	Body     string          `json:"body"`
	Area     json.RawMessage `json:"area"`
	Villages []string        `json:"villages,omitempty"`
	// Roles is never null; an alert to every role leaves it out.
	Roles             []storage.Role `json:"roles,omitempty"`
	CreatedBy         string         `json:"created_by"`
	CreatedAt         time.Time      `json:"created_at"`
	ExpiresAt         time.Time      `json:"expires_at"`
	Status            string         `json:"status"`
	CancelledAt       *time.Time     `json:"cancelled_at,omitempty"`
	SMSFallbackAfterS *int           `json:"sms_fallback_after_s,omitempty"`
	Seq               int64          `json:"seq"`
	CancelSeq         int64          `json:"cancel_seq,omitempty"`
	// VoiceAfterS (v1.5): calls after the SMS; left out when none.
	VoiceAfterS *int `json:"voice_after_s,omitempty"`
	// v1.6 (issue 14): an exercise (演练), what its CAP message said, its
	// latest update in place and who cancelled it; each left out when none.
	Exercise    bool            `json:"exercise,omitempty"`
	CAP         json.RawMessage `json:"cap,omitempty"`
	UpdatedBy   string          `json:"updated_by,omitempty"`
	UpdatedAt   *time.Time      `json:"updated_at,omitempty"`
	UpdateSeq   int64           `json:"update_seq,omitempty"`
	CancelledBy string          `json:"cancelled_by,omitempty"`
}

// alertView is the wire form of a stored alert with its status as of now.
func alertView(a *storage.Alert, status string) *Alert {
	roles := a.Roles
	if roles == nil {
		roles = []storage.Role{}
	}
	return &Alert{ID: a.ID, Kind: a.Kind, Severity: a.Severity, Title: a.Title, Body: a.Body, Area: a.Area,
		Villages: a.Villages, Roles: roles, CreatedBy: a.CreatedBy, CreatedAt: a.CreatedAt, ExpiresAt: a.ExpiresAt,
		Status: status, CancelledAt: a.CancelledAt, SMSFallbackAfterS: a.SMSFallbackAfterS, Seq: a.Seq, CancelSeq: a.CancelSeq,
		VoiceAfterS: a.VoiceAfterS, Exercise: a.Exercise, CAP: a.Meta, UpdatedBy: a.UpdatedBy, UpdatedAt: a.UpdatedAt,
		UpdateSeq: a.UpdateSeq, CancelledBy: a.CancelledBy}
}

// Recipient is one row of an alert's recipient list.
type Recipient struct {
	MemberID    string       `json:"member_id"`
	Name        string       `json:"name"`
	Phone       string       `json:"phone"`
	Role        storage.Role `json:"role"`
	VillageID   string       `json:"village_id,omitempty"`
	TargetedAt  time.Time    `json:"targeted_at"`
	DeliveredAt *time.Time   `json:"delivered_at"`
	Response    string       `json:"response"` // "" when none
	RespondedAt *time.Time   `json:"responded_at"`
	EtaMin      *int         `json:"eta_min,omitempty"`
	Note        string       `json:"note,omitempty"`
	SMSState    string       `json:"sms_state"`   // "" when no SMS
	VoiceState  string       `json:"voice_state"` // v1.5: "" when no call
	Live        *Position    `json:"live,omitempty"`
	Home        *LatLng      `json:"home,omitempty"`
	// v1.3
	Address     string   `json:"address,omitempty"`
	VillageName string   `json:"village_name,omitempty"`
	TravelMode  string   `json:"travel_mode,omitempty"`
	ETAComputed *float64 `json:"eta_min_computed"`
	// v1.4: a member of another village, shown to a cadre without who it
	// is (api/scope.go recipientsFor).
	Redacted bool `json:"redacted,omitempty"`
	// v1.5: who recorded the member's latest answer for it; null when the
	// member answered itself (api/behalf.go).
	AnsweredBy *alerting.Actor `json:"answered_by"`
}

func recipientInfoView(r *alerting.RecipientInfo) Recipient {
	v := recipientView(&r.Recipient)
	v.Address, v.VillageName, v.TravelMode, v.ETAComputed = r.Address, r.VillageName, r.TravelMode, r.ETAMin
	v.AnsweredBy = r.AnsweredBy
	return v
}

func recipientView(r *storage.Recipient) Recipient {
	return Recipient{MemberID: r.MemberID, Name: r.Name, Phone: r.Phone, Role: r.Role, VillageID: r.VillageID,
		TargetedAt: r.TargetedAt, DeliveredAt: r.DeliveredAt, Response: r.Response, RespondedAt: r.RespondedAt,
		EtaMin: r.EtaMin, Note: r.Note, SMSState: r.SMSState, VoiceState: r.VoiceState, Live: positionView(r.Live), Home: latLngView(r.Home)}
}

// views maps a list to its wire form; nil stays nil (JSON null), an empty
// list stays empty ([]), as each handler answered before.
func views[R, W any](rs []R, view func(*R) W) []W {
	if rs == nil {
		return nil
	}
	out := make([]W, len(rs))
	for i := range rs {
		out[i] = view(&rs[i])
	}
	return out
}
