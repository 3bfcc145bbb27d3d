package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/longyou/hub/storage"
	"github.com/longyou/hub/storage/postgres/pgtest"
	"github.com/longyou/hub/storage/storetest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestConformance runs the shared storage suite, each case on its own fresh
// database.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storage.Store { return NewTestStore(t) })
}

// TestReopen closes and reopens stores over one database.
func TestReopen(t *testing.T) {
	u := pgtest.TestURL(t)
	storetest.RunReopen(t, func(t *testing.T) storage.Store {
		s, err := Open(t.Context(), u, nil)
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}

func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) storage.Store { return NewTestStore(b) })
}

// TestTimesInUTC reads times back through a session whose TimeZone is not
// UTC: they must still come back in UTC.
func TestTimesInUTC(t *testing.T) {
	u, err := url.Parse(pgtest.TestURL(t))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("timezone", "Asia/Shanghai")
	u.RawQuery = q.Encode()
	s, err := Open(t.Context(), u.String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var tz string
	if err := s.pool.QueryRow(t.Context(), "SHOW TimeZone").Scan(&tz); err != nil || tz != "Asia/Shanghai" {
		t.Fatalf("session TimeZone %q, %v", tz, err)
	}
	v := &storage.Village{ID: "v1", Name: "v", CreatedAt: t0}
	if err := s.CreateVillage(t.Context(), v); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetVillage(t.Context(), "v1")
	if err != nil {
		t.Fatal(err)
	}
	if got.CreatedAt.Location() != time.UTC || !got.CreatedAt.Equal(t0) {
		t.Fatalf("created_at %v (%v), want %v in UTC", got.CreatedAt, got.CreatedAt.Location(), t0)
	}
}

// t0 is a fixed instant with microsecond precision (what timestamptz keeps).
var t0 = time.Date(2026, 7, 1, 8, 0, 0, 0, time.UTC)

func mustMembers(t testing.TB, s *Store, n int, prefix string) []string {
	t.Helper()
	ms := make([]storage.NewMember, n)
	ids := make([]string, n)
	for i := range ms {
		ids[i] = fmt.Sprintf("%s%06d", prefix, i)
		ms[i] = storage.NewMember{Member: storage.Member{
			ID: ids[i], Name: "villager", Phone: fmt.Sprintf("+86139%08d", i),
			Role: storage.RoleResident, VillageID: "v1", Home: &storage.LatLng{Lat: 29, Lng: 119},
			CreatedAt: t0,
		}, TokenHash: []byte(ids[i])}
	}
	if err := s.CreateMembers(context.Background(), ms); err != nil {
		t.Fatalf("CreateMembers: %v", err)
	}
	return ids
}

func newAlert(id string) (*storage.Alert, *storage.Event) {
	a := &storage.Alert{
		ID: id, Kind: "warning", Severity: "severe", Title: "flood", Body: "go up",
		Area: json.RawMessage(`{"villages":["v1"]}`), Villages: []string{"v1"}, CreatedBy: "cmd",
		CreatedAt: t0, ExpiresAt: t0.Add(24 * time.Hour),
	}
	return a, &storage.Event{Type: storage.EventAlert, AlertID: id, Body: json.RawMessage(`{"id":"` + id + `"}`), CreatedAt: t0}
}

// TestOpenConcurrent opens several stores on one fresh database at once, as
// hub nodes starting together do: all must succeed and the migrations must
// run once.
func TestOpenConcurrent(t *testing.T) {
	u := pgtest.TestURL(t)
	ctx := context.Background()
	const nodes = 6
	stores := make([]*Store, nodes)
	errs := make([]error, nodes)
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Go(func() { stores[i], errs[i] = Open(ctx, u, slog.New(slog.DiscardHandler)) })
	}
	wg.Wait()
	for _, s := range stores {
		if s != nil {
			t.Cleanup(func() { _ = s.Close() })
		}
	}
	migrated := 0
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Open #%d: %v", i, err)
		}
		migrated += stores[i].migrated
	}
	files, err := fs.Glob(migrations, "migration/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	if migrated != len(files) {
		t.Fatalf("migrations applied %d times in all, want %d (once each)", migrated, len(files))
	}
	var rows, distinct int
	if err := stores[0].pool.QueryRow(ctx, `SELECT count(*), count(DISTINCT version_id)
		FROM goose_db_version WHERE version_id > 0`).Scan(&rows, &distinct); err != nil {
		t.Fatal(err)
	}
	if rows != len(files) || distinct != len(files) {
		t.Fatalf("goose_db_version has %d rows (%d versions), want %d", rows, distinct, len(files))
	}
	// Every node works on the shared schema.
	for i, s := range stores {
		if err := s.Ping(ctx); err != nil {
			t.Fatalf("Ping #%d: %v", i, err)
		}
	}
}

// TestOpenUnreachable checks that Open fails (rather than hangs) when the
// server is not there.
func TestOpenUnreachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := Open(ctx, "postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=2", nil)
	if err == nil {
		t.Fatal("Open on a closed port succeeded")
	}
}

// TestSeqWaitsForEarlierWriter holds the seq counter in an open transaction
// (as a slow event writer would between taking its seq and committing) and
// checks that a later writer can neither take a seq nor become visible
// before it: readers never see seq N+1 while N is in flight.
func TestSeqWaitsForEarlierWriter(t *testing.T) {
	s := NewTestStore(t)
	ctx := context.Background()
	slow, err := s.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Rollback(ctx)
	var seq int64
	if err := slow.QueryRow(ctx, eventCTE+`SELECT seq FROM e`,
		eventArgs(&storage.Event{Type: storage.EventBulletin, CreatedAt: t0})...).Scan(&seq); err != nil {
		t.Fatal(err)
	}
	if seq != 1 {
		t.Fatalf("first seq = %d, want 1", seq)
	}
	done := make(chan error, 1)
	ev := &storage.Event{Type: storage.EventBulletin, CreatedAt: t0}
	go func() {
		done <- s.CreateBulletin(ctx, &storage.Bulletin{ID: "b2", Title: "t", Body: "b", PublishedAt: t0}, ev)
	}()
	select {
	case err := <-done:
		t.Fatalf("a second writer committed (err %v) while seq 1 was in flight", err)
	case <-time.After(300 * time.Millisecond):
	}
	reader := storage.Audience{MemberID: "m", Role: storage.RoleAdmin}
	if evs, err := s.EventsSince(ctx, reader, 0, 10); err != nil || len(evs) != 0 {
		t.Fatalf("EventsSince while seq 1 in flight = %v, %v; want none", evs, err)
	}
	if latest, err := s.LatestSeq(ctx); err != nil || latest != 0 {
		t.Fatalf("LatestSeq while seq 1 in flight = %d, %v; want 0", latest, err)
	}
	if err := slow.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("CreateBulletin: %v", err)
	}
	if ev.Seq != 2 {
		t.Fatalf("second writer got seq %d, want 2", ev.Seq)
	}
	evs, err := s.EventsSince(ctx, reader, 0, 10)
	if err != nil || len(evs) != 2 || evs[0].Seq != 1 || evs[1].Seq != 2 {
		t.Fatalf("EventsSince after commit = %v, %v; want seqs 1, 2", evs, err)
	}
}

// TestSeqVisibilityOrder runs many concurrent event writers of different
// weights (bulletins, reports, report updates, alerts with a thousand
// targets) against readers that resume with "seq > last" as clients do.
// Seqs are gapless (a rolled-back writer rolls back its increment), so a
// reader must always see exactly last+1 next: a skip would mean a seq
// became visible before a smaller one, a repeat would mean reuse.
func TestSeqVisibilityOrder(t *testing.T) {
	s := NewTestStore(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	mustMembers(t, s, 1000, "m")
	targets := make([]storage.Target, 1000)
	for i := range targets {
		targets[i] = storage.Target{MemberID: fmt.Sprintf("m%06d", i), SMSDueAt: t0}
	}

	const writers, perWriter, readers = 8, 40, 4
	total := int64(0)
	var wg sync.WaitGroup
	errc := make(chan error, writers+readers)
	for w := range writers {
		total += perWriter
		if w%4 == 1 {
			total += perWriter // report create + update
		}
		wg.Go(func() {
			for i := range perWriter {
				var err error
				switch w % 4 {
				case 0:
					err = s.CreateBulletin(ctx, &storage.Bulletin{ID: fmt.Sprintf("b%d-%d", w, i),
						Title: "t", Body: "b", PublishedAt: t0},
						&storage.Event{Type: storage.EventBulletin, CreatedAt: t0})
				case 1:
					r := &storage.Report{ID: fmt.Sprintf("r%d-%d", w, i), Kind: "flood", MemberID: "m000001",
						VillageID: "v1", Status: storage.ReportNew, CreatedAt: t0, UpdatedAt: t0, DueAt: t0}
					err = s.CreateReport(ctx, r, &storage.Event{Type: storage.EventReport, VillageID: "v1",
						MemberID: "m000001", CreatedAt: t0})
					if err == nil {
						r.Status = storage.ReportAccepted
						err = s.UpdateReport(ctx, r, storage.ReportNew, &storage.Event{Type: storage.EventReport,
							VillageID: "v1", MemberID: "m000001", CreatedAt: t0})
					}
				case 2:
					a, ev := newAlert(fmt.Sprintf("a%d-%d", w, i))
					err = s.CreateAlert(ctx, a, ev, targets)
				case 3:
					a, ev := newAlert(fmt.Sprintf("c%d-%d", w, i))
					err = s.CreateAlert(ctx, a, ev, targets[:10])
				}
				if err != nil {
					errc <- fmt.Errorf("writer %d: %w", w, err)
					return
				}
			}
		})
	}
	// The reader is member m000000: targeted by every alert, sees every
	// report (admin) and every county-wide bulletin.
	reader := storage.Audience{MemberID: "m000000", Role: storage.RoleAdmin, VillageID: "v1"}
	var rwg sync.WaitGroup
	for r := range readers {
		rwg.Go(func() {
			var last int64
			for last < total {
				evs, err := s.EventsSince(ctx, reader, last, 7+r)
				if err != nil {
					errc <- fmt.Errorf("reader %d: %w", r, err)
					return
				}
				for _, ev := range evs {
					if ev.Seq != last+1 {
						errc <- fmt.Errorf("reader %d: after seq %d got seq %d (skip or repeat)", r, last, ev.Seq)
						return
					}
					last = ev.Seq
				}
				if ctx.Err() != nil {
					errc <- fmt.Errorf("reader %d: stuck at %d of %d", r, last, total)
					return
				}
			}
		})
	}
	wg.Wait()
	rwg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	if latest, err := s.LatestSeq(ctx); err != nil || latest != total {
		t.Fatalf("LatestSeq = %d, %v; want %d", latest, err, total)
	}
}

// TestBulkAlertClaim creates an alert with 20,000 targets, acknowledges in
// batches (one ack per batch from a member the alert does not address), then
// drains the outbox from four claimers at once: every SMS of a member who
// did not answer is claimed exactly once (FOR UPDATE SKIP LOCKED).
func TestBulkAlertClaim(t *testing.T) {
	s := NewTestStore(t)
	ctx := context.Background()
	const n = 20000
	start := time.Now()
	ids := mustMembers(t, s, n, "m")
	t.Logf("CreateMembers %d: %v", n, time.Since(start))
	targets := make([]storage.Target, n)
	for i, id := range ids {
		targets[i] = storage.Target{MemberID: id, SMSDueAt: t0.Add(time.Duration(i%60) * time.Second)}
	}
	a, ev := newAlert("big")
	start = time.Now()
	if err := s.CreateAlert(ctx, a, ev, targets); err != nil {
		t.Fatalf("CreateAlert: %v", err)
	}
	t.Logf("CreateAlert with %d targets: %v", n, time.Since(start))
	if a.Seq != 1 || ev.Seq != 1 || a.Status != storage.AlertActive {
		t.Fatalf("after CreateAlert seq %d/%d status %q", a.Seq, ev.Seq, a.Status)
	}
	p, err := s.AlertProgress(ctx, "big")
	if err != nil {
		t.Fatal(err)
	}
	if p.Targeted != n || p.SMS.Queued != n || p.Delivered != 0 || len(p.Acked) != 5 {
		t.Fatalf("progress = %+v", p)
	}

	// Acks for the first 10,000 members in batches of 1,000.
	start = time.Now()
	for b := 0; b < 10000; b += 1000 {
		acks := make([]storage.Ack, 0, 1001)
		for i := b; i < b+1000; i++ {
			acks = append(acks, storage.Ack{AlertID: "big", MemberID: ids[i], Response: storage.RespSafe, At: t0.Add(time.Minute)})
		}
		acks = append(acks, storage.Ack{AlertID: "big", MemberID: "nobody", Response: storage.RespSafe, At: t0})
		ok, err := s.RecordAcks(ctx, acks)
		if err != nil {
			t.Fatalf("RecordAcks: %v", err)
		}
		for i, v := range ok {
			if v != (i < 1000) {
				t.Fatalf("ok[%d] = %v", i, v)
			}
		}
	}
	t.Logf("RecordAcks 10 x 1,000: %v", time.Since(start))
	start = time.Now()
	p, err = s.AlertProgress(ctx, "big")
	t.Logf("AlertProgress: %v", time.Since(start))
	if err != nil {
		t.Fatal(err)
	}
	if p.Acked[storage.RespSafe] != 10000 || p.Delivered != 10000 || p.SMS.Queued != n-10000 {
		t.Fatalf("progress after acks = %+v", p)
	}

	// Four claimers drain the outbox at once.
	const claimers = 4
	claimed := make([][]storage.Message, claimers)
	errs := make([]error, claimers)
	var wg sync.WaitGroup
	now := t0.Add(time.Hour)
	start = time.Now()
	for c := range claimers {
		wg.Go(func() {
			for {
				rows, err := s.ClaimDueMessages(ctx, storage.ChannelSMS, now, 500, fmt.Sprintf("node%d", c))
				if err != nil {
					errs[c] = err
					return
				}
				if len(rows) == 0 {
					return
				}
				claimed[c] = append(claimed[c], rows...)
			}
		})
	}
	wg.Wait()
	t.Logf("ClaimDueMessages by %d claimers: %v", claimers, time.Since(start))
	seen := make(map[string]string, n)
	for c, rows := range claimed {
		if errs[c] != nil {
			t.Fatalf("claimer %d: %v", c, errs[c])
		}
		for _, r := range rows {
			if prev, dup := seen[r.MemberID]; dup {
				t.Fatalf("sms of %s claimed by %s and node%d", r.MemberID, prev, c)
			}
			seen[r.MemberID] = fmt.Sprintf("node%d", c)
			if r.State != storage.MessageClaimed || r.Attempts != 1 || r.Phone == "" {
				t.Fatalf("claimed row %+v", r)
			}
		}
	}
	if len(seen) != n-10000 {
		t.Fatalf("claimed %d rows, want %d", len(seen), n-10000)
	}
	p, err = s.AlertProgress(ctx, "big")
	if err != nil {
		t.Fatal(err)
	}
	if p.SMS.Queued != n-10000 {
		t.Fatalf("queued after claim = %d", p.SMS.Queued)
	}
}

// NewTestStore opens a Store on a fresh database (see pgtest.TestURL) and
// closes it when the test ends, before the database is dropped.
func NewTestStore(t testing.TB) *Store {
	t.Helper()
	u := pgtest.TestURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := Open(ctx, u, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("postgres: open test store: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}
