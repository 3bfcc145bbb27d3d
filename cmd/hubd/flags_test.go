package main

import (
	"strings"
	"testing"
)

// TestConnCapFlags: the connection caps default to 5 per member and 2,000
// per address, take their environment twins, and 0 turns one off
// (server.Config's negative); anything but a whole number is refused.
func TestConnCapFlags(t *testing.T) {
	t.Parallel()
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	for _, tc := range []struct {
		args             []string
		env              map[string]string
		perMember, perIP int
		wantErr          string
	}{
		{nil, nil, 5, 2000, ""},
		{[]string{"-max-conns-per-member", "2", "-max-conns-per-ip", "0"}, nil, 2, -1, ""},
		{nil, map[string]string{"HUB_MAX_CONNS_PER_MEMBER": "0", "HUB_MAX_CONNS_PER_IP": "50000"}, -1, 50000, ""},
		{[]string{"-max-conns-per-ip", "10"}, map[string]string{"HUB_MAX_CONNS_PER_IP": "50000"}, 5, 10, ""},
		{[]string{"-max-conns-per-ip", "-1"}, nil, 0, 0, "-max-conns-per-ip"},
		{[]string{"-max-conns-per-member", "many"}, nil, 0, 0, "-max-conns-per-member"},
	} {
		c, err := parseConfig(tc.args, env(tc.env))
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("parseConfig(%v) = %v, want an error naming %s", tc.args, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseConfig(%v, %v): %v", tc.args, tc.env, err)
			continue
		}
		if c.maxConnsPerMember != tc.perMember || c.maxConnsPerIP != tc.perIP {
			t.Errorf("parseConfig(%v, %v) = %d, %d, want %d, %d", tc.args, tc.env, c.maxConnsPerMember, c.maxConnsPerIP, tc.perMember, tc.perIP)
		}
	}
}

// TestCAPFeedFlags: -cap-feed has its environment twin (feeds separated
// by ";" or newlines, the flags adding to them), and so has
// -cap-feed-every; a bad rule or duration is refused naming its source.
func TestCAPFeedFlags(t *testing.T) {
	t.Parallel()
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	c, err := parseConfig([]string{"-cap-feed", "https://c.example/feed.atom min=none"},
		env(map[string]string{"HUB_CAP_FEED": "https://a.example/cap.rss; https://b.example/atom min=moderate anywhere\n",
			"HUB_CAP_FEED_EVERY": "30s"}))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.capFeeds) != 3 || c.capFeedEvery.String() != "30s" {
		t.Fatalf("feeds %+v every %v: want 3 feeds every 30s", c.capFeeds, c.capFeedEvery)
	}
	if _, err := parseConfig(nil, env(map[string]string{"HUB_CAP_FEED": "not a url"})); err == nil || !strings.Contains(err.Error(), "HUB_CAP_FEED") {
		t.Errorf("a bad HUB_CAP_FEED: %v", err)
	}
	if _, err := parseConfig(nil, env(map[string]string{"HUB_CAP_FEED_EVERY": "often"})); err == nil || !strings.Contains(err.Error(), "HUB_CAP_FEED_EVERY") {
		t.Errorf("a bad HUB_CAP_FEED_EVERY: %v", err)
	}
}
