package hub

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/longyou/hub/storage"
)

// TestCloseTokens: a connection remembers the token it was opened with;
// CloseTokens closes those of the named tokens with 1008 and the reason,
// and leaves the others open.
func TestCloseTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// Token ids here are "tk_" and the member id; the API uses the
	// store's.
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ws", func(w http.ResponseWriter, r *http.Request) {
		tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		sum := sha256.Sum256([]byte(tok))
		m, err := e.store.MemberByToken(r.Context(), sum[:])
		if err != nil {
			http.Error(w, "invalid token", http.StatusUnauthorized)
			return
		}
		mj, _ := json.Marshal(map[string]string{"id": m.ID})
		e.h.ServeWSToken(w, r, m, "tk_"+m.ID, mj)
	})
	// The env's cleanup closes e.srv: this server, then the env's own.
	orig := e.srv
	t.Cleanup(orig.Close)
	e.srv = httptest.NewServer(mux)

	a, atok := e.member(storage.RoleCadre, 0, inside)
	b, btok := e.member(storage.RoleResident, 0, inside)
	ca, cb := e.dial(atok), e.dial(btok)
	ca.welcome()
	cb.welcome()
	ids := e.h.TokenIDs()
	slices.Sort(ids)
	want := []string{"tk_" + a.ID, "tk_" + b.ID}
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		t.Fatalf("TokenIDs = %v, want %v", ids, want)
	}
	if n := e.h.CloseTokens(map[string]string{"tk_" + a.ID: "token revoked", "tk_nobody": "token revoked"}); n != 1 {
		t.Fatalf("CloseTokens closed %d connections, want 1", n)
	}
	select {
	case _, ok := <-ca.frames:
		for ok {
			_, ok = <-ca.frames
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the revoked token's connection is still open after 10 s")
	}
	err := <-ca.closed
	if websocket.CloseStatus(err) != websocket.StatusPolicyViolation {
		t.Fatalf("closed with %v, want 1008", err)
	}
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Reason != "token revoked" {
		t.Errorf("close reason %q, want %q", ce.Reason, "token revoked")
	}
	if r, _ := cb.cmd(map[string]any{"type": "ping"}); r["ok"] != true {
		t.Errorf("the other member's connection: %v", r)
	}
	if n := e.h.CloseTokens(map[string]string{"tk_" + a.ID: "token revoked"}); n != 0 {
		t.Errorf("closing again closed %d", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for len(e.h.TokenIDs()) != 1 {
		if ctx.Err() != nil {
			t.Fatalf("TokenIDs after the close: %v", e.h.TokenIDs())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
