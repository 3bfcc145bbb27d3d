// Package replies answers alerts for members without a smartphone: an SMS
// reply ("1", "收到", "来 12") and a key pressed during an alert call are
// recorded as the member's answer, through the alert service exactly as a
// WebSocket ack (docs/API.md v1.5 "voice calls and SMS replies").
package replies

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"time"

	"github.com/longyou/hub/notify"
	"github.com/longyou/hub/service/alerting"
	"github.com/longyou/hub/storage"
)

// Store is what replies reads and writes.
type Store interface {
	MemberByPhone(ctx context.Context, phone string) (storage.Member, error)
	GetMember(ctx context.Context, id string) (storage.Member, error)
	GetAlert(ctx context.Context, id string) (storage.Alert, error)
	InboundSeen(ctx context.Context, sid string) (bool, error)
	RecordInbound(ctx context.Context, in storage.Inbound, help *storage.Message) (dup, queued bool, err error)
}

// Config configures the Service.
type Config struct {
	Store    Store             // required
	Alerting *alerting.Service // required
	Wake     func()            // asks the outbox to send now (a help SMS was queued); nil: none
	Own      []string          // the hub's own numbers: messages from them are ignored (no loop)
	Clock    func() time.Time  // nil: time.Now
	Logger   *slog.Logger      // nil discards
}

// Service handles replies.
type Service struct {
	cfg Config
	log *slog.Logger
}

// New returns the service.
func New(cfg Config) *Service {
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Wake == nil {
		cfg.Wake = func() {}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{cfg: cfg, log: log}
}

// SMS is an inbound SMS as the provider posts it.
type SMS struct {
	SID  string // the provider's message id (Twilio MessageSid)
	From string
	Body string
}

// Outcome says what an inbound SMS did (for logs and tests).
type Outcome string

// Outcomes of HandleSMS.
const (
	Ignored  Outcome = "ignored"  // own number, unknown number, no active alert
	Repeated Outcome = "repeated" // a retried webhook (same SID)
	Answered Outcome = "answered"
	Helped   Outcome = "helped" // unreadable: the help SMS was queued
	Unread   Outcome = "unread" // unreadable: the member had the help SMS already
)

// HandleSMS handles one inbound SMS: from the member with that phone, the
// answer to the latest active alert addressed to it. Anything else changes
// nothing. An error is the store's (the provider then retries, with the
// same SID).
func (s *Service) HandleSMS(ctx context.Context, in SMS) (Outcome, error) {
	if in.SID == "" || in.From == "" || slices.Contains(s.cfg.Own, in.From) {
		return Ignored, nil
	}
	seen, err := s.cfg.Store.InboundSeen(ctx, in.SID)
	if err != nil {
		return "", err
	}
	if seen {
		return Repeated, nil
	}
	m, err := s.cfg.Store.MemberByPhone(ctx, in.From)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && m.Inactive) {
		return Ignored, nil // an unknown number, or a deactivated member
	}
	if err != nil {
		return "", err
	}
	active, err := s.cfg.Alerting.ActiveFor(ctx, m.ID)
	if err != nil {
		return "", err
	}
	if len(active) == 0 {
		return Ignored, nil
	}
	a := active[len(active)-1] // in seq order: the latest last
	now := s.cfg.Clock().UTC()
	rec := storage.Inbound{SID: in.SID, MemberID: m.ID, AlertID: a.ID, At: now}
	r, ok := Parse(in.Body, a.Kind == "mobilization")
	if !ok && IsCarrierKeyword(in.Body) {
		rec.Outcome = storage.InboundUnread // Twilio answers STOP, START...: no help SMS
		if _, _, err := s.cfg.Store.RecordInbound(ctx, rec, nil); err != nil {
			return "", err
		}
		return Unread, nil
	}
	if !ok {
		help := &storage.Message{Channel: storage.ChannelSMS, Ref: storage.Ref{Type: storage.RefReply, ID: in.SID},
			MemberID: m.ID, Kind: storage.MessageHelp, Priority: s.cfg.Alerting.SeverityRank(a.Severity), DueAt: now}
		dup, queued, err := s.cfg.Store.RecordInbound(ctx, rec, help)
		switch {
		case err != nil:
			return "", err
		case dup:
			return Repeated, nil
		case queued:
			s.cfg.Wake()
			return Helped, nil
		}
		return Unread, nil
	}
	if err := s.answer(ctx, a.ID, m.ID, r); err != nil {
		return "", err
	}
	rec.Outcome, rec.Response = storage.InboundAnswer, r.Response
	if _, _, err := s.cfg.Store.RecordInbound(ctx, rec, nil); err != nil {
		return "", err
	}
	s.log.LogAttrs(ctx, slog.LevelDebug, "sms reply", slog.String("alert", a.ID), slog.String("member", m.ID),
		slog.String("response", r.Response))
	return Answered, nil
}

func (s *Service) answer(ctx context.Context, alertID, memberID string, r Reply) error {
	return s.cfg.Alerting.Answer(ctx, alerting.Answer{AlertID: alertID, MemberID: memberID,
		Response: r.Response, EtaMin: r.EtaMin})
}

// Gather is a key pressed during an alert call (the gather webhook).
type Gather struct {
	AlertID, MemberID string // from the call's key (notify.ParseGatherKey)
	Digits            string
	Replay            bool // the prompt was replayed once already
	PublicURL         string
}

// Keys of a call: warning 1 received, 2 safe, 3 need_help; mobilization
// 1 coming, 2 unavailable.
var (
	warningKeys      = map[string]string{"1": storage.RespReceived, "2": storage.RespSafe, "3": storage.RespNeedHelp}
	mobilizationKeys = map[string]string{"1": storage.RespComing, "2": storage.RespUnavailable}
)

// HandleGather records the key pressed as the member's answer and returns
// the TwiML to answer Twilio with: thanks; the prompt again for an unknown
// key (once); goodbye. An error is the store's, or a service error when
// the alert is not addressed to the member.
func (s *Service) HandleGather(ctx context.Context, g Gather) (string, error) {
	a, err := s.cfg.Store.GetAlert(ctx, g.AlertID)
	if err != nil {
		return "", err
	}
	m, err := s.cfg.Store.GetMember(ctx, g.MemberID)
	if err != nil {
		return "", err
	}
	keys := warningKeys
	if a.Kind == "mobilization" {
		keys = mobilizationKeys
	}
	resp, ok := keys[g.Digits]
	if !ok {
		if g.Replay {
			return notify.VoiceSayTwiML(m.Lang, "未收到有效按键，再见。", "No valid key was pressed. Goodbye."), nil
		}
		return notify.VoiceReplayTwiML(&a, m.Lang, notify.GatherURL(g.PublicURL, a.ID, m.ID, true)), nil
	}
	if err := s.answer(ctx, a.ID, m.ID, Reply{Response: resp}); err != nil {
		return "", err
	}
	s.log.LogAttrs(ctx, slog.LevelDebug, "call key", slog.String("alert", a.ID), slog.String("member", m.ID),
		slog.String("response", resp))
	return notify.VoiceSayTwiML(m.Lang, "已记录，谢谢。", "Recorded. Thank you."), nil
}
