package sqlite

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/longyou/hub/storage"
	"github.com/longyou/hub/storage/storetest"
)

// TestConformanceAllDeferred runs the whole conformance suite with every
// alert's delivery and SMS rows deferred (sqlite_deferred.go): nothing the
// Store interface shows may differ from writing them in one transaction.
func TestConformanceAllDeferred(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) storage.Store {
		s := open(t, filepath.Join(t.TempDir(), "hub.db"))
		s.deferMin = 1
		return s
	})
}

func deferredSetup(t *testing.T, s *Store, n int) []storage.Target {
	t.Helper()
	ctx := t.Context()
	t0 := time.Date(2026, 7, 1, 8, 0, 0, 0, time.UTC)
	if err := s.CreateVillage(ctx, &storage.Village{ID: "v1", Name: "v1", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	ms := make([]storage.NewMember, n)
	ts := make([]storage.Target, n)
	for i := range ms {
		id := fmt.Sprintf("m%05d", i)
		ms[i].Member = storage.Member{ID: id, Name: id, Phone: fmt.Sprintf("+8613%09d", i),
			Role: storage.RoleResident, VillageID: "v1", CreatedAt: t0}
		ts[i] = storage.Target{MemberID: id, SMSPriority: 2}
		if i%3 == 0 {
			ts[i].SMSDueAt = t0.Add(time.Minute)
		}
	}
	if err := s.CreateMembers(ctx, ms); err != nil {
		t.Fatal(err)
	}
	return ts
}

func deferredAlert(id string) (*storage.Alert, *storage.Event) {
	t0 := time.Date(2026, 7, 1, 8, 0, 0, 0, time.UTC)
	a := &storage.Alert{ID: id, Kind: "warning", Severity: "severe", Title: "t", Body: "b",
		Area: json.RawMessage(`{"circle":{"lat":29,"lng":119,"radius_m":100}}`), CreatedBy: "c",
		CreatedAt: t0, ExpiresAt: t0.Add(24 * time.Hour), Status: storage.AlertActive}
	return a, &storage.Event{Type: storage.EventAlert, AlertID: id, Body: []byte(`{}`), CreatedAt: t0}
}

// TestDeferredReadersWait: while the materializer is held, a reader of the
// alert's rows waits, and sees all of them once it may go on.
func TestDeferredReadersWait(t *testing.T) {
	t.Parallel()
	s := open(t, filepath.Join(t.TempDir(), "hub.db"))
	ts := deferredSetup(t, s, 2*deferTargetsMin)
	gate := make(chan struct{})
	s.beforeMaterialize = func(string) { <-gate }
	a, ev := deferredAlert("big")
	if err := s.CreateAlert(t.Context(), a, ev, ts); err != nil {
		t.Fatal(err)
	}
	got := make(chan storage.Progress, 1)
	go func() {
		p, err := s.AlertProgress(context.Background(), "big")
		if err != nil {
			t.Error(err)
		}
		got <- p
	}()
	select {
	case p := <-got:
		t.Fatalf("AlertProgress answered %+v before the rows were written", p)
	case <-time.After(100 * time.Millisecond):
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
	_, err := s.IsTargeted(ctx, "big", "m00001")
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("IsTargeted with an expiring context while pending: %v, want deadline exceeded", err)
	}
	close(gate)
	p := <-got
	if p.Targeted != len(ts) || p.SMS.Queued != (len(ts)+2)/3 {
		t.Fatalf("progress after the wait = %+v, want %d targeted, %d SMS queued", p, len(ts), (len(ts)+2)/3)
	}
}

// TestDeferredCrashRecovery: a crash after CreateAlert returned and before
// the delivery rows were written loses nothing: the next Open writes them.
func TestDeferredCrashRecovery(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := open(t, filepath.Join(dir, "hub.db"))
	ts := deferredSetup(t, s, deferTargetsMin+7)
	gate := make(chan struct{})
	s.beforeMaterialize = func(string) { <-gate }
	defer close(gate)
	a, ev := deferredAlert("big")
	if err := s.CreateAlert(t.Context(), a, ev, ts); err != nil {
		t.Fatal(err)
	}
	// The files as a kill -9 would leave them: the writer is idle (held
	// before its second transaction), so the copy is a consistent state.
	crash := filepath.Join(t.TempDir(), "hub.db")
	for _, suffix := range []string{"", "-wal"} {
		copyFile(t, filepath.Join(dir, "hub.db"+suffix), crash+suffix)
	}
	var n int
	if err := s.r.QueryRow(`SELECT COUNT(*) FROM pending_targets`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("pending rows before the crash: %d, %v; want 1", n, err)
	}

	r := open(t, crash)
	if err := r.r.QueryRow(`SELECT COUNT(*) FROM pending_targets`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("pending rows after reopening: %d, %v; want 0", n, err)
	}
	p, err := r.AlertProgress(t.Context(), "big")
	if err != nil {
		t.Fatal(err)
	}
	if p.Targeted != len(ts) || p.SMS.Queued != (len(ts)+2)/3 {
		t.Fatalf("progress after recovery = %+v, want %d targeted, %d SMS queued", p, len(ts), (len(ts)+2)/3)
	}
	due, err := r.ClaimDueMessages(t.Context(), storage.ChannelSMS, time.Date(2026, 7, 1, 9, 0, 0, 0, time.UTC), 10000, "test")
	if err != nil || len(due) != (len(ts)+2)/3 {
		t.Fatalf("claimed %d SMS after recovery (%v), want %d", len(due), err, (len(ts)+2)/3)
	}
}

// TestDeferredUnknownMember: a deferred alert to a member who does not
// exist fails as the inline one does, writing nothing.
func TestDeferredUnknownMember(t *testing.T) {
	t.Parallel()
	s := open(t, filepath.Join(t.TempDir(), "hub.db"))
	ts := deferredSetup(t, s, deferTargetsMin)
	ts = append(ts, storage.Target{MemberID: "ghost"})
	a, ev := deferredAlert("big")
	err := s.CreateAlert(t.Context(), a, ev, ts)
	if !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("CreateAlert to a ghost = %v, want ErrNotFound", err)
	}
	if _, err := s.GetAlert(t.Context(), "big"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("the alert of a failed CreateAlert: %v", err)
	}
	// And the same id can then be used.
	if err := s.CreateAlert(t.Context(), a, ev, ts[:len(ts)-1]); err != nil {
		t.Fatal(err)
	}
	p, err := s.AlertProgress(t.Context(), "big")
	if err != nil || p.Targeted != len(ts)-1 {
		t.Fatalf("progress = %+v, %v", p, err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestBackgroundCheckpoint: the writer never checkpoints (wal_autocheckpoint
// is 0), so only the background checkpointer moves committed pages from the
// WAL into the database file; without it the file would not grow.
func TestBackgroundCheckpoint(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "hub.db")
	s := open(t, path)
	size := func() int64 {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	before := size()
	deferredSetup(t, s, 20000) // several MB of member rows and indexes
	deadline := time.Now().Add(10 * time.Second)
	for size() < before+1<<20 {
		if time.Now().After(deadline) {
			t.Fatalf("database file %d bytes, %d before 20,000 members: no checkpoint ran", size(), before)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
