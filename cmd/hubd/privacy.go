package main

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/longyou/hub/internal/flagenv"
	"github.com/longyou/hub/server"
)

// privacyFlags defines the media quota and retention flags (docs/API.md
// v1.4) on fs and returns the function that reads them once fs is parsed.
// Sizes are whole MiB or GiB, 0 meaning no limit; durations are Go
// durations or whole days ("180d"), 0 or "forever" meaning kept forever.
func privacyFlags(fs *flag.FlagSet, getenv func(string) string) func() (server.PrivacyConfig, error) {
	var memberMB, memberFiles, totalGB, maxMP string
	var live, notes, reports, orphans, outbox string
	str := func(p *string, name, env, def, usage string) {
		flagenv.String(fs, getenv, p, name, env, def, usage)
	}
	str(&memberMB, "media-member-mb", "HUB_MEDIA_MEMBER_MB", "50", "MiB of photos one member may upload in 24 hours (0: no limit)")
	str(&memberFiles, "media-member-files", "HUB_MEDIA_MEMBER_FILES", "200", "photos one member may upload in 24 hours (0: no limit)")
	str(&totalGB, "media-total-gb", "HUB_MEDIA_TOTAL_GB", "20", "GiB of photos the hub keeps in all (0: no limit)")
	str(&maxMP, "media-max-megapixels", "HUB_MEDIA_MAX_MEGAPIXELS", "40", "largest photo accepted, in megapixels (width × height)")
	str(&live, "retain-live", "HUB_RETAIN_LIVE", "12h", "how long the store keeps a live position (at least 30m)")
	str(&notes, "retain-notes", "HUB_RETAIN_NOTES", "180d", "how long the notes of answers to alerts are kept")
	str(&reports, "retain-reports", "HUB_RETAIN_REPORTS", "365d", "how long a resolved or rejected report keeps its text and photos")
	str(&orphans, "retain-orphans", "HUB_RETAIN_ORPHANS", "24h", "how long a photo that no report uses is kept")
	str(&outbox, "retain-outbox", "HUB_RETAIN_OUTBOX", "90d", "how long a sent SMS keeps the provider's message id")
	return func() (server.PrivacyConfig, error) {
		var c server.PrivacyConfig
		var errs []string
		size := func(name, v string, unit int64) int64 {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil || n < 0 {
				errs = append(errs, fmt.Sprintf("-%s must be a whole number, 0 for no limit; got %q", name, v))
				return 0
			}
			if n == 0 {
				return -1 // no limit
			}
			return n * unit
		}
		c.MediaMemberBytes = size("media-member-mb", memberMB, 1<<20)
		c.MediaMemberFiles = int(size("media-member-files", memberFiles, 1))
		c.MediaTotalBytes = size("media-total-gb", totalGB, 1<<30)
		if mp := size("media-max-megapixels", maxMP, 1_000_000); mp > 0 {
			c.MediaMaxPixels = int(mp)
		} else if mp < 0 {
			errs = append(errs, "-media-max-megapixels must be at least 1")
		}
		dur := func(name, v string) time.Duration {
			d, err := parseRetention(v)
			if err != nil {
				errs = append(errs, fmt.Sprintf("-%s: %v", name, err))
			}
			return d
		}
		c.RetainLive = dur("retain-live", live)
		c.RetainNotes = dur("retain-notes", notes)
		c.RetainReports = dur("retain-reports", reports)
		c.RetainOrphans = dur("retain-orphans", orphans)
		c.RetainOutbox = dur("retain-outbox", outbox)
		if c.RetainLive > 0 && c.RetainLive < 30*time.Minute {
			errs = append(errs, "-retain-live must be at least 30m (live positions are used that long)")
		}
		if len(errs) > 0 {
			return c, fmt.Errorf("%s", strings.Join(errs, "; "))
		}
		return c, nil
	}
}

// parseRetention reads a retention: a Go duration ("12h"), whole days
// ("180d"), or 0 / "forever" (never cleared: a negative duration for
// server.PrivacyConfig).
func parseRetention(v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	switch v {
	case "0", "forever":
		return -1, nil
	}
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 {
			return 0, fmt.Errorf("want a duration like 12h or 180d, or forever; got %q", v)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("want a duration like 12h or 180d, or forever; got %q", v)
	}
	return d, nil
}
