package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// runner runs the scenarios of one invocation against the hub(s).
type runner struct {
	cfg     *config
	log     io.Writer // progress and notes
	targets []*url.URL
	api     *apiClient   // the first live target: where members and alerts are made
	apis    []*apiClient // every target, for its metrics
	killed  map[int]bool // targets this run killed (failover): no longer sampled or used
	set     *memberSet
	members []simMember // the N members this run uses
	idxByID map[string]int
	fleet   *fleet
	prog    *progress
	res     *results
	errs    errCounter // the parent's own errors (API calls, checks)

	connected  bool
	hubIdle    []hubSample // before any of our connections
	area       *areaChoice
	mu         sync.Mutex // guards toCancel
	toCancel   map[string]bool
	alertLat   []int64 // every alert receipt, for the CDF
	bulletinAt []int64
	floorLat   []int64
}

// areaChoice is the alert area: a circle around a village cluster holding
// K of the members.
type areaChoice struct {
	Village  int
	Center   latLng
	RadiusM  float64
	inside   map[int]bool // member indexes inside it
	Targeted int
	Conn     int
}

// note records a plain statement about the run and shows it at once.
func (r *runner) note(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	r.res.Notes = append(r.res.Notes, s)
	fmt.Fprintln(r.log, "note:", s)
}

func (r *runner) problem(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	r.res.Problems = append(r.res.Problems, s)
	fmt.Fprintln(r.log, "problem:", s)
}

// remaining is the time left before the -duration cap, for worker
// operations.
func (r *runner) remaining(ctx context.Context) int64 {
	if dl, ok := ctx.Deadline(); ok {
		return max(time.Until(dl).Milliseconds(), 1)
	}
	return int64(r.cfg.duration / time.Millisecond)
}

// deadline is the run's end (the -duration cap) as unix ns, for the
// workers' failovers.
func (r *runner) deadline(ctx context.Context) int64 {
	if dl, ok := ctx.Deadline(); ok {
		return dl.UnixNano()
	}
	return time.Now().Add(r.cfg.duration).UnixNano()
}

// sampleHubs reads every live target's metrics; failures count as errors.
// A target this run killed gives an empty (not valid) sample.
func (r *runner) sampleHubs(ctx context.Context) []hubSample {
	out := make([]hubSample, len(r.apis))
	for i, a := range r.apis {
		if r.killed[i] {
			continue
		}
		pid := 0
		if i < len(r.cfg.hubPIDs) {
			pid = r.cfg.hubPIDs[i]
		}
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		s, err := sampleHub(sctx, a, pid)
		cancel()
		if err != nil && ctx.Err() == nil {
			r.errs.add("metrics_unreadable", 1)
		}
		out[i] = s
	}
	return out
}

func sumConns(ss []hubSample) float64 {
	var n float64
	for _, s := range ss {
		n += s.Conns
	}
	return n
}

// workerStats asks every worker for its counters.
func (r *runner) workerStats(ctx context.Context) (errs map[string]int64, notConnected map[int]bool, repushed int64) {
	errs = map[string]int64{}
	notConnected = map[int]bool{}
	resps, err := r.fleet.each(ctx, func(*workerProc) *request { return &request{Op: opStats} })
	if err != nil && ctx.Err() == nil {
		r.errs.add("worker_unreachable", 1)
	}
	for _, resp := range resps {
		if resp == nil {
			continue
		}
		for k, v := range resp.Errors {
			errs[k] += v
		}
		for _, i := range resp.NotConnected {
			notConnected[i] = true
		}
		repushed += resp.Repushed
	}
	return errs, notConnected, repushed
}

// allErrors merges the workers' and the parent's error counts.
func (r *runner) allErrors(ctx context.Context) map[string]int64 {
	m := map[string]int64{}
	if r.fleet != nil {
		m, _, _ = r.workerStats(ctx)
	}
	for k, v := range r.errs.snapshot() {
		m[k] += v
	}
	return m
}

func diffErrors(before, after map[string]int64) map[string]int64 {
	out := map[string]int64{}
	for k, v := range after {
		if d := v - before[k]; d > 0 {
			out[k] = d
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// scenario runs fn between error and hub snapshots.
func (r *runner) scenario(ctx context.Context, name string, fn func(context.Context) error) (map[string]int64, hubDelta, error) {
	fmt.Fprintf(r.log, "== %s\n", name)
	errsBefore := r.allErrors(ctx)
	hubBefore := r.sampleHubs(ctx)
	err := fn(ctx)
	hubAfter := r.sampleHubs(ctx)
	errsAfter := r.allErrors(ctx)
	r.prog.set(name+" done", 0, nil)
	return diffErrors(errsBefore, errsAfter), diffHub(hubBefore, hubAfter), err
}

// awaitDelivery waits until every expected member has the event keyed key
// (or the wait bound passes), then checks the receipts.
func (r *runner) awaitDelivery(ctx context.Context, key string, expected map[int]bool, origin time.Time, offline map[int]bool) delivery {
	start := time.Now()
	r.awaitCount(ctx, key, len(expected))
	d := r.collectDelivery(ctx, key, expected, origin, offline)
	d.WaitedMs = round3(float64(time.Since(start)) / 1e6)
	return d
}

// awaitCount waits until want clients have the event keyed key, or the
// wait bound (-wait) passes.
func (r *runner) awaitCount(ctx context.Context, key string, want int) {
	wctx, cancel := context.WithTimeout(ctx, r.cfg.wait)
	defer cancel()
	var n atomic.Int64
	r.prog.set("await", int64(want), n.Load)
	for {
		resps, err := r.fleet.each(wctx, func(*workerProc) *request { return &request{Op: opCount, Key: key} })
		got := 0
		for _, resp := range resps {
			if resp != nil {
				got += resp.Count
			}
		}
		n.Store(int64(got))
		if got >= want || err != nil || wctx.Err() != nil {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// collectDelivery gathers the receipts of the event keyed key and checks
// them: each expected member exactly once, nobody else. Latencies run from
// origin, the moment the hub accepted the event.
func (r *runner) collectDelivery(ctx context.Context, key string, expected map[int]bool, origin time.Time, offline map[int]bool) delivery {
	// A moment more, so that a late duplicate or stray copy shows.
	time.Sleep(r.cfg.settle)
	d := delivery{Key: key, Expected: len(expected)}
	resps, err := r.fleet.each(ctx, func(*workerProc) *request { return &request{Op: opCollect, Key: key} })
	if err != nil && ctx.Err() == nil {
		r.errs.add("worker_unreachable", 1)
	}
	got := map[int]bool{}
	for _, resp := range resps {
		if resp == nil {
			continue
		}
		d.FrameBytes = max(d.FrameBytes, resp.Bytes)
		for j, idx := range resp.Idx {
			got[idx] = true
			if !expected[idx] {
				d.Unexpected++
				continue
			}
			d.Received++
			if resp.Times[j] > 1 {
				d.Duplicates++
			}
			d.lat = append(d.lat, resp.Recv[j]-origin.UnixNano())
		}
	}
	for idx := range expected {
		if !got[idx] {
			d.Missing++
			if offline[idx] {
				d.MissingOffline++
			}
		}
	}
	d.Latency = summarize(d.lat)
	d.LastMs = d.Latency.Max
	d.Complete = d.Missing == 0 && d.Duplicates == 0 && d.Unexpected == 0
	return d
}

// checkDelivery turns an incomplete delivery into a problem and error
// counts.
func (r *runner) checkDelivery(what string, d *delivery) {
	if d.Complete {
		return
	}
	r.problem("%s: %d of %d addressed members got it; %d missing (%d of them had lost their connection), %d got it more than once, %d got it without being addressed",
		what, d.Received, d.Expected, d.Missing, d.MissingOffline, d.Duplicates, d.Unexpected)
	r.errs.add("delivery_missing", int64(d.Missing))
	r.errs.add("delivery_duplicate", int64(d.Duplicates))
	r.errs.add("delivery_unexpected", int64(d.Unexpected))
}

// ours maps member ids to our indexes, dropping those not ours.
func (r *runner) ours(ids []string) (in map[int]bool, notOurs int) {
	in = make(map[int]bool, len(ids))
	for _, id := range ids {
		if i, ok := r.idxByID[id]; ok {
			in[i] = true
		} else {
			notOurs++
		}
	}
	return in, notOurs
}

func (r *runner) remember(alertID string, active bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.toCancel == nil {
		r.toCancel = map[string]bool{}
	}
	if active {
		r.toCancel[alertID] = true
	} else {
		delete(r.toCancel, alertID)
	}
}

// cleanup cancels every alert this run left active, so that later runs
// and members created later are not addressed by them.
func (r *runner) cleanup() {
	r.mu.Lock()
	ids := slicesFromSet(r.toCancel)
	r.mu.Unlock()
	if len(ids) == 0 || r.api == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, id := range ids {
		if err := r.api.cancelAlert(ctx, id); err != nil {
			fmt.Fprintf(r.log, "note: could not cancel alert %s: %v\n", id, err)
			continue
		}
		r.remember(id, false)
	}
}

func slicesFromSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range maps.Keys(m) {
		out = append(out, k)
	}
	return out
}
