package notify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"

	"github.com/longyou/hub/internal/pii"
)

// LogSender writes each SMS as one structured log line instead of sending
// it: the embedded default, so a county can try the hub without a provider.
//
// The number is always masked (+86138****0101): a log is copied, shipped
// and kept far longer than the store keeps anything, and a phone number
// next to an alert says who was warned of what, where. The text is at
// INFO only with ShowBody (the demo sets it: its members are made up, and
// the operator trying the hub wants to read what would have been sent);
// otherwise it is logged at DEBUG on a line of its own. An alert SMS
// holds only the alert's public title and text and a link, but a message
// of a later channel (an invitation with a sign-in link) would not.
type LogSender struct {
	Logger *slog.Logger
	// ShowBody puts the text in the INFO line; false logs it at DEBUG.
	ShowBody bool
}

var _ Sender = (*LogSender)(nil)

// Send logs the message and reports it as sent.
func (s *LogSender) Send(ctx context.Context, m Message) (Result, error) {
	var b [8]byte
	_, _ = rand.Read(b[:])
	id := "LOG" + hex.EncodeToString(b[:])
	segs, enc := Segments(m.Body)
	attrs := []slog.Attr{
		slog.String("provider_id", id),
		slog.String("key", m.Key),
		slog.String("to", pii.MaskPhone(m.To)),
		slog.Int("segments", segs),
		slog.String("encoding", enc),
	}
	if s.ShowBody {
		attrs = append(attrs, slog.String("body", m.Body))
	}
	s.Logger.LogAttrs(ctx, slog.LevelInfo, "sms", attrs...)
	if !s.ShowBody {
		s.Logger.LogAttrs(ctx, slog.LevelDebug, "sms body", slog.String("provider_id", id), slog.String("body", m.Body))
	}
	return Result{ProviderID: id, Status: "sent", Segments: segs}, nil
}
