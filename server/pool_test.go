package server

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/longyou/hub/hub"
	"github.com/longyou/hub/internal/wstest"
	"github.com/longyou/hub/storage"
)

// TestWriterPoolStalledClients: an alert to more connections than
// poolMin is written by the writer pool. More clients than the pool has
// workers have stopped reading (after their welcome, so their writers are
// idle and the pool takes them): every other client still gets the alert
// at once, long before the write timeout could free a worker.
func TestWriterPoolStalledClients(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 1,200 connections; skipped with -short")
	}
	e := newEnv(t, func(c *Config) { c.WriteTimeout = 5 * time.Minute })
	_, cmdTok := e.member(storage.RoleCommander, -1, outside)
	const fast, stalled = 1100, hub.PoolWorkers + 16
	ms := e.residents(fast + stalled)
	// Stalled clients on in-memory pipes (no kernel buffer: the hub's
	// write blocks at once): each reads its welcome, then nothing. They
	// are the first members created, so the first the pool takes (members
	// at one spot are listed in creation order).
	pl := wstest.Serve(t, e.h.Handler())
	for i := range stalled {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		c, err := wstest.DialWS(ctx, pl, ms[i].Token)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := c.Read(ctx); err != nil {
			t.Fatalf("stalled client %d welcome: %v", i, err)
		}
		cancel()
		t.Cleanup(func() { _ = c.CloseNow() })
	}
	clients := make([]*wsClient, fast)
	for i := range fast {
		clients[i] = e.dial(ms[stalled+i].Token)
		clients[i].welcome()
	}
	code, out := e.call("POST", "/api/v1/alerts", cmdTok, circleAlert(inside.Lat, inside.Lng, 500, nil))
	if code != 201 || num(out["targeted"]) != fast+stalled || num(out["connected"]) != fast+stalled {
		t.Fatalf("alert: %d %v", code, out)
	}
	id := out["alert"].(map[string]any)["id"]
	var wg sync.WaitGroup
	late := make(chan int, fast)
	for i, c := range clients {
		wg.Go(func() {
			deadline := time.After(15 * time.Second)
			for {
				select {
				case f, ok := <-c.frames:
					if !ok {
						late <- i
						return
					}
					if f["type"] == "alert" && f["alert"].(map[string]any)["id"] == id {
						return
					}
				case <-deadline:
					late <- i
					return
				}
			}
		})
	}
	wg.Wait()
	close(late)
	if n := len(late); n > 0 {
		t.Fatalf("%d of %d reading clients did not get the alert within 15 s while %d clients stalled (write timeout 5 min)",
			n, fast, stalled)
	}
}
