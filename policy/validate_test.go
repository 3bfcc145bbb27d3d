package policy

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// fieldErrors unpacks Validate's joined error.
func fieldErrors(err error) []*FieldError {
	var out []*FieldError
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			out = append(out, fieldErrors(e)...)
		}
		return out
	}
	var fe *FieldError
	if errors.As(err, &fe) {
		out = append(out, fe)
	}
	return out
}

func TestValidateRejects(t *testing.T) {
	t.Parallel()
	min := func(n int) Duration { return Duration(time.Duration(n) * time.Minute) }
	tests := []struct {
		name  string
		edit  func(p *Policy)
		field string // the field the error must name
		in    string // and a word of its problem
	}{
		{"no report kinds", func(p *Policy) { p.Reports.Kinds = nil }, "reports.kinds", "empty"},
		{"kind without name", func(p *Policy) { p.Reports.Kinds[0].Name = "" }, "reports.kinds[0].name", "characters"},
		{"kind badly named", func(p *Policy) { p.Reports.Kinds[2].Name = "Land slide" }, "reports.kinds[2].name", "characters"},
		{"kind twice", func(p *Policy) { p.Reports.Kinds[3].Name = "flood" }, "reports.kinds[3].name", "twice"},
		{"zero due", func(p *Policy) { p.Reports.Kinds[4].Due = 0 }, "reports.kinds[4].due", "positive"},
		{"negative due", func(p *Policy) { p.Reports.Kinds[5].Due = -min(1) }, "reports.kinds[5].due", "positive"},
		{"due under a second", func(p *Policy) { p.Reports.Kinds[0].Due = Duration(1500 * time.Millisecond) }, "reports.kinds[0].due", "whole seconds"},
		{"due beyond a year", func(p *Policy) { p.Reports.Kinds[0].Due = Duration(400 * 24 * time.Hour) }, "reports.kinds[0].due", "at most"},
		{"escalate before due", func(p *Policy) { p.Reports.Kinds[0].Escalate = min(20) }, "reports.kinds[0].escalate", "later than due"},
		{"escalate at due", func(p *Policy) { p.Reports.Kinds[0].Escalate = min(30) }, "reports.kinds[0].escalate", "later than due"},
		{"negative escalate", func(p *Policy) { p.Reports.Kinds[0].Escalate = -min(60) }, "reports.kinds[0].escalate", "positive"},
		{"override of unknown kind", func(p *Policy) {
			p.Reports.Villages = map[string]map[string]TimeLimits{"v_1": {"earthquake": {Due: min(5)}}}
		}, `reports.villages["v_1"]["earthquake"]`, "unknown report kind"},
		{"override with empty village id", func(p *Policy) {
			p.Reports.Villages = map[string]map[string]TimeLimits{"": {"fire": {Due: min(5)}}}
		}, `reports.villages[""]`, "village id"},
		{"override setting nothing", func(p *Policy) {
			p.Reports.Villages = map[string]map[string]TimeLimits{"v_1": {"fire": {}}}
		}, `reports.villages["v_1"]["fire"]`, "neither"},
		{"override with negative due", func(p *Policy) {
			p.Reports.Villages = map[string]map[string]TimeLimits{"v_1": {"fire": {Due: -min(5)}}}
		}, `reports.villages["v_1"]["fire"].due`, "positive"},
		{"override escalating before the kind's due", func(p *Policy) {
			p.Reports.Villages = map[string]map[string]TimeLimits{"v_1": {"fire": {Escalate: min(10)}}}
		}, `reports.villages["v_1"]["fire"].escalate`, "later than due (30m)"},
		{"override due past the kind's escalation", func(p *Policy) {
			p.Reports.Kinds[1].Escalate = min(60)
			p.Reports.Villages = map[string]map[string]TimeLimits{"v_1": {"fire": {Due: min(90)}}}
		}, `reports.villages["v_1"]["fire"].escalate`, "later than due (1h30m)"},
		{"no statuses", func(p *Policy) { p.Reports.Statuses = nil }, "reports.statuses", "empty"},
		{"status twice", func(p *Policy) { p.Reports.Statuses = append(p.Reports.Statuses, "new") }, "reports.statuses[5]", "twice"},
		{"unknown initial", func(p *Policy) { p.Reports.Initial = "open" }, "reports.initial", "not one of"},
		{"transition from unknown", func(p *Policy) { p.Reports.Transitions["open"] = []string{"new"} }, `reports.transitions["open"]`, "not one of"},
		{"transition to unknown", func(p *Policy) {
			p.Reports.Transitions["accepted"] = []string{"in_progress", "done"}
		}, `reports.transitions["accepted"][1]`, "not one of"},
		{"transition to itself", func(p *Policy) {
			p.Reports.Transitions["accepted"] = []string{"accepted"}
		}, `reports.transitions["accepted"][0]`, "itself"},
		{"transition listed twice", func(p *Policy) {
			p.Reports.Transitions["in_progress"] = []string{"resolved", "resolved"}
		}, `reports.transitions["in_progress"][1]`, "twice"},
		{"backward move (cycle)", func(p *Policy) {
			p.Reports.Transitions["in_progress"] = []string{"resolved", "rejected", "accepted"}
		}, "reports.transitions", "in_progress -> accepted -> in_progress"},
		{"reopening (longer cycle)", func(p *Policy) {
			p.Reports.Transitions["resolved"] = []string{"new"}
		}, "reports.transitions", "cycle"},
		{"unreachable status", func(p *Policy) {
			p.Reports.Transitions["new"] = []string{"accepted"}
			p.Reports.Transitions["accepted"] = []string{"resolved"}
			p.Reports.Transitions["in_progress"] = []string{"rejected"}
		}, "reports.statuses[2]", `"in_progress" cannot be reached`},
		{"no categories", func(p *Policy) { p.Bulletins.Categories = []string{} }, "bulletins.categories", "empty"},
		{"category twice", func(p *Policy) { p.Bulletins.Categories[5] = "jobs" }, "bulletins.categories[5]", "twice"},
		{"category badly named", func(p *Policy) { p.Bulletins.Categories[0] = "村务" }, "bulletins.categories[0]", "characters"},
		{"no alert kinds", func(p *Policy) { p.Alerts.Kinds = nil }, "alerts.kinds", "empty"},
		{"no severities", func(p *Policy) { p.Alerts.Severities = nil }, "alerts.severities", "empty"},
		{"severity rank zero", func(p *Policy) { p.Alerts.Severities[3].Rank = 0 }, "alerts.severities[3].rank", "at least 1"},
		{"severity rank twice", func(p *Policy) { p.Alerts.Severities[1].Rank = 4 }, "alerts.severities[1].rank", "twice"},
		{"severity twice", func(p *Policy) { p.Alerts.Severities[2].Name = "minor" }, "alerts.severities[3].name", "twice"},
		{"zero default ttl", func(p *Policy) { p.Alerts.DefaultTTL = 0 }, "alerts.default_ttl", "positive"},
		{"max ttl under default", func(p *Policy) { p.Alerts.MaxTTL = Duration(time.Hour) }, "alerts.max_ttl", "at least default_ttl"},
		{"negative sms fallback", func(p *Policy) { p.Alerts.MaxSMSFallback = -1 }, "alerts.max_sms_fallback", "zero or more"},
		{"negative voice default", func(p *Policy) { p.Alerts.VoiceExtreme = -1 }, "alerts.voice_extreme", "zero or more"},
		{"voice default over max", func(p *Policy) { p.Alerts.VoiceExtreme = Duration(48 * time.Hour) }, "alerts.voice_extreme", "at most"},
		{"fractional voice max", func(p *Policy) { p.Alerts.MaxVoiceAfter = Duration(1500 * time.Millisecond) }, "alerts.max_voice_after", "whole seconds"},
		{"zero rate", func(p *Policy) { p.Limits["report"] = Rate{Burst: 10} }, `limits["report"].every`, "positive"},
		{"negative rate", func(p *Policy) { p.Limits["media"] = Rate{Every: -1, Burst: 1} }, `limits["media"].every`, "positive"},
		{"zero burst", func(p *Policy) { p.Limits["locate"] = Rate{Every: Duration(time.Second)} }, `limits["locate"].burst`, "at least 1"},
		{"action badly named", func(p *Policy) {
			p.Limits["Alert!"] = Rate{Every: Duration(time.Second), Burst: 1}
		}, `limits["Alert!"]`, "characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := Default()
			tt.edit(&p)
			err := p.Validate()
			if err == nil {
				t.Fatalf("Validate() = nil, want an error naming %s", tt.field)
			}
			for _, fe := range fieldErrors(err) {
				if fe.Field == tt.field && strings.Contains(fe.Problem, tt.in) {
					if !strings.Contains(err.Error(), "policy: "+tt.field+": ") {
						t.Errorf("message %q does not name %s", err, tt.field)
					}
					return
				}
			}
			t.Errorf("Validate() = %v\nwant a problem of %s containing %q", err, tt.field, tt.in)
		})
	}
}

func TestValidateAcceptsEdits(t *testing.T) {
	t.Parallel()
	p := Default()
	// A drill: limits in seconds, escalation, overrides, a new limited
	// action, a status machine with a step added.
	for i := range p.Reports.Kinds {
		p.Reports.Kinds[i].Due = Duration(30 * time.Second)
		p.Reports.Kinds[i].Escalate = Duration(90 * time.Second)
	}
	p.Reports.Villages = map[string]map[string]TimeLimits{"v_1": {"fire": {Due: Duration(10 * time.Second)}}}
	p.Limits["alert"] = Rate{Every: Duration(6 * time.Second), Burst: 5}
	p.Reports.Statuses = append(p.Reports.Statuses, "verified")
	p.Reports.Transitions["resolved"] = []string{"verified"}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	if !p.CanMove("resolved", "verified") || p.CanMove("verified", "resolved") || !p.Final("verified") {
		t.Error("the added step is not forward only")
	}
}

func TestValidateReportsAll(t *testing.T) {
	t.Parallel()
	p := Default()
	p.Reports.Kinds[0].Due = 0
	p.Limits["media"] = Rate{}
	p.Alerts.Kinds = nil
	if n := len(fieldErrors(p.Validate())); n != 4 { // due, every, burst, kinds
		t.Errorf("Validate found %d problems, want 4: %v", n, p.Validate())
	}
	if var0 := (Policy{}).Validate(); var0 == nil {
		t.Error("the zero Policy is valid")
	}
}
