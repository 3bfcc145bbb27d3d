package postgres

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/longyou/hub/storage"
	"github.com/longyou/hub/storage/postgres/pgtest"
)

// TestProbeWriteReadOnly: a database that answers reads but refuses
// writes (default_transaction_read_only, as a standby after a failover
// answers) still pings, and ProbeWrite fails.
func TestProbeWriteReadOnly(t *testing.T) {
	u := pgtest.TestURL(t)
	ctx := t.Context()
	s, err := Open(ctx, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if err := s.ProbeWrite(ctx); err != nil {
		t.Fatalf("probe on a healthy store: %v", err)
	}
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	c, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	if _, err := c.Exec(ctx, `ALTER DATABASE `+pgx.Identifier{pu.Path[1:]}.Sanitize()+
		` SET default_transaction_read_only = on`); err != nil {
		t.Fatal(err)
	}
	s.pool.Reset() // new connections take the setting
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("ping of a read-only database: %v", err)
	}
	if err := s.ProbeWrite(ctx); err == nil {
		t.Fatal("probe of a read-only database succeeded")
	}
}

// TestUpgradeMediaReports: uploads already attached to a report when
// migration 8 runs are known as the report's, so the orphan sweep after
// the upgrade deletes only the upload no report uses.
func TestUpgradeMediaReports(t *testing.T) {
	ctx := t.Context()
	db, _, u := atVersion(t, 7)
	t0 := time.Date(2026, 7, 1, 8, 0, 0, 0, time.UTC)
	for _, q := range []string{
		`INSERT INTO media (id, content_type, size, owner_id, created_at, data) VALUES ('attached', 'image/jpeg', 4, 'm1', $1, '\x00010203')`,
		`INSERT INTO media (id, content_type, size, owner_id, created_at, data) VALUES ('orphan', 'image/jpeg', 4, 'm1', $1, '\x00010203')`,
		`INSERT INTO reports (id, kind, text, lat, lng, photos, member_id, village_id, status, created_at, updated_at, due_at, seq)
			VALUES ('r1', 'flood', 't', 29, 119, '{attached}', 'm1', 'v1', 'new', $1, $1, $1, 1)`,
	} {
		if _, err := db.ExecContext(ctx, q, t0); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	res, err := s.ApplyRetention(ctx, storage.Retention{OrphansBefore: t0.Add(48 * time.Hour)})
	if err != nil || res.Media != 1 {
		t.Fatalf("orphan sweep after the upgrade: %+v, %v", res, err)
	}
	if _, _, err := s.GetMedia(ctx, "attached"); err != nil {
		t.Fatalf("the report's photo was deleted: %v", err)
	}
}
