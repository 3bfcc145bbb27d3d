// Package teststore opens the store a test suite runs on: the embedded
// SQLite store, or PostgreSQL when HUB_TEST_STORE=postgres (CI runs the
// end-to-end and core suites on both). Only tests import it.
package teststore

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/longyou/hub/storage"
	"github.com/longyou/hub/storage/postgres"
	"github.com/longyou/hub/storage/postgres/pgtest"
	"github.com/longyou/hub/storage/sqlite"
)

// Open returns a fresh, empty store closed when the test ends: a database
// of its own on PostgreSQL (pgtest), or a file in the test's temporary
// folder on SQLite.
func Open(t testing.TB) storage.Store {
	t.Helper()
	if os.Getenv("HUB_TEST_STORE") == "postgres" {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		s, err := postgres.Open(ctx, pgtest.TestURL(t), slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatalf("postgres: open test store: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	s, err := sqlite.Open(context.Background(), t.TempDir()+"/hub.db", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
