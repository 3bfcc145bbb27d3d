package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
)

func writeJSON(path string, res *results) error {
	data, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}

// ratios states the hub's figures over the floor's, from this run's
// baseline or from the -compare file.
func (r *runner) ratios() {
	floor := r.res.Baseline
	if floor == nil && r.cfg.compare != "" {
		data, err := os.ReadFile(r.cfg.compare)
		if err == nil {
			var old results
			if err = json.Unmarshal(data, &old); err == nil {
				floor = old.Baseline
			}
		}
		if err != nil || floor == nil {
			r.note("-compare %s: no baseline results in it (%v)", r.cfg.compare, err)
			return
		}
		r.note("floor taken from %s (%d connections)", r.cfg.compare, floor.Connections)
	}
	if floor == nil || floor.Latency.N == 0 {
		return
	}
	m := map[string]float64{}
	div := func(key string, hub, base float64) {
		if hub > 0 && base > 0 {
			m[key] = round3(hub / base)
		}
	}
	if a := r.res.Alert; a != nil && a.Latency.N > 0 {
		div("alert_p50_over_floor", a.Latency.P50, floor.Latency.P50)
		div("alert_p90_over_floor", a.Latency.P90, floor.Latency.P90)
		div("alert_p99_over_floor", a.Latency.P99, floor.Latency.P99)
		div("alert_last_over_floor", a.LastMs.Max, floor.LastMs.Max)
		if a.K != floor.Connections {
			r.note("the alert went to %d members and the floor's message to %d connections: for a like-for-like ratio run the baseline with -n equal to -k", a.K, floor.Connections)
		}
	}
	if b := r.res.Bulletin; b != nil && b.Delivery.Latency.N > 0 {
		div("bulletin_p50_over_floor", b.Delivery.Latency.P50, floor.Latency.P50)
		div("bulletin_last_over_floor", b.Delivery.LastMs, floor.LastMs.Max)
	}
	if c := r.res.Connect; c != nil && c.RatePerS > 0 {
		div("connect_rate_over_floor", c.RatePerS, floor.ConnectRate)
	}
	if len(m) > 0 {
		r.res.Ratios = m
	}
}

func lat(l latency) string {
	return fmt.Sprintf("p50 %s, p90 %s, p99 %s, max %s", fmtMs(l.P50), fmtMs(l.P90), fmtMs(l.P99), fmtMs(l.Max))
}

func yes(b bool) string {
	if b {
		return "yes"
	}
	return "NO"
}

func counts[V int | int64 | float64](m map[string]V) string {
	if len(m) == 0 {
		return "none"
	}
	keys := slices.Sorted(maps.Keys(m))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %v", k, m[k])
	}
	return strings.Join(parts, ", ")
}

func hubLine(h hubDelta) string {
	s := fmt.Sprintf("hub CPU %.2f s (%.2f cores)", h.CPUSeconds, h.CPUCores)
	if len(h.Drops) > 0 {
		s += "; hub drops: " + counts(h.Drops)
	}
	for _, n := range h.Nodes {
		s += fmt.Sprintf("\n           node %d: CPU %.2f s, RSS %.0f MiB, %.0f connections, from Redis %.0f B in %.0f messages",
			n.Node, n.CPUSeconds, n.RSSAfter/(1<<20), n.Conns, n.BrokerIn, n.BrokerMsgs)
	}
	return s
}

// hostOf names the target the alert after a failover went to: the first
// one not killed.
func hostOf(res *results, f *failoverRes) string {
	for _, t := range res.Targets {
		if t != f.KilledTarget {
			return t
		}
	}
	return "?"
}

// writeSummary prints the human summary.
func writeSummary(w io.Writer, res *results) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	p("")
	p("== loadtest summary (%.1f s)", res.Seconds)
	where := "the floor server only"
	if len(res.Targets) > 0 {
		where = strings.Join(res.Targets, ", ")
	}
	p("%-10s %s members against %s; %d worker process(es); %d CPUs, %s", "setup", group(int64(res.N)), where, res.Workers, res.Machine.CPUs, res.Machine.GoVersion)
	if m := res.Members; m != nil {
		how := "reused"
		if m.Created > 0 {
			how = fmt.Sprintf("%s created in %.1f s (%s/s)", group(int64(m.Created)), m.CreateSeconds, groupf(m.CreateRate))
		}
		p("%-10s %s residents, %s patrols in %d villages; %s", "members", group(int64(m.Residents)), group(int64(m.Patrols)), m.Villages, how)
	}
	if c := res.Connect; c != nil {
		p("%-10s %s of %s connected in %.2f s: %s connections/s (dial + auth + welcome: %s)", "connect",
			group(int64(c.Connected)), group(int64(c.Requested)), c.Seconds, groupf(c.RatePerS), lat(c.Dial))
		if m := c.Memory; m != nil && m.ConnsAfter > m.ConnsBefore && m.RSSPerConn <= 0 {
			p("%-10s hub memory (%s): RSS %s -> %s for %s connections: the change is below the noise of the hub's garbage collector at this N", "",
				m.Source, fmtBytes(m.RSSBefore), fmtBytes(m.RSSAfter), groupf(m.ConnsAfter-m.ConnsBefore))
		} else if m != nil && m.ConnsAfter > m.ConnsBefore {
			p("%-10s hub memory (%s): RSS %s -> %s for %s connections = %s per connection (Go heap %s, %.2f goroutines per connection)", "",
				m.Source, fmtBytes(m.RSSBefore), fmtBytes(m.RSSAfter), groupf(m.ConnsAfter-m.ConnsBefore), fmtBytes(m.RSSPerConn), fmtBytes(m.HeapPerConn), m.GoroutinesPerConn)
		}
		p("%-10s %s", "", hubLine(c.Hub))
	}
	if a := res.Alert; a != nil {
		p("%-10s K=%s: circle of %.0f m around %s (preview: %s targeted, %s connected); sent %d time(s)", "alert",
			group(int64(a.K)), a.RadiusM, a.Village, group(int64(a.PreviewTargeted)), group(int64(a.PreviewConnected)), len(a.Sends))
		p("%-10s delivery latency %s", "", lat(a.Latency))
		p("%-10s last recipient after %s (worst send), %s (median send)", "", fmtMs(a.LastMs.Max), fmtMs(a.LastMs.P50))
		if a.FromPostLastMs.N > 0 {
			p("%-10s from just before the POST (what the commander waits): last recipient after %s (median send), %s (best), %s (worst)", "",
				fmtMs(a.FromPostLastMs.P50), fmtMs(a.FromPostLastMs.Min), fmtMs(a.FromPostLastMs.Max))
		}
		for i, s := range a.Sends {
			p("%-10s send %d: %s addressed, %s connected, %s received; POST %s; missing %d, duplicate %d, unexpected %d; cancel reached all: %s", "",
				i+1, group(int64(s.Recipients)), group(int64(s.Delivery.Expected)), group(int64(s.Delivery.Received)), fmtMs(s.PostMs),
				s.Delivery.Missing, s.Delivery.Duplicates, s.Delivery.Unexpected, yes(s.CancelComplete))
		}
		p("%-10s complete (every addressed member exactly once, nobody else): %s; %s", "", yes(a.Complete), hubLine(a.Hub))
	}
	if a := res.Ack; a != nil {
		p("%-10s %s of %s answers stored in %.3f s: %s answers/s (reply %s); hub progress counts %s received", "ack",
			group(int64(a.OK)), group(int64(a.Answers)), a.Seconds, groupf(a.RatePerS), lat(a.Reply), group(int64(a.HubReceived)))
		p("%-10s its alert: %s of %s got it, last after %s; %s", "", group(int64(a.Alert.Delivery.Received)), group(int64(a.Alert.Delivery.Expected)), fmtMs(a.Alert.Delivery.LastMs), hubLine(a.Hub))
	}
	if rp := res.Report; rp != nil {
		p("%-10s %s of %s reports stored in %.3f s: %s reports/s (reply %s); at most %d per member", "report",
			group(int64(rp.OK)), group(int64(rp.Requested)), rp.Seconds, groupf(rp.RatePerS), lat(rp.Reply), rp.PerMemberMax)
		if len(rp.Failed) > 0 {
			p("%-10s failed: %s", "", counts(rp.Failed))
		}
		p("%-10s %s", "", hubLine(rp.Hub))
	}
	if b := res.Bulletin; b != nil {
		p("%-10s %s: %s of %s members got it; latency %s; complete: %s; %s", "bulletin",
			b.Village, group(int64(b.Delivery.Received)), group(int64(b.Delivery.Expected)), lat(b.Delivery.Latency), yes(b.Delivery.Complete), hubLine(b.Hub))
	}
	if rc := res.Reconnect; rc != nil {
		p("%-10s %s dropped, %s resumed in %.2f s: %s resumed/s (dial + welcome + resume: %s)", "reconnect",
			group(int64(rc.Dropped)), group(int64(rc.Resumed)), rc.Seconds, groupf(rc.RatePerS), lat(rc.Resume))
		p("%-10s sent while away: alert %s/%s, bulletin %s/%s received exactly once; %d duplicate seqs, %d old events, %s active alerts pushed again (allowed)", "",
			group(int64(rc.GapAlert.Received)), group(int64(rc.GapAlert.Expected)), group(int64(rc.GapBulletin.Received)), group(int64(rc.GapBulletin.Expected)),
			rc.Duplicates, rc.OldEvents, group(rc.Repushed))
		p("%-10s nothing missed or duplicated: %s; %s", "", yes(rc.NothingLost), hubLine(rc.Hub))
	}
	if f := res.Failover; f != nil {
		p("%-10s SIGKILL to process %d (%s) holding %s of our clients; %s resumed on another node (%s), %d not", "failover",
			f.KilledPID, f.KilledTarget, group(int64(f.OnKilled)), group(int64(f.Resumed)), counts(f.ResumedOn), f.NotResumed)
		p("%-10s reconnected and resumed, from the kill: %s; all within %s", "", lat(f.SinceKill), fmtMs(f.AllWithinMs))
		p("%-10s from each client's loss: %s; %d needed more than one dial (at most %d); failed dials %s", "",
			lat(f.SinceLoss), f.Retried, f.AttemptsMax, counts(f.DialFailures))
		p("%-10s alert before the kill: %s/%s received, cancel reached all: %s; recounted after: %d missing, %d twice", "",
			group(int64(f.Before.Delivery.Received)), group(int64(f.Before.Delivery.Expected)), yes(f.Before.CancelComplete),
			f.BeforeAlertAgain.Missing+f.BeforeCancelAgain.Missing, f.BeforeAlertAgain.Duplicates+f.BeforeCancelAgain.Duplicates)
		p("%-10s alert after the failover (from %s): %s/%s received exactly once: %s; latency %s; last after %s", "",
			hostOf(res, f), group(int64(f.After.Delivery.Received)), group(int64(f.After.Delivery.Expected)), yes(f.After.Delivery.Complete),
			lat(f.After.Delivery.Latency), fmtMs(f.After.Delivery.LastMs))
		p("%-10s %d duplicate seqs on a connection, %d old events, %d other connections lost; nothing missed or duplicated: %s", "",
			f.Duplicates, f.OldEvents, f.OtherFailovers, yes(f.NothingLost))
		p("%-10s %s", "", hubLine(f.Hub))
	}
	if c := res.ClientFailovers; c != nil {
		p("%-10s %s connections lost and redialed by their clients (%s of them expected), loss to resumed %s; %d still redialing, %d gave up", "failovers",
			group(int64(c.Reconnections)), group(c.ExpectedLosses), lat(c.Resume), c.InProgress, c.GaveUp)
	}
	if b := res.Baseline; b != nil {
		p("%-10s floor server, %s connections (%s connections/s without auth); one %d-byte message %d time(s), %d write loop(s)", "baseline",
			group(int64(b.Connections)), groupf(b.ConnectRate), b.FrameBytes, len(b.Sends), b.Writers)
		p("%-10s delivery latency %s; last after %s (worst); server write loop %v ms; complete: %s", "",
			lat(b.Latency), fmtMs(b.LastMs.Max), b.WriteLoopMs, yes(b.Complete))
	}
	if pr := res.Peer; pr != nil {
		p("%-10s %s, %s connections (%s connections/s), %.1f KiB RSS per connection; one %d-byte publication %d time(s)", "peer",
			pr.Server, group(int64(pr.Connections)), groupf(pr.ConnectRate), pr.RSSPerConn/1024, pr.FrameBytes, len(pr.Sends))
		p("%-10s from before the publish: delivery %s; last: median %s, best %s; publish answered %v ms; CPU %.2f s; complete: %s", "",
			lat(pr.Latency), fmtMs(pr.LastMs.P50), fmtMs(pr.LastMs.Min), pr.PublishMs, pr.CPUSeconds, yes(pr.Complete))
	}
	if len(res.Ratios) > 0 {
		p("%-10s %s", "ratios", counts(res.Ratios))
	}
	for _, n := range res.Notes {
		p("%-10s %s", "note", n)
	}
	p("%-10s %s", "errors", counts(res.Errors))
	for _, pr := range res.Problems {
		p("%-10s %s", "problem", pr)
	}
	if res.Aborted != "" {
		p("%-10s %s", "aborted", res.Aborted)
	}
	if res.OK {
		p("%-10s OK", "result")
	} else {
		p("%-10s FAILED", "result")
	}
}
