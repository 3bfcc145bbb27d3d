package storage

import (
	"crypto/rand"
	"encoding/base64"
	"time"
)

// Token kinds: how a token came to be. They are shown to admins ("who
// holds a token") and select what a replacement revokes (a new
// -admin-token revokes the previous bootstrap token, a new demo token the
// member's previous demo token).
const (
	// TokenMember: given with the member when it was created.
	TokenMember = "member"
	// TokenIssued: issued later by staff (POST /members/{id}/tokens).
	TokenIssued = "issued"
	// TokenRotated: the member's own replacement of the token it used.
	TokenRotated = "rotated"
	// TokenBootstrap: hubd's admin token (-admin-token, or the one printed
	// once when no admin existed).
	TokenBootstrap = "bootstrap"
	// TokenDemo: a demo member's token that -demo prints.
	TokenDemo = "demo"
	// TokenLegacy: a token stored before tokens had metadata (its origin
	// and creator are unknown; created_at is its member's).
	TokenLegacy = "legacy"
)

// Token is one bearer token of a member: its metadata and the SHA-256 of
// the secret, never the secret itself. Zero times are unset (never used,
// never expires, not revoked).
type Token struct {
	// ID is public (tk_...): lists, revocation and connections name a
	// token by it.
	ID       string
	MemberID string
	// Hash is the SHA-256 of the secret. The stores read it back only in
	// TokenByHash's answer.
	Hash       []byte
	Kind       string
	CreatedAt  time.Time
	CreatedBy  string // the member who issued it; "" for hubd itself
	ExpiresAt  time.Time
	LastUsedAt time.Time
	RevokedAt  time.Time
}

// Active tells whether the token may sign in at now: not revoked and not
// expired.
func (t *Token) Active(now time.Time) bool {
	return t.RevokedAt.IsZero() && !t.Expired(now)
}

// Expired tells whether the token has an expiry that now has reached.
func (t *Token) Expired(now time.Time) bool {
	return !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt)
}

// TokenSelect selects tokens to revoke: those matching every field that is
// set, except the one named Except. A select with none of ID, MemberID and
// Kind set selects nothing (a store refuses it rather than revoke every
// token).
type TokenSelect struct {
	ID       string
	MemberID string
	Kind     string
	Except   string
}

// Empty tells whether the select names no token (no ID, MemberID or Kind).
func (s TokenSelect) Empty() bool { return s.ID == "" && s.MemberID == "" && s.Kind == "" }

// TokenFilter selects tokens to list, ordered by CreatedAt then ID.
type TokenFilter struct {
	// MemberID, when set, keeps that member's tokens.
	MemberID string
	// ActiveAt, when not zero, keeps the tokens active then (not revoked,
	// not expired).
	ActiveAt time.Time
	// After is a token id: the list starts after it (paging); "" starts at
	// the beginning. A token id that does not exist starts nowhere (an
	// empty page).
	After string
	Limit int // zero or less means 100
}

// NewTokenID returns a new public token id (tk_ and 128 random bits).
func NewTokenID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return "tk_" + base64.RawURLEncoding.EncodeToString(b[:])
}

// TokenMeta is the metadata of a new member's token: nm.Token, or the
// defaults it documents (a new id, kind member, the member's creation
// time). A new id is written back into nm.Token when there is one, so the
// caller learns it.
func (nm *NewMember) TokenMeta() Token {
	var t Token
	if nm.Token != nil {
		t = *nm.Token
	}
	if t.ID == "" {
		t.ID = NewTokenID()
		if nm.Token != nil {
			nm.Token.ID = t.ID
		}
	}
	if t.Kind == "" {
		t.Kind = TokenMember
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = nm.Member.CreatedAt
	}
	return t
}
