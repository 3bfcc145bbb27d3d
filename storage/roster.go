package storage

import (
	"context"
	"errors"
)

// The roster (issue 12): a county's members and villages imported from its
// spreadsheet in one transaction, members edited and deactivated, and
// members listed by filter. docs/API.md "v1.5 (roster, issue 12)" says
// what each means for clients; this file says what the store does.

// Roster is the part of the Store contract about the roster. Every Store
// has it.
type Roster interface {
	// ImportMembers writes a checked sheet of members in one transaction:
	// all of it or, on any error, nothing. Each row matches an existing
	// (not erased) member by phone when it has one; a row without a match
	// by phone whose ByKey is set (every row without a phone, and the rows
	// the caller chose) matches an existing member without a phone of the
	// same village, name and address (the oldest id when several). A
	// matched member is updated (name, village; role, address, home, lang
	// and travel mode when the row sets them; a phone row matched by key
	// takes the phone) or left as it is when nothing differs; an unmatched
	// row creates the member Member.ID names, without a token. A matched
	// member whose role is among opt.Protect is not touched: the whole
	// import writes nothing and the result lists the rows in Protected.
	// With opt.DryRun the same work is done and rolled back.
	ImportMembers(ctx context.Context, rows []ImportMember, opt ImportOptions) (ImportResult, error)

	// ImportVillages writes villages the same way: a row with a Code
	// matches the village with that code, else (and a row without a code)
	// the village of the same township and name without a code (with a
	// Code, that village takes it). A matched village's name, township,
	// code and centre are updated (or unchanged); an unmatched row creates
	// the village its ID names.
	ImportVillages(ctx context.Context, rows []Village, opt ImportOptions) (ImportResult, error)

	// EditMember applies e to the member in one transaction and returns
	// it as stored; ErrNotFound when there is none, ErrConflict when the
	// new phone is another member's. Deactivating (e.Active false)
	// cancels, in the same transaction, the member's outbox rows whose
	// send has not started (pending or claimed).
	EditMember(ctx context.Context, id string, e MemberEdit) (Member, error)

	// FindMembers lists the members f selects, ordered by id.
	FindMembers(ctx context.Context, f MemberFilter) ([]Member, error)
}

// ImportMember is one checked row of a members sheet.
type ImportMember struct {
	// Line is the row's line in the sheet (1-based, the header is 1).
	Line int
	// Member: ID is the id a new member gets; Name and VillageID are
	// always set; Phone "" means none; Role, Address, Lang and TravelMode
	// "" and Home nil mean "keep" for an existing member (a new one gets
	// RoleResident and no home). CreatedAt is the new member's.
	Member Member
	// ByKey: with no match by phone, match a member without a phone by
	// (village, name, address).
	ByKey bool
}

// ImportOptions controls an import.
type ImportOptions struct {
	// DryRun does everything and writes nothing.
	DryRun bool
	// Protect lists the roles an import may not change (a commander's
	// import does not touch commanders and admins).
	Protect []Role
}

// ImportResult counts what an import did (or, dry, would do).
type ImportResult struct {
	Created, Updated, Unchanged int
	// Changed lists the ids of the records created or updated.
	Changed []string
	// Protected lists the lines whose match has a protected role (then
	// nothing was written).
	Protected []int
}

// MemberEdit changes some fields of a member; nil fields are left as they
// are. Phone "" removes the phone. ClearHome removes the home position
// (Home must then be nil).
type MemberEdit struct {
	Name       *string
	Phone      *string
	Role       *Role
	VillageID  *string
	Lang       *string
	Address    *string
	TravelMode *string
	Home       *LatLng
	ClearHome  bool
	Active     *bool
}

// MemberFilter selects members. Zero fields select everything.
type MemberFilter struct {
	Role      Role
	VillageID string
	// Active, when set, keeps the active (true) or deactivated (false).
	Active *bool
	// Query keeps the members whose name or phone contains it.
	Query string
	// Township keeps the members with this township scope (v1.6).
	Township string
	// After continues a listing by id; "" starts at the beginning.
	After string
	Limit int // zero or less means 100
}

// ErrDryRun is what a store's import transaction returns to roll a dry
// run back; it never leaves the store.
var ErrDryRun = errors.New("dry run")
