package members

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/longyou/hub/service"
	"github.com/longyou/hub/storage"
)

// TokenStore is what the token part of the service reads and writes
// (storage.Store's token methods).
type TokenStore interface {
	TokenByHash(ctx context.Context, tokenHash []byte) (storage.Token, storage.Member, error)
	GetToken(ctx context.Context, id string) (storage.Token, error)
	GetTokens(ctx context.Context, ids []string) ([]storage.Token, error)
	ListTokens(ctx context.Context, f storage.TokenFilter) ([]storage.Token, error)
	IssueToken(ctx context.Context, t *storage.Token, revoke storage.TokenSelect) ([]storage.Token, error)
	RevokeTokens(ctx context.Context, sel storage.TokenSelect, at time.Time) ([]storage.Token, error)
	TouchTokens(ctx context.Context, ids []string, at time.Time) error
}

const (
	// DefaultStaffTokenTTL is how long staff tokens last by default.
	DefaultStaffTokenTTL = 90 * 24 * time.Hour
	// MinBootstrapToken is the shortest -admin-token accepted, in bytes:
	// an admin token is the whole county's keys, and a short one can be
	// guessed.
	MinBootstrapToken = 32
	// MinTokenTTL and MaxTokenTTL bound an expiry asked for (expires_in_s).
	MinTokenTTL = time.Minute
	MaxTokenTTL = 10 * 365 * 24 * time.Hour
	// touchEvery: a token's last use is written at most this often.
	touchEvery = time.Minute
	// checkPage is how many token ids one connection check reads at once.
	checkPage = 1000
	// MaxTokenList caps a member's token list (its history included).
	MaxTokenList = 1000
)

// Reasons a WebSocket is closed with (1008) when its token ends.
const (
	ReasonRevoked = "token revoked"
	ReasonExpired = "token expired"
	ReasonRotated = "token rotated"
)

// tokenState is the token part of the service's state.
type tokenState struct {
	staffTTL   time.Duration // 0: staff tokens do not expire
	checkEvery time.Duration

	mu      sync.Mutex          // guards touched
	touched map[string]struct{} // tokens used since their last use was written
}

func newTokenState(cfg *Config) *tokenState {
	ts := &tokenState{staffTTL: cfg.StaffTokenTTL, checkEvery: cfg.TokenCheckInterval, touched: map[string]struct{}{}}
	switch {
	case ts.staffTTL == 0:
		ts.staffTTL = DefaultStaffTokenTTL
	case ts.staffTTL < 0:
		ts.staffTTL = 0
	}
	if ts.checkEvery <= 0 {
		ts.checkEvery = 3 * time.Second
	}
	return ts
}

// IsStaff tells whether a role's tokens are staff tokens, which expire
// by default: cadres, commanders and admins act for others.
func IsStaff(r storage.Role) bool {
	return r == storage.RoleCadre || r == storage.RoleCommander || r == storage.RoleAdmin
}

// StaffTokenTTL is how long staff tokens last; zero: they do not expire.
func (s *Service) StaffTokenTTL() time.Duration { return s.tok.staffTTL }

// CheckTokenTTL validates an expiry asked for a token of a member of role
// r: from MinTokenTTL to MaxTokenTTL, and for staff no longer than the
// staff TTL (when staff tokens expire).
func (s *Service) CheckTokenTTL(r storage.Role, d time.Duration) error {
	if d < MinTokenTTL || d > MaxTokenTTL {
		return service.Invalid("expires_in_s must be from %d to %d seconds", int64(MinTokenTTL/time.Second), int64(MaxTokenTTL/time.Second))
	}
	if IsStaff(r) && s.tok.staffTTL > 0 && d > s.tok.staffTTL {
		return service.Invalid("a %s's token lasts at most %d seconds (-staff-token-ttl)", r, int64(s.tok.staffTTL/time.Second))
	}
	return nil
}

// newToken is the metadata of a new token of kind for a member of role r:
// it expires after ttl when given (checked by CheckTokenTTL), else after
// the staff TTL for staff, else never. Bootstrap tokens never expire: the
// operator replaces them with -admin-token.
func (s *Service) newToken(memberID string, r storage.Role, kind, by string, now time.Time, ttl *time.Duration) storage.Token {
	t := storage.Token{MemberID: memberID, Kind: kind, CreatedAt: now, CreatedBy: by}
	switch {
	case ttl != nil:
		t.ExpiresAt = now.Add(*ttl)
	case kind == storage.TokenBootstrap:
	case IsStaff(r) && s.tok.staffTTL > 0:
		t.ExpiresAt = now.Add(s.tok.staffTTL)
	}
	return t
}

// SignIn finds the member holding a bearer token and the token's
// metadata. A token that is unknown, revoked or expired is unauthorized,
// and the message says which. A use is noted for the token's last_used_at
// (written by RunTokens, at most once a minute per token).
func (s *Service) SignIn(ctx context.Context, secret string) (storage.Member, storage.Token, error) {
	t, m, err := s.store.TokenByHash(ctx, service.HashToken(secret))
	if errors.Is(err, storage.ErrNotFound) {
		return storage.Member{}, storage.Token{}, service.Errorf(service.CodeUnauthorized, "invalid token")
	}
	if err != nil {
		return storage.Member{}, storage.Token{}, err
	}
	now := s.now()
	switch {
	case !t.RevokedAt.IsZero():
		return storage.Member{}, storage.Token{}, service.Errorf(service.CodeUnauthorized,
			"this token was revoked at %s; ask for a new one", t.RevokedAt.Format(time.RFC3339))
	case t.Expired(now):
		return storage.Member{}, storage.Token{}, service.Errorf(service.CodeUnauthorized,
			"this token expired at %s; ask for a new one", t.ExpiresAt.Format(time.RFC3339))
	case m.Inactive: // deactivated (v1.5): its tokens sign in again once reactivated
		return storage.Member{}, storage.Token{}, service.Errorf(service.CodeUnauthorized, "this member is deactivated")
	}
	t.Hash = nil
	if now.Sub(t.LastUsedAt) >= touchEvery {
		s.tok.mu.Lock()
		s.tok.touched[t.ID] = struct{}{}
		s.tok.mu.Unlock()
	}
	return m, t, nil
}

// Token reads one token's metadata.
func (s *Service) Token(ctx context.Context, id string) (storage.Token, error) {
	return s.store.GetToken(ctx, id)
}

// MemberTokens lists a member's tokens (at most MaxTokenList), oldest
// first; active keeps those that may sign in now.
func (s *Service) MemberTokens(ctx context.Context, memberID string, active bool) ([]storage.Token, error) {
	f := storage.TokenFilter{MemberID: memberID, Limit: MaxTokenList}
	if active {
		f.ActiveAt = s.now()
	}
	return s.store.ListTokens(ctx, f)
}

// ListTokens pages through every token (after a token id, at most limit),
// with their members: "who holds a token". active keeps those that may
// sign in now.
func (s *Service) ListTokens(ctx context.Context, active bool, after string, limit int) ([]storage.Token, map[string]storage.Member, error) {
	f := storage.TokenFilter{After: after, Limit: limit}
	if active {
		f.ActiveAt = s.now()
	}
	ts, err := s.store.ListTokens(ctx, f)
	if err != nil {
		return nil, nil, err
	}
	var ids []string
	seen := map[string]bool{}
	for _, t := range ts {
		if !seen[t.MemberID] {
			seen[t.MemberID] = true
			ids = append(ids, t.MemberID)
		}
	}
	ms, err := s.store.GetMembers(ctx, ids)
	if err != nil {
		return nil, nil, err
	}
	byID := make(map[string]storage.Member, len(ms))
	for _, m := range ms {
		byID[m.ID] = m
	}
	return ts, byID, nil
}

// Issue gives member m a new token of kind issued (expiring after ttl when
// given, else by its role), issued by the actor; the secret is returned
// this once.
func (s *Service) Issue(ctx context.Context, m *storage.Member, ttl *time.Duration, by service.Actor) (storage.Token, string, error) {
	if ttl != nil {
		if err := s.CheckTokenTTL(m.Role, *ttl); err != nil {
			return storage.Token{}, "", err
		}
	}
	secret := service.NewToken()
	t := s.newToken(m.ID, m.Role, storage.TokenIssued, by.ID, s.now(), ttl)
	t.Hash = service.HashToken(secret)
	if _, err := s.store.IssueToken(ctx, &t, storage.TokenSelect{}); err != nil {
		return storage.Token{}, "", err
	}
	t.Hash = nil
	s.log.Info("token issued", slog.String("token", t.ID), slog.String("member", m.ID), slog.String("by", by.ID))
	return t, secret, nil
}

// Rotate replaces the token the member signed in with (oldID) by a new
// one of kind rotated, expiring by its role: the new token is stored and
// the old one revoked in one write, and the old one's WebSockets on this
// node are closed at once (on other nodes within seconds). The secret is
// returned this once.
func (s *Service) Rotate(ctx context.Context, m *storage.Member, oldID string) (storage.Token, string, error) {
	secret := service.NewToken()
	t := s.newToken(m.ID, m.Role, storage.TokenRotated, m.ID, s.now(), nil)
	t.Hash = service.HashToken(secret)
	revoked, err := s.store.IssueToken(ctx, &t, storage.TokenSelect{ID: oldID, MemberID: m.ID})
	if errors.Is(err, storage.ErrConflict) {
		return storage.Token{}, "", service.Errorf(service.CodeUnauthorized, "this token was revoked meanwhile")
	}
	if err != nil {
		return storage.Token{}, "", err
	}
	t.Hash = nil
	s.closeRevoked(revoked, ReasonRotated)
	s.log.Info("token rotated", slog.String("token", t.ID), slog.String("old", oldID), slog.String("member", m.ID))
	return t, secret, nil
}

// Revoke revokes one token and closes its WebSockets on this node at once
// (the other nodes' within seconds). Revoking a revoked token changes
// nothing. It returns the token as it is now.
func (s *Service) Revoke(ctx context.Context, id string, by service.Actor) (storage.Token, error) {
	revoked, err := s.store.RevokeTokens(ctx, storage.TokenSelect{ID: id}, s.now())
	if err != nil {
		return storage.Token{}, err
	}
	s.closeRevoked(revoked, ReasonRevoked)
	if len(revoked) == 1 {
		s.log.Info("token revoked", slog.String("token", id), slog.String("member", revoked[0].MemberID), slog.String("by", by.ID))
		return revoked[0], nil
	}
	return s.store.GetToken(ctx, id)
}

// RevokeMember revokes every token of a member but except ("": all of
// them) and closes their WebSockets, returning the tokens it revoked.
func (s *Service) RevokeMember(ctx context.Context, memberID, except string, by service.Actor) ([]storage.Token, error) {
	revoked, err := s.store.RevokeTokens(ctx, storage.TokenSelect{MemberID: memberID, Except: except}, s.now())
	if err != nil {
		return nil, err
	}
	s.closeRevoked(revoked, ReasonRevoked)
	s.log.Info("member's tokens revoked", slog.String("member", memberID), slog.Int("tokens", len(revoked)), slog.String("by", by.ID))
	return revoked, nil
}

// closeRevoked closes this node's WebSockets of the tokens.
func (s *Service) closeRevoked(ts []storage.Token, reason string) {
	if len(ts) == 0 {
		return
	}
	reasons := make(map[string]string, len(ts))
	for _, t := range ts {
		reasons[t.ID] = reason
	}
	s.node.CloseTokens(reasons)
}

// RunTokens writes the tokens' last uses and checks this node's
// WebSockets' tokens every TokenCheckInterval, until ctx ends. A
// connection whose token was revoked (on any node) or has expired is
// closed with 1008: every node runs the check, so a revocation reaches
// every node's connections within an interval and a query.
func (s *Service) RunTokens(ctx context.Context) {
	t := time.NewTicker(s.tok.checkEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			s.flushTouched(fctx)
			cancel()
			return
		case <-t.C:
		}
		s.flushTouched(ctx)
		if err := s.CheckConnections(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("check the tokens of the open WebSockets", slog.Any("err", err))
		}
	}
}

// flushTouched writes the last use of the tokens used since the last
// flush, in one statement.
func (s *Service) flushTouched(ctx context.Context) {
	s.tok.mu.Lock()
	if len(s.tok.touched) == 0 {
		s.tok.mu.Unlock()
		return
	}
	ids := make([]string, 0, len(s.tok.touched))
	for id := range s.tok.touched {
		ids = append(ids, id)
	}
	clear(s.tok.touched)
	s.tok.mu.Unlock()
	if err := s.store.TouchTokens(ctx, ids, s.now()); err != nil && ctx.Err() == nil {
		s.log.Warn("record the tokens' last use", slog.Int("tokens", len(ids)), slog.Any("err", err))
	}
}

// CheckConnections reads the tokens of this node's WebSockets (a query
// per checkPage of them) and closes the connections of those revoked,
// expired or gone.
func (s *Service) CheckConnections(ctx context.Context) error {
	ids := s.node.TokenIDs()
	now := s.now()
	reasons := map[string]string{}
	for start := 0; start < len(ids); start += checkPage {
		page := ids[start:min(start+checkPage, len(ids))]
		ts, err := s.store.GetTokens(ctx, page)
		if err != nil {
			return fmt.Errorf("members: check tokens: %w", err)
		}
		found := make(map[string]bool, len(ts))
		for i := range ts {
			t := &ts[i]
			found[t.ID] = true
			switch {
			case !t.RevokedAt.IsZero():
				reasons[t.ID] = ReasonRevoked
			case t.Expired(now):
				reasons[t.ID] = ReasonExpired
			}
		}
		for _, id := range page {
			if !found[id] {
				reasons[id] = ReasonRevoked
			}
		}
	}
	if n := s.node.CloseTokens(reasons); n > 0 {
		s.log.Info("closed WebSockets of ended tokens", slog.Int("connections", n), slog.Int("tokens", len(reasons)))
	}
	return nil
}

// EnsureAdmin makes sure an admin can sign in, at hubd's start.
//
// With a token (-admin-token): it must be at least MinBootstrapToken
// bytes. It becomes the bootstrap token (kind bootstrap, no expiry) and
// the previous bootstrap token, if any, is revoked: a new -admin-token
// replaces the old one. A secret that is an admin's token already is
// adopted as it is; one that was revoked, or is a non-admin's token, is
// refused. The token goes to the admin who held the previous bootstrap
// token, else to any admin, else to a new admin.
//
// Without one: an admin is created only if the store has none, and its new
// (bootstrap) token is returned so that the operator can be shown it once.
func (s *Service) EnsureAdmin(ctx context.Context, secret string) (shown string, err error) {
	now := s.now()
	if secret == "" {
		n, err := s.store.CountMembers(ctx, storage.RoleAdmin)
		if err != nil || n > 0 {
			return "", err
		}
		secret = service.NewToken()
		if _, err := s.create(ctx, []Input{{Name: "admin", Role: storage.RoleAdmin}}, false, "", storage.TokenBootstrap, []string{secret}); err != nil {
			return "", err
		}
		return secret, nil
	}
	if len(secret) < MinBootstrapToken {
		return "", fmt.Errorf("the admin token must be at least %d characters (it has %d)", MinBootstrapToken, len(secret))
	}
	hash := service.HashToken(secret)
	held, m, err := s.store.TokenByHash(ctx, hash)
	switch {
	case err == nil && !held.RevokedAt.IsZero():
		return "", fmt.Errorf("this admin token was revoked at %s: choose a new one", held.RevokedAt.Format(time.RFC3339))
	case err == nil && m.Role != storage.RoleAdmin:
		return "", errors.New("this admin token is the token of a member who is not an admin: choose a new one")
	case err == nil:
	case !errors.Is(err, storage.ErrNotFound):
		return "", err
	default:
		admin, err := s.bootstrapAdmin(ctx, now)
		if err != nil {
			return "", err
		}
		if admin == "" {
			out, err := s.create(ctx, []Input{{Name: "admin", Role: storage.RoleAdmin}}, false, "", storage.TokenBootstrap, []string{secret})
			if err != nil {
				return "", err
			}
			admin = out[0].Member.ID
		}
		m.ID = admin
	}
	t := s.newToken(m.ID, storage.RoleAdmin, storage.TokenBootstrap, "", now, nil)
	t.Hash = hash
	revoked, err := s.store.IssueToken(ctx, &t, storage.TokenSelect{Kind: storage.TokenBootstrap})
	if err != nil {
		return "", err
	}
	s.closeRevoked(revoked, ReasonRevoked)
	for _, r := range revoked {
		s.log.Info("the previous admin token was revoked", slog.String("token", r.ID), slog.String("member", r.MemberID))
	}
	return "", nil
}

// bootstrapAdmin is the admin that holds an active bootstrap token, else
// any admin, else "".
func (s *Service) bootstrapAdmin(ctx context.Context, now time.Time) (string, error) {
	admins := s.dir.WithRole(storage.RoleAdmin, "", MaxList)
	for _, id := range admins {
		ts, err := s.store.ListTokens(ctx, storage.TokenFilter{MemberID: id, ActiveAt: now, Limit: MaxTokenList})
		if err != nil {
			return "", err
		}
		for _, t := range ts {
			if t.Kind == storage.TokenBootstrap {
				return id, nil
			}
		}
	}
	if len(admins) > 0 {
		return admins[0], nil
	}
	return "", nil
}

// KeepToken returns secret when it is an active token of kind for member
// m; otherwise it issues m a new token of that kind (expiring by m's
// role), revokes m's other tokens of that kind, and returns the new
// secret. -demo keeps its demo tokens across restarts with it.
func (s *Service) KeepToken(ctx context.Context, m *storage.Member, kind, secret string) (string, error) {
	now := s.now()
	if secret != "" {
		t, holder, err := s.store.TokenByHash(ctx, service.HashToken(secret))
		switch {
		case err == nil && holder.ID == m.ID && t.Kind == kind && t.Active(now):
			return secret, nil
		case err != nil && !errors.Is(err, storage.ErrNotFound):
			return "", err
		}
	}
	secret = service.NewToken()
	t := s.newToken(m.ID, m.Role, kind, "", now, nil)
	t.Hash = service.HashToken(secret)
	revoked, err := s.store.IssueToken(ctx, &t, storage.TokenSelect{MemberID: m.ID, Kind: kind})
	if err != nil {
		return "", err
	}
	s.closeRevoked(revoked, ReasonRevoked)
	return secret, nil
}
