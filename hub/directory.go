package hub

import (
	"sync"
	"time"

	"github.com/longyou/hub/geo"
	"github.com/longyou/hub/storage"
)

// Directory is the in-memory view of every member that targeting needs:
// role, village and effective position (live if fresh, else home, else
// its village's centre), with
// the geo index over those positions. It is loaded from the store at start
// and follows every member creation and locate.
//
// A member's position in the index is its effective one. Live positions
// expire after liveTTL: locates arrive in time order, so a FIFO of
// (member, time) holds the expiries in order and expire() pops the due ones
// before every query; the index is exact at query time without a sweeper.
type Directory struct {
	index   *geo.Index
	liveTTL time.Duration

	mu sync.RWMutex // guards the following fields
	// byID maps member id to its entry; slots index entries by geo ref.
	byID      map[string]*dirEntry
	slots     []*dirEntry
	byVillage map[string][]*dirEntry
	expiries  []liveExpiry   // FIFO, oldest first
	modes     map[string]int // members per travel mode ("" not counted)
	// villages holds the village centres: a member with neither a fresh
	// live position nor a home is placed at its village's (approximate,
	// directory_roster.go).
	villages map[string]geo.LatLng

	// Set once by the node before it serves (a cluster): tell the other
	// nodes about a change made here.
	onAdd    func(m *storage.Member)
	onLocate func(id string, p storage.Position)
}

type dirEntry struct {
	slot     uint32
	id       string
	role     storage.Role
	village  string
	hasPhone bool
	mode     string // travel mode; "" uses the alert's
	home     *geo.LatLng
	live     *storage.Position // nil, or the last locate (maybe stale)
}

type liveExpiry struct {
	slot uint32
	at   time.Time
}

func newDirectory(liveTTL time.Duration) *Directory {
	return &Directory{
		index:     geo.NewIndex(),
		liveTTL:   liveTTL,
		byID:      make(map[string]*dirEntry),
		byVillage: make(map[string][]*dirEntry),
		modes:     make(map[string]int),
		villages:  make(map[string]geo.LatLng),
	}
}

// Add registers or updates a member (created or changed here); in a
// cluster the other nodes' directories follow at once.
func (d *Directory) Add(m *storage.Member, now time.Time) {
	d.add(m, now)
	if d.onAdd != nil {
		d.onAdd(m)
	}
}

// add registers or updates a member (load at start, another node's change).
func (d *Directory) add(m *storage.Member, now time.Time) {
	if m.Inactive { // deactivated: targeted by nothing (directory_roster.go)
		d.remove(m.ID)
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	e := d.byID[m.ID]
	if e == nil {
		e = &dirEntry{slot: uint32(len(d.slots)), id: m.ID}
		d.slots = append(d.slots, e)
		d.byID[m.ID] = e
	}
	if e.role == "" || e.village != m.VillageID { // new, or moved to another village
		if e.role != "" {
			d.removeFromVillage(e)
		}
		if m.VillageID != "" {
			d.byVillage[m.VillageID] = append(d.byVillage[m.VillageID], e)
		}
	}
	if e.mode != "" {
		d.modes[e.mode]--
	}
	if m.TravelMode != "" {
		d.modes[m.TravelMode]++
	}
	e.role, e.village, e.hasPhone, e.mode = m.Role, m.VillageID, m.Phone != "", m.TravelMode
	e.home = nil
	if m.Home != nil {
		e.home = &geo.LatLng{Lat: m.Home.Lat, Lng: m.Home.Lng}
	}
	e.live = nil
	if m.Live != nil && now.Sub(m.Live.At) < d.liveTTL {
		p := *m.Live
		e.live = &p
		d.expiries = append(d.expiries, liveExpiry{e.slot, p.At})
	}
	d.reindex(e, now)
}

func (d *Directory) removeFromVillage(e *dirEntry) {
	list := d.byVillage[e.village]
	for i, x := range list {
		if x == e {
			list[i] = list[len(list)-1]
			d.byVillage[e.village] = list[:len(list)-1]
			return
		}
	}
}

// reindex puts e at its effective position in the index. d.mu is held.
func (d *Directory) reindex(e *dirEntry, now time.Time) {
	if p, ok := d.effective(e, now); ok {
		d.index.Set(e.slot, p, roleTags[e.role])
	} else {
		d.index.Remove(e.slot)
	}
}

func (d *Directory) effective(e *dirEntry, now time.Time) (geo.LatLng, bool) {
	if e.live != nil && now.Sub(e.live.At) < d.liveTTL {
		return geo.LatLng{Lat: e.live.Lat, Lng: e.live.Lng}, true
	}
	if e.home != nil {
		return *e.home, true
	}
	if c, ok := d.villages[e.village]; ok {
		return c, true // approximate: its village's centre
	}
	return geo.LatLng{}, false
}

// Locate records a live position sent here; false when the member is not
// in the directory. In a cluster the other nodes' directories follow.
func (d *Directory) Locate(id string, p storage.Position) bool {
	ok := d.locate(id, p)
	if ok && d.onLocate != nil {
		d.onLocate(id, p)
	}
	return ok
}

func (d *Directory) locate(id string, p storage.Position) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	e := d.byID[id]
	if e == nil {
		return false
	}
	e.live = &p
	d.expiries = append(d.expiries, liveExpiry{e.slot, p.At})
	d.reindex(e, p.At)
	return true
}

// expire moves members whose live position went stale back to their home.
func (d *Directory) expire(now time.Time) {
	d.mu.RLock()
	due := len(d.expiries) > 0 && now.Sub(d.expiries[0].at) >= d.liveTTL
	d.mu.RUnlock()
	if !due {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for n < len(d.expiries) && now.Sub(d.expiries[n].at) >= d.liveTTL {
		x := d.expiries[n]
		e := d.slots[x.slot]
		if e.live != nil && e.live.At.Equal(x.at) {
			d.reindex(e, now)
		}
		n++
	}
	d.expiries = append(d.expiries[:0:0], d.expiries[n:]...)
}

// Density counts members per H3 cell at resolution res.
func (d *Directory) Density(res int) map[string]int { return d.index.Density(res) }

// Position returns the member's effective position.
func (d *Directory) Position(id string, now time.Time) (geo.LatLng, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	e := d.byID[id]
	if e == nil {
		return geo.LatLng{}, false
	}
	return d.effective(e, now)
}

// InRegion returns the ids of members inside r with a role in mask.
func (d *Directory) InRegion(r *geo.Region, mask RoleMask, now time.Time) []string {
	d.expire(now)
	refs := d.index.Query(r, uint8(mask), nil)
	d.mu.RLock()
	defer d.mu.RUnlock()
	ids := make([]string, len(refs))
	for i, ref := range refs {
		ids[i] = d.slots[ref].id
	}
	return ids
}

// InRegionBy returns the ids of members inside r with a role in mask whose
// travel mode keep accepts ("" for a member without one).
func (d *Directory) InRegionBy(r *geo.Region, mask RoleMask, now time.Time, keep func(mode string) bool) []string {
	d.expire(now)
	refs := d.index.Query(r, uint8(mask), nil)
	d.mu.RLock()
	defer d.mu.RUnlock()
	ids := make([]string, 0, len(refs))
	for _, ref := range refs {
		if e := d.slots[ref]; keep(e.mode) {
			ids = append(ids, e.id)
		}
	}
	return ids
}

// TravelMode is the member's own travel mode ("" when it has none).
func (d *Directory) TravelMode(id string) string {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if e := d.byID[id]; e != nil {
		return e.mode
	}
	return ""
}

// Modes lists the travel modes some member carries, so that a reach
// compiles only the modes in use.
func (d *Directory) Modes() []string {
	d.mu.RLock()
	defer d.mu.RUnlock()
	var out []string
	for m, n := range d.modes {
		if n > 0 {
			out = append(out, m)
		}
	}
	return out
}

// InVillages returns the ids of members of these villages with a role in mask.
func (d *Directory) InVillages(villages []string, mask RoleMask) []string {
	d.mu.RLock()
	defer d.mu.RUnlock()
	var ids []string
	for _, v := range villages {
		for _, e := range d.byVillage[v] {
			if mask&RoleBit(e.role) != 0 {
				ids = append(ids, e.id)
			}
		}
	}
	return ids
}

// HasPhone tells whether the member can get an SMS.
func (d *Directory) HasPhone(id string) bool {
	d.mu.RLock()
	defer d.mu.RUnlock()
	e := d.byID[id]
	return e != nil && e.hasPhone
}

// Member returns role and village of a member.
func (d *Directory) Member(id string) (role storage.Role, village string, ok bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	e := d.byID[id]
	if e == nil {
		return "", "", false
	}
	return e.role, e.village, true
}

func (d *Directory) Len() int {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return len(d.byID)
}

// WithRole lists up to limit member ids with this role, in a village or
// ("" village) anywhere.
func (d *Directory) WithRole(role storage.Role, village string, limit int) []string {
	d.mu.RLock()
	defer d.mu.RUnlock()
	var ids []string
	list := d.slots
	if village != "" {
		list = d.byVillage[village]
	}
	for _, e := range list {
		if e.role == role {
			ids = append(ids, e.id)
			if len(ids) == limit {
				break
			}
		}
	}
	return ids
}
