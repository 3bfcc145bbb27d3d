package hub

import (
	"context"
	"encoding/json"

	"github.com/longyou/hub/storage"
)

// Erased members (issue 13). A member erased on any node leaves every
// node's directory at once (an announcement, as for a change), so no alert
// targets it and no list shows it, and its open WebSockets are closed
// (its tokens are gone from the store). A node that missed the
// announcement (Redis down) forgets it at its next directory reload.

// ctlForget is the control envelope of an erased member.
const ctlForget = "dir_forget"

type forgetMsg struct {
	ID string `json:"id"`
}

// Forget removes an erased member from this node's directory, closes its
// connections here with 1008 "member erased", and tells the other nodes
// to do the same.
func (n *Node) Forget(id string) {
	n.forget(id)
	if an, ok := n.broker.(Announcer); ok {
		n.announce(an, ctlForget, forgetMsg{ID: id})
	}
}

func (n *Node) forget(id string) {
	n.dir.remove(id)
	n.conns.forMember(id, func(c *Conn) { go c.closeAfterTelling("member erased") })
}

// applyForget applies another node's ctlForget.
func (n *Node) applyForget(env *Envelope) {
	var f forgetMsg
	if err := json.Unmarshal(env.Frame, &f); err != nil || f.ID == "" {
		n.log.Warn("undecodable erased member", "err", err)
		return
	}
	n.forget(f.ID)
}

// pruneDirectory forgets the members a full reload did not list (seen)
// that the store no longer has: erased while this node did not hear it.
// A member created meanwhile is missing from the listing too, but the
// store still finds it.
func (n *Node) pruneDirectory(ctx context.Context, seen map[string]bool) {
	missing := n.dir.idsExcept(seen)
	if len(missing) == 0 {
		return
	}
	g, ok := n.store.(interface {
		GetMembers(ctx context.Context, ids []string) ([]storage.Member, error)
	})
	if !ok {
		return
	}
	found, err := g.GetMembers(ctx, missing)
	if err != nil {
		n.log.Warn("check members missing from the directory reload", "members", len(missing), "err", err)
		return
	}
	have := make(map[string]bool, len(found))
	for i := range found {
		have[found[i].ID] = true
	}
	for _, id := range missing {
		if !have[id] {
			n.forget(id)
		}
	}
}

// remove takes a member out of the directory: out of the index, its
// village and the role lists. Its slot stays (the index refers to slots
// by number) as an empty entry that nothing lists.
func (d *Directory) remove(id string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	e := d.byID[id]
	if e == nil {
		return
	}
	d.removeFromVillage(e)
	if e.mode != "" {
		d.modes[e.mode]--
	}
	d.index.Remove(e.slot)
	delete(d.byID, id)
	*e = dirEntry{slot: e.slot}
}

// idsExcept lists the members of the directory not in seen.
func (d *Directory) idsExcept(seen map[string]bool) []string {
	d.mu.RLock()
	defer d.mu.RUnlock()
	var out []string
	for id := range d.byID {
		if !seen[id] {
			out = append(out, id)
		}
	}
	return out
}
