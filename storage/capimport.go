package storage

import (
	"context"
	"encoding/json"
	"time"
)

// CAP import, updates in place and exercises (docs/API.md v1.6, issue 14).

// EventAlertUpdate is the event of an alert updated in place. With an
// empty MemberID it carries the alert as updated and is addressed to the
// alert's recipients (as alert and alert_cancel); with a MemberID it tells
// that one member, whom the update took out of the area, that the alert
// no longer concerns it.
const EventAlertUpdate = "alert_update"

// AlertExtra is what an alert has since v1.6.
type AlertExtra struct {
	// Exercise: 演练, addressed to staff roles only.
	Exercise bool
	// Meta is what a CAP message said that the hub has no field for
	// (its info blocks, event, category, ...): JSON, nil when none.
	Meta json.RawMessage
	// UpdatedBy and UpdatedAt: the latest update in place ("" and nil when
	// never updated); UpdateSeq is its alert_update event's seq.
	UpdatedBy string
	UpdatedAt *time.Time
	UpdateSeq int64
	// CancelledBy is the member who cancelled it ("" when not cancelled,
	// or cancelled before v1.6).
	CancelledBy string
	// Import, when set on CreateAlert, records the CAP message the alert
	// is made from in the same transaction (ErrConflict when that message
	// was imported already). Never read back.
	Import *CAPImport
}

// CAPImport is one CAP message imported: its sender and identifier, and
// what it was (Alert, Update, Cancel).
type CAPImport struct {
	Sender     string
	Identifier string
	MsgType    string
	At         time.Time
}

// AlertUpdate is an update in place of an active alert.
type AlertUpdate struct {
	ID                    string
	Severity, Title, Body string
	Area                  json.RawMessage
	Villages              []string // as Alert.Villages: nil unless a villages area
	ExpiresAt             time.Time
	Meta                  json.RawMessage // nil keeps it
	By                    string
	At                    time.Time
	// Add addresses the alert to more members (as AddTargets); Remove
	// takes members out of it: their delivery rows go (their answers stay
	// in the history), their alert messages not yet being sent are
	// cancelled.
	Add    []Target
	Remove []string
	// Import, when set, records the CAP Update message.
	Import *CAPImport
}

// UpdateResult is what UpdateAlert did.
type UpdateResult struct {
	Alert   Alert
	Added   []string // members not targeted before
	Removed []Event  // one alert_update event per member taken out (MemberID set)
}

// AlertUpdates is the store's side of CAP import and updates.
type AlertUpdates interface {
	// CAPImported returns the import of the message sender+identifier and
	// the alert it concerns; ErrNotFound when it was never imported.
	CAPImported(ctx context.Context, sender, identifier string) (CAPImport, string, error)
	// UpdateAlert applies u to an alert active at u.At, in one
	// transaction: the new text, severity, area and expiry; ev (type
	// alert_update, its Body the alert as updated) is appended and its
	// seq becomes UpdateSeq; u.Add targets are inserted, u.Remove ones
	// deleted, and for each member actually removed a copy of gone with
	// MemberID set is appended; the import is recorded. ErrConflict when
	// the alert is not active at u.At or the import exists; ErrNotFound
	// when there is no alert.
	UpdateAlert(ctx context.Context, u *AlertUpdate, ev *Event, gone *Event) (UpdateResult, error)
	// CancelAlertBy is CancelAlert that records who cancelled it and, when
	// imp is not nil, the CAP Cancel message, in the same transaction
	// (ErrConflict when the import exists).
	CancelAlertBy(ctx context.Context, id string, at time.Time, by string, imp *CAPImport, ev *Event) (Alert, error)
}

// Pending CAP messages (v1.6 stretch, docs/API.md "Feeds in"): a message
// read from a -cap-feed that its feed's rule does not send at once waits
// for a commander's approve or discard.
const (
	CAPPending   = "pending"
	CAPApproved  = "approved"
	CAPDiscarded = "discarded"
)

// PendingCAP is one CAP message read from a feed.
type PendingCAP struct {
	ID         string
	Feed       string // the feed's URL
	Sender     string
	Identifier string
	Doc        []byte // the CAP document as fetched
	// Headline, Severity (the hub's) and Reason (why it waits) are for the
	// list, read when it was fetched.
	Headline, Severity, Reason string
	ReceivedAt                 time.Time
	Status                     string
	DecidedBy                  string
	DecidedAt                  *time.Time
	AlertID                    string // the alert an approval made
}

// CAPFeeds stores the pending CAP messages.
type CAPFeeds interface {
	// AddPendingCAP stores p (status pending); ErrConflict when a message
	// of that sender and identifier is stored already.
	AddPendingCAP(ctx context.Context, p *PendingCAP) error
	// GetPendingCAP reads one; ErrNotFound when none.
	GetPendingCAP(ctx context.Context, id string) (PendingCAP, error)
	// PendingCAPByMessage reads the one of sender+identifier; ErrNotFound.
	PendingCAPByMessage(ctx context.Context, sender, identifier string) (PendingCAP, error)
	// ListPendingCAP lists those of status ("" all), newest first.
	ListPendingCAP(ctx context.Context, status string, limit int) ([]PendingCAP, error)
	// DecidePendingCAP sets a pending one approved or discarded by by at
	// at (alertID: the alert an approval made); ErrConflict when it is
	// not pending any more, ErrNotFound when there is none.
	DecidePendingCAP(ctx context.Context, id, status, by string, at time.Time, alertID string) (PendingCAP, error)
}
