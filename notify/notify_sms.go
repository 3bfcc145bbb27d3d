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
func NewSMS(s Sender, publicURL string, opts ...SMSOption) Channel {
	c := &smsChannel{sender: s, publicURL: publicURL}
	for _, o := range opts {
		o(c)
	}
	if r, ok := s.(Reconciler); ok {
		return &smsLookupChannel{smsChannel: c, rec: r}
	}
	return c
}

type smsChannel struct {
	sender    Sender
	publicURL string
	// answerCode, when set, gives each alert SMS its member's answer link
	// ({public}/a/{code}) instead of the member page.
	answerCode func(a *storage.Alert, memberID string) string
}

// SMSOption configures the SMS channel.
type SMSOption func(*smsChannel)

// WithAnswerLinks makes each alert SMS carry its member's personal answer
// link, {public}/a/{code} with code from fn (docs/API.md v1.5). The
// all-clear keeps the member page's link.
func WithAnswerLinks(fn func(a *storage.Alert, memberID string) string) SMSOption {
	return func(c *smsChannel) { c.answerCode = fn }
}

var (
	_ Channel    = (*smsChannel)(nil)
	_ Reconciler = (*smsLookupChannel)(nil)
)

func (c *smsChannel) Name() string { return storage.ChannelSMS }

func (c *smsChannel) Compose(it *Item) Message {
	var body string
	switch {
	case it.Text != "":
		body = it.Text
	case it.Row.Ref.Type == storage.RefReply:
		body = ReplyHelpText(it.Row.Lang)
	case it.Row.Ref.Type == storage.RefInvite:
		body = inviteText(it.Invite, it.Row.Lang)
	case it.Row.Ref.Type == storage.RefLogin:
		body = loginText(it.LoginCode, it.Row.Lang)
	default:
		link := ""
		if c.answerCode != nil && it.Row.Kind == storage.MessageAlert {
			link = strings.TrimRight(c.publicURL, "/") + "/a/" + c.answerCode(it.Alert, it.Row.MemberID)
		}
		body = smsText(it.Alert, it.Row, c.publicURL, link)
	}
	return Message{Key: it.Row.Key().String(), To: it.Row.Phone, Body: body}
}

// inviteText is an invitation's SMS: the link is never shortened, the
// names are (at most two segments).
func inviteText(in *Invite, lang string) string {
	if in == nil {
		return ""
	}
	if lang == "en" {
		return fitSMS("[Emergency Hub] ", "Hello "+in.Name+", "+in.Village+" invites you to the emergency hub.",
			" Sign in: "+in.Link+fmt.Sprintf(" (valid %d days, once only)", in.Days))
	}
	return fitSMS("【应急平台】", in.Name+"您好，"+in.Village+"邀请您使用应急平台，",
		"点击登录："+in.Link+fmt.Sprintf("（%d天内有效，仅可使用一次）", in.Days))
}

// loginText is a login code's SMS.
func loginText(code, lang string) string {
	if lang == "en" {
		return "[Emergency Hub] Your sign-in code: " + code + ", valid for 10 minutes. Do not tell anyone."
	}
	return "【应急平台】您的登录验证码：" + code + "，10分钟内有效。请勿告诉他人。"
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
// title and instruction first, and the link (the member's answer link when
// given, else the member page), in at most two segments (the instruction
// is shortened, never the link).
func smsText(a *storage.Alert, row *storage.Message, publicURL, answerLink string) string {
	link := strings.TrimRight(publicURL, "/") + "/m"
	if answerLink != "" && row.Kind != storage.MessageAllClear {
		link = answerLink
	}
	en := row.Lang == "en"
	title, body := capText(a, en) // v1.6: a CAP alert's English info
	var head, tail string
	switch {
	case row.Kind == storage.MessageAllClear && en:
		head, tail = fmt.Sprintf("[Emergency] ALL CLEAR: %s is lifted.", title), " "+link
	case row.Kind == storage.MessageAllClear:
		head, tail = fmt.Sprintf("【应急】解除：%s 已解除。", title), " "+link
	case en:
		head, tail = fmt.Sprintf("[Emergency %s %s] %s: ", strings.ToUpper(a.Severity), a.Kind, title), " Reply: "+link
	default:
		head, tail = fmt.Sprintf("【应急%s%s】%s：", severityZH[a.Severity], kindZH[a.Kind], title), " 回复："+link
	}
	if a.Exercise { // v1.6: an exercise says so first
		if en {
			head = "[EXERCISE] " + head
		} else {
			head = "【演练】" + head
		}
	}
	if row.Kind == storage.MessageAllClear {
		return fitSMS("", head, tail)
	}
	return fitSMS(head, body, tail)
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
