package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"time"
)

// fleet is the parent's view of its workers.
type fleet struct {
	procs []*workerProc
}

// workerProc is one worker: a child process (the load tester re-executed
// with -worker) or, with -inprocess, a goroutine behind pipes. Both speak
// the same JSON lines.
type workerProc struct {
	id int

	encMu sync.Mutex // guards enc
	enc   *json.Encoder
	in    io.Closer

	mu      sync.Mutex // guards the following fields
	pending map[int64]chan *response
	last    response // the latest progress
	dead    error

	ref     atomic.Int64
	cmd     *exec.Cmd     // nil in process
	exited  chan struct{} // the in-process worker returned
	readEnd chan struct{} // the reader of its output has stopped
	members []memberRef   // its share of the members
}

var errWorkerGone = errors.New("worker stopped")

// startFleet starts n workers.
func startFleet(ctx context.Context, n int, inProcess bool, runFor, dialTimeout time.Duration, stderr io.Writer) (*fleet, error) {
	f := &fleet{}
	for i := range n {
		p, err := startWorker(ctx, i, inProcess, runFor, dialTimeout, stderr)
		if err != nil {
			f.stop()
			return nil, fmt.Errorf("start worker %d: %w", i, err)
		}
		f.procs = append(f.procs, p)
	}
	return f, nil
}

func startWorker(ctx context.Context, id int, inProcess bool, runFor, dialTimeout time.Duration, stderr io.Writer) (*workerProc, error) {
	p := &workerProc{id: id, pending: make(map[int64]chan *response), readEnd: make(chan struct{})}
	var out io.Reader
	if inProcess {
		inR, inW := io.Pipe()
		outR, outW := io.Pipe()
		p.in, out = inW, outR
		p.enc = json.NewEncoder(inW)
		p.exited = make(chan struct{})
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), runFor+30*time.Second)
		go func() {
			defer close(p.exited)
			defer cancel()
			if err := runWorker(wctx, inR, outW, stderr, dialTimeout); err != nil {
				fmt.Fprintf(stderr, "loadtest worker %d: %v\n", id, err)
			}
			_ = inR.Close()
			_ = outW.Close()
		}()
	} else {
		exe, err := os.Executable()
		if err != nil {
			return nil, err
		}
		cmd := exec.Command(exe, "-worker", "-duration="+runFor.String(), "-dial-timeout="+dialTimeout.String())
		cmd.Stderr = stderr
		stdin, err := cmd.StdinPipe()
		if err != nil {
			return nil, err
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			return nil, err
		}
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		p.cmd, p.in, out = cmd, stdin, stdout
		p.enc = json.NewEncoder(stdin)
	}
	go p.readLoop(out)
	return p, nil
}

func (p *workerProc) readLoop(out io.Reader) {
	defer close(p.readEnd)
	dec := json.NewDecoder(out)
	for {
		r := new(response)
		if err := dec.Decode(r); err != nil {
			p.mu.Lock()
			p.dead = fmt.Errorf("worker %d: %w (%v)", p.id, errWorkerGone, err)
			for ref, ch := range p.pending {
				close(ch)
				delete(p.pending, ref)
			}
			p.mu.Unlock()
			return
		}
		p.mu.Lock()
		if r.Ev == "progress" {
			p.last = *r
			p.mu.Unlock()
			continue
		}
		p.last.Connected = r.Connected
		ch := p.pending[r.Ref]
		delete(p.pending, r.Ref)
		p.mu.Unlock()
		if ch != nil {
			ch <- r
		}
	}
}

// call sends req and waits for its answer.
func (p *workerProc) call(ctx context.Context, req *request) (*response, error) {
	req.Ref = p.ref.Add(1)
	ch := make(chan *response, 1)
	p.mu.Lock()
	if p.dead != nil {
		p.mu.Unlock()
		return nil, p.dead
	}
	p.pending[req.Ref] = ch
	p.mu.Unlock()
	p.encMu.Lock()
	err := p.enc.Encode(req)
	p.encMu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("worker %d: send %s: %w", p.id, req.Op, err)
	}
	select {
	case r, ok := <-ch:
		if !ok {
			p.mu.Lock()
			defer p.mu.Unlock()
			return nil, p.dead
		}
		if r.Err != "" {
			return r, fmt.Errorf("worker %d: %s: %s", p.id, req.Op, r.Err)
		}
		return r, nil
	case <-ctx.Done():
		p.mu.Lock()
		delete(p.pending, req.Ref)
		p.mu.Unlock()
		return nil, fmt.Errorf("worker %d: %s: %w", p.id, req.Op, ctx.Err())
	}
}

// each sends one request to every worker at once and waits for all.
func (f *fleet) each(ctx context.Context, build func(p *workerProc) *request) ([]*response, error) {
	out := make([]*response, len(f.procs))
	errs := make([]error, len(f.procs))
	var wg sync.WaitGroup
	for i, p := range f.procs {
		wg.Go(func() { out[i], errs[i] = p.call(ctx, build(p)) })
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// progress sums the workers' latest progress events.
func (f *fleet) progress() (connected int, done int64, errs int64) {
	for _, p := range f.procs {
		p.mu.Lock()
		connected += p.last.Connected
		done += p.last.Done
		for _, n := range p.last.Errors {
			errs += n
		}
		p.mu.Unlock()
	}
	return connected, done, errs
}

// stop asks every worker to quit, and kills those that do not within a
// few seconds.
func (f *fleet) stop() {
	var wg sync.WaitGroup
	for _, p := range f.procs {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			_, _ = p.call(ctx, &request{Op: opQuit})
			_ = p.in.Close()
			// Its output ends when it exits; only then may Wait close it.
			select {
			case <-p.readEnd:
			case <-time.After(10 * time.Second):
				if p.cmd != nil {
					_ = p.cmd.Process.Kill()
				}
				<-p.readEnd
			}
			if p.cmd != nil {
				_ = p.cmd.Wait()
			} else {
				<-p.exited
			}
		})
	}
	wg.Wait()
}

// opTotals is the sum of the workers' answers to one timed operation
// (connect, reconnect, ack, report).
type opTotals struct {
	attempted, ok int
	lat           []int64
	start, end    int64 // unix ns: first attempt, last success
	codes         map[string]int
}

// sumOp adds up the workers' answers; a nil answer (a worker that failed)
// counts nothing. codes is nil when no attempt failed.
func sumOp(resps []*response) opTotals {
	var t opTotals
	for _, resp := range resps {
		if resp == nil {
			continue
		}
		t.attempted += resp.Attempted
		t.ok += resp.OK
		t.lat = append(t.lat, resp.Lat...)
		if t.start == 0 || (resp.Start != 0 && resp.Start < t.start) {
			t.start = resp.Start
		}
		t.end = max(t.end, resp.End)
		for k, v := range resp.Codes {
			if t.codes == nil {
				t.codes = map[string]int{}
			}
			t.codes[k] += v
		}
	}
	return t
}
