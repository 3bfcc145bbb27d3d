package hub

import (
	"context"
	"fmt"
	"time"

	"github.com/longyou/hub/geo"
	"github.com/longyou/hub/storage"
)

// The roster's part of the directory (docs/API.md v1.5, issue 12): no one
// is silently left out of a geographic alert. A member with neither a
// fresh live position nor a home is placed at its village's centre and
// counted as approximate; a deactivated member is not in the directory at
// all (Directory.add removes it), so nothing targets it.

// ReasonDeactivated is the 1008 reason a deactivated member's WebSockets
// are closed with.
const ReasonDeactivated = "member deactivated"

// SetVillage records a village's centre (created, imported, or loaded) and
// moves the members placed at the old one. Other nodes learn it at their
// next directory load.
func (d *Directory) SetVillage(v *storage.Village, now time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.villages[v.ID] = geo.LatLng{Lat: v.Center.Lat, Lng: v.Center.Lng}
	for _, e := range d.byVillage[v.ID] {
		if e.home == nil {
			d.reindex(e, now)
		}
	}
}

// approximate tells whether e is placed at its village's centre. d.mu is
// held.
func (d *Directory) approximate(e *dirEntry, now time.Time) bool {
	if e.home != nil || (e.live != nil && now.Sub(e.live.At) < d.liveTTL) {
		return false
	}
	_, ok := d.villages[e.village]
	return ok
}

// Placement counts, among the members of ids, those placed at their
// village's centre (approximate) and those without a phone.
func (d *Directory) Placement(ids []string, now time.Time) (approximate, noPhone int) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	for _, id := range ids {
		e := d.byID[id]
		if e == nil {
			continue
		}
		if d.approximate(e, now) {
			approximate++
		}
		if !e.hasPhone {
			noPhone++
		}
	}
	return approximate, noPhone
}

// villageLister is the store's village list, when it has one (every
// storage.Store does).
type villageLister interface {
	ListVillages(ctx context.Context) ([]storage.Village, error)
}

// loadVillages loads the village centres into the directory.
func (n *Node) loadVillages(ctx context.Context) error {
	vl, ok := n.store.(villageLister)
	if !ok {
		return nil
	}
	vs, err := vl.ListVillages(ctx)
	if err != nil {
		return fmt.Errorf("hub: load villages: %w", err)
	}
	now := n.Now()
	for i := range vs {
		n.dir.SetVillage(&vs[i], now)
	}
	return nil
}

// CloseMember closes the member's WebSockets on this node with 1008 and
// reason. A deactivation announced to other nodes (Directory.Add of the
// inactive member) closes theirs.
func (n *Node) CloseMember(id, reason string) { n.closeMember(id, reason) }

func (n *Node) closeMember(id, reason string) {
	n.conns.forMember(id, func(c *Conn) { go c.closeAfterTelling(reason) })
}
