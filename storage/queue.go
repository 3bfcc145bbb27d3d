package storage

import (
	"context"
	"time"
)

// Queue tells how much of a channel's outbox queue stands ahead of some
// messages, for the expected time to send them (issue 12: a county-wide
// SMS fallback at 1 a second takes 55 hours, and the command center must
// see it coming). It only counts; the dispatcher's order is
// ClaimDueMessages': highest priority first, then earliest due.
type Queue interface {
	// QueueAhead counts the channel's rows that are sent before, or with,
	// a row of this priority due at due: the rows claimed or sending (in
	// flight), and the pending rows due at or before now of a higher
	// priority, or of the same priority due at or before due. Rows due
	// later than now are not counted (they may be cancelled before).
	QueueAhead(ctx context.Context, channel string, priority int, due, now time.Time) (int, error)
	// QueuedFor counts the channel's rows of this kind about ref that are
	// still to be sent: due (claimed, sending, or pending due at or before
	// now), the latest due time among them (zero when none), and later
	// (pending, due after now: an alert's fallback to members who were
	// connected, cancelled if they answer first).
	QueuedFor(ctx context.Context, channel string, ref Ref, kind string, now time.Time) (due int, lastDue time.Time, later int, err error)
}
