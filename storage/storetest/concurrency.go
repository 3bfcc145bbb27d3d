package storetest

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/longyou/hub/storage"
)

var concurrencyCases = []testCase{
	{"ConcurrentEventsNoSkip", testConcurrentEventsNoSkip},
	{"BigAlert", testBigAlert},
	{"ConcurrentClaimDueSMS", testConcurrentClaimDueSMS},
	{"CancelRacesStartSending", testCancelRacesStartSending},
	{"CancelRacesAddTargets", testCancelRacesAddTargets},
}

// testConcurrentEventsNoSkip appends every kind of event from several
// goroutines while readers resume from their last seen seq, as clients do.
// A backend whose seq order differs from its visibility order (a seq
// committed after a larger one is already visible) makes a reader skip an
// event forever; this is the test that catches it.
func testConcurrentEventsNoSkip(t *testing.T, s storage.Store) {
	ctx := t.Context()
	village(t, s, "v1")
	village(t, s, "v2")
	members(t, s,
		newMember("cmd", 1, storage.RoleCommander, ""),
		newMember("res1", 2, storage.RoleResident, "v1"),
		newMember("res2", 3, storage.RoleResident, "v2"))

	const writers, opsPerWriter = 4, 40
	var (
		mu      sync.Mutex
		written = map[int64]bool{} // every seq a write returned
		forRes2 = map[int64]bool{} // the seqs addressed to res2 (bulletins)
	)
	record := func(seq int64, res2 bool) {
		mu.Lock()
		defer mu.Unlock()
		if written[seq] {
			t.Errorf("seq %d returned by two writes", seq)
		}
		written[seq] = true
		if res2 {
			forRes2[seq] = true
		}
	}

	var done atomic.Bool
	audiences := []storage.Audience{
		{MemberID: "cmd", Role: storage.RoleCommander},                  // every event
		{MemberID: "res1", Role: storage.RoleResident, VillageID: "v1"}, // every event
		{MemberID: "res2", Role: storage.RoleResident, VillageID: "v2"}, // bulletins only
		{MemberID: "cmd", Role: storage.RoleCommander},                  // a second reader of the same stream
	}
	seen := make([][]int64, len(audiences))
	var readers sync.WaitGroup
	for r, a := range audiences {
		readers.Go(func() {
			var since int64
			for {
				finished := done.Load() // read before the query: the last pass sees every write
				evs, err := s.EventsSince(ctx, a, since, 16)
				if err != nil {
					t.Errorf("reader %d: events since %d: %v", r, since, err)
					return
				}
				for _, e := range evs {
					if e.Seq <= since {
						t.Errorf("reader %d: seq %d after %d (repeated or out of order)", r, e.Seq, since)
						return
					}
					seen[r] = append(seen[r], e.Seq)
					since = e.Seq
				}
				if finished && len(evs) == 0 {
					return
				}
			}
		})
	}

	var ws sync.WaitGroup
	for w := range writers {
		ws.Go(func() {
			var open []string // this writer's alerts not cancelled yet
			for i := range opsPerWriter {
				c := at(time.Duration(w*opsPerWriter+i) * time.Millisecond)
				id := fmt.Sprintf("w%d-%03d", w, i)
				var err error
				switch i % 4 {
				case 0:
					a, ev := alertAt(id, c)
					if err = s.CreateAlert(ctx, a, ev, targets("cmd", "res1")); err == nil {
						record(ev.Seq, false)
						open = append(open, id)
					}
				case 1:
					b, ev := bulletinAt(id, "", c)
					if err = s.CreateBulletin(ctx, b, ev); err == nil {
						record(ev.Seq, true)
					}
				case 2:
					r, ev := reportAt(id, "res1", "v1", c)
					if err = s.CreateReport(ctx, r, ev); err == nil {
						record(ev.Seq, false)
					}
				case 3:
					if len(open) == 0 {
						continue
					}
					aid := open[0]
					open = open[1:]
					ev := cancelEvent(aid, c)
					if _, err = s.CancelAlert(ctx, aid, c, ev); err == nil {
						record(ev.Seq, false)
					}
				}
				if err != nil {
					t.Errorf("writer %d op %d: %v", w, i, err)
					return
				}
			}
		})
	}
	ws.Wait()
	done.Store(true)
	readers.Wait()
	if t.Failed() {
		return
	}

	if want := writers * opsPerWriter; len(written) != want {
		t.Fatalf("%d writes returned a seq, want %d", len(written), want)
	}
	for r, a := range audiences {
		full, err := s.EventsSince(ctx, a, 0, 100000)
		mustNoErr(t, err, "final read")
		if len(seen[r]) != len(full) {
			t.Errorf("reader %d saw %d events while writes ran, a final read has %d", r, len(seen[r]), len(full))
		}
		for i := range min(len(seen[r]), len(full)) {
			if seen[r][i] != full[i].Seq {
				t.Errorf("reader %d: event %d is seq %d, the final read has %d (a skipped event)", r, i, seen[r][i], full[i].Seq)
				break
			}
		}
		want := written
		if a.MemberID == "res2" {
			want = forRes2
		}
		got := map[int64]bool{}
		for _, e := range full {
			if got[e.Seq] {
				t.Errorf("reader %d: seq %d twice in the final read", r, e.Seq)
			}
			got[e.Seq] = true
			if !want[e.Seq] {
				t.Errorf("reader %d: seq %d is not addressed to it", r, e.Seq)
			}
		}
		if len(got) != len(want) {
			t.Errorf("reader %d: final read has %d events, want %d", r, len(got), len(want))
		}
	}
	latest, err := s.LatestSeq(ctx)
	mustNoErr(t, err, "latest seq")
	var maxSeq int64
	for seq := range written {
		maxSeq = max(maxSeq, seq)
	}
	if latest != maxSeq {
		t.Errorf("latest seq %d, largest written %d", latest, maxSeq)
	}
}

// bigAlertTargets is the size of the alert of testBigAlert (and of the
// CreateAlert50k benchmark): a whole county township at once.
const bigAlertTargets = 50000

// testBigAlert creates one alert to 50,000 members, half of them with an
// SMS, then answers it in batches of 500 with repeated answers.
func testBigAlert(t *testing.T, s storage.Store) {
	ctx := t.Context()
	start := time.Now()
	ids := manyMembers(t, s, "big", bigAlertTargets, "v1")
	t.Logf("CreateMembers of %d members took %v", len(ids), time.Since(start))
	ts := make([]storage.Target, len(ids))
	for i, id := range ids {
		ts[i] = storage.Target{MemberID: id}
		if i%2 == 0 {
			ts[i].SMSDueAt = at(time.Minute)
		}
	}
	a, ev := alertAt("big", t0)
	start = time.Now()
	mustNoErr(t, s.CreateAlert(ctx, a, ev, ts), "create a 50,000-target alert")
	t.Logf("CreateAlert with %d targets took %v", len(ts), time.Since(start))

	p, err := s.AlertProgress(ctx, "big")
	mustNoErr(t, err, "progress")
	wantEqual(t, p, storage.Progress{Targeted: bigAlertTargets, Acked: allAcked(),
		SMS: storage.SMSCounts{Queued: bigAlertTargets / 2}}, "progress of the new alert")

	// Round 1: members 0..999 receive at +10m. Round 2: even members say
	// safe at +20m (wins), odd ones need_help at +5m (older: loses).
	const answered, batch = 1000, 500
	var acks []storage.Ack
	for i := range answered {
		acks = append(acks, ack("big", ids[i], storage.RespReceived, at(10*time.Minute)))
	}
	for i := range answered {
		if i%2 == 0 {
			acks = append(acks, ack("big", ids[i], storage.RespSafe, at(20*time.Minute)))
		} else {
			acks = append(acks, ack("big", ids[i], storage.RespNeedHelp, at(5*time.Minute)))
		}
	}
	start = time.Now()
	for b := 0; b < len(acks); b += batch {
		ok, err := s.RecordAcks(ctx, acks[b:b+batch])
		mustNoErr(t, err, "record acks")
		for i, o := range ok {
			if !o {
				t.Fatalf("ack %d of batch %d refused", i, b/batch)
			}
		}
	}
	t.Logf("RecordAcks of %d answers in batches of %d took %v", len(acks), batch, time.Since(start))
	mustNoErr(t, s.MarkDelivered(ctx, func() []storage.Delivery {
		var ds []storage.Delivery
		for _, id := range ids[40000:41000] {
			ds = append(ds, storage.Delivery{AlertID: "big", MemberID: id, At: at(time.Second)})
		}
		return ds
	}()), "mark delivered")

	p, err = s.AlertProgress(ctx, "big")
	mustNoErr(t, err, "progress")
	want := storage.Progress{
		Targeted:  bigAlertTargets,
		Delivered: answered + 1000,
		Acked:     allAcked(storage.RespSafe, answered/2, storage.RespReceived, answered/2),
		// The even members among those who answered had an SMS: cancelled.
		SMS: storage.SMSCounts{Queued: bigAlertTargets/2 - answered/2},
	}
	wantEqual(t, p, want, "progress after the answers")

	r, err := s.ListRecipients(ctx, "big", storage.RecipientFilter{Response: storage.RespNeedHelp})
	mustNoErr(t, err, "recipients who need help")
	if len(r) != 0 {
		t.Errorf("%d recipients need help; every such answer was older", len(r))
	}
	r, err = s.ListRecipients(ctx, "big", storage.RecipientFilter{Response: "none", Limit: 10})
	mustNoErr(t, err, "recipients who did not answer")
	if len(r) != 10 || r[0].MemberID != ids[answered] {
		t.Errorf("first recipients without an answer: %d, first %+v", len(r), r)
	}
}

// testConcurrentClaimDueSMS claims from several goroutines while answers
// arrive: no row may be claimed twice, and every row ends claimed or
// cancelled.
func testConcurrentClaimDueSMS(t *testing.T, s storage.Store) {
	ctx := t.Context()
	const n = 300
	ids := manyMembers(t, s, "sms", n, "")
	ts := make([]storage.Target, n)
	for i, id := range ids {
		ts[i] = storage.Target{MemberID: id, SMSDueAt: at(time.Duration(i) * time.Millisecond)}
	}
	a, ev := alertAt("a1", t0)
	mustNoErr(t, s.CreateAlert(ctx, a, ev, ts), "create alert")

	var (
		mu      sync.Mutex
		claimed = map[string]string{} // member -> claimer
	)
	now := at(time.Hour)
	var wg sync.WaitGroup
	for c := range 4 {
		claimer := fmt.Sprintf("sender-%d", c)
		wg.Go(func() {
			for {
				rows, err := s.ClaimDueMessages(ctx, storage.ChannelSMS, now, 7, claimer)
				if err != nil {
					t.Errorf("%s: claim: %v", claimer, err)
					return
				}
				if len(rows) == 0 {
					return
				}
				mu.Lock()
				for _, r := range rows {
					if prev, ok := claimed[r.MemberID]; ok {
						t.Errorf("%s claimed by %s and %s", r.MemberID, prev, claimer)
					}
					claimed[r.MemberID] = claimer
				}
				mu.Unlock()
			}
		})
	}
	wg.Go(func() {
		for i := 0; i < n; i += 10 {
			if _, err := s.RecordAcks(ctx, []storage.Ack{ack("a1", ids[i], storage.RespSafe, at(time.Minute))}); err != nil {
				t.Errorf("record ack: %v", err)
				return
			}
		}
	})
	wg.Wait()

	rows, err := s.ListMessages(ctx, storage.AlertRef("a1"))
	mustNoErr(t, err, "list sms")
	var nClaimed, nCancelled int
	for _, r := range rows {
		switch r.State {
		case storage.MessageClaimed:
			nClaimed++
			if claimed[r.MemberID] != r.ClaimedBy {
				t.Errorf("%s claimed by %q in the store, %q by the claim", r.MemberID, r.ClaimedBy, claimed[r.MemberID])
			}
			if r.Attempts != 1 {
				t.Errorf("%s claimed with %d attempts", r.MemberID, r.Attempts)
			}
		case storage.MessageCancelled:
			nCancelled++
			if _, ok := claimed[r.MemberID]; ok {
				t.Errorf("%s claimed and cancelled", r.MemberID)
			}
		default:
			t.Errorf("%s left %s", r.MemberID, r.State)
		}
	}
	if nClaimed != len(claimed) || nClaimed+nCancelled != n {
		t.Errorf("claimed %d (store %d), cancelled %d, of %d", len(claimed), nClaimed, nCancelled, n)
	}
	inDoubt, err := s.ClaimedMessages(ctx, storage.ChannelSMS, "", now.Add(time.Second))
	mustNoErr(t, err, "claimed sms")
	if len(inDoubt) != nClaimed {
		t.Errorf("ClaimedMessages lists %d rows, %d are claimed", len(inDoubt), nClaimed)
	}
}
