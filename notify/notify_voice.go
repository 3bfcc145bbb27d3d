package notify

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/longyou/hub/internal/pii"
	"github.com/longyou/hub/storage"
)

// Voice calls (issue 12): the voice channel composes each call's TwiML (the
// alert read twice, then a <Gather> of one key) and a Sender places it
// (TwilioVoice, LogCaller). The key pressed comes back to the hub's gather
// webhook (VoiceGatherPath), the call's progress to its status webhook
// (VoiceStatusPath).

// Webhook paths of calls, under the hub's public URL.
const (
	VoiceGatherPath = "/webhooks/twilio/voice/gather"
	VoiceStatusPath = "/webhooks/twilio/voice/status"
)

// NewVoice is the voice channel: calls placed through s (TwilioVoice, a
// LogCaller, a test's recorder), each Message's Body being the call's
// TwiML. publicURL is where Twilio reaches the hub (the gather action).
// The channel is a Reconciler when s is.
func NewVoice(s Sender, publicURL string) Channel {
	c := &voiceChannel{sender: s, publicURL: strings.TrimRight(publicURL, "/")}
	if r, ok := s.(Reconciler); ok {
		return &voiceLookupChannel{voiceChannel: c, rec: r}
	}
	return c
}

type voiceChannel struct {
	sender    Sender
	publicURL string
}

var (
	_ Channel    = (*voiceChannel)(nil)
	_ Reconciler = (*voiceLookupChannel)(nil)
)

func (c *voiceChannel) Name() string { return storage.ChannelVoice }

func (c *voiceChannel) Compose(it *Item) Message {
	action := GatherURL(c.publicURL, it.Row.Ref.ID, it.Row.MemberID, false)
	return Message{Key: it.Row.Key().String(), To: it.Row.Phone, Body: VoiceTwiML(it.Alert, it.Row.Lang, action)}
}

func (c *voiceChannel) Send(ctx context.Context, m Message) (Result, error) {
	return c.sender.Send(ctx, m)
}

type voiceLookupChannel struct {
	*voiceChannel
	rec Reconciler
}

func (c *voiceLookupChannel) Lookup(ctx context.Context, m Message, since time.Time) (Result, bool, error) {
	return c.rec.Lookup(ctx, m, since)
}

// GatherKey is the opaque key of a call's row (its alert and member) in
// the gather action's query: base64url, so it needs no escaping. The
// gather webhook is signature-checked, so the key need not be secret.
func GatherKey(alertID, memberID string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(alertID + "\n" + memberID))
}

// ParseGatherKey reads a GatherKey; ok is false for anything else.
func ParseGatherKey(k string) (alertID, memberID string, ok bool) {
	b, err := base64.RawURLEncoding.DecodeString(k)
	if err != nil {
		return "", "", false
	}
	alertID, memberID, ok = strings.Cut(string(b), "\n")
	if !ok || alertID == "" || memberID == "" || strings.Contains(memberID, "\n") {
		return "", "", false
	}
	return alertID, memberID, true
}

// GatherURL is the gather action of a call: publicURL + VoiceGatherPath
// with the row's key, and r=1 on the replayed prompt.
func GatherURL(publicURL, alertID, memberID string, replay bool) string {
	u := strings.TrimRight(publicURL, "/") + VoiceGatherPath + "?k=" + GatherKey(alertID, memberID)
	if replay {
		u += "&r=1"
	}
	return u
}

// maxSpokenRunes bounds the alert text read out: Twilio takes at most
// 4,000 characters of TwiML, and a call reads it twice.
const maxSpokenRunes = 600

// voiceLang is the <Say> language and voice for a member's language.
func voiceLang(lang string) (language, voice string) {
	if lang == "en" {
		return "en-US", "Polly.Joanna"
	}
	return "cmn-CN", "Polly.Zhiyu"
}

// VoiceTwiML is the TwiML of an alert call: the alert read twice, then the
// keys to press, in a <Gather> of one digit posting to action; a goodbye
// when no key comes. Chinese unless lang is en; a mobilization asks
// coming / cannot come.
func VoiceTwiML(a *storage.Alert, lang, action string) string {
	language, voice := voiceLang(lang)
	var text, prompt, bye string
	if lang == "en" {
		text = fmt.Sprintf("Emergency %s %s. %s. %s", a.Severity, a.Kind, a.Title, spoken(a.Body))
		prompt, bye = "Press 1 if you received this, 2 if you are safe, 3 if you need help.", "No key was pressed. Goodbye."
		if a.Kind == "mobilization" {
			prompt = "Press 1 if you are coming, 2 if you cannot come."
		}
	} else {
		text = fmt.Sprintf("【%s %s】%s。%s", severityZH[a.Severity], kindZH[a.Kind], a.Title, spoken(a.Body))
		prompt, bye = "收到请按1，安全请按2，需要救助请按3。", "未收到按键，再见。"
		if a.Kind == "mobilization" {
			prompt = "前往请按1，无法前往请按2。"
		}
	}
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><Response><Gather numDigits="1" timeout="8" action="`)
	b.WriteString(escape(action))
	b.WriteString(`" method="POST">`)
	fmt.Fprintf(&b, `<Say language="%s" voice="%s" loop="2">%s</Say>`, language, voice, escape(text))
	fmt.Fprintf(&b, `<Say language="%s" voice="%s">%s</Say>`, language, voice, escape(prompt))
	fmt.Fprintf(&b, `</Gather><Say language="%s" voice="%s">%s</Say></Response>`, language, voice, escape(bye))
	return b.String()
}

// VoiceReplayTwiML is the TwiML answering an unknown key: the prompt once
// more (not the alert), in a <Gather> posting to action.
func VoiceReplayTwiML(a *storage.Alert, lang, action string) string {
	language, voice := voiceLang(lang)
	prompt, bye := "收到请按1，安全请按2，需要救助请按3。", "未收到按键，再见。"
	if lang == "en" {
		prompt, bye = "Press 1 if you received this, 2 if you are safe, 3 if you need help.", "No key was pressed. Goodbye."
	}
	switch {
	case a.Kind == "mobilization" && lang == "en":
		prompt = "Press 1 if you are coming, 2 if you cannot come."
	case a.Kind == "mobilization":
		prompt = "前往请按1，无法前往请按2。"
	}
	return fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?><Response><Gather numDigits="1" timeout="8" action="%s" method="POST">`+
		`<Say language="%s" voice="%s">%s</Say></Gather><Say language="%s" voice="%s">%s</Say></Response>`,
		escape(action), language, voice, escape(prompt), language, voice, escape(bye))
}

// VoiceSayTwiML is TwiML that says one thing and hangs up: the thanks for
// a recorded key ("已记录，谢谢。"), or a goodbye.
func VoiceSayTwiML(lang, zh, en string) string {
	language, voice := voiceLang(lang)
	text := zh
	if lang == "en" {
		text = en
	}
	return fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?><Response><Say language="%s" voice="%s">%s</Say></Response>`,
		language, voice, escape(text))
}

// spoken is the alert text as read out: at most maxSpokenRunes.
func spoken(s string) string {
	r := []rune(strings.TrimSpace(s))
	if len(r) > maxSpokenRunes {
		return string(r[:maxSpokenRunes]) + "…"
	}
	return string(r)
}

func escape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// TwilioCallState maps a Twilio call status word to the state of the
// outbox row it means: a call answered (completed) is delivered; busy,
// no-answer, failed and canceled are failed (no redial); queued,
// initiated, ringing and in-progress are sent. "" for other words.
func TwilioCallState(status string) string {
	switch status {
	case "queued", "initiated", "ringing", "in-progress":
		return storage.MessageSent
	case "completed":
		return storage.MessageDelivered
	case "busy", "no-answer", "failed", "canceled":
		return storage.MessageFailed
	}
	return ""
}

// LogCaller writes each call as one log line instead of placing it: the
// embedded default, as LogSender is for SMS. The number is masked; the
// TwiML is logged at DEBUG.
type LogCaller struct {
	Logger *slog.Logger
}

var _ Sender = (*LogCaller)(nil)

// Send logs the call and reports it as queued.
func (s *LogCaller) Send(ctx context.Context, m Message) (Result, error) {
	var b [8]byte
	_, _ = rand.Read(b[:])
	id := "LOGCA" + hex.EncodeToString(b[:])
	s.Logger.LogAttrs(ctx, slog.LevelInfo, "voice call", slog.String("provider_id", id),
		slog.String("key", m.Key), slog.String("to", pii.MaskPhone(m.To)))
	s.Logger.LogAttrs(ctx, slog.LevelDebug, "voice call twiml", slog.String("provider_id", id), slog.String("twiml", m.Body))
	return Result{ProviderID: id, Status: "queued"}, nil
}
