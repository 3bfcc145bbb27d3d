package sqlite

import (
	"testing"
	"time"

	"github.com/longyou/hub/storage/storetest"
)

// TestUpgradeReportCreatedSeq: reports stored before migration 9 get the
// seq of their first event as created_seq (storetest.CheckLegacyReports),
// and the migration rolls back and applies again.
func TestUpgradeReportCreatedSeq(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db, p, path := atVersion(t, 8)
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t0 := storetest.LegacyT0.UnixMicro()
	due := storetest.LegacyT0.Add(30 * time.Minute).UnixMicro()
	for _, e := range storetest.LegacyReportEvents {
		exec(`INSERT INTO events (seq, type, village_id, member_id, body, created_at) VALUES (?, 'report', 'v1', 'm1', ?, ?)`,
			e.Seq, []byte(e.Body), t0)
	}
	for _, r := range storetest.LegacyReportRows {
		exec(`INSERT INTO reports (id, kind, text, lat, lng, member_id, village_id, status, created_at, updated_at, due_at, seq)
			VALUES (?, 'flood', 't', 29.03, 119.17, 'm1', 'v1', 'new', ?, ?, ?, ?)`, r.ID, t0, t0, due, r.Seq)
	}
	if _, err := p.UpTo(ctx, 9); err != nil {
		t.Fatalf("migrate to version 9: %v", err)
	}
	if _, err := p.DownTo(ctx, 8); err != nil {
		t.Fatalf("roll back to version 8: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	storetest.CheckLegacyReports(t, open(t, path))
}
