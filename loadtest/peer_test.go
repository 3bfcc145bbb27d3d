package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// fakeCentrifugo speaks the part of Centrifugo's JSON protocol the peer
// clients use: it answers connect and subscribe (batched in one frame),
// pings the client and counts its pongs, and pushes one publication whose
// data is a hub-shaped alert frame.
func fakeCentrifugo(t *testing.T, pongs *atomic.Int64) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer ws.CloseNow()
		ctx := r.Context()
		_, hello, err := ws.Read(ctx)
		if err != nil {
			return
		}
		lines := bytes.Split(hello, []byte("\n"))
		if len(lines) != 2 || !bytes.Contains(lines[0], []byte(`"connect"`)) || !bytes.Contains(lines[1], []byte(`"subscribe":{"channel":"alerts"}`)) {
			t.Errorf("hello frame %q: want connect and subscribe to alerts, newline-separated", hello)
			return
		}
		reply := `{"id":1,"connect":{"client":"c1","version":"6.9.1","ping":25,"pong":true}}` + "\n" + `{"id":2,"subscribe":{}}`
		if ws.Write(ctx, websocket.MessageText, []byte(reply)) != nil {
			return
		}
		if ws.Write(ctx, websocket.MessageText, []byte(`{}`)) != nil { // ping
			return
		}
		push := `{"push":{"channel":"alerts","pub":{"data":{"type":"alert","seq":1,"alert":{"id":"peer-1","title":"x"}}}}}`
		if ws.Write(ctx, websocket.MessageText, []byte(push)) != nil {
			return
		}
		for {
			_, data, err := ws.Read(ctx)
			if err != nil {
				return
			}
			if string(data) == "{}" {
				pongs.Add(1)
			}
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestCentrifugoClient(t *testing.T) {
	var pongs atomic.Int64
	srv := fakeCentrifugo(t, &pongs)
	p, ctx := testWorker(t)
	url := "ws://" + strings.TrimPrefix(srv.URL, "http://") + "/connection/websocket"
	r := call(t, ctx, p, &request{Op: opConnect, URLs: []string{url}, Members: []memberRef{{Idx: 3}}, Concurrency: 1,
		TimeoutMs: 10000, Proto: protoCentrifugo})
	if r.OK != 1 {
		t.Fatalf("connect: %+v (the subscribe reply is the welcome)", r)
	}
	waitFor(t, "the publication", func() bool {
		return call(t, ctx, p, &request{Op: opCount, Key: keyAlert + "peer-1"}).Count == 1
	})
	waitFor(t, "the pong", func() bool { return pongs.Load() == 1 })
	if st := call(t, ctx, p, &request{Op: opStats}); len(st.Errors) != 0 || st.Connected != 1 {
		t.Errorf("stats: errors %v, connected %d", st.Errors, st.Connected)
	}
}

// A subscribe refused (an error reply) leaves the client not connected.
func TestCentrifugoClientRefused(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer ws.CloseNow()
		if _, _, err := ws.Read(r.Context()); err != nil {
			return
		}
		_ = ws.Write(r.Context(), websocket.MessageText, []byte(`{"id":1,"connect":{}}`+"\n"+`{"id":2,"error":{"code":103,"message":"permission denied"}}`))
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		_, _, _ = ws.Read(ctx)
	}))
	t.Cleanup(srv.Close)
	p, ctx := testWorker(t)
	url := "ws://" + strings.TrimPrefix(srv.URL, "http://") + "/connection/websocket"
	r := call(t, ctx, p, &request{Op: opConnect, URLs: []string{url}, Members: []memberRef{{Idx: 0}}, Concurrency: 1,
		TimeoutMs: 10000, Proto: protoCentrifugo})
	if r.OK != 0 || r.Codes["closed_before_welcome"] != 1 {
		t.Fatalf("connect: %+v, want closed_before_welcome", r)
	}
}

func TestParseFlagsPeer(t *testing.T) {
	c, err := parseFlags([]string{"-targets", "http://127.0.0.1:1", "-token", "x", "-scenario", "peer", "-n", "100"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(c.scenarios, ",") != "connect,alert,peer,baseline" || c.k != 100 {
		t.Errorf("peer: scenarios %v, k %d; want connect,alert,peer,baseline and k = n", c.scenarios, c.k)
	}
	cfg := string(centrifugoConfig(8123))
	for _, want := range []string{`"insecure": true`, `"port": 8123`, `"127.0.0.1"`, `"disabled": true`} {
		if !strings.Contains(cfg, want) {
			t.Errorf("centrifugo config lacks %s:\n%s", want, cfg)
		}
	}
}
