package sqlite

import (
	"context"
	"database/sql"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"

	"github.com/longyou/hub/storage"
	"github.com/longyou/hub/storage/storetest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// open opens the store at path and closes it when the test ends.
func open(tb testing.TB, path string) *Store {
	tb.Helper()
	s, err := Open(context.Background(), path, slog.New(slog.DiscardHandler))
	if err != nil {
		tb.Fatalf("open %s: %v", path, err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("close: %v", err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) storage.Store {
		return open(t, filepath.Join(t.TempDir(), "hub.db"))
	})
}

func TestReopen(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "hub.db")
	storetest.RunReopen(t, func(t *testing.T) storage.Store { return open(t, path) })
}

func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) storage.Store {
		return open(b, filepath.Join(b.TempDir(), "hub.db"))
	})
}

// TestOpenCreatesFolder opens a file in folders that do not exist yet.
func TestOpenCreatesFolder(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "a", "b", "hub.db")
	s := open(t, path)
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("ping: %v", err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database file: %v", err)
	}
}

// TestMigrationsIdempotent applies the migrations to a migrated database
// (both by hand and by opening it again): nothing is applied the second
// time and the schema version stays.
func TestMigrationsIdempotent(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "hub.db")
	s := open(t, path)
	v1 := schemaVersion(t, s.w)
	if v1 < 1 {
		t.Fatalf("schema version after Open: %d", v1)
	}
	applied, err := applyMigrations(ctx, s.w, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("migrate again: %v", err)
	}
	if len(applied) != 0 {
		t.Errorf("migrating a migrated database applied %v", applied)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	s2 := open(t, path)
	if v2 := schemaVersion(t, s2.w); v2 != v1 {
		t.Errorf("schema version after reopen: %d, want %d", v2, v1)
	}
	var n int
	if err := s2.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM goose_db_version WHERE version_id = ?`, v1).Scan(&n); err != nil {
		t.Fatalf("count versions: %v", err)
	}
	if n != 1 {
		t.Errorf("version %d recorded %d times", v1, n)
	}
}

func schemaVersion(t *testing.T, db *sql.DB) int64 {
	t.Helper()
	var v int64
	if err := db.QueryRowContext(t.Context(), `SELECT MAX(version_id) FROM goose_db_version`).Scan(&v); err != nil {
		t.Fatalf("schema version: %v", err)
	}
	return v
}

// TestPragmas checks the settings durability and integrity rest on, on the
// writer and on a reader.
func TestPragmas(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := open(t, filepath.Join(t.TempDir(), "hub.db"))
	for _, tc := range []struct {
		db     *sql.DB
		pragma string
		want   string
	}{
		{s.w, "journal_mode", "wal"},
		{s.w, "synchronous", "2"}, // FULL
		{s.w, "foreign_keys", "1"},
		{s.w, "busy_timeout", "10000"},
		{s.r, "journal_mode", "wal"},
		{s.r, "query_only", "1"},
		{s.r, "busy_timeout", "10000"},
	} {
		var got string
		if err := tc.db.QueryRowContext(ctx, "PRAGMA "+tc.pragma).Scan(&got); err != nil {
			t.Fatalf("pragma %s: %v", tc.pragma, err)
		}
		if got != tc.want {
			t.Errorf("pragma %s: %q, want %q", tc.pragma, got, tc.want)
		}
	}
	if _, err := s.r.ExecContext(ctx, `INSERT INTO villages (id, name, township, lat, lng) VALUES ('x', '', '', 0, 0)`); err == nil {
		t.Error("a reader connection could write")
	}
	if got := s.w.Stats().MaxOpenConnections; got != 1 {
		t.Errorf("writer pool allows %d connections, want 1", got)
	}
}
