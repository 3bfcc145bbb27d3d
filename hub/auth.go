package hub

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"slices"
	"strings"

	"github.com/longyou/hub/storage"
)

// NewToken returns a random bearer token of 256 bits, URL-safe.
func NewToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// newID returns a random opaque id of 128 bits with a readable prefix.
func newID(prefix string) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return prefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// HashToken is how tokens are stored: only their SHA-256, so a copy of the
// database does not hand out sessions. Tokens have 256 bits of entropy, so
// a fast hash is enough (no password stretching needed).
func HashToken(tok string) []byte {
	h := sha256.Sum256([]byte(tok))
	return h[:]
}

// bearer reads the token from the Authorization header or, for browsers
// that cannot set headers (WebSocket, <img>), from the token query.
func bearer(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		if tok, ok := strings.CutPrefix(h, "Bearer "); ok {
			return strings.TrimSpace(tok)
		}
		return ""
	}
	return r.URL.Query().Get("token")
}

// Principal is the authenticated caller.
type Principal struct {
	storage.Member
}

func (p *Principal) is(roles ...storage.Role) bool { return slices.Contains(roles, p.Role) }

// isCommand: commanders and admins, who act on the whole county.
func (p *Principal) isCommand() bool {
	return p.is(storage.RoleCommander, storage.RoleAdmin)
}

// mayReadVillage: may read the reports and alerts of this village (docs/API.md:
// cadre own village, commander and admin any).
func (p *Principal) mayReadVillage(villageID string) bool {
	return p.isCommand() || (p.Role == storage.RoleCadre && villageID != "" && p.VillageID == villageID)
}

// mayReadAlert: may see an alert's progress and recipients.
func (p *Principal) mayReadAlert(a *storage.Alert) bool {
	return p.isCommand() || (p.Role == storage.RoleCadre && slices.Contains(a.Villages, p.VillageID))
}

var roleTags = map[storage.Role]uint8{
	storage.RoleResident: 0, storage.RolePatrol: 1, storage.RoleCadre: 2,
	storage.RoleCommander: 3, storage.RoleAdmin: 4,
}

// validRole tells whether r is one of docs/API.md's roles.
func validRole(r storage.Role) bool { _, ok := roleTags[r]; return ok }

// roleMask is the geo index tag mask of a role list (nil: every role).
func roleMask(roles []storage.Role) uint8 {
	if roles == nil {
		return 0xff
	}
	var m uint8
	for _, r := range roles {
		m |= 1 << roleTags[r]
	}
	return m
}
