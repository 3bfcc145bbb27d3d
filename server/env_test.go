package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/longyou/hub/internal/testenv"
	"github.com/longyou/hub/service/members"
	"github.com/longyou/hub/storage"
)

// newTestStore opens the store the suite runs on (internal/testenv:
// SQLite, or PostgreSQL when HUB_TEST_STORE=postgres).
func newTestStore(t testing.TB) Store { return testenv.Store(t) }

// testEnv is one hub on an httptest server with a store of its own.
type testEnv struct {
	t     testing.TB
	h     *Server
	srv   *httptest.Server
	store Store
	// clock: tests move time by setting offset.
	mu     sync.Mutex
	offset time.Duration

	admin    string // admin token
	villages []storage.Village
}

func newEnv(t testing.TB, mods ...func(*Config)) *testEnv {
	t.Helper()
	return newEnvOn(t, nil, mods...)
}

// newEnvOn serves the hub on ln (nil: a new loopback port), for tests that
// must know the hub's URL before it starts (signed webhooks).
func newEnvOn(t testing.TB, ln net.Listener, mods ...func(*Config)) *testEnv {
	t.Helper()
	e := &testEnv{t: t, store: newTestStore(t)}
	cfg := Config{
		Store:        e.store,
		Logger:       testLogger(t),
		Clock:        e.now,
		SMSRate:      1000,
		PingInterval: time.Minute,
	}
	for _, m := range mods {
		m(&cfg)
	}
	ctx := context.Background()
	h, err := New(ctx, cfg)
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	e.h = h
	e.srv = httptest.NewUnstartedServer(h.Handler())
	if ln != nil {
		e.srv.Listener.Close()
		e.srv.Listener = ln
	}
	e.srv.Start()
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := h.Shutdown(sctx); err != nil {
			t.Errorf("hub shutdown: %v", err)
		}
		e.srv.Close()
	})
	tok, err := h.EnsureAdmin(ctx, "")
	if err != nil || tok == "" {
		t.Fatalf("EnsureAdmin = %q, %v", tok, err)
	}
	e.admin = tok
	for i, name := range []string{"Alpha", "Beta"} {
		c := storage.LatLng{Lat: 29.03 + float64(i)*0.1, Lng: 119.17}
		v, err := h.members.CreateVillage(ctx, name, "T", &c, false)
		if err != nil {
			t.Fatalf("CreateVillage: %v", err)
		}
		e.villages = append(e.villages, v)
	}
	return e
}

func (e *testEnv) now() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return time.Now().Add(e.offset)
}

func (e *testEnv) advance(d time.Duration) {
	e.mu.Lock()
	e.offset += d
	e.mu.Unlock()
	if e.h != nil {
		e.h.sched.Wake() // the scheduler reads the moved clock now
	}
}

var phoneSeq struct {
	sync.Mutex
	n int
}

func nextPhone() string {
	phoneSeq.Lock()
	defer phoneSeq.Unlock()
	phoneSeq.n++
	return fmt.Sprintf("+86138%08d", phoneSeq.n)
}

// member creates a member with a home and returns it with its token.
func (e *testEnv) member(role storage.Role, village int, home storage.LatLng) (storage.Member, string) {
	e.t.Helper()
	req := members.Input{Name: string(role) + "-" + nextPhone()[9:], Phone: nextPhone(), Role: role, Home: &home}
	if village >= 0 {
		req.VillageID = e.villages[village].ID
	}
	out, err := e.h.members.Create(context.Background(), []members.Input{req}, false)
	if err != nil {
		e.t.Fatalf("CreateMembers: %v", err)
	}
	return out[0].Member, out[0].Token
}

// residents creates n residents of village 0 living at inside, in one
// batch; the caller gets the new members with their tokens, in order.
func (e *testEnv) residents(n int) []members.Created {
	e.t.Helper()
	reqs := make([]members.Input, n)
	for i := range reqs {
		reqs[i] = members.Input{Name: fmt.Sprint("r", i), Phone: nextPhone(), Role: storage.RoleResident,
			VillageID: e.villages[0].ID, Home: &inside}
	}
	ms, err := e.h.members.Create(context.Background(), reqs, false)
	if err != nil {
		e.t.Fatalf("CreateMembers: %v", err)
	}
	return ms
}

// call does an API request and decodes the JSON answer into a map.
func (e *testEnv) call(method, path, token string, body any) (int, map[string]any) {
	e.t.Helper()
	code, raw := e.callRaw(method, path, token, body)
	var out map[string]any
	if len(raw) > 0 && json.Unmarshal(raw, &out) != nil {
		e.t.Fatalf("%s %s: answer is not JSON: %s", method, path, raw)
	}
	return code, out
}

func (e *testEnv) callRaw(method, path, token string, body any) (int, []byte) {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, _ := json.Marshal(b)
		rd = bytes.NewReader(data)
	}
	req, _ := http.NewRequest(method, e.srv.URL+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, raw
}

// errCode returns the API error code of an answer ("" when none).
func errCode(m map[string]any) string {
	if e, ok := m["error"].(map[string]any); ok {
		s, _ := e["code"].(string)
		return s
	}
	return ""
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
	c, err := e.dialErr(token)
	if err != nil {
		e.t.Fatalf("dial: %v", err)
	}
	return c
}

func (e *testEnv) dialErr(token string) (*wsClient, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	url := "ws" + strings.TrimPrefix(e.srv.URL, "http") + "/ws"
	c, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{
		HTTPHeader: http.Header{"Authorization": {"Bearer " + token}},
	})
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("%w (status %d)", err, resp.StatusCode)
		}
		return nil, err
	}
	c.SetReadLimit(4 << 20)
	w := &wsClient{t: e.t, c: c}
	w.frames, w.closed = testenv.ReadFrames(c)
	e.t.Cleanup(func() { c.CloseNow() })
	return w, nil
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

// nextOf skips frames until one of type typ (others are returned too).
func (w *wsClient) nextOf(typ string) (map[string]any, []map[string]any) {
	w.t.Helper()
	var skipped []map[string]any
	for {
		m := w.next()
		if m["type"] == typ {
			return m, skipped
		}
		skipped = append(skipped, m)
	}
}

// quiet asserts that no frame of the given types arrives within d.
func (w *wsClient) quiet(d time.Duration, types ...string) {
	w.t.Helper()
	deadline := time.After(d)
	for {
		select {
		case m, ok := <-w.frames:
			if !ok {
				return
			}
			for _, typ := range types {
				if m["type"] == typ {
					w.t.Fatalf("unexpected %s frame: %v", typ, m)
				}
			}
		case <-deadline:
			return
		}
	}
}

func (w *wsClient) sendRaw(s string) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.c.Write(ctx, websocket.MessageText, []byte(s)); err != nil {
		w.t.Fatalf("write: %v", err)
	}
}

// cmd sends a command with a fresh id and returns its reply, keeping other
// frames that arrived before it.
func (w *wsClient) cmd(m map[string]any) (reply map[string]any, before []map[string]any) {
	w.t.Helper()
	w.nextID++
	id := fmt.Sprint(w.nextID)
	m["id"] = id
	data, _ := json.Marshal(m)
	w.sendRaw(string(data))
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

// circleAlert is an alert body for a circle.
func circleAlert(lat, lng, r float64, extra map[string]any) map[string]any {
	m := map[string]any{
		"kind": "warning", "severity": "severe", "title": "山洪预警", "body": "请立即转移到高处",
		"area": map[string]any{"circle": map[string]any{"lat": lat, "lng": lng, "radius_m": r}},
	}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

func num(v any) int64 {
	f, _ := v.(float64)
	return int64(f)
}

// testLogger logs warnings and errors through t.Log (internal/testenv).
func testLogger(t testing.TB) *slog.Logger { return testenv.Logger(t) }
