package main

import (
	"context"
	"time"
)

// reportBurst is the hub's per-member report burst (then 1 per 2 s).
const reportBurst = 10

// runReport sends M reports at once, spread over the connected members so
// that none exceeds the hub's burst; each ok reply is a stored report.
func (r *runner) runReport(ctx context.Context) error {
	if err := r.ensureConnected(ctx); err != nil {
		return err
	}
	res := &reportRes{Requested: r.cfg.reports}
	r.res.Report = res
	var err error
	res.Errors, res.Hub, err = r.scenario(ctx, "report", func(ctx context.Context) error {
		_, offline, _ := r.workerStats(ctx)
		conns := make([]int, len(r.fleet.procs))
		total := 0
		for _, p := range r.fleet.procs {
			for _, m := range p.members {
				if !offline[m.Idx] {
					conns[p.id]++
					total++
				}
			}
		}
		if total == 0 {
			r.problem("report: no member is connected")
			return nil
		}
		// Share M by connected members, the remainder to the first workers.
		share := make([]int, len(conns))
		left := res.Requested
		for i, c := range conns {
			share[i] = res.Requested * c / total
			left -= share[i]
		}
		for i := 0; left > 0; i = (i + 1) % len(share) {
			if conns[i] > 0 {
				share[i]++
				left--
			}
		}
		for i, c := range conns {
			if c > 0 {
				res.PerMemberMax = max(res.PerMemberMax, (share[i]+c-1)/c)
			}
		}
		if res.PerMemberMax > reportBurst {
			r.note("report: %d reports over %d connected members is up to %d per member, over the hub's burst of %d: expect rate_limited answers",
				res.Requested, total, res.PerMemberMax, reportBurst)
		}
		r.prog.set("report", int64(res.Requested), r.prog.fleetDone)
		resps, err := r.fleet.each(ctx, func(p *workerProc) *request {
			return &request{Op: opReport, Reports: share[p.id], TimeoutMs: min(r.remaining(ctx), 60000)}
		})
		t := sumOp(resps)
		res.Sent, res.OK, res.Failed = t.attempted, t.ok, t.codes
		res.Seconds = seconds(t.start, t.end)
		res.RatePerS = rate(res.OK, t.start, t.end)
		res.Reply = summarize(t.lat)
		if err != nil {
			return err
		}
		if res.OK < res.Requested {
			r.problem("report: %d of %d reports were stored (%v)", res.OK, res.Requested, res.Failed)
		}
		return nil
	})
	return err
}

// runBulletin publishes a bulletin to the village with the most connected
// members and checks that exactly its members got it.
func (r *runner) runBulletin(ctx context.Context) error {
	if err := r.ensureConnected(ctx); err != nil {
		return err
	}
	res := &bulletinRes{}
	r.res.Bulletin = res
	var err error
	res.Errors, res.Hub, err = r.scenario(ctx, "bulletin", func(ctx context.Context) error {
		_, offline, _ := r.workerStats(ctx)
		vi := r.busiestVillage(offline)
		res.Village = r.set.Villages[vi].Name
		t0 := time.Now()
		b, err := r.api.sendBulletin(ctx, r.set.Villages[vi].ID, "村务公告（压测）", "负载测试：这是一条测试公告，请忽略。Load test bulletin, please ignore.")
		res.PostMs = ms(int64(time.Since(t0)))
		if err != nil {
			r.countAPI(err)
			return err
		}
		res.BulletinID = b.ID
		expected := map[int]bool{}
		for i, m := range r.members {
			if m.Village == vi && !offline[i] {
				expected[i] = true
			}
		}
		res.Delivery = r.awaitDelivery(ctx, keyBulletin+b.ID, expected, b.PublishedAt, offline)
		r.checkDelivery("bulletin "+b.ID, &res.Delivery)
		r.bulletinAt = append(r.bulletinAt, res.Delivery.lat...)
		return nil
	})
	return err
}
