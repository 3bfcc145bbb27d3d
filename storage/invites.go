package storage

import (
	"context"
	"crypto/subtle"
	"errors"
	"time"
)

// Invitations, login codes and answer links (issue 12, docs/API.md v1.5
// "invitations and answer links"): how a villager gets a token without
// anyone handing one over, and answers an alert without one.

// Ref types, message kinds and token kinds of invitations and login codes.
const (
	// RefInvite: Ref.ID is an invitation id; the message (kind
	// MessageInvite) carries the member's sign-in link.
	RefInvite = "invite"
	// RefLogin: Ref.ID is a login code id; the message (kind
	// MessageLoginCode) carries the code.
	RefLogin = "login"

	MessageInvite    = "invite"
	MessageLoginCode = "login_code"

	// TokenInvite: issued when a member opened its invitation link.
	TokenInvite = "invite"
	// TokenLogin: issued for a login code sent by SMS.
	TokenLogin = "login"
)

// Invitation is one personal sign-in link sent to a member. Its secret is
// never stored: Hash is the SHA-256 of the link's secret.
type Invitation struct {
	ID        string
	MemberID  string
	Hash      []byte
	CreatedBy string
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    time.Time // zero: not used
	RevokedAt time.Time // zero: not revoked (a newer invitation revokes it)
	TokenID   string    // the token its acceptance issued
}

// LoginCode is one code sent by SMS to sign in by phone. A code asked for
// a number no member has is stored too (MemberID "", no message), so that
// the rate limits hold for any number and the work done is the same.
type LoginCode struct {
	ID        string
	Phone     string
	MemberID  string // "" when no member has Phone
	Hash      []byte // a keyed hash of phone and code, never the code
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    time.Time
	Tries     int // wrong codes tried
}

// LoginLimits bounds the codes of one phone number: at most PerWindow
// since WindowStart, and none within MinGap of the newest.
type LoginLimits struct {
	WindowStart time.Time
	PerWindow   int
	MinGap      time.Duration
}

// InviteTargetFilter selects the members to invite. Erased members are
// never selected.
type InviteTargetFilter struct {
	VillageID string // "": every village
	// NotSignedIn keeps members holding no token that was ever used.
	NotSignedIn bool
	After       string // member id to continue after (paging by id)
	Limit       int    // zero or less means 1000
}

// Invites is the part of the Store contract about invitations, login
// codes, answer links and the settings that sign them. Every Store has it.
type Invites interface {
	// SettingOrInsert returns the setting name, storing value first when
	// the store has none (insert if absent): every node of a cluster on one
	// database reads the same value.
	SettingOrInsert(ctx context.Context, name string, value []byte) ([]byte, error)

	// CreateInvitations stores invs and queues msgs (their SMS), and
	// revokes at each invitation's CreatedAt the older invitations of its
	// member that are neither used nor revoked, in one transaction. An
	// unknown member is ErrNotFound (nothing written).
	CreateInvitations(ctx context.Context, invs []Invitation, msgs []Message) error
	// GetInvitation reads one invitation (ErrNotFound).
	GetInvitation(ctx context.Context, id string) (Invitation, error)
	// AcceptInvitation finds the invitation with this hash that is usable
	// at t.CreatedAt (not used, not revoked, not expired, its member not
	// erased), marks it used and stores t as its member's token, in one
	// transaction, and returns the invitation and the member. ErrNotFound
	// when there is no usable one (a second accept included). prepare,
	// when not nil, may set t's expiry by the member (staff tokens
	// expire) before t is stored; it must not do I/O.
	AcceptInvitation(ctx context.Context, hash []byte, t *Token, prepare func(*Member, *Token)) (Invitation, Member, error)

	// CreateLoginCode stores c and queues msg (nil: none) in one
	// transaction, unless lim refuses another code for c.Phone: then it
	// writes nothing and returns ErrRateLimited.
	CreateLoginCode(ctx context.Context, c *LoginCode, lim LoginLimits, msg *Message) error
	// UseLoginCode checks a code for phone: the newest code of the number,
	// if it is unused, unexpired at t.CreatedAt and tried fewer than
	// maxTries times, is compared with hash. A match of a member's code
	// marks it used and stores t (t.MemberID set) as the member's token in
	// the same transaction, returning the member; anything else counts a
	// try and is ErrNotFound. prepare is AcceptInvitation's.
	UseLoginCode(ctx context.Context, phone string, hash []byte, maxTries int, t *Token, prepare func(*Member, *Token)) (Member, error)

	// PruneLoginCodes deletes the login codes made before before (used,
	// expired, or asked for numbers no member has) and says how many.
	PruneLoginCodes(ctx context.Context, before time.Time) (int, error)

	// MemberByPhone finds the member with this phone (ErrNotFound).
	MemberByPhone(ctx context.Context, phone string) (Member, error)
	// SignedIn returns those of ids whose member holds a token that was
	// ever used (last_used_at set).
	SignedIn(ctx context.Context, ids []string) (map[string]bool, error)
	// InviteTargets lists members per f, by id.
	InviteTargets(ctx context.Context, f InviteTargetFilter) ([]Member, error)
	// AlertBySeq reads the alert whose event has this seq (ErrNotFound).
	AlertBySeq(ctx context.Context, seq int64) (Alert, error)
}

// ErrRateLimited: a rate limit kept by the store refused the write.
var ErrRateLimited = errors.New("rate limited")

// HashEqual compares two hashes in constant time.
func HashEqual(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }
