package storage

import (
	"context"
	"time"
)

// Households (docs/API.md v1.6, issue 16): the homes of a village, each
// with its members, and the watched ones (重点户) that patrols visit. The
// boards, credit points and visits of issue 16 are kept per household.

// Watch kinds of a household: the three kinds of watched households, or
// WatchNone.
const (
	WatchNone     = ""
	WatchBackbone = "backbone" // 骨干户: people the village relies on
	WatchService  = "service"  // 服务户: people who need help (elderly alone, disabled)
	WatchControl  = "control"  // 管控户: people to keep an eye on
)

// Household is one home of a village.
type Household struct {
	ID        string
	VillageID string
	Name      string
	// MemberIDs are its members, ordered by id; a member belongs to at
	// most one household.
	MemberIDs []string
	Watch     string
	CreatedBy string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// HouseholdUpdate changes some fields of a household; nil fields are kept.
type HouseholdUpdate struct {
	Name      *string
	MemberIDs *[]string
	Watch     *string
	At        time.Time
}

// HouseholdFilter selects households. Zero fields select everything.
type HouseholdFilter struct {
	VillageID string
	// Watch keeps one watch kind; Watched keeps every watched household
	// (any kind but WatchNone).
	Watch   string
	Watched bool
	// MemberID keeps the household of this member.
	MemberID string
	// After continues a listing by id; Limit <= 0 means 100.
	After string
	Limit int
}

// Households stores households.
type Households interface {
	// CreateHousehold stores h. ErrConflict when its id is taken or one of
	// its members belongs to another household; ErrNotFound when a member
	// does not exist.
	CreateHousehold(ctx context.Context, h *Household) error
	// GetHousehold returns a household or ErrNotFound.
	GetHousehold(ctx context.Context, id string) (Household, error)
	// ListHouseholds returns the households f selects, ordered by id.
	ListHouseholds(ctx context.Context, f HouseholdFilter) ([]Household, error)
	// UpdateHousehold applies u and returns the household as stored;
	// ErrNotFound, or ErrConflict as CreateHousehold.
	UpdateHousehold(ctx context.Context, id string, u HouseholdUpdate) (Household, error)
}
