// Package schedule runs actions at due times, in process: the seam through
// which a report escalation (and any later timed action: a reminder, a
// visit falling due) acts when its time comes.
//
// A Scheduler keeps its pending jobs in a min-heap ordered by due time and
// waits on a single timer for the earliest, so a million pending jobs cost
// one goroutine, not a million; due jobs run on at most Config.Workers
// goroutines. Time is read through an injected Clock, so a test (or a
// drill) that moves its clock moves the scheduler.
//
// The Scheduler is not durable, on purpose. The source of truth for due
// times is the store (for instance reports' due_at): a job only says "look
// at this row again at that time", and its action re-reads the row and acts
// only if it is still due (a report answered in between is left alone). On
// start a service lists what is open in the store and schedules it again,
// so a restart, a crash or Close loses nothing; jobs scheduled in the past
// run at once. Jobs must therefore be idempotent, and Close drops what is
// pending.
package schedule

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"
)

// Config tunes a Scheduler. The zero value is ready to use.
type Config struct {
	// Logger receives job panics. Nil means slog.Default().
	Logger *slog.Logger
	// MaxPending bounds the pending jobs; Schedule of a new key beyond it
	// returns ErrFull. Zero means 100,000.
	MaxPending int
	// Workers is how many jobs may run at once. Zero means 1: jobs run one
	// after the other, in due-time order (ties in the order scheduled).
	Workers int
	// MaxWait is the longest the scheduler sleeps without reading the
	// clock again, which bounds how late a job runs when a FuncClock jumps
	// ahead and nobody calls Wake. Zero means one minute.
	MaxWait time.Duration
}

// Errors of Schedule and Run.
var (
	ErrClosed  = errors.New("schedule: scheduler closed")
	ErrFull    = errors.New("schedule: too many pending jobs")
	ErrRunning = errors.New("schedule: already running")
)

// Scheduler runs each job once, at or after its due time. Its methods are
// safe for concurrent use, including from inside a job, except Close.
type Scheduler struct {
	clock Clock
	log   *slog.Logger
	cfg   Config

	wake chan struct{} // capacity 1: a pending "read the heap again"
	done chan struct{} // closed by Close or when Run returns

	mu      sync.Mutex // guards the following fields
	jobs    jobHeap
	byKey   map[string]*job
	seq     uint64 // orders jobs due at the same time
	closed  bool
	running bool
	stopped chan struct{} // closed when Run returns; nil until Run starts
}

type job struct {
	key   string
	at    time.Time
	seq   uint64
	fn    func(ctx context.Context)
	index int // in jobs
}

// New returns a Scheduler reading clock (nil: SystemClock). Nothing runs
// until Run is called.
func New(clock Clock, cfg Config) *Scheduler {
	if clock == nil {
		clock = SystemClock()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxPending <= 0 {
		cfg.MaxPending = 100_000
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 1
	}
	if cfg.MaxWait <= 0 {
		cfg.MaxWait = time.Minute
	}
	return &Scheduler{
		clock: clock, log: cfg.Logger, cfg: cfg,
		wake:  make(chan struct{}, 1),
		done:  make(chan struct{}),
		byKey: make(map[string]*job),
	}
}

// Schedule arranges for fn to run at at (at once if at has passed), under
// key. A job pending under the same key is replaced: its function will not
// run. A job already running under that key is not affected. fn receives a
// context cancelled when the Scheduler stops; it should return promptly
// then.
func (s *Scheduler) Schedule(key string, at time.Time, fn func(ctx context.Context)) error {
	if fn == nil {
		return fmt.Errorf("schedule: nil function for %q", key)
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.seq++
	j, ok := s.byKey[key]
	if ok {
		j.at, j.seq, j.fn = at, s.seq, fn
		heap.Fix(&s.jobs, j.index)
	} else {
		if len(s.jobs) >= s.cfg.MaxPending {
			s.mu.Unlock()
			return ErrFull
		}
		j = &job{key: key, at: at, seq: s.seq, fn: fn}
		heap.Push(&s.jobs, j)
		s.byKey[key] = j
	}
	first := s.jobs[0] == j
	s.mu.Unlock()
	if first {
		s.Wake() // the timer is armed for a later job
	}
	return nil
}

// Cancel removes the job pending under key, reporting whether there was
// one. A job already running is not stopped.
func (s *Scheduler) Cancel(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.byKey[key]
	if !ok {
		return false
	}
	heap.Remove(&s.jobs, j.index)
	delete(s.byKey, key)
	return true
}

// Pending is the number of jobs waiting for their time.
func (s *Scheduler) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.jobs)
}

// Wake makes the scheduler read its clock again now. Call it after moving
// a FuncClock ahead; a Clock whose timers follow its own time (SystemClock,
// a fake clock with Advance) needs no call.
func (s *Scheduler) Wake() {
	select {
	case s.wake <- struct{}{}:
	default: // a wake-up is pending already
	}
}

// Run runs jobs as they fall due, until ctx is done (it returns ctx's
// error) or Close is called (it returns nil). Before returning it cancels
// the context of the jobs running and waits for them. A Scheduler runs
// once: afterwards Schedule returns ErrClosed.
func (s *Scheduler) Run(ctx context.Context) error {
	s.mu.Lock()
	switch {
	case s.closed:
		s.mu.Unlock()
		return ErrClosed
	case s.running:
		s.mu.Unlock()
		return ErrRunning
	}
	s.running = true
	s.stopped = make(chan struct{})
	s.mu.Unlock()

	jobCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		s.shut()
		cancel()
		wg.Wait()
		close(s.stopped)
	}()

	sem := make(chan struct{}, s.cfg.Workers)
	timer := s.clock.NewTimer()
	defer timer.Stop()
	for {
		now := s.clock.Now()
		j, next := s.pop(now)
		if j != nil {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return ctx.Err()
			case <-s.done:
				return nil
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				s.run(jobCtx, j)
			}()
			continue
		}
		wakeAt := now.Add(s.cfg.MaxWait)
		if !next.IsZero() && next.Before(wakeAt) {
			wakeAt = next
		}
		timer.ResetAt(wakeAt)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.done:
			return nil
		case <-s.wake:
		case <-timer.C():
		}
	}
}

// pop removes and returns the earliest job if it is due at now; otherwise
// it returns the time the earliest is due (zero: no job).
func (s *Scheduler) pop(now time.Time) (*job, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.jobs) == 0 {
		return nil, time.Time{}
	}
	if j := s.jobs[0]; j.at.After(now) {
		return nil, j.at
	}
	j := heap.Pop(&s.jobs).(*job)
	delete(s.byKey, j.key)
	return j, time.Time{}
}

// run calls a job, keeping a panicking one from taking the hub down with
// it: an escalation that fails must not stop alerts.
func (s *Scheduler) run(ctx context.Context, j *job) {
	defer func() {
		if r := recover(); r != nil {
			s.log.ErrorContext(ctx, "scheduled job panicked", "key", j.key, "panic", r, "stack", string(debug.Stack()))
		}
	}()
	j.fn(ctx)
}

// shut marks the scheduler closed and drops the pending jobs (and the
// closures they hold).
func (s *Scheduler) shut() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		close(s.done)
	}
	clear(s.jobs)
	s.jobs = nil
	clear(s.byKey)
}

// Close stops the scheduler: Run returns, after cancelling the context of
// the jobs running and waiting for them; pending jobs are dropped (the
// store still has their due times). Close may be called more than once,
// and before or without Run, but not from inside a job, whose return it
// would wait for.
func (s *Scheduler) Close() error {
	s.shut()
	s.mu.Lock()
	stopped := s.stopped
	s.mu.Unlock()
	if stopped != nil {
		<-stopped
	}
	return nil
}

// jobHeap is a min-heap of jobs by due time, then by scheduling order.
type jobHeap []*job

func (h jobHeap) Len() int { return len(h) }

func (h jobHeap) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].seq < h[j].seq
}

func (h jobHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}

func (h *jobHeap) Push(x any) {
	j := x.(*job)
	j.index = len(*h)
	*h = append(*h, j)
}

func (h *jobHeap) Pop() any {
	old := *h
	n := len(old)
	j := old[n-1]
	old[n-1] = nil // let the job be collected
	j.index = -1
	*h = old[:n-1]
	return j
}
