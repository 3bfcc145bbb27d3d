package postgres

import (
	"database/sql"
	"io/fs"
	"log/slog"
	"testing"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/longyou/hub/storage/postgres/pgtest"
	"github.com/longyou/hub/storage/storetest"
)

// TestUpgradeReportCreatedSeq: reports stored before migration 7 get the
// seq of their first event as created_seq (storetest.CheckLegacyReports),
// and the migration rolls back and applies again.
func TestUpgradeReportCreatedSeq(t *testing.T) {
	u := pgtest.TestURL(t)
	ctx := t.Context()
	db, err := sql.Open("pgx", u)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	fsys, err := fs.Sub(migrations, "migration")
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys,
		goose.WithSlog(slog.New(slog.DiscardHandler)), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 6); err != nil {
		t.Fatalf("migrate to version 6: %v", err)
	}
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
