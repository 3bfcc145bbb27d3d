package api

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/longyou/hub/service"
	"github.com/longyou/hub/service/board"
	"github.com/longyou/hub/service/reports"
	"github.com/longyou/hub/storage"
)

// Personal data (docs/API.md v1.4): an admin's export and erasure of one
// member, and readiness's write probe.

// MemberExport is GET /api/v1/members/{id}/export: everything the hub's
// store holds about one member (storage.MemberData), for the member's
// right to a copy (PIPL art. 45). The member record is as stored: its
// live position however old, its phone.
type MemberExport struct {
	ExportedAt        time.Time        `json:"exported_at"`
	Member            Member           `json:"member"`
	Tokens            ExportTokens     `json:"tokens"`
	Alerts            []ExportDelivery `json:"alerts"`
	Answers           []ExportAnswer   `json:"answers"`
	Reports           []reports.Report `json:"reports"`
	Media             []ExportMedia    `json:"media"`
	Messages          []ExportMessage  `json:"messages"`
	AlertsCreated     []string         `json:"alerts_created"`
	BulletinsAuthored []string         `json:"bulletins_authored"`
	// Deeds are the good deeds the member recorded (v1.6; api/board.go).
	Deeds []board.Deed `json:"deeds,omitempty"`
}

// ExportTokens says how many sign-in tokens the member holds; the store
// keeps only their hashes, which are not exported.
type ExportTokens struct {
	Count int `json:"count"`
}

// ExportDelivery is an alert addressed to the member, with its latest
// answer.
type ExportDelivery struct {
	AlertID     string     `json:"alert_id"`
	TargetedAt  time.Time  `json:"targeted_at"`
	DeliveredAt *time.Time `json:"delivered_at"`
	Response    string     `json:"response"`
	RespondedAt *time.Time `json:"responded_at"`
	EtaMin      *int       `json:"eta_min,omitempty"`
	Note        string     `json:"note"`
}

// ExportAnswer is one answer the member gave (the history).
type ExportAnswer struct {
	AlertID  string    `json:"alert_id"`
	Response string    `json:"response"`
	EtaMin   *int      `json:"eta_min,omitempty"`
	Note     string    `json:"note"`
	At       time.Time `json:"at"`
}

// ExportMedia is one upload (its bytes at URL).
type ExportMedia struct {
	ID          string    `json:"id"`
	URL         string    `json:"url"`
	ContentType string    `json:"content_type"`
	Size        int       `json:"size"`
	CreatedAt   time.Time `json:"created_at"`
}

// ExportMessage is one outbox row addressed to the member (an SMS about an
// alert). The outbox keeps no number and no text: the number is the
// member's, the text is built from the alert when sent.
type ExportMessage struct {
	Channel    string     `json:"channel"`
	RefType    string     `json:"ref_type"`
	RefID      string     `json:"ref_id"`
	Kind       string     `json:"kind"`
	State      string     `json:"state"`
	DueAt      time.Time  `json:"due_at"`
	SentAt     *time.Time `json:"sent_at"`
	ProviderID string     `json:"provider_id,omitempty"`
	Status     string     `json:"status,omitempty"`
	ErrorCode  string     `json:"error_code,omitempty"`
	Segments   int        `json:"segments"`
}

func exportView(d *storage.MemberData, at time.Time) MemberExport {
	m := memberView(&d.Member)
	out := MemberExport{ExportedAt: at, Member: m, Tokens: ExportTokens{Count: d.Tokens},
		Alerts: make([]ExportDelivery, len(d.Deliveries)), Answers: make([]ExportAnswer, len(d.Acks)),
		Reports: reports.Views(d.Reports), Media: make([]ExportMedia, len(d.Media)),
		Messages: make([]ExportMessage, len(d.Messages)), AlertsCreated: d.AlertsCreated,
		BulletinsAuthored: d.BulletinsAuthored}
	for i, x := range d.Deliveries {
		out.Alerts[i] = ExportDelivery{AlertID: x.AlertID, TargetedAt: x.TargetedAt, DeliveredAt: x.DeliveredAt,
			Response: x.Response, RespondedAt: x.RespondedAt, EtaMin: x.EtaMin, Note: x.Note}
	}
	for i, x := range d.Acks {
		out.Answers[i] = ExportAnswer{AlertID: x.AlertID, Response: x.Response, EtaMin: x.EtaMin, Note: x.Note, At: x.At}
	}
	for i, x := range d.Media {
		out.Media[i] = ExportMedia{ID: x.ID, URL: "/api/v1/media/" + x.ID, ContentType: x.ContentType,
			Size: x.Size, CreatedAt: x.CreatedAt}
	}
	for i, x := range d.Messages {
		var sent *time.Time
		if !x.SentAt.IsZero() {
			sent = &x.SentAt
		}
		out.Messages[i] = ExportMessage{Channel: x.Channel, RefType: x.Ref.Type, RefID: x.Ref.ID, Kind: x.Kind,
			State: x.State, DueAt: x.DueAt, SentAt: sent, ProviderID: x.ProviderID, Status: x.Status,
			ErrorCode: x.ErrorCode, Segments: x.Segments}
	}
	if out.Reports == nil {
		out.Reports = []reports.Report{}
	}
	return out
}

func (a *API) handleExportMember(w http.ResponseWriter, r *http.Request, p *Principal) error {
	if !may(p, ActPersonalData, Scope{}) {
		return service.ErrForbidden
	}
	d, err := a.members.Export(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	a.log.InfoContext(r.Context(), "member data exported", "member", d.Member.ID, "by", p.ID)
	w.Header().Set("Content-Disposition", `attachment; filename="member-`+d.Member.ID+`.json"`)
	ex := exportView(&d, a.node.Now())
	if err := a.exportBoard(r.Context(), d.Member.ID, &ex); err != nil { // api/board.go
		return err
	}
	out := map[string]any{"export": ex}
	if a.patrol != nil { // v1.6: its patrol rounds with their tracks
		if out["rounds"], err = a.exportRounds(r.Context(), d.Member.ID); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// Erased is the answer of DELETE /api/v1/members/{id}: what was erased.
type Erased struct {
	MemberID string `json:"member_id"`
	Tokens   int    `json:"tokens"`
	Notes    int    `json:"notes"`
	Reports  int    `json:"reports"`
	Events   int    `json:"events"`
	Media    int    `json:"media"`
	Messages int    `json:"messages"`
	Tracks   int    `json:"tracks"` // v1.6: track points of its patrol rounds
}

func (a *API) handleEraseMember(w http.ResponseWriter, r *http.Request, p *Principal) error {
	if !may(p, ActPersonalData, Scope{}) {
		return service.ErrForbidden
	}
	id := r.PathValue("id")
	if id == p.ID {
		return service.Errorf(service.CodeConflict, "an admin cannot erase itself; ask another admin")
	}
	// v1.6: the positions of its rounds' tracks first, so that a failure
	// leaves the member to erase again (a retry finds it).
	tracks := 0
	if a.patrol != nil {
		var err error
		if tracks, err = a.patrol.EraseTracks(r.Context(), id); err != nil {
			return err
		}
	}
	e, err := a.members.Erase(r.Context(), id)
	if err != nil {
		return err
	}
	a.log.InfoContext(r.Context(), "member erased", "member", id, "by", p.ID, "reports", e.Reports,
		"media", e.Media, "tokens", e.Tokens)
	writeJSON(w, http.StatusOK, map[string]any{"erased": Erased{MemberID: id, Tokens: e.Tokens, Notes: e.Notes,
		Reports: e.Reports, Events: e.Events, Media: e.Media, Messages: e.Messages, Tracks: tracks}})
	return nil
}

// WriteProber is the optional capability of a store that can check it can
// write (storage.Privacy.ProbeWrite): readiness fails when it cannot.
type WriteProber interface {
	ProbeWrite(ctx context.Context) error
}

// probeTTL is how long a write probe's result stands: a load balancer
// polling every second costs one small write per probeTTL, not per poll.
const probeTTL = 2 * time.Second

// probeTimeout bounds a write probe: a store that cannot write within it
// (the SQLite writer busy with a 50,000-member alert longer than that,
// a PostgreSQL whose disk stalls) is not ready to take writes now.
const probeTimeout = 1500 * time.Millisecond

// writeProbe caches the last write probe (probeTTL).
type writeProbe struct {
	mu  sync.Mutex // guards the following fields; held during a probe, so one runs at a time
	at  time.Time
	err error
}

// probeWrite returns the store's write probe, at most probeTTL old; nil
// when the store cannot be probed.
func (a *API) probeWrite(ctx context.Context) error {
	wp, ok := a.store.(WriteProber)
	if !ok {
		return nil
	}
	a.probe.mu.Lock()
	defer a.probe.mu.Unlock()
	if !a.probe.at.IsZero() && time.Since(a.probe.at) < probeTTL {
		return a.probe.err
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), probeTimeout)
	defer cancel()
	a.probe.err = wp.ProbeWrite(ctx)
	a.probe.at = time.Now()
	return a.probe.err
}
