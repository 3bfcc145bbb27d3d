package policy

import "time"

// Letters are the time limits of the villager mailbox (issue 16 part 3,
// docs/API.md v1.6 "the villager mailbox"), counted from a letter's
// creation, each down to a second (drills and tests):
//
//   - Answer: a letter no one of the staff answered by then is overdue;
//     its readers are reminded (a notice, and an SMS SMSAfter later if
//     it is still unanswered).
//   - Township: an unanswered letter to the village goes up to the
//     township then. Zero: it never does.
//   - County: an unanswered letter goes up to the county then. Zero: it
//     never does.
type Letters struct {
	Answer   Duration `json:"answer"`
	Township Duration `json:"township,omitempty"`
	County   Duration `json:"county,omitempty"`
	// SMSAfter is how long after a reminder notice its SMS waits for an
	// answer before it is sent (zero: at once).
	SMSAfter Duration `json:"sms_after"`
}

// DefaultLetters: three days to answer, a week to the township, two to
// the county; the SMS two hours after the notice.
func DefaultLetters() Letters {
	return Letters{Answer: Duration(72 * time.Hour), Township: Duration(7 * 24 * time.Hour),
		County: Duration(14 * 24 * time.Hour), SMSAfter: Duration(2 * time.Hour)}
}

func (v *validator) letters(l *Letters) {
	v.limit("letters.answer", l.Answer)
	prev, prevName := l.Answer, "answer"
	if l.Township != 0 {
		v.limit("letters.township", l.Township)
		if l.Township <= prev {
			v.add("letters.township", "must be later than %s (%s), got %s", prevName, prev, l.Township)
		}
		prev, prevName = l.Township, "township"
	}
	if l.County != 0 {
		v.limit("letters.county", l.County)
		if l.County <= prev {
			v.add("letters.county", "must be later than %s (%s), got %s", prevName, prev, l.County)
		}
	}
	switch {
	case l.SMSAfter < 0:
		v.add("letters.sms_after", "must not be negative, got %s", l.SMSAfter)
	case l.SMSAfter.D()%time.Second != 0:
		v.add("letters.sms_after", "must be whole seconds, got %s", l.SMSAfter)
	case l.SMSAfter.D() > MaxLimit:
		v.add("letters.sms_after", "must be at most %s, got %s", Duration(MaxLimit), l.SMSAfter)
	}
}
