package storage

import (
	"context"
	"errors"
	"time"
)

// Household inspections, boards and credit points (docs/API.md v1.6,
// issue 16 part 5).

// EventCreditBoard is the event of a published household board (the
// contract's `board` event), addressed to the village (Event.ToVillage).
const EventCreditBoard = "household_board"

// Inspection is a household's inspection of one month: a score per
// policy item. A household has at most one per month; recording it again
// replaces it until the month's board of its village is published.
type Inspection struct {
	HouseholdID string
	VillageID   string
	// Month is "2006-01".
	Month      string
	Scores     map[string]int
	Total      int
	RecordedBy string
	RecordedAt time.Time
}

// CreditEntry is one line of a household's credit history. Entries are
// only ever added: a correction is a new entry.
type CreditEntry struct {
	// ID is given by the store, growing with each entry.
	ID          int64
	HouseholdID string
	VillageID   string
	Points      int
	// Rule is the policy rule the points come from ("" given by hand).
	Rule   string
	Reason string
	// Key, when set, makes the entry idempotent: a second entry with the
	// same key is not added (a board place: "board:<village>:<month>:<rule>:<household>").
	Key        string
	RecordedBy string
	At         time.Time
}

// BoardPublication records that a village's board of a month was
// published; the month's inspections are then frozen.
type BoardPublication struct {
	VillageID   string
	Month       string
	PublishedBy string
	PublishedAt time.Time
}

// InspectionsDigest sums up the inspections of a village's month a board
// was computed from: PublishBoard refuses to publish when they changed
// since (an inspection recorded between the reading and the publishing).
type InspectionsDigest struct {
	Count int
	Sum   int       // of the totals
	Last  time.Time // the latest RecordedAt; zero when Count is 0
}

// Digest is the digest of is.
func Digest(is []Inspection) InspectionsDigest {
	var d InspectionsDigest
	for _, i := range is {
		d.Count++
		d.Sum += i.Total
		if i.RecordedAt.After(d.Last) {
			d.Last = i.RecordedAt
		}
	}
	return d
}

// ErrStale is PublishBoard's error when the month's inspections changed
// since the board was computed.
var ErrStale = errors.New("the inspections changed since the board was computed")

// CreditBalance is a household's credit summary.
type CreditBalance struct {
	HouseholdID string
	VillageID   string
	Name        string
	Balance     int
	Entries     int
}

// Credit stores inspections, board publications and credit entries.
type Credit interface {
	// PutInspection stores i, replacing the household's inspection of the
	// month. ErrConflict when the month's board of i.VillageID is
	// published; ErrNotFound when the household does not exist.
	PutInspection(ctx context.Context, i *Inspection) error
	// ListInspections returns the inspections of a village's month,
	// ordered by household id.
	ListInspections(ctx context.Context, villageID, month string) ([]Inspection, error)
	// PublishBoard records pub, adds the entries (each with a Key; those
	// whose key exists are skipped) and appends the addressed event ev,
	// in one transaction, if the month's inspections still have digest d.
	// ErrConflict, writing nothing, when the board is already published;
	// ErrStale, writing nothing, when the inspections changed. It sets
	// ev.Seq and the IDs of the entries added and returns how many were
	// added. PutInspection and PublishBoard of one village's month are
	// serialized: an inspection is either in the digest or refused.
	PublishBoard(ctx context.Context, pub BoardPublication, d InspectionsDigest, entries []CreditEntry, ev *Event) (int, error)
	// BoardPublications returns the publications of a village, the latest
	// month first.
	BoardPublications(ctx context.Context, villageID string) ([]BoardPublication, error)
	// AddCreditEntry appends e and sets its ID. With a Key already used it
	// adds nothing and returns false. ErrNotFound when the household does
	// not exist.
	AddCreditEntry(ctx context.Context, e *CreditEntry) (bool, error)
	// CreditEntries returns a household's entries, oldest first.
	CreditEntries(ctx context.Context, householdID string) ([]CreditEntry, error)
	// CreditBalances returns the balance of every household of a village
	// ("" every village), households without entries included, ordered by
	// village id, then household id.
	CreditBalances(ctx context.Context, villageID string) ([]CreditBalance, error)
}
