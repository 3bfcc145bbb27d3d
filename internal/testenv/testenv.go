// Package testenv holds what the hub's and the server's test suites share:
// the store they run on (the embedded SQLite store, or PostgreSQL when
// HUB_TEST_STORE=postgres: CI runs the end-to-end and core suites on both)
// and a logger into the test's output. Only tests import it.
package testenv

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

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

// ReadFrames reads c's messages into frames until the connection ends
// (then its error goes to closed and frames is closed). A message that is
// not JSON arrives as {"type":"!invalid","raw":...}.
func ReadFrames(c *websocket.Conn) (frames chan map[string]any, closed chan error) {
	frames, closed = make(chan map[string]any, 10000), make(chan error, 1)
	go func() {
		for {
			_, data, err := c.Read(context.Background())
			if err != nil {
				closed <- err
				close(frames)
				return
			}
			var m map[string]any
			if err := json.Unmarshal(data, &m); err != nil {
				m = map[string]any{"type": "!invalid", "raw": string(data)}
			}
			frames <- m
		}
	}()
	return frames, closed
}
