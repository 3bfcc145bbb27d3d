package policy

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// MaxLimit bounds every report time limit: a limit beyond a year is a typo.
const MaxLimit = 366 * 24 * time.Hour

// FieldError is one problem of a Policy, naming the field by its JSON path
// ("reports.kinds[2].due", `reports.villages["v_1"]["fire"].escalate`), so an
// admin's PUT can be answered with what to fix.
type FieldError struct {
	Field   string
	Problem string
}

func (e *FieldError) Error() string { return "policy: " + e.Field + ": " + e.Problem }

// Validate checks p and returns nil, or every problem found, each a
// *FieldError (errors.Join; errors.As finds the first), in a stable order.
// Village ids in overrides are checked for shape only: whether a village
// exists is the store's to say.
func (p Policy) Validate() error {
	v := &validator{}
	v.reports(&p.Reports)
	v.names("bulletins.categories", p.Bulletins.Categories)
	v.alerts(&p.Alerts)
	v.handling(&p)
	v.limits("limits", p.Limits)
	v.patrol(&p.Patrol)
	for _, role := range sortedKeys(p.RoleLimits) {
		f := fmt.Sprintf("role_limits[%q]", role)
		if !validName(role) {
			v.add(f, "role %s", nameRule)
		}
		v.limits(f, p.RoleLimits[role])
	}
	v.letters(&p.Letters)
	v.credit(&p.Credit)
	return errors.Join(v.errs...)
}

type validator struct{ errs []error }

func (v *validator) add(field, format string, args ...any) {
	v.errs = append(v.errs, &FieldError{Field: field, Problem: fmt.Sprintf(format, args...)})
}

// validName is the shape of every name a policy defines (kinds, statuses,
// categories, severities, actions): they travel in URLs, JSON and messages.
func validName(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for _, c := range []byte(s) {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

const nameRule = "must be 1 to 32 characters of a-z, 0-9 and _"

// names checks a non-empty list of unique valid names.
func (v *validator) names(field string, names []string) {
	if len(names) == 0 {
		v.add(field, "must not be empty")
	}
	for i, n := range names {
		f := fmt.Sprintf("%s[%d]", field, i)
		if !validName(n) {
			v.add(f, "%q %s", n, nameRule)
		} else if slices.Contains(names[:i], n) {
			v.add(f, "%q is listed twice", n)
		}
	}
}

// limit checks a report time limit: whole seconds, positive, at most
// MaxLimit.
func (v *validator) limit(field string, d Duration) {
	switch {
	case d <= 0:
		v.add(field, "must be positive, got %s", d)
	case d.D()%time.Second != 0:
		v.add(field, "must be whole seconds, got %s", d)
	case d.D() > MaxLimit:
		v.add(field, "must be at most %s, got %s", Duration(MaxLimit), d)
	}
}

func (v *validator) reports(r *Reports) {
	if len(r.Kinds) == 0 {
		v.add("reports.kinds", "must not be empty")
	}
	for i, k := range r.Kinds {
		f := fmt.Sprintf("reports.kinds[%d]", i)
		if !validName(k.Name) {
			v.add(f+".name", "%q %s", k.Name, nameRule)
		} else if slices.ContainsFunc(r.Kinds[:i], func(o ReportKind) bool { return o.Name == k.Name }) {
			v.add(f+".name", "%q is listed twice", k.Name)
		}
		v.limit(f+".due", k.Due)
		if k.Escalate != 0 {
			v.limit(f+".escalate", k.Escalate)
			if k.Due > 0 && k.Escalate <= k.Due {
				v.add(f+".escalate", "must be later than due (%s), got %s", k.Due, k.Escalate)
			}
		}
	}
	for _, id := range sortedKeys(r.Villages) {
		vf := fmt.Sprintf("reports.villages[%q]", id)
		if id == "" || len(id) > 64 {
			v.add(vf, "village id must be 1 to 64 characters")
		}
		for _, kind := range sortedKeys(r.Villages[id]) {
			o := r.Villages[id][kind]
			f := fmt.Sprintf("%s[%q]", vf, kind)
			base, ok := (Policy{Reports: *r}).reportKind(kind)
			if !ok {
				v.add(f, "unknown report kind %q", kind)
				continue
			}
			if o.Due == 0 && o.Escalate == 0 && o.County == 0 {
				v.add(f, "overrides neither due nor escalate nor county")
				continue
			}
			if o.Due != 0 {
				v.limit(f+".due", o.Due)
			}
			if o.Escalate != 0 {
				v.limit(f+".escalate", o.Escalate)
			}
			// The limits in force in that village, the kind's filling in.
			due, esc := base.Due, base.Escalate
			if o.Due != 0 {
				due = o.Due
			}
			if o.Escalate != 0 {
				esc = o.Escalate
			}
			if esc != 0 && due > 0 && esc <= due {
				v.add(f+".escalate", "must be later than due (%s) in this village, got %s", due, esc)
			}
		}
	}
	v.stateMachine(r)
}

// stateMachine checks the report statuses and their transitions: known
// statuses only, no self-loop, no cycle, all reachable from the initial one.
func (v *validator) stateMachine(r *Reports) {
	v.names("reports.statuses", r.Statuses)
	known := func(s string) bool { return slices.Contains(r.Statuses, s) }
	if !known(r.Initial) {
		v.add("reports.initial", "%q is not one of reports.statuses", r.Initial)
	}
	bad := false
	for _, from := range sortedKeys(r.Transitions) {
		f := fmt.Sprintf("reports.transitions[%q]", from)
		if !known(from) {
			v.add(f, "%q is not one of reports.statuses", from)
			bad = true
			continue
		}
		tos := r.Transitions[from]
		for i, to := range tos {
			ff := fmt.Sprintf("%s[%d]", f, i)
			switch {
			case !known(to):
				v.add(ff, "%q is not one of reports.statuses", to)
				bad = true
			case to == from:
				v.add(ff, "a status does not move to itself (staying is always allowed)")
				bad = true
			case slices.Contains(tos[:i], to):
				v.add(ff, "%q is listed twice", to)
			}
		}
	}
	if bad {
		return // cycles and reachability only make sense over known statuses
	}
	if c := findCycle(r.Statuses, r.Transitions); c != nil {
		v.add("reports.transitions", "a report must only move forward, but %s is a cycle", strings.Join(c, " -> "))
		return
	}
	if known(r.Initial) {
		seen := map[string]bool{r.Initial: true}
		queue := []string{r.Initial}
		for len(queue) > 0 {
			s := queue[0]
			queue = queue[1:]
			for _, to := range r.Transitions[s] {
				if !seen[to] {
					seen[to] = true
					queue = append(queue, to)
				}
			}
		}
		for i, s := range r.Statuses {
			if !seen[s] {
				v.add(fmt.Sprintf("reports.statuses[%d]", i), "%q cannot be reached from %q", s, r.Initial)
			}
		}
	}
}

// findCycle returns a cycle of the graph (first status repeated last), or
// nil. Kahn's algorithm removes every status no edge leads to; what remains
// has, each, an edge from another remaining status, so walking those edges
// backwards must come round.
func findCycle(statuses []string, edges map[string][]string) []string {
	indeg := make(map[string]int, len(statuses))
	for _, s := range statuses {
		indeg[s] += 0
	}
	for _, tos := range edges {
		for _, to := range tos {
			indeg[to]++
		}
	}
	var queue []string
	for _, s := range sortedKeys(indeg) { // each status once, however often listed
		if indeg[s] == 0 {
			queue = append(queue, s)
		}
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		delete(indeg, s)
		for _, to := range edges[s] {
			if indeg[to]--; indeg[to] == 0 {
				queue = append(queue, to)
			}
		}
	}
	if len(indeg) == 0 {
		return nil
	}
	pred := make(map[string]string, len(indeg))
	for _, from := range sortedKeys(edges) {
		if _, ok := indeg[from]; !ok {
			continue
		}
		for _, to := range edges[from] {
			if _, ok := indeg[to]; ok {
				if _, set := pred[to]; !set {
					pred[to] = from
				}
			}
		}
	}
	start := sortedKeys(indeg)[0]
	var walk []string
	at := map[string]int{}
	for s := start; ; s = pred[s] {
		if _, ok := indeg[s]; !ok {
			return sortedKeys(indeg) // cannot happen; name the statuses left
		}
		if i, ok := at[s]; ok {
			c := walk[i:]
			slices.Reverse(c)
			return append(c, c[0])
		}
		at[s] = len(walk)
		walk = append(walk, s)
	}
}

func (v *validator) alerts(a *Alerts) {
	v.names("alerts.kinds", a.Kinds)
	if len(a.Severities) == 0 {
		v.add("alerts.severities", "must not be empty")
	}
	for i, s := range a.Severities {
		f := fmt.Sprintf("alerts.severities[%d]", i)
		if !validName(s.Name) {
			v.add(f+".name", "%q %s", s.Name, nameRule)
		} else if slices.ContainsFunc(a.Severities[:i], func(o Severity) bool { return o.Name == s.Name }) {
			v.add(f+".name", "%q is listed twice", s.Name)
		}
		if s.Rank < 1 {
			v.add(f+".rank", "must be at least 1, got %d", s.Rank)
		} else if slices.ContainsFunc(a.Severities[:i], func(o Severity) bool { return o.Rank == s.Rank }) {
			v.add(f+".rank", "rank %d is given twice", s.Rank)
		}
	}
	if a.DefaultTTL <= 0 {
		v.add("alerts.default_ttl", "must be positive, got %s", a.DefaultTTL)
	}
	if a.MaxTTL < a.DefaultTTL || a.MaxTTL <= 0 {
		v.add("alerts.max_ttl", "must be positive and at least default_ttl (%s), got %s", a.DefaultTTL, a.MaxTTL)
	}
	if a.MaxSMSFallback < 0 || a.MaxSMSFallback.D()%time.Second != 0 {
		v.add("alerts.max_sms_fallback", "must be whole seconds, zero or more, got %s", a.MaxSMSFallback)
	}
	if a.VoiceExtreme < 0 || a.VoiceExtreme.D()%time.Second != 0 || a.VoiceExtreme.D() > a.VoiceMax() {
		v.add("alerts.voice_extreme", "must be whole seconds, zero or more, at most max_voice_after, got %s", a.VoiceExtreme)
	}
	if a.MaxVoiceAfter < 0 || a.MaxVoiceAfter.D()%time.Second != 0 {
		v.add("alerts.max_voice_after", "must be whole seconds, zero or more, got %s", a.MaxVoiceAfter)
	}
}

func (v *validator) limits(field string, limits map[string]Rate) {
	for _, action := range sortedKeys(limits) {
		r := limits[action]
		f := fmt.Sprintf("%s[%q]", field, action)
		if !validName(action) {
			v.add(f, "action %s", nameRule)
		}
		if r.Every <= 0 {
			v.add(f+".every", "must be positive, got %s", r.Every)
		}
		if r.Burst < 1 {
			v.add(f+".burst", "must be at least 1, got %d", r.Burst)
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
