// Package pii keeps personal data out of the hub's logs: phone numbers are
// masked (+86138****0101) wherever a log line carries them, in an attribute
// of their own (the SMS log sender's "to") or inside a text (a provider's
// error message, "The 'To' number +8613800000101 is not valid").
//
// Why both: the senders mask the numbers they log on purpose (MaskPhone),
// and Handler masks whatever else reaches the log (an error a library
// built from a number), so a new log line cannot leak one by accident.
package pii

import (
	"context"
	"log/slog"
	"regexp"
	"strings"
)

// MaskPhone masks an E.164 number for logs: the country code, the first
// three and the last four digits of the national number stay, the rest is
// four stars (+8613800000101 -> +86138****0101), so an operator can still
// tell numbers apart and find one they already know. A national number too
// short to keep seven digits keeps its last two. Anything that is not an
// E.164 number comes back as "****" (never the input).
func MaskPhone(s string) string {
	if !e164.MatchString(s) {
		if s == "" {
			return ""
		}
		return "****"
	}
	digits := s[1:]
	cc := countryCodeLen(digits)
	nat := digits[cc:]
	if len(nat) >= 9 {
		return "+" + digits[:cc] + nat[:3] + "****" + nat[len(nat)-4:]
	}
	return "+" + digits[:cc] + "****" + nat[len(nat)-2:]
}

var (
	e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	// inText finds E.164 numbers inside a text: a + and 7 to 15 digits
	// not followed by another digit.
	inText = regexp.MustCompile(`\+[1-9][0-9]{6,14}`)
)

// MaskPhones masks every E.164 number in s (MaskPhone).
func MaskPhones(s string) string {
	if !strings.Contains(s, "+") {
		return s
	}
	return inText.ReplaceAllStringFunc(s, MaskPhone)
}

// countryCodeLen is the length of the ITU country code at the start of the
// digits of an E.164 number: 1 for zones 1 and 7, 2 for the two-digit
// codes, else 3.
func countryCodeLen(d string) int {
	switch d[0] {
	case '1', '7':
		return 1
	}
	if len(d) < 2 {
		return len(d)
	}
	if twoDigit[d[:2]] {
		return 2
	}
	return min(3, len(d))
}

// twoDigit are the ITU-T E.164 two-digit country codes.
var twoDigit = func() map[string]bool {
	m := map[string]bool{}
	for _, c := range strings.Fields(`20 27 30 31 32 33 34 36 39 40 41 43 44 45 46 47 48 49
		51 52 53 54 55 56 57 58 60 61 62 63 64 65 66 81 82 84 86 90 91 92 93 94 95 98`) {
		m[c] = true
	}
	return m
}()

// Handler is a slog.Handler that masks phone numbers in the message and in
// every string, error and stringer attribute before passing the record on.
type Handler struct {
	next slog.Handler
}

// NewHandler wraps next; wrapping a Handler again returns it unchanged.
func NewHandler(next slog.Handler) slog.Handler {
	if h, ok := next.(*Handler); ok {
		return h
	}
	return &Handler{next: next}
}

// Logger is l with a masking handler (l itself when it has one).
func Logger(l *slog.Logger) *slog.Logger {
	if _, ok := l.Handler().(*Handler); ok {
		return l
	}
	return slog.New(NewHandler(l.Handler()))
}

// Enabled reports whether the wrapped handler handles the level.
func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

// Handle masks the record and passes it on.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, MaskPhones(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(maskAttr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

// WithAttrs masks the attributes and passes them on.
func (h *Handler) WithAttrs(as []slog.Attr) slog.Handler {
	masked := make([]slog.Attr, len(as))
	for i, a := range as {
		masked[i] = maskAttr(a)
	}
	return &Handler{next: h.next.WithAttrs(masked)}
}

// WithGroup passes the group on.
func (h *Handler) WithGroup(name string) slog.Handler { return &Handler{next: h.next.WithGroup(name)} }

func maskAttr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		if s := v.String(); strings.Contains(s, "+") {
			return slog.String(a.Key, MaskPhones(s))
		}
	case slog.KindGroup:
		g := v.Group()
		out := make([]slog.Attr, len(g))
		for i, x := range g {
			out[i] = maskAttr(x)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(out...)}
	case slog.KindAny:
		switch x := v.Any().(type) {
		case error:
			if s := x.Error(); strings.Contains(s, "+") {
				return slog.String(a.Key, MaskPhones(s))
			}
		case interface{ String() string }:
			if s := x.String(); strings.Contains(s, "+") {
				return slog.String(a.Key, MaskPhones(s))
			}
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}
