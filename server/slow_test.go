package server

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/longyou/hub/internal/wstest"
	"github.com/longyou/hub/storage"
)

// TestSlowClientDoesNotDelayOthers: one member that never reads is
// disconnected (1008 path, counted) while 1,000 others get every event.
func TestSlowClientDoesNotDelayOthers(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 1,000 connections; skipped with -short")
	}
	e := newEnv(t, func(c *Config) { c.SendQueueLen = 16 })
	_, cmdTok := e.member(storage.RoleCommander, -1, outside)
	const fast = 1000
	ms := e.residents(fast + 1)
	// The stalled member sits on an in-memory pipe: no kernel buffer
	// absorbs what the hub writes, so its queue fills at once.
	wstest.DialStalled(t, wstest.Serve(t, e.h.Handler()), ms[fast].Token)
	clients := make([]*wsClient, fast)
	for i := range fast {
		clients[i] = e.dial(ms[i].Token)
		clients[i].welcome()
	}
	// More events than the stalled client's queue holds (16).
	const events = 60
	body := "明天上午停水"
	var wg sync.WaitGroup
	got := make([]int, fast)
	for i, c := range clients {
		wg.Go(func() {
			for got[i] < events {
				select {
				case f, ok := <-c.frames:
					if !ok {
						return
					}
					if f["type"] == "bulletin" {
						got[i]++
					}
				case <-time.After(30 * time.Second):
					return
				}
			}
		})
	}
	for k := range events {
		code, out := e.call("POST", "/api/v1/bulletins", cmdTok, map[string]any{
			"village_id": e.villages[0].ID, "category": "notice", "title": fmt.Sprint(k), "body": body})
		if code != 201 {
			t.Fatalf("bulletin %d: %d %v", k, code, out)
		}
	}
	wg.Wait()
	for i, n := range got {
		if n != events {
			t.Fatalf("client %d got %d of %d bulletins", i, n, events)
		}
	}
	dropped := false
	for range 400 { // the library's close handshake may wait out its timeouts
		if e.h.node.Connections() == fast {
			dropped = true
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !dropped {
		t.Fatalf("the stalled client was not disconnected (%d connections)", e.h.node.Connections())
	}
}
