// Package storetest is the one conformance suite every storage.Store backend
// runs (river's riverdrivertest.Exercise): the same cases, the same
// expectations, whether the store is SQLite or PostgreSQL. A backend's own
// tests call Run (and Bench, and RunReopen where it can reopen its data)
// with a constructor that gives a fresh, empty store.
//
// Every expectation here is a rule of storage.go's doc comments, or the
// reading of it that the backends agree on where the comment leaves a choice
// open (the list orders, for instance); each such reading is noted at its
// test.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/longyou/hub/storage"
)

// testCase is one sub-test of Run; it gets a fresh store.
type testCase struct {
	name string
	fn   func(t *testing.T, s storage.Store)
}

// Run runs the whole conformance suite: every capability below. Each call
// of newStore must return a fresh, empty store and register its cleanup
// (t.Cleanup) itself; newStore is called from parallel sub-tests.
//
// The suite is split by capability, as the consumers declare them (each
// service its own narrow store interface): a backend, or a new capability,
// can be exercised alone with the RunX it concerns. Every case gets the
// full storage.Store, since setting up a case (villages, members) needs
// more than the capability under test.
func Run(t *testing.T, newStore func(t *testing.T) storage.Store) {
	t.Helper()
	t.Run("Members", func(t *testing.T) { t.Parallel(); RunMembers(t, newStore) })
	t.Run("Tokens", func(t *testing.T) { t.Parallel(); RunTokens(t, newStore) })
	t.Run("Networks", func(t *testing.T) { t.Parallel(); RunNetworks(t, newStore) })
	t.Run("EventLog", func(t *testing.T) { t.Parallel(); RunEventLog(t, newStore) })
	t.Run("Alerts", func(t *testing.T) { t.Parallel(); RunAlerts(t, newStore) })
	t.Run("Reports", func(t *testing.T) { t.Parallel(); RunReports(t, newStore) })
	t.Run("Paging", func(t *testing.T) { t.Parallel(); RunPaging(t, newStore) })
	t.Run("Bulletins", func(t *testing.T) { t.Parallel(); RunBulletins(t, newStore) })
	t.Run("Media", func(t *testing.T) { t.Parallel(); RunMedia(t, newStore) })
	t.Run("Outbox", func(t *testing.T) { t.Parallel(); RunOutbox(t, newStore) })
	t.Run("Concurrency", func(t *testing.T) { t.Parallel(); RunConcurrency(t, newStore) })
	t.Run("Cluster", func(t *testing.T) { t.Parallel(); RunCluster(t, newStore) })
	t.Run("Privacy", func(t *testing.T) { t.Parallel(); RunPrivacy(t, newStore) })
	t.Run("Roster", func(t *testing.T) { t.Parallel(); RunRoster(t, newStore) })
	t.Run("Voice", func(t *testing.T) { t.Parallel(); RunVoice(t, newStore) })
	t.Run("Invites", func(t *testing.T) { t.Parallel(); RunInvites(t, newStore) })
	t.Run("Households", func(t *testing.T) { t.Parallel(); RunHouseholds(t, newStore) })
	t.Run("Audit", func(t *testing.T) { t.Parallel(); RunAudit(t, newStore) })
	t.Run("Letters", func(t *testing.T) { t.Parallel(); RunLetters(t, newStore) })
	t.Run("Handling", func(t *testing.T) { t.Parallel(); RunHandling(t, newStore) })
	t.Run("CAPImport", func(t *testing.T) { t.Parallel(); RunCAPImport(t, newStore) })
	t.Run("Board", func(t *testing.T) { t.Parallel(); RunBoard(t, newStore) })
	t.Run("Credit", func(t *testing.T) { t.Parallel(); RunCredit(t, newStore) })
	t.Run("Patrol", func(t *testing.T) { t.Parallel(); RunPatrol(t, newStore) })
}

// RunMembers: villages, members, tokens, live positions, addresses and
// travel modes (service/members, the hub core's directory load).
func RunMembers(t *testing.T, newStore func(t *testing.T) storage.Store) {
	runCases(t, memberCases, newStore)
}

// RunNetworks: the versions of the travel network (its upload, the
// current version every node reads, the history).
func RunNetworks(t *testing.T, newStore func(t *testing.T) storage.Store) {
	runCases(t, networkCases, newStore)
}

// RunEventLog: the seq, resume's reads and the active alerts of a member
// (the hub core's welcome and resume).
func RunEventLog(t *testing.T, newStore func(t *testing.T) storage.Store) {
	runCases(t, eventCases, newStore)
}

// RunAlerts: alerts, their targets, answers, delivered marks, progress and
// recipients (service/alerting).
func RunAlerts(t *testing.T, newStore func(t *testing.T) storage.Store) {
	runCases(t, alertCases, newStore)
}

// RunReports: hazard reports (service/reports).
func RunReports(t *testing.T, newStore func(t *testing.T) storage.Store) {
	runCases(t, reportCases, newStore)
}

// RunBulletins: village and county bulletins (service/bulletins).
func RunBulletins(t *testing.T, newStore func(t *testing.T) storage.Store) {
	runCases(t, bulletinCases, newStore)
}

// RunMedia: uploaded photos (service/members).
func RunMedia(t *testing.T, newStore func(t *testing.T) storage.Store) {
	runCases(t, mediaCases, newStore)
}

// RunOutbox: the outbox of every channel (notify's dispatcher).
func RunOutbox(t *testing.T, newStore func(t *testing.T) storage.Store) {
	runCases(t, outboxCases, newStore)
}

// RunConcurrency: what must hold with writers and readers at once (seq
// order equals visibility order, claims taken once).
func RunConcurrency(t *testing.T, newStore func(t *testing.T) storage.Store) {
	runCases(t, concurrencyCases, newStore)
}

// RunCluster: what a node of a cluster reads to catch up and to find its
// own recipients of an alert accepted elsewhere (the hub core).
func RunCluster(t *testing.T, newStore func(t *testing.T) storage.Store) {
	runCases(t, clusterCases, newStore)
}

func runCases(t *testing.T, cases []testCase, newStore func(t *testing.T) storage.Store) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.fn(t, newStore(t))
		})
	}
}

// t0 is the suite's clock: a fixed instant with microseconds, the precision
// every backend keeps.
var t0 = time.Date(2026, 7, 1, 8, 0, 0, 0, time.UTC).Add(123456 * time.Microsecond)

// at returns t0 plus d.
func at(d time.Duration) time.Time { return t0.Add(d) }

// mustNoErr fails the test now when err is not nil.
func mustNoErr(t testing.TB, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// wantErrIs fails the test unless errors.Is(err, target).
func wantErrIs(t testing.TB, err, target error, what string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: got error %v, want one matching %v", what, err, target)
	}
}

// wantTime fails unless got is the same instant as want, in UTC.
func wantTime(t testing.TB, got, want time.Time, what string) {
	t.Helper()
	if !got.Equal(want) {
		t.Errorf("%s: got %v, want %v", what, got, want)
	}
	if !got.IsZero() && got.Location() != time.UTC {
		t.Errorf("%s: location %v, want UTC", what, got.Location())
	}
}

// wantTimePtr is wantTime for optional times.
func wantTimePtr(t testing.TB, got, want *time.Time, what string) {
	t.Helper()
	switch {
	case got == nil && want == nil:
	case got == nil || want == nil:
		t.Errorf("%s: got %v, want %v", what, got, want)
	default:
		wantTime(t, *got, *want, what)
	}
}

// wantJSON fails unless got and want are the same JSON value (a backend may
// store JSON in a normalized form: key order and spaces may differ).
func wantJSON(t testing.TB, got, want json.RawMessage, what string) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Errorf("%s: got invalid JSON %q: %v", what, got, err)
		return
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("%s: want invalid JSON %q: %v", what, want, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s: got %s, want %s", what, got, want)
	}
}

// wantEqual fails unless got and want are deeply equal.
func wantEqual[T any](t testing.TB, got, want T, what string) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: got %+v, want %+v", what, got, want)
	}
}

// phoneOf is a distinct E.164 number for the n-th test member.
func phoneOf(n int) string { return fmt.Sprintf("+86138%08d", n) }

// village creates a village with this id.
func village(t testing.TB, s storage.Store, id string) storage.Village {
	t.Helper()
	v := storage.Village{ID: id, Name: "村 " + id, Township: "乡 " + id,
		Center: storage.LatLng{Lat: 29.03, Lng: 119.17}, CreatedAt: t0}
	mustNoErr(t, s.CreateVillage(context.Background(), &v), "create village "+id)
	return v
}

// newMember is a member with a phone derived from n.
func newMember(id string, n int, role storage.Role, villageID string) storage.Member {
	return storage.Member{ID: id, Name: "成员 " + id, Phone: phoneOf(n), Role: role,
		VillageID: villageID, CreatedAt: t0}
}

// members creates ms (without tokens).
func members(t testing.TB, s storage.Store, ms ...storage.Member) {
	t.Helper()
	nms := make([]storage.NewMember, len(ms))
	for i, m := range ms {
		nms[i] = storage.NewMember{Member: m}
	}
	mustNoErr(t, s.CreateMembers(context.Background(), nms), "create members")
}

// manyMembers creates n residents m00000.. of village v, in batches.
func manyMembers(t testing.TB, s storage.Store, prefix string, n int, v string) []string {
	t.Helper()
	ids := make([]string, n)
	batch := make([]storage.NewMember, 0, 5000)
	flush := func() {
		mustNoErr(t, s.CreateMembers(context.Background(), batch), "create members")
		batch = batch[:0]
	}
	for i := range n {
		ids[i] = fmt.Sprintf("%s%06d", prefix, i)
		m := storage.Member{ID: ids[i], Name: ids[i], Phone: fmt.Sprintf("+86%s%07d", prefixDigits(prefix), i),
			Role: storage.RoleResident, VillageID: v, CreatedAt: t0}
		batch = append(batch, storage.NewMember{Member: m})
		if len(batch) == cap(batch) {
			flush()
		}
	}
	if len(batch) > 0 {
		flush()
	}
	return ids
}

// prefixDigits maps a member id prefix to 4 digits so phones of different
// prefixes do not collide.
func prefixDigits(prefix string) string {
	h := uint32(2166136261)
	for i := range len(prefix) {
		h = (h ^ uint32(prefix[i])) * 16777619
	}
	return fmt.Sprintf("%04d", h%10000)
}

// alertAt is an active severe warning created at c, expiring a day later,
// and its event.
func alertAt(id string, c time.Time) (*storage.Alert, *storage.Event) {
	fallback := 60
	a := &storage.Alert{
		ID: id, Kind: "warning", Severity: "severe", Title: "洪水预警 " + id, Body: "请立即转移",
		Area:      json.RawMessage(`{"circle":{"lat":29.03,"lng":119.17,"radius_m":3000}}`),
		CreatedBy: "commander-1", CreatedAt: c, ExpiresAt: c.Add(24 * time.Hour),
		Status: storage.AlertActive, SMSFallbackAfterS: &fallback,
	}
	body, _ := json.Marshal(map[string]any{"id": id, "title": a.Title})
	ev := &storage.Event{Type: storage.EventAlert, AlertID: id, Body: body, CreatedAt: c}
	return a, ev
}

// createAlert creates a (from alertAt) addressed to the members, without
// SMS, and returns it.
func createAlert(t testing.TB, s storage.Store, id string, c time.Time, memberIDs ...string) *storage.Alert {
	t.Helper()
	a, ev := alertAt(id, c)
	mustNoErr(t, s.CreateAlert(context.Background(), a, ev, targets(memberIDs...)), "create alert "+id)
	return a
}

// targets addresses members without SMS.
func targets(ids ...string) []storage.Target {
	ts := make([]storage.Target, len(ids))
	for i, id := range ids {
		ts[i] = storage.Target{MemberID: id}
	}
	return ts
}

// cancelEvent is the alert_cancel event of alert id.
func cancelEvent(id string, c time.Time) *storage.Event {
	return &storage.Event{Type: storage.EventAlertCancel, AlertID: id, Body: json.RawMessage(`null`), CreatedAt: c}
}

// bulletinAt is a bulletin of village v ("" county-wide) and its event.
func bulletinAt(id, v string, c time.Time) (*storage.Bulletin, *storage.Event) {
	b := &storage.Bulletin{ID: id, VillageID: v, Category: "notice", Title: "通知 " + id, Body: "内容",
		AuthorID: "cadre-1", PublishedAt: c}
	body, _ := json.Marshal(map[string]any{"id": id, "village_id": v})
	return b, &storage.Event{Type: storage.EventBulletin, VillageID: v, Body: body, CreatedAt: c}
}

// createBulletin creates a bulletin from bulletinAt.
func createBulletin(t testing.TB, s storage.Store, id, v string, c time.Time) *storage.Bulletin {
	t.Helper()
	b, ev := bulletinAt(id, v, c)
	mustNoErr(t, s.CreateBulletin(context.Background(), b, ev), "create bulletin "+id)
	return b
}

// reportAt is a new flood report by member m of village v and its event.
func reportAt(id, m, v string, c time.Time) (*storage.Report, *storage.Event) {
	r := &storage.Report{ID: id, Kind: "flood", Text: "桥下水位上涨", Lat: 29.01, Lng: 119.2,
		Photos: []string{"media-" + id}, MemberID: m, VillageID: v, Status: storage.ReportNew,
		CreatedAt: c, UpdatedAt: c, DueAt: c.Add(30 * time.Minute)}
	body, _ := json.Marshal(map[string]any{"id": id, "status": r.Status})
	return r, &storage.Event{Type: storage.EventReport, VillageID: v, MemberID: m, Body: body, CreatedAt: c}
}

// createReport creates a report from reportAt.
func createReport(t testing.TB, s storage.Store, id, m, v string, c time.Time) *storage.Report {
	t.Helper()
	r, ev := reportAt(id, m, v, c)
	mustNoErr(t, s.CreateReport(context.Background(), r, ev), "create report "+id)
	return r
}

// seqs returns the seqs of events.
func seqs(evs []storage.Event) []int64 {
	out := make([]int64, len(evs))
	for i, e := range evs {
		out[i] = e.Seq
	}
	return out
}

// alertIDsOf returns the ids of alerts.
func alertIDsOf(as []storage.Alert) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.ID
	}
	return out
}

// ack is an answer.
func ack(alertID, memberID, response string, c time.Time) storage.Ack {
	return storage.Ack{AlertID: alertID, MemberID: memberID, Response: response, At: c}
}

// allAcked is Progress.Acked with every key, zero included, then the given
// counts.
func allAcked(kv ...any) map[string]int {
	m := map[string]int{storage.RespReceived: 0, storage.RespSafe: 0, storage.RespNeedHelp: 0,
		storage.RespComing: 0, storage.RespUnavailable: 0}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1].(int)
	}
	return m
}
