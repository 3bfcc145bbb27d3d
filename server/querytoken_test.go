package server

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/longyou/hub/storage"
)

// TestQueryTokenOnlyWhereNeeded: ?token= signs in on the WebSocket and on
// the GETs a browser makes by URL (media), nowhere else: a POST or an API
// read with the token in the address is 401.
func TestQueryTokenOnlyWhereNeeded(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, cmdTok := e.member(storage.RoleCommander, -1, outside)
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"POST", "/api/v1/alerts?token=" + cmdTok, circleAlert(29.03, 119.17, 1000, nil)},
		{"GET", "/api/v1/alerts?token=" + cmdTok, nil},
		{"GET", "/api/v1/me?token=" + cmdTok, nil},
		{"POST", "/api/v1/media?token=" + cmdTok, pngBytes},
	} {
		if code, out := e.call(c.method, c.path, "", c.body); code != http.StatusUnauthorized {
			t.Errorf("%s %s with ?token=: %d %v, want 401", c.method, c.path[:20], code, out)
		}
	}
	// Where it is needed it works: the WebSocket, and a photo.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.srv.URL, "http")+"/ws?token="+cmdTok, nil)
	if err != nil {
		t.Fatalf("WebSocket with ?token=: %v", err)
	}
	c.Close(websocket.StatusNormalClosure, "")
	req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/media", bytesReader(pngBytes))
	req.Header.Set("Authorization", "Bearer "+cmdTok)
	req.Header.Set("Content-Type", "image/png")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var up struct {
		Media struct{ ID string } `json:"media"`
	}
	_ = jsonDecode(resp.Body, &up)
	resp.Body.Close()
	if code, _ := e.callRaw("GET", "/api/v1/media/"+up.Media.ID+"?token="+cmdTok, "", nil); code != http.StatusOK {
		t.Fatalf("GET media with ?token=: %d, want 200", code)
	}
}
