package notify

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/longyou/hub/storage"
)

// NewSMS is the SMS channel: the alert templates (Chinese unless the member
// chose English, at most two segments) sent through s (Twilio, the log, a
// test's recorder). publicURL is where members reach the hub (the link in
// each SMS). The channel is a Reconciler when s is.
func NewSMS(s Sender, publicURL string) Channel {
	c := &smsChannel{sender: s, publicURL: publicURL}
	if r, ok := s.(Reconciler); ok {
		return &smsLookupChannel{smsChannel: c, rec: r}
	}
	return c
}

type smsChannel struct {
	sender    Sender
	publicURL string
}

var (
	_ Channel    = (*smsChannel)(nil)
	_ Reconciler = (*smsLookupChannel)(nil)
)

func (c *smsChannel) Name() string { return storage.ChannelSMS }

func (c *smsChannel) Compose(it *Item) Message {
	if it.Row.Ref.Type == storage.RefReply {
		return Message{Key: it.Row.Key().String(), To: it.Row.Phone, Body: ReplyHelpText(it.Row.Lang)}
	}
	return Message{Key: it.Row.Key().String(), To: it.Row.Phone, Body: smsText(it.Alert, it.Row, c.publicURL)}
}

func (c *smsChannel) Send(ctx context.Context, m Message) (Result, error) {
	return c.sender.Send(ctx, m)
}

// smsLookupChannel is the SMS channel of a Sender that can look messages up.
type smsLookupChannel struct {
	*smsChannel
	rec Reconciler
}

func (c *smsLookupChannel) Lookup(ctx context.Context, m Message, since time.Time) (Result, bool, error) {
	return c.rec.Lookup(ctx, m, since)
}

// maxSMSSegs bounds an alert SMS: two segments.
const maxSMSSegs = 2

var (
	severityZH = map[string]string{"extreme": "特别严重", "severe": "严重", "moderate": "较重", "minor": "一般"}
	kindZH     = map[string]string{"warning": "预警", "mobilization": "动员", "all_clear": "解除"}
)

// smsText is the SMS of an alert: Chinese unless the member chose English,
// title and instruction first, and the link to the member page, in at most
// two segments (the instruction is shortened, never the link).
func smsText(a *storage.Alert, row *storage.Message, publicURL string) string {
	link := strings.TrimRight(publicURL, "/") + "/m"
	en := row.Lang == "en"
	var head, tail string
	switch {
	case row.Kind == storage.MessageAllClear && en:
		head, tail = fmt.Sprintf("[Emergency] ALL CLEAR: %s is lifted.", a.Title), " "+link
	case row.Kind == storage.MessageAllClear:
		head, tail = fmt.Sprintf("【应急】解除：%s 已解除。", a.Title), " "+link
	case en:
		head, tail = fmt.Sprintf("[Emergency %s %s] %s: ", strings.ToUpper(a.Severity), a.Kind, a.Title), " Reply: "+link
	default:
		head, tail = fmt.Sprintf("【应急%s%s】%s：", severityZH[a.Severity], kindZH[a.Kind], a.Title), " 回复："+link
	}
	if row.Kind == storage.MessageAllClear {
		return fitSMS("", head, tail)
	}
	return fitSMS(head, a.Body, tail)
}

// fitSMS is prefix + the longest start of text (with an ellipsis when cut)
// + suffix that fits in maxSMSSegs segments.
func fitSMS(prefix, text, suffix string) string {
	fits := func(s string) bool { n, _ := Segments(s); return n <= maxSMSSegs }
	if fits(prefix + text + suffix) {
		return prefix + text + suffix
	}
	runes := []rune(text)
	lo, hi := 0, len(runes)
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if fits(prefix + string(runes[:mid]) + "…" + suffix) {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	if lo == 0 && !fits(prefix+"…"+suffix) {
		return Truncate(prefix+text+suffix, maxSMSSegs)
	}
	return prefix + string(runes[:lo]) + "…" + suffix
}
