package server

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/longyou/hub/api"
	"github.com/longyou/hub/storage"
)

// TestCAPFeedIn (docs/API.md v1.6, feeds in): a feed's severe alert over
// the county goes out at once; a moderate one and one far away wait for a
// commander, who approves (recorded) or discards; polling again takes
// nothing twice; a later Update of the sent alert applies at once.
func TestCAPFeedIn(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	docs := map[string][]byte{}
	var entries []string
	feed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.URL.Path == "/feed.atom" {
			var b bytes.Buffer
			b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>x</title><id>urn:x</id><updated>2026-06-15T00:00:00Z</updated>`)
			for _, e := range entries {
				fmt.Fprintf(&b, `<entry><id>urn:%s</id><title>%s</title><updated>2026-06-15T00:00:00Z</updated><link rel="alternate" type="application/cap+xml" href="/%s"/></entry>`, e, e, e)
			}
			b.WriteString(`</feed>`)
			w.Header().Set("Content-Type", "application/atom+xml")
			_, _ = w.Write(b.Bytes())
			return
		}
		d, ok := docs[r.URL.Path[1:]]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/cap+xml")
		_, _ = w.Write(d)
	}))
	t.Cleanup(feed.Close)
	e := newEnv(t, func(c *Config) {
		c.CAPFeeds = []api.CAPFeed{{URL: feed.URL + "/feed.atom", MinSeverity: "severe"}}
		c.CAPFeedEvery = 1 << 40 // polled by the test
	})
	cmd, cmdTok := e.member(storage.RoleCommander, -1, outside)
	_, resTok := e.member(storage.RoleResident, 0, inside)
	rc := e.dial(resTok)
	rc.welcome()

	orange := capFixture(t, e, "cma-rainstorm-orange.xml")
	moderate := bytes.ReplaceAll(bytes.ReplaceAll(orange, []byte("<severity>Severe</severity>"), []byte("<severity>Moderate</severity>")),
		[]byte("_20260615083000<"), []byte("_moderate<"))
	moderate = bytes.Replace(moderate, []byte("20260615083000</identifier>"), []byte("moderate</identifier>"), 1)
	mu.Lock()
	docs["a.xml"], docs["b.xml"], docs["c.xml"] = orange, moderate, oasisFixture(t, "oasis-a2-thunderstorm.xml")
	entries = []string{"a.xml", "b.xml", "c.xml"}
	mu.Unlock()

	counts := e.h.PollCAPFeeds(t.Context())
	if counts[api.FeedSent] != 1 || counts[api.FeedPending] != 2 {
		t.Fatalf("first poll: %v", counts)
	}
	f, _ := rc.nextOf("alert")
	if f["alert"].(map[string]any)["title"] != "龙游县气象台发布暴雨橙色预警[II级/严重]" {
		t.Fatalf("the severe alert went out at once: %v", f)
	}
	code, out := e.call("GET", "/api/v1/cap/pending?status=pending", cmdTok, nil)
	if code != 200 || len(out["pending"].([]any)) != 2 {
		t.Fatalf("pending: %d %v", code, out)
	}
	if code, _ := e.call("GET", "/api/v1/cap/pending", resTok, nil); code != 403 {
		t.Errorf("a resident lists pending: %d", code)
	}
	var modID, farID string
	for _, p := range out["pending"].([]any) {
		p := p.(map[string]any)
		switch p["severity"] {
		case "moderate":
			modID = p["id"].(string)
		default:
			farID = p["id"].(string)
			if p["reason"] != "its area addresses no one in the county" {
				t.Errorf("far alert's reason: %v", p)
			}
		}
	}
	code, out = e.call("POST", "/api/v1/cap/pending/"+modID+"/approve", cmdTok, nil)
	if code != 201 {
		t.Fatalf("approve: %d %v", code, out)
	}
	if p := out["pending"].(map[string]any); p["status"] != "approved" || p["decided_by"] != cmd.ID || p["alert_id"] != alertOf(t, out)["id"] {
		t.Errorf("approved: %v", out)
	}
	if a := alertOf(t, out); a["severity"] != "moderate" || a["created_by"] != cmd.ID {
		t.Errorf("approved alert: %v", a)
	}
	code, out = e.call("POST", "/api/v1/cap/pending/"+farID+"/discard", cmdTok, nil)
	if code != 200 || out["pending"].(map[string]any)["status"] != "discarded" {
		t.Fatalf("discard: %d %v", code, out)
	}
	if code, _ := e.call("POST", "/api/v1/cap/pending/"+farID+"/approve", cmdTok, nil); code != 409 {
		t.Errorf("approve after discard: %d", code)
	}

	// Polling again takes nothing twice; the feed's Update applies at once.
	mu.Lock()
	docs["d.xml"] = capFixture(t, e, "cma-rainstorm-red-update.xml")
	entries = append(entries, "d.xml")
	mu.Unlock()
	counts = e.h.PollCAPFeeds(t.Context())
	if counts[api.FeedSeen] != 3 || counts[api.FeedSent] != 1 || counts[api.FeedPending] != 0 {
		t.Fatalf("second poll: %v", counts)
	}
	rc.nextOf("alert_update")
	code, list := e.call("GET", "/api/v1/alerts", cmdTok, nil)
	if code != 200 || len(list["alerts"].([]any)) != 2 {
		t.Fatalf("alerts: the feed's and the approved one: %v", list)
	}
}
