package hub

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/longyou/hub/internal/testenv"
	"github.com/longyou/hub/storage"
)

// The core's test env: a Node on an httptest server, with a store of its
// own, members created straight in the store and the directory, and a
// command handler that answers ping (the API's handler is not part of the
// core: the tests of the assembled node are in server/).

// testStore is what the core tests need of a store.
type testStore interface {
	Store
	CreateVillage(ctx context.Context, v *storage.Village) error
	CreateMembers(ctx context.Context, ms []storage.NewMember) error
	MemberByToken(ctx context.Context, tokenHash []byte) (storage.Member, error)
}

// newTestStore opens the store the suite runs on (internal/testenv:
// SQLite, or PostgreSQL when HUB_TEST_STORE=postgres).
func newTestStore(t testing.TB) testStore { return testenv.Store(t) }

// testEnv is one node on an httptest server with a store of its own.
type testEnv struct {
	t        testing.TB
	h        *Node
	srv      *httptest.Server
	store    testStore
	villages []storage.Village
}

// inside is a home ~150 m from village 0's centre.
var inside = storage.LatLng{Lat: 29.031, Lng: 119.171}

func newEnv(t testing.TB, mods ...func(*Config)) *testEnv {
	t.Helper()
	e := &testEnv{t: t, store: newTestStore(t)}
	cfg := Config{
		Store:        e.store,
		Logger:       testLogger(t),
		PingInterval: time.Minute,
	}
	for _, m := range mods {
		m(&cfg)
	}
	ctx := context.Background()
	h, err := New(ctx, cfg)
	if err != nil {
		t.Fatalf("hub.New: %v", err)
	}
	h.SetHooks(Hooks{Commands: pingHandler{}})
	e.h = h
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ws", func(w http.ResponseWriter, r *http.Request) {
		tok := r.URL.Query().Get("token")
		if a, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
			tok = a
		}
		sum := sha256.Sum256([]byte(tok))
		m, err := e.store.MemberByToken(r.Context(), sum[:])
		if err != nil {
			http.Error(w, "invalid token", http.StatusUnauthorized)
			return
		}
		mj, _ := json.Marshal(map[string]string{"id": m.ID, "role": string(m.Role)})
		h.ServeWS(w, r, m, mj)
	})
	e.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := h.Shutdown(sctx); err != nil {
			t.Errorf("hub shutdown: %v", err)
		}
		_ = h.Close()
		e.srv.Close()
	})
	for i, name := range []string{"Alpha", "Beta"} {
		v := storage.Village{ID: fmt.Sprint("v_", i), Name: name, Township: "T",
			Center: storage.LatLng{Lat: 29.03 + float64(i)*0.1, Lng: 119.17}, CreatedAt: time.Now().UTC()}
		if err := e.store.CreateVillage(ctx, &v); err != nil {
			t.Fatalf("CreateVillage: %v", err)
		}
		e.villages = append(e.villages, v)
	}
	return e
}

// pingHandler answers ping commands, as the API does.
type pingHandler struct{}

func (pingHandler) HandleFrame(c *Conn, text bool, data []byte) {
	var cmd struct {
		Type string  `json:"type"`
		ID   *string `json:"id"`
	}
	if !text || json.Unmarshal(data, &cmd) != nil || cmd.Type != "ping" || cmd.ID == nil {
		return
	}
	out, _ := json.Marshal(map[string]any{"type": "reply", "id": *cmd.ID, "ok": true, "data": struct{}{}})
	c.Send(out)
}

var memberSeq struct {
	sync.Mutex
	n int
}

// member creates a member with a home and returns it with its token.
func (e *testEnv) member(role storage.Role, village int, home storage.LatLng) (storage.Member, string) {
	e.t.Helper()
	memberSeq.Lock()
	memberSeq.n++
	n := memberSeq.n
	memberSeq.Unlock()
	m := storage.Member{ID: fmt.Sprintf("m_%d", n), Name: fmt.Sprint(role, "-", n), Phone: fmt.Sprintf("+86138%08d", n),
		Role: role, Home: &home, CreatedAt: time.Now().UTC()}
	if village >= 0 {
		m.VillageID = e.villages[village].ID
	}
	tok := fmt.Sprintf("token-%d-%d", n, time.Now().UnixNano())
	sum := sha256.Sum256([]byte(tok))
	if err := e.store.CreateMembers(context.Background(), []storage.NewMember{{Member: m, TokenHash: sum[:]}}); err != nil {
		e.t.Fatalf("CreateMembers: %v", err)
	}
	e.h.Directory().Add(&m, e.h.Now())
	return m, tok
}

// wsClient is a test WebSocket client that reads frames into a channel.
type wsClient struct {
	t      testing.TB
	c      *websocket.Conn
	frames chan map[string]any
	closed chan error
	nextID int
}

func (e *testEnv) dial(token string) *wsClient {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	url := "ws" + strings.TrimPrefix(e.srv.URL, "http") + "/ws"
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{
		HTTPHeader: http.Header{"Authorization": {"Bearer " + token}},
	})
	if err != nil {
		e.t.Fatalf("dial: %v", err)
	}
	c.SetReadLimit(4 << 20)
	w := &wsClient{t: e.t, c: c}
	w.frames, w.closed = testenv.ReadFrames(c)
	e.t.Cleanup(func() { c.CloseNow() })
	return w
}

// next returns the next frame, failing after a timeout.
func (w *wsClient) next() map[string]any {
	w.t.Helper()
	select {
	case m, ok := <-w.frames:
		if !ok {
			w.t.Fatalf("connection closed: %v", <-w.closed)
		}
		return m
	case <-time.After(10 * time.Second):
		w.t.Fatalf("no frame within 10s")
	}
	return nil
}

// cmd sends a command with a fresh id and returns its reply, keeping other
// frames that arrived before it.
func (w *wsClient) cmd(m map[string]any) (reply map[string]any, before []map[string]any) {
	w.t.Helper()
	w.nextID++
	id := fmt.Sprint(w.nextID)
	m["id"] = id
	data, _ := json.Marshal(m)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.c.Write(ctx, websocket.MessageText, data); err != nil {
		w.t.Fatalf("write: %v", err)
	}
	for {
		f := w.next()
		if f["type"] == "reply" && f["id"] == id {
			return f, before
		}
		before = append(before, f)
	}
}

func (w *wsClient) welcome() map[string]any {
	w.t.Helper()
	m := w.next()
	if m["type"] != "welcome" {
		w.t.Fatalf("first frame is %v, want welcome", m)
	}
	return m
}

func num(v any) int64 {
	f, _ := v.(float64)
	return int64(f)
}

// testLogger logs warnings and errors through t.Log (internal/testenv).
func testLogger(t testing.TB) *slog.Logger { return testenv.Logger(t) }
