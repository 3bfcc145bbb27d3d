package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// The failover scenario (issue 10, "Node loss"): everyone connected over
// the -targets, one alert to everyone, then the first target's process
// (-hub-pid) is killed with SIGKILL. Its clients fail over on their own
// (client.failover: the next target, backoff with full jitter, resume from
// their last seq); the scenario measures how long until every one of them
// has resumed on another node, then sends another alert from the first
// live target and checks that every member gets it exactly once and that
// nothing sent before the kill went missing or came twice.

// failoverVictim is the target the scenario kills: the first.
const failoverVictim = 0

// markKilled stops using target i: its metrics are no longer read, and
// members, alerts and bulletins go to the first target still alive.
func (r *runner) markKilled(i int) {
	if r.killed == nil {
		r.killed = map[int]bool{}
	}
	r.killed[i] = true
	for j, t := range r.targets {
		if !r.killed[j] {
			if r.api != nil {
				r.api.close()
			}
			r.api = newAPIClient(t.String(), r.cfg.token)
			r.note("target %s was killed: alerts and bulletins now go to %s, the first live target", r.targets[i].Host, t.Host)
			return
		}
	}
}

func (r *runner) runFailover(ctx context.Context) error {
	if err := r.ensureConnected(ctx); err != nil {
		return err
	}
	res := &failoverRes{}
	r.res.Failover = res
	var err error
	res.Errors, res.Hub, err = r.scenario(ctx, "failover", func(ctx context.Context) error {
		victim := r.targets[failoverVictim]
		pid := r.cfg.hubPIDs[failoverVictim]
		res.KilledTarget, res.KilledPID = victim.String(), pid
		if err := checkKillable(pid, victim); err != nil {
			return err
		}
		errsBefore, _, _ := r.workerStats(ctx)

		// The events before the kill: an alert to everyone and its cancel,
		// each checked to have reached every addressed member once.
		r.prog.set("failover: alert before the kill", 0, nil)
		before, err := r.sendAndMeasure(ctx, "山洪预警（压测，切换前）", false)
		res.Before = before
		if err != nil {
			return err
		}

		// Who is on the victim now; from here their loss is expected.
		resps, err := r.fleet.each(ctx, func(*workerProc) *request { return &request{Op: opExpectLoss, Target: failoverVictim} })
		if err != nil {
			return err
		}
		onVictim := map[int]bool{}
		for _, resp := range resps {
			for _, i := range resp.Idx {
				onVictim[i] = true
			}
		}
		res.OnKilled = len(onVictim)
		_, offlineBefore, _ := r.workerStats(ctx)
		res.OfflineBefore = len(offlineBefore)
		if res.OnKilled == 0 {
			return fmt.Errorf("no client is connected to %s: nothing to fail over", victim.Host)
		}

		fmt.Fprintf(r.log, "failover: SIGKILL to process %d (%s), which holds %s of our clients\n", pid, victim.Host, group(int64(res.OnKilled)))
		killAt := time.Now()
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			return fmt.Errorf("SIGKILL process %d (-hub-pid of %s): %w", pid, victim.Host, err)
		}
		res.KilledAt = killAt.UTC()
		r.markKilled(failoverVictim)

		// Until every one of them has resumed elsewhere, or the bound.
		var n atomic.Int64
		r.prog.set("failover: resumed", int64(res.OnKilled), n.Load)
		wctx, cancel := context.WithTimeout(ctx, max(r.cfg.wait, time.Minute))
		for {
			resps, err := r.fleet.each(wctx, func(*workerProc) *request { return &request{Op: opFailovers} })
			got := 0
			for _, resp := range resps {
				if resp != nil {
					got += resp.FromDying
				}
			}
			n.Store(int64(got))
			if got >= res.OnKilled || err != nil || wctx.Err() != nil {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		cancel()
		res.WaitedMs = ms(int64(time.Since(killAt)))

		resps, err = r.fleet.each(ctx, func(*workerProc) *request { return &request{Op: opFailovers, Detail: true} })
		if err != nil {
			return err
		}
		r.summarizeFailovers(res, resps, onVictim, killAt)
		if res.NotResumed > 0 {
			r.problem("failover: %d of the %d clients on the killed node did not resume on another node within %s", res.NotResumed, res.OnKilled, max(r.cfg.wait, time.Minute))
		}
		if res.ResumedOnKilled > 0 {
			r.problem("failover: %d clients resumed on the killed node's address", res.ResumedOnKilled)
		}
		if res.OtherFailovers > 0 {
			r.problem("failover: %d clients of the surviving nodes lost their connection too", res.OtherFailovers)
		}

		// One more alert, from the first live target: everyone once.
		r.prog.set("failover: alert after", 0, nil)
		after, err := r.sendAndMeasure(ctx, "山洪预警（压测，切换后）", false)
		res.After = after
		if err != nil {
			return err
		}
		if extra := after.Offline - res.OfflineBefore; extra > 0 {
			r.problem("failover: %d addressed members were not connected when the alert after the failover was sent", extra)
		}

		// Nothing sent before the kill missing, or received again.
		res.BeforeAlertAgain = r.collectDelivery(ctx, keyAlert+before.AlertID, before.expected, killAt, before.offline)
		res.BeforeCancelAgain = r.collectDelivery(ctx, keyCancel+before.AlertID, before.expected, killAt, before.offline)
		for what, d := range map[string]*delivery{"the alert sent before the kill": &res.BeforeAlertAgain, "its cancel": &res.BeforeCancelAgain} {
			d.Latency, d.LastMs = latency{}, 0 // not a delivery measurement: a recount
			if d.Missing > 0 || d.Duplicates > 0 || d.Unexpected > 0 {
				r.problem("failover: after the failover, %s is missing for %d members and was received more than once by %d", what, d.Missing, d.Duplicates)
				r.errs.add("delivery_missing", int64(d.Missing))
				r.errs.add("delivery_duplicate", int64(d.Duplicates))
			}
		}
		errsAfter, _, _ := r.workerStats(ctx)
		res.Duplicates = errsAfter["duplicate_seq"] - errsBefore["duplicate_seq"]
		res.OldEvents = errsAfter["old_event_after_resume"] - errsBefore["old_event_after_resume"]
		if res.Duplicates > 0 {
			r.problem("failover: %d events arrived twice on one connection", res.Duplicates)
		}
		if res.OldEvents > 0 {
			r.problem("failover: %d events at or below a resume cursor were sent again", res.OldEvents)
		}
		res.NothingLost = res.NotResumed == 0 && before.Delivery.Complete && before.CancelComplete &&
			after.Delivery.Complete && after.CancelComplete &&
			res.BeforeAlertAgain.Complete && res.BeforeCancelAgain.Complete &&
			res.Duplicates == 0 && res.OldEvents == 0
		return nil
	})
	return err
}

// summarizeFailovers turns the workers' failover records into the
// scenario's figures: for each client that was on the killed node, the
// time from the kill (and from its own loss) to the resume reply on
// another node.
func (r *runner) summarizeFailovers(res *failoverRes, resps []*response, onVictim map[int]bool, killAt time.Time) {
	var sinceKill, sinceLoss []int64
	done := map[int]bool{}
	res.ResumedOn = map[string]int{}
	res.DialFailures = map[string]int64{}
	for _, resp := range resps {
		if resp == nil {
			continue
		}
		res.ExpectedLosses += resp.ExpectedLoss
		res.GaveUp += resp.GaveUp
		for k, v := range resp.FoFails {
			res.DialFailures[k] += v
		}
		for _, f := range resp.Failovers {
			switch {
			case f.Lost < killAt.UnixNano():
				continue // before the kill: in the run's figure (client_failovers)
			case !onVictim[f.Idx] || f.From != failoverVictim || done[f.Idx]:
				res.OtherFailovers++ // a surviving node's client, or a second loss
				continue
			}
			done[f.Idx] = true
			if f.To == failoverVictim {
				res.ResumedOnKilled++
			}
			if f.To >= 0 && f.To < len(r.targets) {
				res.ResumedOn[r.targets[f.To].Host]++
			}
			sinceKill = append(sinceKill, f.Resumed-killAt.UnixNano())
			sinceLoss = append(sinceLoss, f.Resumed-f.Lost)
			res.AttemptsMax = max(res.AttemptsMax, f.Attempts)
			if f.Attempts > 1 {
				res.Retried++
			}
		}
	}
	res.Resumed = len(done)
	res.NotResumed = res.OnKilled - res.Resumed
	res.SinceKill = summarize(sinceKill)
	res.SinceLoss = summarize(sinceLoss)
	res.AllWithinMs = res.SinceKill.Max
	if len(res.DialFailures) == 0 {
		res.DialFailures = nil
	}
}

// clientFailovers sums every failover of the run (any scenario), or nil
// when there was none.
func (r *runner) clientFailovers(ctx context.Context) *clientFailoverRes {
	resps, err := r.fleet.each(ctx, func(*workerProc) *request { return &request{Op: opFailovers, Detail: true} })
	if err != nil && ctx.Err() == nil {
		r.errs.add("worker_unreachable", 1)
	}
	c := &clientFailoverRes{DialFailures: map[string]int64{}}
	var lat []int64
	for _, resp := range resps {
		if resp == nil {
			continue
		}
		c.InProgress += resp.Failing
		c.GaveUp += resp.GaveUp
		c.ExpectedLosses += resp.ExpectedLoss
		for k, v := range resp.FoFails {
			c.DialFailures[k] += v
		}
		for _, f := range resp.Failovers {
			c.Reconnections++
			lat = append(lat, f.Resumed-f.Lost)
			c.AttemptsMax = max(c.AttemptsMax, f.Attempts)
		}
	}
	if c.Reconnections == 0 && c.GaveUp == 0 && c.InProgress == 0 {
		return nil
	}
	c.Resume = summarize(lat)
	if len(c.DialFailures) == 0 {
		c.DialFailures = nil
	}
	return c
}

// checkKillable refuses to SIGKILL anything but the hub process of the
// target: the process must exist, be neither this process nor its parent,
// and listen on the target's TCP port (read from /proc, so Linux only).
func checkKillable(pid int, target *url.URL) error {
	if pid <= 1 || pid == os.Getpid() || pid == os.Getppid() {
		return fmt.Errorf("-hub-pid %d: will not kill that process", pid)
	}
	port := target.Port()
	if port == "" {
		port = "80"
		if target.Scheme == "https" {
			port = "443"
		}
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return fmt.Errorf("target %s: port %q", target.Host, port)
	}
	ok, err := listensOn(pid, p)
	if err != nil {
		return fmt.Errorf("-hub-pid %d: cannot check that it is the hub of %s before killing it: %w", pid, target.Host, err)
	}
	if !ok {
		return fmt.Errorf("-hub-pid %d does not listen on port %d: it is not the hub of %s, and the failover scenario kills only that", pid, p, target.Host)
	}
	return nil
}

// listensOn reports whether process pid holds a listening TCP socket on
// port: the socket inodes among its open files, matched against the
// listening sockets of its network namespace.
func listensOn(pid, port int) (bool, error) {
	fdDir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(fdDir)
	if err != nil {
		return false, err
	}
	inodes := map[string]bool{}
	for _, e := range ents {
		l, err := os.Readlink(fdDir + "/" + e.Name())
		if err != nil {
			continue
		}
		if in, ok := strings.CutPrefix(l, "socket:["); ok {
			inodes[strings.TrimSuffix(in, "]")] = true
		}
	}
	var errs []error
	for _, f := range []string{"tcp", "tcp6"} {
		ok, err := listeningInode(fmt.Sprintf("/proc/%d/net/%s", pid, f), port, inodes)
		if ok {
			return true, nil
		}
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return false, errors.Join(errs...)
}

// listeningInode scans a /proc/net/tcp{,6} table for a socket in LISTEN
// state (0A) on port whose inode is one of inodes.
func listeningInode(path string, port int, inodes map[string]bool) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) < 10 || fs[3] != "0A" {
			continue
		}
		_, hexPort, ok := strings.Cut(fs[1], ":")
		if !ok {
			continue
		}
		if p, err := strconv.ParseInt(hexPort, 16, 32); err == nil && int(p) == port && inodes[fs[9]] {
			return true, nil
		}
	}
	return false, sc.Err()
}
