package storage

import (
	"context"
	"encoding/json"
	"time"
)

// The audit trail (issue 14, docs/API.md v1.6 "audit trail and
// templates"): one row per successful action that changed something,
// appended and never changed. The API writes it (api/audit.go); nothing in
// the code updates or deletes a row, and PostgreSQL refuses it in a
// trigger (SQLite too).

// AuditEntry is one action of the trail.
type AuditEntry struct {
	Seq       int64     // set by AppendAudit; grows in commit order
	At        time.Time // when (the hub's clock)
	ActorID   string    // the member who acted; "" for a caller without a token (a public route)
	ActorRole Role
	TokenID   string // the token the actor signed in with
	Addr      string // the client's address
	Method    string // the HTTP method, or "WS" for a WebSocket command
	Route     string // the route pattern ("POST /api/v1/alerts/{id}/cancel") or the WebSocket command
	Target    string // what it acted on: the path's ids, or the id of what it created
	Status    int    // the HTTP status answered
	// Before and After are the changed object before and after the
	// action, as JSON, when the handler noted them (nil: not noted).
	Before json.RawMessage
	After  json.RawMessage
}

// AuditFilter selects entries; zero fields select everything.
type AuditFilter struct {
	ActorID string
	Action  string // a part of the route ("cancel", "PATCH /api/v1/members/{id}")
	Target  string
	Since   time.Time // At at or after
	Until   time.Time // At before
	// BeforeSeq: only entries with Seq < BeforeSeq (0: from the newest).
	BeforeSeq int64
	Limit     int // zero or less: 100
}

// Audit is the trail's store. AppendAudit stores e (e.Seq is set).
// ListAudit returns the entries f selects, newest (by Seq) first.
type Audit interface {
	AppendAudit(ctx context.Context, e *AuditEntry) error
	ListAudit(ctx context.Context, f AuditFilter) ([]AuditEntry, error)
}
