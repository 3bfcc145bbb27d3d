package main

import (
	"testing"
	"time"

	"github.com/longyou/hub/server"
)

// TestPrivacyFlags: the defaults, an env twin, a flag over it, 0 as no
// limit or forever, and the errors.
func TestPrivacyFlags(t *testing.T) {
	t.Parallel()
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	day := 24 * time.Hour
	c, err := parseConfig(nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := server.PrivacyConfig{MediaMemberBytes: 50 << 20, MediaMemberFiles: 200, MediaTotalBytes: 20 << 30,
		MediaMaxPixels: 40_000_000, RetainLive: 12 * time.Hour, RetainNotes: 180 * day, RetainReports: 365 * day,
		RetainOrphans: day, RetainOutbox: 90 * day}
	if c.privacy != want {
		t.Fatalf("defaults: %+v", c.privacy)
	}
	c, err = parseConfig([]string{"-retain-notes", "30d", "-media-total-gb", "0"},
		env(map[string]string{"HUB_RETAIN_NOTES": "7d", "HUB_RETAIN_LIVE": "forever", "HUB_MEDIA_MEMBER_FILES": "10"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.privacy.RetainNotes != 30*day || c.privacy.RetainLive != -1 || c.privacy.MediaTotalBytes != -1 ||
		c.privacy.MediaMemberFiles != 10 {
		t.Fatalf("flags and env: %+v", c.privacy)
	}
	for _, args := range [][]string{{"-retain-live", "10m"}, {"-retain-notes", "soon"}, {"-media-member-mb", "-3"},
		{"-media-max-megapixels", "0"}} {
		if _, err := parseConfig(args, env(nil)); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}
