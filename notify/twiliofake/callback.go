package twiliofake

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

var statuses = []string{"queued", "accepted", "scheduled", "sending", "sent", "delivered",
	"undelivered", "failed", "read", "canceled"}

// Deliver moves the message to status and, when the message has a
// StatusCallback, posts the callback Twilio would post for it, signed with
// the auth token. A status of sent or later stamps date_sent (and has a
// messaging service pick a sender); undelivered and failed carry the
// number's UndeliveredFor code, else 30003 (undelivered) or 30008 (failed).
// It returns an error when the callback fails or is not answered 2xx.
func (s *Server) Deliver(ctx context.Context, sid, status string) error {
	if !slices.Contains(statuses, status) {
		return fmt.Errorf("twiliofake: unknown status %q", status)
	}
	s.mu.Lock()
	m, ok := s.bySID[sid]
	if !ok {
		s.mu.Unlock()
		return fmt.Errorf("twiliofake: no message %s", sid)
	}
	now := s.now().UTC().Truncate(time.Second)
	m.Status, m.Updated = status, now
	switch status {
	case "sent", "delivered", "undelivered", "read":
		if m.Sent.IsZero() {
			m.Sent = now
		}
		if m.From == "" {
			m.From = serviceSender
		}
	}
	switch status {
	case "undelivered", "failed":
		m.ErrorCode = s.undelivered[m.To]
		if m.ErrorCode == 0 && status == "undelivered" {
			m.ErrorCode = 30003
		} else if m.ErrorCode == 0 {
			m.ErrorCode = 30008
		}
	}
	cb, params := m.StatusCallback, callbackParams(m)
	log := s.log
	s.mu.Unlock()
	if cb == "" {
		return nil
	}
	err := s.post(ctx, cb, params)
	s.mu.Lock()
	s.stats.Callbacks++
	if err != nil {
		s.stats.CallbackFailures++
	}
	s.mu.Unlock()
	if err != nil {
		log.Warn("twiliofake: status callback failed", slog.String("sid", sid), slog.String("status", status),
			slog.String("url", cb), slog.Any("err", err))
		return err
	}
	log.Info("twiliofake: status callback", slog.String("sid", sid), slog.String("status", status), slog.String("url", cb))
	return nil
}

// callbackParams are the form fields of Twilio's message status callback.
func callbackParams(m *Message) url.Values {
	v := url.Values{
		"AccountSid":    {m.AccountSID},
		"ApiVersion":    {apiVersion},
		"MessageSid":    {m.SID},
		"MessageStatus": {m.Status},
		"SmsSid":        {m.SID},
		"SmsStatus":     {m.Status},
		"To":            {m.To},
	}
	if m.From != "" {
		v.Set("From", m.From)
	}
	if m.MessagingServiceSID != "" {
		v.Set("MessagingServiceSid", m.MessagingServiceSID)
	}
	if m.ErrorCode != 0 {
		v.Set("ErrorCode", strconv.Itoa(m.ErrorCode))
	}
	return v
}

func (s *Server) post(ctx context.Context, callback string, params url.Values) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, callback, strings.NewReader(params.Encode()))
	if err != nil {
		return fmt.Errorf("twiliofake: callback: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	req.Header.Set("User-Agent", "TwilioProxy/1.1")
	req.Header.Set("X-Twilio-Signature", Signature(s.authToken, callback, params))
	req.Header.Set("I-Twilio-Idempotency-Token", newSID("")) // Twilio sends one per callback
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("twiliofake: callback: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("twiliofake: callback %s answered %s", callback, resp.Status)
	}
	return nil
}

// Signature is Twilio's X-Twilio-Signature of a form POST to url: the
// base64 HMAC-SHA1, keyed with the auth token, of the URL followed by each
// parameter's name and value, sorted by name (a name's values in order).
func Signature(authToken, url string, params url.Values) string {
	var b strings.Builder
	b.WriteString(url)
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		vs := slices.Clone(params[k])
		slices.Sort(vs)
		for _, v := range vs {
			b.WriteString(k)
			b.WriteString(v)
		}
	}
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// scheduleLocked delivers the message automatically after d. s.mu is held.
func (s *Server) scheduleLocked(sid string, d time.Duration) {
	if s.ctx.Err() != nil {
		return
	}
	s.wg.Add(1)
	var tm *time.Timer
	tm = time.AfterFunc(d, func() {
		defer s.wg.Done()
		s.mu.Lock()
		delete(s.timers, tm)
		final := "delivered"
		if m := s.bySID[sid]; m != nil && s.undelivered[m.To] != 0 {
			final = "undelivered"
		}
		s.mu.Unlock()
		for _, st := range []string{"sent", final} {
			// A failed callback is counted and logged by Deliver; like
			// Twilio, the fake does not post it again.
			_ = s.Deliver(s.ctx, sid, st)
		}
	})
	s.timers[tm] = struct{}{}
}
