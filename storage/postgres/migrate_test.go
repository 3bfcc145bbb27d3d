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

// TestUpgradeSMSToOutbox: a database of the schema before the outbox
// (version 2) with a queue mid-flight in its sms table is opened by this
// version: migration 3 moves every row to the outbox and the queue carries
// on (storetest.CheckLegacySMS). Before that the migration is rolled back
// and applied again: the rows survive the round trip.
func TestUpgradeSMSToOutbox(t *testing.T) {
	ctx := t.Context()
	db, p, u := atVersion(t, 2)
	null := func(tm time.Time) *time.Time {
		if tm.IsZero() {
			return nil
		}
		return &tm
	}
	t0 := storetest.LegacyT0
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`INSERT INTO alerts (id, kind, severity, title, body, created_by, created_at, expires_at, status, seq)
		VALUES ($1, 'warning', 'severe', 't', 'b', 'admin', $2, $3, 'active', 1)`,
		storetest.LegacyAlertID, t0, t0.Add(24*time.Hour))
	for i, m := range storetest.LegacyMembers {
		exec(`INSERT INTO members (id, name, phone, role, created_at) VALUES ($1, $1, $2, 'resident', $3)`,
			m, storetest.PhoneOf(i+1), t0)
		exec(`INSERT INTO deliveries (alert_id, member_id, targeted_at) VALUES ($1, $2, $3)`, storetest.LegacyAlertID, m, t0)
	}
	for _, r := range storetest.LegacySMSRows {
		exec(`INSERT INTO sms (alert_id, member_id, kind, state, priority, due_at, attempts, claimed_at,
			claimed_by, sent_at, provider_id, status, error_code, segments)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
			r.AlertID, r.MemberID, r.Kind, r.State, r.Priority, r.DueAt, r.Attempts, null(r.ClaimedAt),
			r.ClaimedBy, null(r.SentAt), r.ProviderID, r.Status, r.ErrorCode, r.Segments)
	}
	if _, err := p.UpTo(ctx, 3); err != nil {
		t.Fatalf("migrate to version 3: %v", err)
	}
	if _, err := p.DownTo(ctx, 2); err != nil {
		t.Fatalf("roll back to version 2: %v", err)
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM sms`).Scan(&n); err != nil || n != len(storetest.LegacySMSRows) {
		t.Fatalf("sms rows after the rollback: %d (%v), want %d", n, err, len(storetest.LegacySMSRows))
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, u, nil)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	storetest.CheckLegacySMS(t, s)
}

// atVersion creates a fresh database (pgtest.TestURL) migrated up to
// version, for the upgrade tests: they write rows as that version stored
// them, then migrate further (and open the URL as a store). It returns the
// database, its migration provider and its URL.
func atVersion(t *testing.T, version int64) (*sql.DB, *goose.Provider, string) {
	t.Helper()
	u := pgtest.TestURL(t)
	db, err := sql.Open("pgx", u) // the driver stdlib registers (postgres.go imports it)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	fsys, err := fs.Sub(migrations, "migration")
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys,
		goose.WithSlog(slog.New(slog.DiscardHandler)), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(t.Context(), version); err != nil {
		t.Fatalf("migrate to version %d: %v", version, err)
	}
	return db, p, u
}
