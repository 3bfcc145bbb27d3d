package storage

import (
	"context"
	"time"
)

// Report handling within time limits (issue 16 part 1, docs/API.md v1.6
// "report handling"): who handles a report (assignee, level), whether it
// is overdue, the steps its deadlines take, and the history of every
// change with its actor.

// Event types of report handling (addressed events, v1.6).
const (
	// EventReportUpdate carries a report (its wire form) after any change,
	// to its reporter and to the staff of its village at its level.
	EventReportUpdate = "report_update"
	// EventNotice is a personal reminder ({"kind", "text", "ref"}).
	EventNotice = "notice"
)

// Report levels (the same strings as members.LevelVillage etc.).
const (
	LevelVillage  = "village"
	LevelTownship = "township"
	LevelCounty   = "county"
)

// RefReport is the Ref type of outbox messages about a report (Ref.ID is
// the report id); MessageReportReminder is the SMS reminding a handler of
// an overdue report (one per report and member).
const (
	RefReport             = "report"
	MessageReportReminder = "report_reminder"
)

// HistoryActorSystem is the actor of changes the scheduler makes.
const HistoryActorSystem = "system"

// Changes recorded in a report's history.
const (
	ChangeCreated     = "created"
	ChangeStatus      = "status"
	ChangeFeedback    = "feedback"
	ChangeAssignee    = "assignee"
	ChangeLevel       = "level"
	ChangeOverdue     = "overdue"
	ChangeReminder    = "reminder"     // push reminders (notice) sent; To: how many members
	ChangeReminderSMS = "reminder_sms" // SMS reminders queued; To: how many members
)

// ReportHistory is one change of a report.
type ReportHistory struct {
	ID       int64 // assigned by the store, in write order
	ReportID string
	At       time.Time
	Actor    string // a member id, or HistoryActorSystem
	Change   string // Change*
	From, To string
}

// ReportChange is one change of a report, written in one transaction:
// the report's new handling state, its history entries, its events and
// the SMS it queues.
type ReportChange struct {
	// Report is the new state; its Status, Feedback, AssigneeID, Level,
	// Overdue, Reminded, ClosedAt and UpdatedAt are written. Its Seq is
	// set to the seq of the last event.
	Report *Report
	// FromSeq is the report's Seq as it was read: when the stored one
	// differs (someone changed it meanwhile), nothing is written and the
	// error is ErrConflict.
	FromSeq int64
	History []ReportHistory // ReportID and At are taken as given
	// Events are appended in order after everything else (at least one);
	// the last one is the report's own event (report or report_update).
	// Their Seq is set.
	Events []*Event
	// Messages are queued (existing keys are left alone: exactly once).
	Messages []Message
}

// ReportFact is what the figures need of one report.
type ReportFact struct {
	ID        string
	VillageID string
	Status    string
	Level     string
	Overdue   bool
	CreatedAt time.Time
	DueAt     time.Time
	ClosedAt  time.Time // zero while it has no final status
}

// Handling is the part of the Store contract about report handling.
// Every Store has it.
type Handling interface {
	// ChangeReport writes c in one transaction (see ReportChange).
	// ErrNotFound for an unknown report, ErrConflict when it changed
	// since c.FromSeq, ErrNotAddressed when c has no event.
	ChangeReport(ctx context.Context, c *ReportChange) error
	// ReportHistory lists a report's history in the order it was written
	// (none for an unknown report).
	ReportHistory(ctx context.Context, reportID string) ([]ReportHistory, error)
	// ReportFacts lists the reports made (CreatedAt) in [from, to) of the
	// villages villageIDs (nil: every village), in no particular order.
	ReportFacts(ctx context.Context, from, to time.Time, villageIDs []string) ([]ReportFact, error)
}
