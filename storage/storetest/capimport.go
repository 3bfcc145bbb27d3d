package storetest

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/longyou/hub/storage"
)

// RunCAPImport: CAP imports, updates in place, cancels with their author
// and the exercise mark (storage/capimport.go, docs/API.md v1.6).
func RunCAPImport(t *testing.T, newStore func(t *testing.T) storage.Store) {
	runCases(t, capImportCases, newStore)
}

var capImportCases = []testCase{
	{"ImportOnce", testImportOnce},
	{"UpdateAlertInPlace", testUpdateAlertInPlace},
	{"UpdateAlertEnded", testUpdateAlertEnded},
	{"CancelAlertBy", testCancelAlertBy},
	{"PendingCAP", testPendingCAP},
}

func seqsOf(evs []storage.Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Type+":"+e.MemberID)
	}
	return out
}

// testImportOnce: an alert made from a CAP message records it in its
// transaction; the same message again is a conflict that writes nothing.
func testImportOnce(t *testing.T, s storage.Store) {
	ctx := t.Context()
	members(t, s, newMember("m1", 1, storage.RolePatrol, "v1"))
	_, _, err := s.CAPImported(ctx, "cma.gov.cn", "A1")
	wantErrIs(t, err, storage.ErrNotFound, "not imported yet")
	a, ev := alertAt("a1", t0)
	a.Exercise, a.Meta = true, json.RawMessage(`{"event":"暴雨"}`)
	a.Import = &storage.CAPImport{Sender: "cma.gov.cn", Identifier: "A1", MsgType: "Alert", At: t0}
	mustNoErr(t, s.CreateAlert(ctx, a, ev, []storage.Target{{MemberID: "m1"}}), "create")
	imp, id, err := s.CAPImported(ctx, "cma.gov.cn", "A1")
	mustNoErr(t, err, "imported")
	wantEqual(t, id, "a1", "alert of the import")
	wantEqual(t, imp.MsgType, "Alert", "msg type")
	wantTime(t, imp.At, t0, "imported at")
	got, err := s.GetAlert(ctx, "a1")
	mustNoErr(t, err, "get")
	wantEqual(t, got.Exercise, true, "exercise")
	wantJSON(t, got.Meta, a.Meta, "meta")

	b, ev2 := alertAt("a2", t0)
	b.Import = &storage.CAPImport{Sender: "cma.gov.cn", Identifier: "A1", MsgType: "Alert", At: t0}
	wantErrIs(t, s.CreateAlert(ctx, b, ev2, nil), storage.ErrConflict, "the same message again")
	_, err = s.GetAlert(ctx, "a2")
	wantErrIs(t, err, storage.ErrNotFound, "no second alert")
	c, ev3 := alertAt("a3", t0)
	mustNoErr(t, s.CreateAlert(ctx, c, ev3, nil), "an alert without import")
	got, err = s.GetAlert(ctx, "a3")
	mustNoErr(t, err, "get a3")
	wantEqual(t, got.Exercise, false, "not an exercise")
	if got.Meta != nil {
		t.Fatalf("meta of a plain alert: %s", got.Meta)
	}
}

// testUpdateAlertInPlace: new text and area, targets added and removed
// (their pending SMS cancelled, one event each), answers of those kept,
// the update event addressed to the recipients and replayed as active.
func testUpdateAlertInPlace(t *testing.T, s storage.Store) {
	ctx := t.Context()
	members(t, s, newMember("m1", 1, storage.RoleResident, "v1"), newMember("m2", 2, storage.RoleResident, "v1"),
		newMember("m3", 3, storage.RoleResident, "v2"))
	a, ev := alertAt("a1", t0)
	mustNoErr(t, s.CreateAlert(ctx, a, ev, []storage.Target{{MemberID: "m1", SMSDueAt: at(time.Hour), SMSPriority: 3},
		{MemberID: "m2", SMSDueAt: at(time.Hour), SMSPriority: 3}}), "create")
	ok, err := s.RecordAcks(ctx, []storage.Ack{{AlertID: "a1", MemberID: "m1", Response: storage.RespSafe, At: at(time.Second)}})
	mustNoErr(t, err, "ack")
	wantEqual(t, ok, []bool{true}, "ack ok")

	u := &storage.AlertUpdate{ID: "a1", Severity: "extreme", Title: "新标题", Body: "新正文",
		Area: json.RawMessage(`{"villages":["v2"]}`), Villages: []string{"v2"}, ExpiresAt: at(48 * time.Hour),
		By: "c1", At: at(time.Minute), Add: []storage.Target{{MemberID: "m3", SMSDueAt: at(time.Hour), SMSPriority: 4}},
		Remove: []string{"m2", "nobody"},
		Import: &storage.CAPImport{Sender: "s", Identifier: "U1", MsgType: "Update", At: at(time.Minute)}}
	uev := &storage.Event{Type: storage.EventAlertUpdate, AlertID: "a1", Body: json.RawMessage(`{"id":"a1"}`), CreatedAt: at(time.Minute)}
	gone := &storage.Event{Type: storage.EventAlertUpdate, AlertID: "a1", Body: json.RawMessage(`{"id":"a1","in_area":false}`), CreatedAt: at(time.Minute)}
	res, err := s.UpdateAlert(ctx, u, uev, gone)
	mustNoErr(t, err, "update")
	wantEqual(t, res.Added, []string{"m3"}, "added")
	wantEqual(t, seqsOf(res.Removed), []string{"alert_update:m2"}, "removed events")
	if uev.Seq <= a.Seq || res.Removed[0].Seq <= uev.Seq {
		t.Fatalf("seqs: alert %d, update %d, removed %d", a.Seq, uev.Seq, res.Removed[0].Seq)
	}
	got := res.Alert
	wantEqual(t, []string{got.Title, got.Body, got.Severity, got.UpdatedBy}, []string{"新标题", "新正文", "extreme", "c1"}, "updated fields")
	wantEqual(t, got.Villages, []string{"v2"}, "villages")
	wantTimePtr(t, got.UpdatedAt, ptr(at(time.Minute)), "updated at")
	wantTime(t, got.ExpiresAt, at(48*time.Hour), "expires at")
	wantEqual(t, got.UpdateSeq, uev.Seq, "update seq")
	wantEqual(t, got.Seq, a.Seq, "seq kept")
	_, id, err := s.CAPImported(ctx, "s", "U1")
	mustNoErr(t, err, "import recorded")
	wantEqual(t, id, "a1", "import's alert")

	// m1 keeps its answer (its SMS cancelled by it); m2 is out, its SMS cancelled, its answers kept in the history.
	rs, err := s.ListRecipients(ctx, "a1", storage.RecipientFilter{})
	mustNoErr(t, err, "recipients")
	var ids []string
	for _, r := range rs {
		ids = append(ids, r.MemberID+"="+r.Response)
	}
	slices.Sort(ids)
	wantEqual(t, ids, []string{"m1=safe", "m3="}, "recipients after the update")
	hist, err := s.AckHistory(ctx, "a1", "m1")
	mustNoErr(t, err, "history")
	wantEqual(t, len(hist), 1, "m1's answer kept")
	msgs, err := s.ListMessages(ctx, storage.AlertRef("a1"))
	mustNoErr(t, err, "messages")
	states := map[string]string{}
	for _, m := range msgs {
		states[m.MemberID] = m.State
	}
	wantEqual(t, states, map[string]string{"m1": storage.MessageCancelled, "m2": storage.MessageCancelled, "m3": storage.MessagePending}, "SMS")

	// Who reads which event on resume.
	for _, c := range []struct {
		member string
		want   []string
	}{
		{"m1", []string{"alert:", "alert_update:"}},
		{"m2", []string{"alert_update:m2"}},
		{"m3", []string{"alert:", "alert_update:"}},
	} {
		evs, err := s.EventsSince(ctx, storage.Audience{MemberID: c.member, Role: storage.RoleResident, VillageID: "v1"}, 0, 0)
		mustNoErr(t, err, "events since")
		wantEqual(t, seqsOf(evs), c.want, c.member+"'s events")
		act, err := s.ActiveAlertsFor(ctx, c.member, at(2*time.Minute))
		mustNoErr(t, err, "active")
		want := []string{"alert:", "alert_update:"}
		if c.member == "m2" {
			want = nil
		}
		wantEqual(t, seqsOf(act), want, c.member+"'s active alert events")
	}
	// The same import again writes nothing.
	u.Import, u.Title = &storage.CAPImport{Sender: "s", Identifier: "U1", MsgType: "Update", At: at(2 * time.Minute)}, "再次"
	u.At = at(2 * time.Minute)
	_, err = s.UpdateAlert(ctx, u, uev, gone)
	wantErrIs(t, err, storage.ErrConflict, "update imported twice")
	got, err = s.GetAlert(ctx, "a1")
	mustNoErr(t, err, "get")
	wantEqual(t, got.Title, "新标题", "title after the refused update")
}

func testUpdateAlertEnded(t *testing.T, s storage.Store) {
	ctx := t.Context()
	a, ev := alertAt("a1", t0)
	mustNoErr(t, s.CreateAlert(ctx, a, ev, nil), "create")
	u := &storage.AlertUpdate{ID: "a1", Severity: "minor", Title: "x", Body: "y", Area: a.Area,
		ExpiresAt: at(time.Hour), At: at(25 * time.Hour)}
	uev := &storage.Event{Type: storage.EventAlertUpdate, AlertID: "a1", CreatedAt: u.At}
	_, err := s.UpdateAlert(ctx, u, uev, uev)
	wantErrIs(t, err, storage.ErrConflict, "update of an expired alert")
	u.ID = "nope"
	_, err = s.UpdateAlert(ctx, u, uev, uev)
	wantErrIs(t, err, storage.ErrNotFound, "update of no alert")
}

func testCancelAlertBy(t *testing.T, s storage.Store) {
	ctx := t.Context()
	a, ev := alertAt("a1", t0)
	mustNoErr(t, s.CreateAlert(ctx, a, ev, nil), "create")
	imp := &storage.CAPImport{Sender: "s", Identifier: "C1", MsgType: "Cancel", At: at(time.Minute)}
	cev := &storage.Event{Type: storage.EventAlertCancel, AlertID: "a1", CreatedAt: at(time.Minute)}
	got, err := s.CancelAlertBy(ctx, "a1", at(time.Minute), "c9", imp, cev)
	mustNoErr(t, err, "cancel")
	wantEqual(t, got.CancelledBy, "c9", "cancelled by")
	wantEqual(t, got.Status, storage.AlertCancelled, "status")
	_, id, err := s.CAPImported(ctx, "s", "C1")
	mustNoErr(t, err, "cancel import")
	wantEqual(t, id, "a1", "cancel's alert")
	b, ev2 := alertAt("a2", t0)
	mustNoErr(t, s.CreateAlert(ctx, b, ev2, nil), "create a2")
	_, err = s.CancelAlertBy(ctx, "a2", at(time.Minute), "c9", imp, cev)
	wantErrIs(t, err, storage.ErrConflict, "the same Cancel message again")
	got, err = s.GetAlert(ctx, "a2")
	mustNoErr(t, err, "get a2")
	wantEqual(t, got.Status, storage.AlertActive, "a2 not cancelled")
}

// testPendingCAP: a feed's message waits once per sender+identifier and
// is decided once.
func testPendingCAP(t *testing.T, s storage.Store) {
	ctx := t.Context()
	p := &storage.PendingCAP{ID: "p1", Feed: "https://feed.example/a.atom", Sender: "s", Identifier: "I1",
		Doc: []byte("<alert/>"), Headline: "暴雨", Severity: "moderate", Reason: "below severe", ReceivedAt: t0}
	mustNoErr(t, s.AddPendingCAP(ctx, p), "add")
	q := *p
	q.ID = "p2"
	wantErrIs(t, s.AddPendingCAP(ctx, &q), storage.ErrConflict, "the same message again")
	p3 := &storage.PendingCAP{ID: "p3", Feed: "f", Sender: "s", Identifier: "I2", Doc: []byte("x"), ReceivedAt: at(time.Minute)}
	mustNoErr(t, s.AddPendingCAP(ctx, p3), "add p3")
	got, err := s.GetPendingCAP(ctx, "p1")
	mustNoErr(t, err, "get")
	wantEqual(t, []string{got.Status, got.Headline, got.Reason, string(got.Doc)}, []string{"pending", "暴雨", "below severe", "<alert/>"}, "stored")
	wantTime(t, got.ReceivedAt, t0, "received at")
	got, err = s.PendingCAPByMessage(ctx, "s", "I2")
	mustNoErr(t, err, "by message")
	wantEqual(t, got.ID, "p3", "by message")
	list, err := s.ListPendingCAP(ctx, storage.CAPPending, 0)
	mustNoErr(t, err, "list")
	wantEqual(t, []string{list[0].ID, list[1].ID}, []string{"p3", "p1"}, "newest first")
	got, err = s.DecidePendingCAP(ctx, "p1", storage.CAPApproved, "c1", at(time.Hour), "a9")
	mustNoErr(t, err, "approve")
	wantEqual(t, []string{got.Status, got.DecidedBy, got.AlertID}, []string{"approved", "c1", "a9"}, "decided")
	wantTimePtr(t, got.DecidedAt, ptr(at(time.Hour)), "decided at")
	_, err = s.DecidePendingCAP(ctx, "p1", storage.CAPDiscarded, "c2", at(2*time.Hour), "")
	wantErrIs(t, err, storage.ErrConflict, "decided twice")
	_, err = s.DecidePendingCAP(ctx, "nope", storage.CAPDiscarded, "c2", at(2*time.Hour), "")
	wantErrIs(t, err, storage.ErrNotFound, "no such")
	list, err = s.ListPendingCAP(ctx, storage.CAPPending, 0)
	mustNoErr(t, err, "list pending")
	wantEqual(t, len(list), 1, "one left pending")
	_, err = s.GetPendingCAP(ctx, "nope")
	wantErrIs(t, err, storage.ErrNotFound, "get none")
}
