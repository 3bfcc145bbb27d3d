// Package policy holds the hub's rules as data: report kinds and their time
// limits (per kind, overridable per village), the report state machine,
// bulletin categories, alert kinds, severities and expiry limits, and the
// per-action rate limits.
//
// It is pure: no I/O, no goroutines and no clock of its own. Callers pass
// the time (read from their injected clock), so a deadline computed here is
// the same in production, in a test and in a drill. A Policy is a value that
// travels as JSON (it is stored, and served and replaced at
// GET/PUT /api/v1/policy), which is why every field has an explicit tag.
//
// Default returns the rules the hub had hard-coded before they became data;
// its tests pin every number to the code it came from. A Policy that passed
// Validate is safe to use from many goroutines as long as nobody mutates it:
// to change the rules, build a new Policy, validate it and swap it in whole
// (for example behind an atomic.Pointer).
package policy

import "time"

// Policy is the whole rule set. The zero value is not valid; start from
// Default.
type Policy struct {
	Reports   Reports   `json:"reports"`
	Bulletins Bulletins `json:"bulletins"`
	Alerts    Alerts    `json:"alerts"`
	// Limits are the token-bucket rate limits per member and action
	// (ActionReport, ActionMedia, ActionLocate, ActionAlert, ...; the
	// WebSocket's ActionCommand and ActionResume count per connection). An
	// action without an entry is not limited.
	Limits map[string]Rate `json:"limits"`
	// RoleLimits override Limits for the members of a role: role, then
	// action (commanders and admins may send alerts faster than cadres).
	RoleLimits map[string]map[string]Rate `json:"role_limits,omitempty"`
	// Letters are the mailbox's time limits (v1.6, policy/letters.go).
	Letters Letters `json:"letters"`
	// Handling is how reports are handled past their limits (v1.6,
	// handling.go).
	Handling Handling `json:"handling,omitzero"`
	// Credit: household inspections, boards and credit points (v1.6, credit.go).
	Credit Credit `json:"credit,omitzero"`
	// Patrol are the rules of patrol rounds and visits (patrol.go, v1.6).
	Patrol Patrol `json:"patrol"`
	// live, when set (MakeLive), holds the rules in force (live.go).
	live *live
}

// Reports are the rules of villagers' reports.
type Reports struct {
	// Kinds are the report kinds in the order the contract lists them
	// (error messages list them in this order), each with its time limits.
	Kinds []ReportKind `json:"kinds"`
	// Villages overrides time limits per village id, then per kind. A zero
	// field in an override keeps the kind's value, so a village can shorten
	// only the first limit.
	Villages map[string]map[string]TimeLimits `json:"villages,omitempty"`
	// Statuses are the report statuses in the order the contract lists them.
	Statuses []string `json:"statuses"`
	// Initial is the status of a new report.
	Initial string `json:"initial"`
	// Transitions lists, per status, the statuses a report may move to. A
	// status without an entry is final. Staying in the same status (to
	// change the feedback) is always allowed and is not listed. The graph
	// must have no cycle: a report only moves forward.
	Transitions map[string][]string `json:"transitions"`
}

// ReportKind is one kind of report with its time limits.
type ReportKind struct {
	Name string `json:"name"`
	TimeLimits
}

// TimeLimits are the time limits of a report, counted from its creation.
type TimeLimits struct {
	// Due is the first limit: the report's due_at. Past it the report is
	// overdue and its handlers are reminded.
	Due Duration `json:"due,omitzero"`
	// Escalate, when set, is the second limit: a report still open then
	// goes up a level (village to township). Zero means no escalation. It
	// must be later than Due.
	Escalate Duration `json:"escalate,omitzero"`
	// County, when set, is the third limit (v1.6): a report still open
	// then goes up from the township to the county. Zero means it stays
	// with the township. It must be later than Escalate.
	County Duration `json:"county,omitzero"`
}

// Bulletins are the rules of public notices.
type Bulletins struct {
	// Categories in the order the contract lists them.
	Categories []string `json:"categories"`
}

// Alerts are the rules of alerts.
type Alerts struct {
	// Kinds in the order the contract lists them.
	Kinds []string `json:"kinds"`
	// Severities as CAP 1.2, most severe first. The rank orders them (and
	// is the SMS priority): higher is more severe.
	Severities []Severity `json:"severities"`
	// DefaultTTL is how long an alert without expires_at stays active.
	DefaultTTL Duration `json:"default_ttl"`
	// MaxTTL is how far ahead expires_at may be.
	MaxTTL Duration `json:"max_ttl"`
	// MaxSMSFallback is the largest sms_fallback_after_s (the contract's
	// field is in seconds).
	MaxSMSFallback Duration `json:"max_sms_fallback"`
	// VoiceExtreme is the voice_after_s of an extreme alert with SMS
	// fallback that does not say (issue 12): members who have not answered
	// this long after their SMS was due are called. Zero means no call by
	// default.
	VoiceExtreme Duration `json:"voice_extreme,omitzero"`
	// MaxVoiceAfter is the largest voice_after_s. Zero means
	// MaxSMSFallback.
	MaxVoiceAfter Duration `json:"max_voice_after,omitzero"`
}

// VoiceMax is the largest voice_after_s (MaxVoiceAfter, or MaxSMSFallback
// when that is zero).
func (a *Alerts) VoiceMax() time.Duration {
	if a.MaxVoiceAfter > 0 {
		return a.MaxVoiceAfter.D()
	}
	return a.MaxSMSFallback.D()
}

// Severity is an alert severity and its rank.
type Severity struct {
	Name string `json:"name"`
	Rank int    `json:"rank"`
}

// Rate is a token bucket: one event every Every, up to Burst at once.
type Rate struct {
	Every Duration `json:"every"`
	Burst int      `json:"burst"`
}

// Actions limited per member in Default.
const (
	ActionReport = "report" // creating a report (HTTP or WebSocket)
	ActionMedia  = "media"  // uploading a photo
	ActionLocate = "locate" // sharing a live position
	ActionAlert  = "alert"  // sending an alert
	// ActionCommand is any command on a WebSocket, counted per connection.
	ActionCommand = "command"
	// ActionResume is a resume (it reads the event log), counted per
	// connection on top of ActionCommand.
	ActionResume = "resume"
)

// Report statuses of the contract (the same strings as storage's).
const (
	StatusNew        = "new"
	StatusAccepted   = "accepted"
	StatusInProgress = "in_progress"
	StatusResolved   = "resolved"
	StatusRejected   = "rejected"
)

// Default returns the rules the hub has always applied (docs/API.md,
// "Additions to v1"): hazards to life within 30 minutes, freeze and road
// within 2 hours, water within 4, the rest within a day, no escalation and
// no village override. Each call returns a fresh copy the caller may change.
func Default() Policy {
	kind := func(name string, due time.Duration) ReportKind {
		return ReportKind{Name: name, TimeLimits: TimeLimits{Due: Duration(due)}}
	}
	return Policy{
		Reports: Reports{
			Kinds: []ReportKind{
				kind("flood", 30*time.Minute),
				kind("fire", 30*time.Minute),
				kind("landslide", 30*time.Minute),
				kind("freeze", 2*time.Hour),
				kind("road", 2*time.Hour),
				kind("water", 4*time.Hour),
				kind("sanitation", 24*time.Hour),
				kind("dispute", 24*time.Hour),
				kind("other", 24*time.Hour),
			},
			Statuses: []string{StatusNew, StatusAccepted, StatusInProgress, StatusResolved, StatusRejected},
			Initial:  StatusNew,
			Transitions: map[string][]string{
				StatusNew:        {StatusAccepted, StatusInProgress, StatusResolved, StatusRejected},
				StatusAccepted:   {StatusInProgress, StatusResolved, StatusRejected},
				StatusInProgress: {StatusResolved, StatusRejected},
			},
		},
		Bulletins: Bulletins{
			Categories: []string{"village_affairs", "party_affairs", "finance", "jobs", "notice", "other"},
		},
		Alerts: Alerts{
			Kinds: []string{"warning", "mobilization", "all_clear"},
			Severities: []Severity{
				{Name: "extreme", Rank: 4},
				{Name: "severe", Rank: 3},
				{Name: "moderate", Rank: 2},
				{Name: "minor", Rank: 1},
			},
			DefaultTTL:     Duration(24 * time.Hour),
			MaxTTL:         Duration(7 * 24 * time.Hour),
			MaxSMSFallback: Duration(24 * time.Hour),
			VoiceExtreme:   Duration(300 * time.Second),
			MaxVoiceAfter:  Duration(24 * time.Hour),
		},
		Handling: defaultHandling(),
		Limits: map[string]Rate{
			ActionReport: {Every: Duration(2 * time.Second), Burst: 10},
			ActionMedia:  {Every: Duration(time.Second), Burst: 20},
			ActionLocate: {Every: Duration(200 * time.Millisecond), Burst: 20},
			// v1.4 (issue 13): a cadre sent 40 alerts in 0.7 s; one
			// connection stored 16,000 answers in 8 s; a resume flood
			// took a core.
			ActionAlert:   {Every: Duration(6 * time.Second), Burst: 5},        // 10 a minute
			ActionCommand: {Every: Duration(50 * time.Millisecond), Burst: 40}, // 20 a second
			ActionResume:  {Every: Duration(5 * time.Second), Burst: 3},
		},
		RoleLimits: map[string]map[string]Rate{
			// The county command center runs a flood: 60 alerts a minute.
			"commander": {ActionAlert: {Every: Duration(time.Second), Burst: 30}},
			"admin":     {ActionAlert: {Every: Duration(time.Second), Burst: 30}},
		},
		Letters: DefaultLetters(),
		Credit:  DefaultCredit(),
		Patrol:  DefaultPatrol(),
	}
}
