package policy

import (
	"fmt"
	"time"
)

// Handling is how reports are handled past their time limits (docs/API.md
// v1.6 "report handling", issue 16 part 1).
type Handling struct {
	// SMSDelay is how long after its first limit (due) an overdue report
	// that nobody has touched yet (still in the initial status, no
	// feedback) is reminded by SMS to its assignee and its village's
	// cadres; the push reminder goes at the first limit. Zero means the
	// SMS goes with the push.
	SMSDelay Duration `json:"sms_delay,omitzero"`
	// VillageRadiusM bounds how far a report may be from the centre of
	// the village it is filed under: a report belongs to the village
	// whose centre is nearest to its position when that centre is within
	// this many metres, else to its reporter's village. Zero means 5,000.
	VillageRadiusM int `json:"village_radius_m,omitzero"`
}

// DefaultVillageRadiusM is the zero VillageRadiusM.
const DefaultVillageRadiusM = 5000

// maxVillageRadiusM bounds VillageRadiusM (a county is smaller).
const maxVillageRadiusM = 100_000

func defaultHandling() Handling {
	return Handling{SMSDelay: Duration(30 * time.Minute), VillageRadiusM: DefaultVillageRadiusM}
}

// VillageRadius is the VillageRadiusM in force, in metres.
func (h Handling) VillageRadius() float64 {
	if h.VillageRadiusM <= 0 {
		return DefaultVillageRadiusM
	}
	return float64(h.VillageRadiusM)
}

// Deadlines are the steps of a report made at created: Due (overdue, push
// reminder), Remind (SMS reminder if untouched), Escalate (to the
// township) and County (to the county); a zero time is a step it does not
// take.
type Deadlines struct {
	Due, Remind, Escalate, County time.Time
}

// DeadlinesOf returns the steps of a report of kind in villageID made at
// created (all zero for an unknown kind).
func (p Policy) DeadlinesOf(kind, villageID string, created time.Time) Deadlines {
	l, ok := p.TimeLimits(kind, villageID)
	if !ok {
		return Deadlines{}
	}
	d := Deadlines{Due: created.Add(l.Due.D())}
	d.Remind = d.Due.Add(p.Handling.SMSDelay.D())
	if l.Escalate != 0 {
		d.Escalate = created.Add(l.Escalate.D())
		if l.County != 0 {
			d.County = created.Add(l.County.D())
		}
	}
	return d
}

// handling checks Handling and the county limits of the report kinds and
// their village overrides.
func (v *validator) handling(p *Policy) {
	h := p.Handling
	switch {
	case h.SMSDelay < 0:
		v.add("handling.sms_delay", "must not be negative, got %s", h.SMSDelay)
	case h.SMSDelay != 0:
		v.limit("handling.sms_delay", h.SMSDelay)
	}
	if h.VillageRadiusM < 0 || h.VillageRadiusM > maxVillageRadiusM {
		v.add("handling.village_radius_m", "must be 0 to %d, got %d", maxVillageRadiusM, h.VillageRadiusM)
	}
	county := func(f string, l TimeLimits) {
		if l.County == 0 {
			return
		}
		v.limit(f, l.County)
		switch {
		case l.Escalate == 0:
			v.add(f, "needs an escalate limit before it")
		case l.County <= l.Escalate:
			v.add(f, "must be later than escalate (%s), got %s", l.Escalate, l.County)
		}
	}
	for i, k := range p.Reports.Kinds {
		county(fmt.Sprintf("reports.kinds[%d].county", i), k.TimeLimits)
	}
	for _, id := range sortedKeys(p.Reports.Villages) {
		for _, kind := range sortedKeys(p.Reports.Villages[id]) {
			if p.Reports.Villages[id][kind].County == 0 {
				continue
			}
			if l, ok := p.TimeLimits(kind, id); ok {
				county(fmt.Sprintf("reports.villages[%q][%q].county", id, kind), l)
			}
		}
	}
}
