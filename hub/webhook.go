package hub

import (
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/longyou/hub/storage"
)

// callbackValidator is the optional capability of a Sender whose provider
// posts signed delivery-status callbacks (Twilio).
type callbackValidator interface {
	ValidateCallback(url string, params map[string]string, signature string) bool
}

// webhookPath is where Twilio posts message status callbacks.
const webhookPath = "/webhooks/twilio/status"

// handleTwilioStatus applies a message status callback after checking its
// X-Twilio-Signature against the public URL the operator configured: a
// forged or unsigned callback gets 403 and changes nothing.
func (h *Hub) handleTwilioStatus(w http.ResponseWriter, r *http.Request) {
	v, ok := h.cfg.Sender.(callbackValidator)
	if !ok {
		h.writeError(r.Context(), w, apiErr(CodeNotFound, "no SMS provider with status callbacks is configured"))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		h.writeError(r.Context(), w, badRequest("invalid form body"))
		return
	}
	params := make(map[string]string, len(r.PostForm))
	for k, vs := range r.PostForm {
		params[k] = vs[0]
	}
	url := strings.TrimRight(h.cfg.PublicURL, "/") + webhookPath
	if r.URL.RawQuery != "" {
		url += "?" + r.URL.RawQuery
	}
	sig := r.Header.Get("X-Twilio-Signature")
	if sig == "" || !v.ValidateCallback(url, params, sig) {
		h.metrics.drops.WithLabelValues("webhook_bad_signature").Inc()
		h.writeError(r.Context(), w, apiErr(CodeForbidden, "invalid X-Twilio-Signature"))
		return
	}
	sid, status := params["MessageSid"], params["MessageStatus"]
	if sid == "" || status == "" {
		h.writeError(r.Context(), w, badRequest("MessageSid and MessageStatus are required"))
		return
	}
	err := h.store.UpdateMessageStatus(r.Context(), storage.ChannelSMS, sid, storage.StatusUpdate{
		State: smsStateOf(status), Status: status, ErrorCode: params["ErrorCode"], At: h.now()})
	switch {
	case errors.Is(err, storage.ErrNotFound):
		// Twilio can call back before the send's answer was recorded (a
		// fast "sent" or "delivered"): keep it until the SID is stored.
		h.early.put(sid, earlyStatus{status: status, code: params["ErrorCode"], at: h.now()})
	case err != nil:
		h.writeError(r.Context(), w, err) // 5xx: Twilio retries later
		return
	default:
		for _, a := range h.alerts.list(h.now()) {
			h.progress.touch(a.alert.ID)
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// earlyStatus is a status callback that arrived before its message's SID
// was recorded.
type earlyStatus struct {
	status, code string
	at           time.Time
}

// earlyStatuses holds early callbacks for a few minutes. They are in
// memory: a callback is a progress report, not an alert, and the sending
// node is the one that applies it.
type earlyStatuses struct {
	mu    sync.Mutex // guards m and swept
	m     map[string][]earlyStatus
	swept time.Time // when stale entries were last dropped
}

const earlyStatusTTL = 10 * time.Minute

func (e *earlyStatuses) put(sid string, s earlyStatus) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.m == nil {
		e.m = make(map[string][]earlyStatus)
	}
	// Drop stale entries now and then, not on every put: a burst of SMS
	// can bring thousands of early callbacks.
	if s.at.Sub(e.swept) > earlyStatusTTL/10 {
		for k, v := range e.m {
			if s.at.Sub(v[0].at) > earlyStatusTTL {
				delete(e.m, k)
			}
		}
		e.swept = s.at
	}
	e.m[sid] = append(e.m[sid], s)
}

func (e *earlyStatuses) take(sid string) []earlyStatus {
	e.mu.Lock()
	defer e.mu.Unlock()
	v := e.m[sid]
	delete(e.m, sid)
	return v
}
