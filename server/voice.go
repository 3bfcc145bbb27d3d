package server

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/longyou/hub/internal/metrics"
	"github.com/longyou/hub/notify"
	"github.com/longyou/hub/service"
	"github.com/longyou/hub/service/replies"
)

// Voice calls and SMS replies (issue 12, docs/API.md v1.5): the webhooks
// Twilio posts to (an inbound SMS, a key pressed during a call, a call's
// status), each checked against X-Twilio-Signature for the public URL.

// Webhook paths of v1.5.
const (
	smsInboundPath = "/webhooks/twilio/sms"
	voiceGather    = notify.VoiceGatherPath
	voiceStatus    = notify.VoiceStatusPath
)

// twilioWebhooks is what the webhooks need of the Sender: Twilio's
// signature check and its call status handler.
type twilioWebhooks interface {
	VerifyWebhook(w http.ResponseWriter, r *http.Request, publicURL, path string) (map[string]string, error)
	VoiceStatusHandler(cfg notify.StatusHandlerConfig) http.Handler
	From() string
}

var _ twilioWebhooks = (*notify.Twilio)(nil)

// setVoice picks the caller (Config.Voice) before the outbox is built.
func (c *Config) setVoice() {
	if c.Voice != nil {
		return
	}
	if t, ok := c.Sender.(*notify.Twilio); ok {
		v, err := t.Voice(c.VoiceFrom, strings.TrimRight(c.PublicURL, "/")+notify.VoiceStatusPath)
		if err == nil {
			c.Voice = v
			return
		}
		c.Logger.Error("alert calls go to the log: Twilio has no caller number", "err", err)
	}
	c.Voice = &notify.LogCaller{Logger: c.Logger}
}

// ownNumbers are the hub's own numbers: an SMS from one is never answered.
func (c *Config) ownNumbers() []string {
	var own []string
	if t, ok := c.Sender.(twilioWebhooks); ok && t.From() != "" {
		own = append(own, t.From())
	}
	if v, ok := c.Voice.(interface{ From() string }); ok && v.From() != "" {
		own = append(own, v.From())
	}
	return own
}

func newReplies(cfg *Config, s *Server) *replies.Service {
	return replies.New(replies.Config{Store: cfg.Store, Alerting: s.alerting, Wake: s.sms.Wake,
		Own: cfg.ownNumbers(), Clock: cfg.Clock, Logger: cfg.Logger})
}

// mountVoice registers the v1.5 webhooks: 404 (not_found) when the
// Sender is not Twilio, as the status webhook.
func (s *Server) mountVoice(mux *http.ServeMux, m *metrics.Metrics) {
	cfg := &s.cfg
	tw, ok := cfg.Sender.(twilioWebhooks)
	if !ok {
		none := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s.api.WriteError(r.Context(), w, service.Errorf(service.CodeNotFound, "no Twilio account is configured"))
		})
		mux.Handle("POST "+smsInboundPath, s.api.Instrument("twilio_sms", none))
		mux.Handle("POST "+voiceGather, s.api.Instrument("twilio_voice_gather", none))
		mux.Handle("POST "+voiceStatus, s.api.Instrument("twilio_voice_status", none))
		return
	}
	fail := func(w http.ResponseWriter, r *http.Request, err error) {
		var re *notify.RequestError
		if errors.As(err, &re) {
			if re.Code == service.CodeForbidden {
				m.Drops.WithLabelValues("webhook_bad_signature").Inc()
			}
			err = service.Errorf(re.Code, "%s", re.Message)
		}
		s.api.WriteError(r.Context(), w, err)
	}
	twiml := func(w http.ResponseWriter, body string) {
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(body))
	}
	mux.Handle("POST "+smsInboundPath, s.api.Instrument("twilio_sms", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		params, err := tw.VerifyWebhook(w, r, cfg.PublicURL, smsInboundPath)
		if err != nil {
			fail(w, r, err)
			return
		}
		out, err := s.replies.HandleSMS(r.Context(), replies.SMS{SID: params["MessageSid"], From: params["From"], Body: params["Body"]})
		if err != nil {
			fail(w, r, err) // 5xx: Twilio retries with the same MessageSid
			return
		}
		cfg.Logger.LogAttrs(r.Context(), slog.LevelInfo, "sms reply", slog.String("sid", params["MessageSid"]),
			slog.String("outcome", string(out)))
		twiml(w, `<?xml version="1.0" encoding="UTF-8"?><Response/>`)
	})))
	mux.Handle("POST "+voiceGather, s.api.Instrument("twilio_voice_gather", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		params, err := tw.VerifyWebhook(w, r, cfg.PublicURL, voiceGather)
		if err != nil {
			fail(w, r, err)
			return
		}
		q := r.URL.Query()
		alertID, memberID, ok := notify.ParseGatherKey(q.Get("k"))
		if !ok {
			fail(w, r, service.Invalid("k is not a call's key"))
			return
		}
		body, err := s.replies.HandleGather(r.Context(), replies.Gather{AlertID: alertID, MemberID: memberID,
			Digits: params["Digits"], Replay: q.Get("r") == "1", PublicURL: cfg.PublicURL})
		if err != nil {
			fail(w, r, err)
			return
		}
		twiml(w, body)
	})))
	mux.Handle("POST "+voiceStatus, s.api.Instrument("twilio_voice_status", tw.VoiceStatusHandler(notify.StatusHandlerConfig{
		PublicURL: cfg.PublicURL, Sink: s.sms.d, Clock: cfg.Clock, Error: fail,
	})))
}
