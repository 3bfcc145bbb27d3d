package server

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/longyou/hub/storage"
)

func TestOpsEndpoints(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, tok := e.member(storage.RoleResident, 0, inside)
	c := e.dial(tok)
	c.welcome()
	e.call("POST", "/api/v1/alerts", e.admin, circleAlert(29.03, 119.17, 2000, nil))
	c.nextOf("alert")
	for _, path := range []string{"/healthz", "/readyz"} {
		if code, _ := e.callRaw("GET", path, "", nil); code != 200 {
			t.Fatalf("%s: %d", path, code)
		}
	}
	code, raw := e.callRaw("GET", "/metrics", "", nil)
	if code != 200 {
		t.Fatalf("metrics: %d", code)
	}
	for _, want := range []string{
		"hub_connections 1", `hub_events_fanned_out_total{type="alert"} 1`, "hub_fanout_latency_seconds_bucket",
		`hub_events_stored_total{type="alert"} 1`, "hub_http_requests_total",
	} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func TestWebSocketOriginCheck(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, tok := e.member(storage.RoleResident, 0, inside)
	url := "ws" + strings.TrimPrefix(e.srv.URL, "http") + "/ws?token=" + tok
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"https://evil.example"}}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("foreign origin: %v %v", resp, err)
	}
	// The hub's own origin is fine.
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {e.srv.URL}}})
	if err != nil {
		t.Fatalf("same origin: %v", err)
	}
	c.CloseNow()
	// A plain GET without the upgrade is not a WebSocket.
	resp2, err := http.Get(e.srv.URL + "/ws?token=" + tok)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp2.Body)
	resp2.Body.Close()
	if resp2.StatusCode < 400 {
		t.Fatalf("plain GET /ws: %d", resp2.StatusCode)
	}
}
