package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// alertBody makes the alert frame about the size of a real warning (about
// 400 bytes with its area and times).
const alertBody = "负载测试：这是一条测试预警，请忽略。Load test alert, please ignore."

func (r *runner) alertRequest(title string, a *areaChoice) *alertReq {
	return &alertReq{Kind: "warning", Severity: "severe", Title: title, Body: alertBody, Area: circleArea(a.Center, a.RadiusM)}
}

// countAPI counts a failed API call by route and status.
func (r *runner) countAPI(err error) {
	var ae *apiError
	if errors.As(err, &ae) {
		r.errs.add(ae.kind(), 1)
		return
	}
	r.errs.add("api_failed", 1)
}

// chooseArea picks, once, a circle around the first village cluster that
// holds K of the members: the radius falls between the K-th and the
// K+1-th nearest home. The hub's preview must then say K; when it says
// more, other members (of earlier runs, or real ones) live there too: the
// run says so and goes on, since deliveries are checked against the
// alert's recipients.
func (r *runner) chooseArea(ctx context.Context) (*areaChoice, error) {
	if r.area != nil {
		return r.area, nil
	}
	k := r.cfg.k
	a := &areaChoice{Village: 0, Center: r.set.Villages[0].Center}
	type near struct {
		idx int
		d   float64
	}
	ds := make([]near, len(r.members))
	for i, m := range r.members {
		ds[i] = near{i, distance(a.Center, m.Home)}
	}
	slices.SortFunc(ds, func(x, y near) int { return cmp.Compare(x.d, y.d) })
	if k >= len(ds) {
		a.RadiusM = ds[len(ds)-1].d + 50
	} else {
		a.RadiusM = (ds[k-1].d + ds[k].d) / 2
	}
	a.inside = map[int]bool{}
	for _, n := range ds {
		if n.d <= a.RadiusM {
			a.inside[n.idx] = true
		}
	}
	t, c, err := r.api.preview(ctx, &alertReq{Kind: "warning", Severity: "severe", Title: "preview", Area: circleArea(a.Center, a.RadiusM)})
	if err != nil {
		r.countAPI(err)
		return nil, fmt.Errorf("alert preview: %w", err)
	}
	a.Targeted, a.Conn = t, c
	switch {
	case t > len(a.inside):
		r.note("the alert circle (%.0f m around %s) holds %d of this run's members, and the hub's preview targets %d: %d other members live there (earlier runs?); they are addressed too and checked against the recipients list",
			a.RadiusM, r.set.Villages[0].Name, len(a.inside), t, t-len(a.inside))
	case t < len(a.inside):
		r.problem("the alert circle (%.0f m around %s) holds %d of this run's members by their homes, but the hub's preview targets only %d",
			a.RadiusM, r.set.Villages[0].Name, len(a.inside), t)
	}
	r.area = a
	return a, nil
}

// sendAndMeasure sends one alert to the area, waits for its delivery and
// checks it against GET /alerts/{id}/recipients. Unless keep is set it then
// cancels the alert and checks that every recipient hears of the cancel.
func (r *runner) sendAndMeasure(ctx context.Context, title string, keep bool) (alertSend, error) {
	var s alertSend
	area, err := r.chooseArea(ctx)
	if err != nil {
		return s, err
	}
	_, offline, _ := r.workerStats(ctx)
	guess := 0
	for i := range area.inside {
		if !offline[i] {
			guess++
		}
	}
	t0 := time.Now()
	a, err := r.api.sendAlert(ctx, r.alertRequest(title, area))
	s.PostMs = ms(int64(time.Since(t0)))
	if err != nil {
		r.countAPI(err)
		return s, fmt.Errorf("send alert: %w", err)
	}
	r.remember(a.ID, true)
	s.AlertID, s.Targeted, s.Connected = a.ID, a.Targeted, a.Connected
	start := time.Now()
	r.awaitCount(ctx, keyAlert+a.ID, guess)
	recips, err := r.api.recipients(ctx, a.ID)
	if err != nil {
		r.countAPI(err)
		return s, fmt.Errorf("alert recipients: %w", err)
	}
	ours, notOurs := r.ours(recips)
	s.Recipients, s.NotOurs = len(recips), notOurs
	expected := map[int]bool{}
	for i := range ours {
		if offline[i] {
			s.Offline++
		} else {
			expected[i] = true
		}
	}
	if len(expected) != guess {
		// The hub addressed others than the homes predict: wait for them.
		r.awaitCount(ctx, keyAlert+a.ID, len(expected))
	}
	s.Delivery = r.collectDelivery(ctx, keyAlert+a.ID, expected, a.CreatedAt, offline)
	if s.Delivery.Received > 0 {
		created := ms(int64(a.CreatedAt.Sub(t0)))
		s.CreatedMs = created
		s.FromPostP50Ms = round3(created + s.Delivery.Latency.P50)
		s.FromPostLastMs = round3(created + s.Delivery.LastMs)
	}
	s.Delivery.WaitedMs = round3(float64(time.Since(start)) / 1e6)
	r.checkDelivery("alert "+a.ID, &s.Delivery)
	s.expected, s.offline = expected, offline
	if keep {
		return s, nil
	}
	return s, r.cancelAndCheck(ctx, &s, expected, offline)
}

// cancelAndCheck cancels the alert and waits until its addressed members
// got the alert_cancel, so the next measurement starts quiet.
func (r *runner) cancelAndCheck(ctx context.Context, s *alertSend, expected, offline map[int]bool) error {
	t0 := time.Now()
	if err := r.api.cancelAlert(ctx, s.AlertID); err != nil {
		r.countAPI(err)
		return fmt.Errorf("cancel alert: %w", err)
	}
	r.remember(s.AlertID, false)
	cd := r.awaitDelivery(ctx, keyCancel+s.AlertID, expected, t0, offline)
	s.CancelComplete, s.CancelMissing = cd.Complete, cd.Missing
	if !cd.Complete {
		r.checkDelivery("cancel of alert "+s.AlertID, &cd)
	}
	return nil
}

func (r *runner) runAlert(ctx context.Context) error {
	if err := r.ensureConnected(ctx); err != nil {
		return err
	}
	res := &alertRes{K: r.cfg.k, Complete: true}
	r.res.Alert = res
	var err error
	res.Errors, res.Hub, err = r.scenario(ctx, "alert", func(ctx context.Context) error {
		area, err := r.chooseArea(ctx)
		if err != nil {
			return err
		}
		res.Village, res.Center, res.RadiusM = r.set.Villages[area.Village].Name, area.Center, round1(area.RadiusM)
		res.PreviewTargeted, res.PreviewConnected = area.Targeted, area.Conn
		var all, lasts, fromPost []int64
		for i := range r.cfg.repeat {
			r.prog.set(fmt.Sprintf("alert %d/%d", i+1, r.cfg.repeat), 0, nil)
			s, err := r.sendAndMeasure(ctx, fmt.Sprintf("山洪预警（压测 %d）", i+1), false)
			if s.AlertID != "" {
				res.Sends = append(res.Sends, s)
				all = append(all, s.Delivery.lat...)
				r.alertLat = append(r.alertLat, s.Delivery.lat...)
				lasts = append(lasts, int64(s.Delivery.LastMs*1e6))
				fromPost = append(fromPost, int64(s.FromPostLastMs*1e6))
				res.Complete = res.Complete && s.Delivery.Complete
			}
			if err != nil {
				res.Complete = false
				return err
			}
			fmt.Fprintf(r.log, "alert %d/%d: %s of %s addressed members got it; from created_at p50 %s, p99 %s, last %s; from before the POST: created_at +%s, answered +%s, last +%s\n", i+1, r.cfg.repeat,
				group(int64(s.Delivery.Received)), group(int64(s.Delivery.Expected)), fmtMs(s.Delivery.Latency.P50), fmtMs(s.Delivery.Latency.P99), fmtMs(s.Delivery.LastMs),
				fmtMs(s.CreatedMs), fmtMs(s.PostMs), fmtMs(s.FromPostLastMs))
		}
		res.Latency = summarize(all)
		res.LastMs = summarize(lasts)
		res.FromPostLastMs = summarize(fromPost)
		return nil
	})
	return err
}

// runAck sends an alert, waits until everyone has it, then every
// recipient answers at once; each ok reply is an answer stored.
func (r *runner) runAck(ctx context.Context) error {
	if err := r.ensureConnected(ctx); err != nil {
		return err
	}
	res := &ackRes{}
	r.res.Ack = res
	var err error
	res.Errors, res.Hub, err = r.scenario(ctx, "ack", func(ctx context.Context) error {
		s, err := r.sendAndMeasure(ctx, "收到请回复（压测）", true)
		res.Alert = s
		if err != nil {
			return err
		}
		before := r.sampleHubs(ctx)
		r.prog.set("ack", int64(s.Delivery.Received), r.prog.fleetDone)
		resps, err := r.fleet.each(ctx, func(*workerProc) *request {
			return &request{Op: opAck, AlertID: s.AlertID, Response: "received", TimeoutMs: min(r.remaining(ctx), 60000)}
		})
		t := sumOp(resps)
		res.Answers, res.OK, res.Failed = t.attempted, t.ok, t.codes
		res.Seconds = seconds(t.start, t.end)
		res.RatePerS = rate(res.OK, t.start, t.end)
		res.Reply = summarize(t.lat)
		if err != nil {
			return err
		}
		if res.OK < res.Answers || res.Answers < s.Delivery.Received {
			r.problem("ack: %d of %d answers were stored (%v)", res.OK, s.Delivery.Received, res.Failed)
		}
		after := r.sampleHubs(ctx)
		for i := range after {
			res.HubAcksDelta += after[i].AcksStored - before[i].AcksStored
		}
		p, err := r.api.progress(ctx, s.AlertID)
		if err != nil {
			r.countAPI(err)
		} else {
			res.HubReceived = p.Acked["received"]
			if res.HubReceived != res.OK {
				r.problem("ack: %d answers confirmed but the alert's progress counts %d received", res.OK, res.HubReceived)
			}
		}
		return r.cancelAndCheck(ctx, &res.Alert, s.expected, s.offline)
	})
	return err
}
