package storage

import (
	"cmp"
	"context"
	"slices"
	"time"
)

// The village board (v1.6, issue 16 part 2; docs/API.md "v1.6 (the village
// board ...)"): public reports and confirmed good deeds of a village,
// liked and urged by its members.

// EventBoard is the addressed event (ToVillage) of a board item that
// appeared or changed. Its MemberID is the item's owner (the reporter, the
// deed's author), by which erasure and retention find the events that
// carry what the owner wrote; it addresses nothing.
const EventBoard = "board"

// Report visibilities (Report.Visibility).
const (
	VisibilityPrivate = "private" // the village committee only (the default)
	VisibilityPublic  = "public"  // on the village's board
)

// Board items: what a reaction is to.
const (
	ItemReport = "report"
	ItemDeed   = "deed"
)

// Reaction kinds: a member likes (点赞) or urges (督促) an item, once each.
const (
	ReactLike = "like"
	ReactUrge = "urge"
)

// Deed statuses.
const (
	DeedPending   = "pending"
	DeedConfirmed = "confirmed"
	DeedRejected  = "rejected"
)

// Reaction is one member's like or urge of a board item.
type Reaction struct {
	Item     string // ItemReport or ItemDeed
	ItemID   string
	MemberID string
	Kind     string // ReactLike or ReactUrge
	At       time.Time
}

// Counts are a board item's reactions (a deed has no urges).
type Counts struct {
	Likes int
	Urges int
}

// Deed is a good deed (好人好事) recorded by a member of a village; on the
// board once a cadre confirmed it.
type Deed struct {
	ID        string
	VillageID string
	Title     string
	Text      string
	Photos    []string // read back as an empty list, never nil
	// About names whom the deed is about (a person, in words); "" when
	// not said. HouseholdID is the household it is about, "" when none.
	About       string
	HouseholdID string
	AuthorID    string
	Status      string // DeedPending, DeedConfirmed or DeedRejected
	// DecidedBy and DecidedAt: who confirmed or rejected it, and when;
	// "" and zero while pending.
	DecidedBy string
	DecidedAt time.Time
	CreatedAt time.Time
	Likes     int
	// Seq is the seq of the board event of its confirmation (its place
	// on the board); 0 until confirmed.
	Seq int64
	// N orders deeds as they were recorded (the list's paging key).
	N int64
}

// DeedFilter selects deeds; zero fields select everything.
type DeedFilter struct {
	VillageID string
	Status    string
	AuthorID  string
	// After continues a listing (newest first by N): only deeds with an N
	// below it.
	After int64
	Limit int // zero means 100
}

// BoardEntry is one item of a village's board: a public report or a
// confirmed deed, placed by Seq (a report's CreatedSeq, a deed's Seq).
type BoardEntry struct {
	Seq    int64
	Report *Report
	Deed   *Deed
}

// BoardTally counts a village's public reports for its rectification
// rate: all of them, the rejected ones and the resolved ones.
type BoardTally struct {
	Public   int
	Rejected int
	Resolved int
}

// Board is the store of the village board. Every writer that takes an
// event callback calls it inside its transaction, with the record as
// written, and appends the event it returns (nil: none) in the same
// transaction; the callback must not do I/O.
type Board interface {
	// CreateDeed stores a pending deed (no event: a pending deed is not
	// public); its photos become attached to it (not orphans). A taken
	// id is ErrConflict. d.N is set.
	CreateDeed(ctx context.Context, d *Deed) error
	GetDeed(ctx context.Context, id string) (Deed, error)
	// ListDeeds returns the deeds f selects, newest (by N) first.
	ListDeeds(ctx context.Context, f DeedFilter) ([]Deed, error)
	// DecideDeed moves a pending deed to status (DeedConfirmed or
	// DeedRejected), by by at at, and appends ev's event; the deed's Seq
	// becomes that event's seq. ErrNotFound when there is no deed,
	// ErrConflict when it is not pending.
	DecideDeed(ctx context.Context, id, status, by string, at time.Time, ev func(*Deed) *Event) (Deed, error)
	// React records r once per (item, item id, kind, member): when it is
	// new, the item's count grows by one and ev's event is appended; a
	// repeat changes nothing (added false). It returns the item's counts
	// after. ErrNotFound when the item does not exist.
	React(ctx context.Context, r Reaction, ev func(Counts) *Event) (c Counts, added bool, err error)
	// Reacted returns, of the items ids of kind item, the reaction kinds
	// member gave each (items with none are left out).
	Reacted(ctx context.Context, memberID, item string, ids []string) (map[string][]string, error)
	// SetRectification replaces a report's rectification photos (they
	// become attached to it) and appends ev's event. ErrNotFound when
	// there is no report.
	SetRectification(ctx context.Context, reportID string, photos []string, ev func(*Report) *Event) (Report, error)
	// BoardItems returns up to limit items of the village's board, newest
	// (by Seq) first, those with a Seq below before when before > 0.
	BoardItems(ctx context.Context, villageID string, before int64, limit int) ([]BoardEntry, error)
	// BoardTally counts the village's public reports.
	BoardTally(ctx context.Context, villageID string) (BoardTally, error)
	// OnBoard tells whether the upload mediaID is a photo (or a
	// rectification photo) of a public report, or a photo of a confirmed
	// deed, of the village: who may see that village's board may see it.
	OnBoard(ctx context.Context, villageID, mediaID string) (bool, error)
}

// MergeBoard orders a store's board reads (reports and deeds, each newest
// first) newest first by Seq and keeps the first limit.
func MergeBoard(es []BoardEntry, limit int) []BoardEntry {
	slices.SortFunc(es, func(a, b BoardEntry) int { return cmp.Compare(b.Seq, a.Seq) })
	if len(es) > limit {
		es = es[:limit]
	}
	if es == nil {
		es = []BoardEntry{}
	}
	return es
}
