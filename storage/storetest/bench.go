package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/longyou/hub/storage"
)

// Bench runs the store benchmarks. newStore is called once per
// sub-benchmark and must return a fresh, empty store; every setup (members,
// events) happens before the timed loop.
func Bench(b *testing.B, newStore func(b *testing.B) storage.Store) {
	b.Run("CreateAlert50k", func(b *testing.B) { benchCreateAlertBig(b, newStore(b), false) })
	b.Run("CreateAlert50kSMS", func(b *testing.B) { benchCreateAlertBig(b, newStore(b), true) })
	b.Run("RecordAcks", func(b *testing.B) { benchRecordAcks(b, newStore(b)) })
	b.Run("EventsSince1000", func(b *testing.B) { benchEventsSince(b, newStore(b)) })
	b.Run("CreateAlertSmall", func(b *testing.B) { benchCreateAlertSmall(b, newStore(b)) })
}

// benchCreateAlertBig records the delivery rows of an alert to 50,000
// members; with sms, every target also gets an SMS row (an alert with
// sms_fallback_after_s, the worst case).
func benchCreateAlertBig(b *testing.B, s storage.Store, sms bool) {
	ctx := b.Context()
	ids := manyMembers(b, s, "big", bigAlertTargets, "v1")
	ts := targets(ids...)
	if sms {
		for i := range ts {
			ts[i].SMSDueAt = at(time.Minute)
		}
	}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		a, ev := alertAt(fmt.Sprintf("a%d", n), at(time.Duration(n)*time.Second))
		if err := s.CreateAlert(ctx, a, ev, ts); err != nil {
			b.Fatalf("create alert: %v", err)
		}
		n++
	}
	b.ReportMetric(float64(n*len(ts))/b.Elapsed().Seconds(), "targets/s")
}

// benchRecordAcks records answers in batches of 500, as the hub's ack
// batcher does.
func benchRecordAcks(b *testing.B, s storage.Store) {
	ctx := b.Context()
	const members, batch = 5000, 500
	ids := manyMembers(b, s, "ack", members, "v1")
	ts := make([]storage.Target, len(ids))
	for i, id := range ids {
		ts[i] = storage.Target{MemberID: id, SMSDueAt: at(time.Hour)}
	}
	a, ev := alertAt("a1", t0)
	if err := s.CreateAlert(ctx, a, ev, ts); err != nil {
		b.Fatalf("create alert: %v", err)
	}
	responses := []string{storage.RespReceived, storage.RespSafe, storage.RespNeedHelp, storage.RespComing}
	acks := make([]storage.Ack, batch)
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		for j := range acks {
			k := n*batch + j
			acks[j] = ack("a1", ids[k%members], responses[k%len(responses)], at(time.Duration(k)*time.Millisecond))
		}
		if _, err := s.RecordAcks(ctx, acks); err != nil {
			b.Fatalf("record acks: %v", err)
		}
		n++
	}
	b.ReportMetric(float64(n*batch)/b.Elapsed().Seconds(), "acks/s")
}

// benchEventsSince resumes a resident that missed 1,000 events addressed
// to it (alerts it is targeted by, bulletins) among 1,000 it may not read
// (other members' reports).
func benchEventsSince(b *testing.B, s storage.Store) {
	ctx := b.Context()
	members(b, s, newMember("me", 1, storage.RoleResident, "v1"), newMember("other", 2, storage.RoleResident, "v2"))
	for i := range 500 {
		c := at(time.Duration(i) * time.Second)
		a, ev := alertAt(fmt.Sprintf("a%d", i), c)
		if err := s.CreateAlert(ctx, a, ev, targets("me", "other")); err != nil {
			b.Fatalf("create alert: %v", err)
		}
		for j := range 2 {
			r, ev := reportAt(fmt.Sprintf("r%d-%d", i, j), "other", "v2", c)
			if err := s.CreateReport(ctx, r, ev); err != nil {
				b.Fatalf("create report: %v", err)
			}
		}
		bl, bev := bulletinAt(fmt.Sprintf("b%d", i), "v1", c)
		if err := s.CreateBulletin(ctx, bl, bev); err != nil {
			b.Fatalf("create bulletin: %v", err)
		}
	}
	me := storage.Audience{MemberID: "me", Role: storage.RoleResident, VillageID: "v1"}
	b.ReportAllocs()
	for b.Loop() {
		evs, err := s.EventsSince(ctx, me, 0, 1000)
		if err != nil {
			b.Fatalf("events since: %v", err)
		}
		if len(evs) != 1000 {
			b.Fatalf("resumed %d events, want 1000", len(evs))
		}
	}
}

// benchCreateAlertSmall measures the accept latency of a 100-target alert
// (each with an SMS fallback), reporting its median and 99th percentile.
func benchCreateAlertSmall(b *testing.B, s storage.Store) {
	ctx := b.Context()
	ids := manyMembers(b, s, "small", 100, "v1")
	ts := make([]storage.Target, len(ids))
	for i, id := range ids {
		ts[i] = storage.Target{MemberID: id, SMSDueAt: at(time.Minute)}
	}
	var lat []time.Duration
	b.ReportAllocs()
	for b.Loop() {
		a, ev := alertAt(fmt.Sprintf("a%d", len(lat)), at(time.Duration(len(lat))*time.Second))
		start := time.Now()
		if err := s.CreateAlert(ctx, a, ev, ts); err != nil {
			b.Fatalf("create alert: %v", err)
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds())
	}
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
}
