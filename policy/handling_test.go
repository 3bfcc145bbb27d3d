package policy

import (
	"strings"
	"testing"
	"time"
)

// TestHandlingValidate: the county limit comes after escalate (kinds and
// village overrides, the kind filling in), the SMS delay is not negative
// and whole seconds, the village radius in range.
func TestHandlingValidate(t *testing.T) {
	t.Parallel()
	h := func(n int) Duration { return Duration(time.Duration(n) * time.Hour) }
	tests := []struct {
		name  string
		edit  func(p *Policy)
		field string // "" valid
		in    string
	}{
		{"county after escalate", func(p *Policy) { p.Reports.Kinds[0].Escalate, p.Reports.Kinds[0].County = h(4), h(24) }, "", ""},
		{"county without escalate", func(p *Policy) { p.Reports.Kinds[0].County = h(24) }, "reports.kinds[0].county", "escalate"},
		{"county at escalate", func(p *Policy) { p.Reports.Kinds[1].Escalate, p.Reports.Kinds[1].County = h(4), h(4) }, "reports.kinds[1].county", "later than escalate"},
		{"county under a second", func(p *Policy) {
			p.Reports.Kinds[0].Escalate, p.Reports.Kinds[0].County = h(4), Duration(4*time.Hour+time.Millisecond)
		}, "reports.kinds[0].county", "whole seconds"},
		{"override county only", func(p *Policy) {
			p.Reports.Kinds[0].Escalate = h(4)
			p.Reports.Villages = map[string]map[string]TimeLimits{"v_1": {"flood": {County: h(8)}}}
		}, "", ""},
		{"override county before the kind's escalate", func(p *Policy) {
			p.Reports.Kinds[0].Escalate = h(4)
			p.Reports.Villages = map[string]map[string]TimeLimits{"v_1": {"flood": {County: h(2)}}}
		}, `reports.villages["v_1"]["flood"].county`, "later than escalate (4h)"},
		{"negative SMS delay", func(p *Policy) { p.Handling.SMSDelay = -Duration(time.Minute) }, "handling.sms_delay", "negative"},
		{"SMS delay under a second", func(p *Policy) { p.Handling.SMSDelay = Duration(1500 * time.Millisecond) }, "handling.sms_delay", "whole seconds"},
		{"zero SMS delay", func(p *Policy) { p.Handling.SMSDelay = 0 }, "", ""},
		{"radius negative", func(p *Policy) { p.Handling.VillageRadiusM = -1 }, "handling.village_radius_m", "0 to"},
		{"radius too far", func(p *Policy) { p.Handling.VillageRadiusM = 200_000 }, "handling.village_radius_m", "0 to"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := Default()
			tc.edit(&p)
			err := p.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			for _, fe := range fieldErrors(err) {
				if fe.Field == tc.field && strings.Contains(fe.Problem, tc.in) {
					return
				}
			}
			t.Fatalf("Validate() = %v, want %s: ...%s...", err, tc.field, tc.in)
		})
	}
}

// TestDeadlinesOf: the steps of a report from its kind's limits, the
// village's override and the SMS delay.
func TestDeadlinesOf(t *testing.T) {
	t.Parallel()
	p := Default()
	p.Reports.Kinds[0].TimeLimits = TimeLimits{Due: Duration(time.Hour), Escalate: Duration(4 * time.Hour), County: Duration(24 * time.Hour)}
	p.Reports.Villages = map[string]map[string]TimeLimits{"v_1": {p.Reports.Kinds[0].Name: {County: Duration(8 * time.Hour)}}}
	p.Handling.SMSDelay = Duration(30 * time.Minute)
	t0 := time.Date(2026, 7, 1, 8, 0, 0, 0, time.UTC)
	kind := p.Reports.Kinds[0].Name
	d := p.DeadlinesOf(kind, "v_2", t0)
	if !d.Due.Equal(t0.Add(time.Hour)) || !d.Remind.Equal(t0.Add(90*time.Minute)) ||
		!d.Escalate.Equal(t0.Add(4*time.Hour)) || !d.County.Equal(t0.Add(24*time.Hour)) {
		t.Errorf("DeadlinesOf(v_2) = %+v", d)
	}
	if d := p.DeadlinesOf(kind, "v_1", t0); !d.County.Equal(t0.Add(8 * time.Hour)) {
		t.Errorf("DeadlinesOf(v_1) county %v, want the override's 8h", d.County)
	}
	if d := p.DeadlinesOf("road", "v_1", t0); !d.Escalate.IsZero() || !d.County.IsZero() || d.Due.IsZero() {
		t.Errorf("DeadlinesOf(road) = %+v, want due only (and the reminder)", d)
	}
	if d := p.DeadlinesOf("nope", "v_1", t0); !d.Due.IsZero() {
		t.Errorf("DeadlinesOf(unknown) = %+v", d)
	}
	if r := (Handling{}).VillageRadius(); r != DefaultVillageRadiusM {
		t.Errorf("zero radius = %v", r)
	}
}
