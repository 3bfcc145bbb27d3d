package postgres

import (
	"testing"
	"time"

	"github.com/longyou/hub/storage/storetest"
)

// TestUpgradeReportCreatedSeq: reports stored before migration 7 get the
// seq of their first event as created_seq (storetest.CheckLegacyReports),
// and the migration rolls back and applies again.
func TestUpgradeReportCreatedSeq(t *testing.T) {
	ctx := t.Context()
	db, p, u := atVersion(t, 6)
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t0 := storetest.LegacyT0
	for _, e := range storetest.LegacyReportEvents {
		exec(`INSERT INTO events (seq, type, village_id, member_id, body, created_at) VALUES ($1, 'report', 'v1', 'm1', $2, $3)`,
			e.Seq, e.Body, t0)
	}
	for _, r := range storetest.LegacyReportRows {
		exec(`INSERT INTO reports (id, kind, text, lat, lng, member_id, village_id, status, created_at, updated_at, due_at, seq)
			VALUES ($1, 'flood', 't', 29.03, 119.17, 'm1', 'v1', 'new', $2, $2, $3, $4)`, r.ID, t0, t0.Add(30*time.Minute), r.Seq)
	}
	if _, err := p.UpTo(ctx, 7); err != nil {
		t.Fatalf("migrate to version 7: %v", err)
	}
	if _, err := p.DownTo(ctx, 6); err != nil {
		t.Fatalf("roll back to version 6: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, u, nil)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	storetest.CheckLegacyReports(t, s)
}
