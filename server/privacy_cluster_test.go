package server

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/longyou/hub/internal/redistest"
	"github.com/longyou/hub/storage"
	"github.com/longyou/hub/storage/postgres"
	"github.com/longyou/hub/storage/postgres/pgtest"
)

// TestEraseForgottenOnEveryNode: two nodes on one PostgreSQL and one
// Redis; a member erased through node A leaves node B's directory at once
// (no alert of B targets it) and its WebSocket on B is closed.
func TestEraseForgottenOnEveryNode(t *testing.T) {
	t.Parallel()
	rd := redistest.Start(t)
	u := pgtest.TestURL(t)
	ctx := context.Background()
	open := func() Store {
		s, err := postgres.Open(ctx, u, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	a := newEnv(t, func(c *Config) { c.Store = open(); c.Redis = rd.URL(); c.NodeID = "a" })
	b, err := New(ctx, Config{Store: open(), Logger: testLogger(t), Clock: a.now, Redis: rd.URL(), NodeID: "b",
		PingInterval: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	bsrv := httptest.NewServer(b.Handler())
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = b.Shutdown(sctx)
		bsrv.Close()
	})
	onB := func(id string) bool { _, _, ok := b.node.Directory().Member(id); return ok }

	res, tok := a.member(storage.RoleResident, 0, inside) // created on A
	waitFor(t, "node B to hear of the new member", func() bool { return onB(res.ID) })
	bEnv := &testEnv{t: t, srv: bsrv}
	bc := bEnv.dial(tok)
	bc.welcome()

	if code, out := a.call("DELETE", "/api/v1/members/"+res.ID, a.admin, nil); code != 200 {
		t.Fatalf("erase on A: %d %v", code, out)
	}
	waitFor(t, "node B to forget the erased member", func() bool { return !onB(res.ID) })
	select {
	case <-bc.closed:
	case <-time.After(10 * time.Second):
		t.Fatal("the erased member's WebSocket on node B stayed open")
	}
}
