package schedule

import "time"

// Clock is the time a Scheduler reads: the current time, and one timer.
//
// Unlike tailscale's tstime.Clock, the timer is armed with an absolute
// time, not a duration. With a duration, a test clock moved between the
// scheduler's reading of Now and its arming of the timer would shift the
// deadline by the jump, and a job would run late or never; with an absolute
// time a fake clock fires exactly when it reads the deadline, whatever the
// interleaving.
type Clock interface {
	Now() time.Time
	// NewTimer returns a timer that is not armed.
	NewTimer() Timer
}

// Timer is a Clock's one-shot timer. A Scheduler uses it from one goroutine.
type Timer interface {
	// C is the channel the timer sends on when it fires.
	C() <-chan time.Time
	// ResetAt arms the timer to fire once the clock reads at or later (at
	// once if it already does), replacing any earlier arming. A value sent
	// before and not yet received is discarded.
	ResetAt(at time.Time)
	// Stop disarms the timer, discarding a value not yet received.
	Stop()
}

// SystemClock is the machine's clock.
func SystemClock() Clock { return FuncClock(time.Now) }

// FuncClock makes a Clock of a time function, such as a service's injected
// Config.Clock, with real timers. If that function's time can jump ahead
// (a test adding an offset, a drill), the Scheduler notices at its next
// wake-up: call Scheduler.Wake after the jump, or rely on Config.MaxWait.
func FuncClock(now func() time.Time) Clock { return funcClock{now} }

type funcClock struct{ now func() time.Time }

func (c funcClock) Now() time.Time { return c.now() }

func (c funcClock) NewTimer() Timer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &realTimer{now: c.now, t: t}
}

// realTimer relies on the Go 1.23 timer semantics (this module's go line is
// later): Reset and Stop discard a value not yet received.
type realTimer struct {
	now func() time.Time
	t   *time.Timer
}

func (r *realTimer) C() <-chan time.Time { return r.t.C }

func (r *realTimer) ResetAt(at time.Time) {
	r.t.Reset(max(at.Sub(r.now()), 0))
}

func (r *realTimer) Stop() { r.t.Stop() }
