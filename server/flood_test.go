package server

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/longyou/hub/policy"
	"github.com/longyou/hub/storage"
)

// Issue 13, the flood limits: alerts per sender, reports before their
// photos, and (flood_ws_test.go) the WebSocket's limits.

// slowPolicy is the default policy with refills an hour apart, so that a
// test sees each bucket's burst and nothing more however slow the machine.
func slowPolicy(mod func(p *policy.Policy)) func(*Config) {
	return func(c *Config) {
		p := policy.Default()
		for a, r := range p.Limits {
			r.Every = policy.Duration(time.Hour)
			p.Limits[a] = r
		}
		if mod != nil {
			mod(&p)
		}
		c.Policy = &p
	}
}

// TestAlertRatePerSender: a cadre past its alert bucket gets 429
// rate_limited saying when to try again, and nothing is sent; another
// cadre has a bucket of its own; the command center's role has a larger
// burst; an alert that does not validate costs no token; the bucket fills
// again with time.
func TestAlertRatePerSender(t *testing.T) {
	t.Parallel()
	e := newEnv(t, slowPolicy(func(p *policy.Policy) {
		p.Limits[policy.ActionAlert] = policy.Rate{Every: policy.Duration(time.Hour), Burst: 3}
		p.RoleLimits = map[string]map[string]policy.Rate{
			"commander": {policy.ActionAlert: {Every: policy.Duration(time.Hour), Burst: 6}},
		}
	}))
	_, cadre := e.member(storage.RoleCadre, 0, inside)
	_, cadre2 := e.member(storage.RoleCadre, 0, inside)
	_, commander := e.member(storage.RoleCommander, -1, inside)
	village := map[string]any{"area": map[string]any{"villages": []string{e.villages[0].ID}}}
	body := circleAlert(0, 0, 0, village)

	// A draft that does not validate is a 400 and keeps the token.
	bad := circleAlert(0, 0, 0, map[string]any{"severity": "high", "area": village["area"]})
	if code, out := e.call("POST", "/api/v1/alerts", cadre, bad); code != 400 {
		t.Fatalf("bad alert: %d %v", code, out)
	}
	for i := range 3 {
		if code, out := e.call("POST", "/api/v1/alerts", cadre, body); code != 201 {
			t.Fatalf("alert %d of the burst: %d %v", i+1, code, out)
		}
	}
	code, out := e.call("POST", "/api/v1/alerts", cadre, body)
	errObj, _ := out["error"].(map[string]any)
	msg, _ := errObj["message"].(string)
	if code != 429 || errCode(out) != "rate_limited" || !strings.Contains(msg, "too many alerts") || !strings.Contains(msg, "try again in") {
		t.Fatalf("alert past the burst: %d %v, want 429 rate_limited saying when to try again", code, out)
	}
	t.Logf("429: %s", msg)
	if _, out := e.call("GET", "/api/v1/alerts?status=active", e.admin, nil); len(out["alerts"].([]any)) != 3 {
		t.Fatalf("active alerts %d, want 3 (the refused one is not sent)", len(out["alerts"].([]any)))
	}
	if code, out := e.call("POST", "/api/v1/alerts", cadre2, body); code != 201 {
		t.Fatalf("another cadre: %d %v", code, out)
	}
	for i := range 6 {
		if code, out := e.call("POST", "/api/v1/alerts", commander, body); code != 201 {
			t.Fatalf("commander's alert %d: %d %v", i+1, code, out)
		}
	}
	if code, out := e.call("POST", "/api/v1/alerts", commander, body); code != 429 {
		t.Fatalf("commander past its burst: %d %v", code, out)
	}
	e.advance(time.Hour + time.Second)
	if code, out := e.call("POST", "/api/v1/alerts", cadre, body); code != 201 {
		t.Fatalf("after the refill: %d %v", code, out)
	}
}

// blobCounter counts the store's reads of media, with and without bytes.
type blobCounter struct {
	Store
	blobs, infos atomic.Int64
}

func (s *blobCounter) GetMedia(ctx context.Context, id string) (storage.Media, []byte, error) {
	s.blobs.Add(1)
	return s.Store.GetMedia(ctx, id)
}

func (s *blobCounter) MediaInfo(ctx context.Context, id string) (storage.Media, error) {
	s.infos.Add(1)
	return s.Store.MediaInfo(ctx, id)
}

// TestReportRateLimitBeforePhotos: making reports with photos reads no
// photo's bytes, and a report over the rate limit reads nothing of its
// photos at all (HTTP and WebSocket).
func TestReportRateLimitBeforePhotos(t *testing.T) {
	t.Parallel()
	var counter *blobCounter
	e := newEnv(t, slowPolicy(func(p *policy.Policy) {
		p.Limits[policy.ActionReport] = policy.Rate{Every: policy.Duration(time.Hour), Burst: 2}
	}), func(c *Config) {
		counter = &blobCounter{Store: c.Store}
		c.Store = counter
	})
	_, tok := e.member(storage.RoleResident, 0, inside)
	var photos []string
	for range 3 {
		code, out := e.callMedia(tok, "image/png", pngBytes)
		if code != 201 {
			t.Fatalf("media: %d %v", code, out)
		}
		photos = append(photos, out["media"].(map[string]any)["id"].(string))
	}
	report := map[string]any{"kind": "flood", "text": "水漫进村", "lat": 29.03, "lng": 119.17, "photos": photos}
	for i := range 2 {
		if code, out := e.call("POST", "/api/v1/reports", tok, report); code != 201 {
			t.Fatalf("report %d: %d %v", i+1, code, out)
		}
	}
	if n := counter.infos.Load(); n != 6 {
		t.Errorf("media metadata reads for 2 reports of 3 photos: %d, want 6", n)
	}
	for range 5 {
		if code, out := e.call("POST", "/api/v1/reports", tok, report); code != 429 || errCode(out) != "rate_limited" {
			t.Fatalf("report past the limit: %d %v", code, out)
		}
	}
	c := e.dial(tok)
	c.welcome()
	report["type"] = "report"
	if reply, _ := c.cmd(report); reply["ok"] != false || reply["error"].(map[string]any)["code"] != "rate_limited" {
		t.Fatalf("WebSocket report past the limit: %v", reply)
	}
	if n := counter.blobs.Load(); n != 0 {
		t.Errorf("photo blobs read to make reports: %d, want 0", n)
	}
	if n := counter.infos.Load(); n != 6 {
		t.Errorf("media reads after 6 refused reports: %d, want still 6", n)
	}
}
