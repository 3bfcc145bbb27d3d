package alerting

import (
	"encoding/json"
	"time"

	"github.com/longyou/hub/storage"
)

// alertEvent is the alert object of the alert event (docs/API.md), as
// stored in the event log and replayed: its JSON must not change.
type alertEvent struct {
	ID        string          `json:"id"`
	Kind      string          `json:"kind"`
	Severity  string          `json:"severity"`
	Title     string          `json:"title"`
	Body      string          `json:"body"`
	Area      json.RawMessage `json:"area"`
	CreatedAt time.Time       `json:"created_at"`
	ExpiresAt time.Time       `json:"expires_at"`
	// v1.6 (docs/API.md): absent on alerts that have none, so the events
	// of older alerts replay as they were.
	Exercise  bool            `json:"exercise,omitempty"`
	CAP       json.RawMessage `json:"cap,omitempty"`
	UpdatedAt *time.Time      `json:"updated_at,omitempty"`
	// InArea false: the alert_update telling a member the update took it
	// out of the area.
	InArea *bool `json:"in_area,omitempty"`
}

// EventBody is the body of the alert event of a: the alert object that
// members receive (not the whole record: no audience, author or SMS
// settings).
func EventBody(a *storage.Alert) json.RawMessage {
	body, _ := json.Marshal(alertEvent{ID: a.ID, Kind: a.Kind, Severity: a.Severity, Title: a.Title, Body: a.Body,
		Area: a.Area, CreatedAt: a.CreatedAt, ExpiresAt: a.ExpiresAt,
		Exercise: a.Exercise, CAP: a.Meta, UpdatedAt: a.UpdatedAt})
	return body
}

// goneBody is the body of the alert_update event to a member an update
// took out of the area: the alert as updated, with in_area false.
func goneBody(a *storage.Alert) json.RawMessage {
	out := false
	body, _ := json.Marshal(alertEvent{ID: a.ID, Kind: a.Kind, Severity: a.Severity, Title: a.Title, Body: a.Body,
		Area: a.Area, CreatedAt: a.CreatedAt, ExpiresAt: a.ExpiresAt,
		Exercise: a.Exercise, CAP: a.Meta, UpdatedAt: a.UpdatedAt, InArea: &out})
	return body
}

// Progress is an alert's live state as clients receive it: in the
// alert_progress frames this service pushes, and in the API's
// GET /api/v1/alerts/{id} (docs/API.md).
type Progress struct {
	Targeted  int            `json:"targeted"`
	Delivered int            `json:"delivered"`
	Acked     map[string]int `json:"acked"` // every response key, zero included
	SMS       SMSCounts      `json:"sms"`
	// OnBehalf counts the members whose current answer someone else
	// recorded for them (v1.5, issue 12).
	OnBehalf int `json:"on_behalf"`
	// Voice counts the calls (v1.5): delivered is an answered call;
	// segments is always 0.
	Voice VoiceCounts `json:"voice"`
}

// VoiceCounts counts an alert's calls by state (v1.5).
type VoiceCounts struct {
	Queued    int `json:"queued"`
	Sent      int `json:"sent"`
	Delivered int `json:"delivered"`
	Failed    int `json:"failed"`
	// EtaS is the seconds to place the calls due now at -voice-rate
	// behind the calls queued ahead of them (eta.go); calls due later are
	// not counted.
	EtaS int `json:"eta_s"`
}

// SMSCounts counts an alert's SMS by state, with the segments handed to
// the provider.
type SMSCounts struct {
	Queued    int `json:"queued"`
	Sent      int `json:"sent"`
	Delivered int `json:"delivered"`
	Failed    int `json:"failed"`
	Segments  int `json:"segments"`
	// EtaS is the seconds left to send the alert's SMS due now at the
	// configured rate, behind the queue ahead of them (v1.5; Service.ProgressOf).
	EtaS int `json:"eta_s"`
}

// ProgressView is the wire form of an alert's progress.
func ProgressView(p storage.Progress) Progress {
	return Progress{Targeted: p.Targeted, Delivered: p.Delivered, Acked: p.Acked,
		SMS: SMSCounts{Queued: p.SMS.Queued, Sent: p.SMS.Sent, Delivered: p.SMS.Delivered,
			Failed: p.SMS.Failed, Segments: p.SMS.Segments}, OnBehalf: p.OnBehalf,
		Voice: VoiceCounts{Queued: p.Voice.Queued, Sent: p.Voice.Sent, Delivered: p.Voice.Delivered, Failed: p.Voice.Failed}}
}
