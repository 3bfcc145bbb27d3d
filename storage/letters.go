package storage

import (
	"context"
	"time"
)

// The villager mailbox (村民信箱 / 书记信箱; issue 16 part 3, docs/API.md
// v1.6 "the villager mailbox"): a private letter from a member to its
// village's cadres or its township, answered in the member page, with
// time limits and escalation like a report's, never public. Who may read
// a letter is recorded with it (LetterReader): the staff it was addressed
// to, escalated to, or explicitly shared with.

// Event types, ref type and outbox kinds of letters.
const (
	// EventLetter: a letter was written, answered, escalated, shared or
	// closed; addressed to its writer and its readers.
	EventLetter = "letter"
	// A reminder about a letter is an EventNotice (storage/handling.go).

	// RefLetter: an outbox row about a letter (its reminder SMS).
	RefLetter = "letter"
	// MessageLetterOverdue, MessageLetterTownship, MessageLetterCounty: the
	// reminder SMS to the staff when the letter passes its first limit,
	// goes up to the township, goes up to the county (one per member each).
	MessageLetterOverdue  = "letter_overdue"
	MessageLetterTownship = "letter_township"
	MessageLetterCounty   = "letter_county"
)

// Letter statuses: open (no staff answer yet), answered (a reader of the
// staff answered), closed (by its writer or the staff; final).
const (
	LetterOpen     = "open"
	LetterAnswered = "answered"
	LetterClosed   = "closed"
)

// Letter entry kinds: the thread (letter, reply) and the history
// (overdue, escalate, share, close).
const (
	EntryLetter   = "letter"
	EntryReply    = "reply"
	EntryOverdue  = "overdue"
	EntryEscalate = "escalate"
	EntryShare    = "share"
	EntryClose    = "close"
)

// Letter is one letter of the mailbox.
type Letter struct {
	ID        string
	VillageID string // the writer's village when written
	WriterID  string
	To        string // LevelVillage or LevelTownship: where it was sent
	Level     string // where it is now (village, township, county)
	Status    string
	Overdue   bool // unanswered past its first limit
	Subject   string
	Body      string
	CreatedAt time.Time
	UpdatedAt time.Time
	// AnsweredAt: the staff's first answer (zero: none).
	AnsweredAt time.Time
	ClosedAt   time.Time
	// CreatedSeq is the seq of its first event (paging key); Seq of its
	// latest.
	CreatedSeq int64
	Seq        int64
}

// LetterEntry is one step of a letter's thread and history, in order.
type LetterEntry struct {
	N        int // 1, 2, ... per letter (the store sets it)
	Kind     string
	ActorID  string // "" for the hub (overdue, escalation)
	Body     string // the text of a letter or reply
	Level    string // the letter's level after the step
	MemberID string // share: who it was shared with
	At       time.Time
}

// Reasons a member reads a letter.
const (
	ReadAddressed = "addressed" // staff at the level it was sent to
	ReadEscalated = "escalated" // staff at a level it went up to
	ReadShared    = "shared"    // shared explicitly by a reader
)

// LetterReader is a member of the staff who may read a letter, and why.
type LetterReader struct {
	MemberID string
	Reason   string
	By       string // who shared it ("" otherwise)
	At       time.Time
}

// LetterFilter selects letters, newest (by CreatedSeq) first.
type LetterFilter struct {
	// Reader: the letters this member wrote or reads (required).
	Reader  string
	Status  string // "": any
	Level   string // "": any
	Overdue *bool  // nil: either
	// Open lists only the letters not closed and not answered (to
	// schedule), whoever reads them; Reader is then ignored.
	Open   bool
	Before int64 // CreatedSeq < Before when > 0
	Limit  int   // zero or less: 100
}

// LetterChange is one step of a letter, written in one transaction if the
// letter is still as the caller read it (Expect*), else ErrConflict
// (nothing written).
type LetterChange struct {
	ID            string
	ExpectStatus  string
	ExpectLevel   string
	ExpectOverdue bool
	// Set: the letter's new state (Status, Level, Overdue, UpdatedAt,
	// AnsweredAt, ClosedAt are written from it).
	Set     Letter
	Entry   *LetterEntry
	Readers []LetterReader // added (a reader already there is kept as it was)
	// Events are appended (addressed) after the change; Messages queued.
	Events   []*Event
	Messages []Message
	// CancelMessages cancels the letter's pending reminder SMS (answered
	// or closed: no reminder goes out any more).
	CancelMessages bool
}

// Letters is the part of the Store contract about the mailbox.
type Letters interface {
	// CreateLetter stores l with its first entry and readers and appends
	// ev (addressed), in one transaction; l.CreatedSeq and l.Seq are set.
	CreateLetter(ctx context.Context, l *Letter, readers []LetterReader, ev *Event) error
	// GetLetter reads one letter (ErrNotFound).
	GetLetter(ctx context.Context, id string) (Letter, error)
	// LetterThread reads a letter's entries in order and its readers.
	LetterThread(ctx context.Context, id string) ([]LetterEntry, []LetterReader, error)
	// IsLetterReader tells whether the member reads the letter (a reader
	// row; the writer is not one).
	IsLetterReader(ctx context.Context, id, memberID string) (bool, error)
	// ListLetters lists per f, newest first.
	ListLetters(ctx context.Context, f LetterFilter) ([]Letter, error)
	// ChangeLetter applies c (see LetterChange) and returns the letter as
	// stored; ErrNotFound for no letter, ErrConflict when it changed.
	ChangeLetter(ctx context.Context, c *LetterChange) (Letter, error)
}
