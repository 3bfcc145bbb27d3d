package api

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/longyou/hub/service"
	"github.com/longyou/hub/storage"
)

// The token routes of docs/API.md v1.4: list, issue, revoke and rotate
// tokens, and "who holds a token". A token's secret is shown only in the
// answer that creates it; everything else shows its metadata.

func (a *API) registerTokens(api func(pattern string, fn apiHandler)) {
	api("GET /api/v1/me/token", a.handleMyToken)
	api("POST /api/v1/me/token/rotate", a.handleRotateToken)
	api("GET /api/v1/members/{id}/tokens", a.handleMemberTokens)
	api("POST /api/v1/members/{id}/tokens", a.handleIssueToken)
	api("POST /api/v1/members/{id}/tokens/revoke", a.handleRevokeMemberTokens)
	api("DELETE /api/v1/tokens/{token_id}", a.handleRevokeToken)
	api("GET /api/v1/tokens", a.handleListTokens)
}

// TokenInfo is a token's metadata on the wire (never its secret).
type TokenInfo struct {
	ID         string     `json:"id"`
	MemberID   string     `json:"member_id"`
	Kind       string     `json:"kind"`
	CreatedAt  time.Time  `json:"created_at"`
	CreatedBy  string     `json:"created_by"`
	ExpiresAt  *time.Time `json:"expires_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
	// Active: the token may sign in now (not revoked, not expired).
	Active bool `json:"active"`
	// Current: the caller signed in with this token.
	Current bool `json:"current"`
	// Member is the holder, in "who holds a token" (GET /api/v1/tokens).
	Member *TokenHolder `json:"member,omitempty"`
}

// TokenHolder is the member holding a token, as the token list shows it.
type TokenHolder struct {
	ID        string       `json:"id"`
	Name      string       `json:"name"`
	Role      storage.Role `json:"role"`
	VillageID string       `json:"village_id,omitempty"`
}

// NewToken is the answer that shows a new token's secret, once.
type NewToken struct {
	Token string    `json:"token"`
	Info  TokenInfo `json:"token_info"`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func (a *API) tokenView(t *storage.Token, p *Principal) TokenInfo {
	return TokenInfo{ID: t.ID, MemberID: t.MemberID, Kind: t.Kind, CreatedAt: t.CreatedAt.UTC(), CreatedBy: t.CreatedBy,
		ExpiresAt: optTime(t.ExpiresAt), LastUsedAt: optTime(t.LastUsedAt), RevokedAt: optTime(t.RevokedAt),
		Active: t.Active(a.node.Now()), Current: p != nil && t.ID == p.Token.ID}
}

func (a *API) tokenViews(ts []storage.Token, p *Principal) []TokenInfo {
	out := make([]TokenInfo, len(ts))
	for i := range ts {
		out[i] = a.tokenView(&ts[i], p)
	}
	return out
}

// tokenAccess tells whether p may list and revoke member m's tokens (and,
// unless self-service is all p has, issue m new ones): every member its
// own; commanders and admins those of members who are not admins; admins
// those of admins. The answer is nil, forbidden (p may see m but not its
// tokens) or not_found (p may not even learn that m exists).
func tokenAccess(p *Principal, m *storage.Member) error {
	switch {
	case m.Role == storage.RoleAdmin && may(p, ActAdminTokens, Scope{}):
		return nil
	case m.Role == storage.RoleAdmin && may(p, ActManageTokens, Scope{}):
		return service.Errorf(service.CodeForbidden, "only an admin may manage an admin's tokens")
	case m.Role != storage.RoleAdmin && may(p, ActManageTokens, Scope{}):
		return nil
	case m.ID == p.ID:
		return nil
	case may(p, ActReadMember, village(m.VillageID)):
		return service.ErrForbidden
	}
	return service.ErrNotFound // never confirm another member exists
}

// manageable reads the member of the path and checks tokenAccess.
func (a *API) manageable(r *http.Request, p *Principal) (storage.Member, error) {
	m, err := a.members.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return storage.Member{}, err
	}
	return m, tokenAccess(p, &m)
}

// activeParam reads ?active=1 (or true).
func activeParam(r *http.Request) (bool, error) {
	switch v := r.URL.Query().Get("active"); v {
	case "", "0", "false":
		return false, nil
	case "1", "true":
		return true, nil
	default:
		return false, service.Invalid("active must be 1 or 0")
	}
}

// decodeOptionalJSON is decodeJSON for a body that may be empty.
func decodeOptionalJSON(r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxJSONBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return service.Errorf(service.CodeTooLarge, "the body is larger than %d bytes", maxJSONBody)
		}
		return service.Invalid("could not read the body")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	return unmarshalStrict(body, v)
}

func (a *API) handleMyToken(w http.ResponseWriter, r *http.Request, p *Principal) error {
	writeJSON(w, http.StatusOK, map[string]any{"token_info": a.tokenView(&p.Token, p)})
	return nil
}

func (a *API) handleRotateToken(w http.ResponseWriter, r *http.Request, p *Principal) error {
	if p.Token.ID == "" {
		return service.Errorf(service.CodeUnauthorized, "this token cannot be rotated")
	}
	t, secret, err := a.members.Rotate(r.Context(), &p.Member, p.Token.ID)
	if err != nil {
		return err
	}
	// The caller now holds the new token: that one is current.
	writeJSON(w, http.StatusCreated, NewToken{Token: secret, Info: a.tokenView(&t, &Principal{Token: t})})
	return nil
}

func (a *API) handleMemberTokens(w http.ResponseWriter, r *http.Request, p *Principal) error {
	active, err := activeParam(r)
	if err != nil {
		return err
	}
	m, err := a.manageable(r, p)
	if err != nil {
		return err
	}
	ts, err := a.members.MemberTokens(r.Context(), m.ID, active)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"tokens": a.tokenViews(ts, p)})
	return nil
}

// issueRequest is the body of POST /api/v1/members/{id}/tokens.
type issueRequest struct {
	ExpiresInS *int64 `json:"expires_in_s"`
}

func (a *API) handleIssueToken(w http.ResponseWriter, r *http.Request, p *Principal) error {
	m, err := a.manageable(r, p)
	if err != nil {
		return err
	}
	if !may(p, ActManageTokens, Scope{}) {
		return service.Errorf(service.CodeForbidden, "replace your own token with POST /api/v1/me/token/rotate")
	}
	var req issueRequest
	if err := decodeOptionalJSON(r, &req); err != nil {
		return err
	}
	var ttl *time.Duration
	if req.ExpiresInS != nil {
		s := *req.ExpiresInS
		if s <= 0 || s > int64(1<<62/time.Second) {
			return service.Invalid("expires_in_s must be a positive number of seconds")
		}
		d := time.Duration(s) * time.Second
		ttl = &d
	}
	t, secret, err := a.members.Issue(r.Context(), &m, ttl, p.actor())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, NewToken{Token: secret, Info: a.tokenView(&t, p)})
	return nil
}

// revokeAllRequest is the body of POST /api/v1/members/{id}/tokens/revoke.
type revokeAllRequest struct {
	// KeepCurrent keeps the token of the request (signing out every other
	// device); it matters only for the caller's own tokens.
	KeepCurrent bool `json:"keep_current"`
}

func (a *API) handleRevokeMemberTokens(w http.ResponseWriter, r *http.Request, p *Principal) error {
	m, err := a.manageable(r, p)
	if err != nil {
		return err
	}
	var req revokeAllRequest
	if err := decodeOptionalJSON(r, &req); err != nil {
		return err
	}
	except := ""
	if req.KeepCurrent && m.ID == p.ID {
		except = p.Token.ID
	}
	revoked, err := a.members.RevokeMember(r.Context(), m.ID, except, p.actor())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"revoked": len(revoked), "tokens": a.tokenViews(revoked, p)})
	return nil
}

func (a *API) handleRevokeToken(w http.ResponseWriter, r *http.Request, p *Principal) error {
	t, err := a.members.Token(r.Context(), r.PathValue("token_id"))
	if err != nil {
		return err
	}
	m, err := a.members.Get(r.Context(), t.MemberID)
	if err != nil {
		return err
	}
	if err := tokenAccess(p, &m); err != nil {
		return err
	}
	t, err = a.members.Revoke(r.Context(), t.ID, p.actor())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"token_info": a.tokenView(&t, p)})
	return nil
}

// maxTokenPage caps a page of GET /api/v1/tokens.
const maxTokenPage = 1000

func (a *API) handleListTokens(w http.ResponseWriter, r *http.Request, p *Principal) error {
	if !may(p, ActTokenHolders, Scope{}) {
		return service.ErrForbidden
	}
	active, err := activeParam(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	limit := 100
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxTokenPage {
			return service.Invalid("limit must be from 1 to %d", maxTokenPage)
		}
		limit = n
	}
	ts, holders, err := a.members.ListTokens(r.Context(), active, q.Get("after"), limit)
	if err != nil {
		return err
	}
	out := a.tokenViews(ts, p)
	for i := range out {
		if m, ok := holders[out[i].MemberID]; ok {
			out[i].Member = &TokenHolder{ID: m.ID, Name: m.Name, Role: m.Role, VillageID: m.VillageID}
		}
	}
	var next *string
	if len(ts) == limit {
		next = &ts[len(ts)-1].ID
	}
	writeJSON(w, http.StatusOK, map[string]any{"tokens": out, "next": next})
	return nil
}
