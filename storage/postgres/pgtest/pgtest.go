// Package pgtest gives each test a fresh PostgreSQL database. It lives
// apart from storage/postgres so that the testing package is not linked
// into the binaries that use the store (hubd).
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultTestURL is the server tests use when HUB_TEST_POSTGRES_URL is not
// set: the machine's own PostgreSQL, trust authentication, database test.
const DefaultTestURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// startHint tells a developer whose tests failed how to start the server.
const startHint = "start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start " +
	"(or set HUB_TEST_POSTGRES_URL to a server that accepts CREATE DATABASE)"

// TestURL creates a fresh, empty database for the test on the server at
// HUB_TEST_POSTGRES_URL (DefaultTestURL when unset), drops it (WITH FORCE)
// when the test ends, and returns its URL. An unreachable server fails the
// test with the command that starts it; only -short skips it.
func TestURL(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("PostgreSQL tests do not run with -short")
	}
	base := os.Getenv("HUB_TEST_POSTGRES_URL")
	if base == "" {
		base = DefaultTestURL
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("postgres: cannot reach the test server %s: %v\n%s", redact(base), err, startHint)
	}
	defer admin.Close(context.WithoutCancel(ctx))

	var b [8]byte
	_, _ = rand.Read(b[:])
	name := "hubtest_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("postgres: create test database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("postgres: drop test database %s: %v", name, err)
			return
		}
		defer c.Close(context.WithoutCancel(ctx))
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("postgres: drop test database %s: %v", name, err)
		}
	})
	return withDatabase(base, name)
}

// withDatabase returns the connection string base pointing at database
// name; base is a postgres:// URL or a keyword=value DSN.
func withDatabase(base, name string) string {
	if u, err := url.Parse(base); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		u.Path = "/" + name
		return u.String()
	}
	return strings.TrimSpace(base) + " dbname=" + name
}

// redact hides the password of a URL for messages.
func redact(s string) string {
	if u, err := url.Parse(s); err == nil && u.User != nil {
		return u.Redacted()
	}
	return s
}
