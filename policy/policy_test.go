package policy

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

var update = flag.Bool("update", false, "rewrite testdata/default.json from Default()")

// The tables below are copied, value by value, from the hub as it was when
// the rules became data (commit 3626054). They are the reference Default
// must reproduce; do not edit them to make a test pass.

// hubReportKinds: hub/reports.go, var reportKinds.
var hubReportKinds = map[string]time.Duration{
	"flood": 30 * time.Minute, "fire": 30 * time.Minute, "landslide": 30 * time.Minute,
	"freeze": 2 * time.Hour, "road": 2 * time.Hour, "water": 4 * time.Hour,
	"sanitation": 24 * time.Hour, "dispute": 24 * time.Hour, "other": 24 * time.Hour,
}

// hubReportKindOrder: hub/reports.go's "kind must be one of ..." message and
// docs/API.md's WebSocket `report` command.
var hubReportKindOrder = []string{"flood", "fire", "landslide", "freeze", "road", "water", "sanitation", "dispute", "other"}

// hubStatuses: storage/storage.go ReportNew ... ReportRejected, in
// hub/reports.go validReportStatus's order.
var hubStatuses = []string{"new", "accepted", "in_progress", "resolved", "rejected"}

// hubTransitions: hub/reports.go, var reportTransitions (and
// handleUpdateReport, which lets a report stay in its status).
var hubTransitions = map[string][]string{
	"new":         {"accepted", "in_progress", "resolved", "rejected"},
	"accepted":    {"in_progress", "resolved", "rejected"},
	"in_progress": {"resolved", "rejected"},
}

// hubCategories: hub/bulletins.go, var bulletinCategories.
var hubCategories = []string{"village_affairs", "party_affairs", "finance", "jobs", "notice", "other"}

// hubAlertKinds, hubSeverities, TTLs and SMS fallback: hub/alerts.go.
var (
	hubAlertKinds  = []string{"warning", "mobilization", "all_clear"}
	hubSeverities  = map[string]int{"extreme": 4, "severe": 3, "moderate": 2, "minor": 1}
	hubDefaultTTL  = 24 * time.Hour
	hubMaxTTL      = 7 * 24 * time.Hour
	hubMaxSMSFallS = 24 * 3600 // seconds
)

// hubLimits: hub/limiter.go, var actionLimits.
var hubLimits = map[string]struct {
	every time.Duration
	burst int
}{
	"report": {2 * time.Second, 10},
	"media":  {time.Second, 20},
	"locate": {200 * time.Millisecond, 20},
	// v1.4 (issue 13), new with the policy: no hub code had them.
	"alert":   {6 * time.Second, 5},
	"command": {50 * time.Millisecond, 40},
	"resume":  {5 * time.Second, 3},
}

var t0 = time.Date(2026, 7, 1, 8, 0, 0, 0, time.UTC)

func TestDefaultIsValid(t *testing.T) {
	t.Parallel()
	if err := Default().Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
}

func TestDefaultReportKinds(t *testing.T) {
	t.Parallel()
	p := Default()
	if got := p.ReportKindNames(); !slices.Equal(got, hubReportKindOrder) {
		t.Fatalf("kinds = %v, want %v", got, hubReportKindOrder)
	}
	if len(p.Reports.Villages) != 0 {
		t.Errorf("Default has village overrides: %v", p.Reports.Villages)
	}
	for kind, sla := range hubReportKinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			if !p.ValidReportKind(kind) {
				t.Fatalf("ValidReportKind(%q) = false", kind)
			}
			for _, village := range []string{"", "v_any"} {
				if got, want := p.DueAt(kind, village, t0), t0.Add(sla); !got.Equal(want) {
					t.Errorf("DueAt(%q, %q) = %v, want %v", kind, village, got, want)
				}
				if got := p.EscalateAt(kind, village, t0); !got.IsZero() {
					t.Errorf("EscalateAt(%q, %q) = %v, want none (the hub never escalated)", kind, village, got)
				}
			}
		})
	}
	for _, bad := range []string{"", "Flood", "earthquake", "flood "} {
		if p.ValidReportKind(bad) {
			t.Errorf("ValidReportKind(%q) = true", bad)
		}
		if got := p.DueAt(bad, "", t0); !got.IsZero() {
			t.Errorf("DueAt(%q) = %v, want zero", bad, got)
		}
	}
}

func TestDefaultTransitions(t *testing.T) {
	t.Parallel()
	p := Default()
	if !slices.Equal(p.Reports.Statuses, hubStatuses) || p.Reports.Initial != "new" {
		t.Fatalf("statuses %v initial %q, want %v and new", p.Reports.Statuses, p.Reports.Initial, hubStatuses)
	}
	for _, from := range hubStatuses {
		for _, to := range hubStatuses {
			want := from == to || slices.Contains(hubTransitions[from], to)
			if got := p.CanMove(from, to); got != want {
				t.Errorf("CanMove(%s, %s) = %v, want %v", from, to, got, want)
			}
			err := p.Transition(from, to)
			if want != (err == nil) {
				t.Errorf("Transition(%s, %s) = %v, want allowed=%v", from, to, err, want)
			}
			if err != nil && !errors.Is(err, ErrNotAllowed) {
				t.Errorf("Transition(%s, %s) = %v, want ErrNotAllowed", from, to, err)
			}
		}
	}
	for _, s := range []string{"resolved", "rejected"} {
		if !p.Final(s) {
			t.Errorf("Final(%s) = false", s)
		}
	}
	// The message of today's 409.
	if err := p.Transition("resolved", "new"); err == nil || err.Error() != "a resolved report cannot become new" {
		t.Errorf("Transition(resolved, new) = %v", err)
	}
	var te *TransitionError
	if err := p.Transition("new", "done"); !errors.Is(err, ErrUnknownStatus) || !errors.As(err, &te) || te.To != "done" {
		t.Errorf("Transition(new, done) = %v, want ErrUnknownStatus", err)
	}
	if p.CanMove("bogus", "bogus") {
		t.Error("CanMove(bogus, bogus) = true")
	}
}

func TestDefaultCategoriesAndAlerts(t *testing.T) {
	t.Parallel()
	p := Default()
	if !slices.Equal(p.Bulletins.Categories, hubCategories) {
		t.Errorf("categories = %v, want %v", p.Bulletins.Categories, hubCategories)
	}
	for _, c := range hubCategories {
		if !p.ValidCategory(c) {
			t.Errorf("ValidCategory(%q) = false", c)
		}
	}
	if p.ValidCategory("news") {
		t.Error("ValidCategory(news) = true")
	}
	if !slices.Equal(p.Alerts.Kinds, hubAlertKinds) {
		t.Errorf("alert kinds = %v, want %v", p.Alerts.Kinds, hubAlertKinds)
	}
	if len(p.Alerts.Severities) != len(hubSeverities) {
		t.Errorf("severities = %v, want %v", p.Alerts.Severities, hubSeverities)
	}
	for s, rank := range hubSeverities {
		if got := p.SeverityRank(s); got != rank {
			t.Errorf("SeverityRank(%q) = %d, want %d", s, got, rank)
		}
	}
	if got := p.SeverityRank("catastrophic"); got != 0 {
		t.Errorf("SeverityRank(unknown) = %d, want 0", got)
	}
	// Most severe first: "severity must be extreme, severe, moderate or minor".
	if !slices.IsSortedFunc(p.Alerts.Severities, func(a, b Severity) int { return b.Rank - a.Rank }) {
		t.Errorf("severities not most severe first: %v", p.Alerts.Severities)
	}
	a := p.Alerts
	if a.DefaultTTL.D() != hubDefaultTTL || a.MaxTTL.D() != hubMaxTTL || a.MaxSMSFallback.D() != time.Duration(hubMaxSMSFallS)*time.Second {
		t.Errorf("TTL %s max %s sms %s, want %s %s %ds", a.DefaultTTL, a.MaxTTL, a.MaxSMSFallback, hubDefaultTTL, hubMaxTTL, hubMaxSMSFallS)
	}
}

func TestDefaultLimits(t *testing.T) {
	t.Parallel()
	p := Default()
	if len(p.Limits) != len(hubLimits) {
		t.Errorf("limits = %v, want the actions of %v", p.Limits, hubLimits)
	}
	for action, want := range hubLimits {
		perSecond, burst := p.Limit(action)
		// Exactly the limiter the hub built: rate.Every(every), burst.
		if rate.Limit(perSecond) != rate.Every(want.every) || burst != want.burst {
			t.Errorf("Limit(%q) = %v/s burst %d, want %v/s burst %d", action, perSecond, burst, rate.Every(want.every), want.burst)
		}
	}
	// Unlimited actions behave as the hub's: always allowed.
	perSecond, burst := p.Limit("no_such_action")
	if lim := rate.NewLimiter(rate.Limit(perSecond), burst); !lim.AllowN(t0, 1000) {
		t.Errorf("Limit(unknown) = %v, %d: a limiter from it refuses", perSecond, burst)
	}
}

func TestVillageOverrideWins(t *testing.T) {
	t.Parallel()
	p := Default()
	p.Reports.Kinds[1].Escalate = Duration(2 * time.Hour) // fire
	p.Reports.Villages = map[string]map[string]TimeLimits{
		"v_hill": {
			"fire":  {Due: Duration(10 * time.Minute)},
			"water": {Due: Duration(90 * time.Second), Escalate: Duration(5 * time.Minute)},
		},
		"v_lake": {"fire": {Escalate: Duration(45 * time.Minute)}},
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		kind, village string
		due, escalate time.Duration // escalate 0: none
	}{
		{"fire", "v_hill", 10 * time.Minute, 2 * time.Hour},     // due overridden, escalate the kind's
		{"fire", "v_lake", 30 * time.Minute, 45 * time.Minute},  // escalate overridden, due the kind's
		{"fire", "v_other", 30 * time.Minute, 2 * time.Hour},    // no override
		{"fire", "", 30 * time.Minute, 2 * time.Hour},           // no village
		{"water", "v_hill", 90 * time.Second, 5 * time.Minute},  // seconds, both overridden
		{"water", "v_lake", 4 * time.Hour, 0},                   // other village's override does not leak
		{"flood", "v_hill", 30 * time.Minute, 0},                // other kinds untouched
		{"water", "V_HILL", 4 * time.Hour, 0},                   // ids are exact
		{"fire", "v_hill\x00", 30 * time.Minute, 2 * time.Hour}, // ids are exact
	}
	for _, tt := range tests {
		if got := p.DueAt(tt.kind, tt.village, t0); !got.Equal(t0.Add(tt.due)) {
			t.Errorf("DueAt(%q, %q) = +%v, want +%v", tt.kind, tt.village, got.Sub(t0), tt.due)
		}
		got := p.EscalateAt(tt.kind, tt.village, t0)
		switch {
		case tt.escalate == 0 && !got.IsZero():
			t.Errorf("EscalateAt(%q, %q) = +%v, want none", tt.kind, tt.village, got.Sub(t0))
		case tt.escalate != 0 && !got.Equal(t0.Add(tt.escalate)):
			t.Errorf("EscalateAt(%q, %q) = %v, want +%v", tt.kind, tt.village, got, tt.escalate)
		}
	}
}

func TestJSONRoundTrip(t *testing.T) {
	t.Parallel()
	withOverrides := Default()
	withOverrides.Reports.Kinds[0].Escalate = Duration(time.Hour + 30*time.Second)
	withOverrides.Reports.Villages = map[string]map[string]TimeLimits{"v_1": {"flood": {Due: Duration(5 * time.Second)}}}
	withOverrides.Limits["alert"] = Rate{Every: Duration(10 * time.Second), Burst: 3}
	withOverrides.RoleLimits["cadre"] = map[string]Rate{"alert": {Every: Duration(time.Minute), Burst: 1}}
	for name, p := range map[string]Policy{"default": Default(), "overrides": withOverrides} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b, err := json.Marshal(p)
			if err != nil {
				t.Fatal(err)
			}
			var back Policy
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatalf("unmarshal %s: %v", b, err)
			}
			if !reflect.DeepEqual(back, p) {
				t.Fatalf("round trip changed the policy:\n got %+v\nwant %+v\njson %s", back, p, b)
			}
			if err := back.Validate(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestDefaultJSON pins the wire shape GET /api/v1/policy will serve
// (testdata/default.json; go test -update rewrites it).
func TestDefaultJSON(t *testing.T) {
	t.Parallel()
	got, err := json.MarshalIndent(Default(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", "default.json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("Default() JSON differs from %s (run with -update if intended):\n%s", path, got)
	}
	var back Policy
	if err := json.Unmarshal(want, &back); err != nil || !reflect.DeepEqual(back, Default()) {
		t.Errorf("%s does not decode to Default(): %v", path, err)
	}
}

func TestDurationJSON(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		d    time.Duration
		json string
	}{
		{0, `"0s"`},
		{45 * time.Second, `"45s"`},
		{30 * time.Minute, `"30m"`},
		{24 * time.Hour, `"24h"`},
		{168 * time.Hour, `"168h"`},
		{time.Hour + 30*time.Minute + 5*time.Second, `"1h30m5s"`},
		{200 * time.Millisecond, `"200ms"`},
		{1500 * time.Millisecond, `"1.5s"`},
		{-time.Minute, `"-1m0s"`},
	} {
		b, err := json.Marshal(Duration(tt.d))
		if err != nil || string(b) != tt.json {
			t.Errorf("Marshal(%v) = %s, %v; want %s", tt.d, b, err, tt.json)
		}
		var d Duration
		if err := json.Unmarshal(b, &d); err != nil || d.D() != tt.d {
			t.Errorf("Unmarshal(%s) = %v, %v; want %v", b, d, err, tt.d)
		}
	}
	for _, bad := range []string{`1800`, `"30 minutes"`, `""`, `"1d"`, `true`, `{}`} {
		var d Duration
		if err := json.Unmarshal([]byte(bad), &d); err == nil {
			t.Errorf("Unmarshal(%s) = %v, want an error", bad, d)
		}
	}
	d := Duration(time.Minute)
	if err := json.Unmarshal([]byte(`null`), &d); err != nil || d.D() != time.Minute {
		t.Errorf("Unmarshal(null) = %v, %v; want unchanged", d, err)
	}
}

// TestRoleLimits: a role's override wins for its members only; other roles
// and other actions keep Limits; a bad override is named.
func TestRoleLimits(t *testing.T) {
	t.Parallel()
	p := Default()
	for _, tc := range []struct {
		action, role string
		every        time.Duration
		burst        int
	}{
		{"alert", "cadre", 6 * time.Second, 5},
		{"alert", "commander", time.Second, 30},
		{"alert", "admin", time.Second, 30},
		{"report", "commander", 2 * time.Second, 10},
	} {
		perSecond, burst := p.LimitFor(tc.action, tc.role)
		if rate.Limit(perSecond) != rate.Every(tc.every) || burst != tc.burst {
			t.Errorf("LimitFor(%q, %q) = %v/s burst %d, want %v/s burst %d", tc.action, tc.role, perSecond, burst, rate.Every(tc.every), tc.burst)
		}
	}
	p.RoleLimits["Cadre!"] = map[string]Rate{"alert": {Every: 0, Burst: 0}}
	err := p.Validate()
	for _, want := range []string{`role_limits["Cadre!"]: role must be`, `role_limits["Cadre!"]["alert"].every`, `role_limits["Cadre!"]["alert"].burst`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want a problem %q", err, want)
		}
	}
}
