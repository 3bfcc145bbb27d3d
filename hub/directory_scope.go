package hub

import (
	"time"

	"github.com/longyou/hub/geo"
)

// SplitDensity is the density map as one village's cadre may see it
// (docs/API.md v1.4): own counts the members of village per H3 cell at res,
// each at its effective position (live if fresh, else home); others counts
// every other member per cell at othersRes. Both come from one snapshot
// (no member moves between the two counts), so others never counts a
// member of the village, nor misses or doubles one, in a way the caller
// could take for another village's member.
func (d *Directory) SplitDensity(village string, res, othersRes int, now time.Time) (own, others map[string]int) {
	d.expire(now) // the index then holds every member at effective(e, now)
	d.mu.RLock()  // no add, locate or expiry until both counts are taken
	defer d.mu.RUnlock()
	var pts []geo.LatLng
	if village != "" {
		for _, e := range d.byVillage[village] {
			if p, ok := d.effective(e, now); ok {
				pts = append(pts, p)
			}
		}
	}
	total := d.index.Density(othersRes)
	for c, n := range geo.CountCells(pts, othersRes) {
		if total[c] -= n; total[c] <= 0 {
			delete(total, c)
		}
	}
	return geo.CountCells(pts, res), total
}
