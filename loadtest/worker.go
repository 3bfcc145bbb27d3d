package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// worker holds a share of the simulated members' connections. It runs in
// its own process (so each process stays under the open-files limit) and
// obeys the parent's requests on its input.
type worker struct {
	outMu sync.Mutex // guards out
	out   *json.Encoder

	ctx         context.Context // the worker's life: connections' readers use it
	hc          *http.Client
	dialTimeout time.Duration
	log         io.Writer

	mu      sync.Mutex // guards clients
	clients []*client
	book    atomic.Pointer[receiptBook]

	readers   sync.WaitGroup
	connected atomic.Int64
	done      atomic.Int64 // progress of the running operation
	frames    atomic.Int64
	repushed  atomic.Int64
	nextID    atomic.Int64
	errs      errCounter

	// Failover (client.failover): the run's deadline (unix ns, from the
	// connect request) bounds every redial; dying holds the targets the
	// run is about to kill, whose losses are expected, not errors.
	deadline     atomic.Int64
	dyingMu      sync.Mutex // guards dying
	dying        map[int]bool
	expectedLoss atomic.Int64 // losses on a dying target
	failing      atomic.Int64 // failovers in progress
	foGaveUp     atomic.Int64 // failovers that reached the deadline
	foFails      errCounter   // failed failover dials by kind (not errors)
	foMu         sync.Mutex   // guards fos, fromDying
	fos          []failoverRec
	fromDying    int // of fos, those from a dying target

	sampleMu sync.Mutex // guards sampled
	sampled  map[string]bool
}

// workerProcess is the entry of a worker process (`loadtest -worker`).
func workerProcess(args []string) int {
	fs := flag.NewFlagSet("loadtest -worker", flag.ContinueOnError)
	isWorker := fs.Bool("worker", true, "run as a worker (set by the parent)")
	dur := fs.Duration("duration", 2*time.Minute, "stop after this long")
	dialTimeout := fs.Duration("dial-timeout", 15*time.Second, "bound on one connection's dial, welcome and resume")
	if err := fs.Parse(args); err != nil || !*isWorker {
		return 2
	}
	// Ctrl-C reaches the whole process group: the parent decides when
	// workers stop (it closes our input); the deadline is the backstop.
	signal.Ignore(os.Interrupt)
	ctx, cancel := context.WithTimeout(context.Background(), *dur+30*time.Second)
	defer cancel()
	if err := runWorker(ctx, os.Stdin, os.Stdout, os.Stderr, *dialTimeout); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest worker:", err)
		return 1
	}
	return 0
}

// runWorker serves requests from in until it closes, quit arrives or ctx
// ends, then closes every connection.
func runWorker(ctx context.Context, in io.Reader, out io.Writer, log io.Writer, dialTimeout time.Duration) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w := &worker{
		ctx:         ctx,
		out:         json.NewEncoder(out),
		dialTimeout: dialTimeout,
		log:         log,
		hc: &http.Client{Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: dialTimeout, KeepAlive: -1}).DialContext,
			MaxIdleConnsPerHost: -1,
			DisableCompression:  true,
		}},
	}
	w.book.Store(newReceiptBook(0))
	defer w.closeAll()
	var ops sync.WaitGroup
	defer ops.Wait()
	go w.progressLoop(ctx)

	lines := make(chan *request)
	readErr := make(chan error, 1)
	go func() {
		dec := json.NewDecoder(bufio.NewReaderSize(in, 1<<20))
		for {
			req := new(request)
			if err := dec.Decode(req); err != nil {
				readErr <- err
				return
			}
			select {
			case lines <- req:
			case <-ctx.Done():
				return
			}
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-readErr:
			cancel()
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("read request: %w", err)
		case req := <-lines:
			if req.Op == opQuit {
				cancel()
				ops.Wait()
				w.closeAll()
				w.send(&response{Ref: req.Ref})
				return nil
			}
			ops.Go(func() { w.send(w.handle(ctx, req)) })
		}
	}
}

func (w *worker) send(r *response) {
	w.outMu.Lock()
	defer w.outMu.Unlock()
	_ = w.out.Encode(r)
}

// sample writes the first error of each kind to the log, to explain the
// counts.
func (w *worker) sample(kind string, err error) {
	w.sampleMu.Lock()
	defer w.sampleMu.Unlock()
	if w.sampled[kind] {
		return
	}
	if w.sampled == nil {
		w.sampled = make(map[string]bool)
	}
	w.sampled[kind] = true
	fmt.Fprintf(w.log, "loadtest worker: first %s: %v\n", kind, err)
}

func (w *worker) progressLoop(ctx context.Context) {
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			w.send(&response{Ev: "progress", Connected: int(w.connected.Load()), Done: w.done.Load(), Errors: w.errs.snapshot()})
		}
	}
}

func (w *worker) handle(ctx context.Context, req *request) *response {
	timeout := time.Duration(req.TimeoutMs) * time.Millisecond
	if timeout <= 0 {
		timeout = time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var r *response
	switch req.Op {
	case opConnect:
		r = w.connect(ctx, req)
	case opReconnect:
		// Clients in a failover are already redialing on their own.
		r = w.dialAll(ctx, w.list(func(c *client) bool { return !c.isUp() && !c.isFailing() }), true, req)
	case opDrop:
		r = w.drop(ctx)
	case opClose:
		w.closeAll()
		r = &response{}
	case opCount:
		r = &response{}
		if rs := w.book.Load().get(req.Key, false); rs != nil {
			r.Count = int(rs.distinct.Load())
		}
	case opCollect:
		r = w.collect(req.Key)
	case opAck:
		r = w.ack(ctx, req)
	case opReport:
		r = w.report(ctx, req)
	case opStats:
		r = w.stats()
	case opExpectLoss:
		r = w.expectLoss(req.Target)
	case opFailovers:
		r = w.failovers(req.Detail)
	default:
		r = &response{Err: "unknown op " + req.Op}
	}
	r.Ref = req.Ref
	r.Connected = int(w.connected.Load())
	return r
}

// list returns the clients that pass keep.
func (w *worker) list(keep func(*client) bool) []*client {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []*client
	for _, c := range w.clients {
		if keep == nil || keep(c) {
			out = append(out, c)
		}
	}
	return out
}

func (w *worker) connect(ctx context.Context, req *request) *response {
	w.closeAll()
	if req.Deadline > 0 {
		w.deadline.Store(req.Deadline)
	}
	cs := make([]*client, len(req.Members))
	for i, m := range req.Members {
		if m.Target < 0 || m.Target >= len(req.URLs) {
			return &response{Err: fmt.Sprintf("member %d: no target %d", m.Idx, m.Target)}
		}
		cs[i] = &client{w: w, slot: i, m: m, urls: req.URLs, target: m.Target, since: -1, proto: req.Proto}
	}
	w.mu.Lock()
	w.clients = cs
	w.book.Store(newReceiptBook(len(cs)))
	w.mu.Unlock()
	return w.dialAll(ctx, cs, false, req)
}

// dialAll dials cs with req.Concurrency dials in flight, paced at req.Rate
// per second when set.
func (w *worker) dialAll(ctx context.Context, cs []*client, resume bool, req *request) *response {
	w.done.Store(0)
	conc := max(req.Concurrency, 1)
	r := &response{Attempted: len(cs), Codes: map[string]int{}}
	var mu sync.Mutex
	jobs := make(chan *client)
	start := time.Now()
	r.Start = start.UnixNano()
	go func() {
		defer close(jobs)
		for i, c := range cs {
			if req.Rate > 0 {
				at := start.Add(time.Duration(float64(i) / req.Rate * float64(time.Second)))
				if d := time.Until(at); d > 0 {
					t := time.NewTimer(d)
					select {
					case <-t.C:
					case <-ctx.Done():
						t.Stop()
						return
					}
				}
			}
			select {
			case jobs <- c:
			case <-ctx.Done():
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			for c := range jobs {
				lat, kind := c.dial(ctx, resume, w.dialTimeout)
				now := time.Now().UnixNano()
				mu.Lock()
				if kind != "" {
					r.Codes[kind]++
				} else {
					r.OK++
					r.Lat = append(r.Lat, int64(lat))
					r.End = max(r.End, now)
				}
				mu.Unlock()
				if kind != "" {
					prefix := "dial_"
					if resume {
						prefix = "redial_"
					}
					w.errs.add(prefix+kind, 1)
				} else {
					w.done.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if n := len(cs) - r.OK - sum(r.Codes); n > 0 {
		r.Codes["not_attempted"] += n // the operation's time ran out
		w.errs.add("dial_not_attempted", int64(n))
	}
	return r
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// drop closes every connection abruptly and waits until every reader has
// seen it.
func (w *worker) drop(ctx context.Context) *response {
	cs := w.list(nil)
	for _, c := range cs {
		c.drop()
	}
	for w.connected.Load() > 0 && ctx.Err() == nil {
		time.Sleep(5 * time.Millisecond)
	}
	return &response{OK: len(cs)}
}

func (w *worker) closeAll() {
	w.mu.Lock()
	cs := w.clients
	w.clients = nil
	w.mu.Unlock()
	for _, c := range cs {
		c.drop()
	}
	w.readers.Wait()
}

func (w *worker) collect(key string) *response {
	r := &response{}
	rs := w.book.Load().get(key, false)
	if rs == nil {
		return r
	}
	cs := w.list(nil)
	for slot := range rs.first {
		n := rs.times[slot].Load()
		if n == 0 || slot >= len(cs) {
			continue
		}
		r.Idx = append(r.Idx, cs[slot].m.Idx)
		r.Recv = append(r.Recv, rs.first[slot].Load())
		r.Times = append(r.Times, int(n))
	}
	r.Count = len(r.Idx)
	r.Bytes = int(rs.bytes.Load())
	return r
}

func (w *worker) stats() *response {
	r := &response{Errors: w.errs.snapshot(), Repushed: w.repushed.Load(), Frames: w.frames.Load()}
	for _, c := range w.list(nil) {
		if !c.isUp() {
			r.NotConnected = append(r.NotConnected, c.m.Idx)
		}
	}
	return r
}

// runDeadline is the run's deadline: failovers give up there.
func (w *worker) runDeadline() time.Time {
	if d := w.deadline.Load(); d > 0 {
		return time.Unix(0, d)
	}
	if dl, ok := w.ctx.Deadline(); ok {
		return dl
	}
	return time.Now().Add(time.Hour)
}

// isDying reports whether the run said target t is about to be killed.
func (w *worker) isDying(t int) bool {
	w.dyingMu.Lock()
	defer w.dyingMu.Unlock()
	return w.dying[t]
}

// expectLoss marks target t as about to be killed, and answers which of
// this worker's clients are connected to it now.
func (w *worker) expectLoss(t int) *response {
	w.dyingMu.Lock()
	if w.dying == nil {
		w.dying = map[int]bool{}
	}
	w.dying[t] = true
	w.dyingMu.Unlock()
	r := &response{}
	for _, c := range w.list(nil) {
		c.mu.Lock()
		on := c.up && c.target == t
		c.mu.Unlock()
		if on {
			r.Idx = append(r.Idx, c.m.Idx)
		}
	}
	r.Count = len(r.Idx)
	return r
}

func (w *worker) addFailover(rec failoverRec) {
	dying := w.isDying(rec.From)
	w.foMu.Lock()
	w.fos = append(w.fos, rec)
	if dying {
		w.fromDying++
	}
	w.foMu.Unlock()
}

// failovers answers the failovers so far: how many, how many from a dying
// target, how many in progress, and with detail every record.
func (w *worker) failovers(detail bool) *response {
	r := &response{Failing: int(w.failing.Load()), GaveUp: w.foGaveUp.Load(), ExpectedLoss: w.expectedLoss.Load(), FoFails: w.foFails.snapshot()}
	w.foMu.Lock()
	r.Count, r.FromDying = len(w.fos), w.fromDying
	if detail {
		r.Failovers = slices.Clone(w.fos)
	}
	w.foMu.Unlock()
	return r
}

// opResult gathers the replies of many commands sent at once.
type opResult struct {
	mu sync.Mutex // guards r
	r  *response
}

func (o *opResult) add(w *worker, kind string, rep reply) {
	o.mu.Lock()
	defer o.mu.Unlock()
	r := o.r
	r.Attempted++
	if s := rep.sent.UnixNano(); r.Start == 0 || s < r.Start {
		r.Start = s
	}
	if !rep.ok {
		r.Codes[rep.code]++
		w.errs.add(kind+"_"+rep.code, 1)
		return
	}
	r.OK++
	r.End = max(r.End, rep.at)
	r.Lat = append(r.Lat, rep.at-rep.sent.UnixNano())
	w.done.Add(1)
}

// ack makes every client that received the alert answer it at once; each
// ok reply means the answer is stored.
func (w *worker) ack(ctx context.Context, req *request) *response {
	w.done.Store(0)
	res := &opResult{r: &response{Codes: map[string]int{}}}
	rs := w.book.Load().get(keyAlert+req.AlertID, false)
	if rs == nil {
		return res.r
	}
	body := func(id string) []byte {
		return fmt.Appendf(nil, `{"type":"ack","id":%q,"alert_id":%q,"response":%q}`, id, req.AlertID, req.Response)
	}
	var wg sync.WaitGroup
	for _, c := range w.list(nil) {
		if rs.times[c.slot].Load() == 0 {
			continue
		}
		wg.Go(func() { res.add(w, "ack", c.command(ctx, body)) })
	}
	wg.Wait()
	return res.r
}

// reportText marks the load tester's reports for whoever reads them.
const reportText = "压测上报（负载测试，请忽略） load test report, please ignore"

// report sends req.Reports reports, spread round-robin over the connected
// clients so that each member stays within the hub's burst of 10.
func (w *worker) report(ctx context.Context, req *request) *response {
	w.done.Store(0)
	res := &opResult{r: &response{Codes: map[string]int{}}}
	cs := w.list((*client).isUp)
	if len(cs) == 0 || req.Reports <= 0 {
		return res.r
	}
	sem := make(chan struct{}, 4096)
	var wg sync.WaitGroup
	for i := range req.Reports {
		c := cs[i%len(cs)]
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			body := func(id string) []byte {
				return fmt.Appendf(nil, `{"type":"report","id":%q,"kind":"other","text":%q,"lat":%s,"lng":%s}`,
					id, reportText, formatFloat(float64(c.m.Home[0]), 6), formatFloat(float64(c.m.Home[1]), 6))
			}
			res.add(w, "report", c.command(ctx, body))
		})
	}
	wg.Wait()
	return res.r
}
