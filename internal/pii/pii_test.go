package pii

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestMaskPhone(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"+8613800000101": "+86138****0101",
		"+15005550006":   "+1500****0006",
		"+447911123456":  "+44791****3456",
		"+3531234567":    "+353****67", // a short national number keeps two
		"+85291234567":   "+852****67", // Hong Kong: three-digit code, 8 digits
		"13800000101":    "****",       // not E.164: nothing of it is shown
		"":               "",
	} {
		if got := MaskPhone(in); got != want {
			t.Errorf("MaskPhone(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMaskPhones(t *testing.T) {
	t.Parallel()
	in := "The 'To' number +8613800000101 is not a valid phone number; from +15005550006."
	want := "The 'To' number +86138****0101 is not a valid phone number; from +1500****0006."
	if got := MaskPhones(in); got != want {
		t.Fatalf("MaskPhones = %q", got)
	}
}

// TestHandler: numbers in the message, strings, errors, stringers and
// groups, added per record or with With, never reach the output.
func TestHandler(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := Logger(slog.New(slog.NewJSONHandler(&buf, nil)))
	if Logger(log) != log {
		t.Fatal("Logger wraps twice")
	}
	log.With("member_phone", "+8613800000102").WithGroup("g").Info("sms to +8613800000101",
		"to", "+8613800000101",
		"err", fmt.Errorf("twilio: %w", errors.New("The 'To' number +8613800000103 is invalid")),
		slog.Group("inner", "phone", "+8613800000104"),
		"n", 3)
	out := buf.String()
	for _, p := range []string{"+8613800000101", "+8613800000102", "+8613800000103", "+8613800000104"} {
		if strings.Contains(out, p) {
			t.Errorf("%s logged: %s", p, out)
		}
	}
	for _, m := range []string{"+86138****0101", "+86138****0102", "+86138****0103", "+86138****0104", `"n":3`} {
		if !strings.Contains(out, m) {
			t.Errorf("%s missing: %s", m, out)
		}
	}
}
