// Package testenv holds what the hub's and the server's test suites share:
// the store they run on (the embedded SQLite store, or PostgreSQL when
// HUB_TEST_STORE=postgres: CI runs the end-to-end and core suites on both)
// and a logger into the test's output. Only tests import it.
package testenv

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/longyou/hub/storage"
	"github.com/longyou/hub/storage/postgres"
	"github.com/longyou/hub/storage/postgres/pgtest"
	"github.com/longyou/hub/storage/sqlite"
)

// Store returns a fresh, empty store closed when the test ends: a database
// of its own on PostgreSQL (pgtest), or a file in the test's temporary
// folder on SQLite.
func Store(t testing.TB) storage.Store {
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

// Logger logs warnings and errors through t.Log, so a failing test shows
// what the hub complained about.
func Logger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
