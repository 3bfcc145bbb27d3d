package notify

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
)

func TestSegments(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		body string
		n    int
		enc  string
	}{
		{"empty", "", 1, "GSM-7"},
		{"gsm160", strings.Repeat("a", 160), 1, "GSM-7"},
		{"gsm161", strings.Repeat("a", 161), 2, "GSM-7"},
		{"gsmExtCountsTwice", strings.Repeat("€", 80), 1, "GSM-7"},
		{"gsmExt81", strings.Repeat("€", 81), 2, "GSM-7"},
		{"ucs70", strings.Repeat("洪", 70), 1, "UCS-2"},
		{"ucs71", strings.Repeat("洪", 71), 2, "UCS-2"},
		{"ucs134", strings.Repeat("洪", 134), 2, "UCS-2"},
		{"ucs135", strings.Repeat("洪", 135), 3, "UCS-2"},
		{"emojiTwoUnits", strings.Repeat("🌊", 35), 1, "UCS-2"},
		{"mixed", "Flood 洪水", 1, "UCS-2"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			n, enc := Segments(c.body)
			if n != c.n || enc != c.enc {
				t.Fatalf("Segments(%q) = %d %s, want %d %s", c.body, n, enc, c.n, c.enc)
			}
		})
	}
}

func TestTruncate(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("暴雨洪水预警", 40)
	got := Truncate(long, 2)
	if n, _ := Segments(got); n > 2 {
		t.Fatalf("truncated to %d segments", n)
	}
	if !strings.HasSuffix(got, "…") || len([]rune(got)) != 134 {
		t.Fatalf("Truncate gave %d runes: %q", len([]rune(got)), got)
	}
	if s := "short"; Truncate(s, 1) != s {
		t.Fatalf("short text changed")
	}
}

func TestValidE164(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]bool{
		"+8613800000000": true, "+15005550006": true, "8613800000000": false,
		"+0123456789": false, "+86 138": false, "": false, "+1234567890123456": false,
	} {
		if ValidE164(s) != want {
			t.Errorf("ValidE164(%q) != %v", s, want)
		}
	}
}

// TestLogSender: the number is masked; the text is at INFO only with
// ShowBody, else at DEBUG.
func TestLogSender(t *testing.T) {
	t.Parallel()
	for _, show := range []bool{false, true} {
		var info, debug bytes.Buffer
		s := &LogSender{Logger: slog.New(slog.NewJSONHandler(&info, nil)), ShowBody: show}
		res, err := s.Send(context.Background(), Message{Key: "a/m/alert", To: "+8613800000101", Body: "洪水预警"})
		if err != nil || res.ProviderID == "" || res.Segments != 1 {
			t.Fatalf("Send = %+v, %v", res, err)
		}
		line := info.String()
		if strings.Contains(line, "+8613800000101") || !strings.Contains(line, `"to":"+86138****0101"`) ||
			strings.Count(line, "\n") != 1 {
			t.Fatalf("log line (show %v): %s", show, line)
		}
		if strings.Contains(line, "洪水预警") != show {
			t.Fatalf("body at INFO with show %v: %s", show, line)
		}
		s = &LogSender{Logger: slog.New(slog.NewJSONHandler(&debug, &slog.HandlerOptions{Level: slog.LevelDebug})), ShowBody: show}
		_, _ = s.Send(context.Background(), Message{Key: "a/m/alert", To: "+8613800000101", Body: "洪水预警"})
		if !strings.Contains(debug.String(), "洪水预警") || strings.Contains(debug.String(), "+8613800000101") {
			t.Fatalf("debug lines (show %v): %s", show, debug.String())
		}
	}
}
