package hub

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/longyou/hub/storage"
)

// ServeWSToken is ServeWS for a member who signed in with the token
// tokenID (its public id): the connection remembers it, so that
// CloseTokens can end it when the token is revoked or expires.
func (h *Node) ServeWSToken(w http.ResponseWriter, r *http.Request, m storage.Member, tokenID string, memberJSON json.RawMessage) {
	h.serveWS(w, r, m, tokenID, memberJSON)
}

// TokenID is the id of the token the connection was opened with ("" when
// it was opened without one, through ServeWS).
func (c *Conn) TokenID() string { return c.tokenID }

// TokenIDs lists the distinct ids of the tokens this node's connections
// were opened with (the layer above checks them against the store).
func (h *Node) TokenIDs() []string {
	seen := make(map[string]struct{})
	var out []string
	h.conns.each(func(c *Conn) {
		if c.tokenID == "" {
			return
		}
		if _, ok := seen[c.tokenID]; !ok {
			seen[c.tokenID] = struct{}{}
			out = append(out, c.tokenID)
		}
	})
	return out
}

// CloseTokens closes every connection of this node opened with one of the
// tokens of reasons (token id -> reason, such as "token revoked") with
// 1008 (policy violation) and that reason, and returns how many it closed.
// Each close is counted in hub_drops_total by its reason, spaces as
// underscores ("token_revoked").
func (h *Node) CloseTokens(reasons map[string]string) int {
	if len(reasons) == 0 {
		return 0
	}
	n := 0
	h.conns.each(func(c *Conn) {
		if reason, ok := reasons[c.tokenID]; ok && c.tokenID != "" && c.closePolicy(strings.ReplaceAll(reason, " ", "_"), reason) {
			n++
		}
	})
	return n
}
