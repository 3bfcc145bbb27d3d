package storage

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Personal data (issue 13): media quotas, the store's write probe, the
// export and erasure of one member, and the retention of what the hub
// keeps about people. docs/API.md "v1.4 (media and personal data)" says
// what each means for clients; this file says what the store does.

// Privacy is the part of the Store contract about personal data and the
// store's own health. Every Store has it.
type Privacy interface {
	// PutMediaWithin stores an upload as PutMedia does, unless it would
	// pass q: then nothing is written and the error is a *QuotaError
	// (errors.Is(err, ErrQuota)). The check and the insert are one
	// transaction, serialized with the other uploads, so concurrent
	// uploads cannot pass a quota together.
	PutMediaWithin(ctx context.Context, m Media, data []byte, q MediaQuota) error

	// ProbeWrite makes a small durable write (a heartbeat row) and returns
	// its error: nil means the store can write now (disk not full, not
	// read-only, not failed over to a standby). Readiness calls it.
	ProbeWrite(ctx context.Context) error

	// ExportMember returns everything the store holds about a member, or
	// ErrNotFound (none, or erased).
	ExportMember(ctx context.Context, id string) (MemberData, error)

	// EraseMember erases a member in one transaction (see Erasure); an
	// unknown or already erased member is ErrNotFound.
	EraseMember(ctx context.Context, id string, at time.Time) (Erasure, error)

	// ApplyRetention clears what r says is due, in transactions of at most
	// r.Batch rows each, until nothing due is left or ctx ends, and says
	// how many rows of each kind it changed.
	ApplyRetention(ctx context.Context, r Retention) (RetentionResult, error)
}

// MediaQuota bounds uploads. Zero fields are no limit.
type MediaQuota struct {
	// Since starts the window of the owner's limits (a day before now):
	// its uploads made since then count.
	Since      time.Time
	OwnerBytes int64 // bytes one owner may upload in the window
	OwnerFiles int   // files one owner may upload in the window
	TotalBytes int64 // bytes of every upload kept
}

// Limits of a MediaQuota, as QuotaError.Limit names them.
const (
	QuotaOwnerBytes = "owner_bytes"
	QuotaOwnerFiles = "owner_files"
	QuotaTotalBytes = "total_bytes"
)

// ErrQuota: an upload would pass a MediaQuota.
var ErrQuota = errors.New("quota exceeded")

// QuotaError is the ErrQuota of one limit: Used is what is stored now,
// Max the limit.
type QuotaError struct {
	Limit     string
	Used, Max int64
}

func (e *QuotaError) Error() string {
	return fmt.Sprintf("media quota %s: %d used of %d", e.Limit, e.Used, e.Max)
}

// Is makes errors.Is(err, ErrQuota) true.
func (e *QuotaError) Is(target error) bool { return target == ErrQuota }

// ErasedName is the name an erased member's record keeps, so that lists
// of an alert's recipients still count it without naming it.
const ErasedName = "已删除"

// MemberData is everything the store holds about one member: its record
// (phone, home, live position, address), its tokens (how many: the store
// keeps only their hashes), the alerts addressed to it with its latest
// answer, every answer it gave (with notes), its reports, its uploads
// (without their bytes), the outbox rows addressed to it, and the ids of
// the alerts and bulletins it wrote (staff).
type MemberData struct {
	Member            Member
	Tokens            int
	Deliveries        []MemberDelivery // by targeted time
	Acks              []Ack            // by time
	Reports           []Report         // newest first
	Media             []Media          // by upload time
	Messages          []Message        // by due time
	AlertsCreated     []string
	BulletinsAuthored []string
}

// MemberDelivery is one alert addressed to a member and its latest answer.
type MemberDelivery struct {
	AlertID     string
	TargetedAt  time.Time
	DeliveredAt *time.Time
	Response    string
	RespondedAt *time.Time
	EtaMin      *int
	Note        string
}

// Erasure says what EraseMember did. The member's record keeps its id,
// role, village and creation time (alerts' recipient lists and reports'
// villages count it) and the name ErasedName; its phone, home, live
// position, address, travel mode and language are removed, it is marked
// erased (no read returns it, no token finds it), its tokens are deleted,
// its answers' notes emptied, its reports' text and photos removed (the
// report events' bodies too: the event stays, its personal fields go),
// its uploads deleted and its pending messages cancelled.
type Erasure struct {
	Tokens   int // tokens deleted
	Notes    int // answers whose note was emptied (history and latest)
	Reports  int // reports whose text and photos were removed
	Events   int // report events whose bodies were redacted
	Media    int // uploads deleted
	Messages int // pending outbox rows cancelled
	Deeds    int // good deeds whose title, text and photos were removed (v1.6)
}

// Retention is what ApplyRetention clears: for each kind, the rows older
// than its time (a zero time clears nothing of that kind).
type Retention struct {
	// LiveBefore: live positions sent before it are removed.
	LiveBefore time.Time
	// NotesBefore: the notes of answers given before it are emptied.
	NotesBefore time.Time
	// ReportsBefore: reports in one of ClosedStatuses last changed before
	// it lose their text and photos (their events' bodies too).
	ReportsBefore  time.Time
	ClosedStatuses []string
	// OrphansBefore: uploads made before it and attached to no report are
	// deleted.
	OrphansBefore time.Time
	// OutboxBefore: outbox rows sent before it lose their provider id, the
	// link to the provider's copy of the message (which holds the number
	// and the text; the outbox itself keeps neither).
	OutboxBefore time.Time
	// Batch is the most rows one transaction changes. Zero means 1,000.
	Batch int
}

// RetentionResult counts what ApplyRetention changed.
type RetentionResult struct {
	Live    int // live positions removed
	Notes   int // answers whose note was emptied
	Reports int // reports whose text and photos were removed
	Media   int // uploads deleted (orphans and the photos of those reports)
	Outbox  int // outbox rows whose provider id was removed
}

// Total is the number of rows changed.
func (r RetentionResult) Total() int { return r.Live + r.Notes + r.Reports + r.Media + r.Outbox }
