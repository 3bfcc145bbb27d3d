package main

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// progress prints one line a second while the run goes: the phase, its
// count and rate, the connections open and the errors so far.
type progress struct {
	out   io.Writer
	start time.Time

	mu        sync.Mutex // guards the following fields
	phase     string
	total     int64
	count     func() int64
	lastCount int64
	lastAt    time.Time
	extraErrs func() int64

	fleet atomic.Pointer[fleet]
}

func newProgress(out io.Writer, extraErrs func() int64) *progress {
	return &progress{out: out, start: time.Now(), extraErrs: extraErrs}
}

// set starts a phase: count reports how far it got, out of total (0: no
// total).
func (p *progress) set(phase string, total int64, count func() int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.phase, p.total, p.count = phase, total, count
	p.lastCount, p.lastAt = 0, time.Now()
	if count != nil {
		p.lastCount = count()
	}
}

func (p *progress) setFleet(f *fleet) { p.fleet.Store(f) }

// fleetDone counts the workers' progress in the running operation.
func (p *progress) fleetDone() int64 {
	f := p.fleet.Load()
	if f == nil {
		return 0
	}
	_, done, _ := f.progress()
	return done
}

func (p *progress) run(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			p.line()
		}
	}
}

func (p *progress) line() {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	var conns int
	var errs int64
	if f := p.fleet.Load(); f != nil {
		conns, _, errs = f.progress()
	}
	if p.extraErrs != nil {
		errs += p.extraErrs()
	}
	head := fmt.Sprintf("[%5.0fs] %-10s", now.Sub(p.start).Seconds(), p.phase)
	if p.count != nil {
		n := p.count()
		r := float64(n-p.lastCount) / now.Sub(p.lastAt).Seconds()
		p.lastCount, p.lastAt = n, now
		if p.total > 0 {
			head += fmt.Sprintf(" %s/%s", group(n), group(p.total))
		} else {
			head += " " + group(n)
		}
		head += fmt.Sprintf("  %s/s", groupf(max(r, 0)))
	}
	fmt.Fprintf(p.out, "%s | connected %s | errors %s\n", head, group(int64(conns)), group(errs))
}
