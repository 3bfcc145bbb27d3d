package sqlite

import (
	"database/sql"
	"io/fs"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/longyou/hub/storage/storetest"
)

// TestUpgradeSMSToOutbox: a database of the schema before the outbox
// (version 4) with a queue mid-flight in its sms table is opened by this
// version: migration 5 moves every row to the outbox and the queue carries
// on (storetest.CheckLegacySMS). Then the migration is rolled back and
// applied again: the rows survive the round trip.
func TestUpgradeSMSToOutbox(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db, p, path := atVersion(t, 4)
	us := func(tm time.Time) any {
		if tm.IsZero() {
			return nil
		}
		return tm.UnixMicro()
	}
	t0 := storetest.LegacyT0
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`INSERT INTO alerts (id, kind, severity, title, body, created_by, created_at, expires_at, status, seq)
		VALUES (?, 'warning', 'severe', 't', 'b', 'admin', ?, ?, 'active', 1)`,
		storetest.LegacyAlertID, us(t0), us(t0.Add(24*time.Hour)))
	for i, m := range storetest.LegacyMembers {
		exec(`INSERT INTO members (id, name, phone, role, created_at) VALUES (?, ?, ?, 'resident', ?)`,
			m, m, storetest.PhoneOf(i+1), us(t0))
		exec(`INSERT INTO deliveries (alert_id, member_id, targeted_at) VALUES (?, ?, ?)`, storetest.LegacyAlertID, m, us(t0))
	}
	for _, r := range storetest.LegacySMSRows {
		var provider any
		if r.ProviderID != "" {
			provider = r.ProviderID
		}
		exec(`INSERT INTO sms (alert_id, member_id, kind, state, priority, due_at, attempts, claimed_at,
			claimed_by, sent_at, provider_id, status, error_code, segments)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.AlertID, r.MemberID, r.Kind, r.State, r.Priority, us(r.DueAt), r.Attempts, us(r.ClaimedAt),
			r.ClaimedBy, us(r.SentAt), provider, r.Status, r.ErrorCode, r.Segments)
	}

	// Down and up again before the store opens: the rows go back to sms
	// and come back.
	if _, err := p.UpTo(ctx, 5); err != nil {
		t.Fatalf("migrate to version 5: %v", err)
	}
	if _, err := p.DownTo(ctx, 4); err != nil {
		t.Fatalf("roll back to version 4: %v", err)
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sms`).Scan(&n); err != nil || n != len(storetest.LegacySMSRows) {
		t.Fatalf("sms rows after the rollback: %d (%v), want %d", n, err, len(storetest.LegacySMSRows))
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	storetest.CheckLegacySMS(t, open(t, path))
}

// provider is a goose provider over the embedded migrations, for tests that
// move the schema to a given version.
// atVersion opens a new database file migrated up to version, for the
// upgrade tests: they write rows as that version stored them, then migrate
// further (and open the file as a store). It returns the database, its
// migration provider and the file's path.
func atVersion(t *testing.T, version int64) (*sql.DB, *goose.Provider, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hub.db")
	db, err := sql.Open("sqlite", path+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	p := provider(t, db)
	if _, err := p.UpTo(t.Context(), version); err != nil {
		t.Fatalf("migrate to version %d: %v", version, err)
	}
	return db, p, path
}

func provider(t *testing.T, db *sql.DB) *goose.Provider {
	t.Helper()
	sub, err := fs.Sub(migrations, "migration")
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, sub,
		goose.WithSlog(slog.New(slog.DiscardHandler)), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	return p
}
