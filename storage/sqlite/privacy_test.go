package sqlite

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/longyou/hub/storage"
)

// TestProbeWriteReadOnly: a store that can read but not write (here the
// writer connection made query-only, as a read-only remount of the data
// folder leaves it) still pings, and ProbeWrite fails with an error that
// storage.IsUnavailable recognises.
func TestProbeWriteReadOnly(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := open(t, filepath.Join(t.TempDir(), "hub.db"))
	if err := s.ProbeWrite(ctx); err != nil {
		t.Fatalf("probe on a healthy store: %v", err)
	}
	if _, err := s.w.ExecContext(ctx, `PRAGMA query_only = 1`); err != nil {
		t.Fatal(err)
	}
	defer func() { _, _ = s.w.ExecContext(context.Background(), `PRAGMA query_only = 0`) }()
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("ping of a read-only store: %v", err)
	}
	err := s.ProbeWrite(ctx)
	if err == nil || !storage.IsUnavailable(err) {
		t.Fatalf("probe of a read-only store: %v (unavailable: %v)", err, storage.IsUnavailable(err))
	}
}

// TestUpgradeMediaReports: uploads already attached to a report when
// migration 10 runs are known as the report's, so the orphan sweep after
// the upgrade deletes only the upload no report uses.
func TestUpgradeMediaReports(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db, _, path := atVersion(t, 9)
	t0 := time.Date(2026, 7, 1, 8, 0, 0, 0, time.UTC)
	us := t0.UnixMicro()
	for _, q := range []string{
		`INSERT INTO media (id, content_type, size, owner_id, created_at, data) VALUES ('attached', 'image/jpeg', 4, 'm1', ?1, x'00010203')`,
		`INSERT INTO media (id, content_type, size, owner_id, created_at, data) VALUES ('orphan', 'image/jpeg', 4, 'm1', ?1, x'00010203')`,
		`INSERT INTO reports (id, kind, text, lat, lng, photos, member_id, village_id, status, created_at, updated_at, due_at, seq)
			VALUES ('r1', 'flood', 't', 29, 119, '["attached"]', 'm1', 'v1', 'new', ?1, ?1, ?1, 1)`,
	} {
		if _, err := db.ExecContext(ctx, q, us); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	s := open(t, path)
	res, err := s.ApplyRetention(ctx, storage.Retention{OrphansBefore: t0.Add(48 * time.Hour)})
	if err != nil || res.Media != 1 {
		t.Fatalf("orphan sweep after the upgrade: %+v, %v", res, err)
	}
	if _, _, err := s.GetMedia(ctx, "attached"); err != nil {
		t.Fatalf("the report's photo was deleted: %v", err)
	}
}
