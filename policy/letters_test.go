package policy

import (
	"strings"
	"testing"
	"time"
)

// TestLettersValidate: the mailbox's limits are whole seconds, positive,
// each later than the one before; the escalation limits may be off (0).
func TestLettersValidate(t *testing.T) {
	t.Parallel()
	d := func(s int) Duration { return Duration(time.Duration(s) * time.Second) }
	for _, c := range []struct {
		name string
		l    Letters
		want string // "" valid, else a substring of the error
	}{
		{"default", DefaultLetters(), ""},
		{"seconds", Letters{Answer: d(1), Township: d(2), County: d(3)}, ""},
		{"no escalation", Letters{Answer: d(60)}, ""},
		{"county only", Letters{Answer: d(60), County: d(120)}, ""},
		{"no answer limit", Letters{}, "letters.answer"},
		{"township before answer", Letters{Answer: d(60), Township: d(60)}, "letters.township"},
		{"county before township", Letters{Answer: d(60), Township: d(120), County: d(90)}, "letters.county"},
		{"fraction", Letters{Answer: Duration(1500 * time.Millisecond)}, "whole seconds"},
		{"negative sms", Letters{Answer: d(60), SMSAfter: d(-1)}, "letters.sms_after"},
	} {
		p := Default()
		p.Letters = c.l
		err := p.Validate()
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: %v, want an error about %s", c.name, err, c.want)
		}
	}
}
