package schedule_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/longyou/hub/schedule"
	"github.com/longyou/hub/schedule/schedtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var t0 = time.Date(2026, 7, 1, 8, 0, 0, 0, time.UTC)

// recorder notes which jobs ran, in order.
type recorder struct {
	mu  sync.Mutex
	ran []string
	ch  chan string // every run, for waiting
}

func newRecorder() *recorder { return &recorder{ch: make(chan string, 100_000)} }

func (r *recorder) job(name string) func(context.Context) {
	return func(context.Context) {
		r.mu.Lock()
		r.ran = append(r.ran, name)
		r.mu.Unlock()
		r.ch <- name
	}
}

func (r *recorder) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.ran)
}

// wait waits for n more runs.
func (r *recorder) wait(t *testing.T, n int) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for range n {
		select {
		case <-r.ch:
		case <-timeout:
			t.Fatalf("timed out waiting for jobs; ran %v", r.list())
		}
	}
}

// start runs s until the test ends, and checks Run's answer.
func start(t *testing.T, s *schedule.Scheduler) {
	t.Helper()
	errc := make(chan error, 1)
	go func() { errc <- s.Run(context.Background()) }()
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if err := <-errc; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

func newFake(t *testing.T, cfg schedule.Config) (*schedule.Scheduler, *schedtest.Clock) {
	t.Helper()
	c := schedtest.NewClock(t0)
	s := schedule.New(c, cfg)
	start(t, s)
	return s, c
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestOrder(t *testing.T) {
	t.Parallel()
	s, c := newFake(t, schedule.Config{})
	r := newRecorder()
	jobs := []struct {
		name string
		at   time.Duration
	}{
		{"c", 30 * time.Minute}, {"a", 10 * time.Minute}, {"tie1", 20 * time.Minute},
		{"tie2", 20 * time.Minute}, {"past", -time.Hour}, {"d", 40 * time.Minute}, {"b", 15 * time.Minute},
	}
	for _, j := range jobs {
		must(t, s.Schedule(j.name, t0.Add(j.at), r.job(j.name)))
	}
	r.wait(t, 1) // the past one runs without the clock moving
	c.Advance(time.Hour)
	r.wait(t, len(jobs)-1)
	want := []string{"past", "a", "b", "tie1", "tie2", "c", "d"}
	if got := r.list(); !slices.Equal(got, want) {
		t.Errorf("ran %v, want %v", got, want)
	}
	if n := s.Pending(); n != 0 {
		t.Errorf("Pending = %d after all ran", n)
	}
}

func TestReplace(t *testing.T) {
	t.Parallel()
	s, c := newFake(t, schedule.Config{})
	r := newRecorder()
	must(t, s.Schedule("sooner", t0.Add(time.Hour), r.job("sooner-old")))
	must(t, s.Schedule("sooner", t0.Add(10*time.Minute), r.job("sooner-new"))) // moves earlier
	must(t, s.Schedule("later", t0.Add(5*time.Minute), r.job("later-old")))
	must(t, s.Schedule("later", t0.Add(2*time.Hour), r.job("later-new"))) // moves later
	must(t, s.Schedule("mark", t0.Add(time.Hour), r.job("mark")))
	if n := s.Pending(); n != 3 {
		t.Fatalf("Pending = %d, want 3 (a replaced job is not added)", n)
	}
	c.Advance(time.Hour)
	r.wait(t, 2)
	// One worker runs in due order: had "later" kept its 5 minutes, it would
	// have run before "mark".
	if got, want := r.list(), []string{"sooner-new", "mark"}; !slices.Equal(got, want) {
		t.Fatalf("ran %v, want %v", got, want)
	}
	c.Advance(time.Hour)
	r.wait(t, 1)
	if got, want := r.list(), []string{"sooner-new", "mark", "later-new"}; !slices.Equal(got, want) {
		t.Errorf("ran %v, want %v", got, want)
	}
}

func TestCancel(t *testing.T) {
	t.Parallel()
	s, c := newFake(t, schedule.Config{})
	r := newRecorder()
	must(t, s.Schedule("x", t0.Add(5*time.Minute), r.job("x")))
	must(t, s.Schedule("y", t0.Add(10*time.Minute), r.job("y")))
	if !s.Cancel("x") {
		t.Fatal("Cancel(x) = false, want true")
	}
	if s.Cancel("x") || s.Cancel("nope") {
		t.Error("Cancel of a job not pending = true")
	}
	c.Advance(10 * time.Minute)
	r.wait(t, 1)
	if got := r.list(); !slices.Equal(got, []string{"y"}) {
		t.Errorf("ran %v, want only y", got)
	}
	if s.Cancel("y") {
		t.Error("Cancel of a job that ran = true")
	}
	// A cancelled key can be scheduled again.
	must(t, s.Schedule("x", t0, r.job("x-again")))
	r.wait(t, 1)
}

// TestClockAdvance: the scheduler follows the fake clock step by step, and
// runs nothing before its time.
func TestClockAdvance(t *testing.T) {
	t.Parallel()
	s, c := newFake(t, schedule.Config{})
	r := newRecorder()
	for i := 1; i <= 3; i++ {
		must(t, s.Schedule(fmt.Sprint(i), t0.Add(time.Duration(i)*time.Hour), r.job(fmt.Sprint(i))))
	}
	c.Advance(time.Hour - time.Second)
	time.Sleep(20 * time.Millisecond) // a job run early would show here
	if got := r.list(); len(got) != 0 {
		t.Fatalf("ran %v a second before the first was due", got)
	}
	c.Advance(time.Second)
	r.wait(t, 1)
	if n := s.Pending(); n != 2 {
		t.Errorf("Pending = %d after the first ran, want 2", n)
	}
	c.Advance(2 * time.Hour)
	r.wait(t, 2)
	if got := r.list(); !slices.Equal(got, []string{"1", "2", "3"}) {
		t.Errorf("ran %v", got)
	}
}

// TestManyJobs: 20,000 pending jobs wait on one timer and no goroutine
// each, then run in due order.
func TestManyJobs(t *testing.T) {
	t.Parallel()
	const n = 20_000
	s, c := newFake(t, schedule.Config{MaxPending: n})
	r := newRecorder()
	rng := rand.New(rand.NewPCG(1, 2))
	due := make(map[string]time.Duration, n)
	goroutines := runtime.NumGoroutine()
	for i := range n {
		key := fmt.Sprint("k", i%(n/2)) // half the keys scheduled twice: replaced
		at := time.Duration(rng.IntN(24*3600)) * time.Second
		due[key] = at
		must(t, s.Schedule(key, t0.Add(at), r.job(key)))
	}
	if p := s.Pending(); p != n/2 {
		t.Fatalf("Pending = %d, want %d", p, n/2)
	}
	if armed := c.Armed(); armed > 1 {
		t.Errorf("%d timers armed for %d jobs, want one", armed, n/2)
	}
	if g := runtime.NumGoroutine(); g > goroutines+5 {
		t.Errorf("%d goroutines with %d jobs pending (%d before)", g, n/2, goroutines)
	}
	c.Advance(24 * time.Hour)
	r.wait(t, n/2)
	got := r.list()
	if !slices.IsSortedFunc(got, func(a, b string) int { return int(due[a] - due[b]) }) {
		t.Error("jobs did not run in due order")
	}
	if s.Pending() != 0 {
		t.Errorf("Pending = %d after all ran", s.Pending())
	}
}

// TestFuncClockJump: with a service's offset clock (as the hub's tests
// move time), Wake makes the scheduler see the jump; MaxWait bounds how
// late it sees it without one.
func TestFuncClockJump(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var offset time.Duration
	now := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return time.Now().Add(offset)
	}
	jump := func(d time.Duration) {
		mu.Lock()
		offset += d
		mu.Unlock()
	}
	for _, tt := range []struct {
		name    string
		maxWait time.Duration
		wake    bool
	}{
		{"wake", time.Hour, true},
		{"max wait", 20 * time.Millisecond, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := schedule.New(schedule.FuncClock(now), schedule.Config{MaxWait: tt.maxWait})
			start(t, s)
			r := newRecorder()
			must(t, s.Schedule("escalate", now().Add(time.Hour), r.job("escalate")))
			jump(time.Hour)
			if tt.wake {
				s.Wake()
			}
			r.wait(t, 1)
		})
	}
}

func TestSystemClock(t *testing.T) {
	t.Parallel()
	s := schedule.New(nil, schedule.Config{})
	start(t, s)
	r := newRecorder()
	must(t, s.Schedule("soon", time.Now().Add(20*time.Millisecond), r.job("soon")))
	must(t, s.Schedule("past", time.Now().Add(-time.Minute), r.job("past")))
	r.wait(t, 2)
	if got := r.list(); !slices.Equal(got, []string{"past", "soon"}) {
		t.Errorf("ran %v", got)
	}
}

// TestCloseStopsCleanly: Close cancels the running job's context, waits
// for it, drops what is pending, and leaves no goroutine (TestMain checks).
func TestCloseStopsCleanly(t *testing.T) {
	t.Parallel()
	c := schedtest.NewClock(t0)
	s := schedule.New(c, schedule.Config{})
	errc := make(chan error, 1)
	go func() { errc <- s.Run(context.Background()) }()
	started, finished := make(chan struct{}), make(chan struct{})
	must(t, s.Schedule("block", t0, func(ctx context.Context) {
		close(started)
		<-ctx.Done()
		close(finished)
	}))
	must(t, s.Schedule("later", t0.Add(time.Hour), func(context.Context) { t.Error("a pending job ran after Close") }))
	<-started
	must(t, s.Close())
	select {
	case <-finished:
	default:
		t.Fatal("Close returned before the running job did")
	}
	if err := <-errc; err != nil {
		t.Errorf("Run = %v, want nil after Close", err)
	}
	if n := s.Pending(); n != 0 {
		t.Errorf("Pending = %d after Close", n)
	}
	if err := s.Schedule("x", t0, func(context.Context) {}); !errors.Is(err, schedule.ErrClosed) {
		t.Errorf("Schedule after Close = %v, want ErrClosed", err)
	}
	if err := s.Run(context.Background()); !errors.Is(err, schedule.ErrClosed) {
		t.Errorf("Run after Close = %v, want ErrClosed", err)
	}
	must(t, s.Close()) // again
	c.Advance(2 * time.Hour)
}

func TestCloseWithoutRun(t *testing.T) {
	t.Parallel()
	s := schedule.New(nil, schedule.Config{})
	must(t, s.Schedule("x", time.Now(), func(context.Context) {}))
	must(t, s.Close())
	if n := s.Pending(); n != 0 {
		t.Errorf("Pending = %d after Close", n)
	}
}

func TestRunContext(t *testing.T) {
	t.Parallel()
	s := schedule.New(schedtest.NewClock(t0), schedule.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	running := make(chan struct{})
	go func() { errc <- s.Run(ctx) }()
	must(t, s.Schedule("ping", t0, func(context.Context) { close(running) }))
	<-running
	if err := s.Run(ctx); !errors.Is(err, schedule.ErrRunning) {
		t.Errorf("second Run = %v, want ErrRunning", err)
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v, want context.Canceled", err)
	}
	if err := s.Schedule("x", t0, func(context.Context) {}); !errors.Is(err, schedule.ErrClosed) {
		t.Errorf("Schedule after Run returned = %v, want ErrClosed", err)
	}
	must(t, s.Close())
}

func TestFull(t *testing.T) {
	t.Parallel()
	s := schedule.New(schedtest.NewClock(t0), schedule.Config{MaxPending: 2})
	defer s.Close()
	noop := func(context.Context) {}
	must(t, s.Schedule("a", t0, noop))
	must(t, s.Schedule("b", t0, noop))
	if err := s.Schedule("c", t0, noop); !errors.Is(err, schedule.ErrFull) {
		t.Errorf("third job = %v, want ErrFull", err)
	}
	must(t, s.Schedule("a", t0.Add(time.Hour), noop)) // replacing is not adding
	s.Cancel("b")
	must(t, s.Schedule("c", t0, noop))
	if err := s.Schedule("d", t0, nil); err == nil {
		t.Error("a nil function was accepted")
	}
}

func TestPanicIsLogged(t *testing.T) {
	t.Parallel()
	var buf syncBuffer
	s, _ := newFake(t, schedule.Config{Logger: slog.New(slog.NewTextHandler(&buf, nil))})
	r := newRecorder()
	must(t, s.Schedule("bad", t0, func(context.Context) { panic("boom") }))
	must(t, s.Schedule("good", t0, r.job("good")))
	r.wait(t, 1)
	if out := buf.String(); !strings.Contains(out, "scheduled job panicked") || !strings.Contains(out, "key=bad") {
		t.Errorf("log = %q", out)
	}
}

// TestWorkers: up to Workers jobs run at once, no more.
func TestWorkers(t *testing.T) {
	t.Parallel()
	s, _ := newFake(t, schedule.Config{Workers: 3})
	var mu sync.Mutex
	running, peak := 0, 0
	release := make(chan struct{})
	r := newRecorder()
	for i := range 5 {
		must(t, s.Schedule(fmt.Sprint(i), t0, func(ctx context.Context) {
			mu.Lock()
			running++
			peak = max(peak, running)
			mu.Unlock()
			r.job(fmt.Sprint(i))(ctx)
			<-release
			mu.Lock()
			running--
			mu.Unlock()
		}))
	}
	r.wait(t, 3)
	time.Sleep(20 * time.Millisecond) // a fourth would start here
	if got := len(r.list()); got != 3 {
		t.Errorf("%d jobs started with 3 workers", got)
	}
	close(release)
	r.wait(t, 2)
	if peak != 3 {
		t.Errorf("peak %d jobs at once, want 3", peak)
	}
}

// TestRescheduleFromJob: a job may schedule the next step of its chain
// (village -> township -> county) under its own key.
func TestRescheduleFromJob(t *testing.T) {
	t.Parallel()
	s, c := newFake(t, schedule.Config{})
	r := newRecorder()
	levels := []string{"township", "county"}
	var step func(i int) func(context.Context)
	step = func(i int) func(context.Context) {
		return func(ctx context.Context) {
			r.job(levels[i])(ctx)
			if i+1 < len(levels) {
				must(t, s.Schedule("report/r_1", c.Now().Add(time.Hour), step(i+1)))
			}
		}
	}
	must(t, s.Schedule("report/r_1", t0.Add(time.Hour), step(0)))
	c.Advance(time.Hour)
	r.wait(t, 1)
	for s.Pending() != 1 { // the job schedules the next step as it ends
		runtime.Gosched()
	}
	c.Advance(time.Hour)
	r.wait(t, 1)
	if got := r.list(); !slices.Equal(got, levels) {
		t.Errorf("ran %v, want %v", got, levels)
	}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
