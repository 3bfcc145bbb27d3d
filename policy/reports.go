package policy

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// ReportKindNames returns the report kinds in the contract's order, for
// error messages ("kind must be one of ...").
func (p Policy) ReportKindNames() []string {
	names := make([]string, len(p.Reports.Kinds))
	for i, k := range p.Reports.Kinds {
		names[i] = k.Name
	}
	return names
}

// ValidReportKind reports whether kind is a report kind.
func (p Policy) ValidReportKind(kind string) bool {
	_, ok := p.reportKind(kind)
	return ok
}

func (p Policy) reportKind(kind string) (ReportKind, bool) {
	for _, k := range p.Reports.Kinds {
		if k.Name == kind {
			return k, true
		}
	}
	return ReportKind{}, false
}

// TimeLimits returns the time limits of a report of kind in villageID: the
// kind's, with the village's override (if any) winning field by field. ok
// is false for an unknown kind.
func (p Policy) TimeLimits(kind, villageID string) (l TimeLimits, ok bool) {
	k, ok := p.reportKind(kind)
	if !ok {
		return TimeLimits{}, false
	}
	l = k.TimeLimits
	if o, found := p.Reports.Villages[villageID][kind]; found {
		if o.Due != 0 {
			l.Due = o.Due
		}
		if o.Escalate != 0 {
			l.Escalate = o.Escalate
		}
		if o.County != 0 {
			l.County = o.County
		}
	}
	return l, true
}

// DueAt is the first time limit of a report of kind in villageID created
// at created: its due_at. It is the zero time for an unknown kind (check
// ValidReportKind first).
func (p Policy) DueAt(kind, villageID string, created time.Time) time.Time {
	l, ok := p.TimeLimits(kind, villageID)
	if !ok {
		return time.Time{}
	}
	return created.Add(l.Due.D())
}

// EscalateAt is when a report of kind in villageID created at created, if
// still open, goes up a level. It is the zero time when the kind (or the
// village's override) has no escalation limit, or for an unknown kind.
func (p Policy) EscalateAt(kind, villageID string, created time.Time) time.Time {
	l, ok := p.TimeLimits(kind, villageID)
	if !ok || l.Escalate == 0 {
		return time.Time{}
	}
	return created.Add(l.Escalate.D())
}

// ValidStatus reports whether s is a report status.
func (p Policy) ValidStatus(s string) bool {
	return slices.Contains(p.Reports.Statuses, s)
}

// Sentinels of Transition, wrapped in a *TransitionError. A service answers
// ErrUnknownStatus with bad_request and ErrNotAllowed with conflict.
var (
	ErrUnknownStatus = errors.New("unknown report status")
	ErrNotAllowed    = errors.New("report status change not allowed")
)

// TransitionError says why a report may not move from From to To.
type TransitionError struct {
	From, To string
	Err      error // ErrUnknownStatus or ErrNotAllowed
}

// Error is the message the contract's 409 carries today ("a resolved report
// cannot become new"), or names the unknown status.
func (e *TransitionError) Error() string {
	if errors.Is(e.Err, ErrUnknownStatus) {
		return fmt.Sprintf("unknown report status in %q -> %q", e.From, e.To)
	}
	return fmt.Sprintf("a %s report cannot become %s", e.From, e.To)
}

func (e *TransitionError) Unwrap() error { return e.Err }

// Transition checks that a report may move from status from to status to:
// nil if it may, else a *TransitionError wrapping ErrUnknownStatus (either
// status unknown) or ErrNotAllowed (backward, out of a final status, or a
// step the state machine does not list). Staying in the same status is
// allowed, even a final one: the feedback may still change.
func (p Policy) Transition(from, to string) error {
	if !p.ValidStatus(from) || !p.ValidStatus(to) {
		return &TransitionError{From: from, To: to, Err: ErrUnknownStatus}
	}
	if from == to || slices.Contains(p.Reports.Transitions[from], to) {
		return nil
	}
	return &TransitionError{From: from, To: to, Err: ErrNotAllowed}
}

// CanMove reports whether a report may move from status from to status to.
func (p Policy) CanMove(from, to string) bool { return p.Transition(from, to) == nil }

// Final reports whether s is a final status (resolved, rejected): a known
// status with nowhere to go.
func (p Policy) Final(s string) bool {
	return p.ValidStatus(s) && len(p.Reports.Transitions[s]) == 0
}
