package letters

import (
	"time"

	"github.com/longyou/hub/storage"
)

// Letter is a letter as clients receive it (docs/API.md v1.6 "the
// villager mailbox"): the body of the letter event (with Entry, the step
// the event is about) and the object of the API's answers (with Thread
// and Readers when one letter is read).
type Letter struct {
	ID         string     `json:"id"`
	VillageID  string     `json:"village_id"`
	WriterID   string     `json:"writer_id"`
	WriterName string     `json:"writer_name"`
	To         string     `json:"to"`
	Level      string     `json:"level"`
	Status     string     `json:"status"`
	Overdue    bool       `json:"overdue"`
	Subject    string     `json:"subject"`
	Body       string     `json:"body"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
	DueAt      time.Time  `json:"due_at"`
	AnsweredAt *time.Time `json:"answered_at,omitempty"`
	ClosedAt   *time.Time `json:"closed_at,omitempty"`
	Seq        int64      `json:"seq,omitempty"` // of its latest event; 0 in the event body
	Entry      *Entry     `json:"entry,omitempty"`
	Thread     []Entry    `json:"thread,omitempty"`
	Readers    []Reader   `json:"readers,omitempty"`
	// CreatedSeq is the listing's paging key (not on the wire).
	CreatedSeq int64 `json:"-"`
}

// Entry is one step of a letter's thread and history.
type Entry struct {
	N         int       `json:"n,omitempty"`
	Kind      string    `json:"kind"`
	ActorID   string    `json:"actor_id,omitempty"`
	ActorName string    `json:"actor_name,omitempty"`
	Body      string    `json:"body,omitempty"`
	Level     string    `json:"level"`
	MemberID  string    `json:"member_id,omitempty"`
	At        time.Time `json:"at"`
}

// Reader is a member of the staff who may read the letter ("who can read
// this"), and why.
type Reader struct {
	MemberID string    `json:"member_id"`
	Name     string    `json:"name"`
	Role     string    `json:"role"`
	Reason   string    `json:"reason"`
	By       string    `json:"by,omitempty"`
	At       time.Time `json:"at"`
}

// Notice is the body of a reminder (event type notice).
type Notice struct {
	Kind string    `json:"kind"`
	Text string    `json:"text"`
	Ref  NoticeRef `json:"ref"`
	At   time.Time `json:"at"`
}

// NoticeRef names what a notice is about.
type NoticeRef struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// view is the wire form of a stored letter (names filled by the service).
func view(l *storage.Letter, due time.Time) Letter {
	return Letter{ID: l.ID, VillageID: l.VillageID, WriterID: l.WriterID, To: l.To, Level: l.Level,
		Status: l.Status, Overdue: l.Overdue, Subject: l.Subject, Body: l.Body, CreatedAt: l.CreatedAt,
		UpdatedAt: l.UpdatedAt, DueAt: due, AnsweredAt: timePtr(l.AnsweredAt), ClosedAt: timePtr(l.ClosedAt), Seq: l.Seq,
		CreatedSeq: l.CreatedSeq}
}

func entryView(e *storage.LetterEntry) Entry {
	return Entry{N: e.N, Kind: e.Kind, ActorID: e.ActorID, Body: e.Body, Level: e.Level, MemberID: e.MemberID, At: e.At}
}
