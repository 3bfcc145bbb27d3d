package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/longyou/hub/storage"
)

// RunPrivacy: media quotas, the write probe, a member's export and
// erasure, retention (storage/privacy.go; service/members and the
// server's retention job).
func RunPrivacy(t *testing.T, newStore func(t *testing.T) storage.Store) {
	runCases(t, privacyCases, newStore)
}

var privacyCases = []testCase{
	{"MediaQuota", testMediaQuota},
	{"ProbeWrite", func(t *testing.T, s storage.Store) {
		mustNoErr(t, s.ProbeWrite(context.Background()), "probe write")
		mustNoErr(t, s.ProbeWrite(context.Background()), "probe write again")
	}},
	{"OrphanMedia", testOrphanMedia},
	{"ExportMember", testExportMember},
	{"EraseMember", testEraseMember},
	{"Retention", testRetention},
}

func media(id, owner string, c time.Time) storage.Media {
	return storage.Media{ID: id, ContentType: "image/jpeg", OwnerID: owner, CreatedAt: c}
}

// testMediaQuota: each limit refuses the upload that would pass it, with
// a *QuotaError naming it, and writes nothing; uploads before the window
// do not count toward the owner's limits; zero is no limit.
func testMediaQuota(t *testing.T, s storage.Store) {
	ctx := context.Background()
	q := storage.MediaQuota{Since: at(time.Hour), OwnerFiles: 2, OwnerBytes: 100, TotalBytes: 250}
	put := func(id, owner string, c time.Time, n int) error {
		return s.PutMediaWithin(ctx, media(id, owner, c), make([]byte, n), q)
	}
	wantQuota := func(err error, limit string, used, max int64, what string) {
		t.Helper()
		var qe *storage.QuotaError
		if !errors.Is(err, storage.ErrQuota) || !errors.As(err, &qe) {
			t.Errorf("%s: got %v, want a quota error", what, err)
			return
		}
		if qe.Limit != limit || qe.Used != used || qe.Max != max {
			t.Errorf("%s: got %+v, want %s %d/%d", what, *qe, limit, used, max)
		}
	}
	// Before the window: does not count for a's day, counts in the total.
	mustNoErr(t, put("old", "a", t0, 90), "upload before the window")
	mustNoErr(t, put("a1", "a", at(2*time.Hour), 60), "a1")
	wantQuota(put("a2", "a", at(3*time.Hour), 41), storage.QuotaOwnerBytes, 60, 100, "a over its bytes")
	mustNoErr(t, put("a2", "a", at(3*time.Hour), 40), "a2 fits exactly")
	wantQuota(put("a3", "a", at(4*time.Hour), 1), storage.QuotaOwnerFiles, 2, 2, "a over its files")
	// The total: 190 stored, 60 more fit, 61 do not.
	wantQuota(put("b1", "b", at(2*time.Hour), 61), storage.QuotaTotalBytes, 190, 250, "b over the total")
	mustNoErr(t, put("b1", "b", at(2*time.Hour), 60), "b1 fits the total exactly")
	for _, id := range []string{"a3"} {
		_, _, err := s.GetMedia(ctx, id)
		wantErrIs(t, err, storage.ErrNotFound, "a refused upload was stored: "+id)
	}
	// No limits: PutMedia and a zero quota.
	mustNoErr(t, s.PutMediaWithin(ctx, media("c1", "c", at(2*time.Hour)), make([]byte, 1000), storage.MediaQuota{}), "no quota")
	m, data, err := s.GetMedia(ctx, "a2")
	mustNoErr(t, err, "get a2")
	wantEqual(t, m.Size, 40, "a2 size")
	wantEqual(t, len(data), 40, "a2 bytes")
}

// reportWithPhotos creates a report by m whose event body carries its
// text, photos and client id (as the reports service writes it).
func reportWithPhotos(t testing.TB, s storage.Store, id, m, v string, c time.Time, photos ...string) *storage.Report {
	t.Helper()
	r, ev := reportAt(id, m, v, c)
	r.Photos, r.ClientID = photos, "client-"+id
	ev.Body, _ = json.Marshal(map[string]any{"id": id, "kind": r.Kind, "text": r.Text, "photos": photos,
		"member_id": m, "status": r.Status, "client_id": r.ClientID})
	mustNoErr(t, s.CreateReport(context.Background(), r, ev), "create report "+id)
	return r
}

// testOrphanMedia: uploads attached to no report are deleted once older
// than the cutoff; a report's photos and recent uploads stay.
func testOrphanMedia(t *testing.T, s storage.Store) {
	ctx := context.Background()
	village(t, s, "v1")
	members(t, s, newMember("m1", 1, storage.RoleResident, "v1"))
	for _, id := range []string{"attached", "orphan", "recent"} {
		c := t0
		if id == "recent" {
			c = at(23 * time.Hour)
		}
		mustNoErr(t, s.PutMedia(ctx, media(id, "m1", c), []byte("jpeg "+id)), "put "+id)
	}
	reportWithPhotos(t, s, "r1", "m1", "v1", at(time.Minute), "attached")
	res, err := s.ApplyRetention(ctx, storage.Retention{OrphansBefore: at(22 * time.Hour), Batch: 1})
	mustNoErr(t, err, "retention")
	wantEqual(t, res, storage.RetentionResult{Media: 1}, "retention result")
	_, _, err = s.GetMedia(ctx, "orphan")
	wantErrIs(t, err, storage.ErrNotFound, "orphan after retention")
	for _, id := range []string{"attached", "recent"} {
		_, _, err := s.GetMedia(ctx, id)
		mustNoErr(t, err, id+" after retention")
	}
	// Again: nothing left to do.
	res, err = s.ApplyRetention(ctx, storage.Retention{OrphansBefore: at(22 * time.Hour)})
	mustNoErr(t, err, "retention again")
	wantEqual(t, res.Total(), 0, "second run")
}

// personalFixture is a member m1 of v1 with everything the store can hold
// about it, and m2 beside it with the same kinds of data, which neither
// export nor erasure of m1 may touch.
func personalFixture(t testing.TB, s storage.Store) {
	t.Helper()
	ctx := context.Background()
	village(t, s, "v1")
	m1 := newMember("m1", 1, storage.RoleResident, "v1")
	m1.Home, m1.Address, m1.TravelMode, m1.Lang = &storage.LatLng{Lat: 29.01, Lng: 119.1}, "3 组 12 号", "bike", "en"
	m2 := newMember("m2", 2, storage.RoleResident, "v1")
	mustNoErr(t, s.CreateMembers(ctx, []storage.NewMember{
		{Member: m1, TokenHash: tokenHash("tok-m1")}, {Member: m2, TokenHash: tokenHash("tok-m2")}}), "create members")
	mustNoErr(t, s.AddToken(ctx, "m1", tokenHash("tok-m1-b")), "second token")
	for _, id := range []string{"m1", "m2"} {
		mustNoErr(t, s.SetLivePosition(ctx, id, storage.Position{Lat: 29.02, Lng: 119.15, AccuracyM: 8, At: at(time.Minute)}), "locate "+id)
	}
	// a1: answered with notes; a2: an SMS pending for each (an answer
	// would cancel it).
	createAlert(t, s, "a1", at(2*time.Minute), "m1", "m2")
	a, ev := alertAt("a2", at(2*time.Minute))
	mustNoErr(t, s.CreateAlert(ctx, a, ev, []storage.Target{
		{MemberID: "m1", SMSDueAt: at(time.Hour), SMSPriority: 3}, {MemberID: "m2", SMSDueAt: at(time.Hour), SMSPriority: 3}}), "alert a2")
	for _, id := range []string{"m1", "m2"} {
		a := ack("a1", id, storage.RespNeedHelp, at(3*time.Minute))
		a.Note = "腿受伤 " + id
		ok, err := s.RecordAcks(ctx, []storage.Ack{a})
		mustNoErr(t, err, "ack "+id)
		wantEqual(t, ok, []bool{true}, "ack "+id)
	}
	for _, id := range []string{"m1", "m2"} {
		mustNoErr(t, s.PutMedia(ctx, media("p-"+id, id, at(4*time.Minute)), []byte("jpeg")), "photo "+id)
		mustNoErr(t, s.PutMedia(ctx, media("o-"+id, id, at(4*time.Minute)), []byte("jpeg")), "orphan "+id)
		reportWithPhotos(t, s, "r-"+id, id, "v1", at(5*time.Minute), "p-"+id)
	}
}

// testExportMember: the export holds the record, the token count, the
// alert and the answers with notes, the report with its photo, the
// uploads and the outbox row, and nothing of the other member.
func testExportMember(t *testing.T, s storage.Store) {
	ctx := context.Background()
	personalFixture(t, s)
	d, err := s.ExportMember(ctx, "m1")
	mustNoErr(t, err, "export m1")
	wantEqual(t, d.Member.Phone, phoneOf(1), "phone")
	wantEqual(t, d.Member.Address, "3 组 12 号", "address")
	if d.Member.Live == nil || d.Member.Home == nil {
		t.Errorf("export lacks the live position or home: %+v", d.Member)
	}
	wantEqual(t, d.Tokens, 2, "tokens")
	if len(d.Deliveries) != 2 || d.Deliveries[0].AlertID != "a1" || d.Deliveries[0].Note != "腿受伤 m1" ||
		d.Deliveries[0].Response != storage.RespNeedHelp || d.Deliveries[1].AlertID != "a2" {
		t.Errorf("deliveries: %+v", d.Deliveries)
	}
	if len(d.Acks) != 1 || d.Acks[0].Note != "腿受伤 m1" || d.Acks[0].MemberID != "m1" {
		t.Errorf("acks: %+v", d.Acks)
	}
	if len(d.Reports) != 1 || d.Reports[0].ID != "r-m1" || d.Reports[0].Text == "" ||
		!reflectEqual(d.Reports[0].Photos, []string{"p-m1"}) {
		t.Errorf("reports: %+v", d.Reports)
	}
	var ids []string
	for _, m := range d.Media {
		ids = append(ids, m.ID)
		if m.OwnerID != "m1" || m.Size != 4 {
			t.Errorf("media: %+v", m)
		}
	}
	wantEqual(t, strings.Join(ids, ","), "o-m1,p-m1", "media ids")
	if len(d.Messages) != 1 || d.Messages[0].MemberID != "m1" || d.Messages[0].Ref.ID != "a2" {
		t.Errorf("messages: %+v", d.Messages)
	}
	wantEqual(t, d.AlertsCreated, []string{}, "alerts created")
	wantEqual(t, d.BulletinsAuthored, []string{}, "bulletins authored")
	_, err = s.ExportMember(ctx, "nobody")
	wantErrIs(t, err, storage.ErrNotFound, "export of nobody")

	// A commander's export names the alerts and bulletins it wrote.
	c := newMember("commander-1", 9, storage.RoleCommander, "")
	members(t, s, c)
	d, err = s.ExportMember(ctx, "commander-1")
	mustNoErr(t, err, "export commander")
	wantEqual(t, d.AlertsCreated, []string{"a1", "a2"}, "alerts created")
}

func reflectEqual(a, b []string) bool { return strings.Join(a, "\x00") == strings.Join(b, "\x00") }

// testEraseMember: after erasure no read finds the member or its tokens,
// its record keeps only id, role, village and the erased name, its notes,
// report text and photos (in the event log too) and uploads are gone, its
// pending SMS is cancelled, its number may be registered again; the other
// member is untouched.
func testEraseMember(t *testing.T, s storage.Store) {
	ctx := context.Background()
	personalFixture(t, s)
	e, err := s.EraseMember(ctx, "m1", at(time.Hour))
	mustNoErr(t, err, "erase m1")
	wantEqual(t, e, storage.Erasure{Tokens: 2, Notes: 2, Reports: 1, Events: 1, Media: 2, Messages: 1}, "erasure")

	_, err = s.GetMember(ctx, "m1")
	wantErrIs(t, err, storage.ErrNotFound, "get erased")
	_, err = s.MemberByToken(ctx, tokenHash("tok-m1"))
	wantErrIs(t, err, storage.ErrNotFound, "token of erased")
	got, err := s.GetMembers(ctx, []string{"m1", "m2"})
	mustNoErr(t, err, "get members")
	if len(got) != 1 || got[0].ID != "m2" {
		t.Errorf("GetMembers returns the erased member: %+v", got)
	}
	list, err := s.ListMembers(ctx, "", 10)
	mustNoErr(t, err, "list members")
	if len(list) != 1 || list[0].ID != "m2" {
		t.Errorf("ListMembers returns the erased member: %+v", list)
	}
	n, err := s.CountMembers(ctx, storage.RoleResident)
	mustNoErr(t, err, "count")
	wantEqual(t, n, 1, "residents counted")
	wantErrIs(t, s.SetLivePosition(ctx, "m1", storage.Position{Lat: 1, Lng: 1, At: at(time.Hour)}), storage.ErrNotFound, "locate erased")
	_, err = s.EraseMember(ctx, "m1", at(2*time.Hour))
	wantErrIs(t, err, storage.ErrNotFound, "erase twice")
	_, err = s.ExportMember(ctx, "m1")
	wantErrIs(t, err, storage.ErrNotFound, "export erased")

	// The alert still counts the member, under the erased name, without
	// its phone, position or note.
	rs, err := s.ListRecipients(ctx, "a1", storage.RecipientFilter{})
	mustNoErr(t, err, "recipients")
	for _, r := range rs {
		switch r.MemberID {
		case "m1":
			if r.Name != storage.ErasedName || r.Phone != "" || r.Note != "" || r.Live != nil || r.Home != nil ||
				r.Response != storage.RespNeedHelp {
				t.Errorf("erased recipient: %+v", r)
			}
		case "m2":
			if r.Phone != phoneOf(2) || r.Note != "腿受伤 m2" {
				t.Errorf("other recipient changed: %+v", r)
			}
		}
	}
	p, err := s.AlertProgress(ctx, "a1")
	mustNoErr(t, err, "progress")
	wantEqual(t, p.Targeted, 2, "targeted after erasure")

	r, err := s.GetReport(ctx, "r-m1")
	mustNoErr(t, err, "erased member's report")
	if r.Text != "" || len(r.Photos) != 0 || r.ClientID != "" || r.Kind != "flood" {
		t.Errorf("erased member's report: %+v", r)
	}
	r2, err := s.GetReport(ctx, "r-m2")
	mustNoErr(t, err, "other report")
	if r2.Text == "" || len(r2.Photos) != 1 {
		t.Errorf("other report changed: %+v", r2)
	}
	evs, err := s.EventsAfter(ctx, 0, 0)
	mustNoErr(t, err, "events")
	reportEvents := 0
	for _, ev := range evs {
		if ev.Type != storage.EventReport {
			continue
		}
		reportEvents++
		var body map[string]any
		mustNoErr(t, json.Unmarshal(ev.Body, &body), "event body")
		photos, _ := body["photos"].([]any)
		switch ev.MemberID {
		case "m1":
			if body["text"] != "" || len(photos) != 0 || body["client_id"] != nil || body["id"] != "r-m1" {
				t.Errorf("erased member's report event: %s", ev.Body)
			}
		case "m2":
			if body["text"] == "" || len(photos) != 1 || body["client_id"] == nil {
				t.Errorf("other report event changed: %s", ev.Body)
			}
		}
	}
	wantEqual(t, reportEvents, 2, "report events kept")
	for _, id := range []string{"p-m1", "o-m1"} {
		_, _, err := s.GetMedia(ctx, id)
		wantErrIs(t, err, storage.ErrNotFound, "erased member's upload "+id)
	}
	_, _, err = s.GetMedia(ctx, "p-m2")
	mustNoErr(t, err, "other upload")
	msgs, err := s.ListMessages(ctx, storage.AlertRef("a2"))
	mustNoErr(t, err, "messages")
	for _, m := range msgs {
		want := storage.MessagePending
		if m.MemberID == "m1" {
			want = storage.MessageCancelled
		}
		wantEqual(t, m.State, want, "SMS of "+m.MemberID)
	}
	// The number is free again.
	members(t, s, newMember("m3", 1, storage.RoleResident, "v1"))
}

// testRetention: each kind is cleared once older than its cutoff, and
// only then; closed reports only; small batches get through everything.
func testRetention(t *testing.T, s storage.Store) {
	ctx := context.Background()
	village(t, s, "v1")
	members(t, s, newMember("old", 1, storage.RoleResident, "v1"), newMember("new", 2, storage.RoleResident, "v1"),
		newMember("c", 3, storage.RoleCadre, "v1"))
	day := 24 * time.Hour
	mustNoErr(t, s.SetLivePosition(ctx, "old", storage.Position{Lat: 29, Lng: 119, At: t0}), "locate old")
	mustNoErr(t, s.SetLivePosition(ctx, "new", storage.Position{Lat: 29, Lng: 119, At: at(13 * time.Hour)}), "locate new")
	// Answers with notes at t0 (old) and at 200 days (new).
	a, ev := alertAt("a1", t0)
	mustNoErr(t, s.CreateAlert(ctx, a, ev, []storage.Target{{MemberID: "old"}, {MemberID: "new"}}), "alert")
	for id, c := range map[string]time.Time{"old": t0, "new": at(200 * day)} {
		a := ack("a1", id, storage.RespNeedHelp, c)
		a.Note = "note " + id
		_, err := s.RecordAcks(ctx, []storage.Ack{a})
		mustNoErr(t, err, "ack "+id)
	}
	// Reports: closed long ago (due), closed recently, open long ago.
	for _, id := range []string{"closed-old", "closed-new", "open-old"} {
		mustNoErr(t, s.PutMedia(ctx, media("p-"+id, "old", t0), []byte("jpeg")), "photo "+id)
		reportWithPhotos(t, s, id, "old", "v1", t0, "p-"+id)
	}
	for id, c := range map[string]time.Time{"closed-old": at(time.Hour), "closed-new": at(300 * day)} {
		r, err := s.GetReport(ctx, id)
		mustNoErr(t, err, "get "+id)
		r.Status, r.UpdatedAt = storage.ReportResolved, c
		mustNoErr(t, s.UpdateReport(ctx, &r, storage.ReportNew,
			&storage.Event{Type: storage.EventReport, MemberID: "old", VillageID: "v1",
				Body:      json.RawMessage(`{"id":"` + id + `","text":"桥下水位上涨","photos":["p-` + id + `"],"status":"resolved"}`),
				CreatedAt: c}), "resolve "+id)
	}
	// Outbox: one SMS sent long ago, one recently (of an alert nobody
	// answered: an answer cancels the SMS).
	createAlert(t, s, "a2", t0, "old", "new")
	mustNoErr(t, s.EnqueueMessages(ctx, []storage.Message{
		{Channel: storage.ChannelSMS, Ref: storage.AlertRef("a2"), MemberID: "old", Kind: storage.MessageAlert,
			State: storage.MessagePending, DueAt: t0},
		{Channel: storage.ChannelSMS, Ref: storage.AlertRef("a2"), MemberID: "new", Kind: storage.MessageAlert,
			State: storage.MessagePending, DueAt: t0},
	}), "enqueue")
	claimed, err := s.ClaimDueMessages(ctx, storage.ChannelSMS, t0, 10, "node")
	mustNoErr(t, err, "claim")
	for _, m := range claimed {
		sent := t0
		if m.MemberID == "new" {
			sent = at(300 * day)
		}
		mustNoErr(t, s.CompleteMessage(ctx, m.Key(), storage.MessageResult{State: storage.MessageSent,
			ProviderID: "SM-" + m.MemberID, Status: "sent", At: sent}), "complete "+m.MemberID)
	}

	now := at(366*day + 2*time.Hour)
	r := storage.Retention{
		LiveBefore:     now.Add(-12 * time.Hour),
		NotesBefore:    now.Add(-180 * day),
		ReportsBefore:  now.Add(-365 * day),
		ClosedStatuses: []string{storage.ReportResolved, storage.ReportRejected},
		OutboxBefore:   now.Add(-90 * day),
		OrphansBefore:  now.Add(-day),
		Batch:          1,
	}
	r.LiveBefore = at(12 * time.Hour) // "old" located at t0, "new" at 13 h
	res, err := s.ApplyRetention(ctx, r)
	mustNoErr(t, err, "retention")
	wantEqual(t, res, storage.RetentionResult{Live: 1, Notes: 2, Reports: 1, Media: 1, Outbox: 1}, "retention result")

	old, err := s.GetMember(ctx, "old")
	mustNoErr(t, err, "get old")
	if old.Live != nil {
		t.Errorf("old live position kept: %+v", old.Live)
	}
	nw, err := s.GetMember(ctx, "new")
	mustNoErr(t, err, "get new")
	if nw.Live == nil {
		t.Errorf("recent live position cleared")
	}
	rs, err := s.ListRecipients(ctx, "a1", storage.RecipientFilter{})
	mustNoErr(t, err, "recipients")
	for _, x := range rs {
		want := map[string]string{"old": "", "new": "note new"}[x.MemberID]
		wantEqual(t, x.Note, want, "note of "+x.MemberID)
	}
	for id, redacted := range map[string]bool{"closed-old": true, "closed-new": false, "open-old": false} {
		rep, err := s.GetReport(ctx, id)
		mustNoErr(t, err, "get "+id)
		if (rep.Text == "") != redacted || (len(rep.Photos) == 0) != redacted {
			t.Errorf("%s: text %q photos %v, redacted should be %v", id, rep.Text, rep.Photos, redacted)
		}
		_, _, err = s.GetMedia(ctx, "p-"+id)
		if redacted {
			wantErrIs(t, err, storage.ErrNotFound, "photo of "+id)
		} else {
			mustNoErr(t, err, "photo of "+id)
		}
	}
	evs, err := s.EventsAfter(ctx, 0, 0)
	mustNoErr(t, err, "events")
	for _, ev := range evs {
		if ev.Type != storage.EventReport {
			continue
		}
		var body map[string]any
		mustNoErr(t, json.Unmarshal(ev.Body, &body), "body")
		photos, _ := body["photos"].([]any)
		if body["id"] == "closed-old" && (body["text"] != "" || len(photos) != 0) {
			t.Errorf("closed-old's event keeps its text or photos: %s", ev.Body)
		}
		if body["id"] != "closed-old" && (body["text"] == "" || len(photos) == 0) {
			t.Errorf("another report's event was redacted: %s", ev.Body)
		}
	}
	msgs, err := s.ListMessages(ctx, storage.AlertRef("a2"))
	mustNoErr(t, err, "messages")
	for _, m := range msgs {
		want := map[string]string{"old": "", "new": "SM-new"}[m.MemberID]
		wantEqual(t, m.ProviderID, want, "provider id of "+m.MemberID)
		wantEqual(t, m.State, storage.MessageSent, "state of "+m.MemberID)
	}
	res, err = s.ApplyRetention(ctx, r)
	mustNoErr(t, err, "retention again")
	wantEqual(t, res.Total(), 0, "second run")
}
