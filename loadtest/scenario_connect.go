package main

import (
	"context"
	"fmt"
	"time"
)

// hubConnLimit is about what one hub process can hold under the 20,000
// open-files limit of this machine's processes.
const hubConnLimit = 19000

// assignMembers gives each worker its share, round-robin so that every
// worker holds members of every village; member i uses target i mod T.
func (r *runner) assignMembers() {
	for _, p := range r.fleet.procs {
		p.members = p.members[:0]
	}
	w := len(r.fleet.procs)
	for i, m := range r.members {
		r.fleet.procs[i%w].members = append(r.fleet.procs[i%w].members, memberRef{
			Idx: i, Token: m.Token, Target: i % len(r.targets), Village: m.Village,
			Home: [2]float6{float6(m.Home.Lat), float6(m.Home.Lng)},
		})
	}
}

func (r *runner) wsURLs() []string {
	out := make([]string, len(r.targets))
	for i, t := range r.targets {
		out[i] = wsURL(t)
	}
	return out
}

// checkCapacity says plainly, before connecting, when a hub's own limits
// will cap the run.
func (r *runner) checkCapacity(idle []hubSample) {
	per := make([]int, len(r.targets))
	for i := range r.members {
		per[i%len(r.targets)]++
	}
	for i, s := range idle {
		if per[i] > hubConnLimit {
			r.note("%d connections to %s: one hub process can hold at most about %s connections (each process here may hold 20,000 open files); connections beyond that will fail because of the hub's own limit, not the load tester's",
				per[i], r.targets[i].Host, group(hubConnLimit))
		}
		if s.MaxFDs > 0 {
			free := int(s.MaxFDs - s.OpenFDs - 30)
			if per[i] > free {
				r.note("hub %s has %s of %s open files in use, so it can take about %s more connections, fewer than the %s asked for: this run is capped by the hub's open-files limit",
					r.targets[i].Host, groupf(s.OpenFDs), groupf(s.MaxFDs), group(int64(max(free, 0))), group(int64(per[i])))
			}
		}
	}
}

// ensureConnected runs the connect scenario unless the clients already are.
func (r *runner) ensureConnected(ctx context.Context) error {
	if r.connected {
		return nil
	}
	return r.runConnect(ctx)
}

func (r *runner) runConnect(ctx context.Context) error {
	res := &connectRes{Requested: len(r.members)}
	r.res.Connect = res
	var err error
	res.Errors, res.Hub, err = r.scenario(ctx, "connect", func(ctx context.Context) error {
		idle := r.sampleHubs(ctx)
		if r.hubIdle == nil {
			r.hubIdle = idle
		}
		r.checkCapacity(idle)
		r.assignMembers()
		r.prog.set("connect", int64(len(r.members)), r.prog.fleetDone)
		urls := r.wsURLs()
		per := r.cfg.connectRate / float64(len(r.fleet.procs))
		resps, err := r.fleet.each(ctx, func(p *workerProc) *request {
			return &request{Op: opConnect, URLs: urls, Members: p.members, Concurrency: r.cfg.dialConc, Rate: per, TimeoutMs: r.remaining(ctx), Deadline: r.deadline(ctx)}
		})
		r.connected = true
		t := sumOp(resps)
		res.Connected, res.Failures = t.ok, t.codes
		res.Failed = res.Requested - res.Connected
		res.Seconds = seconds(t.start, t.end)
		res.RatePerS = rate(res.Connected, t.start, t.end)
		res.Dial = summarize(t.lat)
		if err != nil {
			return err
		}
		res.Memory = r.measureMemory(ctx, idle, res.Connected)
		if res.Failed > 0 {
			r.problem("connect: %d of %d members could not connect (%v)", res.Failed, res.Requested, res.Failures)
			if res.Failures["http_401"] > 0 {
				r.note("the hub refused %d tokens (401): a -members file made against another hub or data folder? Delete it to create members afresh", res.Failures["http_401"])
			}
			after := r.sampleHubs(ctx)
			for i, s := range after {
				if s.MaxFDs > 0 && s.OpenFDs >= s.MaxFDs-40 {
					r.note("hub %s is at its open-files limit (%s of %s): the hub's own limit capped this run", r.targets[i].Host, groupf(s.OpenFDs), groupf(s.MaxFDs))
				}
			}
		}
		return nil
	})
	return err
}

// measureMemory waits until the hub counts our connections, then reads
// its memory: (after - before) / connections added.
func (r *runner) measureMemory(ctx context.Context, idle []hubSample, connected int) *memoryRes {
	if connected == 0 {
		return nil
	}
	want := sumConns(idle) + float64(connected)
	var after []hubSample
	for deadline := time.Now().Add(5 * time.Second); ; {
		after = r.sampleHubs(ctx)
		if sumConns(after) >= want || time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Let the hub finish the welcomes' garbage before reading its size.
	time.Sleep(time.Second)
	after = r.sampleHubs(ctx)
	m := &memoryRes{Source: "metrics"}
	var heapB, heapA, gB, gA float64
	for i := range after {
		m.ConnsBefore += idle[i].Conns
		m.ConnsAfter += after[i].Conns
		m.RSSBefore += idle[i].RSS
		m.RSSAfter += after[i].RSS
		heapB += idle[i].HeapInuse
		heapA += after[i].HeapInuse
		gB += idle[i].Goroutines
		gA += after[i].Goroutines
		if after[i].FromProc {
			m.Source = "/proc"
		}
	}
	added := m.ConnsAfter - m.ConnsBefore
	if added <= 0 {
		r.note("the hub's metrics show no new connections (hub_connections %v -> %v); memory per connection not measured", m.ConnsBefore, m.ConnsAfter)
		return m
	}
	m.RSSPerConn = round1((m.RSSAfter - m.RSSBefore) / added)
	m.HeapPerConn = round1((heapA - heapB) / added)
	m.GoroutinesPerConn = round3((gA - gB) / added)
	return m
}

// runReconnect drops every connection, sends an alert and a bulletin while
// everyone is away, then reconnects everyone with resume from its last
// seq, and checks that each got each exactly once.
func (r *runner) runReconnect(ctx context.Context) error {
	if err := r.ensureConnected(ctx); err != nil {
		return err
	}
	res := &reconnectRes{}
	r.res.Reconnect = res
	var err error
	res.Errors, res.Hub, err = r.scenario(ctx, "reconnect", func(ctx context.Context) error {
		area, err := r.chooseArea(ctx)
		if err != nil {
			return err
		}
		_, offlineBefore, _ := r.workerStats(ctx)
		res.Dropped = len(r.members) - len(offlineBefore)
		r.prog.set("drop", 0, nil)
		if _, err := r.fleet.each(ctx, func(*workerProc) *request { return &request{Op: opDrop, TimeoutMs: 30000} }); err != nil {
			return err
		}
		// Wait until the hub has seen them go, so the gap events find them
		// away.
		if r.hubIdle != nil {
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && ctx.Err() == nil; {
				if sumConns(r.sampleHubs(ctx)) <= sumConns(r.hubIdle) {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
		gap, err := r.api.sendAlert(ctx, r.alertRequest("断线期间预警（压测）", area))
		if err != nil {
			r.countAPI(err)
			return fmt.Errorf("gap alert: %w", err)
		}
		r.remember(gap.ID, true)
		vi := r.busiestVillage(offlineBefore)
		bul, err := r.api.sendBulletin(ctx, r.set.Villages[vi].ID, "断线期间公告（压测）", "负载测试：断线重连期间发布的公告，请忽略。")
		if err != nil {
			r.countAPI(err)
			return fmt.Errorf("gap bulletin: %w", err)
		}
		recips, err := r.api.recipients(ctx, gap.ID)
		if err != nil {
			r.countAPI(err)
			return err
		}

		r.prog.set("reconnect", int64(res.Dropped), r.prog.fleetDone)
		resps, err := r.fleet.each(ctx, func(*workerProc) *request {
			return &request{Op: opReconnect, Concurrency: r.cfg.dialConc, Rate: r.cfg.connectRate / float64(len(r.fleet.procs)), TimeoutMs: r.remaining(ctx)}
		})
		t := sumOp(resps)
		res.Resumed, res.Failed = t.ok, t.codes
		res.Seconds = seconds(t.start, t.end)
		res.RatePerS = rate(res.Resumed, t.start, t.end)
		res.Resume = summarize(t.lat)
		if err != nil {
			return err
		}
		if res.Resumed < res.Dropped {
			r.problem("reconnect: %d of %d members resumed (%v)", res.Resumed, res.Dropped, res.Failed)
		}

		_, offline, _ := r.workerStats(ctx)
		expected, _ := r.ours(recips)
		for i := range expected {
			if offline[i] || offlineBefore[i] {
				delete(expected, i)
			}
		}
		res.GapAlert = r.awaitDelivery(ctx, keyAlert+gap.ID, expected, gap.CreatedAt, offline)
		r.checkDelivery("reconnect: alert sent while away", &res.GapAlert)
		inVillage := map[int]bool{}
		for i, m := range r.members {
			if m.Village == vi && !offline[i] && !offlineBefore[i] {
				inVillage[i] = true
			}
		}
		res.GapBulletin = r.awaitDelivery(ctx, keyBulletin+bul.ID, inVillage, bul.PublishedAt, offline)
		r.checkDelivery("reconnect: bulletin sent while away", &res.GapBulletin)
		errs, _, repushed := r.workerStats(ctx)
		res.Duplicates = errs["duplicate_seq"]
		res.OldEvents = errs["old_event_after_resume"]
		res.Repushed = repushed
		if res.Duplicates > 0 {
			r.problem("reconnect: %d events arrived twice on one connection", res.Duplicates)
		}
		if res.OldEvents > 0 {
			r.problem("reconnect: %d events at or below the resume cursor were sent again", res.OldEvents)
		}
		res.NothingLost = res.GapAlert.Complete && res.GapBulletin.Complete && res.Duplicates == 0 && res.OldEvents == 0

		// Tidy up: cancel the gap alert, and check everyone hears of it.
		if err := r.api.cancelAlert(ctx, gap.ID); err != nil {
			r.countAPI(err)
			return err
		}
		r.remember(gap.ID, false)
		cd := r.awaitDelivery(ctx, keyCancel+gap.ID, expected, time.Now(), offline)
		res.CancelMissed = cd.Missing
		if cd.Missing > 0 {
			r.problem("reconnect: %d addressed members did not get the gap alert's cancel", cd.Missing)
		}
		return nil
	})
	return err
}

// busiestVillage is the village with the most connected members.
func (r *runner) busiestVillage(offline map[int]bool) int {
	counts := make([]int, len(r.set.Villages))
	for i, m := range r.members {
		if !offline[i] {
			counts[m.Village]++
		}
	}
	best := 0
	for v, n := range counts {
		if n > counts[best] {
			best = v
		}
	}
	return best
}
