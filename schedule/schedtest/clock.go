// Package schedtest provides a manual Clock for tests of code that uses a
// schedule.Scheduler: time stands still until the test moves it.
package schedtest

import (
	"sync"
	"time"

	"github.com/longyou/hub/schedule"
)

// Clock is a schedule.Clock whose time moves only by Advance and Set. Its
// Now also fits a service's `Clock func() time.Time`, so one test clock can
// drive both. Safe for concurrent use.
type Clock struct {
	mu     sync.Mutex // guards the following fields
	now    time.Time
	timers map[*timer]struct{} // armed timers
}

var _ schedule.Clock = (*Clock)(nil)

// NewClock returns a clock reading start.
func NewClock(start time.Time) *Clock {
	return &Clock{now: start, timers: make(map[*timer]struct{})}
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock d ahead and fires every timer whose time has
// come.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.setLocked(c.now.Add(d))
}

// Set moves the clock to t (ahead or back) and fires every timer whose
// time has come.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.setLocked(t)
}

func (c *Clock) setLocked(t time.Time) {
	c.now = t
	for tm := range c.timers {
		if !tm.at.After(t) {
			tm.fireLocked(t)
		}
	}
}

// Armed is the number of armed timers: a scheduler waiting for a job has
// one.
func (c *Clock) Armed() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// NewTimer returns a timer of this clock, not armed.
func (c *Clock) NewTimer() schedule.Timer {
	return &timer{c: c, ch: make(chan time.Time, 1)}
}

type timer struct {
	c  *Clock
	ch chan time.Time // capacity 1
	at time.Time      // guarded by c.mu
}

func (t *timer) C() <-chan time.Time { return t.ch }

func (t *timer) ResetAt(at time.Time) {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	t.drain()
	t.at = at
	if !at.After(t.c.now) {
		t.fireLocked(t.c.now)
		return
	}
	t.c.timers[t] = struct{}{}
}

func (t *timer) Stop() {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	delete(t.c.timers, t)
	t.drain()
}

// fireLocked sends now and disarms the timer; c.mu is held.
func (t *timer) fireLocked(now time.Time) {
	delete(t.c.timers, t)
	select {
	case t.ch <- now:
	default: // an unread value is there already
	}
}

func (t *timer) drain() {
	select {
	case <-t.ch:
	default:
	}
}
