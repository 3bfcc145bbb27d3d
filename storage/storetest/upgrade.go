package storetest

import (
	"testing"
	"time"

	"github.com/longyou/hub/storage"
)

// The outbox replaced the sms table (SQLite migration 00005, PostgreSQL
// 00003). A backend's own test checks that an upgrading deployment keeps its
// queue: it migrates a database up to the step before, writes LegacyAlert,
// LegacyMembers and LegacySMS into the old tables with SQL of its dialect,
// opens the store (which applies the rest) and calls CheckLegacySMS.

// LegacyT0 is the time the legacy rows are written around.
var LegacyT0 = t0

// LegacyAlertID is the active alert (expiring a day after LegacyT0, created
// at LegacyT0, severity severe) the legacy rows are about.
const LegacyAlertID = "a1"

// LegacyMembers are the members of the legacy rows (phone PhoneOf(i+1),
// resident), each targeted by the alert without an answer.
var LegacyMembers = []string{"m1", "m2", "m3"}

// PhoneOf is the phone number the suite gives its member number n.
func PhoneOf(n int) string { return phoneOf(n) }

// LegacySMS is one row of the old sms table.
type LegacySMS struct {
	AlertID, MemberID, Kind, State string
	Priority                       int
	DueAt                          time.Time
	Attempts                       int
	ClaimedAt                      time.Time // zero: NULL
	ClaimedBy                      string
	SentAt                         time.Time // zero: NULL
	ProviderID                     string    // "": none (NULL on SQLite)
	Status, ErrorCode              string
	Segments                       int
}

// LegacySMSRows are a queue caught mid-flight: m1's alert SMS waits for a
// retry, m2's is claimed by node-a (in doubt), m3's was sent and m3's
// all-clear is queued.
var LegacySMSRows = []LegacySMS{
	{AlertID: "a1", MemberID: "m1", Kind: "alert", State: "pending", Priority: 3, DueAt: at(30 * time.Second),
		Attempts: 1, ErrorCode: "20429"},
	{AlertID: "a1", MemberID: "m2", Kind: "alert", State: "claimed", Priority: 3, DueAt: t0,
		Attempts: 1, ClaimedAt: at(time.Second), ClaimedBy: "node-a"},
	{AlertID: "a1", MemberID: "m3", Kind: "alert", State: "sent", Priority: 3, DueAt: t0,
		Attempts: 1, ClaimedAt: at(time.Second), ClaimedBy: "node-a", SentAt: at(2 * time.Second),
		ProviderID: "SM3", Status: "queued", Segments: 2},
	{AlertID: "a1", MemberID: "m3", Kind: "all_clear", State: "pending", Priority: 1, DueAt: at(10 * time.Second)},
}

// CheckLegacySMS checks, on a store opened over a database that held
// LegacySMSRows in its sms table, that every row is now an SMS about its
// alert with everything it held, and that the queue carries on: the in-doubt
// claim is found, the due rows are claimed in order, and a status callback
// finds the sent row by its provider id. A row claimed before the sending
// state existed (SQLite migration 00007, PostgreSQL 00005) may have been
// handed to the provider: it is sending now, in doubt as it was.
func CheckLegacySMS(t *testing.T, s storage.Store) {
	t.Helper()
	ctx := t.Context()
	rows, err := s.ListMessages(ctx, storage.AlertRef(LegacyAlertID))
	mustNoErr(t, err, "list messages after the upgrade")
	if len(rows) != len(LegacySMSRows) {
		t.Fatalf("%d messages after the upgrade, want %d: %+v", len(rows), len(LegacySMSRows), rows)
	}
	for i, w := range LegacySMSRows {
		r := rows[i]
		if w.State == storage.MessageClaimed {
			w.State = storage.MessageSending
		}
		if r.Channel != storage.ChannelSMS || r.Ref != storage.AlertRef(w.AlertID) || r.MemberID != w.MemberID ||
			r.Kind != w.Kind || r.State != w.State || r.Priority != w.Priority || r.Attempts != w.Attempts ||
			r.ClaimedBy != w.ClaimedBy || r.ProviderID != w.ProviderID || r.Status != w.Status ||
			r.ErrorCode != w.ErrorCode || r.Segments != w.Segments {
			t.Errorf("message %d after the upgrade: %+v, want %+v", i, r, w)
		}
		wantTime(t, r.DueAt, w.DueAt, "due_at")
		wantTime(t, r.ClaimedAt, w.ClaimedAt, "claimed_at")
		wantTime(t, r.SentAt, w.SentAt, "sent_at")
	}

	doubt, err := s.ClaimedMessages(ctx, storage.ChannelSMS, "node-a", at(time.Hour))
	mustNoErr(t, err, "claimed messages")
	wantEqual(t, keysOf(doubt), []string{"a1/m2/alert"}, "in doubt after the upgrade")
	due, err := s.ClaimDueMessages(ctx, storage.ChannelSMS, at(time.Minute), 10, "node-b")
	mustNoErr(t, err, "claim")
	wantEqual(t, keysOf(due), []string{"a1/m1/alert", "a1/m3/all_clear"}, "claimed after the upgrade")
	if len(due) == 2 && (due[0].Phone != phoneOf(1) || due[0].Attempts != 2) {
		t.Errorf("claimed row: %+v, want m1's phone and a second attempt", due[0])
	}
	mustNoErr(t, s.UpdateMessageStatus(ctx, storage.ChannelSMS, "SM3", smsStatus("delivered", "", at(time.Minute))),
		"status callback for a row sent before the upgrade")
	p, err := s.AlertProgress(ctx, LegacyAlertID)
	mustNoErr(t, err, "progress")
	wantEqual(t, p.SMS, storage.SMSCounts{Queued: 2, Delivered: 1, Segments: 2}, "sms counts after the upgrade")
}
